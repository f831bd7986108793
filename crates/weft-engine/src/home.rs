//! Where a workspace lives on disk.

use std::path::{Path, PathBuf};

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

/// The files of a home, each of which only its owner may read: the database and the
/// two files SQLite keeps beside it in WAL mode, the key file, the settings and the
/// node's lock (its pid and listen addresses).
const PRIVATE_FILES: [&str; 6] = [
    DB_FILE,
    "weft.db-wal",
    "weft.db-shm",
    KEY_FILE,
    crate::config::CONFIG_FILE,
    crate::node::LOCK_FILE,
];

/// A file or directory of a workspace home that other users of the machine can read
/// or write. The database holds the names and addresses of devices and relays in
/// plaintext, so the home is 0700 and every file in it 0600.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoosePermission {
    /// The file or directory.
    pub path: PathBuf,
    /// Its permission bits as found.
    pub mode: u32,
    /// The bits it should have: 0o700 for the home, 0o600 for a file.
    pub want: u32,
}

impl std::fmt::Display for LoosePermission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is open to other users of this machine (mode {:04o}); `chmod {:o} {}` makes it private",
            self.path.display(),
            self.mode,
            self.want,
            shell_quote(&self.path.to_string_lossy()),
        )
    }
}

/// `s` as one shell word.
fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The files and the directory of `home` that are wider than they should be (always
/// none on systems without Unix permissions, and none where no workspace is yet: a
/// directory `weft init` has not made private holds nothing to protect). Files that do
/// not exist are skipped.
pub fn loose_permissions(home: &Path) -> Vec<LoosePermission> {
    let mut out = Vec::new();
    if !home.join(DB_FILE).is_file() {
        return out;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut check = |path: PathBuf, want: u32| {
            // symlink_metadata: a link's own bits mean nothing; what it points at is
            // not this home's to judge.
            if let Ok(m) = std::fs::symlink_metadata(&path)
                && !m.file_type().is_symlink()
            {
                let mode = m.permissions().mode() & 0o7777;
                if mode & 0o077 != 0 {
                    out.push(LoosePermission { path, mode, want });
                }
            }
        };
        check(home.to_owned(), 0o700);
        for f in PRIVATE_FILES {
            check(home.join(f), 0o600);
        }
    }
    #[cfg(not(unix))]
    let _ = home;
    out
}

/// Creates `home` (and its parents) if missing and makes it private to its owner
/// (0700 on Unix), so the files Weft puts in it are not listed or read by others.
pub(crate) fn make_private_home(home: &Path) -> Result<(), EngineError> {
    std::fs::create_dir_all(home).map_err(EngineError::io(home))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))
            .map_err(EngineError::io(home))?;
    }
    Ok(())
}

/// Options that create a file readable by its owner alone (0600 on Unix).
pub(crate) fn private_file_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut opts = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts
}
