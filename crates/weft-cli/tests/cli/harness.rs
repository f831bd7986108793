//! A temp workspace home and a way to run `weft` in it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const PASSPHRASE: &str = "correct horse battery staple";

/// Whether the real OS keyring is available to tests.
pub fn keyring_available() -> bool {
    std::env::var("WEFT_TEST_KEYRING").is_ok_and(|v| v == "1")
}

pub struct Home {
    /// Kept for its lifetime: the directory goes when the `Home` does.
    _dir: tempfile::TempDir,
    /// The workspace home: `dir` itself, or a directory inside it that `weft init`
    /// makes (`Home::unmade`).
    home: PathBuf,
    /// Extra environment for every run.
    pub env: Vec<(String, String)>,
}

pub struct Run {
    pub out: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn ok(self) -> Self {
        assert!(
            self.out.status.success(),
            "weft failed ({}):\nstdout: {}\nstderr: {}",
            self.out.status,
            self.stdout(),
            self.stderr()
        );
        self
    }
    /// Asserts failure with a non-zero exit and a message containing `needle`.
    pub fn fails_with(self, needle: &str) -> Self {
        assert!(
            !self.out.status.success(),
            "expected failure, got success:\nstdout: {}",
            self.stdout()
        );
        assert_ne!(self.out.status.code(), Some(0));
        let err = self.stderr();
        assert!(
            err.to_lowercase().contains(&needle.to_lowercase()),
            "stderr does not mention `{needle}`:\n{err}"
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout()))
    }
}

pub fn weft_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_weft"))
}

impl Home {
    /// An empty home (no workspace yet).
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            home: dir.path().to_owned(),
            _dir: dir,
            env: Vec::new(),
        }
    }

    /// A home at `path` (which the caller made, and removes).
    pub fn at(path: &Path) -> Self {
        Self {
            home: path.to_owned(),
            _dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    /// A home that does not exist yet, for `weft init` to make.
    pub fn unmade() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            home: dir.path().join("weft"),
            _dir: dir,
            env: Vec::new(),
        }
    }

    /// A home with a workspace, its keys in the OS keyring when available,
    /// else in a passphrase file.
    pub fn new() -> Self {
        let mut h = Self::empty();
        if keyring_available() {
            h.run(&["init", "--name", "Test"]).ok();
        } else {
            h.env.push(("WEFT_PASSPHRASE".into(), PASSPHRASE.into()));
            h.run(&["init", "--name", "Test", "--passphrase"]).ok();
        }
        h
    }

    /// A home with a workspace whose keys are in a passphrase file, never the
    /// OS keyring: for tests that kill `weft` at random moments. gnome-keyring
    /// aborts when a client vanishes in the middle of opening its session, and
    /// the keyring it restarts is locked, which would fail every later test
    /// that uses it.
    pub fn with_passphrase() -> Self {
        let mut h = Self::empty();
        h.env.push(("WEFT_PASSPHRASE".into(), PASSPHRASE.into()));
        h.run(&["init", "--name", "Test", "--passphrase"]).ok();
        h
    }

    pub fn path(&self) -> &Path {
        &self.home
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(weft_bin());
        c.env("WEFT_HOME", self.path())
            .env_remove("WEFT_PASSPHRASE")
            .env_remove("VISUAL")
            .env_remove("EDITOR")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run {
            out: self.command().args(args).output().unwrap(),
        }
    }

    pub fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        Run {
            out: child.wait_with_output().unwrap(),
        }
    }

    /// Creates a note with content; returns its id.
    pub fn note(&self, title: &str, folder: &str, md: &str) -> String {
        let r = self
            .run_stdin(&["new", "note", title, "--folder", folder, "--stdin"], md)
            .ok();
        r.stdout().trim().to_owned()
    }

    /// Creates a record from JSON text; returns its id.
    pub fn record(&self, title: &str, json: &str) -> String {
        let r = self
            .run_stdin(&["new", "record", title, "--from-json", "-"], json)
            .ok();
        r.stdout().trim().to_owned()
    }

    /// The code line of `weft invite --no-qr`.
    pub fn invite_code(&self) -> String {
        self.run(&["invite", "--no-qr"])
            .ok()
            .stdout()
            .lines()
            .find(|l| l.starts_with("weft1-"))
            .expect("an invite code line")
            .to_owned()
    }

    /// A new device joined from `code` (mDNS off, any port, waiting at most
    /// `timeout` seconds), its keys in a passphrase file.
    pub fn joined(code: &str, timeout: &str) -> Self {
        let mut h = Self::empty();
        let out = h
            .command()
            .args(["join", code, "--passphrase", "--timeout", timeout])
            .args(["--no-mdns", "--port", "0"])
            .env("WEFT_PASSPHRASE", PASSPHRASE)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        h.env.push(("WEFT_PASSPHRASE".into(), PASSPHRASE.into()));
        h
    }

    pub fn show(&self, doc: &str) -> String {
        self.run(&["show", doc]).ok().stdout()
    }

    pub fn show_json(&self, doc: &str) -> serde_json::Value {
        self.run(&["show", doc, "--json"]).ok().json()
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path().join("weft.db")).unwrap()
    }

    /// The file's bytes and the database's change rows, to prove a failed
    /// command changed nothing.
    pub fn fingerprint(&self) -> (i64, Vec<u8>) {
        let db = self.db();
        let n: i64 = db
            .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
            .unwrap();
        let mut stmt = db
            .prepare("SELECT ciphertext FROM changes ORDER BY id")
            .unwrap();
        let all: Vec<u8> = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .flat_map(|r| r.unwrap())
            .collect();
        (n, all)
    }
}
