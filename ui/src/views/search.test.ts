// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const api = vi.hoisted(() => ({ search: vi.fn() }));
vi.mock('../api', async (orig) => ({ ...(await orig<typeof import('../api')>()), ...api }));

import { createSearch } from './search';
import { fakeApp, key, settle, type FakeApp } from './testing';

let app: FakeApp;
let input: HTMLInputElement;

function typeText(text: string): void {
  input.value = text;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

beforeEach(() => {
  vi.useFakeTimers();
  app = fakeApp();
  const box = createSearch(app);
  document.body.replaceChildren(box.el);
  input = box.el.querySelector('[data-testid="search"]')!;
  api.search.mockImplementation(async (q: string) => [
    { id: 'a', kind: 'note', title: `Plan <img src=x onerror=alert(1)>`, path: 'Work/Plan', snippet: `we plan to ${q}` },
    { id: 'b', kind: 'record', title: 'Planets', path: 'Planets', snippet: '' },
  ]);
});
afterEach(() => {
  vi.useRealTimers();
  vi.clearAllMocks();
});

async function flush(): Promise<void> {
  vi.advanceTimersByTime(150);
  vi.useRealTimers();
  await settle();
  vi.useFakeTimers();
}

describe('search', () => {
  it('asks once, 150 ms after the last key', async () => {
    typeText('p');
    vi.advanceTimersByTime(100);
    typeText('pl');
    vi.advanceTimersByTime(100);
    typeText('pla');
    vi.advanceTimersByTime(149);
    expect(api.search).not.toHaveBeenCalled();
    await flush();
    expect(api.search).toHaveBeenCalledExactlyOnceWith('pla');
  });

  it('shows title, path and snippet with the match marked, as text and never as HTML', async () => {
    typeText('plan');
    await flush();
    const results = [...document.querySelectorAll<HTMLElement>('[data-testid="search-result"]')];
    expect(results).toHaveLength(2);
    expect(results[0]!.querySelector('img')).toBeNull();
    expect(results[0]!.textContent).toContain('<img src=x onerror=alert(1)>');
    expect(results[0]!.querySelector('.hit-path')!.textContent).toBe('Work/Plan');
    expect([...results[0]!.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['Plan', 'plan', 'plan']);
    expect([...results[1]!.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['Plan']);
  });

  it('opens the picked result with the arrow keys and Enter', async () => {
    typeText('plan');
    await flush();
    key(input, 'ArrowDown');
    key(input, 'ArrowDown');
    expect(input.getAttribute('aria-activedescendant')).toBe('search-hit-1');
    key(input, 'Enter');
    expect(app.opened).toEqual(['b']);
    expect(document.querySelector<HTMLElement>('[data-testid="search-results"]')!.hidden).toBe(true);
  });

  it('opens the first result when Enter comes before the results', async () => {
    typeText('plan');
    key(input, 'Enter');
    vi.useRealTimers();
    await settle();
    expect(app.opened).toEqual(['a']);
  });

  it('shows the error of a failed search', async () => {
    api.search.mockRejectedValue({ code: 'not_open', message: 'no workspace is open' });
    typeText('x');
    await flush();
    expect(document.querySelector('[data-testid="search-results"] [role="alert"]')?.textContent).toBe('no workspace is open');
  });
});
