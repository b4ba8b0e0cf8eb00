//! `tern`: migrate every consumer of a dataset when the dataset moves.
//!
//! The only crate that prints. It parses the command line, opens the catalog
//! and forge, calls the libraries, and renders their values as tables or JSON.
//! Exit status: 0 success, 1 the work ran but failed, 2 bad input.

#[macro_use]
mod out;
mod commands;
mod demo;
mod render;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Bad input: exit status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Work that ran and failed: exit status 1, message already printed.
#[derive(Debug)]
pub struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}

impl std::error::Error for Failed {}

#[derive(Parser)]
#[command(
    name = "tern",
    version,
    about = "Migrate every consumer of a dataset when the dataset moves",
    long_about = "tern finds every consumer of a dataset (from its catalog and by scanning code), rewrites their \
code, configuration and grants, verifies each change with the consumer's own tests, and rolls the fleet \
forward, merging green changes and rolling back on request.\n\nStart with `tern demo`.",
    after_help = "Exit status: 0 success, 1 the work ran but failed, 2 bad input.\nLogs: TERN_LOG=debug."
)]
struct Cli {
    /// Catalog to use: sqlite:PATH, a path, or postgres://USER:PASSWORD@HOST/DB [default: ./tern.db]
    #[arg(long, global = true, env = "TERN_CATALOG", value_name = "URL")]
    catalog: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a sample catalog and fleet in ./tern-demo/ and migrate it
    Demo(commands::DemoArgs),
    /// Rewrite directory trees in place with a spec's rules (no git)
    Rewrite(commands::RewriteArgs),
    /// Import and query the catalog
    #[command(subcommand)]
    Catalog(commands::CatalogCommand),
    /// Show, per consumer, what a migration would change; changes nothing
    Plan(commands::SpecArgs),
    /// Run a migration campaign (again to continue where it stopped)
    Run(commands::SpecArgs),
    /// List every migration, newest first, with its state and counts
    Migrations(commands::JsonArgs),
    /// Show where a migration stands
    Status(commands::IdArgs),
    /// Approve a consumer's change and merge it
    Approve(commands::ApproveArgs),
    /// Pause a migration: nothing more is proposed until it is resumed
    Pause(commands::PauseArgs),
    /// Resume a paused migration
    Resume(commands::IdArgs),
    /// Close open changes and revert merged ones, for one consumer or all
    Rollback(commands::RollbackArgs),
    /// Re-run failed changes from the current default branch, for one consumer or all
    Retry(commands::RetryArgs),
    /// Serve the web portal and JSON API (127.0.0.1:7878 by default)
    Serve(commands::ServeArgs),
    /// Lease and work changes from a shared catalog, alongside `tern run` and other workers
    Worker(commands::WorkerArgs),
    /// Make API tokens for the portal
    #[command(subcommand)]
    Token(commands::TokenCommand),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TERN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Ctrl-C, a hang-up or a kill: what this tern's verifications started
    // ends with it (a `kill -9` cannot be caught; the next run ends those).
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only makes async-signal-safe calls.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A command line clap refuses is bad input; under --json, said as JSON.
        Err(e) if e.use_stderr() && json_asked() => {
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("{}", serde_json::json!({"error": first, "exit": 2}));
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let catalog = cli
        .catalog
        .clone()
        .unwrap_or_else(|| commands::DEFAULT_CATALOG.into());
    let result = match cli.command {
        Command::Demo(a) => commands::demo(a),
        Command::Rewrite(a) => commands::rewrite(a, &catalog),
        Command::Catalog(c) => commands::catalog(c, &catalog),
        Command::Plan(a) => commands::plan(a, &catalog),
        Command::Run(a) => commands::run(a, &catalog),
        Command::Migrations(a) => commands::migrations(a, &catalog),
        Command::Status(a) => commands::status(a, &catalog),
        Command::Approve(a) => commands::approve(a, &catalog),
        Command::Pause(a) => commands::pause(a, &catalog),
        Command::Resume(a) => commands::resume(a, &catalog),
        Command::Rollback(a) => commands::rollback(a, &catalog),
        Command::Retry(a) => commands::retry(a, &catalog),
        Command::Serve(a) => commands::serve(a, &catalog),
        Command::Worker(a) => commands::worker(a, &catalog),
        Command::Token(c) => commands::token(c, &catalog),
    };
    match result {
        Ok(()) if out::failed() => ExitCode::from(1),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit_for(&e),
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    tern_fleet::verifier::end_running();
    // SAFETY: _exit(2) is async-signal-safe; nothing is flushed, nothing half-written
    // matters: every step is in the catalog before the next starts.
    unsafe { libc::_exit(128 + sig) }
}

/// Prints an error and picks the exit status from what kind of error it is.
fn exit_for(e: &anyhow::Error) -> ExitCode {
    if e.is::<Failed>() {
        return ExitCode::from(1);
    }
    // Each crate's error says whether the input was at fault; a spec that
    // does not parse always is.
    let bad_input = e.chain().any(|c| {
        c.is::<BadInput>()
            || c.is::<tern_spec::SpecError>()
            || c.downcast_ref::<tern_fleet::FleetError>()
                .is_some_and(|f| f.is_bad_input())
            || c.downcast_ref::<tern_catalog::CatalogError>()
                .is_some_and(|c| c.is_bad_input())
            || c.downcast_ref::<tern_scan::ScanError>()
                .is_some_and(|s| s.is_bad_input())
    });
    let exit: u8 = if bad_input { 2 } else { 1 };
    let message = format!("{e:#}");
    if json_asked() {
        // A program that asked for JSON reads its errors as JSON too.
        eprintln!("{}", serde_json::json!({"error": message, "exit": exit}));
    } else {
        eprintln!("error: {}", out::shown(&message));
    }
    ExitCode::from(exit)
}

/// Whether the command line asked for JSON (`--json`, before any `--`).
fn json_asked() -> bool {
    std::env::args()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}
