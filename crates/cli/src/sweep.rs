//! `rramsim sweep`: design-space sweeps. The spec, its points and the result
//! tables are `rramsim::sweep` and `rramsim::results`; this module parses the
//! arguments, selects points (`--list`, `--point`, `--shard`), shows progress and
//! merges shards.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rramsim::results::{Journal, Results, read_rows, write_rows};
use rramsim::sweep::{Spec, merge_rows, parse_shard, run_point, run_points_with};

use crate::error::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub merge: Option<SweepCommand>,
    /// The sweep spec (TOML).
    pub spec: Option<PathBuf>,
    /// Results file: .parquet, .csv or .json. Finished points are appended to
    /// `<FILE>.journal` as they finish; points already in either are skipped
    /// (resume), and results of another spec are refused.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Print the points as JSON lines and exit.
    #[arg(long, conflicts_with_all = ["point", "shard"])]
    pub list: bool,
    /// Run only point `I` (without -o: print its row as a JSON line).
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
        /// Result files of one spec (shards, single points).
        inputs: Vec<PathBuf>,
        /// The merged results file (.parquet, .csv or .json).
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
            println!("{}", spec.point_json(i));
        }
        return Ok(());
    }
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
    let Some(output) = args.output else {
        // One point without a results file: print its row.
        if let [i] = selected[..]
            && args.point.is_some()
        {
            let row = run_point(&spec, i);
            println!("{}", serde_json::to_string(&row).map_err(CliError::internal)?);
            return Ok(());
        }
        return Err(CliError::input("sweep needs -o results.parquet|csv|json (or --point I to print one row)"));
    };
    // The output is checked before any point runs.
    rramsim::results::check_results_path(&output)?;
    let mut inputs: Vec<&Path> = spec.input_files().iter().map(PathBuf::as_path).collect();
    inputs.push(&spec_path);
    rramsim::io::check_output("-o", &output, &inputs)?;
    // Resume: points in the results file or its journal are kept, not run again.
    let mut rows = Vec::new();
    if output.exists() {
        let previous = read_rows(&output)?;
        rramsim::results::check_identity(&output, previous.spec.as_deref(), spec.identity())?;
        rows = previous.rows;
    }
    let (journal, journaled) = Journal::open(&output, spec.identity())?;
    rows.extend(journaled);
    let done: std::collections::HashSet<u64> = rows.iter().map(|r| r.index).collect();
    let todo: Vec<usize> = selected.into_iter().filter(|i| !done.contains(&(*i as u64))).collect();
    let bar = crate::output::progress_bar(todo.len() as u64, "points")?;
    let new_rows = run_points_with(&spec, &todo, &|row| {
        journal.append(row)?;
        bar.inc(1);
        Ok(())
    })?;
    bar.finish_and_clear();
    let invalid = new_rows.iter().filter(|r| r.status != "ok").count();
    rows.extend(new_rows);
    let rows = merge_rows(rows)?;
    let results = Results { spec: Some(spec.identity().to_owned()), axes: spec.axis_names(), rows };
    write_rows(&output, &results)?;
    journal.remove()?;
    eprintln!(
        "wrote {}: {} points ({} run now, {} kept, {invalid} invalid)",
        output.display(),
        results.rows.len(),
        todo.len(),
        done.len()
    );
    Ok(())
}

fn merge(inputs: &[PathBuf], output: &Path) -> CliResult<()> {
    if inputs.is_empty() {
        return Err(CliError::input("sweep merge needs input files"));
    }
    rramsim::io::check_output("-o", output, &inputs.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    let mut merged = Results::default();
    for (n, p) in inputs.iter().enumerate() {
        let part = read_rows(p)?;
        if n == 0 {
            merged.spec = part.spec;
            merged.axes = part.axes;
        } else if part.spec != merged.spec {
            return Err(CliError::input(format!(
                "{}: results of another sweep spec ({}) than {} ({}); merge only shards of one spec",
                p.display(),
                part.spec.as_deref().unwrap_or("no identity"),
                inputs[0].display(),
                merged.spec.as_deref().unwrap_or("no identity")
            )));
        }
        merged.rows.extend(part.rows);
    }
    merged.rows = merge_rows(merged.rows)?;
    write_rows(output, &merged)?;
    eprintln!("wrote {} ({} points from {} files)", output.display(), merged.rows.len(), inputs.len());
    Ok(())
}
