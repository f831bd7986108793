// Which rows of a long list exist in the DOM: those in the viewport and a few around
// it (views/virtual-list.ts draws them). Every row has the same height, so a row's
// place is its index times that height and the list needs no measuring. Pure, so the
// arithmetic is unit-tested (windowing.test.ts).

/** Rows `start` (inclusive) to `end` (exclusive). */
export interface Range {
  start: number;
  end: number;
}

export interface Viewport {
  /** How far the list's top is scrolled above the viewport's top (px, may be < 0 when
   *  the list starts below the viewport's top). */
  scrollTop: number;
  /** The viewport's height (px). */
  height: number;
  rowHeight: number;
  count: number;
  /** Rows drawn beyond each edge, so a short scroll shows rows already there. */
  overscan: number;
}

/** The rows that intersect the viewport, widened by `overscan` on each side. */
export function visibleRange({ scrollTop, height, rowHeight, count, overscan }: Viewport): Range {
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const last = Math.ceil(Math.max(0, scrollTop + Math.max(0, height)) / rowHeight);
  const start = Math.min(count, Math.max(0, first - overscan));
  const end = Math.min(count, Math.max(start, last + overscan));
  return { start, end };
}

/**
 * The scroll position that brings row `index` fully into view, moving as little as it
 * can (`scrollIntoView({ block: 'nearest' })`); `scrollTop` unchanged when it is in
 * view already. `offset` is where the list starts inside the scrolled content.
 */
export function scrollToShow(index: number, scrollTop: number, height: number, rowHeight: number, offset = 0): number {
  const top = offset + index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + height) return Math.max(0, bottom - height);
  return scrollTop;
}

/** Whether two ranges hold the same rows (nothing to redraw on a scroll within a row). */
export function sameRange(a: Range, b: Range): boolean {
  return a.start === b.start && a.end === b.end;
}
