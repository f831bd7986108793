//! `weft`: with no arguments, the desktop app; with a subcommand, the CLI.
//!
//! Every failure is reported here, once: `error: MESSAGE` on standard error (or
//! `{"code", "message"}` when the command was given `--json`), and the process exits
//! with its category's code (`weft --help` lists them).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use weft_core::ErrorCode;

mod cli;
mod context;
mod docs;
mod doctor;
mod invite;
mod net;
mod output;
mod peers;
mod records;
mod relay;
mod transfer;
mod workspace;

use context::ColorWhen;

fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    let json = wants_json(&raw);
    let color = ColorWhen::from_raw_args(&raw);
    let clap_color = if color.stderr() {
        clap::ColorChoice::Always
    } else {
        clap::ColorChoice::Never
    };
    let matches = cli::Cli::command()
        .color(clap_color)
        .try_get_matches_from(&raw);
    let args = match matches.and_then(|m| cli::Cli::from_arg_matches(&m)) {
        Ok(a) => a,
        Err(e) => return clap_failure(e, json),
    };
    let Some(command) = args.command else {
        return open_window(&args);
    };
    match cli::run(&args.global, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(
            context::code_of(&e),
            &weft_core::error_code::render(e.as_ref()),
            json,
            args.global.color.stderr(),
        ),
    }
}

/// Whether the command line asks for JSON (before any `--`): then errors are JSON too.
fn wants_json(raw: &[OsString]) -> bool {
    raw.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// Prints one failure and returns its exit code.
fn report(code: ErrorCode, message: &str, json: bool, color: bool) -> ExitCode {
    if json {
        let v = serde_json::json!({"code": code, "message": message});
        eprintln!("{v}");
    } else if color {
        eprintln!("\x1b[1;31merror:\x1b[0m {message}");
    } else {
        eprintln!("error: {message}");
    }
    ExitCode::from(code.category().exit_code())
}

/// clap's help and version go to standard output with success; its errors are usage
/// errors (exit 2), printed as clap words them, or as JSON with `--json`.
fn clap_failure(e: clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ if json => {
            let text = e.render().to_string();
            let message = text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_owned();
            report(ErrorCode::Usage, &message, true, false)
        }
        _ => {
            let _ = e.print();
            ExitCode::from(ErrorCode::Usage.category().exit_code())
        }
    }
}

#[cfg(feature = "gui")]
fn open_window(args: &cli::Cli) -> ExitCode {
    // `--home` (else WEFT_HOME) wins over the default data directory, as for every CLI
    // command.
    let result = match context::home(&args.global) {
        Ok(home) => weft_desktop::run_with_home(home),
        Err(e) => {
            return report(
                context::code_of(&e),
                &weft_core::error_code::render(e.as_ref()),
                false,
                args.global.color.stderr(),
            );
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(
            ErrorCode::Internal,
            &weft_core::error_code::render(&e),
            false,
            args.global.color.stderr(),
        ),
    }
}

#[cfg(not(feature = "gui"))]
fn open_window(_args: &cli::Cli) -> ExitCode {
    let _ = cli::Cli::command().print_help();
    eprintln!("\nthis build of weft has no desktop window; give a command");
    ExitCode::from(ErrorCode::Usage.category().exit_code())
}
