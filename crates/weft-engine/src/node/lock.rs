//! One node per workspace: a running node holds an advisory lock on
//! `node.lock` in the workspace home and writes its pid and listen
//! addresses there.
//!
//! Two nodes on one workspace would be one device id on two sockets: peers
//! would see the same PeerId from two places and keep replacing one
//! session with the other. Editing commands need no lock (they share the
//! SQLite file safely); only what runs the network takes it. The OS drops
//! the lock when the process dies, so a SIGKILLed daemon leaves no stale
//! lock behind.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::NodeError;

/// The lock file's name in the workspace home.
pub const LOCK_FILE: &str = "node.lock";

/// A node running on a workspace, as its lock file tells.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunningNode {
    /// Its process id.
    pub pid: u32,
    /// The addresses it listens on (with `/p2p/<device id>`).
    pub addrs: Vec<String>,
}

pub(crate) struct NodeLock {
    file: File,
    addrs: Vec<String>,
}

fn parse(text: &str) -> Option<RunningNode> {
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    Some(RunningNode {
        pid,
        addrs: lines
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect(),
    })
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> NodeError + '_ {
    move |e| NodeError::Lock {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

impl NodeLock {
    pub(crate) fn acquire(home: &Path) -> Result<Self, NodeError> {
        let path = home.join(LOCK_FILE);
        let err = io_err(&path);
        // 0600: it names this device's listen addresses.
        let mut file = crate::home::private_file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(&err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(NodeError::Busy {
                    home: home.to_owned(),
                    pid: parse(&text).map(|r| r.pid),
                });
            }
            Err(TryLockError::Error(e)) => return Err(err(e)),
        }
        let mut lock = Self {
            file,
            addrs: Vec::new(),
        };
        lock.write().map_err(&err)?;
        Ok(lock)
    }

    fn write(&mut self) -> std::io::Result<()> {
        let mut text = format!("{}\n", std::process::id());
        for a in &self.addrs {
            text.push_str(a);
            text.push('\n');
        }
        // Write, then cut to length: truncating first would let a reader
        // see an empty file and think no node runs.
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(text.as_bytes())?;
        self.file.set_len(text.len() as u64)
    }

    pub(crate) fn add_addr(&mut self, addr: String) {
        if !self.addrs.contains(&addr) {
            self.addrs.push(addr);
            if let Err(e) = self.write() {
                tracing::debug!("updating {LOCK_FILE}: {e}");
            }
        }
    }
}

/// The node running on the workspace in `home`, if one is.
pub fn running_node(home: &Path) -> Option<RunningNode> {
    let path: PathBuf = home.join(LOCK_FILE);
    let mut file = File::open(&path).ok()?;
    match file.try_lock_shared() {
        // Nobody holds it: no node runs (the file is a leftover).
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            file.read_to_string(&mut text).ok()?;
            parse(&text)
        }
        Err(TryLockError::Error(_)) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_node_on_one_workspace_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = NodeLock::acquire(dir.path()).unwrap();
        first.add_addr("/ip4/10.0.0.1/tcp/4466/p2p/x".into());
        let err = NodeLock::acquire(dir.path()).err().unwrap();
        assert!(matches!(err, NodeError::Busy { pid: Some(p), .. } if p == std::process::id()));
        let running = running_node(dir.path()).unwrap();
        assert_eq!(running.addrs, ["/ip4/10.0.0.1/tcp/4466/p2p/x"]);
        drop(first);
        assert_eq!(running_node(dir.path()), None);
        NodeLock::acquire(dir.path()).unwrap();
    }
}
