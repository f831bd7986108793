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
    /// Workspace id, device id, counts, storage and where keys are kept;
    /// with DOC, which devices have that document's latest changes.
    Status {
        /// Id, id prefix or exact title of a document.
        doc: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The other devices seen: name, peer id, connection, addresses, last
    /// sync; and the addresses added with `weft peer add`.
    Peers {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add or remove an address for the daemon to dial.
    #[command(subcommand)]
    Peer(PeerCommand),
    /// Sync through a relay (weft-relay), for devices that are not on one
    /// network or not online at the same time.
    #[command(subcommand)]
    Relay(RelayCommand),
    /// Sync continuously with this workspace's other devices, in the
    /// foreground (for systemd): logs to stderr (RUST_LOG), stops on SIGTERM
    /// or SIGINT. Other weft commands keep working while it runs.
    Daemon {
        #[command(flatten)]
        net: NetArgs,
    },
    /// Sync with the devices found on the network; with --once, exit when
    /// every one of them is in sync and print a summary.
    Sync {
        /// Sync once and exit, instead of staying on like `weft daemon`.
        #[arg(long)]
        once: bool,
        /// With --once: give up after this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 10)]
        timeout: u64,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Print a code that lets another device join this workspace.
    ///
    /// Run `weft join CODE` on the other device. The code gives full access
    /// to the workspace: share it like a password. The code goes to standard
    /// output, with a QR code of it when that is a terminal; the warning and
    /// the next step go to standard error.
    Invite {
        /// Do not draw the QR code (drawn only when standard output is a
        /// terminal).
        #[arg(long)]
        no_qr: bool,
        /// Print JSON: {"code", "workspace", "name"}.
        #[arg(long)]
        json: bool,
    },
    /// Join a workspace with a code from `weft invite` on another device,
    /// then pull everything from the devices it can reach.
    Join {
        /// The invite code (weft1-...).
        code: String,
        /// Keep the keys in a passphrase-protected file instead of the OS
        /// keyring (WEFT_PASSPHRASE or a prompt).
        #[arg(long)]
        passphrase: bool,
        /// Give up pulling after this many seconds (the device stays joined).
        #[arg(long, value_name = "SECONDS", default_value_t = 120)]
        timeout: u64,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Network options (they override `weft.toml` in the workspace home).
#[derive(Debug, Args)]
pub struct NetArgs {
    /// TCP and QUIC port (default 4466; 0 for any free port).
    #[arg(long, env = "WEFT_PORT")]
    pub port: Option<u16>,
    /// Do not find or announce devices on the LAN by mDNS.
    #[arg(long)]
    pub no_mdns: bool,
    /// The name other devices see (default: the host name).
    #[arg(long, value_name = "NAME")]
    pub device_name: Option<String>,
    /// Also connect to this address (repeatable), e.g.
    /// /ip4/192.168.1.20/tcp/4466.
    #[arg(long = "peer", value_name = "MULTIADDR")]
    pub peers: Vec<String>,
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

#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Sync through this relay from now on: registers the workspace there
    /// (the relay learns its id and a public verifier, nothing it could
    /// read with) and pushes what this device holds.
    Add {
        /// The address weft-relay printed, ending in /p2p/<relay id>.
        multiaddr: String,
        /// Give up waiting for the relay after this many seconds (it stays
        /// added; a running node keeps trying).
        #[arg(long, value_name = "SECONDS", default_value_t = 20)]
        timeout: u64,
    },
    /// The relays, whether they are in sync, their usage and problems.
    Ls {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete this workspace from the relay (every change it stores) and
    /// stop using it on this device. Another device that still has the
    /// relay registers the workspace there again and uploads what it
    /// holds: run this on every device that uses the relay.
    Forget {
        /// The relay's address, as `weft relay ls` lists it.
        multiaddr: String,
        /// Give up after this many seconds (the request stays pending; a
        /// running node completes it).
        #[arg(long, value_name = "SECONDS", default_value_t = 20)]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// Remember an address to dial, e.g. /ip4/192.168.1.20/tcp/4466 or
    /// /dns4/example.org/udp/4466/quic-v1.
    Add {
        /// The multiaddr.
        multiaddr: String,
    },
    /// Forget an address added with `weft peer add`.
    Rm {
        /// The multiaddr, as `weft peers` lists it.
        multiaddr: String,
    },
}
