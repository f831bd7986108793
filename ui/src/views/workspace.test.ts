// @vitest-environment happy-dom
// The open workspace wired together over a fake shell: events from the engine refresh
// the tree and the open record; the top bar shows the sync state.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DocSummary } from '../api';

const api = vi.hoisted(() => ({
  listTree: vi.fn(),
  onDocsChanged: vi.fn(),
  onSyncChanged: vi.fn(),
  syncStatus: vi.fn(),
  getRecord: vi.fn(),
  docHolders: vi.fn(),
  unreadableChanges: vi.fn(),
  search: vi.fn(),
  createNote: vi.fn(),
  createRecord: vi.fn(),
  openNote: vi.fn(),
  saveNoteUpdate: vi.fn(),
  noteUpdatesSince: vi.fn(),
}));
vi.mock('../api', async (orig) => ({ ...(await orig<typeof import('../api')>()), ...api }));

import { LoroDoc } from 'loro-crdt';
import { configureNoteDoc } from '../editor/binding';
import { mountWorkspace } from './workspace';
import { docSummary, key, settle } from './testing';

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
  api.listTree.mockImplementation(async () => ({ docs, folders: [] }));
  api.onDocsChanged.mockImplementation(async (f: (ids: string[]) => void) => ((docsChanged = f), () => {}));
  api.onSyncChanged.mockImplementation(async (f: () => void) => ((syncChanged = f), () => {}));
  api.syncStatus.mockResolvedValue({ state: 'syncing', pending: 2, devices: [], relays: [], addresses: [] });
  api.getRecord.mockResolvedValue({ json: { pages: 1 }, conflicts: [] });
  api.docHolders.mockResolvedValue([]);
  api.unreadableChanges.mockResolvedValue([]);
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
    api.listTree.mockRejectedValue({ code: 'internal', message: 'database is locked' });
    docsChanged(['x']);
    await settle();
    const toast = document.querySelector('[data-testid="toasts"] [role="alert"]');
    expect(toast?.textContent).toContain('Could not load the documents: database is locked');
  });
});

describe('a document created in the sidebar', () => {
  /** Names a new document in the sidebar and presses Enter, as a user does; the shell
   *  creates `doc`, which the next listing has. */
  function create(doc: DocSummary): void {
    const created = doc.kind === 'note' ? api.createNote : api.createRecord;
    created.mockImplementation(async () => {
      docs = [...docs, doc];
      return doc;
    });
    document.querySelector<HTMLButtonElement>(`[data-testid="new-${doc.kind}"]`)!.click();
    const input = document.querySelector<HTMLInputElement>('[data-testid="new-name"]')!;
    expect(document.activeElement).toBe(input);
    input.value = doc.title;
    key(input, 'Enter');
  }

  it('puts the caret into the new note’s text once its name is entered', async () => {
    api.openNote.mockResolvedValue(configureNoteDoc(new LoroDoc()).export({ mode: 'snapshot' }));
    api.noteUpdatesSince.mockResolvedValue(new Uint8Array());
    api.saveNoteUpdate.mockResolvedValue(undefined);
    create(docSummary('Ideas', [], 'note', 'n9'));
    // The editor is loaded on demand (Quill, Loro's WebAssembly): the first time takes a while.
    const text = await vi.waitFor(
      () => {
        const el = document.querySelector<HTMLElement>('[data-testid="note-pane"][data-id="n9"] [data-testid="note-editor"]');
        expect(el).not.toBeNull();
        return el!;
      },
      { timeout: 15_000 },
    );
    expect(api.createNote).toHaveBeenCalledExactlyOnceWith('Ideas', []);
    await vi.waitFor(() => expect(document.activeElement).toBe(text));
  }, 20_000);

  it('puts the focus into the new record’s first field', async () => {
    create(docSummary('Books', [], 'record', 'r9'));
    await settle();
    expect(document.querySelector('[data-testid="record-pane"]')?.getAttribute('data-id')).toBe('r9');
    expect(document.activeElement).toBe(document.querySelector('[data-testid="field"][data-name="pages"] input'));
  });

  it('leaves the focus where the user took it while the document opened', async () => {
    create(docSummary('Books', [], 'record', 'r9'));
    const search = document.querySelector<HTMLInputElement>('[data-testid="search"]')!;
    search.focus();
    await settle();
    expect(document.querySelector('[data-testid="record-pane"]')?.getAttribute('data-id')).toBe('r9');
    expect(document.activeElement).toBe(search);
  });
});
