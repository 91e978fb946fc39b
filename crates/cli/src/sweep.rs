//! `rramsim sweep`: design-space sweeps. The spec, its points and the result
//! tables are `rramsim::sweep` and `rramsim::results`; this module parses the
//! arguments, selects points (`--list`, `--point`, `--shard`), shows progress and
//! merges shards.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rramsim::results::{Row, read_rows, write_rows};
use rramsim::sweep::{Spec, merge_rows, parse_shard, run_points};

use crate::error::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub merge: Option<SweepCommand>,
    /// The sweep spec (TOML).
    pub spec: Option<PathBuf>,
    /// Results file: .parquet, .csv or .json. Points already in it are skipped.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Print the points as JSON lines and exit.
    #[arg(long, conflicts_with_all = ["point", "shard"])]
    pub list: bool,
    /// Run only point `I`.
    #[arg(long, value_name = "I", conflicts_with = "shard")]
    pub point: Option<usize>,
    /// Run only the points whose index is `I` modulo `N` (`I/N`).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Merge result files of shards or points into one (sorted by point index).
    Merge {
        inputs: Vec<PathBuf>,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

pub fn run(args: SweepArgs) -> CliResult<()> {
    if let Some(SweepCommand::Merge { inputs, output }) = args.merge {
        return merge(&inputs, &output);
    }
    let spec_path = args.spec.ok_or_else(|| CliError::input("sweep needs a spec file (or `sweep merge`)"))?;
    let spec = Spec::load(&spec_path)?;
    let total = spec.len();
    if args.list {
        for i in 0..total {
            let line = serde_json::json!({ "index": i, "point": spec.point(i) });
            println!("{line}");
        }
        return Ok(());
    }
    let output = args.output.ok_or_else(|| CliError::input("sweep needs -o results.parquet|csv|json"))?;
    let selected: Vec<usize> = match (args.point, &args.shard) {
        (Some(i), _) if i >= total => {
            return Err(CliError::input(format!("--point {i}: the sweep has {total} points (0..{total})")));
        }
        (Some(i), _) => vec![i],
        (None, Some(s)) => {
            let (i, n) = parse_shard(s)?;
            (0..total).filter(|p| p % n == i).collect()
        }
        (None, None) => (0..total).collect(),
    };
    // Resume: points already in the output are kept, not run again.
    let mut rows = if output.exists() { read_rows(&output)? } else { Vec::new() };
    let done: std::collections::HashSet<u64> = rows.iter().map(|r| r.index).collect();
    let todo: Vec<usize> = selected.into_iter().filter(|i| !done.contains(&(*i as u64))).collect();
    let bar = crate::output::progress_bar(todo.len() as u64, "points")?;
    let new_rows: Vec<Row> = run_points(&spec, &todo, &|| bar.inc(1));
    bar.finish_and_clear();
    let invalid = new_rows.iter().filter(|r| r.status != "ok").count();
    rows.extend(new_rows);
    let rows = merge_rows(rows)?;
    write_rows(&output, &spec.axis_names(), &rows)?;
    eprintln!(
        "wrote {}: {} points ({} run now, {} kept, {invalid} invalid)",
        output.display(),
        rows.len(),
        todo.len(),
        done.len()
    );
    Ok(())
}

fn merge(inputs: &[PathBuf], output: &Path) -> CliResult<()> {
    if inputs.is_empty() {
        return Err(CliError::input("sweep merge needs input files"));
    }
    let mut rows: Vec<Row> = Vec::new();
    for p in inputs {
        rows.extend(read_rows(p)?);
    }
    let rows = merge_rows(rows)?;
    let axes: Vec<String> = rows.first().map(|r| r.point.keys().cloned().collect()).unwrap_or_default();
    write_rows(output, &axes, &rows)?;
    eprintln!("wrote {} ({} points from {} files)", output.display(), rows.len(), inputs.len());
    Ok(())
}
