//! `weft export` and `weft import`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::context::{Global, open};
use crate::output::{self, say};

/// `weft export`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft export ~/weft-backup\n  \
    weft export out --native --json")]
pub struct ExportArgs {
    /// Target directory (created if missing).
    dir: PathBuf,
    /// Also write the native Loro (.loro) and Automerge (.automerge) bytes.
    #[arg(long)]
    native: bool,
    /// Print JSON: {"notes", "records", "files"}.
    #[arg(long)]
    json: bool,
}

/// `weft import`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft import ~/Documents/notes\n  \
    weft import ~/weft-backup --json")]
pub struct ImportArgs {
    /// Source directory (an export, or any folder of .md/.json files).
    dir: PathBuf,
    /// Print JSON: {"notes", "records", "ids"}.
    #[arg(long)]
    json: bool,
}

/// `weft export`.
pub fn export(g: &Global, a: ExportArgs) -> Result<()> {
    let mut ws = open(g)?;
    let r = output::with_progress("exporting", a.json, |p| {
        ws.export_with_progress(&a.dir, a.native, p)
    })?;
    ws.close()?;
    if a.json {
        return output::json(&r);
    }
    say!(
        "Exported {} notes and {} records to {}",
        r.notes,
        r.records,
        a.dir.display()
    );
    Ok(())
}

/// `weft import`.
pub fn import(g: &Global, a: ImportArgs) -> Result<()> {
    let mut ws = open(g)?;
    let r = output::with_progress("importing", a.json, |p| ws.import_with_progress(&a.dir, p))?;
    ws.close()?;
    if a.json {
        return output::json(&r);
    }
    say!("Imported {} notes and {} records", r.notes, r.records);
    if r.kept_as_source > 0 {
        say!(
            "{} places the editor has no form for (HTML, tables, footnotes…) are kept as Markdown source",
            r.kept_as_source
        );
    }
    Ok(())
}
