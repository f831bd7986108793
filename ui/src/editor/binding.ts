// Two-way binding between a Quill 2 editor and a note's Loro document.
//
// Quill → Loro: every `text-change` with source 'user' is mapped (attrs.ts) and applied
// with `LoroText.applyDelta`, then committed. Loro → Quill: every Loro event that this
// binding did not cause itself (imports from the store, or another local writer) is
// mapped and applied with `quill.updateContents(…, 'api')`, which shifts the user's
// selection over the change instead of resetting it.
//
// The one race: the user's last keystrokes may still sit in the DOM, not yet read by
// Quill (it reads DOM mutations in a MutationObserver, so a microtask later), when a
// remote change lands in Loro. Quill reads them first thing in `updateContents` and
// would report them relative to its old text, which Loro no longer has. So a remote
// change is held as `pending` (relative to what Quill shows) while Quill is flushed;
// any user delta arriving meanwhile is transformed against it (quill-delta's operational
// transform) before it goes to Loro, and `pending` against the user delta before it goes
// to Quill. Both sides then hold the same text. During an IME composition `pending`
// waits for the composition to end (applying it would end Quill's composition batch
// early and lose the composed text).
//
// Echo: our own Loro commits carry the origin EDITOR_ORIGIN and happen inside `applying`;
// their events are ignored. Our updates to Quill use source 'api', and only 'user'
// changes are read back.
//
// Invariant: Quill's text is the Loro text, plus a final '\n' when the Loro text does
// not end with one (Quill always ends with a line terminator; Loro's `applyDelta` pads
// with '\n' when Quill formats that implicit last line).
//
// A long note is shown in steps (`progressive`): the first lines at once, so that the
// window paints the top of the note early, and the rest a chunk of lines per later task
// (laying out 100k characters costs WebKit ~200 ms, and Quill's setContents as much
// again). While it loads, Quill shows a prefix of the note, Loro[0, quill.getLength()):
// the user's edits land inside that prefix, at the same positions in both, so the next
// chunk is always Loro[quill.getLength(), …). A remote change during the load waits in
// `pending`, and the load then ends with `resync` (a diff against the whole text).

import type { LoroDoc, LoroEventBatch, LoroText, TextDiff } from 'loro-crdt';
import Quill, { Delta } from 'quill/core';
import { SOFT_BREAK, configureNoteDoc, loroDeltaToQuill, quillDeltaToLoro, type DeltaOp } from './attrs';

/** The root LoroText of a note (note.rs `BODY`). */
export const BODY = 'body';

/** Origin of the binding's own Loro commits. */
export const EDITOR_ORIGIN = 'weft-editor';

export { configureNoteDoc };

/** How a long note is shown: `first` UTF-16 units (to the end of their line) at once,
 *  then `chunk` more per task. */
export interface Progressive {
  first: number;
  chunk: number;
}

/** About two screenfuls of prose first; the rest in steps of a few tens of ms each. */
export const PROGRESSIVE: Progressive = { first: 6_000, chunk: 24_000 };

export interface BindOptions {
  /** A Loro edit or import could not be mirrored; the binding resynchronised Quill. */
  onError?(e: unknown): void;
  /** How a long note is loaded into Quill (default PROGRESSIVE); `false`: all at once. */
  progressive?: Progressive | false;
  /** Leave no `weft:editor:*` performance marks (the warm-up, index.ts). */
  unmarked?: boolean;
}

export interface Binding {
  /** Reads pending DOM edits into Quill and so into Loro. Call before `doc.import`. */
  flush(): void;
  /** Makes Quill show exactly the Loro text again (a diff, so the selection survives). */
  resync(): void;
  /** Stops mirroring in both directions. */
  destroy(): void;
  /** Settles once Quill shows the whole note (at once for a short one), or on destroy. */
  readonly loaded: Promise<void>;
}

/** End (exclusive) of the line holding position `at` of `s`: after its '\n', or the end. */
function lineEnd(s: string, at: number): number {
  if (at >= s.length) return s.length;
  const nl = s.indexOf('\n', Math.max(0, at));
  return nl === -1 ? s.length : nl + 1;
}

/** Runs `f` once the next frame is painted: in a task queued from the frame after it,
 *  so that nothing else queued by the painted frame waits behind `f`; or after `ms` if
 *  no frame comes (a hidden window does not paint). */
function afterPaint(f: () => void, ms = 500): void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    f();
  };
  if (typeof requestAnimationFrame === 'function') {
    requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(once, 0)));
  }
  setTimeout(once, ms);
}

type QuillDelta = InstanceType<typeof Delta>;

/** Quill's expected content for a Loro text (see the invariant above). */
export function quillContentsOf(text: LoroText): QuillDelta {
  const d = new Delta(loroDeltaToQuill(text.toDelta() as DeltaOp[]));
  if (!text.toString().endsWith('\n')) d.insert('\n');
  return d;
}

export function bind(quill: Quill, doc: LoroDoc, opts: BindOptions = {}): Binding {
  const mark = (name: string): void => {
    if (!opts.unmarked) performance.mark(`weft:editor:${name}`);
  };
  configureNoteDoc(doc);
  const text = doc.getText(BODY);
  const textId = text.id;
  /** True while this binding writes to Loro: those events are our own. */
  let applying = false;
  /** A Loro change not shown by Quill yet, relative to what Quill shows. */
  let pending: QuillDelta | null = null;
  let destroyed = false;
  /** Quill shows only a prefix of the note yet (see the header). */
  let loading = false;
  let markLoaded: () => void = () => {};
  const loaded = new Promise<void>((resolve) => {
    markLoaded = resolve;
  });
  const finishLoading = () => {
    if (!loading) return;
    loading = false;
    mark('loaded');
    markLoaded();
  };

  const report = (e: unknown) => {
    if (opts.onError) opts.onError(e);
    else console.error('note editor:', e);
  };

  const resync = () => {
    // The diff below is taken against the whole Loro text, which includes `pending`.
    quill.update('user');
    pending = null;
    finishLoading();
    const want = quillContentsOf(text);
    const diff = quill.getContents().diff(want);
    if (diff.ops.length > 0) quill.updateContents(diff, 'api');
  };

  const endsWithNewline = () => text.length > 0 && text.charAt(text.length - 1) === '\n';
  const loroLength = () => text.length + (endsWithNewline() ? 0 : 1);

  const onTextChange = (delta: QuillDelta, _old: QuillDelta, source: string) => {
    if (source !== 'user' || destroyed) return;
    let local = delta;
    if (pending) {
      // `pending` is already in Loro, not in Quill: move the user's edit past it,
      // and `pending` past the user's edit (remote first at equal positions).
      local = pending.transform(delta, true);
      pending = delta.transform(pending, false);
    }
    const ops = quillDeltaToLoro(local.ops as DeltaOp[]);
    if (ops.length === 0) return;
    applying = true;
    try {
      text.applyDelta(ops as Parameters<LoroText['applyDelta']>[0]);
      doc.commit({ origin: EDITOR_ORIGIN });
    } catch (e) {
      report(e);
      // Whatever Loro refused is not in the note: show the note as it is.
      queueMicrotask(() => !destroyed && resync());
    } finally {
      applying = false;
    }
    // Pasted text may hold U+2028 as a character: Loro has the right text already, but
    // Quill shows the break only as its embed.
    if (local.ops.some((op) => typeof op.insert === 'string' && op.insert.includes(SOFT_BREAK))) {
      queueMicrotask(() => !destroyed && resync());
    }
  };

  /** Shows `pending` in Quill, unless an IME composition is open. */
  function drain() {
    if (!pending || destroyed || loading || quill.composition.isComposing) return;
    // Read the DOM first: a user delta found now is transformed in onTextChange.
    quill.update('user');
    const change = pending;
    pending = null;
    if (change.ops.length > 0) quill.updateContents(change, 'api');
    if (quill.getLength() !== loroLength()) {
      report(new Error('editor out of step with the note; reloaded its text'));
      resync();
    }
  }

  const onLoro = (batch: LoroEventBatch) => {
    // Our own commits: `applying` covers the usual case; the origin covers a commit made
    // while handling another Loro event (the transformed user edit in `drain`), whose
    // event Loro delivers only after the outer handler returns.
    if (applying || destroyed || batch.by === 'checkout') return;
    if (batch.by === 'local' && batch.origin === EDITOR_ORIGIN) return;
    for (const ev of batch.events) {
      if (ev.target !== textId || ev.diff.type !== 'text') continue;
      // Positions of a retain point into the text after the change: exactly the
      // current state, since Loro delivers events synchronously after each import.
      const mapped = new Delta(
        loroDeltaToQuill((ev.diff as TextDiff).diff as DeltaOp[], (s, e) => text.sliceDelta(s, e) as DeltaOp[]),
      );
      pending = pending ? pending.compose(mapped) : mapped;
    }
    drain();
  };

  const onCompositionEnd = () => queueMicrotask(drain);

  const progressive = opts.progressive ?? PROGRESSIVE;

  /** Appends the next chunk of the note to Quill; schedules itself until all is shown. */
  const loadNext = () => {
    if (destroyed || !loading) return;
    try {
      if (quill.composition.isComposing) {
        setTimeout(loadNext, 50); // appending would end the composition early
        return;
      }
      // Typing not yet read from the DOM goes to Loro first; it is inside the prefix.
      quill.update('user');
      if (!loading) return; // that edit ended the load (a resync)
      if (pending) {
        resync(); // a remote change arrived: show the whole note by a diff
        return;
      }
      const s = text.toString();
      const from = quill.getLength();
      const to = progressive ? lineEnd(s, from + progressive.chunk - 1) : s.length;
      const part = new Delta(loroDeltaToQuill(text.sliceDelta(from, to) as DeltaOp[]));
      if (to === s.length && !s.endsWith('\n')) part.insert('\n');
      // After Quill's last '\n', which ends the prefix's last line: new lines follow it.
      // Quill's own setContents path (whole blocks built at once), not updateContents,
      // which inserts op by op and costs several times as much for a chunk of lines. It
      // emits no text-change: nothing listens for the load (the binding ignores 'api'
      // changes, and the undo stack only holds edits inside the prefix).
      quill.editor.insertContents(from, part);
      if (to < s.length) {
        setTimeout(loadNext, 0);
        return;
      }
      finishLoading();
      if (quill.getLength() !== loroLength()) {
        report(new Error('editor out of step with the note after loading; reloaded its text'));
        resync();
      }
    } catch (e) {
      report(e);
      resync();
    }
  };

  // The first load, step by step for the `weft:editor:*` marks (see index.ts). Reading
  // the text as a string is cheap; the first delta makes Loro build its rich-text state
  // from the snapshot, which for a long history is most of the cost of opening a note.
  const s = text.toString();
  const cut = progressive && s.length > progressive.first ? lineEnd(s, progressive.first - 1) : s.length;
  const loroDelta = (cut < s.length ? text.sliceDelta(0, cut) : text.toDelta()) as DeltaOp[];
  mark('toDelta');
  const initial = new Delta(loroDeltaToQuill(loroDelta));
  if (cut === s.length && !s.endsWith('\n')) initial.insert('\n');
  mark('map');
  quill.setContents(initial, 'api');
  mark('setContents');
  // Loading is not an edit: Ctrl+Z must not empty the note.
  quill.history.clear();
  quill.on('text-change', onTextChange);
  quill.on('composition-end' as 'text-change', onCompositionEnd);
  const unsubscribe = doc.subscribe(onLoro);
  if (cut < s.length) {
    loading = true;
    afterPaint(loadNext);
  } else {
    markLoaded();
  }

  return {
    loaded,
    flush() {
      if (!destroyed) quill.update('user');
    },
    resync,
    destroy() {
      if (destroyed) return;
      quill.update('user');
      destroyed = true;
      quill.off('text-change', onTextChange);
      quill.off('composition-end' as 'text-change', onCompositionEnd);
      unsubscribe();
      markLoaded();
    },
  };
}
