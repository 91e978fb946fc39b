//! Traced runs and run identity: the trace header of a prepared run, the
//! configuration hash, per-layer statistics as traces and baselines store them,
//! and a simulation streamed to a `.rtrace` file.

use std::path::Path;

use rramsim_engine::SimResult;
use rramsim_graph::Network;
use rramsim_hw::{Action, ArchParams, Component};
use rramsim_map::MappingOptions;
use rramsim_trace::{Filter, Header, LayerInfo, LayerStats, TraceWriter};

use crate::error::{Error, Result};
use crate::experiment::{Outcome, Prepared, target_name};

pub use rramsim_engine::Event;
pub use rramsim_trace::{
    ChromeStats, Diff, FORMAT_MAJOR, FORMAT_MINOR, Summary, TableStats, TraceError, TraceReader, check_chrome, diff,
    summarize, to_chrome, to_csv, to_parquet,
};

/// Event filters of a trace: layer name globs, a cycle window `FROM..TO`, the
/// deepest hierarchy level kept (`tile`, `pe` or `xbar`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterSpec {
    pub layers: Vec<String>,
    pub window: Option<String>,
    pub level: Option<String>,
}

impl FilterSpec {
    /// Whether any filter is set.
    pub fn is_empty(&self) -> bool {
        *self == FilterSpec::default()
    }

    /// The filter over layers named `names`.
    pub fn build(&self, names: &[String]) -> Result<Filter> {
        Filter::parse(&self.layers, self.window.as_deref(), self.level.as_deref(), names).map_err(Error::input)
    }
}

/// FNV-1a of everything that determines a run's figures. The network enters as
/// its layers in order (`Network`'s own Debug holds a hash map, whose order
/// varies between processes).
pub fn config_hash(net: &Network, arch: &ArchParams, options: &MappingOptions, batch: u32, seed: Option<u64>) -> u64 {
    let mut text = format!("{arch:?}\n{options:?}\nbatch={batch}\nseed={seed:?}\n{}\n", net.name());
    for id in net.ids() {
        let inputs: Vec<usize> = net.inputs(id).iter().map(|i| i.0).collect();
        text.push_str(&format!("{:?} {inputs:?} {:?}\n", net.layer(id), net.output_shape(id)));
    }
    rramsim_core::codec::fnv1a(text.as_bytes())
}

/// Per-layer statistics as the trace and baselines store them.
pub fn layer_stats(arch: &ArchParams, result: &SimResult) -> Vec<LayerStats> {
    result
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut energy = vec![0.0; Component::ALL.len()];
            for (c, e) in arch.energy.by_component(&l.actions) {
                energy[Component::ALL.iter().position(|&k| k == c).expect("listed")] = e.0;
            }
            LayerStats {
                layer: i as u32,
                start: l.start.get(),
                end: l.end.get(),
                items: l.items,
                macs: l.macs,
                actions: l.actions.0.to_vec(),
                energy_pj: energy,
            }
        })
        .collect()
}

/// Opens a trace file for reading; errors name the file.
pub fn open(path: &Path) -> Result<TraceReader<std::io::BufReader<std::fs::File>>> {
    rramsim_trace::open(path).map_err(|e| Error::input(format!("{}: {e}", path.display())))
}

/// `OUT.ext` → `OUT.layers.ext`: where the per-layer table of a converted trace goes.
pub fn layers_path(path: &Path) -> std::path::PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.layers.{}", ext.to_string_lossy()),
        None => format!("{stem}.layers"),
    };
    path.with_file_name(name)
}

impl Prepared {
    /// The header a trace of this run carries.
    pub fn trace_header(&self, filter: &Filter) -> Header {
        let net = &self.net;
        Header {
            simulator_version: crate::VERSION.to_owned(),
            config_hash: self.config_hash,
            seed: self.seed,
            clock_ghz: self.arch.clock.ghz(),
            arch: self.arch.name.clone(),
            workload: self.workload.clone(),
            batch: self.batch,
            offload: self.offload_name(),
            layers: net
                .ids()
                .map(|id| LayerInfo {
                    name: net.layer(id).name.clone(),
                    op: net.layer(id).op.kind_name().to_owned(),
                    target: target_name(&self.mapping.layer(id).placement).to_owned(),
                })
                .collect(),
            actions: Action::ALL.iter().map(|a| a.name().to_owned()).collect(),
            components: Component::ALL.iter().map(|c| c.name().to_owned()).collect(),
            filter: filter.description.clone(),
        }
    }

    /// Layer names in order (what filters match).
    pub fn layer_names(&self) -> Vec<String> {
        self.net.ids().map(|id| self.net.layer(id).name.clone()).collect()
    }

    /// Simulates with a streaming trace writer; the trace file appears only if
    /// the run completes. Returns the outcome and the events written.
    pub fn simulate_traced(&self, path: &Path, filter: &FilterSpec) -> Result<(Outcome, u64)> {
        let filter = filter.build(&self.layer_names())?;
        let header = self.trace_header(&filter);
        crate::io::check_writable_dir(path).map_err(|e| e.context("--trace"))?;
        let io = |e: std::io::Error| Error::input(format!("cannot write {}: {e}", path.display()));
        // The writer streams to `<path>.partial` (removed on Ctrl-C too).
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let _guard = crate::io::TempFile::register(Path::new(&partial));
        let mut writer = TraceWriter::create(path, &header, filter).map_err(io)?;
        let outcome = self.simulate_with(&mut writer)?;
        let events = writer.finish(&layer_stats(&self.arch, &outcome.result)).map_err(io)?;
        Ok((outcome, events))
    }
}
