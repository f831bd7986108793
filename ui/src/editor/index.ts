// The note editor: a toolbar and a Quill 2 editor over the note's own Loro replica,
// kept in step with the store by sync.ts.
//
// Usage (the app views): `const ed = await mountNoteEditor(el, id, { onError })`, then
// `await ed.destroy()` before showing another note (it saves what is left).
// Code that edits through `ed.quill` must pass source 'user' (Quill's default is 'api',
// which the binding treats as its own echo and does not save).

import { LoroDoc } from 'loro-crdt';
import Quill, { Delta } from 'quill/core';
import Toolbar from 'quill/modules/toolbar.js';
import Header from 'quill/formats/header.js';
import List from 'quill/formats/list.js';
import Blockquote from 'quill/formats/blockquote.js';
import CodeBlock, { Code } from 'quill/formats/code.js';
import Bold from 'quill/formats/bold.js';
import Italic from 'quill/formats/italic.js';
import Link from 'quill/formats/link.js';
import Indent from 'quill/formats/indent.js';
import Embed from 'quill/blots/embed.js';
import 'quill/dist/quill.core.css';
import './editor.css';
import { ApiError, openNote } from '../api';
import { QUILL_FORMATS, SOFT_BREAK_EMBED } from './attrs';
import { BODY, bind, configureNoteDoc } from './binding';
import { NoteSync, apiStore, type NoteStore, type SaveState } from './sync';

export { bind, configureNoteDoc } from './binding';
export { NoteSync } from './sync';

/** What `mountNoteEditor` returns. */
export interface NoteEditor {
  /** Saves what is left and removes the editor; settles like `flush`. */
  destroy(): Promise<void>;
  /** Resolves once every edit so far is in the store; rejects if a save failed (it is retried). */
  flush(): Promise<void>;
  /** Settles once the editor shows the whole note (a long one is shown in steps). */
  loaded: Promise<void>;
  quill: Quill;
}

export interface MountOptions {
  onError?(e: ApiError): void;
  /** Not the note the user sees (the warm-up): not `window.__weftEditor`, no marks. */
  hidden?: boolean;
}

declare global {
  interface Window {
    /** The mounted editor, for benchmarks and WebDriver tests. */
    __weftEditor?: { quill: Quill; doc: LoroDoc };
  }
}

/** The part of api.ts the editor needs, with `openNote` (tests pass a fake). */
export type EditorStore = NoteStore & { openNote(id: string): Promise<Uint8Array> };

/** A line break inside a block (U+2028 in the note, attrs.ts): a <br> in an embed, so
 *  that it takes one position, as the character does in Loro. Quill's Embed puts guard
 *  text nodes on both sides, where the cursor can stand, and one after a break at the
 *  end of a line gives the line the browser would otherwise collapse. */
class SoftBreak extends Embed {
  static override blotName = SOFT_BREAK_EMBED;
  static override tagName = 'SPAN';
  static override className = 'ql-softbreak';

  static override create(): HTMLElement {
    const node = super.create() as HTMLElement;
    node.appendChild(document.createElement('br'));
    return node;
  }

  static override value(): boolean {
    return true;
  }
}

/** A code block line that keeps its language (`data-language`), as Quill's syntax module
 *  does but without highlight.js: Quill's plain code block reports `true`, which would
 *  make every new line of a `rust` block a line of a new block without language. */
class LangCodeBlock extends CodeBlock {
  static override create(value: unknown): HTMLElement {
    const node = super.create(value) as HTMLElement;
    if (typeof value === 'string' && value !== '' && value !== 'plain') node.setAttribute('data-language', value);
    return node;
  }

  static override formats(node: HTMLElement): string {
    return node.getAttribute('data-language') || 'plain';
  }

  override format(name: string, value: unknown): void {
    if (name === this.statics.blotName && value) {
      const node = this.domNode as HTMLElement;
      if (typeof value === 'string' && value !== 'plain') node.setAttribute('data-language', value);
      else node.removeAttribute('data-language');
    } else {
      super.format(name, value);
    }
  }
}

/** A link that reports the URL as stored: Quill's own reads back the sanitized `href`,
 *  so a relative or `weft:` link would be saved as `about:blank` once copied. The
 *  `href` the webview sees stays sanitized. */
class NoteLink extends Link {
  static override create(value: string): HTMLElement {
    const node = super.create(value);
    node.setAttribute('data-href', value);
    return node;
  }

  static override formats(node: HTMLElement): string | null {
    return node.getAttribute('data-href') ?? node.getAttribute('href');
  }

  override format(name: string, value: unknown): void {
    super.format(name, value);
    if (name === this.statics.blotName && typeof value === 'string' && value !== '') {
      (this.domNode as HTMLElement).setAttribute('data-href', value);
    }
  }
}

// A soft break may sit on a line that becomes code (another device's edit): Quill's
// code block would otherwise refuse the embed and throw.
LangCodeBlock.allowedChildren = [...(CodeBlock.allowedChildren ?? []), SoftBreak];

let registered = false;
/** Registers the note formats with Quill (once); `mountNoteEditor` does it itself. */
export function registerFormats(): void {
  if (registered) return;
  registered = true;
  Quill.register(
    {
      'modules/toolbar': Toolbar,
      'formats/header': Header,
      'formats/list': List,
      'formats/blockquote': Blockquote,
      'formats/code-block': LangCodeBlock,
      'formats/code': Code,
      'formats/bold': Bold,
      'formats/italic': Italic,
      'formats/link': NoteLink,
      'formats/indent': Indent,
      'formats/softbreak': SoftBreak,
    },
    true,
  );
}

const TOOLBAR = `
<select class="ql-header" aria-label="Text style" title="Text style">
  <option value="1">Heading 1</option>
  <option value="2">Heading 2</option>
  <option value="3">Heading 3</option>
  <option value="4">Heading 4</option>
  <option value="5">Heading 5</option>
  <option value="6">Heading 6</option>
  <option selected>Text</option>
</select>
<span class="weft-tb-group">
  <button type="button" class="ql-bold" aria-label="Bold" title="Bold (Ctrl+B)"><b>B</b></button>
  <button type="button" class="ql-italic" aria-label="Italic" title="Italic (Ctrl+I)"><i>I</i></button>
  <button type="button" class="ql-code" aria-label="Inline code" title="Inline code (Ctrl+E)"><code>&lt;/&gt;</code></button>
  <button type="button" class="ql-link" aria-label="Link" title="Link (Ctrl+K)">Link</button>
</span>
<span class="weft-tb-group">
  <button type="button" class="ql-list" value="bullet" aria-label="Bulleted list" title="Bulleted list (- )">&#8226; List</button>
  <button type="button" class="ql-list" value="ordered" aria-label="Numbered list" title="Numbered list (1. )">1. List</button>
  <button type="button" class="ql-list" value="unchecked" aria-label="Task list" title="Task list ([ ] )">&#9744; Tasks</button>
</span>
<span class="weft-tb-group">
  <button type="button" class="ql-blockquote" aria-label="Quote" title="Quote (&gt; )">&#10077; Quote</button>
  <button type="button" class="ql-code-block" aria-label="Code block" title="Code block (\`\`\`)">{ } Code</button>
</span>
<form class="weft-link-form" hidden>
  <input type="text" inputmode="url" name="url" placeholder="https://…" aria-label="Link address" autocomplete="off" spellcheck="false">
  <button type="submit">Apply</button>
  <button type="button" data-action="unlink">Remove</button>
</form>`;

/** Turns `prefix` at the start of a line into line `format`, as Quill's own list autofill. */
function autofill(quill: Quill, index: number, prefixLength: number, format: Record<string, unknown>): void {
  const [line, offset] = quill.getLine(index);
  if (!line) return;
  quill.insertText(index, ' ', 'user');
  quill.history.cutoff();
  const delta = new Delta()
    .retain(index - offset)
    .delete(prefixLength + 1)
    .retain(line.length() - 2 - prefixLength)
    .retain(1, format);
  quill.updateContents(delta, 'user');
  quill.history.cutoff();
  quill.setSelection(index - prefixLength, 'silent');
}

interface Ctx {
  prefix: string;
  format: Record<string, unknown>;
}

function keyBindings(quillRef: () => Quill, openLink: () => void) {
  const toggleCode = (_range: unknown, ctx: Ctx) => {
    quillRef().format('code', !ctx.format['code'], 'user');
    return false;
  };
  return {
    // Not a note format (the Loro encoding has no underline). Handled as a no-op rather
    // than dropped, so that WebKit's own Ctrl+U does not put a <u> into the text.
    underline: { key: 'u', shortKey: true, handler: () => false },
    'weft heading autofill': {
      key: ' ',
      shiftKey: null,
      collapsed: true,
      format: { 'code-block': false },
      prefix: /^#{1,6}$/,
      handler(range: { index: number }, ctx: Ctx) {
        const level = ctx.prefix.length;
        autofill(quillRef(), range.index, level, { header: level });
        return false;
      },
    },
    'weft quote autofill': {
      key: ' ',
      shiftKey: null,
      collapsed: true,
      format: { 'code-block': false, list: false },
      prefix: /^>$/,
      handler(range: { index: number }) {
        autofill(quillRef(), range.index, 1, { blockquote: true });
        return false;
      },
    },
    'weft code fence': {
      key: 'Enter',
      collapsed: true,
      format: { 'code-block': false },
      prefix: /^```[\w+#.-]*$/,
      suffix: /^$/,
      handler(range: { index: number }, ctx: Ctx) {
        const quill = quillRef();
        const lang = ctx.prefix.slice(3);
        const start = range.index - ctx.prefix.length;
        quill.deleteText(start, ctx.prefix.length, 'user');
        quill.formatLine(start, 1, 'code-block', lang === '' ? 'plain' : lang, 'user');
        quill.setSelection(start, 'silent');
        return false;
      },
    },
    // Shift+Enter: a line break inside the block (U+2028), as note.rs encodes it. In a
    // code block it is Enter: every code line is its own line there.
    'weft soft break': {
      key: 'Enter',
      shiftKey: true,
      format: { 'code-block': false },
      handler(range: { index: number; length: number }) {
        const quill = quillRef();
        if (range.length > 0) quill.deleteText(range.index, range.length, 'user');
        quill.insertEmbed(range.index, SOFT_BREAK_EMBED, true, 'user');
        quill.setSelection(range.index + 1, 'silent');
        return false;
      },
    },
    'weft inline code': { key: 'e', shortKey: true, handler: toggleCode },
    'weft inline code backtick': { key: '`', shortKey: true, handler: toggleCode },
    'weft link': {
      key: 'k',
      shortKey: true,
      handler() {
        openLink();
        return false;
      },
    },
  };
}

/** The link form of the toolbar: Ctrl+K or the Link button. */
function linkForm(form: HTMLFormElement, quillRef: () => Quill) {
  const input = form.querySelector('input') as HTMLInputElement;
  let saved: { index: number; length: number } | null = null;

  /** The whole link around a collapsed cursor, if any. */
  const linkAround = (quill: Quill, index: number): { index: number; length: number } | null => {
    const [leaf] = quill.getLeaf(index);
    let blot = leaf?.parent;
    while (blot && blot.statics.blotName !== 'link' && blot !== quill.scroll) blot = blot.parent;
    if (!blot || blot === quill.scroll) return null;
    return { index: quill.getIndex(blot), length: blot.length() };
  };

  const close = () => {
    form.hidden = true;
    const quill = quillRef();
    if (saved) quill.setSelection(saved.index, saved.length, 'silent');
    saved = null;
    quill.focus();
  };

  const apply = (url: string) => {
    const quill = quillRef();
    const range = saved;
    if (!range) return;
    const target = range.length > 0 ? range : linkAround(quill, range.index);
    if (url === '') {
      if (target) quill.formatText(target.index, target.length, 'link', false, 'user');
    } else if (target) {
      quill.formatText(target.index, target.length, 'link', url, 'user');
    } else {
      quill.insertText(range.index, url, { link: url }, 'user');
      saved = { index: range.index + url.length, length: 0 };
    }
    close();
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply(input.value.trim());
  });
  form.querySelector('[data-action="unlink"]')?.addEventListener('click', () => apply(''));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
    }
  });

  return () => {
    const quill = quillRef();
    saved = quill.getSelection(true);
    const current = quill.getFormat(saved)['link'];
    input.value = typeof current === 'string' ? current : '';
    form.hidden = false;
    input.focus();
    input.select();
  };
}

/** Builds the editor for note `id` in `container` (emptied first). */
export async function mountNoteEditor(
  container: HTMLElement,
  id: string,
  opts: MountOptions = {},
): Promise<NoteEditor> {
  return mountNoteEditorWith({ ...apiStore, openNote }, container, id, opts);
}

/** `mountNoteEditor` over another store (tests, benchmarks). */
export async function mountNoteEditorWith(
  store: EditorStore,
  container: HTMLElement,
  id: string,
  opts: MountOptions = {},
): Promise<NoteEditor> {
  // `weft:editor:*` performance marks time each step of opening a note for
  // ui/bench/window.mjs (a mark costs microseconds; the bench reads them back).
  const mark = (name: string, detail?: unknown): void => {
    if (!opts.hidden) performance.mark(`weft:editor:${name}`, detail === undefined ? undefined : { detail });
  };
  mark('open');
  registerFormats();
  // The store reads the note while Quill is built: the round trip overlaps with it.
  const snapshotP = store.openNote(id);
  snapshotP.catch(() => {}); // awaited below; not an unhandled rejection meanwhile

  // Built detached and attached once it shows the note: Quill's first render of the
  // text then touches no live DOM.
  const root = document.createElement('div');
  root.className = 'weft-editor';
  root.dataset['saveState'] = 'saved';
  const toolbar = document.createElement('div');
  toolbar.className = 'weft-toolbar';
  toolbar.setAttribute('role', 'toolbar');
  toolbar.setAttribute('aria-label', 'Formatting');
  toolbar.innerHTML = TOOLBAR;
  const banner = document.createElement('div');
  banner.className = 'weft-editor-error';
  banner.setAttribute('role', 'alert');
  banner.hidden = true;
  const body = document.createElement('div');
  body.className = 'weft-editor-body';
  root.append(toolbar, banner, body);

  const report = (e: ApiError) => {
    banner.textContent = `Not saved yet (retrying): ${e.message}`;
    banner.hidden = false;
    if (opts.onError) opts.onError(e);
    else console.error('note editor:', e);
  };

  let quill: Quill | undefined;
  const quillRef = () => quill as Quill;
  const openLink = linkForm(toolbar.querySelector('form') as HTMLFormElement, quillRef);
  quill = new Quill(body, {
    formats: [...QUILL_FORMATS],
    placeholder: 'Write…',
    modules: {
      toolbar: { container: toolbar, handlers: { link: openLink } },
      // Undo only the user's own edits; remote changes move the undo stack instead.
      history: { userOnly: true },
      keyboard: { bindings: keyBindings(quillRef, openLink) },
    },
  });
  quill.root.setAttribute('data-testid', 'note-editor');
  quill.root.setAttribute('aria-label', 'Note');
  mark('quill');

  const snapshot = await snapshotP;
  mark('ipc', { bytes: snapshot.length });
  const doc = configureNoteDoc(new LoroDoc());
  try {
    doc.import(snapshot);
  } catch (e) {
    throw new ApiError('note_import', `cannot read the note: ${String(e)}`);
  }
  mark('import');

  const binding = bind(quill, doc, {
    onError: (e) => report(new ApiError('note_edit', `an edit could not be applied: ${String(e)}`)),
    unmarked: opts.hidden === true,
  });
  container.replaceChildren(root);
  const sync = new NoteSync(id, doc, {
    store,
    importUpdate: (bytes) => {
      binding.flush();
      doc.import(bytes);
    },
    onError: report,
    onState: (s: SaveState) => {
      root.dataset['saveState'] = s;
      if (s === 'saved') banner.hidden = true;
    },
  });

  const flush = async () => {
    binding.flush();
    await sync.flush();
  };
  // Errors reach `report`; these callers have nobody to hand a rejection to.
  const flushQuietly = () => void flush().catch(() => {});
  const onHidden = () => {
    if (document.visibilityState === 'hidden') flushQuietly();
  };
  quill.root.addEventListener('blur', flushQuietly);
  window.addEventListener('beforeunload', flushQuietly);
  window.addEventListener('pagehide', flushQuietly);
  document.addEventListener('visibilitychange', onHidden);

  try {
    await sync.start();
  } catch (e) {
    report(e instanceof ApiError ? e : new ApiError('ipc', String(e)));
  }

  const mounted = { quill, doc };
  if (!opts.hidden) window.__weftEditor = mounted;
  mark('mounted');
  const q = quill;
  let destroyed: Promise<void> | undefined;
  return {
    quill: q,
    flush,
    loaded: binding.loaded,
    destroy() {
      destroyed ??= (async () => {
        q.root.removeEventListener('blur', flushQuietly);
        window.removeEventListener('beforeunload', flushQuietly);
        window.removeEventListener('pagehide', flushQuietly);
        document.removeEventListener('visibilitychange', onHidden);
        binding.destroy();
        if (window.__weftEditor === mounted) delete window.__weftEditor;
        q.disable();
        try {
          await sync.close();
        } finally {
          root.remove();
        }
      })();
      return destroyed;
    },
  };
}

/**
 * Runs the editor twice over a note of its own, detached and thrown away: once typing
 * formatted text into it, once opening what that saved. JavaScriptCore
 * compiles Quill's, the binding's and Loro's WebAssembly code on first use, which made
 * the first note opened after start about twice as slow as the ones after it. The
 * warm-up reads and writes nothing in the workspace: its store is the `sample` below.
 * Resolves to the text the second editor showed (the first one's typing, if both ran).
 */
export async function warmUp(): Promise<string> {
  const sample = configureNoteDoc(new LoroDoc());
  // A history of a few thousand small edits with marks, as a note that was typed has:
  // enough for JavaScriptCore to compile the hot WebAssembly loops in their optimized
  // tier, not only once each.
  const body = sample.getText(BODY);
  for (let p = 0; p < 40; p++) {
    for (let i = 0; i < 60; i++) body.insert(body.length, i % 12 === 11 ? ' ' : 'w');
    body.insert(body.length, '\n');
    body.mark({ start: body.length - 20, end: body.length - 10 }, 'bold', true);
    sample.commit();
  }
  const store: EditorStore = {
    openNote: async () => sample.export({ mode: 'snapshot' }),
    saveNoteUpdate: async (_id, update) => {
      sample.import(update);
    },
    noteUpdatesSince: async () => new Uint8Array(),
    onDocsChanged: async () => () => {},
  };
  const opts: MountOptions = { hidden: true, onError: () => {} };
  const first = await mountNoteEditorWith(store, document.createElement('div'), 'warm-up', opts);
  try {
    first.quill.updateContents(
      new Delta()
        .insert('Warm up')
        .insert('\n', { header: 1 })
        .insert('bold', { bold: true })
        .insert(' and ')
        .insert('italic', { italic: true })
        .insert(' and ')
        .insert('code', { code: true })
        .insert(' and a ')
        .insert('link', { link: 'https://example.org' })
        .insert('\nan item')
        .insert('\n', { list: 'bullet' })
        .insert('a quote')
        .insert('\n', { blockquote: true })
        .insert('let x = 1;')
        .insert('\n', { 'code-block': 'rust' }),
      'user',
    );
  } finally {
    // Saves the typing into `sample` and removes the editor's listeners and timers.
    await first.destroy();
  }
  const second = await mountNoteEditorWith(store, document.createElement('div'), 'warm-up', opts);
  try {
    await second.loaded;
    return second.quill.getText();
  } finally {
    await second.destroy();
  }
}
