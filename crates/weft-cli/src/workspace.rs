//! `weft init`, `weft status` and `weft completions`.

use anyhow::Result;
use clap::{Args, CommandFactory};
use serde_json::json;
use weft_engine::{KeyBackend, Workspace};

use crate::context::{Global, home, open, passphrase};
use crate::output::{self, say};

/// `weft init`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft init --name Notes\n  \
    WEFT_PASSPHRASE=… weft init --passphrase   (a server without a keyring)")]
pub struct InitArgs {
    /// The workspace's name.
    #[arg(long, default_value = "My workspace")]
    name: String,
    /// Keep the keys in a passphrase-protected file instead of the OS
    /// keyring (for servers without one). The passphrase comes from
    /// WEFT_PASSPHRASE or a prompt.
    #[arg(long)]
    passphrase: bool,
    /// Print JSON: {"workspace", "device", "home", "keys"}.
    #[arg(long)]
    json: bool,
}

/// `weft status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Id, id prefix or exact title of a document.
    doc: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `weft completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

/// `weft init`.
pub fn init(g: &Global, a: InitArgs) -> Result<()> {
    let home = home(g)?;
    let keys = if a.passphrase {
        KeyBackend::Passphrase(passphrase(true)?)
    } else {
        KeyBackend::OsKeyring
    };
    let ws = Workspace::init(&home, &a.name, keys)?;
    let keys = ws.status()?.keys;
    let (workspace, device) = (ws.workspace_id(), ws.device_id());
    ws.close()?;
    if a.json {
        return output::json(&json!({
            "workspace": workspace.to_string(),
            "device": device.to_string(),
            "home": home,
            "keys": keys,
        }));
    }
    say!(
        "Created workspace \"{}\" in {} (keys: {keys})",
        output::clean(&a.name, false),
        home.display()
    );
    // The ids are data a script keeps: standard output.
    println!("workspace {workspace}");
    println!("device    {device}");
    Ok(())
}

/// `weft status [DOC]`.
pub fn status(g: &Global, a: StatusArgs) -> Result<()> {
    let ws = open(g)?;
    if let Some(doc) = &a.doc {
        return crate::peers::doc_status(&ws, doc, a.json);
    }
    let s = ws.status()?;
    if a.json {
        output::json(&s)
    } else {
        output::status(&s);
        Ok(())
    }
}

/// `weft completions`.
pub fn completions(a: CompletionsArgs) -> Result<()> {
    let mut cmd = crate::cli::Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "weft", &mut std::io::stdout());
    Ok(())
}
