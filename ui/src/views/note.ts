// The main pane for a note: its header and the editor (../editor, its own module,
// which keeps its own replica of the note and follows remote changes itself).
import './document.css';
import type { DocSummary } from '../api';
import type { NoteEditor } from '../editor';
import { h } from '../dom';
import type { App, OpenOptions } from './app';
import { docHeader, setHistoryOpen } from './doc-header';
import { historyPanel, type HistoryPanel } from './history';
import { mayTakeFocus, type Pane } from './pane';
import { alertBox } from './toast';

// Not in the start-up bundle: the editor brings Quill and Loro's WebAssembly, which
// the first paint does not need (preloadEditor loads it after). One import for every caller: WebKit resolves a second `import()` of a module whose
// top-level await (Loro's WebAssembly) is still pending before the module has run,
// and its exports then throw "Cannot access uninitialized variable" (the preload
// below and a click on a note, a moment apart). A failed load is retried next time.
let editorModule: Promise<typeof import('../editor')> | null = null;
async function loadEditor(): Promise<typeof import('../editor')> {
  editorModule ??= import('../editor').catch((e: unknown) => {
    editorModule = null;
    throw e;
  });
  return editorModule;
}

/**
 * Loads the editor module and warms it up (editor/index.ts `warmUp`) once the window is
 * idle after its first paint, so that the first note opened is about as quick as the
 * ones after it: loading the module and compiling Loro's WebAssembly took about 250 ms
 * of the first open, and the first run of the code as much again. A failure is not
 * shown here: the note that needs the editor loads it again and shows why it failed.
 */
export function preloadEditor(): void {
  const load = (): void => {
    loadEditor()
      .then((editor) => editor.warmUp())
      .then(() => performance.mark('weft:preload:editor'))
      .catch(() => undefined);
  };
  if (typeof window.requestIdleCallback === 'function') window.requestIdleCallback(load, { timeout: 2000 });
  else setTimeout(load, 500);
}

export interface DocPaneOptions extends OpenOptions {
  /** Open the History panel at once (after a restore reopened the document). */
  history?: boolean;
}

/** Shared by the note and record panes: the header and the History panel beside the body. */
export function docFrame(
  app: App,
  doc: DocSummary,
  body: HTMLElement,
  opts: DocPaneOptions,
  beforeRestore?: () => Promise<void>,
) {
  let panel: HistoryPanel | null = null;
  const side = h('div', { class: 'doc-side' });
  const toggleHistory = (): void => {
    if (panel) {
      panel.el.remove();
      panel = null;
    } else {
      panel = historyPanel(
        doc,
        () => app.reopen({ history: true }),
        () => toggleHistory(),
        beforeRestore,
      );
      side.append(panel.el);
    }
    setHistoryOpen(header, panel !== null);
  };
  const header = docHeader(app, doc, toggleHistory);
  const el = h(
    'article',
    { class: `doc-pane ${doc.kind}`, 'data-testid': `${doc.kind}-pane`, 'data-id': doc.id },
    h('div', { class: 'doc-main' }, header.el, body),
    side,
  );
  if (opts.history) toggleHistory();
  return {
    el,
    header,
    refreshHistory: () => panel?.refresh(),
  };
}

export function notePane(app: App, doc: DocSummary, opts: DocPaneOptions = {}): Pane {
  const host = h('div', { class: 'editor-host', 'data-testid': 'editor' });
  const body = h('div', { class: 'note-body' }, host);
  let editor: NoteEditor | null = null;
  const frame = docFrame(app, doc, body, opts, async () => {
    await editor?.flush();
  });
  let destroyed = false;

  const mounting = (async () => {
    try {
      const mod = await loadEditor();
      // The editor shows its own errors above the text (a banner that clears once
      // the edit is saved), so none are repeated here.
      const ed = await mod.mountNoteEditor(host, doc.id);
      if (destroyed) {
        await ed.destroy();
        return;
      }
      editor = ed;
      // A new note: the caret goes into its body, so typing starts the text.
      if (opts.focus && mayTakeFocus()) ed.quill.focus();
    } catch (e) {
      host.replaceChildren(alertBox(e));
    }
  })();

  return {
    el: frame.el,
    docId: doc.id,
    docsUpdated() {
      const next = app.doc(doc.id);
      if (next) frame.header.update(next);
    },
    docsChanged(ids) {
      if (ids.includes(doc.id)) {
        void frame.header.refreshHolders();
        void frame.refreshHistory();
      }
    },
    async destroy() {
      destroyed = true;
      frame.header.destroy();
      await mounting;
      const ed = editor;
      editor = null;
      if (ed) await ed.destroy();
    },
  };
}
