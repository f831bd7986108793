//! Each command: resolve the workspace, call the engine, print.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::CommandFactory;
use weft_engine::{DocId, EngineError, KeyBackend, Workspace};
use zeroize::Zeroizing;

use crate::cli::{Cli, Command, Global, NewCommand, PeerCommand, RelayCommand};
use crate::output;

pub(crate) fn home(g: &Global) -> Result<PathBuf> {
    match &g.home {
        Some(h) => Ok(h.clone()),
        None => Ok(weft_engine::default_home()?),
    }
}

/// The passphrase from WEFT_PASSPHRASE, or a prompt on the terminal.
pub(crate) fn passphrase(confirm: bool) -> Result<Zeroizing<String>> {
    if let Some(p) = std::env::var_os("WEFT_PASSPHRASE") {
        let p = p
            .into_string()
            .map_err(|_| anyhow::anyhow!("WEFT_PASSPHRASE is not valid UTF-8"))?;
        if p.is_empty() {
            bail!("WEFT_PASSPHRASE is set but empty");
        }
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        bail!("a passphrase is needed: set WEFT_PASSPHRASE (no terminal to prompt on)");
    }
    let p = Zeroizing::new(
        rpassword::prompt_password("Passphrase: ").context("reading the passphrase")?,
    );
    if p.is_empty() {
        bail!("the passphrase must not be empty");
    }
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("Repeat passphrase: ").context("reading the passphrase")?,
        );
        if *again != *p {
            bail!("the two passphrases differ; nothing was created");
        }
    }
    Ok(p)
}

pub(crate) fn open(g: &Global) -> Result<Workspace> {
    let home = home(g)?;
    match Workspace::open(&home, None) {
        Err(EngineError::PassphraseRequired { .. }) => {
            let p = passphrase(false)?;
            Ok(Workspace::open(&home, Some(&p))?)
        }
        r => Ok(r?),
    }
}

fn resolve(ws: &Workspace, query: &str) -> Result<DocId> {
    Ok(ws.resolve(query, false)?.doc)
}

fn read_input(file: &Path) -> Result<String> {
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

fn parse_json(text: &str, source: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).with_context(|| format!("{source} is not valid JSON"))
}

/// Runs one command.
pub fn run(g: &Global, command: Command) -> Result<()> {
    match command {
        Command::Daemon { net } => crate::net::daemon(g, &net)?,
        Command::Sync { once, timeout, net } => {
            if once {
                crate::net::sync_once(g, &net, std::time::Duration::from_secs(timeout))?
            } else {
                crate::net::daemon(g, &net)?
            }
        }
        Command::Join {
            code,
            passphrase: use_pass,
            timeout,
            net,
        } => crate::net::join(
            g,
            &code,
            use_pass,
            &net,
            std::time::Duration::from_secs(timeout),
        )?,
        Command::Invite { no_qr, json } => crate::invite::run(g, no_qr, json)?,
        Command::Init {
            name,
            passphrase: use_pass,
        } => {
            let home = home(g)?;
            let keys = if use_pass {
                KeyBackend::Passphrase(passphrase(true)?)
            } else {
                KeyBackend::OsKeyring
            };
            let ws = Workspace::init(&home, &name, keys)?;
            println!("Created workspace \"{name}\" in {}", home.display());
            println!("  workspace {}", ws.workspace_id());
            println!("  device    {}", ws.device_id());
            println!("  keys      {}", ws.status()?.keys);
            ws.close()?;
        }
        Command::New(NewCommand::Note {
            title,
            folder,
            stdin,
        }) => {
            let md = if stdin {
                read_input(Path::new("-"))?
            } else {
                String::new()
            };
            let mut ws = open(g)?;
            let id = ws.create_note(&title, &folder, &md)?;
            println!("{id}");
            ws.close()?;
        }
        Command::New(NewCommand::Record {
            title,
            folder,
            from_json,
        }) => {
            let json = match &from_json {
                Some(f) => parse_json(&read_input(f)?, &f.display().to_string())?,
                None => serde_json::json!({}),
            };
            let mut ws = open(g)?;
            let id = ws.create_record(&title, &folder, &json)?;
            println!("{id}");
            ws.close()?;
        }
        Command::Ls {
            tree,
            deleted,
            json,
        } => {
            let ws = open(g)?;
            let docs = ws.list(deleted)?;
            if json {
                output::json(&docs)?;
            } else if tree {
                output::tree(&ws.folders(), &docs);
            } else {
                output::table(&docs);
            }
        }
        Command::Show { doc, at, json } => {
            let mut ws = open(g)?;
            let id = resolve(&ws, &doc)?;
            let shown = ws.show(&id, at)?;
            if json {
                output::json(&shown)?;
            } else {
                output::shown(&shown)?;
            }
        }
        Command::Edit { doc, stdin } => {
            let mut ws = open(g)?;
            let id = resolve(&ws, &doc)?;
            let before = ws.note_markdown(&id)?;
            let after = if stdin {
                read_input(Path::new("-"))?
            } else {
                edit_in_editor(&before)?
            };
            match ws.edit_note(&id, &after)? {
                Some(summary) => println!("Saved: {summary}"),
                None => println!("No changes"),
            }
            ws.close()?;
        }
        Command::Set {
            doc,
            pointer,
            value,
            string,
        } => {
            let v = if string {
                serde_json::Value::String(value)
            } else {
                serde_json::from_str(&value).with_context(|| {
                    format!("VALUE `{value}` is not valid JSON; quote strings ('\"{value}\"') or pass --string")
                })?
            };
            let mut ws = open(g)?;
            let id = resolve(&ws, &doc)?;
            ws.set_field(&id, &pointer, &v)?;
            ws.close()?;
        }
        Command::Incr { doc, pointer, by } => {
            let mut ws = open(g)?;
            let id = resolve(&ws, &doc)?;
            ws.increment(&id, &pointer, by)?;
            ws.close()?;
        }
        Command::Patch { doc, file } => {
            let patch = parse_json(&read_input(&file)?, &file.display().to_string())?;
            let mut ws = open(g)?;
            let id = resolve(&ws, &doc)?;
            let ops = ws.patch(&id, &patch)?;
            println!("Applied {ops} operation{}", if ops == 1 { "" } else { "s" });
            ws.close()?;
        }
        Command::Mv { doc, folder } => {
            let mut ws = open(g)?;
            let id = resolve(&ws, &doc)?;
            ws.move_doc(&id, &folder)?;
            ws.close()?;
        }
        Command::Rename { doc, title } => {
            let mut ws = open(g)?;
            let id = resolve(&ws, &doc)?;
            ws.rename(&id, &title)?;
            ws.close()?;
        }
        Command::Rm { doc } => {
            let mut ws = open(g)?;
            let e = ws.resolve(&doc, false)?;
            ws.remove(&e.doc)?;
            println!(
                "Moved \"{}\" to the trash (`weft undelete {}` brings it back)",
                e.title, e.doc
            );
            ws.close()?;
        }
        Command::Undelete { doc } => {
            let mut ws = open(g)?;
            let e = ws.resolve(&doc, true)?;
            if !e.deleted {
                bail!("\"{}\" is not deleted", e.title);
            }
            ws.undelete(&e.doc)?;
            println!("Restored \"{}\"", e.title);
            ws.close()?;
        }
        Command::History { doc, json } => {
            let ws = open(g)?;
            let e = ws.resolve(&doc, true)?;
            let versions = ws.history(&e.doc)?;
            if json {
                output::json(&versions)?;
            } else {
                output::history(&versions);
            }
        }
        Command::Revert { doc, to } => {
            let mut ws = open(g)?;
            let id = resolve(&ws, &doc)?;
            if ws.revert(&id, to)? {
                println!("Reverted to version {to} (as a new version; history is kept)");
            } else {
                println!("Already identical to version {to}");
            }
            ws.close()?;
        }
        Command::Export { dir, native } => {
            let mut ws = open(g)?;
            let r = ws.export(&dir, native)?;
            println!(
                "Exported {} notes and {} records to {}",
                r.notes,
                r.records,
                dir.display()
            );
            ws.close()?;
        }
        Command::Import { dir } => {
            let mut ws = open(g)?;
            let r = ws.import(&dir)?;
            println!("Imported {} notes and {} records", r.notes, r.records);
            ws.close()?;
        }
        Command::Status {
            doc: Some(doc),
            json,
        } => crate::peers::doc_status(&open(g)?, &doc, json)?,
        Command::Peers { json } => crate::peers::list(&open(g)?, json)?,
        Command::Peer(PeerCommand::Add { multiaddr }) => crate::peers::add(|| open(g), &multiaddr)?,
        Command::Peer(PeerCommand::Rm { multiaddr }) => {
            crate::peers::remove(&open(g)?, &multiaddr)?
        }
        Command::Relay(RelayCommand::Add { multiaddr, timeout }) => {
            crate::relay::add(g, &multiaddr, std::time::Duration::from_secs(timeout))?
        }
        Command::Relay(RelayCommand::Ls { json }) => crate::relay::list(&open(g)?, json)?,
        Command::Relay(RelayCommand::Forget { multiaddr, timeout }) => {
            crate::relay::forget(g, &multiaddr, std::time::Duration::from_secs(timeout))?
        }
        Command::Status { doc: None, json } => {
            let ws = open(g)?;
            let s = ws.status()?;
            if json {
                output::json(&s)?;
            } else {
                output::status(&s);
            }
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "weft", &mut std::io::stdout());
        }
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
        bail!("the editor `{editor}` exited with {status}; nothing was changed");
    }
    std::fs::read_to_string(file.path()).context("reading back the edited file")
}
