// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHUNK_ROWS, FIRST_ROWS, replaceInChunks } from './chunked';

function items(n: number, tag = 'r'): HTMLElement[] {
  return Array.from({ length: n }, (_, i) => {
    const li = document.createElement('li');
    li.textContent = `${tag}${i}`;
    return li;
  });
}

describe('replaceInChunks', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'requestAnimationFrame'] });
  });
  afterEach(() => vi.useRealTimers());

  it('shows a screenful at once and every row, in order, after the first frame', () => {
    const list = document.createElement('ul');
    replaceInChunks(list, items(1000));
    expect(list.children.length).toBe(FIRST_ROWS);
    vi.advanceTimersByTime(20);
    expect(list.children.length).toBeGreaterThan(FIRST_ROWS);
    vi.runAllTimers();
    expect(list.children.length).toBe(1000);
    expect([...list.children].map((c) => c.textContent)).toEqual(items(1000).map((c) => c.textContent));
  });

  it('a new render cancels what an older one still had to attach', () => {
    const list = document.createElement('ul');
    replaceInChunks(list, items(1000, 'old'));
    replaceInChunks(list, items(FIRST_ROWS + CHUNK_ROWS + 1, 'new'));
    vi.runAllTimers();
    expect(list.children.length).toBe(FIRST_ROWS + CHUNK_ROWS + 1);
    expect([...list.children].every((c) => c.textContent?.startsWith('new'))).toBe(true);
  });

  it('attaches everything at once when asked (an inline input must take focus)', () => {
    const list = document.createElement('ul');
    replaceInChunks(list, items(500), true);
    expect(list.children.length).toBe(500);
  });
});
