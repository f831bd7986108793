// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { LIST_ROW_PX, overviewPane, trashPane } from './overview';
import { docSummary, fakeApp } from './testing';

const many = (n: number, deleted = false) =>
  Array.from({ length: n }, (_, i) => ({ ...docSummary(`Doc ${String(i).padStart(5, '0')}`, [], 'note', `d${i}`), deleted }));

/** The pane in a scrolled host, as the window shows it. */
function shown(el: HTMLElement): HTMLElement {
  const host = document.createElement('main');
  host.className = 'pane-host';
  host.append(el);
  document.body.replaceChildren(host);
  return host;
}

const px = (v: string) => Number(v.replace('px', '') || 0);

describe('the overview and the trash of a large workspace', () => {
  it('draw only the rows in view, in a list as tall as every row', () => {
    const pane = overviewPane(fakeApp(many(10_000)), () => {});
    shown(pane.el);
    const rows = pane.el.querySelectorAll('[data-testid="doc-row"]');
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(100);
    const list = pane.el.querySelector<HTMLElement>('[data-testid="doc-list"]')!;
    expect(px(list.style.paddingTop) + rows.length * LIST_ROW_PX + px(list.style.paddingBottom)).toBe(10_000 * LIST_ROW_PX);
  });

  it('draw the rows the host is scrolled to', async () => {
    const pane = trashPane(fakeApp(many(5_000, true)));
    const host = shown(pane.el);
    await new Promise((r) => requestAnimationFrame(r));
    host.scrollTop = 3_000 * LIST_ROW_PX;
    host.dispatchEvent(new Event('scroll'));
    const titles = [...pane.el.querySelectorAll('[data-testid="trash-row"] .doc-title')].map((t) => t.textContent);
    expect(titles.length).toBeLessThan(100);
    // The trash lists the most recently changed first; these all changed at once, so by title.
    expect(titles).toContain('Doc 03000');
    expect(titles).not.toContain('Doc 00000');
  });
});
