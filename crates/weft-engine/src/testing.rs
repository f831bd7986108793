//! What the unit tests of several modules share.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use weft_crypto::{DeviceKey, MemoryStore, WorkspaceKey, WorkspaceSecrets};

use crate::Workspace;

/// A new workspace in `dir` with fixed keys, and the store holding them (to
/// open it again with [`Workspace::open_in`]).
pub(crate) fn workspace(dir: &Path) -> (Workspace, MemoryStore) {
    let secrets = MemoryStore::new();
    let ws = Workspace::create_in(
        dir,
        "Test",
        weft_core::WorkspaceId::from_bytes([3; 16]),
        WorkspaceSecrets {
            workspace_key: WorkspaceKey::from_bytes([4; 32]),
            device_key: DeviceKey::from_seed([5; 32]),
        },
        &secrets,
    )
    .unwrap();
    (ws, secrets)
}
