//! The command line: the top-level parser and which module runs each command. Each
//! command's arguments live in the module that runs it.

use std::sync::LazyLock;

use anyhow::Result;
use clap::{Parser, Subcommand};
use weft_core::Category;

use crate::context::Global;
use crate::{docs, doctor, invite, net, peers, records, relay, transfer, workspace};

/// The exit codes and examples under `weft --help`, written from the one error table.
static AFTER_HELP: LazyLock<String> = LazyLock::new(|| {
    let mut s = String::from(
        "Examples:\n  \
         weft init --name Notes\n  \
         weft new note \"Reading list\" --folder Books\n  \
         weft ls --tree\n  \
         weft edit \"Reading list\"\n  \
         weft sync --once\n\n\
         Exit codes:\n  0  success\n",
    );
    for c in Category::ALL {
        s.push_str(&format!("  {}  {}\n", c.exit_code(), c.describe()));
    }
    s.push_str(
        "\nWith --json, a failure is printed on standard error as {\"code\": …, \"message\": …}.",
    );
    s
});

/// Weft: local-first notes and records that sync between your devices.
///
/// Run with no command to open the desktop app. Data goes to standard output,
/// messages to standard error.
#[derive(Debug, Parser)]
#[command(
    name = "weft",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = AFTER_HELP.as_str()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace: a database, a workspace key and a device key.
    Init(workspace::InitArgs),
    /// Create a document.
    #[command(subcommand)]
    New(docs::NewCommand),
    /// List documents (one per line; a header only on a terminal).
    Ls(docs::LsArgs),
    /// Print a document: a note as Markdown, a record as JSON.
    Show(docs::ShowArgs),
    /// Edit a note in $EDITOR (or from standard input with --stdin).
    Edit(docs::EditArgs),
    /// Set a field of a record.
    Set(records::SetArgs),
    /// Add to a counter field of a record (created at 0 if missing).
    Incr(records::IncrArgs),
    /// Apply an RFC 6902 JSON Patch to a record: all of it or nothing.
    Patch(records::PatchArgs),
    /// Move a document into a folder (created if missing; "/" is the top).
    Mv(docs::MvArgs),
    /// Rename a document.
    Rename(docs::RenameArgs),
    /// Move a document to the trash (syncs to your other devices).
    Rm(docs::DocArg),
    /// Bring a document back from the trash.
    Undelete(docs::DocArg),
    /// List a document's versions.
    History(docs::HistoryArgs),
    /// Restore a document's content as of a version, as a new change.
    Revert(docs::RevertArgs),
    /// Write every document to a directory: notes as Markdown, records as JSON.
    Export(transfer::ExportArgs),
    /// Create documents from a directory of .md and .json files.
    Import(transfer::ImportArgs),
    /// Workspace id, device id, counts, storage and where keys are kept;
    /// with DOC, which devices have that document's latest changes.
    Status(workspace::StatusArgs),
    /// The other devices and the addresses to dial (`weft peer` lists them;
    /// `weft peers` too).
    #[command(visible_alias = "peers")]
    Peer(peers::PeerArgs),
    /// Sync through a relay (weft-relay), for devices that are not on one
    /// network or not online at the same time (`weft relay` lists them).
    Relay(relay::RelayArgs),
    /// Sync continuously with this workspace's other devices, in the
    /// foreground (for systemd): logs to stderr (RUST_LOG), stops on SIGTERM
    /// or SIGINT. Other weft commands keep working while it runs.
    Daemon(net::DaemonArgs),
    /// Sync with the devices found on the network; with --once, exit when
    /// every one of them is in sync and print a summary.
    Sync(net::SyncArgs),
    /// Print a code that lets another device join this workspace.
    ///
    /// Run `weft join CODE` on the other device. The code gives full access
    /// to the workspace: share it like a password. The code goes to standard
    /// output, with a QR code of it when that is a terminal; the warning and
    /// the next step go to standard error.
    Invite(invite::InviteArgs),
    /// Join a workspace with a code from `weft invite` on another device,
    /// then pull everything from the devices it can reach.
    Join(net::JoinArgs),
    /// Check the database file and repair it: salvage a damaged file, rebuild every
    /// cached snapshot from the change log; with --sync, fetch what it lost.
    Doctor(doctor::DoctorArgs),
    /// Print shell completions.
    Completions(workspace::CompletionsArgs),
}

/// Runs one command.
pub fn run(g: &Global, command: Command) -> Result<()> {
    match command {
        Command::Init(a) => workspace::init(g, a),
        Command::New(a) => docs::new(g, a),
        Command::Ls(a) => docs::ls(g, a),
        Command::Show(a) => docs::show(g, a),
        Command::Edit(a) => docs::edit(g, a),
        Command::Set(a) => records::set(g, a),
        Command::Incr(a) => records::incr(g, a),
        Command::Patch(a) => records::patch(g, a),
        Command::Mv(a) => docs::mv(g, a),
        Command::Rename(a) => docs::rename(g, a),
        Command::Rm(a) => docs::rm(g, a),
        Command::Undelete(a) => docs::undelete(g, a),
        Command::History(a) => docs::history(g, a),
        Command::Revert(a) => docs::revert(g, a),
        Command::Export(a) => transfer::export(g, a),
        Command::Import(a) => transfer::import(g, a),
        Command::Status(a) => workspace::status(g, a),
        Command::Peer(a) => peers::run(g, a),
        Command::Relay(a) => relay::run(g, a),
        Command::Daemon(a) => net::daemon(g, a),
        Command::Sync(a) => net::sync(g, a),
        Command::Invite(a) => invite::run(g, a),
        Command::Join(a) => net::join(g, a),
        Command::Doctor(a) => doctor::run(g, a),
        Command::Completions(a) => workspace::completions(a),
    }
}
