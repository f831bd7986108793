//! `weft`: with no arguments, the desktop app; with a subcommand, the CLI.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;
mod output;

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
    if let Some(home) = &args.global.home {
        // The app reads WEFT_HOME like the CLI; --home wins over it.
        // SAFETY-free: set before any thread is started.
        set_home_env(home);
    }
    match weft_desktop::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "gui")]
fn set_home_env(home: &std::path::Path) {
    // `set_var` is unsafe in edition 2024 because other threads may read the
    // environment concurrently; none exist yet at this point in main.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("WEFT_HOME", home);
    }
}

#[cfg(not(feature = "gui"))]
fn open_window(_args: &cli::Cli) -> ExitCode {
    use clap::CommandFactory;
    let _ = cli::Cli::command().print_help();
    eprintln!("\nthis build of weft has no desktop window; give a command");
    ExitCode::from(2)
}
