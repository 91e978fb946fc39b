//! `rramsim`, the command-line tool: argument parsing, rendering (tables,
//! JSON, CSV, SVG), progress bars and exit codes (0 ok, 2 bad input, 1 internal
//! error, 3 a check found differences).
//!
//! The pipeline is the `rramsim` facade crate's; this crate translates
//! arguments into its options and renders what it returns. Output files are
//! written to a temporary file and renamed, so a failed run never leaves a
//! half-written file.

mod accuracy;
mod arch;
mod baseline;
mod error;
mod faults;
mod output;
mod run;
mod study;
mod sweep;
mod trace;
mod workload;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// rramsim: cycle-level simulator for RRAM (resistive-memory) DNN accelerators.
#[derive(Debug, Parser)]
#[command(name = "rramsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Memory budget for allocations sized by input (tensors, fault maps, traces, batches, sweep points): bytes or K/M/G/T (powers of 1024); input needing more is refused with exit 2
    #[arg(long, global = true, value_name = "BYTES", default_value = "4G", value_parser = rramsim::parse_bytes)]
    max_memory: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect and export networks (zoo names, workload TOML files, ONNX files).
    #[command(subcommand)]
    Workload(workload::WorkloadCommand),
    /// Validate an architecture and print its resolved parameters and peak figures.
    Check(arch::CheckArgs),
    /// Map a network onto an architecture and simulate it cycle by cycle.
    Run(run::RunArgs),
    /// The widening / 1x1-offload cost study: runtime and energy per configuration.
    Study(study::StudyArgs),
    /// Design-space sweeps: run a spec's points in parallel, or one shard of them.
    Sweep(sweep::SweepArgs),
    /// Stuck-at-0/1 fault maps: generate, import, export, statistics.
    #[command(subcommand)]
    Faults(faults::FaultsCommand),
    /// Drop-connect training of the small model family (Fashion-MNIST), exported to ONNX.
    Train(accuracy::TrainArgs),
    /// Accuracy of a trained model on faulty crossbars: mean ± std over fault-map seeds.
    Eval(accuracy::EvalArgs),
    /// Run a trained model on a `.npy` batch of images (float, or on an architecture).
    Infer(accuracy::InferArgs),
    /// Binary traces written by `run --trace`: convert, summarize, diff.
    #[command(subcommand)]
    Trace(trace::TraceCommand),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Ctrl-C leaves no temporary file; a closed stdout ends the process quietly.
    rramsim::io::remove_temp_files_on_signal();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    rramsim::set_max_memory(cli.max_memory);
    let result = match cli.command {
        Command::Workload(cmd) => workload::run(cmd),
        Command::Check(args) => arch::run_check(args),
        Command::Run(args) => run::run(args),
        Command::Faults(cmd) => faults::run(cmd),
        Command::Study(args) => study::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Trace(cmd) => trace::run(cmd),
        Command::Train(args) => accuracy::train(args),
        Command::Eval(args) => accuracy::eval(args),
        Command::Infer(args) => accuracy::infer(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // An expected outcome of a comparison, not an error.
        Err(e @ error::CliError::Differs(_)) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code())
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// Every argument of every subcommand has a help line.
    #[test]
    fn every_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "rramsim", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:#?}");
    }

    #[test]
    fn the_max_memory_default_is_the_library_default() {
        let cli = <super::Cli as clap::Parser>::try_parse_from(["rramsim", "check", "isaac"]).unwrap();
        assert_eq!(cli.max_memory, rramsim::DEFAULT_MAX_MEMORY);
    }

    #[test]
    fn errors_map_to_exit_codes() {
        assert_eq!(crate::error::CliError::input("x").exit_code(), 2);
        assert_eq!(crate::error::CliError::internal("x").exit_code(), 1);
    }
}
