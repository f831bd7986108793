// Test helpers for the views (happy-dom): a fake App over a fixed document list.
import type { DocSummary } from '../api';
import type { App, SyncState } from './app';

export function docSummary(title: string, folder: string[] = [], kind: DocSummary['kind'] = 'note', id?: string): DocSummary {
  const t = '2026-11-01T10:00:00.000Z';
  return {
    id: id ?? `${title}-${folder.join('.')}`,
    kind,
    title,
    folder,
    path: [...folder, title].join('/'),
    deleted: false,
    updated: t,
    updated_ms: Date.parse(t),
  };
}

export interface FakeApp extends App {
  opened: (string | null)[];
  failures: { error: unknown; context: string | undefined }[];
  setDocs(docs: DocSummary[], folders?: string[][]): void;
}

export function fakeApp(docs: DocSummary[] = [], folders: string[][] = []): FakeApp {
  let all = docs;
  let paths = folders;
  let openId: string | null = null;
  const state: SyncState = { status: null, error: null };
  const app: FakeApp = {
    workspace: { state: 'open', home: '/tmp/home', name: 'Test', device: 'me' },
    opened: [],
    failures: [],
    setDocs(d, f = paths) {
      all = d;
      paths = f;
    },
    docs: () => all.filter((d) => !d.deleted),
    allDocs: () => all,
    folders: () => paths,
    doc: (id) => all.find((d) => d.id === id),
    openId: () => openId,
    open: async (id) => {
      openId = id;
      app.opened.push(id);
    },
    showTrash: async () => {},
    refresh: async () => {},
    reopen: async () => {},
    startCreate: () => {},
    fail: (error, context) => {
      app.failures.push({ error, context });
    },
    sync: {
      current: state,
      subscribe: () => () => {},
      refresh: async () => {},
    },
  };
  return app;
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

export function key(el: Element, k: string, extra: KeyboardEventInit = {}): void {
  el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...extra }));
}
