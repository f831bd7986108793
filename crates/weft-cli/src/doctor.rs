//! `weft doctor`: check the database file, salvage a damaged one, rebuild every cached
//! snapshot from the change log, and optionally sync once to fetch what the log lacks.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use weft_engine::node::running_node;
use weft_engine::{EngineError, KEY_FILE, Rebuilt, Salvaged, Workspace};

use crate::context::{Global, fail, home, passphrase, warn_loose_permissions};
use crate::net::{self, NetArgs};
use crate::output::{self, say};

/// `weft doctor`.
#[derive(Debug, Args)]
#[command(
    after_help = "Checks the whole database file (SQLite's integrity_check). If pages are \
    damaged, every change that can still be read and verified is copied into a fresh file, and \
    the damaged file is kept beside it (weft.db.damaged-TIME). Then every document's cached \
    snapshot and the index are rebuilt from the change log. Stop `weft daemon` and the app \
    first.\n\n\
    Examples:\n  \
    weft doctor\n  \
    weft doctor --sync --json"
)]
pub struct DoctorArgs {
    /// Afterwards, sync once with the other devices and relays (as `weft sync --once`), to
    /// fetch the changes the file lost.
    #[arg(long)]
    sync: bool,
    /// With --sync: give up after this many seconds [default: 10].
    #[arg(long, value_name = "SECONDS", requires = "sync")]
    timeout: Option<u64>,
    /// Print JSON: {"file", "salvaged", "rebuilt", "after", "synced"}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: NetArgs,
}

/// What `integrity_check` said.
#[derive(Debug, Serialize)]
struct FileCheck {
    ok: bool,
    problems: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    file: FileCheck,
    salvaged: Option<Salvaged>,
    rebuilt: Rebuilt,
    after: FileCheck,
    synced: bool,
}

/// `weft doctor`.
pub fn run(g: &Global, a: DoctorArgs) -> Result<()> {
    let home = home(g)?;
    if !Workspace::exists(&home) {
        return Err(EngineError::NoWorkspace { home }.into());
    }
    warn_loose_permissions(&home);
    if let Some(node) = running_node(&home) {
        fail!(
            Locked,
            "a node (pid {}) runs on {}: stop it (`weft daemon`, the app) before `weft doctor`",
            node.pid,
            home.display()
        );
    }
    let pass = if home.join(KEY_FILE).is_file() {
        Some(passphrase(false)?)
    } else {
        None
    };
    let pass = pass.as_deref().map(String::as_str);

    // The file as found: the full check, or why it cannot even be opened.
    let problems = weft_engine::check_file(&home)?;
    let file = FileCheck {
        ok: problems.is_empty(),
        problems,
    };
    let salvaged = if file.ok {
        None
    } else {
        Some(weft_engine::salvage(&home, pass)?)
    };
    let rebuilt = weft_engine::rebuild(&home, pass)?;
    let problems = weft_engine::check_file(&home)?;
    let after = FileCheck {
        ok: problems.is_empty(),
        problems,
    };
    let report = Report {
        file,
        salvaged,
        rebuilt,
        after,
        synced: false,
    };
    let lost = report
        .salvaged
        .as_ref()
        .is_some_and(|s| !s.lost.is_empty() || !s.heads_known);
    if !a.json {
        print(&report);
    }
    if !report.after.ok {
        if a.json {
            output::json(&report)?;
        }
        fail!(
            Corrupt,
            "the file is still damaged after the repair ({}); the damaged copy is kept beside it",
            report.after.problems.join("; ")
        );
    }
    let mut report = report;
    if a.sync {
        let timeout = Duration::from_secs(a.timeout.unwrap_or(10));
        let synced = net::sync_once(g, &a.net, timeout, false);
        report.synced = synced.is_ok();
        if a.json {
            output::json(&report)?;
        }
        return synced;
    }
    if a.json {
        output::json(&report)?;
    } else if lost {
        say!(
            "Other devices or a relay may hold what was lost: `weft doctor --sync` (or `weft sync --once`) fetches it."
        );
    }
    Ok(())
}

fn print(r: &Report) {
    if r.file.ok {
        println!("File: ok (integrity_check)");
    } else {
        println!("File: damaged: {}", r.file.problems.join("; "));
    }
    if let Some(s) = &r.salvaged {
        println!(
            "Salvaged: {} changes copied into a fresh file; the damaged file is kept as {}",
            s.kept,
            s.damaged_copy.display()
        );
        if s.unreadable_rows > 0 {
            println!("Unreadable: {} change rows", s.unreadable_rows);
        }
        if s.lost.is_empty() {
            println!("Lost: no change the file recorded");
        }
        for l in &s.lost {
            let n = l.to - l.from + 1;
            println!(
                "Lost: {n} change{} of device {} (seq {}..={})",
                if n == 1 { "" } else { "s" },
                l.device,
                l.from,
                l.to
            );
        }
        if !s.heads_known {
            println!("Lost: unknown: the record of each device's last change was unreadable");
        }
        for t in &s.tables_lost {
            println!("Lost: the local table `{t}` (rebuilt as devices and relays are met again)");
        }
    }
    println!(
        "Rebuilt: {} documents{} from the change log",
        r.rebuilt.documents,
        if r.rebuilt.index {
            " and the index"
        } else {
            ""
        }
    );
    for u in &r.rebuilt.unreadable {
        println!(
            "Unreadable document {}{}: {}",
            u.id,
            u.title
                .as_deref()
                .map(|t| format!(" \"{}\"", output::clean(t, false)))
                .unwrap_or_default(),
            u.detail
        );
    }
    if r.after.ok {
        println!("After repair: ok");
    }
}
