//! The command line: clap definitions and dispatch. Each subcommand lives in its
//! own file and returns an exit code: 0 clean, 1 findings or failed thresholds,
//! 2 the job could not be done.

mod audit;
mod engine;
mod generate;
mod mock;
mod record;
mod report;
mod run;
mod sweep;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use mock::{CommonMockArgs, ErpMockArgs, ShopwareMockArgs};

/// synctwin: simulate and audit Shopware 6 to ERP integrations before they fail in production.
#[derive(Debug, Parser)]
#[command(name = "synctwin", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario end to end (default: scenarios/default.toml) and write the report.
    Run(Box<run::RunArgs>),
    /// Serve a twin on loopback until Ctrl-C (for external integrations and manual tests).
    #[command(subcommand)]
    Mock(MockCommand),
    /// Run the reference sync engine against a Shopware and an ERP (twins or real).
    Engine(Box<engine::EngineArgs>),
    /// The engine's exception queue: list, or send back for another try.
    #[command(subcommand)]
    Exceptions(engine::ExceptionsCommand),
    /// Write a scenario's traffic as a JSONL trace (same scenario and seed, same bytes).
    Generate(generate::GenerateArgs),
    /// Run a scenario once per point of a grid of settings and recommend the fastest safe one.
    Sweep(Box<sweep::SweepArgs>),
    /// Work with reports: merge sweep shards or point reports into one sweep report.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Record a live shop's orders in a time window and its catalogue as a replayable, pseudonymised trace.
    Record(Box<record::RecordArgs>),
    /// Check a shop and an ERP item master for data problems before go-live (exit 1 on findings).
    Audit(Box<audit::AuditArgs>),
}

#[derive(Debug, Subcommand)]
pub enum MockCommand {
    /// A stateful Shopware 6 Admin API (OAuth, search, sync, state machines, stock).
    Shopware(ShopwareMockArgs),
    /// A stateful ERP in the shape of Business Central API v2.0.
    Erp(ErpMockArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(a) => run::run(*a),
        Command::Mock(m) => mock::run(m),
        Command::Engine(a) => engine::run_engine(*a),
        Command::Exceptions(c) => engine::run_exceptions(c),
        Command::Generate(a) => generate::run(a),
        Command::Sweep(a) => sweep::run(*a),
        Command::Report(c) => report::run(c),
        Command::Record(a) => record::run(*a),
        Command::Audit(a) => audit::run(*a),
    }
}
