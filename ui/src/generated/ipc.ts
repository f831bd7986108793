// Generated from the Rust definitions (src-tauri/src/bindings.rs) by `make bindings`;
// do not edit.

import type { ErrorCode } from './errors';

/**
 * What a document is. Stored as one byte; the codes are frozen.
 */
export type DocKind = "note" | "record" | "index";

/**
 * One document as listed.
 */
export type DocSummary = { 
/**
 * Its id (32 hex digits).
 */
id: string, 
/**
 * "note" or "record".
 */
kind: Exclude<DocKind, 'index'>, 
/**
 * Its title.
 */
title: string, 
/**
 * The folder path, from the root.
 */
folder: Array<string>, 
/**
 * `folder/…/title`.
 */
path: string, 
/**
 * True if it is in the trash.
 */
deleted: boolean, 
/**
 * When it was created (RFC 3339, UTC).
 */
created: string, 
/**
 * When it last changed on any device this one has heard from (RFC 3339, UTC).
 */
updated: string, 
/**
 * `updated` in ms since the Unix epoch.
 */
updated_ms: number, };

/**
 * Every document (trash included) and folder, as the window lists them at start and
 * after each change: by columns rather than an object per document, and only what the
 * tree and the lists show. With 100,000 documents the objects were 27 MB of JSON, whose
 * parse alone was a good part of the window's first paint; this is about a quarter.
 */
export type DocTable = { 
/**
 * Every folder path, empty folders too; a document names its folder by index here.
 */
folders: Array<Array<string>>, 
/**
 * The ids, 32 hex digits each, end to end.
 */
ids: string, 
/**
 * One letter per document: `n` a note, `r` a record.
 */
kinds: string, titles: Array<string>, 
/**
 * Per document, the index of its folder in `folders`.
 */
folder: Array<number>, 
/**
 * The indexes of the documents in the trash.
 */
deleted: Array<number>, 
/**
 * Per document, when it last changed (ms since the Unix epoch).
 */
updated_ms: number[], };

/**
 * A field with concurrent values, for display.
 */
export type ConflictView = { 
/**
 * The JSON pointer of the field.
 */
pointer: string, 
/**
 * Every concurrent value.
 */
values: unknown[], };

/**
 * One device and whether it holds a document's latest changes.
 */
export type Holder = { 
/**
 * The device.
 */
device: string, 
/**
 * Its name as it announced it; empty for this device (which has no
 * name of its own) and for peers that sent none.
 */
name: string, 
/**
 * True for the device this workspace is open on.
 */
this_device: boolean, 
/**
 * True if it is known to hold every change of the document that this
 * device holds.
 */
latest: boolean, 
/**
 * When it was last fully in sync with this device (`None` for this
 * device, and for a peer never fully in sync).
 */
last_sync_ms: number | null, };

/**
 * One device's changes that this build could not read, in one document or
 * in the workspace: for `weft status`, `weft history` and the app.
 */
export type Unreadable = { 
/**
 * The device that made them.
 */
device: string, 
/**
 * Its name as it announced itself, if this device has met it.
 */
name: string | null, 
/**
 * True if that device is this one.
 */
this_device: boolean, 
/**
 * How many changes.
 */
changes: bigint, 
/**
 * The sentence to show: "2 changes from laptop could not be read
 * (made by a newer version, or damaged)".
 */
message: string, };

/**
 * One search result.
 */
export type SearchHit = { 
/**
 * The document.
 */
id: string, 
/**
 * Note or record.
 */
kind: Exclude<DocKind, 'index'>, 
/**
 * Its title.
 */
title: string, 
/**
 * `folder/…/title`.
 */
path: string, 
/**
 * The text around the first match in the body (line breaks as spaces),
 * with "…" where it was cut; empty when only the title matched.
 */
snippet: string, };

/**
 * Where the window stands with its workspace; the UI picks its screen from `state`.
 */
export type WorkspaceView = { "state": "missing", 
/**
 * The workspace home that was looked in.
 */
home: string, } | { "state": "locked", 
/**
 * The workspace home.
 */
home: string, } | { "state": "open", 
/**
 * The workspace home.
 */
home: string, 
/**
 * The workspace's display name.
 */
name: string, 
/**
 * This device's id.
 */
device: string, };

/**
 * A record's content.
 */
export type RecordView = { 
/**
 * The winning values.
 */
json: Record<string, unknown>, 
/**
 * Fields with concurrent values.
 */
conflicts: Array<ConflictView>, };

/**
 * A document as it was at one version.
 */
export type Preview = { "kind": "note", 
/**
 * The Markdown.
 */
markdown: string, } | { "kind": "record", 
/**
 * Its values.
 */
json: Record<string, unknown>, 
/**
 * Its concurrent values.
 */
conflicts: Array<ConflictView>, };

/**
 * One version of a document (newest last), with its device's name.
 */
export type VersionView = { 
/**
 * 1-based; what `preview_version` and `restore_version` take.
 */
number: number, 
/**
 * RFC 3339, UTC, the author's clock.
 */
time: string, time_ms: number, device: string, 
/**
 * The device's name as it announced it; empty when unknown.
 */
device_name: string, this_device: boolean, summary: string, };

/**
 * How a device is reached right now.
 */
export type Via = "lan" | "direct" | "relayed" | "hole-punched" | "offline";

/**
 * One device in the devices panel.
 */
export type Device = { id: string, name: string, via: Via, 
/**
 * The device is the relay (`weft-relay`), not a member's device.
 */
relay: boolean, 
/**
 * ms since the Unix epoch; null if never fully in sync.
 */
last_sync_ms: number | null, 
/**
 * Holds exactly what this device holds.
 */
in_sync: boolean, };

/**
 * One relay.
 */
export type RelayView = { addr: string, 
/**
 * "in sync", "quota full: …", "not reached yet".
 */
status: string, };

/**
 * The status indicator's three states.
 */
export type SyncState = "synced" | "syncing" | "offline";

/**
 * The status indicator and the devices panel.
 */
export type SyncStatus = { state: SyncState, 
/**
 * Changes known to exist that this device does not hold yet.
 */
pending: number, devices: Array<Device>, relays: Array<RelayView>, 
/**
 * This device's own listen addresses (for a manual `weft peer add`).
 */
addresses: Array<string>, };

/**
 * An invite as the pairing dialog shows it (the dialog draws its QR code).
 */
export type InviteView = { code: string, name: string, };

/**
 * The settings dialog.
 */
export type SettingsView = { 
/**
 * The name other devices see.
 */
device_name: string, 
/**
 * The workspace home.
 */
home: string, 
/**
 * The relays' addresses.
 */
relays: Array<string>, };

/**
 * An error as the UI receives it: it matches on `code` only and shows `message`.
 * Every code is one of the table in `weft_core::error_code`.
 */
export type UiError = { 
/**
 * Stable, machine-readable: one of the table in `weft_core::error_code`.
 */
code: ErrorCode, 
/**
 * For people; names what was wrong.
 */
message: string, };

/**
 * The payload of `weft://docs-changed`.
 */
export type DocsChanged = { 
/**
 * The documents another device changed (ids).
 */
docs: Array<string>, };

/** The events the shell emits. */
export const EVENTS = {
  docsChanged: 'weft://docs-changed',
  syncChanged: 'weft://sync-changed',
} as const;
