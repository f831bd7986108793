import { describe, expect, it } from 'vitest';
import { sameRange, scrollToShow, visibleRange } from './windowing';

const view = { scrollTop: 0, height: 280, rowHeight: 28, count: 100_000, overscan: 5 };

describe('visibleRange', () => {
  it('draws a screenful and the overscan below it at the top', () => {
    expect(visibleRange(view)).toEqual({ start: 0, end: 15 });
  });

  it('follows the scroll position, with the overscan on both sides', () => {
    // Row 1000 starts at 28,000 px; a 280 px viewport shows rows 1000–1009.
    expect(visibleRange({ ...view, scrollTop: 28_000 })).toEqual({ start: 995, end: 1015 });
    // Half a row further: row 1010 shows its top half too.
    expect(visibleRange({ ...view, scrollTop: 28_014 })).toEqual({ start: 995, end: 1016 });
  });

  it('stops at the last row', () => {
    const end = 100_000 * 28 - 280;
    expect(visibleRange({ ...view, scrollTop: end })).toEqual({ start: 99_985, end: 100_000 });
    // Past the end (a list that just got shorter): still within the list.
    expect(visibleRange({ ...view, scrollTop: 10_000_000 })).toEqual({ start: 100_000, end: 100_000 });
  });

  it('holds only what fits however long the list is', () => {
    for (const count of [1_000, 10_000, 100_000]) {
      const r = visibleRange({ ...view, count, scrollTop: count * 14 });
      expect(r.end - r.start).toBeLessThanOrEqual(Math.ceil(280 / 28) + 1 + 2 * 5);
    }
  });

  it('draws every row of a short list', () => {
    expect(visibleRange({ ...view, count: 3 })).toEqual({ start: 0, end: 3 });
    expect(visibleRange({ ...view, count: 0 })).toEqual({ start: 0, end: 0 });
  });

  it('counts a list that starts below the viewport’s top from its own top', () => {
    // The list begins 100 px down: the viewport's 280 px hold 180 px of it.
    expect(visibleRange({ ...view, scrollTop: -100, overscan: 0 })).toEqual({ start: 0, end: 7 });
  });
});

describe('scrollToShow', () => {
  it('leaves a row in view where it is', () => {
    expect(scrollToShow(3, 0, 280, 28)).toBe(0);
  });

  it('scrolls down just enough to show a row below the viewport at the bottom', () => {
    // Row 10 spans 280–308: the viewport must end at 308.
    expect(scrollToShow(10, 0, 280, 28)).toBe(28);
    expect(scrollToShow(99_999, 0, 280, 28)).toBe(100_000 * 28 - 280);
  });

  it('scrolls up to a row above the viewport, putting it at the top', () => {
    expect(scrollToShow(5, 28_000, 280, 28)).toBe(140);
  });

  it('adds where the list starts in the scrolled box', () => {
    expect(scrollToShow(0, 50, 280, 28, 4)).toBe(4);
  });
});

describe('sameRange', () => {
  it('compares both ends', () => {
    expect(sameRange({ start: 1, end: 5 }, { start: 1, end: 5 })).toBe(true);
    expect(sameRange({ start: 1, end: 5 }, { start: 1, end: 6 })).toBe(false);
  });
});
