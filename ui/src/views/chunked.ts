// Long lists go on the page a screenful first, the rest in the tasks after the first
// paint: WebKit takes seconds to style and lay out a thousand tree rows at once, and the
// window should show the workspace before that (cold start to first paint). Rows are
// also made when they are attached, not before: building a thousand rows' DOM is itself
// a good part of the wait. The rows are the same and in the same order; only when they
// are made and attached differs.

/** Rows attached at once: more than a window shows. */
export const FIRST_ROWS = 80;
/** Rows attached per later task, small enough that typing and scrolling stay smooth. */
export const CHUNK_ROWS = 150;

interface Pending {
  gen: number;
  /** Makes and attaches every row still to come, now. */
  rest(): void;
}

const pending = new WeakMap<HTMLElement, Pending>();
let generations = 0;

/**
 * Replaces `list`'s children with a row for each of `items`, made by `make`: the first
 * FIRST_ROWS now and the rest in later tasks, each made just before it is attached (so
 * `make` must read state when called, not when this was called). A later call for the
 * same list cancels what an earlier one still had to attach, and so does taking the
 * list off the page. `whole` makes and attaches everything now (an inline input must
 * be focusable at once).
 *
 * A list that shows more than FIRST_ROWS rows is redrawn whole: cut back to a screenful
 * it would lose its scroll position (a change from another device, a folder folded,
 * while the user is further down). A shorter list has no such position to lose.
 */
export function replaceInChunks<T>(list: HTMLElement, items: readonly T[], make: (item: T) => Node, whole = false): void {
  const count = items.length;
  const gen = ++generations;
  pending.delete(list);
  const range = (from: number, to: number): Node[] => {
    const out: Node[] = [];
    for (const item of items.slice(from, to)) out.push(make(item));
    return out;
  };
  if (whole || count <= FIRST_ROWS || list.childElementCount > FIRST_ROWS) {
    list.replaceChildren(...range(0, count));
    return;
  }
  list.replaceChildren(...range(0, FIRST_ROWS));
  let at = FIRST_ROWS;
  const current = (): boolean => pending.get(list)?.gen === gen;
  const rest = (): void => {
    if (!current()) return;
    pending.delete(list);
    list.append(...range(at, count));
    at = count;
  };
  pending.set(list, { gen, rest });
  const more = (): void => {
    if (!current()) return;
    // A list taken off the page (the overview when a note opens) is not finished.
    if (!list.isConnected) {
      pending.delete(list);
      return;
    }
    list.append(...range(at, at + CHUNK_ROWS));
    at += CHUNK_ROWS;
    if (at < count) setTimeout(more, 0);
    else pending.delete(list);
  };
  // After the frame that shows the first rows.
  requestAnimationFrame(() => setTimeout(more, 0));
}

/** Makes and attaches at once whatever rows of `list` are still to come (a key press
 *  that moves to a row not attached yet). */
export function attachRest(list: HTMLElement): void {
  pending.get(list)?.rest();
}
