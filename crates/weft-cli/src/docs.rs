//! The document commands: `new`, `ls`, `show`, `edit`, `mv`, `rename`, `rm`,
//! `undelete`, `history` and `revert`.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use weft_core::index::parse_folder_path;
use weft_engine::{DocId, Workspace};

use crate::context::{Global, fail, open};
use crate::output::{self, clean, say};

/// `weft new`.
#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// A rich-text note.
    #[command(after_help = "Examples:\n  \
        weft new note \"Reading list\"\n  \
        weft new note Plan --folder Projects/2026\n  \
        echo '# Notes' | weft new note Meeting --stdin")]
    Note {
        /// Its title.
        title: String,
        /// Folder path, e.g. Projects/2026 (created if missing).
        #[arg(long, default_value = "")]
        folder: String,
        /// Read the initial Markdown from standard input.
        #[arg(long)]
        stdin: bool,
        /// Print JSON: {"id", "kind", "title", "folder"}.
        #[arg(long)]
        json: bool,
    },
    /// A structured record (a JSON object).
    #[command(after_help = "Examples:\n  \
        weft new record Book --from-json book.json\n  \
        echo '{\"read\": false}' | weft new record Book --from-json -")]
    Record {
        /// Its title.
        title: String,
        /// Folder path (created if missing).
        #[arg(long, default_value = "")]
        folder: String,
        /// Initial content: a JSON object in FILE, or - for standard input.
        #[arg(long, value_name = "FILE")]
        from_json: Option<std::path::PathBuf>,
        /// Print JSON: {"id", "kind", "title", "folder"}.
        #[arg(long)]
        json: bool,
    },
}

/// `weft ls`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft ls\n  \
    weft ls --tree\n  \
    weft ls --json | jq -r '.[].title'")]
pub struct LsArgs {
    /// Only the documents in this folder (`a/b`) and the folders below it.
    folder: Option<String>,
    /// Show the folder tree.
    #[arg(long, conflicts_with = "json")]
    tree: bool,
    /// Include documents in the trash.
    #[arg(long)]
    deleted: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `weft show`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft show \"Reading list\"\n  \
    weft show 3f2a --at 2\n  \
    weft show Book --json")]
pub struct ShowArgs {
    /// Id, id prefix (4+ hex digits) or exact title.
    doc: String,
    /// Show it as of this version (see `weft history`).
    #[arg(long, value_name = "VERSION")]
    at: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `weft edit`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft edit \"Reading list\"\n  \
    weft show Plan | sed 's/draft/final/' | weft edit Plan --stdin")]
pub struct EditArgs {
    /// Id, id prefix or exact title.
    doc: String,
    /// Read the new Markdown from standard input.
    #[arg(long)]
    stdin: bool,
    /// Print JSON: {"id", "changed", "summary"}.
    #[arg(long)]
    json: bool,
}

/// `weft mv`.
#[derive(Debug, Args)]
pub struct MvArgs {
    /// Id, id prefix or exact title.
    doc: String,
    /// Folder path, e.g. Projects/2026.
    folder: String,
}

/// `weft rename`.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// Id, id prefix or exact title.
    doc: String,
    /// The new title.
    title: String,
}

/// `weft rm` and `weft undelete`.
#[derive(Debug, Args)]
pub struct DocArg {
    /// Id, id prefix or exact title.
    doc: String,
}

/// `weft history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Id, id prefix or exact title.
    doc: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `weft revert`.
#[derive(Debug, Args)]
pub struct RevertArgs {
    /// Id, id prefix or exact title.
    doc: String,
    /// The version to restore (see `weft history`).
    #[arg(long, value_name = "VERSION")]
    to: usize,
    /// Print JSON: {"id", "version", "changed"}.
    #[arg(long)]
    json: bool,
}

pub(crate) fn resolve(ws: &Workspace, query: &str) -> Result<DocId> {
    Ok(ws.resolve(query, false)?.doc)
}

/// Standard input, or the file at `file`.
pub(crate) fn read_input(file: &Path) -> Result<String> {
    if file == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

/// `text` as JSON, or a usage error naming where it came from.
pub(crate) fn parse_json(text: &str, source: &str) -> Result<serde_json::Value> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(e) => fail!(InvalidValue, "{source} is not valid JSON: {e}"),
    }
}

/// `weft new note|record`.
pub fn new(g: &Global, cmd: NewCommand) -> Result<()> {
    let (id, kind, title, folder, json) = match cmd {
        NewCommand::Note {
            title,
            folder,
            stdin,
            json,
        } => {
            let folder = parse_folder_path(&folder)?;
            let md = if stdin {
                read_input(Path::new("-"))?
            } else {
                String::new()
            };
            let mut ws = open(g)?;
            let id = ws.create_note(&title, &folder, &md)?;
            ws.close()?;
            (id, "note", title, folder, json)
        }
        NewCommand::Record {
            title,
            folder,
            from_json,
            json,
        } => {
            let folder = parse_folder_path(&folder)?;
            let value = match &from_json {
                Some(f) => parse_json(&read_input(f)?, &f.display().to_string())?,
                None => serde_json::json!({}),
            };
            let mut ws = open(g)?;
            let id = ws.create_record(&title, &folder, &value)?;
            ws.close()?;
            (id, "record", title, folder, json)
        }
    };
    if json {
        output::json(&json!({"id": id, "kind": kind, "title": title, "folder": folder}))
    } else {
        println!("{id}");
        Ok(())
    }
}

/// `weft ls`.
pub fn ls(g: &Global, a: LsArgs) -> Result<()> {
    let folder = match &a.folder {
        Some(f) => parse_folder_path(f)?,
        None => Vec::new(),
    };
    let ws = open(g)?;
    let docs = ws.list_under(&folder, a.deleted)?;
    if a.json {
        output::json(&docs)?;
    } else if a.tree {
        output::tree(&ws.folders(), &docs);
    } else {
        output::table(&docs);
    }
    Ok(())
}

/// `weft show`.
pub fn show(g: &Global, a: ShowArgs) -> Result<()> {
    let mut ws = open(g)?;
    let id = resolve(&ws, &a.doc)?;
    let shown = ws.show(&id, a.at)?;
    if a.json {
        output::json(&shown)
    } else {
        output::shown(&shown)
    }
}

/// `weft edit`.
pub fn edit(g: &Global, a: EditArgs) -> Result<()> {
    let mut ws = open(g)?;
    let id = resolve(&ws, &a.doc)?;
    let before = ws.note_markdown(&id)?;
    let after = if a.stdin {
        read_input(Path::new("-"))?
    } else {
        edit_in_editor(&before)?
    };
    let saved = ws.edit_note(&id, &after)?;
    ws.close()?;
    if a.json {
        return output::json(&json!({"id": id, "changed": saved.is_some(), "summary": saved}));
    }
    match saved {
        Some(summary) => say!("Saved: {}", clean(&summary, false)),
        None => say!("No changes"),
    }
    Ok(())
}

/// `weft mv`.
pub fn mv(g: &Global, a: MvArgs) -> Result<()> {
    let folder = parse_folder_path(&a.folder)?;
    let mut ws = open(g)?;
    let id = resolve(&ws, &a.doc)?;
    ws.move_doc(&id, &folder)?;
    ws.close()?;
    Ok(())
}

/// `weft rename`.
pub fn rename(g: &Global, a: RenameArgs) -> Result<()> {
    let mut ws = open(g)?;
    let id = resolve(&ws, &a.doc)?;
    ws.rename(&id, &a.title)?;
    ws.close()?;
    Ok(())
}

/// `weft rm`.
pub fn rm(g: &Global, a: DocArg) -> Result<()> {
    let mut ws = open(g)?;
    let e = ws.resolve(&a.doc, false)?;
    ws.remove(&e.doc)?;
    ws.close()?;
    say!(
        "Moved \"{}\" to the trash (`weft undelete {}` brings it back)",
        clean(&e.title, false),
        e.doc
    );
    Ok(())
}

/// `weft undelete`.
pub fn undelete(g: &Global, a: DocArg) -> Result<()> {
    let mut ws = open(g)?;
    let e = ws.resolve(&a.doc, true)?;
    if !e.deleted {
        fail!(Refused, "\"{}\" is not deleted", clean(&e.title, false));
    }
    ws.undelete(&e.doc)?;
    ws.close()?;
    say!("Restored \"{}\"", clean(&e.title, false));
    Ok(())
}

/// `weft history`.
pub fn history(g: &Global, a: HistoryArgs) -> Result<()> {
    let ws = open(g)?;
    let e = ws.resolve(&a.doc, true)?;
    let versions = ws.history(&e.doc)?;
    if a.json {
        return output::json(&versions);
    }
    output::history(&versions);
    // Unreadable versions are in the table; this says whose and why.
    for u in ws.unreadable(Some(&e.doc))? {
        say!("{}", clean(&u.message, false));
    }
    Ok(())
}

/// `weft revert`.
pub fn revert(g: &Global, a: RevertArgs) -> Result<()> {
    let mut ws = open(g)?;
    let id = resolve(&ws, &a.doc)?;
    let changed = ws.revert(&id, a.to)?;
    ws.close()?;
    if a.json {
        return output::json(&json!({"id": id, "version": a.to, "changed": changed}));
    }
    if changed {
        say!(
            "Reverted to version {} (as a new version; history is kept)",
            a.to
        );
    } else {
        say!("Already identical to version {}", a.to);
    }
    Ok(())
}

/// Opens `text` in $VISUAL / $EDITOR and returns what was saved. A failing
/// editor aborts the edit: nothing is changed.
fn edit_in_editor(text: &str) -> Result<String> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|e| !e.is_empty())
        .or_else(|| std::env::var("EDITOR").ok().filter(|e| !e.is_empty()))
        .unwrap_or_else(|| "vi".to_owned());
    let mut file = tempfile::Builder::new()
        .prefix("weft-")
        .suffix(".md")
        .tempfile()
        .context("creating a temporary file for the editor")?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.flush())
        .context("writing the temporary file for the editor")?;
    // Through the shell, so EDITOR may carry arguments ("code --wait").
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status()
        .with_context(|| format!("starting the editor `{editor}`"))?;
    if !status.success() {
        fail!(
            Refused,
            "the editor `{editor}` exited with {status}; nothing was changed"
        );
    }
    std::fs::read_to_string(file.path()).context("reading back the edited file")
}
