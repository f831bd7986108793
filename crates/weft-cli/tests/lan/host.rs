//! One host of a `Lan`: a workspace home, `weft` commands run inside the
//! host's namespace, and its daemon.

use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The passphrase of every test workspace. Passphrase workspaces because the
/// OS keyring is out of reach here: the Secret Service's D-Bus session bus
/// listens on an abstract unix socket, and those are per network namespace.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// The daemon's port in every namespace (the default, as a user runs it).
pub const PORT: &str = "4466";

pub fn weft_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_weft"))
}

pub struct Host {
    pub index: usize,
    pub ns: String,
    pub ip: Ipv4Addr,
    /// HOME, XDG dirs, the workspace home and daemon logs.
    dir: tempfile::TempDir,
    /// Daemons started so far, to give each run its own log file.
    runs: std::cell::Cell<usize>,
}

/// Formats a finished command for a failure message.
pub fn describe(args: &[&str], out: &Output) -> String {
    format!(
        "`weft {}` ({}):\nstdout: {}\nstderr: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Host {
    pub fn new(index: usize, ns: String, ip: Ipv4Addr) -> Host {
        let dir = tempfile::Builder::new()
            .prefix(&format!("weft-lan-host{index}-"))
            .tempdir()
            .expect("temp dir");
        Host {
            index,
            ns,
            ip,
            dir,
            runs: std::cell::Cell::new(0),
        }
    }

    /// The name its daemon announces.
    pub fn name(&self) -> String {
        format!("host{}", self.index)
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `ip netns exec NS weft --home HOME ARGS`, with an environment of its
    /// own: the machine's HOME, keyring session and Weft settings must not
    /// leak in. `ip netns exec` execs the program (no fork without -b), so
    /// the child's pid is weft's and signals reach it directly.
    fn command(&self, args: &[&str]) -> Command {
        let root = self.dir.path();
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns])
            .arg(weft_bin())
            .arg("--home")
            .arg(self.home())
            .args(args)
            .env("WEFT_PASSPHRASE", PASSPHRASE)
            .env("HOME", root)
            .env("XDG_DATA_HOME", root.join("xdg-data"))
            .env("XDG_CONFIG_HOME", root.join("xdg-config"))
            .env("XDG_CACHE_HOME", root.join("xdg-cache"))
            .env("XDG_RUNTIME_DIR", root.join("xdg-runtime"))
            .env(
                "RUST_LOG",
                // weft-net's debug lines say when a refused peer came back.
                std::env::var("WEFT_TEST_LOG").unwrap_or_else(|_| "info,weft_net=debug".into()),
            )
            // Plain log lines to match on, whatever tracing's colour default.
            .env("NO_COLOR", "1")
            .env_remove("WEFT_HOME")
            .env_remove("WEFT_PORT")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("VISUAL")
            .env_remove("EDITOR")
            .stdin(Stdio::null());
        c
    }

    pub fn weft(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running weft")
    }

    /// Runs weft, asserting success.
    fn succeeds(&self, args: &[&str]) -> Output {
        let out = self.weft(args);
        assert!(
            out.status.success(),
            "on {}: {}",
            self.name(),
            describe(args, &out)
        );
        out
    }

    /// Runs weft, asserting success; returns stdout (its data).
    pub fn ok(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.succeeds(args).stdout).into_owned()
    }

    /// Runs weft, asserting success; returns its messages (stderr), where
    /// confirmations and summaries go.
    pub fn ok_messages(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.succeeds(args).stderr).into_owned()
    }

    pub fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running weft");
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(input.as_bytes())
            .expect("writing stdin");
        let out = child.wait_with_output().expect("waiting for weft");
        assert!(
            out.status.success(),
            "on {}: {}",
            self.name(),
            describe(args, &out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "`weft {}` did not print JSON ({e}):\n{text}",
                args.join(" ")
            )
        })
    }

    /// `weft init --passphrase --name NAME`.
    pub fn init(&self, name: &str) {
        self.ok(&["init", "--passphrase", "--name", name]);
    }

    pub fn device_id(&self) -> String {
        self.json(&["status", "--json"])["device_id"]
            .as_str()
            .expect("status has device_id")
            .to_owned()
    }

    /// `weft status --json` `changes`: sealed changes in this device's log.
    pub fn changes(&self) -> i64 {
        let s = self.json(&["status", "--json"]);
        s["changes"]
            .as_i64()
            .unwrap_or_else(|| panic!("status --json has no `changes` count: {s}"))
    }

    /// Change rows in the home's SQLite file, read directly: a millisecond,
    /// where `weft status` takes a process and a key derivation, so a test
    /// can catch a sync in the middle. Read-only, beside the writers (WAL).
    pub fn stored_changes(&self) -> i64 {
        let db = rusqlite::Connection::open_with_flags(
            self.home().join("weft.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("opening weft.db");
        db.query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
            .expect("counting changes")
    }

    pub fn ls(&self) -> Value {
        self.json(&["ls", "--json"])
    }

    /// The titles in `ls --json`.
    pub fn titles(&self) -> Vec<String> {
        titles(&self.ls())
    }

    pub fn show(&self, doc: &str) -> Value {
        self.json(&["show", doc, "--json"])
    }

    pub fn note(&self, title: &str, markdown: &str) {
        self.ok_stdin(&["new", "note", title, "--stdin"], markdown);
    }

    pub fn edit(&self, title: &str, markdown: &str) {
        self.ok_stdin(&["edit", title, "--stdin"], markdown);
    }

    pub fn record(&self, title: &str) {
        self.ok(&["new", "record", title]);
    }

    pub fn set(&self, title: &str, pointer: &str, value_json: &str) {
        self.ok(&["set", title, pointer, value_json]);
    }

    /// `weft invite --no-qr`: the `weft1-` code.
    pub fn invite(&self) -> String {
        let out = self.ok(&["invite", "--no-qr"]);
        out.lines()
            .map(str::trim)
            .find(|l| l.starts_with("weft1-"))
            .unwrap_or_else(|| panic!("`weft invite --no-qr` printed no weft1- line:\n{out}"))
            .to_owned()
    }

    /// `weft join CODE --passphrase`, successful or not: the caller checks
    /// what it pulled.
    pub fn join(&self, code: &str) -> Output {
        self.weft(&["join", code, "--passphrase", "--timeout", "30"])
    }

    /// Starts `weft daemon --port 4466 --device-name hostI EXTRA` in the
    /// namespace and waits until it listens on the host's address.
    pub fn spawn_daemon(&self, extra: &[&str]) -> Daemon {
        let run = self.runs.get();
        self.runs.set(run + 1);
        let log = self.dir.path().join(format!("daemon-{run}.log"));
        let file = File::create(&log).expect("daemon log");
        let name = self.name();
        let mut args = vec!["daemon", "--port", PORT, "--device-name", &name];
        args.extend_from_slice(extra);
        let child = self
            .command(&args)
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .expect("starting weft daemon");
        let mut d = Daemon {
            child: Some(child),
            log,
            name: format!("{}'s daemon (run {run})", self.name()),
        };
        // Polled every 5 ms, not with wait_until: a test that kills the
        // daemon mid-sync needs it back before the sync is over.
        let want = format!("listening on /ip4/{}/tcp/{PORT}/p2p/", self.ip);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !d.log().contains(&want) {
            if let Some(s) = d.exited() {
                panic!("{} exited ({s}) before listening:\n{}", d.name, d.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not start listening on {} within 20 s:\n{}",
                d.name,
                self.ip,
                d.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        d
    }
}

pub fn titles(ls: &Value) -> Vec<String> {
    let mut t: Vec<String> = ls
        .as_array()
        .unwrap_or_else(|| panic!("ls --json is not an array: {ls}"))
        .iter()
        .map(|d| d["title"].as_str().unwrap_or_default().to_owned())
        .collect();
    t.sort();
    t
}

/// A running `weft daemon`; killed on drop.
pub struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    name: String,
}

impl Daemon {
    /// Everything it has logged so far (stderr and stdout).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Its exit status, if it has exited.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Asserts it is still running.
    pub fn assert_running(&mut self) {
        if let Some(s) = self.exited() {
            panic!("{} exited ({s}):\n{}", self.name, self.log());
        }
    }

    /// Sends SIGTERM, waits up to 20 s and asserts a clean exit (status 0).
    /// Returns the log.
    pub fn sigterm(mut self) -> String {
        self.assert_running();
        // Through the shell's builtin: the tests forbid unsafe code (no
        // libc::kill) and /bin/kill (procps) is not an Essential package.
        let pid = self.pid().to_string();
        let sent = Command::new("sh")
            .args(["-c", "kill -TERM \"$1\"", "sh", &pid])
            .status()
            .expect("running sh");
        assert!(sent.success(), "could not signal {}", self.name);
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.exited() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within 20 s of SIGTERM:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        self.child = None;
        let log = self.log();
        assert!(
            status.success(),
            "{} exited with {status} after SIGTERM, not 0:\n{log}",
            self.name
        );
        log
    }

    /// SIGKILL: no chance to drain or flush anything. Returns the log.
    pub fn sigkill(mut self) -> String {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.log()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
