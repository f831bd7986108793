//! The record commands: `set`, `incr` and `patch`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde_json::json;

use crate::context::{Global, fail, open};
use crate::docs::{parse_json, read_input, resolve};
use crate::output::{self, say};

/// `weft set`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft set Book /read true\n  \
    weft set Book /tags '[\"novel\", \"1970s\"]'\n  \
    weft set Book /author --string 'Ursula K. Le Guin'")]
pub struct SetArgs {
    /// Id, id prefix or exact title.
    doc: String,
    /// JSON pointer (RFC 6901), e.g. /status or /tags/0.
    pointer: String,
    /// The value, as JSON (e.g. 42, true, "text", [1,2]).
    value: String,
    /// Take VALUE as a plain string instead of JSON.
    #[arg(long, short = 's')]
    string: bool,
}

/// `weft incr`.
#[derive(Debug, Args)]
pub struct IncrArgs {
    /// Id, id prefix or exact title.
    doc: String,
    /// JSON pointer of the counter.
    pointer: String,
    /// How much to add (may be negative).
    #[arg(default_value_t = 1, allow_negative_numbers = true)]
    by: i64,
}

/// `weft patch`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  \
    echo '[{\"op\": \"replace\", \"path\": \"/read\", \"value\": true}]' | weft patch Book -")]
pub struct PatchArgs {
    /// Id, id prefix or exact title.
    doc: String,
    /// The patch file, or - for standard input.
    file: PathBuf,
    /// Print JSON: {"id", "operations"}.
    #[arg(long)]
    json: bool,
}

/// `weft set`.
pub fn set(g: &Global, a: SetArgs) -> Result<()> {
    let v = if a.string {
        serde_json::Value::String(a.value)
    } else {
        match serde_json::from_str(&a.value) {
            Ok(v) => v,
            Err(_) => fail!(
                InvalidValue,
                "VALUE `{}` is not valid JSON; quote strings ('\"{}\"') or pass --string",
                a.value,
                a.value
            ),
        }
    };
    let mut ws = open(g)?;
    let id = resolve(&ws, &a.doc)?;
    ws.set_field(&id, &a.pointer, &v)?;
    ws.close()?;
    Ok(())
}

/// `weft incr`.
pub fn incr(g: &Global, a: IncrArgs) -> Result<()> {
    let mut ws = open(g)?;
    let id = resolve(&ws, &a.doc)?;
    ws.increment(&id, &a.pointer, a.by)?;
    ws.close()?;
    Ok(())
}

/// `weft patch`.
pub fn patch(g: &Global, a: PatchArgs) -> Result<()> {
    let patch = parse_json(&read_input(&a.file)?, &a.file.display().to_string())?;
    let mut ws = open(g)?;
    let id = resolve(&ws, &a.doc)?;
    let ops = ws.patch(&id, &patch)?;
    ws.close()?;
    if a.json {
        return output::json(&json!({"id": id, "operations": ops}));
    }
    say!("Applied {ops} operation{}", if ops == 1 { "" } else { "s" });
    Ok(())
}
