// The editor's exchange with the store: its own new Loro operations go out as updates,
// batched while the user types; what the store has that the editor lacks comes in when
// the engine says the note changed.
//
// Saving rules:
// - one update 250 ms after the last edit, and at least one a second while typing goes on
//   (a long burst is not one unsaved minute);
// - one save in flight at a time: the store seals each update as one change, and two
//   concurrent ones would race for the same operations;
// - an update holds only this editor's own operations since the last successful save
//   (the version vector with our peer set back, as `Note::commit_pending` in note.rs):
//   everything else came from the store, which has it already;
// - a failed save is reported and retried with backoff until it succeeds, also after the
//   editor is closed: the operations stay in this doc until the store has them.

import { VersionVector, type LoroDoc, type PeerID } from 'loro-crdt';
import * as api from '../api';
import { ApiError, toApiError } from '../api';

/** The part of api.ts the editor uses (replaced by a fake in tests). */
export interface NoteStore {
  saveNoteUpdate(id: string, update: Uint8Array): Promise<void>;
  noteUpdatesSince(id: string, version: Uint8Array): Promise<Uint8Array>;
  onDocsChanged(f: (docs: string[]) => void): Promise<() => void>;
}

export const apiStore: NoteStore = {
  saveNoteUpdate: api.saveNoteUpdate,
  noteUpdatesSince: api.noteUpdatesSince,
  onDocsChanged: api.onDocsChanged,
};

/** Quiet time after the last edit before saving. */
export const SAVE_DEBOUNCE_MS = 250;
/** Longest an edit waits while the user keeps typing. */
export const SAVE_MAX_DELAY_MS = 1000;
/** First retry after a failed save; doubles up to RETRY_MAX_MS. */
export const RETRY_MIN_MS = 1000;
export const RETRY_MAX_MS = 30_000;

/** `saved`: the store has every edit; `unsaved`: edits wait for the timer; `error`: the last save failed and a retry is scheduled. */
export type SaveState = 'saved' | 'unsaved' | 'saving' | 'error';

export interface SyncOptions {
  store?: NoteStore;
  /** Applies bytes from the store to the doc (default `doc.import`; the editor flushes Quill first). */
  importUpdate?(bytes: Uint8Array): void;
  /** A save or a fetch failed (saves are retried). */
  onError?(e: ApiError): void;
  onState?(state: SaveState): void;
}

export class NoteSync {
  readonly id: string;
  readonly doc: LoroDoc;
  private readonly store: NoteStore;
  private readonly opts: SyncOptions;
  private readonly peer: PeerID;
  /** Our op counter already in the store: ops below it were sent. */
  private sentEnd = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private firstDirty: number | undefined;
  private lastEdit = 0;
  private inFlight: Promise<void> | undefined;
  private failures = 0;
  private pulling: Promise<void> | undefined;
  private pullAgain = false;
  private closed = false;
  private unlisten: (() => void) | undefined;
  private readonly unsubscribeLocal: () => void;
  private state: SaveState = 'saved';

  constructor(id: string, doc: LoroDoc, opts: SyncOptions = {}) {
    this.id = id;
    this.doc = doc;
    this.opts = opts;
    this.store = opts.store ?? apiStore;
    this.peer = doc.peerIdStr;
    // Ops this peer made before the sync existed are ours too and unsent.
    this.unsubscribeLocal = doc.subscribeLocalUpdates(() => this.edited());
  }

  /** Listens for the engine's change notices, then fetches what changed since opening. */
  async start(): Promise<void> {
    const unlisten = await this.store.onDocsChanged((docs) => {
      if (docs.includes(this.id)) void this.pull();
    });
    if (this.closed) unlisten();
    else this.unlisten = unlisten;
    // Changes that landed between `openNote` and the listener.
    await this.pull();
  }

  /** Number of own operations the store does not have yet. */
  get unsaved(): number {
    return this.ownEnd() - this.sentEnd;
  }

  get saveState(): SaveState {
    return this.state;
  }

  /**
   * Resolves once every edit made before the call is in the store; rejects with the
   * error of a failed attempt (a retry stays scheduled, nothing is dropped).
   */
  async flush(): Promise<void> {
    const target = this.ownEnd();
    while (this.sentEnd < target) await this.send();
  }

  /** Fetches and imports what the store has beyond this doc's version. */
  pull(): Promise<void> {
    if (this.pulling) {
      this.pullAgain = true;
      return this.pulling;
    }
    this.pulling = (async () => {
      try {
        do {
          this.pullAgain = false;
          const bytes = await this.store.noteUpdatesSince(this.id, this.doc.oplogVersion().encode());
          if (this.closed) return;
          if (bytes.length > 0) this.importBytes(bytes);
        } while (this.pullAgain);
      } catch (e) {
        this.report(toApiError(e));
      } finally {
        this.pulling = undefined;
      }
    })();
    return this.pulling;
  }

  /**
   * Stops fetching, and saves what is left. The returned promise settles like `flush`;
   * after a failure the retries go on in the background until the store has everything.
   */
  close(): Promise<void> {
    this.closed = true;
    this.unlisten?.();
    this.unlisten = undefined;
    this.unsubscribeLocal();
    return this.flush();
  }

  private ownEnd(): number {
    return this.doc.oplogVersion().get(this.peer) ?? 0;
  }

  private importBytes(bytes: Uint8Array): void {
    try {
      if (this.opts.importUpdate) this.opts.importUpdate(bytes);
      else this.doc.import(bytes);
    } catch (e) {
      this.report(new ApiError('note_import', `cannot apply the note's changes from the store: ${String(e)}`));
    }
  }

  private edited(): void {
    this.lastEdit = Date.now();
    this.firstDirty ??= this.lastEdit;
    if (this.state === 'saved') this.setState('unsaved');
    // While a retry is scheduled, it takes these edits along.
    if (this.failures > 0 || this.inFlight) return;
    this.arm();
  }

  private arm(): void {
    const first = this.firstDirty ?? this.lastEdit;
    const at = Math.min(this.lastEdit + SAVE_DEBOUNCE_MS, first + SAVE_MAX_DELAY_MS);
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.send().catch(() => {});
      },
      Math.max(0, at - Date.now()),
    );
  }

  /** Sends every unsent own op (or joins the save in flight, which the caller re-checks). */
  private send(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    this.timer = this.retryTimer = undefined;
    this.firstDirty = undefined;
    const end = this.ownEnd();
    if (end <= this.sentEnd) return Promise.resolve();
    let update: Uint8Array;
    try {
      update = this.doc.export({ mode: 'update', from: this.sentVersion() });
    } catch (e) {
      // Not expected: Loro failing to encode. Keep the ops; try again later.
      return Promise.reject(this.failed(new ApiError('note_export', `cannot encode the note's changes: ${String(e)}`)));
    }
    this.setState('saving');
    this.inFlight = this.store.saveNoteUpdate(this.id, update).then(
      () => {
        this.inFlight = undefined;
        this.sentEnd = Math.max(this.sentEnd, end);
        this.failures = 0;
        if (this.ownEnd() > this.sentEnd) {
          // Edits made while this save was in flight.
          this.setState('unsaved');
          this.arm();
        } else {
          this.setState('saved');
        }
      },
      (e: unknown) => {
        this.inFlight = undefined;
        throw this.failed(toApiError(e));
      },
    );
    return this.inFlight;
  }

  private failed(err: ApiError): ApiError {
    this.failures += 1;
    this.setState('error');
    this.report(err);
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.failures - 1));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.send().catch(() => {});
    }, delay);
    return err;
  }

  /** The doc's version with our own peer set back to what the store has. */
  private sentVersion(): VersionVector {
    const vv = this.doc.oplogVersion().toJSON();
    if (this.sentEnd === 0) vv.delete(this.peer);
    else vv.set(this.peer, this.sentEnd);
    return new VersionVector(vv);
  }

  private setState(s: SaveState): void {
    if (s === this.state) return;
    this.state = s;
    this.opts.onState?.(s);
  }

  private report(e: ApiError): void {
    if (this.opts.onError) this.opts.onError(e);
    else console.error('note sync:', e);
  }
}
