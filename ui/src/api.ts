// Every call from the UI into the Tauri shell (src-tauri/src/commands.rs) goes through
// this module, so the command names and payload shapes live in one place.
import { invoke } from '@tauri-apps/api/core';

export type DocKind = 'note' | 'record';

/** One document, as weft-engine's `DocSummary` serializes it. */
export interface DocSummary {
  id: string;
  kind: DocKind;
  title: string;
  /** Folder path from the root; empty for a top-level document. */
  folder: string[];
  /** `folder/…/title`. */
  path: string;
  deleted: boolean;
  /** RFC 3339, UTC. */
  created: string;
  /** RFC 3339, UTC. */
  updated: string;
}

/** Where the window stands with its workspace. */
export type WorkspaceView =
  | { state: 'missing'; home: string }
  | { state: 'locked'; home: string }
  | { state: 'open'; home: string; name: string };

/**
 * An error from the shell. Match on `code` only; `message` is for people.
 * Codes come from weft-engine (`EngineError::code`) plus the shell's own
 * (`invalid_name`, `not_open`, `internal`); `ipc` means the call never reached it.
 */
export class ApiError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
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
      return new ApiError(code, message);
    }
  }
  // Tauri rejects with a plain string when the command itself is missing or the
  // arguments do not deserialize.
  return new ApiError('ipc', e instanceof Error ? e.message : String(e));
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toApiError(e);
  }
}

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

/** The open workspace's documents, sorted by path. */
export function listDocuments(): Promise<DocSummary[]> {
  return call('list_documents');
}
