//! Where a workspace lives on disk.

use std::path::PathBuf;

use crate::EngineError;

/// The SQLite file inside a workspace home.
pub const DB_FILE: &str = "weft.db";
/// The passphrase-protected key file, for machines without an OS keyring.
pub const KEY_FILE: &str = "keys.weftkey";

/// The workspace home: `$WEFT_HOME` if set, else `$XDG_DATA_HOME/weft`
/// (`~/.local/share/weft`; the platform's data dir on macOS and Windows).
pub fn default_home() -> Result<PathBuf, EngineError> {
    if let Some(h) = std::env::var_os("WEFT_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    dirs::data_dir()
        .map(|d| d.join("weft"))
        .ok_or(EngineError::NoDataDir)
}
