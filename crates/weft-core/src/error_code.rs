//! The one table of error codes: every error the engine, the CLI, the desktop shell and
//! the UI report carries one of these codes, and each code belongs to one [`Category`],
//! which is what `weft` exits with.
//!
//! The table is written once, in [`codes!`]; the TypeScript union the UI matches on
//! (`ui/src/generated/errors.ts`) is generated from it by [`typescript`], and a test fails
//! when the committed file differs.

use std::fmt;

/// What kind of failure an error is; a script tells them apart by `weft`'s exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Anything not below.
    Other,
    /// The command line or a value given on it is wrong (a typo, a bad flag combination,
    /// a value that is not JSON).
    Usage,
    /// The workspace, document, version, relay or address asked for does not exist.
    NotFound,
    /// The request is understood but refused: a wrong passphrase, a deleted document, a
    /// failed patch test, a relay's refusal, something that already exists.
    Refused,
    /// The network failed or a wait timed out.
    Network,
    /// Another process holds the workspace's node lock.
    Locked,
    /// Stored data is corrupt, or was written by a newer version of Weft.
    Corrupt,
}

impl Category {
    /// The process exit code of this category (documented in `weft --help` and the
    /// README).
    pub const fn exit_code(self) -> u8 {
        match self {
            Category::Other => 1,
            Category::Usage => 2,
            Category::NotFound => 3,
            Category::Refused => 4,
            Category::Network => 5,
            Category::Locked => 6,
            Category::Corrupt => 7,
        }
    }

    /// Every category, in exit-code order.
    pub const ALL: [Category; 7] = [
        Category::Other,
        Category::Usage,
        Category::NotFound,
        Category::Refused,
        Category::Network,
        Category::Locked,
        Category::Corrupt,
    ];

    /// What the category means, for help texts.
    pub const fn describe(self) -> &'static str {
        match self {
            Category::Other => "any other failure (a file system error, a full disk, no keyring)",
            Category::Usage => "usage: a bad command line or value",
            Category::NotFound => "not found: no such workspace, document, version or address",
            Category::Refused => {
                "refused or conflict (wrong passphrase, deleted, already exists, refused by a peer or relay)"
            }
            Category::Network => "network failure or timeout",
            Category::Locked => "the workspace is locked by another running node",
            Category::Corrupt => "corrupt or unreadable data (or written by a newer Weft)",
        }
    }
}

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal => $category:ident, )*) => {
        /// A stable, machine-readable error code. Its string form (`as_str`, and its
        /// serde form) is what `--json` errors, the desktop shell and the UI carry.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as the wire, `--json` and the UI spell it.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// The category (and so the exit code) of this code.
            pub const fn category(self) -> Category {
                match self { $(ErrorCode::$variant => Category::$category,)* }
            }

            /// The code spelt `s`, if it is one.
            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s { $($name => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    /// A bad command line: unknown flag, missing argument, meaningless combination.
    Usage = "usage" => Usage,
    /// A value given by the user is malformed (not JSON, not UTF-8, empty).
    InvalidValue = "invalid_value" => Usage,
    /// No data directory could be determined (no HOME, no XDG_DATA_HOME).
    NoDataDir = "no_data_dir" => Usage,
    /// The workspace keys are in a passphrase file and no passphrase can be asked for.
    PassphraseRequired = "passphrase_required" => Usage,
    /// The id, prefix or title matches several documents.
    AmbiguousDoc = "ambiguous_doc" => Usage,
    /// A title or folder path that is not allowed.
    InvalidIndexOp = "invalid_index_op" => Usage,
    /// A record operation that cannot apply (bad pointer, not a counter, not a patch).
    InvalidRecordOp = "invalid_record_op" => Usage,
    /// A note operation that cannot apply.
    InvalidNoteOp = "invalid_note_op" => Usage,
    /// A multiaddr or relay address that is not valid.
    InvalidAddress = "invalid_address" => Usage,
    /// An invite code that is mistyped, truncated or not an invite code.
    InvalidInvite = "invalid_invite" => Usage,
    /// A file to import is not what it should be.
    Import = "import" => Usage,
    /// `weft.toml` is not valid.
    Config = "config" => Usage,
    /// There is no workspace in the home.
    NoWorkspace = "no_workspace" => NotFound,
    /// No document matches.
    UnknownDoc = "unknown_doc" => NotFound,
    /// A version outside the document's history.
    NoSuchVersion = "no_such_version" => NotFound,
    /// A file or directory given on the command line does not exist.
    NoSuchFile = "no_such_file" => NotFound,
    /// An address, peer or relay that is not in the list.
    UnknownAddress = "unknown_address" => NotFound,
    /// The workspace, a folder or a document already exists.
    AlreadyExists = "already_exists" => Refused,
    /// The document is in the trash.
    Deleted = "deleted" => Refused,
    /// An operation for one kind of document asked of another.
    WrongKind = "wrong_kind" => Refused,
    /// A JSON Patch `test` failed: the record is not as the patch expected.
    Conflict = "conflict" => Refused,
    /// The passphrase does not open the key file.
    WrongPassphrase = "wrong_passphrase" => Refused,
    /// The OS keyring already holds a device of this workspace.
    KeyringTaken = "keyring_taken" => Refused,
    /// A peer or a relay refused (quota, rate limit, not a member).
    Refused = "refused" => Refused,
    /// The network could not be started or reached.
    Network = "network" => Network,
    /// A wait ran out before the work was done.
    Timeout = "timeout" => Network,
    /// Another process runs a node on this workspace.
    Locked = "locked" => Locked,
    /// Stored data could not be read back (damaged, or altered outside Weft).
    Corrupt = "corrupt" => Corrupt,
    /// The database or key file was written by a newer Weft.
    NewerVersion = "newer_version" => Corrupt,
    /// The database failed (I/O, locking).
    Store = "store" => Other,
    /// The keys could not be stored or loaded (no keyring).
    Keys = "keys" => Other,
    /// A file system error.
    Io = "io" => Other,
    /// The disk holding the workspace (or a file being written) is full. Category
    /// other, like every file system failure: the write changed nothing, and the same
    /// command works once space is freed.
    DiskFull = "disk_full" => Other,
    /// An internal invariant failed; never caused by input.
    Internal = "internal" => Other,
    /// A name (of a workspace, a device) that is not allowed.
    InvalidName = "invalid_name" => Usage,
    /// The window has no workspace open for this call.
    NotOpen = "not_open" => Refused,
    /// The UI could not reach the shell (raised by the UI only).
    Ipc = "ipc" => Other,
    /// The editor could not encode its changes (raised by the UI only).
    NoteExport = "note_export" => Other,
    /// The editor could not load a note's state or updates (raised by the UI only).
    NoteImport = "note_import" => Other,
    /// The editor could not apply a local edit (raised by the UI only).
    NoteEdit = "note_edit" => Other,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ErrorCode::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code `{s}`")))
    }
}

/// Anything that can say which [`ErrorCode`] it is.
pub trait Coded {
    /// The error's code.
    fn code(&self) -> ErrorCode;
}

impl Coded for crate::index::IndexError {
    fn code(&self) -> ErrorCode {
        use crate::index::IndexError as E;
        match self {
            E::InvalidTitle { .. } | E::InvalidFolderPath { .. } | E::Cycle { .. } => {
                ErrorCode::InvalidIndexOp
            }
            E::WrongKind { .. } => ErrorCode::WrongKind,
            E::NoSuchDoc { .. } => ErrorCode::UnknownDoc,
            E::NoSuchFolder { .. } => ErrorCode::UnknownDoc,
            E::DocExists { .. } | E::FolderExists { .. } => ErrorCode::AlreadyExists,
            // Bytes the caller handed in (stored data that fails to load is reported
            // by the engine as `corrupt`, with the document it belongs to).
            E::Load(_) | E::Panicked(_) | E::Check(_) => ErrorCode::InvalidIndexOp,
            // The engine loads the tree before any change: reaching this is a bug.
            E::Loro(_) | E::Export(_) | E::Deferred => ErrorCode::Internal,
        }
    }
}

impl Coded for crate::record::RecordError {
    fn code(&self) -> ErrorCode {
        use crate::record::RecordError as E;
        match self {
            E::NotAnObject { .. }
            | E::InvalidPointer { .. }
            | E::NotAContainer { .. }
            | E::NotACounter { .. }
            | E::TooDeep { .. }
            | E::NotAPatch { .. }
            | E::PatchOp { .. } => ErrorCode::InvalidRecordOp,
            E::NoSuchPath { .. } => ErrorCode::InvalidRecordOp,
            E::PatchTestFailed { .. } => ErrorCode::Conflict,
            E::Load(_) | E::Panicked(_) => ErrorCode::InvalidRecordOp,
            E::Automerge(_) => ErrorCode::Internal,
        }
    }
}

impl Coded for crate::note::NoteError {
    fn code(&self) -> ErrorCode {
        use crate::note::NoteError as E;
        match self {
            // An editor's update Loro refuses; stored data that fails to load is
            // reported by the engine as `corrupt`.
            E::Import(_) | E::Panicked(_) => ErrorCode::InvalidNoteOp,
            E::OutOfRange { .. } => ErrorCode::InvalidNoteOp,
            E::Edit(_) => ErrorCode::InvalidNoteOp,
            E::Export(_) => ErrorCode::Internal,
        }
    }
}

impl Coded for crate::ids::IdError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidValue
    }
}

/// Renders an error and its sources as one line, each cause once: a source whose text
/// the message already contains (an error that prints its cause) is not repeated.
pub fn render(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

/// The TypeScript module the UI imports (`ui/src/generated/errors.ts`): the union of
/// every code and the category of each.
pub fn typescript() -> String {
    let mut s = String::from(
        "// Generated from weft-core/src/error_code.rs by `make bindings`; do not edit.\n\n\
         /** Every error code Weft reports (`{code, message}` from the shell). */\nexport type ErrorCode =\n",
    );
    for c in ErrorCode::ALL {
        s.push_str(&format!("  | '{}'\n", c.as_str()));
    }
    s.pop();
    s.push_str(";\n\n/** The category of each code; the CLI exits with its number. */\n");
    s.push_str("export type ErrorCategory =\n");
    for c in Category::ALL {
        s.push_str(&format!("  | '{}'\n", category_name(c)));
    }
    s.pop();
    s.push_str(";\n\nexport const ERROR_CATEGORY: Record<ErrorCode, ErrorCategory> = {\n");
    for c in ErrorCode::ALL {
        s.push_str(&format!(
            "  {}: '{}',\n",
            c.as_str(),
            category_name(c.category())
        ));
    }
    s.push_str("};\n\nexport const ERROR_CODES: readonly ErrorCode[] = Object.keys(ERROR_CATEGORY) as ErrorCode[];\n");
    s
}

fn category_name(c: Category) -> &'static str {
    match c {
        Category::Other => "other",
        Category::Usage => "usage",
        Category::NotFound => "not_found",
        Category::Refused => "refused",
        Category::Network => "network",
        Category::Locked => "locked",
        Category::Corrupt => "corrupt",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
        }
        assert_eq!(ErrorCode::parse("nope"), None);
    }

    #[test]
    fn exit_codes_follow_the_documented_table() {
        let got: Vec<u8> = Category::ALL.iter().map(|c| c.exit_code()).collect();
        assert_eq!(got, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(ErrorCode::UnknownDoc.category().exit_code(), 3);
        assert_eq!(ErrorCode::Locked.category().exit_code(), 6);
        assert_eq!(ErrorCode::Timeout.category().exit_code(), 5);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {inner}")]
    struct Prints {
        #[source]
        inner: Leaf,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer without detail")]
    struct Hides {
        #[source]
        inner: Leaf,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("disk full")]
    struct Leaf;

    #[test]
    fn render_names_each_cause_once() {
        assert_eq!(render(&Prints { inner: Leaf }), "outer: disk full");
        assert_eq!(
            render(&Hides { inner: Leaf }),
            "outer without detail: disk full"
        );
    }

    /// The committed `ui/src/generated/errors.ts` is what [`typescript`] writes:
    /// the UI cannot drift from the table. `WEFT_BLESS=1` (`make bindings`) rewrites it.
    #[test]
    fn the_ui_error_module_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../ui/src/generated/errors.ts"
        );
        let want = typescript();
        if std::env::var_os("WEFT_BLESS").is_some() {
            std::fs::write(path, &want).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "{path} is out of date with the error table: run `make bindings`"
        );
    }

    #[test]
    fn the_ui_module_lists_every_code() {
        let ts = typescript();
        for c in ErrorCode::ALL {
            assert!(ts.contains(&format!("'{}'", c.as_str())), "{c} missing");
        }
    }
}
