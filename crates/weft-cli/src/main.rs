//! `weft`: with no arguments, the desktop app; with a subcommand, the CLI.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;
mod invite;
mod net;
mod output;
mod peers;
mod relay;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let Some(command) = args.command else {
        return open_window(&args);
    };
    match commands::run(&args.global, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "gui")]
fn open_window(args: &cli::Cli) -> ExitCode {
    // `--home` (or WEFT_HOME, which clap already folded into it) wins over
    // the default data directory, as for every CLI command.
    let result = match &args.global.home {
        Some(home) => weft_desktop::run_with_home(home.clone()),
        None => weft_desktop::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "gui"))]
fn open_window(_args: &cli::Cli) -> ExitCode {
    use clap::CommandFactory;
    let _ = cli::Cli::command().print_help();
    eprintln!("\nthis build of weft has no desktop window; give a command");
    ExitCode::from(2)
}
