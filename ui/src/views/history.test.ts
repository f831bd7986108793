// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';

const api = vi.hoisted(() => ({ history: vi.fn(), previewVersion: vi.fn(), restoreVersion: vi.fn() }));
vi.mock('../api', async (orig) => ({ ...(await orig<typeof import('../api')>()), ...api }));

import { historyPanel } from './history';
import { docSummary, settle } from './testing';

afterEach(() => vi.clearAllMocks());

const versions = [1, 2, 3].map((n) => ({
  number: n,
  time: `2026-11-0${n}T10:00:00Z`,
  time_ms: 0,
  device: 'abcdef0123456789',
  device_name: n === 2 ? 'phone' : '',
  this_device: n !== 2,
  summary: `edit ${n}`,
}));

describe('the history panel', () => {
  it('lists versions newest first with who made them', async () => {
    api.history.mockResolvedValue(versions);
    const panel = historyPanel(docSummary('N', [], 'note', 'n1'), async () => {}, () => {});
    await settle();
    const items = [...panel.el.querySelectorAll<HTMLElement>('[data-testid="history-item"]')];
    expect(items.map((i) => i.dataset.number)).toEqual(['3', '2', '1']);
    expect(items.map((i) => i.querySelector('.who')!.textContent)).toEqual(['this device', 'phone', 'this device']);
    expect(items[0]!.querySelector('.summary')!.textContent).toBe('edit 3');
  });

  it('previews a note as text, never as HTML, and restores the chosen version', async () => {
    api.history.mockResolvedValue(versions);
    api.previewVersion.mockResolvedValue({ kind: 'note', markdown: '# Title\n<img src=x onerror=alert(1)>' });
    api.restoreVersion.mockResolvedValue(undefined);
    const restored = vi.fn(async () => {});
    const panel = historyPanel(docSummary('N', [], 'note', 'n1'), restored, () => {});
    await settle();
    const items = panel.el.querySelectorAll<HTMLElement>('[data-testid="history-item"]');
    items[0]!.click();
    await settle();
    // The newest version is what the document already is.
    expect(panel.el.querySelector<HTMLButtonElement>('[data-testid="restore-version"]')!.disabled).toBe(true);
    items[2]!.click();
    await settle();
    expect(api.previewVersion).toHaveBeenLastCalledWith('n1', 1);
    const pre = panel.el.querySelector('[data-testid="preview-text"]')!;
    expect(pre.textContent).toBe('# Title\n<img src=x onerror=alert(1)>');
    expect(panel.el.querySelector('img')).toBeNull();
    panel.el.querySelector<HTMLButtonElement>('[data-testid="restore-version"]')!.click();
    await settle();
    expect(api.restoreVersion).toHaveBeenCalledExactlyOnceWith('n1', 1);
    expect(restored).toHaveBeenCalledOnce();
  });

  it('previews a record as its fields, and shows a refused restore', async () => {
    api.history.mockResolvedValue(versions);
    api.previewVersion.mockResolvedValue({ kind: 'record', json: { read: true, tags: ['a', 'b'] }, conflicts: [] });
    api.restoreVersion.mockRejectedValue({ code: 'no_such_version', message: 'no version 1' });
    const panel = historyPanel(docSummary('R', [], 'record', 'r1'), async () => {}, () => {});
    await settle();
    panel.el.querySelectorAll<HTMLElement>('[data-testid="history-item"]')[2]!.click();
    await settle();
    const dl = panel.el.querySelector('[data-testid="preview-fields"]')!;
    expect([...dl.querySelectorAll('dt, dd')].map((e) => e.textContent)).toEqual(['read', 'checked', 'tags', 'a, b']);
    panel.el.querySelector<HTMLButtonElement>('[data-testid="restore-version"]')!.click();
    await settle();
    expect(panel.el.querySelector('[role="alert"]')?.textContent).toBe('no version 1');
  });
});
