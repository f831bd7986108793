//! `weft invite`: the code another device passes to `weft join`.
//!
//! The code goes to standard output alone on its line (so
//! `weft invite --no-qr > code.txt` or `$(weft invite --no-qr)` gets exactly
//! the code); the warning and the next step go to standard error.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use clap::Args;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use weft_crypto::Invite;
use zeroize::Zeroizing;

use crate::context::{Global, open};
use crate::output::{self, clean, say};

/// `weft invite`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft invite\n  \
    weft invite --no-qr > code.txt\n  \
    weft invite --json | jq -r .code")]
pub struct InviteArgs {
    /// Do not draw the QR code (drawn only when standard output is a
    /// terminal).
    #[arg(long)]
    no_qr: bool,
    /// Print JSON: {"code", "workspace", "name"}.
    #[arg(long, conflicts_with = "no_qr")]
    json: bool,
}

/// Prints an invite to the workspace: the code, and a QR code of it when
/// standard output is a terminal and `--no-qr` is not given.
pub(crate) fn run(g: &Global, a: InviteArgs) -> Result<()> {
    let InviteArgs { no_qr, json } = a;
    let ws = open(g)?;
    // The addresses of this device's running node (`weft daemon`, the app),
    // if one runs, so the joiner can dial it where mDNS does not reach;
    // without one, the joiner finds devices by mDNS.
    let peers = weft_engine::node::running_node(ws.home())
        .map(|n| weft_engine::shareable_addrs(n.addrs))
        .unwrap_or_default();
    let invite = ws.invite(peers)?;
    // The code is the workspace key in another form: wiped like the key.
    let code = Zeroizing::new(invite.encode());
    say!(
        "warning: this code gives full access to workspace \"{}\": anyone who has it can \
         read and change everything in it. Treat it like a password and give it only to \
         your own devices.",
        clean(&invite.name, false)
    );
    if json {
        return output::json(&serde_json::json!({
            "code": code.as_str(),
            "workspace": invite.workspace,
            "name": invite.name,
        }));
    }
    println!("{}", code.as_str());
    if !no_qr && std::io::stdout().is_terminal() {
        match qr(&code) {
            Some(block) => println!("{}", block.as_str()),
            None => say!("(the code is too long for a QR code; copy it as text)"),
        }
    }
    say!("then run on the other device:  weft join {}", code.as_str());
    Ok(())
}

/// The code as a QR code drawn with half-block characters, two modules per
/// character cell, with the standard quiet zone; `None` if the code is too
/// long for any QR version.
fn qr(code: &str) -> Option<Zeroizing<String>> {
    // Upper case (which `Invite::decode` accepts, prefix included) is the QR
    // alphanumeric mode: 5.5 bits per character instead of 8, a smaller code.
    let upper = Zeroizing::new(code.to_ascii_uppercase());
    let qr = QrCode::new(upper.as_bytes()).ok()?;
    // Inverted, as `qrencode -t UTF8` does: terminals draw glyphs in a light
    // colour on a dark background, so a drawn block must be a light module.
    // Scanners read the result on light-background terminals too.
    Some(Zeroizing::new(
        qr.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    ))
}

/// A running node's addresses worth putting in an invite: not loopback (the
/// joiner is another machine), LAN and public ones first.
pub(crate) fn read_invite(code: &str) -> Result<Invite> {
    Invite::decode(code.trim()).context("reading the invite code")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_qr_code_has_its_quiet_zone_and_even_rows() {
        let code = "weft1-048H248H248H248H248H248H248J48H248H248H248H248H248H248H248H248H248H248H248H248G491QPTS800401EBV9E0T2YC9S68Q30BHJ5RRJYX33E0QK8C1G65TTGS5R";
        let modules = QrCode::new(code.to_ascii_uppercase()).unwrap().width();
        let block = qr(code).unwrap();
        let rows: Vec<&str> = block.lines().collect();
        let width = modules + 8;
        assert_eq!(rows.len(), width.div_ceil(2));
        assert!(rows.iter().all(|r| r.chars().count() == width));
        // Four light modules on every side: drawn blocks (light is drawn).
        // The width is odd, so the last row of cells holds one module row.
        let (last, rest) = rows.split_last().unwrap();
        for r in [rest[0], rest[1], rest[rest.len() - 1]] {
            assert!(r.chars().all(|c| c == '█'), "{r}");
        }
        assert!(last.chars().all(|c| c == '▀'), "{last}");
        assert!(
            rest.iter()
                .all(|r| r.starts_with("████") && r.ends_with("████"))
        );
    }

    #[test]
    fn a_pasted_code_is_trimmed_and_errors_say_what_was_read() {
        let code = "weft1-048H248H248H248H248H248H248J48H248H248H248H248H248H248H248H248H248H248H248H248G491QPTS800401EBV9E0T2YC9S68Q30BHJ5RRJYX33E0QK8C1G65TTGS5R";
        assert_eq!(
            read_invite(&format!("\n  {code}  \n")).unwrap().name,
            "Home"
        );
        let err = read_invite("hello").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("reading the invite code: "), "{msg}");
        assert!(msg.contains("should start with weft1-"), "{msg}");
    }
}
