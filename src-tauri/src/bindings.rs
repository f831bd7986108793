//! The TypeScript of everything the shell sends its UI: every command's result type,
//! the error shape and the event payloads and names, generated from the Rust
//! definitions with ts-rs into `ui/src/generated/ipc.ts`, which `ui/src/api.ts` imports.
//! A test fails when the committed file differs (`make bindings` rewrites it), so the UI
//! cannot drift from the shell again.
//!
//! ts-rs rather than tauri-specta: the types are what drifted (a field missing in
//! `DocSummary`), and ts-rs derives them from the serde shapes with no change to how
//! commands are registered or called; `api.ts` stays the one place that names commands.

use ts_rs::TS;

use crate::session::{DocsChanged, UiError, UiEvent, WorkspaceView};
use crate::views::{
    Device, DocTable, InviteView, Preview, RecordView, RelayView, SettingsView, SyncState,
    SyncStatus, VersionView, Via,
};

/// One declaration, exported.
fn export<T: TS>() -> String {
    let docs = T::docs().unwrap_or_default();
    format!("{docs}export {}\n", T::decl())
}

/// The whole generated module.
pub fn typescript() -> String {
    let mut s = String::from(
        "// Generated from the Rust definitions (src-tauri/src/bindings.rs) by `make bindings`;\n\
         // do not edit.\n\n\
         import type { ErrorCode } from './errors';\n\n",
    );
    for decl in [
        export::<weft_core::DocKind>(),
        export::<weft_engine::DocSummary>(),
        export::<DocTable>(),
        export::<weft_engine::ConflictView>(),
        export::<weft_engine::Holder>(),
        export::<weft_engine::Unreadable>(),
        export::<weft_engine::SearchHit>(),
        export::<WorkspaceView>(),
        export::<RecordView>(),
        export::<Preview>(),
        export::<VersionView>(),
        export::<Via>(),
        export::<Device>(),
        export::<RelayView>(),
        export::<SyncState>(),
        export::<SyncStatus>(),
        export::<InviteView>(),
        export::<SettingsView>(),
        export::<UiError>(),
        export::<DocsChanged>(),
    ] {
        s.push_str(&decl);
        s.push('\n');
    }
    s.push_str("/** The events the shell emits. */\nexport const EVENTS = {\n");
    s.push_str(&format!(
        "  docsChanged: '{}',\n  syncChanged: '{}',\n}} as const;\n",
        UiEvent::DocsChanged(Vec::new()).name(),
        UiEvent::SyncChanged.name()
    ));
    s
}

#[cfg(test)]
mod tests {
    /// The committed `ui/src/generated/ipc.ts` is what [`super::typescript`] writes.
    /// `WEFT_BLESS=1` (`make bindings`) rewrites it.
    #[test]
    fn the_ui_types_are_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/generated/ipc.ts");
        let want = super::typescript();
        if std::env::var_os("WEFT_BLESS").is_some() {
            std::fs::write(path, &want).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "{path} is out of date with the Rust types: run `make bindings`"
        );
    }
}
