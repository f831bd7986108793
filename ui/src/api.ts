// Every call from the UI into the Tauri shell (src-tauri/src/commands.rs) goes through
// this module, so the command names and payload shapes live in one place. Nothing else
// in ui/ imports @tauri-apps/api.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { ERROR_CATEGORY, type ErrorCode } from './generated/errors';

export type { ErrorCode } from './generated/errors';

// The types of every payload are generated from the Rust definitions
// (src-tauri/src/bindings.rs, `make bindings`), so they cannot drift from the shell.
import type {
  ConflictView,
  DocKind as AnyDocKind,
  DocsChanged,
  DocSummary as FullSummary,
  DocTable,
  InviteView,
  SettingsView,
  VersionView,
} from './generated/ipc';
import { EVENTS } from './generated/ipc';

export type {
  Device,
  Holder,
  Preview,
  RecordView,
  RelayView,
  SearchHit,
  SyncState,
  SyncStatus,
  Unreadable,
  Via,
  WorkspaceView,
} from './generated/ipc';
import type {
  Holder,
  Preview,
  RecordView,
  SearchHit,
  SyncStatus,
  Unreadable,
  WorkspaceView,
} from './generated/ipc';

/** A document as the window lists it (what the shell sends less its creation time,
 *  which nothing shows). */
export type DocSummary = Omit<FullSummary, 'created'>;

/** What the UI lists and opens: the index document is never one of them. */
export type DocKind = Exclude<AnyDocKind, 'index'>;
/** A field written concurrently on several devices: every value Automerge kept. */
export type Conflict = ConflictView;
/** One version of a document (newest last). */
export type Version = VersionView;
export type Invite = InviteView;
export type Settings = SettingsView;

/**
 * An error from the shell. Match on `code` only; `message` is for people.
 * Codes are the one table in weft-core (`error_code.rs`), generated into
 * `generated/errors.ts`; `ipc` means the call never reached the shell.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/** Turns whatever `invoke` rejected with into an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (typeof e === 'object' && e !== null && 'code' in e && 'message' in e) {
    const { code, message } = e as { code: unknown; message: unknown };
    if (typeof code === 'string' && typeof message === 'string') {
      return new ApiError(isErrorCode(code) ? code : 'internal', message);
    }
  }
  // Tauri rejects with a plain string when the command itself is missing or the
  // arguments do not deserialize.
  return new ApiError('ipc', e instanceof Error ? e.message : String(e));
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATEGORY, code);
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toApiError(e);
  }
}

/** Binary results arrive as an ArrayBuffer (tauri::ipc::Response). */
async function bytes(command: string, args?: Record<string, unknown>): Promise<Uint8Array> {
  return new Uint8Array(await call<ArrayBuffer>(command, args));
}

// --- workspace -------------------------------------------------------------------

/** Opens the workspace if no passphrase is needed, and says where things stand. */
export function workspaceStatus(): Promise<WorkspaceView> {
  return call('workspace_status');
}

/** Creates a workspace whose keys live in the OS keyring. */
export function createWorkspace(name: string): Promise<WorkspaceView> {
  return call('create_workspace', { name });
}

/** Opens a workspace whose keys are in a passphrase-protected file. */
export function unlockWorkspace(passphrase: string): Promise<WorkspaceView> {
  return call('unlock_workspace', { passphrase });
}

/** Joins the workspace of an invite code (only when there is no workspace yet). */
export function joinWorkspace(code: string): Promise<WorkspaceView> {
  return call('join_workspace', { code });
}

// --- the tree --------------------------------------------------------------------

export interface DocList {
  /** Every document, the trash too. */
  docs: DocSummary[];
  /** Every folder path, including empty folders. */
  folders: string[][];
}

/** The workspace's documents (the trash too) and folders. */
export async function listTree(): Promise<DocList> {
  return fromTable(await listTable());
}

/** The same as the shell sends it (for the start, which times the two steps apart). */
export function listTable(): Promise<DocTable> {
  return call('list_tree');
}

/** A listed document. `updated` is made when read: with 100,000 documents, making every
 *  one's at start took longer than the rest of building the list. */
class Listed implements DocSummary {
  constructor(
    readonly id: string,
    readonly kind: DocKind,
    readonly title: string,
    readonly folder: string[],
    readonly path: string,
    readonly deleted: boolean,
    readonly updated_ms: number,
  ) {}

  get updated(): string {
    return new Date(this.updated_ms).toISOString();
  }
}

/** The documents of the shell's table (sent by columns, src-tauri/src/views.rs). The
 *  documents of a folder share its path array, which nothing changes in place. */
export function fromTable(t: DocTable): DocList {
  const prefixes = t.folders.map((f) => (f.length === 0 ? '' : `${f.join('/')}/`));
  const deleted = new Set(t.deleted);
  const docs: DocSummary[] = new Array(t.titles.length);
  for (let i = 0; i < t.titles.length; i++) {
    const f = t.folder[i]!;
    const title = t.titles[i]!;
    docs[i] = new Listed(
      t.ids.slice(i * 32, i * 32 + 32),
      t.kinds[i] === 'r' ? 'record' : 'note',
      title,
      t.folders[f]!,
      prefixes[f] + title,
      deleted.has(i),
      t.updated_ms[i]!,
    );
  }
  return { docs, folders: t.folders };
}

export function createNote(title: string, folder: string[]): Promise<DocSummary> {
  return call('create_note', { title, folder });
}

export function createRecord(title: string, folder: string[]): Promise<DocSummary> {
  return call('create_record', { title, folder });
}

export function createFolder(path: string[]): Promise<void> {
  return call('create_folder', { path });
}

export function renameDoc(id: string, title: string): Promise<void> {
  return call('rename_doc', { id, title });
}

/** Moves a document into `folder` ([] for the top level). */
export function moveDoc(id: string, folder: string[]): Promise<void> {
  return call('move_doc', { id, folder });
}

/** Moves the folder at `path` (with everything in it) under `parent`. */
export function moveFolder(path: string[], parent: string[]): Promise<void> {
  return call('move_folder', { path, parent });
}

/** Renames a folder; what is in it stays in it. */
export function renameFolder(path: string[], name: string): Promise<void> {
  return call('rename_folder', { path, name });
}

/** Moves a document to the trash. */
export function trashDoc(id: string): Promise<void> {
  return call('trash_doc', { id });
}

/** Brings a document back from the trash. */
export function restoreDoc(id: string): Promise<void> {
  return call('restore_doc', { id });
}

// --- notes (Loro) ----------------------------------------------------------------

/** The note's Loro document (a snapshot) for the editor's own replica. */
export function openNote(id: string): Promise<Uint8Array> {
  return bytes('open_note', { id });
}

/**
 * Hands the editor's new Loro operations (an update holding only the editor peer's
 * operations) to the store, which seals them as one change. Resolves once committed.
 */
export function saveNoteUpdate(id: string, update: Uint8Array): Promise<void> {
  return call('save_note_update', { id, update: Array.from(update) });
}

/** Every operation the store holds that the editor's version vector lacks. */
export function noteUpdatesSince(id: string, version: Uint8Array): Promise<Uint8Array> {
  return bytes('note_updates_since', { id, version: Array.from(version) });
}

// --- records (Automerge) ---------------------------------------------------------

export function getRecord(id: string): Promise<RecordView> {
  return call('get_record', { id });
}

/** Sets the field at JSON pointer `pointer` to `value` (any JSON). */
export function setRecordField(id: string, pointer: string, value: unknown): Promise<void> {
  return call('set_record_field', { id, pointer, value });
}

/** Applies an RFC 6902 JSON Patch: all of it or none (add/remove fields, rename). */
export function patchRecord(id: string, patch: unknown[]): Promise<void> {
  return call('patch_record', { id, patch });
}

// --- history ---------------------------------------------------------------------

export function history(id: string): Promise<Version[]> {
  return call('history', { id });
}

export function previewVersion(id: string, number: number): Promise<Preview> {
  return call('preview_version', { id, number });
}

/** Makes the document look as it did at `number`, as a new change. */
export function restoreVersion(id: string, number: number): Promise<void> {
  return call('restore_version', { id, number });
}

// --- devices, sync, pairing, settings, search --------------------------------------

export function syncStatus(): Promise<SyncStatus> {
  return call('sync_status');
}

export function docHolders(id: string): Promise<Holder[]> {
  return call('doc_holders', { id });
}

/** Per device, the changes of a document this build could not read. */
export function unreadableChanges(id: string): Promise<Unreadable[]> {
  return call('unreadable_changes', { id });
}

export function createInvite(): Promise<Invite> {
  return call('create_invite');
}

export function getSettings(): Promise<Settings> {
  return call('get_settings');
}

/** Takes effect at once for new connections; peers see it when they reconnect. */
export function setDeviceName(name: string): Promise<void> {
  return call('set_device_name', { name });
}

/** Adds a weft-relay by its multiaddr (ending in /p2p/<relay id>). */
export function addRelay(addr: string): Promise<void> {
  return call('add_relay', { addr });
}

export function removeRelay(addr: string): Promise<void> {
  return call('remove_relay', { addr });
}

/** Titles and note text, searched in memory. */
export function search(query: string): Promise<SearchHit[]> {
  return call('search', { query });
}

// --- events from the engine --------------------------------------------------------

/** Documents changed by another device (or another process on this one). An empty
 *  list means the window fell behind: anything may have changed. */
export function onDocsChanged(f: (docs: string[]) => void): Promise<UnlistenFn> {
  return listen<DocsChanged>(EVENTS.docsChanged, (e) => f(e.payload.docs));
}

/** Something about sync changed: fetch `syncStatus()` again. */
export function onSyncChanged(f: () => void): Promise<UnlistenFn> {
  return listen(EVENTS.syncChanged, () => f());
}
