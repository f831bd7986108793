// NoteSync against a fake store (test-store.ts), with fake timers.

import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { LoroDoc, decodeImportBlobMeta } from 'loro-crdt';
import type { ApiError } from '../api';
import { configureNoteDoc } from './attrs';
import { NoteSync, RETRY_MIN_MS, SAVE_DEBOUNCE_MS, SAVE_MAX_DELAY_MS, type SaveState } from './sync';
import { FakeStore } from './test-store';

const ID = 'note-1';

let store: FakeStore;
let doc: LoroDoc;
let sync: NoteSync;
let errors: ApiError[];
let states: SaveState[];

/** The editor's replica, opened from the store as mountNoteEditor does. */
async function open(): Promise<void> {
  doc = configureNoteDoc(new LoroDoc());
  doc.import(await store.openNote(ID));
  sync = new NoteSync(ID, doc, {
    store,
    onError: (e) => errors.push(e),
    onState: (s) => states.push(s),
  });
  await sync.start();
}

/** One keystroke in the editor: an edit and a commit, as the binding makes them. */
function type(s: string): void {
  const t = doc.getText('body');
  t.insert(t.length, s);
  doc.commit();
}

/** Another device's edit, already in the store. */
function remoteEdit(s: string): void {
  const t = store.doc.getText('body');
  t.insert(0, s);
  store.doc.commit();
}

const text = (d: LoroDoc) => d.getText('body').toString();

beforeEach(async () => {
  vi.useFakeTimers();
  store = new FakeStore();
  store.doc.getText('body').insert(0, 'base\n');
  store.doc.commit();
  errors = [];
  states = [];
  await open();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('what a save holds', () => {
  test("only the editor's own new operations, never the store's", async () => {
    remoteEdit('remote ');
    store.notify([ID]);
    await vi.runAllTimersAsync();
    expect(text(doc)).toBe('remote base\n');

    type('!');
    await sync.flush();
    expect(store.saved).toHaveLength(1);
    const meta = decodeImportBlobMeta(store.saved[0]!, false);
    // The blob's version range names the peers whose ops it holds: ours alone, one op.
    expect([...meta.partialEndVersionVector.toJSON().keys()]).toEqual([doc.peerIdStr]);
    expect(meta.partialStartVersionVector.get(doc.peerIdStr) ?? 0).toBe(0);
    expect(meta.partialEndVersionVector.get(doc.peerIdStr)).toBe(1);
    expect(text(store.doc)).toBe('remote base\n!');
  });

  test('each save starts where the previous one ended', async () => {
    type('a');
    await sync.flush();
    type('b');
    type('c');
    await sync.flush();
    expect(store.saved).toHaveLength(2);
    const second = decodeImportBlobMeta(store.saved[1]!, false);
    expect(second.partialStartVersionVector.get(doc.peerIdStr)).toBe(1);
    expect(second.partialEndVersionVector.get(doc.peerIdStr)).toBe(3);
    expect(text(store.doc)).toBe('base\nabc');
  });

  test('nothing to save: no call', async () => {
    await sync.flush();
    await vi.advanceTimersByTimeAsync(5000);
    expect(store.saved).toHaveLength(0);
  });
});

describe('batching', () => {
  test('one save 250 ms after the last keystroke', async () => {
    type('a');
    await vi.advanceTimersByTimeAsync(100);
    type('b');
    await vi.advanceTimersByTimeAsync(100);
    type('c');
    await vi.advanceTimersByTimeAsync(SAVE_DEBOUNCE_MS - 1);
    expect(store.saved).toHaveLength(0);
    expect(sync.unsaved).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.saved).toHaveLength(1);
    expect(sync.unsaved).toBe(0);
    expect(text(store.doc)).toBe('base\nabc');
  });

  test('typing without pause still saves every second', async () => {
    // A keystroke every 100 ms for 3.5 s.
    for (let i = 0; i < 35; i++) {
      type('x');
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(store.saved.length).toBeGreaterThanOrEqual(3);
    expect(store.saved.length).toBeLessThanOrEqual(4);
    // Never more than SAVE_MAX_DELAY_MS of typing unsaved.
    expect(sync.unsaved).toBeLessThanOrEqual(SAVE_MAX_DELAY_MS / 100);
  });

  test('one save in flight at a time; edits made meanwhile go in the next one', async () => {
    store.hold = true;
    type('a');
    await vi.advanceTimersByTimeAsync(SAVE_DEBOUNCE_MS);
    expect(store.waiting).toBe(1);
    type('b');
    await vi.advanceTimersByTimeAsync(5 * SAVE_MAX_DELAY_MS);
    expect(store.waiting).toBe(1); // still the first one
    store.hold = false;
    store.release();
    await vi.advanceTimersByTimeAsync(SAVE_DEBOUNCE_MS);
    expect(store.saved).toHaveLength(2);
    expect(text(store.doc)).toBe('base\nab');
    expect(states.at(-1)).toBe('saved');
  });
});

describe('failures', () => {
  test('a failed save is reported, retried, and loses nothing', async () => {
    store.failNext = 2;
    type('a');
    await vi.advanceTimersByTimeAsync(SAVE_DEBOUNCE_MS);
    expect(errors.map((e) => e.code)).toEqual(['io']);
    expect(sync.saveState).toBe('error');
    type('b'); // typed while the store is failing
    await vi.advanceTimersByTimeAsync(RETRY_MIN_MS);
    expect(errors).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2 * RETRY_MIN_MS);
    expect(store.failures).toBe(2);
    expect(text(store.doc)).toBe('base\nab');
    expect(sync.saveState).toBe('saved');
    expect(sync.unsaved).toBe(0);
  });

  test('flush rejects while the store fails, and the retry goes on', async () => {
    store.failNext = 1;
    type('a');
    await expect(sync.flush()).rejects.toMatchObject({ code: 'io' });
    await vi.advanceTimersByTimeAsync(RETRY_MIN_MS);
    expect(text(store.doc)).toBe('base\na');
  });

  test('closing with a failing store keeps retrying until the edit is saved', async () => {
    store.failNext = 3;
    type('last words');
    await expect(sync.close()).rejects.toMatchObject({ code: 'io' });
    expect(store.listening).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * RETRY_MIN_MS);
    expect(text(store.doc)).toBe('base\nlast words');
  });
});

describe('fetching', () => {
  test('a change notice for this note fetches and imports; others are ignored', async () => {
    const before = store.fetches;
    remoteEdit('other device: ');
    store.notify(['some-other-note']);
    await vi.runAllTimersAsync();
    expect(store.fetches).toBe(before);
    expect(text(doc)).toBe('base\n');
    store.notify(['some-other-note', ID]);
    await vi.runAllTimersAsync();
    expect(text(doc)).toBe('other device: base\n');
  });

  test('changes made between opening and listening are fetched at start', async () => {
    store = new FakeStore();
    const snapshot = await store.openNote(ID);
    remoteEdit('late ');
    doc = configureNoteDoc(new LoroDoc());
    doc.import(snapshot);
    sync = new NoteSync(ID, doc, { store });
    await sync.start();
    expect(text(doc)).toBe('late ');
  });

  test('after close, change notices are not followed', async () => {
    await sync.close();
    remoteEdit('x');
    store.notify([ID]);
    await vi.runAllTimersAsync();
    expect(text(doc)).toBe('base\n');
  });
});
