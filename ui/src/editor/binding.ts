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

import type { LoroDoc, LoroEventBatch, LoroText, TextDiff } from 'loro-crdt';
import Quill, { Delta } from 'quill/core';
import { SOFT_BREAK, configureNoteDoc, loroDeltaToQuill, quillDeltaToLoro, type DeltaOp } from './attrs';

/** The root LoroText of a note (note.rs `BODY`). */
export const BODY = 'body';

/** Origin of the binding's own Loro commits. */
export const EDITOR_ORIGIN = 'weft-editor';

export { configureNoteDoc };

export interface BindOptions {
  /** A Loro edit or import could not be mirrored; the binding resynchronised Quill. */
  onError?(e: unknown): void;
}

export interface Binding {
  /** Reads pending DOM edits into Quill and so into Loro. Call before `doc.import`. */
  flush(): void;
  /** Makes Quill show exactly the Loro text again (a diff, so the selection survives). */
  resync(): void;
  /** Stops mirroring in both directions. */
  destroy(): void;
}

type QuillDelta = InstanceType<typeof Delta>;

/** Quill's expected content for a Loro text (see the invariant above). */
export function quillContentsOf(text: LoroText): QuillDelta {
  const d = new Delta(loroDeltaToQuill(text.toDelta() as DeltaOp[]));
  if (!text.toString().endsWith('\n')) d.insert('\n');
  return d;
}

export function bind(quill: Quill, doc: LoroDoc, opts: BindOptions = {}): Binding {
  configureNoteDoc(doc);
  const text = doc.getText(BODY);
  const textId = text.id;
  /** True while this binding writes to Loro: those events are our own. */
  let applying = false;
  /** A Loro change not shown by Quill yet, relative to what Quill shows. */
  let pending: QuillDelta | null = null;
  let destroyed = false;

  const report = (e: unknown) => {
    if (opts.onError) opts.onError(e);
    else console.error('note editor:', e);
  };

  const resync = () => {
    // The diff below is taken against the whole Loro text, which includes `pending`.
    quill.update('user');
    pending = null;
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
    if (!pending || destroyed || quill.composition.isComposing) return;
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

  quill.setContents(quillContentsOf(text), 'api');
  // Loading is not an edit: Ctrl+Z must not empty the note.
  quill.history.clear();
  quill.on('text-change', onTextChange);
  quill.on('composition-end' as 'text-change', onCompositionEnd);
  const unsubscribe = doc.subscribe(onLoro);

  return {
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
    },
  };
}
