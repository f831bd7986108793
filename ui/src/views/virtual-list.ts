// A long list drawn as a window: only the rows in the viewport and a few around it are
// in the DOM, each made when it scrolls into reach; the list's padding stands for the
// rows above and below, so the scrollbar has the whole list's height. With 100,000
// documents a row for each would be seconds of WebKit's style and layout and a lot of
// memory; a window is a few dozen rows whatever the length. The arithmetic is
// ../windowing.ts. Every row has the same height, `rowHeight`, which the list also
// hands its CSS as `--row-height` so the two cannot disagree.
import { sameRange, scrollToShow, visibleRange, type Range } from '../windowing';

/** Rows drawn beyond each edge of the viewport. */
export const OVERSCAN = 8;

export interface VirtualListOptions<T> {
  /** The element the rows go into (a `ul`). */
  list: HTMLElement;
  /** The element that scrolls the list, once the list is on the page; positioned
   *  (`position: relative`), so the list's place in it can be read. */
  scroller(): HTMLElement | null;
  rowHeight: number;
  /** The row of `item`; called when the row comes into reach, so it reads state then. */
  make(item: T, index: number): HTMLElement;
  /** A row to keep in the DOM (hidden) while out of reach: WebKit sends a drag's end to
   *  the element the drag started from, which must still be on the page for it. */
  keep?(item: T, index: number): boolean;
}

export interface VirtualList<T> {
  readonly items: readonly T[];
  /** Replaces the items and redraws every row in reach; the scroll position stays. */
  set(items: readonly T[]): void;
  /** Draws what the scroll position calls for (after a scroll, a resize). */
  update(): void;
  /** Scrolls row `index` into view (as little as needed), makes it if it was not
   *  drawn, and returns it. */
  reveal(index: number): HTMLElement | undefined;
  /** Row `index`'s element if it is drawn. */
  element(index: number): HTMLElement | undefined;
  /** The index of the row `el` is (or is inside of); -1 if none. */
  indexOf(el: Element | null): number;
  /** The rows drawn, by index. */
  drawn(): IterableIterator<[number, HTMLElement]>;
  /** Stops following the scroller and the window's size. */
  dispose(): void;
}

export function virtualList<T>(opts: VirtualListOptions<T>): VirtualList<T> {
  const { list, rowHeight } = opts;
  list.style.setProperty('--row-height', `${rowHeight}px`);
  let items: readonly T[] = [];
  const rows = new Map<number, HTMLElement>();
  let range: Range = { start: 0, end: 0 };
  let scroller: HTMLElement | null = null;
  let retry = false;

  const onScroll = (): void => draw(false);
  // The scroller is found once the list is on the page (a pane is built before it is
  // shown); until then the window's height stands for the viewport's.
  const attach = (): HTMLElement | null => {
    if (scroller?.isConnected) return scroller;
    scroller?.removeEventListener('scroll', onScroll);
    scroller = list.isConnected ? opts.scroller() : null;
    scroller?.addEventListener('scroll', onScroll, { passive: true });
    if (!scroller && !retry) {
      retry = true;
      requestAnimationFrame(() => {
        retry = false;
        if (list.isConnected) draw(false);
      });
    }
    return scroller;
  };
  window.addEventListener('resize', onScroll);

  /** Where the list's top is in the scroller's content, and the viewport. The scroller
   *  is positioned (CSS), so the list's offsets lead up to it, whatever its scroll. */
  const viewport = (): { top: number; scrollTop: number; height: number } => {
    const s = attach();
    if (!s) return { top: 0, scrollTop: 0, height: window.innerHeight };
    let top = 0;
    let e: HTMLElement | null = list;
    while (e && e !== s) {
      top += e.offsetTop;
      e = e.offsetParent as HTMLElement | null;
    }
    return { top: e === s ? top : 0, scrollTop: s.scrollTop, height: s.clientHeight || window.innerHeight };
  };

  const wanted = (scrollTop?: number): Range => {
    const v = viewport();
    return visibleRange({
      scrollTop: (scrollTop ?? v.scrollTop) - v.top,
      height: v.height,
      rowHeight,
      count: items.length,
      overscan: OVERSCAN,
    });
  };

  function draw(force: boolean, want: Range = wanted()): void {
    if (!force && sameRange(want, range)) return;
    range = want;
    const active = document.activeElement;
    let lostFocus = false;
    for (const [i, el] of rows) {
      if (i >= want.start && i < want.end) continue;
      const item = items[i];
      if (item !== undefined && opts.keep?.(item, i)) {
        el.hidden = true;
        continue;
      }
      if (active && el.contains(active)) lostFocus = true;
      el.remove();
      rows.delete(i);
    }
    const order: HTMLElement[] = [];
    for (let i = want.start; i < want.end; i++) {
      let el = rows.get(i);
      if (!el) {
        el = opts.make(items[i]!, i);
        el.dataset.index = String(i);
        rows.set(i, el);
      }
      el.hidden = false;
      order.push(el);
    }
    // Rows already drawn stay where they are (one with the focus keeps it); new ones go
    // in around them. A kept row out of reach is hidden and takes no space.
    let cursor = list.firstChild as HTMLElement | null;
    for (const el of order) {
      while (cursor && cursor !== el && cursor.hidden) cursor = cursor.nextSibling as HTMLElement | null;
      if (cursor === el) cursor = el.nextSibling as HTMLElement | null;
      else list.insertBefore(el, cursor);
    }
    list.style.paddingTop = `${want.start * rowHeight}px`;
    list.style.paddingBottom = `${(items.length - want.end) * rowHeight}px`;
    // The focused row scrolled away: the list holds the focus, so the keys still work.
    if (lostFocus) list.focus({ preventScroll: true });
  }

  return {
    get items() {
      return items;
    },
    set(next) {
      items = next;
      // The window is worked out before the old rows go: without them the scroller
      // could be shorter for a moment and clamp its position.
      const want = wanted();
      rows.clear();
      list.replaceChildren();
      draw(true, want);
    },
    update: () => draw(false),
    reveal(index) {
      if (index < 0 || index >= items.length) return undefined;
      const v = viewport();
      const to = scrollToShow(index, v.scrollTop, v.height, rowHeight, v.top);
      if (scroller && to !== v.scrollTop) scroller.scrollTop = to;
      let want = wanted(to);
      if (index < want.start || index >= want.end) {
        want = { start: Math.max(0, index - OVERSCAN), end: Math.min(items.length, index + OVERSCAN + 1) };
      }
      draw(false, want);
      return rows.get(index);
    },
    element: (index) => rows.get(index),
    indexOf(el) {
      const row = el?.closest<HTMLElement>('[data-index]');
      if (!row || row.parentElement !== list) return -1;
      return Number(row.dataset.index);
    },
    drawn: () => rows.entries(),
    dispose() {
      scroller?.removeEventListener('scroll', onScroll);
      window.removeEventListener('resize', onScroll);
    },
  };
}
