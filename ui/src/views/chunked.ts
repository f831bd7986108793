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

const generation = new WeakMap<HTMLElement, number>();

/**
 * Replaces `list`'s children with a row for each of `items`, made by `make`: the first
 * FIRST_ROWS now and the rest in later tasks, each made just before it is attached (so
 * `make` must read state when called, not when this was called). A later call for the
 * same list cancels what an earlier one still had to attach. `whole` makes and attaches
 * everything now (an inline input must be focusable at once).
 *
 * Only a list being filled for the first time is chunked: a redraw of a list that has
 * rows (a change from another device, a folder folded) replaces them all at once, as
 * a list cut back to a screenful would lose its scroll position and keyboard focus.
 */
export function replaceInChunks<T>(list: HTMLElement, items: readonly T[], make: (item: T) => Node, whole = false): void {
  const count = items.length;
  const gen = (generation.get(list) ?? 0) + 1;
  generation.set(list, gen);
  const range = (from: number, to: number): Node[] => {
    const out: Node[] = [];
    for (const item of items.slice(from, to)) out.push(make(item));
    return out;
  };
  if (whole || count <= FIRST_ROWS || list.childElementCount > 0) {
    list.replaceChildren(...range(0, count));
    return;
  }
  list.replaceChildren(...range(0, FIRST_ROWS));
  let at = FIRST_ROWS;
  const more = (): void => {
    if (generation.get(list) !== gen) return;
    list.append(...range(at, at + CHUNK_ROWS));
    at += CHUNK_ROWS;
    if (at < count) setTimeout(more, 0);
  };
  // After the frame that shows the first rows.
  requestAnimationFrame(() => setTimeout(more, 0));
}
