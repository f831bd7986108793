// What every view of the open workspace may ask of the window: the document list,
// opening a document, reporting an error. workspace.ts implements it.
import type { ApiError, DocSummary, SyncStatus, WorkspaceView } from '../api';

export type OpenWorkspace = Extract<WorkspaceView, { state: 'open' }>;

export interface SyncState {
  /** The last status fetched; null before the first answer. */
  status: SyncStatus | null;
  /** Why the last fetch failed; null once one succeeds again. */
  error: ApiError | null;
}

export interface SyncHub {
  readonly current: SyncState;
  /** Called after every fetch (not at once: read `current` for that). */
  subscribe(f: (s: SyncState) => void): () => void;
  /** Fetches the status again, coalesced (one fetch per burst of events). Never
   *  rejects: a failure becomes `current.error`, which subscribers show. */
  refresh(): Promise<void>;
}

export interface OpenOptions {
  /** Put the focus into the document's body once it shows, to type into it (a document
   *  just created and named in the sidebar). */
  focus?: boolean;
}

export interface App {
  readonly workspace: OpenWorkspace;
  /** Documents not in the trash. */
  docs(): readonly DocSummary[];
  /** Every document, trash included. */
  allDocs(): readonly DocSummary[];
  folders(): readonly string[][];
  doc(id: string): DocSummary | undefined;
  /** The open document's id, or null for the overview or the trash. */
  openId(): string | null;
  /** Opens a document in the main pane (null: the overview). */
  open(id: string | null, opts?: OpenOptions): Promise<void>;
  showTrash(): Promise<void>;
  /** Reloads documents and folders and redraws what shows them. */
  refresh(): Promise<void>;
  /** Reopens the open document's view (after a restore). */
  reopen(opts?: { history?: boolean }): Promise<void>;
  /** Starts naming a new document in the sidebar. */
  startCreate(kind: 'note' | 'record' | 'folder'): void;
  /** Reports an error to the user (a toast). */
  fail(e: unknown, context?: string): void;
  readonly sync: SyncHub;
}
