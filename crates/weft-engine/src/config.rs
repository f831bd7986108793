//! `weft.toml` in the workspace home: this device's settings that are not
//! workspace data (they do not sync). The CLI's daemon and the desktop app
//! read the same file; flags given to the CLI win over it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::EngineError;
use crate::node::{Multiaddr, NodeConfig};

/// The optional config file in the workspace home.
pub const CONFIG_FILE: &str = "weft.toml";

/// `weft.toml`. Every key is optional.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[net]`.
    #[serde(default)]
    pub net: NetSection,
    /// `[sync]`.
    #[serde(default, skip_serializing_if = "SyncSection::is_empty")]
    pub sync: SyncSection,
}

/// `[sync]`: what this device accepts from its peers.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// The most devices whose changes the workspace accepts (default
    /// 1,000): changes from further new devices are refused, so a member
    /// cannot make every version vector, and every `have`, grow without
    /// bound by inventing authors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_authors: Option<usize>,
}

impl SyncSection {
    fn is_empty(&self) -> bool {
        self.max_authors.is_none()
    }
}

/// `[net]`: how this device's node runs.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetSection {
    /// TCP and QUIC port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Find peers on the LAN by mDNS (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mdns: Option<bool>,
    /// The name other devices see (default: the host name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// Multiaddrs to stay connected to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
}

fn config_path(home: &Path) -> PathBuf {
    home.join(CONFIG_FILE)
}

fn config_error(path: &Path, detail: impl ToString) -> EngineError {
    EngineError::Config {
        path: path.to_owned(),
        detail: detail.to_string(),
    }
}

impl ConfigFile {
    /// Reads `weft.toml` from `home`; a missing file is the defaults, a file
    /// that does not parse (or has unknown keys) is an error naming it.
    pub fn read(home: &Path) -> Result<ConfigFile, EngineError> {
        let path = config_path(home);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| config_error(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(config_error(&path, e)),
        }
    }

    /// Writes the file atomically (a temporary file renamed over it), so a
    /// crash leaves the old settings or the new ones, never half of either.
    pub fn write(&self, home: &Path) -> Result<(), EngineError> {
        let path = config_path(home);
        let text = toml::to_string(self).map_err(|e| config_error(&path, e))?;
        let tmp = home.join(format!(".{CONFIG_FILE}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        // 0600 like every file of the home: it names this device and its peers.
        let mut f = crate::home::private_file_options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| config_error(&tmp, e))?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| config_error(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(|e| config_error(&path, e))
    }

    /// How to run this device's node, as the file says (defaults for what
    /// it leaves out). A peer address that is not a multiaddr is an error
    /// naming the file.
    pub fn node_config(&self, home: &Path) -> Result<NodeConfig, EngineError> {
        let mut peers = Vec::new();
        for a in &self.net.peers {
            peers.push(a.parse::<Multiaddr>().map_err(|e| {
                config_error(
                    &config_path(home),
                    format!("`{a}` is not a multiaddr (e.g. /ip4/192.168.1.20/tcp/4466): {e}"),
                )
            })?);
        }
        Ok(NodeConfig {
            port: self.net.port.unwrap_or(crate::node::DEFAULT_PORT),
            mdns: self.net.mdns.unwrap_or(true),
            device_name: self.device_name(),
            peers,
            max_authors: self.sync.max_authors.unwrap_or(crate::DEFAULT_MAX_AUTHORS),
        })
    }

    /// The device name: the file's, else the host name.
    pub fn device_name(&self) -> String {
        self.net
            .device_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(hostname)
    }
}

/// This machine's host name (the platform's own call: gethostname(2) on Unix,
/// GetComputerNameExW on Windows), the default device name.
pub fn hostname() -> String {
    let name = gethostname::gethostname()
        .to_string_lossy()
        .trim()
        .to_owned();
    // macOS reports "Name.local" for a machine whose name came from Bonjour.
    let name = name.strip_suffix(".local").unwrap_or(&name).to_owned();
    if name.is_empty() || name == "localhost" {
        "weft device".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_defaults_and_written_settings_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ConfigFile::read(dir.path()).unwrap(), ConfigFile::default());
        let mut c = ConfigFile::default();
        c.net.device_name = Some("laptop".into());
        c.net.mdns = Some(false);
        c.write(dir.path()).unwrap();
        let back = ConfigFile::read(dir.path()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.device_name(), "laptop");
        // It names this device and its peers: its owner's alone, also when rewritten.
        c.write(dir.path()).unwrap();
        std::fs::write(dir.path().join(crate::DB_FILE), "").unwrap();
        let loose = crate::home::loose_permissions(dir.path());
        assert!(!loose.is_empty(), "the test's own files are wider");
        assert!(
            loose.iter().all(|l| l.path != config_path(dir.path())),
            "{loose:?}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(dir.path().join(CONFIG_FILE)).unwrap();
            assert_eq!(m.permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn unknown_keys_are_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "[net]\nprot = 1\n").unwrap();
        let e = ConfigFile::read(dir.path()).unwrap_err();
        assert_eq!(e.code(), "config");
        assert!(e.to_string().contains(CONFIG_FILE), "{e}");
        assert!(e.to_string().contains("prot"), "{e}");
    }
}
