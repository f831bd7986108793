// Long lists go on the page a screenful first, the rest in the tasks after the first
// paint: WebKit takes seconds to style and lay out a thousand tree rows at once, and the
// window should show the workspace before that (cold start to first paint). The rows
// are the same and in the same order; only when they are attached differs.

/** Rows attached at once: more than a window shows. */
export const FIRST_ROWS = 80;
/** Rows attached per later task, small enough that typing and scrolling stay smooth. */
export const CHUNK_ROWS = 150;

const generation = new WeakMap<HTMLElement, number>();

/**
 * Replaces `list`'s children with `items`, the first FIRST_ROWS now and the rest in
 * later tasks. A later call for the same list cancels what an earlier one still had to
 * attach. `whole` attaches everything now (an inline input must be focusable at once).
 */
export function replaceInChunks(list: HTMLElement, items: readonly Node[], whole = false): void {
  const gen = (generation.get(list) ?? 0) + 1;
  generation.set(list, gen);
  if (whole || items.length <= FIRST_ROWS) {
    list.replaceChildren(...items);
    return;
  }
  list.replaceChildren(...items.slice(0, FIRST_ROWS));
  let at = FIRST_ROWS;
  const more = (): void => {
    if (generation.get(list) !== gen) return;
    list.append(...items.slice(at, at + CHUNK_ROWS));
    at += CHUNK_ROWS;
    if (at < items.length) setTimeout(more, 0);
  };
  // After the frame that shows the first rows.
  requestAnimationFrame(() => setTimeout(more, 0));
}
