// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHUNK_ROWS, FIRST_ROWS, attachRest, replaceInChunks } from './chunked';

function item(i: number, tag = 'r'): HTMLElement {
  const li = document.createElement('li');
  li.textContent = `${tag}${i}`;
  return li;
}

const seq = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A list on the page: one taken off it is not finished (see below). */
function onPage(): HTMLElement {
  const list = document.createElement('ul');
  document.body.replaceChildren(list);
  return list;
}

describe('replaceInChunks', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'requestAnimationFrame'] });
  });
  afterEach(() => vi.useRealTimers());

  it('shows a screenful at once and every row, in order, after the first frame', () => {
    const list = onPage();
    const made: number[] = [];
    replaceInChunks(list, seq(1000), (i) => {
      made.push(i);
      return item(i);
    });
    expect(list.children.length).toBe(FIRST_ROWS);
    // Rows not yet attached are not made yet either.
    expect(made.length).toBe(FIRST_ROWS);
    vi.advanceTimersByTime(20);
    expect(list.children.length).toBeGreaterThan(FIRST_ROWS);
    vi.runAllTimers();
    expect(list.children.length).toBe(1000);
    expect([...list.children].map((c) => c.textContent)).toEqual(Array.from({ length: 1000 }, (_, i) => `r${i}`));
    expect(made).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('redraws a list that has rows at once, keeping its length (and so its scroll position)', () => {
    const list = onPage();
    replaceInChunks(list, seq(1000), (i) => item(i, 'old'));
    vi.runAllTimers();
    replaceInChunks(list, seq(1000), (i) => item(i, 'new'));
    expect(list.children.length).toBe(1000);
    expect([...list.children].every((c) => c.textContent?.startsWith('new'))).toBe(true);
  });

  it('a new render cancels what an older one still had to attach', () => {
    const list = onPage();
    replaceInChunks(list, seq(1000), (i) => item(i, 'old'));
    replaceInChunks(list, seq(FIRST_ROWS + CHUNK_ROWS + 1), (i) => item(i, 'new'));
    vi.runAllTimers();
    expect(list.children.length).toBe(FIRST_ROWS + CHUNK_ROWS + 1);
    expect([...list.children].every((c) => c.textContent?.startsWith('new'))).toBe(true);
  });

  it('chunks a list that showed only a placeholder (a first sync into an empty workspace)', () => {
    const list = onPage();
    list.append(item(0, 'Nothing here yet.'));
    replaceInChunks(list, seq(1000), (i) => item(i));
    expect(list.children.length).toBe(FIRST_ROWS);
    vi.runAllTimers();
    expect(list.children.length).toBe(1000);
  });

  it('attaches the rest at once on demand (a key press moving past what is attached)', () => {
    const list = onPage();
    replaceInChunks(list, seq(1000), (i) => item(i));
    attachRest(list);
    expect(list.children.length).toBe(1000);
    vi.runAllTimers();
    expect(list.children.length).toBe(1000);
    expect([...list.children].map((c) => c.textContent)).toEqual(seq(1000).map((i) => `r${i}`));
  });

  it('stops making rows for a list taken off the page (the overview when a note opens)', () => {
    const list = onPage();
    const made: number[] = [];
    replaceInChunks(list, seq(1000), (i) => {
      made.push(i);
      return item(i);
    });
    list.remove();
    vi.runAllTimers();
    expect(made.length).toBe(FIRST_ROWS);
  });

  it('attaches everything at once when asked (an inline input must take focus)', () => {
    const list = onPage();
    replaceInChunks(list, seq(500), (i) => item(i), true);
    expect(list.children.length).toBe(500);
  });
});
