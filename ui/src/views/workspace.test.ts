// @vitest-environment happy-dom
// The open workspace wired together over a fake shell: events from the engine refresh
// the tree and the open record; the top bar shows the sync state.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DocSummary } from '../api';

const api = vi.hoisted(() => ({
  listDocuments: vi.fn(),
  listFolders: vi.fn(),
  onDocsChanged: vi.fn(),
  onSyncChanged: vi.fn(),
  syncStatus: vi.fn(),
  getRecord: vi.fn(),
  docHolders: vi.fn(),
  search: vi.fn(),
}));
vi.mock('../api', async (orig) => ({ ...(await orig<typeof import('../api')>()), ...api }));

import { mountWorkspace } from './workspace';
import { docSummary, settle } from './testing';

let docsChanged: (ids: string[]) => void = () => {};
let syncChanged: () => void = () => {};
let docs: DocSummary[];
let teardown: () => void;
const root = (): HTMLElement => document.getElementById('app')!;
const tree = (): string[] =>
  [...document.querySelectorAll<HTMLElement>('[data-testid="tree-row"]')].map((r) => r.dataset.path ?? '');

beforeEach(async () => {
  document.body.innerHTML = '<div id="app"></div>';
  docs = [docSummary('Book', [], 'record', 'rec'), docSummary('Hello', ['Inbox'], 'note', 'n1')];
  api.listDocuments.mockImplementation(async () => docs);
  api.listFolders.mockResolvedValue([]);
  api.onDocsChanged.mockImplementation(async (f: (ids: string[]) => void) => ((docsChanged = f), () => {}));
  api.onSyncChanged.mockImplementation(async (f: () => void) => ((syncChanged = f), () => {}));
  api.syncStatus.mockResolvedValue({ state: 'syncing', pending: 2, devices: [], relays: [], addresses: [] });
  api.getRecord.mockResolvedValue({ json: { pages: 1 }, conflicts: [] });
  api.docHolders.mockResolvedValue([]);
  teardown = mountWorkspace(root(), { state: 'open', home: '/h', name: 'Test', device: 'me' }, { docs, folders: [] });
  await settle();
});
afterEach(() => {
  teardown();
  vi.clearAllMocks();
});

describe('the open workspace', () => {
  it('has the top bar, the tree and the overview the smoke test reads', () => {
    expect(document.querySelector('[data-testid="workspace-name"]')!.textContent).toBe('Test');
    for (const id of ['search', 'sync-status', 'devices-button', 'add-device', 'settings-button', 'tree', 'doc-list']) {
      expect(document.querySelector(`[data-testid="${id}"]`), id).not.toBeNull();
    }
    expect(document.querySelector('[data-testid="sync-status"]')!.textContent).toBe('Syncing 2 changes');
    expect(tree()).toEqual(['Inbox', 'Inbox/Hello', 'Book']);
  });

  it('refreshes the tree when another device changes documents', async () => {
    docs = [...docs, docSummary('From the phone', [], 'note', 'n2')];
    docsChanged(['n2']);
    await settle();
    expect(tree()).toEqual(['Inbox', 'Inbox/Hello', 'Book', 'From the phone']);
  });

  it('reloads the open record when it is among the changed documents, not otherwise', async () => {
    document.querySelector<HTMLElement>('[data-testid="tree-row"][data-id="rec"]')!.click();
    await settle();
    expect(document.querySelector('[data-testid="record-pane"]')).not.toBeNull();
    expect(api.getRecord).toHaveBeenCalledTimes(1);
    api.getRecord.mockResolvedValue({ json: { pages: 2 }, conflicts: [] });
    docsChanged(['n1']);
    await settle();
    expect(api.getRecord).toHaveBeenCalledTimes(1);
    docsChanged(['rec']);
    await settle();
    expect(api.getRecord).toHaveBeenCalledTimes(2);
    expect(document.querySelector<HTMLInputElement>('[data-name="pages"] input')!.value).toBe('2');
  });

  it('goes back to the overview when the open document is trashed elsewhere', async () => {
    document.querySelector<HTMLElement>('[data-testid="tree-row"][data-id="rec"]')!.click();
    await settle();
    docs = docs.map((d) => (d.id === 'rec' ? { ...d, deleted: true } : d));
    docsChanged(['rec']);
    await settle();
    expect(document.querySelector('[data-testid="record-pane"]')).toBeNull();
    expect(document.querySelector('[data-testid="overview"]')).not.toBeNull();
    expect(document.querySelector('[data-testid="toasts"]')!.textContent).toContain('“Book” was moved to the trash.');
  });

  it('updates the indicator on a sync event', async () => {
    api.syncStatus.mockResolvedValue({ state: 'offline', pending: 0, devices: [], relays: [], addresses: [] });
    syncChanged();
    await settle();
    expect(document.querySelector('[data-testid="sync-status"]')!.textContent).toBe('Offline');
  });

  it('focuses search on Ctrl+K and Ctrl+P', () => {
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'k', ctrlKey: true, bubbles: true }));
    expect(document.activeElement).toBe(document.querySelector('[data-testid="search"]'));
    (document.activeElement as HTMLElement).blur();
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'p', ctrlKey: true, bubbles: true }));
    expect(document.activeElement).toBe(document.querySelector('[data-testid="search"]'));
  });

  it('shows a failed reload of the documents as an alert', async () => {
    api.listDocuments.mockRejectedValue({ code: 'internal', message: 'database is locked' });
    docsChanged(['x']);
    await settle();
    const toast = document.querySelector('[data-testid="toasts"] [role="alert"]');
    expect(toast?.textContent).toContain('Could not load the documents: database is locked');
  });
});
