// Generated from weft-core/src/error_code.rs by `make bindings`; do not edit.

/** Every error code Weft reports (`{code, message}` from the shell). */
export type ErrorCode =
  | 'usage'
  | 'invalid_value'
  | 'no_data_dir'
  | 'passphrase_required'
  | 'ambiguous_doc'
  | 'invalid_index_op'
  | 'invalid_record_op'
  | 'invalid_note_op'
  | 'invalid_address'
  | 'invalid_invite'
  | 'import'
  | 'config'
  | 'no_workspace'
  | 'unknown_doc'
  | 'no_such_version'
  | 'no_such_file'
  | 'unknown_address'
  | 'already_exists'
  | 'deleted'
  | 'wrong_kind'
  | 'conflict'
  | 'wrong_passphrase'
  | 'keyring_taken'
  | 'refused'
  | 'network'
  | 'timeout'
  | 'locked'
  | 'corrupt'
  | 'newer_version'
  | 'store'
  | 'keys'
  | 'io'
  | 'disk_full'
  | 'internal'
  | 'invalid_name'
  | 'not_open'
  | 'ipc'
  | 'note_export'
  | 'note_import'
  | 'note_edit';

/** The category of each code; the CLI exits with its number. */
export type ErrorCategory =
  | 'other'
  | 'usage'
  | 'not_found'
  | 'refused'
  | 'network'
  | 'locked'
  | 'corrupt';

export const ERROR_CATEGORY: Record<ErrorCode, ErrorCategory> = {
  usage: 'usage',
  invalid_value: 'usage',
  no_data_dir: 'usage',
  passphrase_required: 'usage',
  ambiguous_doc: 'usage',
  invalid_index_op: 'usage',
  invalid_record_op: 'usage',
  invalid_note_op: 'usage',
  invalid_address: 'usage',
  invalid_invite: 'usage',
  import: 'usage',
  config: 'usage',
  no_workspace: 'not_found',
  unknown_doc: 'not_found',
  no_such_version: 'not_found',
  no_such_file: 'not_found',
  unknown_address: 'not_found',
  already_exists: 'refused',
  deleted: 'refused',
  wrong_kind: 'refused',
  conflict: 'refused',
  wrong_passphrase: 'refused',
  keyring_taken: 'refused',
  refused: 'refused',
  network: 'network',
  timeout: 'network',
  locked: 'locked',
  corrupt: 'corrupt',
  newer_version: 'corrupt',
  store: 'other',
  keys: 'other',
  io: 'other',
  disk_full: 'other',
  internal: 'other',
  invalid_name: 'usage',
  not_open: 'refused',
  ipc: 'other',
  note_export: 'other',
  note_import: 'other',
  note_edit: 'other',
};

export const ERROR_CODES: readonly ErrorCode[] = Object.keys(ERROR_CATEGORY) as ErrorCode[];
