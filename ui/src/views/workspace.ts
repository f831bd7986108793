// The open workspace: top bar (name, search, sync status, Devices, Add a device,
// Settings), the sidebar tree and the main pane. Holds the document list and keeps it
// current with the engine's events.
import {
  listTree,
  onDocsChanged,
  onSyncChanged,
  syncStatus,
  toApiError,
  type DocList,
  type DocSummary,
} from '../api';
import { button, h } from '../dom';
import { coalesce } from '../util';
import type { App, OpenWorkspace, SyncHub, SyncState } from './app';
import { brand } from './brand';
import { openDevices, statusIndicator } from './devices';
import { notePane, type DocPaneOptions } from './note';
import { overviewPane, trashPane } from './overview';
import { openPairing } from './pairing';
import type { Pane } from './pane';
import { recordPane } from './record';
import { createSearch } from './search';
import { openSettings } from './settings';
import { createSidebar } from './sidebar';
import { showError, showInfo } from './toast';

function createSyncHub(): SyncHub {
  let current: SyncState = { status: null, error: null };
  const subscribers = new Set<(s: SyncState) => void>();
  const fetch = coalesce(async () => {
    try {
      current = { status: await syncStatus(), error: null };
    } catch (e) {
      const error = toApiError(e);
      // Once per distinct message (the toast region folds repeats).
      showError(error, 'Could not read the sync status');
      current = { status: current.status, error };
    }
    for (const f of subscribers) f(current);
  });
  return {
    get current() {
      return current;
    },
    subscribe(f) {
      subscribers.add(f);
      return () => subscribers.delete(f);
    },
    refresh: fetch,
  };
}

/**
 * Replaces `root`'s content with the workspace, drawn from `initial` (loaded by the
 * caller, so the window never flashes an empty workspace); returns a teardown.
 */
export function mountWorkspace(
  root: HTMLElement,
  workspace: OpenWorkspace,
  initial: DocList,
): () => void {
  let all: DocSummary[] = initial.docs;
  let live: DocSummary[] = all.filter((d) => !d.deleted);
  let folders: string[][] = initial.folders;
  let pane: Pane | null = null;
  let paneKind: 'overview' | 'trash' | 'doc' = 'overview';
  // Opening is serialized: a second open waits for the first pane to be torn down
  // (the note editor flushes its last edit there).
  let opening: Promise<void> = Promise.resolve();
  const unlisten: (() => void)[] = [];

  const main = h('main', { class: 'pane-host', 'data-testid': 'main', 'aria-label': 'Document' });

  const sync = createSyncHub();

  const app: App = {
    workspace,
    docs: () => live,
    allDocs: () => all,
    folders: () => folders,
    doc: (id) => all.find((d) => d.id === id),
    openId: () => pane?.docId ?? null,
    open: (id, opts) => setPane(id === null ? 'overview' : 'doc', id, opts),
    showTrash: () => setPane('trash', null),
    refresh: () => refresh(),
    reopen: (opts) => setPane(paneKind, pane?.docId ?? null, opts, true),
    startCreate: (kind) => sidebar.startCreate(kind),
    fail: (e, context) => showError(e, context),
    sync,
  };

  const sidebar = createSidebar(app);
  const searchBox = createSearch(app);

  function setPane(kind: 'overview' | 'trash' | 'doc', id: string | null, opts: DocPaneOptions = {}, force = false): Promise<void> {
    const run = async (): Promise<void> => {
      const doc = id === null ? undefined : app.doc(id);
      if (kind === 'doc' && (!doc || doc.deleted)) {
        if (id !== null) showInfo(doc ? `“${doc.title}” is in the trash.` : 'That document no longer exists.');
        kind = 'overview';
      }
      if (!force && pane && paneKind === kind && pane.docId === (doc?.id ?? null) && kind === 'doc') return;
      const old = pane;
      pane = null;
      if (old) {
        try {
          await old.destroy();
        } catch (e) {
          showError(e, 'Could not save the last change');
        }
      }
      paneKind = kind;
      if (kind === 'doc' && doc) {
        pane = doc.kind === 'note' ? notePane(app, doc, opts) : recordPane(app, doc, opts);
      } else if (kind === 'trash') {
        pane = trashPane(app);
      } else {
        pane = overviewPane(app, (k) => sidebar.startCreate(k));
      }
      main.replaceChildren(pane.el);
      sidebar.setOpen(pane.docId);
    };
    opening = opening.then(run, run);
    return opening;
  }

  const refresh = coalesce(async () => {
    let docs: DocSummary[];
    let paths: string[][];
    try {
      ({ docs, folders: paths } = await listTree());
    } catch (e) {
      showError(e, 'Could not load the documents');
      return;
    }
    all = docs;
    live = docs.filter((d) => !d.deleted);
    folders = paths;
    sidebar.render();
    const openId = pane?.docId ?? null;
    if (openId !== null) {
      const doc = app.doc(openId);
      if (!doc || doc.deleted) {
        showInfo(doc ? `“${doc.title}” was moved to the trash.` : 'The open document was deleted.');
        await setPane('overview', null);
        return;
      }
    }
    pane?.docsUpdated?.();
  });

  // --- the top bar ---------------------------------------------------------------------

  const home = button(
    { class: 'link-like ws-name', 'data-testid': 'workspace-name', title: `${workspace.name} — ${workspace.home}` },
    () => void app.open(null),
    workspace.name,
  );
  const header = h(
    'header',
    { class: 'topbar' },
    brand(),
    home,
    searchBox.el,
    h('span', { class: 'spacer' }),
    statusIndicator(app, () => openDevices(app)),
    h(
      'div',
      { class: 'top-actions', role: 'toolbar', 'aria-label': 'Workspace' },
      button({ 'data-testid': 'devices-button' }, () => openDevices(app), 'Devices'),
      button({ 'data-testid': 'add-device' }, () => openPairing(), 'Add a device'),
      button({ 'data-testid': 'settings-button' }, () => openSettings(app), 'Settings'),
    ),
  );

  root.replaceChildren(header, h('div', { class: 'workspace' }, sidebar.el, main));
  sidebar.render();
  void setPane('overview', null);

  // --- keys and events ---------------------------------------------------------------------

  const onKey = (ev: KeyboardEvent): void => {
    const mod = ev.ctrlKey || ev.metaKey;
    if (mod && !ev.altKey && !ev.shiftKey && (ev.key === 'k' || ev.key === 'K' || ev.key === 'p' || ev.key === 'P')) {
      ev.preventDefault();
      searchBox.focus();
    }
  };
  document.addEventListener('keydown', onKey);
  unlisten.push(() => document.removeEventListener('keydown', onKey));

  const subscribe = (what: string, p: Promise<() => void>): void => {
    p.then((f) => unlisten.push(f)).catch((e: unknown) => showError(e, `Could not follow ${what}`));
  };
  subscribe(
    'changes from other devices',
    onDocsChanged((ids) => {
      void refresh().then(() => pane?.docsChanged?.(ids));
    }),
  );
  subscribe('the sync status', onSyncChanged(() => void sync.refresh()));
  void sync.refresh();

  return () => {
    for (const f of unlisten) f();
    void pane?.destroy();
  };
}
