//! The command line, as clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Weft: local-first notes and records that sync between your devices.
///
/// Run with no command to open the desktop app.
#[derive(Debug, Parser)]
#[command(name = "weft", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Workspace directory (default: $XDG_DATA_HOME/weft).
    #[arg(long, global = true, env = "WEFT_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace: a database, a workspace key and a device key.
    Init {
        /// The workspace's name.
        #[arg(long, default_value = "My workspace")]
        name: String,
        /// Keep the keys in a passphrase-protected file instead of the OS
        /// keyring (for servers without one). The passphrase comes from
        /// WEFT_PASSPHRASE or a prompt.
        #[arg(long)]
        passphrase: bool,
    },
    /// Create a document.
    #[command(subcommand)]
    New(NewCommand),
    /// List documents.
    Ls {
        /// Show the folder tree.
        #[arg(long)]
        tree: bool,
        /// Include documents in the trash.
        #[arg(long)]
        deleted: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a document: a note as Markdown, a record as JSON.
    Show {
        /// Id, id prefix (4+ hex digits) or exact title.
        doc: String,
        /// Show it as of this version (see `weft history`).
        #[arg(long, value_name = "VERSION")]
        at: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Edit a note in $EDITOR (or from standard input with --stdin).
    Edit {
        /// Id, id prefix or exact title.
        doc: String,
        /// Read the new Markdown from standard input.
        #[arg(long)]
        stdin: bool,
    },
    /// Set a field of a record.
    Set {
        /// Id, id prefix or exact title.
        doc: String,
        /// JSON pointer (RFC 6901), e.g. /status or /tags/0.
        pointer: String,
        /// The value, as JSON (e.g. 42, true, "text", [1,2]).
        value: String,
        /// Take VALUE as a plain string instead of JSON.
        #[arg(long, short = 's')]
        string: bool,
    },
    /// Add to a counter field of a record (created at 0 if missing).
    Incr {
        /// Id, id prefix or exact title.
        doc: String,
        /// JSON pointer of the counter.
        pointer: String,
        /// How much to add (may be negative).
        #[arg(default_value_t = 1, allow_negative_numbers = true)]
        by: i64,
    },
    /// Apply an RFC 6902 JSON Patch to a record: all of it or nothing.
    Patch {
        /// Id, id prefix or exact title.
        doc: String,
        /// The patch file, or - for standard input.
        file: PathBuf,
    },
    /// Move a document into a folder (created if missing; "/" is the top).
    Mv {
        /// Id, id prefix or exact title.
        doc: String,
        /// Folder path, e.g. Projects/2026.
        folder: String,
    },
    /// Rename a document.
    Rename {
        /// Id, id prefix or exact title.
        doc: String,
        /// The new title.
        title: String,
    },
    /// Move a document to the trash (syncs to your other devices).
    Rm {
        /// Id, id prefix or exact title.
        doc: String,
    },
    /// Bring a document back from the trash.
    Undelete {
        /// Id, id prefix or exact title.
        doc: String,
    },
    /// List a document's versions.
    History {
        /// Id, id prefix or exact title.
        doc: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Restore a document's content as of a version, as a new change.
    Revert {
        /// Id, id prefix or exact title.
        doc: String,
        /// The version to restore (see `weft history`).
        #[arg(long, value_name = "VERSION")]
        to: usize,
    },
    /// Write every document to a directory: notes as Markdown, records as JSON.
    Export {
        /// Target directory (created if missing).
        dir: PathBuf,
        /// Also write the native Loro (.loro) and Automerge (.automerge) bytes.
        #[arg(long)]
        native: bool,
    },
    /// Create documents from a directory of .md and .json files.
    Import {
        /// Source directory (an export, or any folder of .md/.json files).
        dir: PathBuf,
    },
    /// Workspace id, device id, counts, storage and where keys are kept.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// A rich-text note.
    Note {
        /// Its title.
        title: String,
        /// Folder path, e.g. Projects/2026 (created if missing).
        #[arg(long, default_value = "")]
        folder: String,
        /// Read the initial Markdown from standard input.
        #[arg(long)]
        stdin: bool,
    },
    /// A structured record (a JSON object).
    Record {
        /// Its title.
        title: String,
        /// Folder path (created if missing).
        #[arg(long, default_value = "")]
        folder: String,
        /// Initial content: a JSON object in FILE, or - for standard input.
        #[arg(long, value_name = "FILE")]
        from_json: Option<PathBuf>,
    },
}
