//! What every command needs and nothing else owns: the global options, the workspace
//! home, the passphrase, opening the workspace, the async runtime, logging, and the
//! CLI's own typed failure ([`Fail`]) with the code it exits by.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use weft_core::{Coded, ErrorCode};
use weft_engine::{EngineError, Workspace};
use zeroize::Zeroizing;

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Workspace directory [default: $WEFT_HOME, else $XDG_DATA_HOME/weft].
    // WEFT_HOME is read by `home()`, not by clap's `env`: clap counts an argument set
    // from the environment as used, and printed `--home <DIR>` in every usage line.
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// When to colour messages on standard error (NO_COLOR in the environment means
    /// never, unless --color=always).
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// When standard error is a terminal and NO_COLOR is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorWhen {
    /// Whether messages on standard error get colour.
    pub fn stderr(self) -> bool {
        self.colour(no_color_unset(), std::io::stderr().is_terminal())
    }

    /// The decision itself: `--color` wins; `auto` colours a terminal unless
    /// NO_COLOR is set.
    fn colour(self, no_color_unset: bool, terminal: bool) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => no_color_unset && terminal,
        }
    }

    /// The same decision as an argument list would make it before clap has parsed it
    /// (for clap's own messages): `--color=never`, `--color never`, NO_COLOR.
    pub fn from_raw_args(args: &[std::ffi::OsString]) -> ColorWhen {
        let mut when = ColorWhen::Auto;
        let mut it = args.iter().map(|a| a.to_string_lossy());
        while let Some(a) = it.next() {
            if a == "--" {
                break;
            }
            let v = match a.strip_prefix("--color") {
                Some("") => it.next().map(|s| s.into_owned()),
                Some(rest) => rest.strip_prefix('=').map(str::to_owned),
                None => None,
            };
            if let Some(v) = v.and_then(|v| ColorWhen::from_str(&v, true).ok()) {
                when = v;
            }
        }
        when
    }
}

fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A failure the CLI itself detects, with its code (and so its exit code).
#[derive(Debug)]
pub struct Fail {
    /// The code from the one table.
    pub code: ErrorCode,
    /// What was wrong, for people.
    pub message: String,
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

/// Returns early with a [`Fail`]: `fail!(Usage, "…{x}…")`.
macro_rules! fail {
    ($code:ident, $($fmt:tt)+) => {
        return Err(crate::context::Fail {
            code: weft_core::ErrorCode::$code,
            message: format!($($fmt)+),
        }
        .into())
    };
}
pub(crate) use fail;

/// A [`Fail`] as a value, for `ok_or_else` and `map_err`.
pub fn failure(code: ErrorCode, message: impl Into<String>) -> anyhow::Error {
    Fail {
        code,
        message: message.into(),
    }
    .into()
}

/// The code of an error: the first error in its chain that knows its code.
pub fn code_of(e: &anyhow::Error) -> ErrorCode {
    for cause in e.chain() {
        if let Some(f) = cause.downcast_ref::<Fail>() {
            return f.code;
        }
        if let Some(c) = coded(cause) {
            return c;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::NotFound => ErrorCode::NoSuchFile,
                std::io::ErrorKind::TimedOut => ErrorCode::Timeout,
                std::io::ErrorKind::StorageFull => ErrorCode::DiskFull,
                _ => ErrorCode::Io,
            };
        }
        if cause.downcast_ref::<serde_json::Error>().is_some() {
            return ErrorCode::InvalidValue;
        }
    }
    ErrorCode::Internal
}

fn coded(e: &(dyn std::error::Error + 'static)) -> Option<ErrorCode> {
    macro_rules! try_types {
        ($($t:ty),*) => {
            $(if let Some(x) = e.downcast_ref::<$t>() { return Some(x.code()); })*
        };
    }
    try_types!(
        EngineError,
        weft_engine::node::NodeError,
        weft_engine::StoreError,
        weft_crypto::SecretError,
        weft_crypto::InviteError,
        weft_core::index::IndexError,
        weft_core::record::RecordError,
        weft_core::note::NoteError
    );
    None
}

/// The workspace home: `--home`, else `WEFT_HOME`, else the XDG data directory.
pub fn home(g: &Global) -> Result<PathBuf> {
    if let Some(h) = &g.home {
        return Ok(h.clone());
    }
    if let Some(h) = std::env::var_os("WEFT_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    Ok(weft_engine::default_home()?)
}

/// The passphrase from WEFT_PASSPHRASE, or a prompt on the terminal.
pub fn passphrase(confirm: bool) -> Result<Zeroizing<String>> {
    if let Some(p) = std::env::var_os("WEFT_PASSPHRASE") {
        let Ok(p) = p.into_string() else {
            fail!(InvalidValue, "WEFT_PASSPHRASE is not valid UTF-8");
        };
        if p.is_empty() {
            fail!(InvalidValue, "WEFT_PASSPHRASE is set but empty");
        }
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        fail!(
            PassphraseRequired,
            "a passphrase is needed: set WEFT_PASSPHRASE (no terminal to prompt on)"
        );
    }
    let p = Zeroizing::new(
        rpassword::prompt_password("Passphrase: ").context("reading the passphrase")?,
    );
    if p.is_empty() {
        fail!(InvalidValue, "the passphrase must not be empty");
    }
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("Repeat passphrase: ").context("reading the passphrase")?,
        );
        if *again != *p {
            fail!(
                InvalidValue,
                "the two passphrases differ; nothing was created"
            );
        }
    }
    Ok(p)
}

/// Opens the workspace, asking for its passphrase if its keys need one. The first open
/// of a process warns about each file of the home that others can read.
pub fn open(g: &Global) -> Result<Workspace> {
    let home = home(g)?;
    warn_loose_permissions(&home);
    match Workspace::open(&home, None) {
        Err(EngineError::PassphraseRequired { .. }) => {
            let p = passphrase(false)?;
            Ok(Workspace::open(&home, Some(&p))?)
        }
        r => Ok(r?),
    }
}

/// Says on standard error, once per process, which files of `home` are open to other
/// users and the `chmod` that closes each.
pub fn warn_loose_permissions(home: &std::path::Path) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for loose in weft_engine::loose_permissions(home) {
            crate::output::say!("warning: {loose}");
        }
    });
}

/// How much a command logs when RUST_LOG does not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    /// A service (`weft daemon`): Weft's own info lines and libp2p's warnings, the way
    /// systemd's journal wants it.
    Service,
    /// A command a person or script waits on: errors only, so its messages are its
    /// own report (each said once, by the command) and nothing else; with `--json`,
    /// its standard error stays one JSON document.
    Command,
}

/// Logs to stderr, filtered by RUST_LOG (else by `verbosity`); coloured only as
/// `--color` says.
pub fn init_logging(g: &Global, verbosity: Verbosity) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(match verbosity {
            Verbosity::Service => "warn,weft=info,weft_engine=info,weft_net=info",
            Verbosity::Command => "error",
        })
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(g.color.stderr())
        .with_writer(std::io::stderr)
        .with_target(false)
        // A log line that cannot be written (stderr on a full disk) is
        // dropped. With internal errors on, the subscriber reports the
        // failure with `eprintln!` to the same stderr, which panics, and a
        // daemon whose logging thread panicked stopped syncing silently.
        .log_internal_errors(false)
        .try_init();
}

/// The runtime for the commands that run a node (the others need none).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("weft-net")
        .build()
        .context("starting the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_is_read_from_raw_arguments() {
        let args = |a: &[&str]| -> Vec<std::ffi::OsString> { a.iter().map(Into::into).collect() };
        assert_eq!(
            ColorWhen::from_raw_args(&args(&["weft", "--color=never", "ls"])),
            ColorWhen::Never
        );
        assert_eq!(
            ColorWhen::from_raw_args(&args(&["weft", "ls", "--color", "always"])),
            ColorWhen::Always
        );
        assert_eq!(
            ColorWhen::from_raw_args(&args(&["weft", "show", "--", "--color=never"])),
            ColorWhen::Auto
        );
    }

    #[test]
    fn no_color_turns_colour_off_on_a_terminal_unless_asked_for() {
        assert!(ColorWhen::Auto.colour(true, true));
        assert!(
            !ColorWhen::Auto.colour(false, true),
            "NO_COLOR on a terminal"
        );
        assert!(!ColorWhen::Auto.colour(true, false), "not a terminal");
        assert!(ColorWhen::Always.colour(false, false));
        assert!(!ColorWhen::Never.colour(true, true));
    }

    #[test]
    fn codes_come_from_the_first_error_that_knows_its_code() {
        let e =
            anyhow::Error::new(EngineError::UnknownDoc { query: "x".into() }).context("showing x");
        assert_eq!(code_of(&e), ErrorCode::UnknownDoc);
        let io = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound))
            .context("reading f");
        assert_eq!(code_of(&io), ErrorCode::NoSuchFile);
        assert_eq!(code_of(&anyhow::anyhow!("plain")), ErrorCode::Internal);
        assert_eq!(
            code_of(&failure(ErrorCode::Timeout, "late")),
            ErrorCode::Timeout
        );
    }
}
