// A store for tests: what src-tauri's note commands do, over an in-memory Loro doc of its
// own (its own peer, as the engine's `Note`). Not used by the app.

import { LoroDoc, VersionVector } from 'loro-crdt';
import { configureNoteDoc } from './attrs';
import type { EditorStore } from './index';

export class FakeStore implements EditorStore {
  readonly doc = configureNoteDoc(new LoroDoc());
  /** Every update the editor saved, in order. */
  readonly saved: Uint8Array[] = [];
  /** Saves that failed. */
  failures = 0;
  /** The next `failNext` saves reject (with nothing imported). */
  failNext = 0;
  /** When set, saves wait for `release()` before resolving. */
  hold = false;
  private held: Array<() => void> = [];
  private listeners = new Set<(docs: string[]) => void>();
  fetches = 0;

  openNote(_id: string): Promise<Uint8Array> {
    return Promise.resolve(this.doc.export({ mode: 'snapshot' }));
  }

  saveNoteUpdate(_id: string, update: Uint8Array): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      this.failures += 1;
      return Promise.reject({ code: 'io', message: 'disk full' });
    }
    const commit = () => {
      this.saved.push(update);
      this.doc.import(update);
    };
    if (!this.hold) {
      commit();
      return Promise.resolve();
    }
    return new Promise((ok) => this.held.push(() => (commit(), ok())));
  }

  /** Resolves the saves waiting under `hold`. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const f of held) f();
  }

  get waiting(): number {
    return this.held.length;
  }

  noteUpdatesSince(_id: string, version: Uint8Array): Promise<Uint8Array> {
    this.fetches += 1;
    return Promise.resolve(this.doc.export({ mode: 'update', from: VersionVector.decode(version) }));
  }

  onDocsChanged(f: (docs: string[]) => void): Promise<() => void> {
    this.listeners.add(f);
    return Promise.resolve(() => this.listeners.delete(f));
  }

  /** What the engine emits after another device's change. */
  notify(docs: string[]): void {
    for (const f of this.listeners) f(docs);
  }

  get listening(): number {
    return this.listeners.size;
  }
}
