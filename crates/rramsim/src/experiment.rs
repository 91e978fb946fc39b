//! The simulation pipeline, assembled once: an architecture and a workload,
//! options validated up front, then load → map (all-RRAM) → fault map → offload
//! policy resolved → final mapping → simulate → metrics and reports.
//!
//! Lifecycle in types: [`Experiment`] (what to run) → [`Prepared`] (validated,
//! mapped, fault map materialized; misconfiguration fails here, before the first
//! cycle) → [`Outcome`] (the engine's result and the derived metrics).

use rramsim_engine::{BufferSlot, EventSink, NoEvents, SimOptions, SimResult, simulate_with};
use rramsim_fault::{FaultMap, FaultModel, LayerFaultStats, RemapMode};
use rramsim_graph::Network;
use rramsim_hw::ArchParams;
use rramsim_map::{Mapping, MappingOptions, Offload, Placement, Replication, ReplicationBudget, map_network};
use serde::Serialize;

use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::faults::{LayerFaultRow, OriginReport, layer_rows, run_layer_stats};
use crate::options::{FaultSpec, OffloadSpec};
use crate::workload::WorkloadSpec;

/// How a network is run: the options every simulating entry point shares.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    pub offload: OffloadSpec,
    pub replication: Replication,
    /// What replication may use (`--max-replicas`, `--chip-budget`).
    pub budget: ReplicationBudget,
    /// Inputs simulated back to back (at least 1).
    pub batch: u32,
    pub faults: Option<FaultSpec>,
    /// Fault-aware remapping to price in the report (`run --remap`): index
    /// tables and spare cells; it changes no cycle.
    pub remap: RemapMode,
}

impl Default for RunOptions {
    /// Everything on RRAM, balanced replication, one input, no faults: the
    /// documented defaults of `rramsim run`.
    fn default() -> Self {
        RunOptions {
            offload: OffloadSpec::Fixed(Offload::AllRram),
            replication: Replication::Balanced,
            budget: ReplicationBudget::default(),
            batch: 1,
            faults: None,
            remap: RemapMode::None,
        }
    }
}

/// What to run: an architecture and a workload with their options.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// A preset name, an architecture `.toml` path or TOML text.
    pub arch: String,
    pub workload: WorkloadSpec,
    pub options: RunOptions,
}

impl Experiment {
    /// Loads the architecture and the network and prepares the run.
    pub fn prepare(&self) -> Result<Prepared> {
        let arch = Arch::load(&self.arch)?;
        let net = self.workload.load()?;
        prepare(&arch, net, &self.workload.label(), &self.options)
    }
}

/// A validated, mapped run, ready to simulate.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub arch: ArchParams,
    pub net: Network,
    /// How reports name the workload.
    pub workload: String,
    pub options: MappingOptions,
    pub mapping: Mapping,
    pub batch: u32,
    pub fault_map: Option<FaultMap>,
    pub fault_model: FaultModel,
    /// The fault generator's seed, when the map was generated for this run.
    pub seed: Option<u64>,
    /// FNV-1a of everything that determines the run's figures.
    pub config_hash: u64,
    /// The remapping the report prices.
    pub remap: RemapMode,
}

/// Maps `net` onto `arch` with `options`: the fault map (if any) covers the
/// chips of the all-RRAM mapping; `auto` offload is resolved against it.
pub fn prepare(arch: &Arch, net: Network, workload: &str, options: &RunOptions) -> Result<Prepared> {
    crate::options::check_batch(u64::from(options.batch))?;
    let params = &arch.params;
    let replication = options.replication;
    let model = options.faults.as_ref().map_or(FaultModel::Cell, |f| f.model);
    let budget = options.budget;
    let rram_options = MappingOptions { budget, ..MappingOptions::rram(replication) };
    let mut rram = map_network(&net, params, &rram_options).map_err(Error::from)?;
    let fault_map = options.faults.as_ref().map(|f| f.materialize(params, rram.chips_used)).transpose()?;
    // A fault map file covering fewer chips than the node: without a chip
    // budget of its own, the run uses the chips the map covers.
    let mut rram_options = rram_options;
    if let Some(map) = &fault_map
        && budget.chips.is_none()
        && (map.chips() as u32) < rram.chips_used
    {
        rram_options.budget.chips = Some((map.chips() as u32).clamp(1, params.node.chips));
        rram = map_network(&net, params, &rram_options).map_err(Error::from)?;
    }
    let budget = rram_options.budget;
    let offload = resolve_offload(&options.offload, &net, params, &rram, fault_map.as_ref(), model)?;
    let mapping_options = MappingOptions { replication, offload, budget };
    let mapping = if mapping_options == rram_options {
        rram
    } else {
        map_network(&net, params, &mapping_options).map_err(Error::from)?
    };
    // The engine's state grows with the batch and the node (chips × tiles):
    // refuse before the first cycle what the budget cannot hold.
    // The steady state is measured on a warm-up batch when the run's is smaller.
    let state = rramsim_engine::state_bytes(&net, params, &mapping, options.batch.max(STEADY_STATE_IMAGES));
    rramsim_core::budget::check(
        format_args!(
            "--batch {} on a node of {} chips (the engine's per-image tables and per-tile state)",
            options.batch, params.node.chips
        ),
        state,
        1,
    )?;
    let seed = fault_map.as_ref().and(options.faults.as_ref().and_then(FaultSpec::seed));
    let config_hash = crate::trace::config_hash(&net, params, &mapping_options, options.batch, seed);
    Ok(Prepared {
        arch: params.clone(),
        net,
        workload: workload.to_owned(),
        options: mapping_options,
        mapping,
        batch: options.batch,
        fault_map,
        fault_model: model,
        seed,
        config_hash,
        remap: options.remap,
    })
}

/// Resolves `auto` to a layer list: layers ranked by their fault-induced weight
/// error on the all-RRAM mapping, chosen while the digital unit's cycles stay
/// within the budget.
fn resolve_offload(
    spec: &OffloadSpec,
    net: &Network,
    arch: &ArchParams,
    rram: &Mapping,
    faults: Option<&FaultMap>,
    model: FaultModel,
) -> Result<Offload> {
    let budget = match spec {
        OffloadSpec::Fixed(o) => return Ok(o.clone()),
        OffloadSpec::Auto { budget } => *budget,
    };
    let Some(map) = faults else {
        return Err(Error::input("--offload auto ranks layers by their faults: give --faults or --fault-rate"));
    };
    let result = rramsim_engine::simulate(net, arch, rram, SimOptions { batch: 1 });
    let stats = run_layer_stats(net, arch, rram, map, model)?;
    let replication = rram.replication;
    let all_digital =
        map_network(net, arch, &MappingOptions { replication, offload: Offload::AllDigital, budget: rram.budget })
            .map_err(Error::from)?;
    let candidates: Vec<_> = stats
        .iter()
        .map(|s| {
            let cycles = match all_digital.layer(s.layer).placement {
                Placement::Digital { cycles, .. } => cycles,
                _ => u64::MAX / 4,
            };
            // Total relative weight error of the layer over its replicas.
            (s.layer, s.mean_rel_dw * s.weights as f64, cycles)
        })
        .collect();
    let budget_cycles = (budget * result.cycles_per_image()) as u64;
    let chosen = rramsim_map::auto_offload(&candidates, budget_cycles);
    Ok(Offload::Layers(chosen.iter().map(|&id| net.layer(id).name.clone()).collect()))
}

/// The result of a simulation with its derived metrics.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub result: SimResult,
    pub metrics: Metrics,
}

/// The figures of a run, derived once from the engine's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub total_cycles: u64,
    /// The first image's latency at the chip's clock.
    pub latency_ns: f64,
    /// The whole run's wall time at the chip's clock.
    pub run_ns: f64,
    pub first_image_cycles: u64,
    /// Measured cycles between images: the last image's gap to the first's,
    /// averaged (the first image's latency for a batch of one).
    pub cycles_per_image: f64,
    /// The steady-state interval, simulated: the cycles a batch of
    /// `steady_state_images` images fed back to back takes beyond one image
    /// alone, per further image (the run itself when its batch has several
    /// images, otherwise a warm-up run of 2), never less than the bound.
    pub steady_state_cycles_per_image: f64,
    /// Images of the run the steady state was measured on.
    pub steady_state_images: u32,
    /// A lower bound on the steady-state interval: the busiest single
    /// resource's busy cycles per image.
    pub steady_state_bound_cycles_per_image: f64,
    /// That resource: crossbar, adc, buffer, alu, noc, offchip or digital.
    pub bottleneck: &'static str,
    /// Steady-state images per second (1 / the simulated steady-state interval).
    pub throughput_images_per_s: f64,
    /// Images per second measured over the batch (1 / `cycles_per_image`).
    pub measured_images_per_s: f64,
    /// Marginal energy of one more image in the steady state: the dynamic
    /// energy per image plus the static power × the steady-state interval.
    pub steady_state_energy_per_image_pj: f64,
    /// Dynamic + static energy of the run.
    pub energy_pj: f64,
    /// Σ actions × energy per action.
    pub dynamic_energy_pj: f64,
    /// Static power of the tiles in use (and the digital unit when used) × the run's time.
    pub static_energy_pj: f64,
    pub energy_per_image_pj: f64,
    pub macs: u64,
    /// Two operations per MAC over the run's energy.
    pub tops_per_w: f64,
    pub crossbars: u64,
    pub pes: u32,
    pub tiles: u32,
    pub chips: u32,
    pub digital_utilization: f64,
    pub events: u64,
    /// The largest peak occupancy of any buffer holding activations, in bytes.
    pub peak_buffer_bytes: u64,
    /// Cycles items waited for buffer room after their inputs had arrived.
    pub buffer_stall_cycles: u64,
    /// Activation bytes held off-chip because a buffer could not hold them.
    pub spilled_bytes: u64,
}

/// Images of the warm-up run the steady state is measured on when the run's
/// own batch is a single image.
pub const STEADY_STATE_IMAGES: u32 = 2;

impl Metrics {
    /// The figures of `result` (a run of `batch` images); the steady state is
    /// measured on `steady`, a run of at least two images of the same mapping
    /// (`result` itself when its batch has several), against `lone`, the
    /// latency of one image run alone.
    pub fn of(
        arch: &ArchParams,
        mapping: &Mapping,
        result: &SimResult,
        batch: u32,
        steady: &SimResult,
        lone: rramsim_core::Cycle,
    ) -> Metrics {
        let energy = result.energy(arch).0;
        let macs: u64 = result.layers.iter().map(|l| l.macs).sum();
        let cycles_per_image = result.cycles_per_image();
        let (bottleneck, bound) = result.steady_state_bound();
        let steady_images = steady.image_done.len().max(1);
        let interval = steady.steady_interval(lone).unwrap_or_else(|| steady.cycles_per_image());
        let steady_energy = steady.dynamic_energy(arch).0 / steady_images as f64
            + rramsim_hw::leakage_energy(
                arch,
                steady.tiles_used,
                steady.digital_used,
                rramsim_core::Nanoseconds(interval / arch.clock.ghz()),
            )
            .0;
        let hz = arch.clock.ghz() * 1e9;
        Metrics {
            total_cycles: result.total_cycles.get(),
            latency_ns: arch.clock.to_ns(result.first_latency()).0,
            run_ns: result.latency(arch).0,
            first_image_cycles: result.first_latency().get(),
            cycles_per_image,
            steady_state_cycles_per_image: interval,
            steady_state_images: u32::try_from(steady_images).unwrap_or(u32::MAX),
            steady_state_bound_cycles_per_image: bound,
            bottleneck: bottleneck.name(),
            throughput_images_per_s: hz / interval,
            measured_images_per_s: hz / cycles_per_image,
            steady_state_energy_per_image_pj: steady_energy,
            energy_pj: energy,
            dynamic_energy_pj: result.dynamic_energy(arch).0,
            static_energy_pj: result.leakage_energy(arch).0,
            energy_per_image_pj: energy / f64::from(batch),
            macs,
            // 2 ops per MAC; ops per pJ = TOPS/W.
            tops_per_w: 2.0 * macs as f64 / energy,
            crossbars: mapping.crossbars_used,
            pes: mapping.pes_used,
            tiles: mapping.tiles_used,
            chips: mapping.chips_used,
            digital_utilization: result.digital_utilization(),
            events: result.events,
            peak_buffer_bytes: result.buffers.iter().map(|b| b.peak_bytes).max().unwrap_or(0),
            buffer_stall_cycles: result.layers.iter().map(|l| l.buffer_stall_cycles).sum(),
            spilled_bytes: result.layers.iter().map(|l| l.spilled_bytes).sum(),
        }
    }
}

impl Metrics {
    /// Adds dynamic energy the engine does not count (a remap's index-table
    /// reads): `run_pj` over the run, `steady_pj` per steady-state image.
    fn add_dynamic(&mut self, run_pj: f64, steady_pj: f64, batch: u32) {
        self.dynamic_energy_pj += run_pj;
        self.energy_pj += run_pj;
        self.energy_per_image_pj = self.energy_pj / f64::from(batch.max(1));
        self.steady_state_energy_per_image_pj += steady_pj;
        self.tops_per_w = 2.0 * self.macs as f64 / self.energy_pj;
    }
}

/// The per-crossbar hardware of remap `mode` on `arch` (`None` without remapping).
fn remap_hardware(arch: &ArchParams, mode: RemapMode) -> Option<rramsim_hw::remap::RemapHardware> {
    rramsim_hw::remap::RemapHardware::of(arch, mode != RemapMode::None, mode == RemapMode::RowsCols)
}

impl Prepared {
    /// Simulates the run cycle by cycle. A run whose buffers deadlock (a
    /// producer waits for room its consumer never frees) is bad input: the
    /// error names the tile, the edge and the bytes its buffer holds.
    pub fn simulate(&self) -> Result<Outcome> {
        self.simulate_with(&mut NoEvents)
    }

    /// [`Prepared::simulate`], reporting every event to `sink`; the outcome is
    /// the same whichever sink listens.
    pub fn simulate_with<S: EventSink>(&self, sink: &mut S) -> Result<Outcome> {
        let result = simulate_with(&self.net, &self.arch, &self.mapping, SimOptions { batch: self.batch }, sink);
        self.check_deadlock(&result)?;
        // The steady state: a batch of several images against one image alone;
        // the run supplies whichever it is, a second run the other.
        let extra = simulate_with(
            &self.net,
            &self.arch,
            &self.mapping,
            SimOptions { batch: if self.batch > 1 { 1 } else { STEADY_STATE_IMAGES } },
            &mut NoEvents,
        );
        self.check_deadlock(&extra)?;
        let (steady, lone) = if self.batch > 1 { (&result, &extra) } else { (&extra, &result) };
        let mut metrics = Metrics::of(&self.arch, &self.mapping, &result, self.batch, steady, lone.first_latency());
        // A remap's index-table reads are dynamic energy of the run (`run --remap`).
        if let Some(hw) = remap_hardware(&self.arch, self.remap) {
            let steady_images = steady.image_done.len().max(1) as f64;
            metrics.add_dynamic(
                hw.energy_pj(&self.arch, &result.actions),
                hw.energy_pj(&self.arch, &steady.actions) / steady_images,
                self.batch,
            );
        }
        Ok(Outcome { result, metrics })
    }

    /// A run whose buffers deadlocked is bad input: the error names the
    /// tile, the edge and the bytes its buffer holds.
    fn check_deadlock(&self, result: &SimResult) -> Result<()> {
        if let Some(d) = &result.deadlock {
            return Err(Error::input(format!(
                "{}: the ring of `{}` → `{}` ({} B) is full and its consumer cannot free it (a buffer deadlock); \
                 it needs more than {} B: enlarge `tile.buffer.kib` / `digital.sram_kib`",
                buffer_name(d.slot),
                self.net.layer(d.producer).name,
                self.net.layer(d.consumer).name,
                d.ring_bytes,
                d.ring_bytes
            )));
        }
        Ok(())
    }

    /// The offload policy as reports name it.
    pub fn offload_name(&self) -> String {
        self.options.offload.name()
    }

    /// Names of the layers placed on the digital unit.
    pub fn digital_layers(&self) -> Vec<String> {
        self.net
            .ids()
            .filter(|&id| matches!(self.mapping.layer(id).placement, Placement::Digital { .. }))
            .map(|id| self.net.layer(id).name.clone())
            .collect()
    }

    /// Per-layer statistics of the run's fault map on its mapping.
    pub fn fault_stats(&self) -> Result<Option<Vec<LayerFaultStats>>> {
        self.fault_map
            .as_ref()
            .map(|map| run_layer_stats(&self.net, &self.arch, &self.mapping, map, self.fault_model))
            .transpose()
    }

    /// The report of `rramsim run` (its `--format json` document).
    pub fn report(&self, outcome: &Outcome) -> Result<RunReport> {
        let (arch, result, m) = (&self.arch, &outcome.result, &outcome.metrics);
        let layers = self
            .net
            .ids()
            .map(|id| {
                let l = &result.layers[id.0];
                let lm = self.mapping.layer(id);
                let (utilization, bound) = match &lm.placement {
                    Placement::Crossbars { layout, .. } => (Some(layout.utilization), Some(l.bound().name())),
                    _ => (None, None),
                };
                LayerRow {
                    name: self.net.layer(id).name.clone(),
                    op: self.net.layer(id).op.kind_name(),
                    target: target_name(&lm.placement),
                    crossbars: lm.crossbars(),
                    replicas: lm.replicas(),
                    utilization,
                    start_cycle: l.start.get(),
                    end_cycle: l.end.get(),
                    cycles: l.span().get(),
                    macs: l.macs,
                    energy_pj: arch.energy.energy(&l.actions).0,
                    bound,
                    buffer_stall_cycles: l.buffer_stall_cycles,
                    spilled_bytes: l.spilled_bytes,
                    tiles: self.mapping.layer_tiles(arch, id).len() as u32,
                    chips: self.mapping.layer_chips(arch, id),
                    offchip_bytes: l.actions[rramsim_hw::Action::OffchipByte],
                    energy_by_component: arch
                        .energy
                        .by_component(&l.actions)
                        .into_iter()
                        .filter(|(_, e)| e.0 > 0.0)
                        .map(|(c, e)| (c.name().to_owned(), e.0))
                        .collect(),
                }
            })
            .collect();
        let faults = match (&self.fault_map, self.fault_stats()?) {
            (Some(map), Some(stats)) => Some(RunFaults {
                convention: rramsim_fault::CONVENTION,
                origin: OriginReport::of(&map.origin),
                fault_model: self.fault_model.name(),
                layers: layer_rows(&self.net, &stats),
            }),
            _ => None,
        };
        Ok(RunReport {
            arch: arch.name.clone(),
            workload: self.workload.clone(),
            batch: self.batch,
            replication: self.mapping.replication.name(),
            replication_budget: self.mapping.budget.name(),
            offload: self.offload_name(),
            clock_ghz: arch.clock.ghz(),
            metrics: m.clone(),
            energy_by_component: result
                .energy_by_component(arch)
                .into_iter()
                .map(|(c, e)| (c.name().to_owned(), e.0))
                .chain(
                    remap_hardware(arch, self.remap)
                        .map(|hw| ("remap_tables".to_owned(), hw.energy_pj(arch, &result.actions))),
                )
                .collect(),
            layers,
            buffers: result
                .buffers
                .iter()
                .map(|b| BufferRow {
                    buffer: buffer_name(b.slot),
                    capacity_bytes: b.capacity_bytes,
                    peak_bytes: b.peak_bytes,
                    min_bytes: b.min_bytes,
                    spilled_edges: b.spilled_edges,
                })
                .collect(),
            faults,
            remap: RemapCostReport::new(arch, self.remap, m.crossbars, &result.actions),
        })
    }
}

/// The target of a layer, as reports and traces name it: `rram` (crossbars),
/// `digital`, `tile` (tile ALU), `fused` or `view` (no work of its own).
pub fn target_name(p: &Placement) -> &'static str {
    match p {
        Placement::Crossbars { .. } => "rram",
        Placement::Digital { .. } => "digital",
        Placement::Alu { .. } => "tile",
        Placement::Fused { .. } => "fused",
        Placement::View { .. } | Placement::Input { .. } => "view",
    }
}

/// A buffer as reports name it: `tile N` or `digital sram`.
pub fn buffer_name(slot: BufferSlot) -> String {
    match slot {
        BufferSlot::Tile(t) => format!("tile {t}"),
        BufferSlot::DigitalSram => "digital sram".to_owned(),
    }
}

/// Occupancy of one buffer in a run report.
#[derive(Debug, Clone, Serialize)]
pub struct BufferRow {
    /// `tile N` or `digital sram`.
    pub buffer: String,
    pub capacity_bytes: u64,
    /// Most activation bytes held at once.
    pub peak_bytes: u64,
    /// What the edges held here need at least (spilled ones included).
    pub min_bytes: u64,
    /// Edges held off-chip because their minimum did not fit.
    pub spilled_edges: u32,
}

/// One layer of a run report.
#[derive(Debug, Clone, Serialize)]
pub struct LayerRow {
    pub name: String,
    pub op: &'static str,
    /// `rram` (crossbars), `digital`, `tile` (tile ALU), `fused` or `view`.
    pub target: &'static str,
    pub crossbars: u64,
    pub replicas: u32,
    pub utilization: Option<f64>,
    pub start_cycle: u64,
    pub end_cycle: u64,
    pub cycles: u64,
    pub macs: u64,
    pub energy_pj: f64,
    /// What limits a layer on crossbars: `crossbar`, `adc`, `noc`, `offchip`,
    /// `alu`, `buffer` (its busiest resource, when that was busy for at least
    /// half the layer's span) or `input` (it mostly waited); `null` for other
    /// layers. See `rramsim_engine::LayerResult::bound`.
    pub bound: Option<&'static str>,
    /// Cycles its items waited for room in a consumer's buffer.
    pub buffer_stall_cycles: u64,
    /// Output bytes held off-chip (spilled).
    pub spilled_bytes: u64,
    /// Distinct tiles its work sits on: every tile its replicas touch, every
    /// tile an ALU layer's work is spread over (its producer's replica tiles),
    /// or its one tile (a layer on the digital unit: the tile it sits beside).
    pub tiles: u32,
    /// The chips its work sits on (its replicas', the chips of the tiles an
    /// ALU layer's work is spread over, or its tile's), ascending.
    pub chips: Vec<u32>,
    /// Bytes it sends over off-chip links: its outputs to consumers on other
    /// chips (spills counted twice), and inputs and partial sums of its
    /// replicas that span chips.
    pub offchip_bytes: u64,
    /// The layer's dynamic energy per component (leakage is reported for the run).
    #[serde(serialize_with = "as_map")]
    pub energy_by_component: Vec<(String, f64)>,
}

/// The report of a run: totals, per component and per layer.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub arch: String,
    pub workload: String,
    pub batch: u32,
    pub replication: &'static str,
    /// `none` or e.g. `chips=2,max_replicas=8`.
    pub replication_budget: String,
    pub offload: String,
    pub clock_ghz: f64,
    /// Totals: cycles, latency, throughput, energy, MACs, TOPS/W, hardware used.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Dynamic energy per component, and leakage.
    #[serde(serialize_with = "as_map")]
    pub energy_by_component: Vec<(String, f64)>,
    pub layers: Vec<LayerRow>,
    /// Peak occupancy of every buffer that holds activations.
    pub buffers: Vec<BufferRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<RunFaults>,
    /// The hardware cost of fault-aware remapping (`run --remap`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remap: Option<RemapCostReport>,
}

/// What fault-aware remapping adds to a run (see `rramsim_hw::remap`).
#[derive(Debug, Clone, Serialize)]
pub struct RemapCostReport {
    pub mode: &'static str,
    pub spare_rows: u32,
    pub spare_cols: u32,
    /// Crossbars of the run (each gets index tables; spares add no crossbars).
    pub crossbars: u64,
    pub extra_crossbars: u64,
    pub row_index_bits: u32,
    pub col_index_bits: u32,
    pub table_bytes_per_crossbar: u64,
    /// Index tables of all the run's crossbars.
    pub table_area_mm2: f64,
    /// Spare cells of all the run's crossbars (in the chip area already).
    pub spare_area_mm2: f64,
    /// Energy of the table reads over the run (in the run's energy, as the
    /// `remap_tables` component).
    pub table_energy_pj: f64,
    /// Spare cells' share of the run's crossbar read energy (in the run's energy already).
    pub spare_read_energy_pj: f64,
    pub extra_cycles: u64,
}

impl RemapCostReport {
    /// The cost of `mode` on `arch` for a run over `crossbars` crossbars with these counts.
    pub fn new(
        arch: &rramsim_hw::ArchParams,
        mode: rramsim_fault::RemapMode,
        crossbars: u64,
        counts: &rramsim_hw::ActionCounts,
    ) -> Option<Self> {
        let hw = remap_hardware(arch, mode)?;
        let x = &arch.crossbar;
        let read = counts[rramsim_hw::Action::CrossbarRead] as f64 * arch.energy[rramsim_hw::Action::CrossbarRead].0;
        Some(Self {
            mode: mode.name(),
            spare_rows: x.spare_rows,
            spare_cols: x.spare_cols,
            crossbars,
            extra_crossbars: 0,
            row_index_bits: hw.row_index_bits,
            col_index_bits: hw.col_index_bits,
            table_bytes_per_crossbar: hw.table_bytes,
            table_area_mm2: hw.table_area_mm2 * crossbars as f64,
            spare_area_mm2: hw.spare_area_mm2 * crossbars as f64,
            table_energy_pj: hw.energy_pj(arch, counts),
            spare_read_energy_pj: read * hw.spare_cells as f64 / x.physical_cells() as f64,
            extra_cycles: 0,
        })
    }
}

/// Fault statistics of a run with a fault map.
#[derive(Debug, Clone, Serialize)]
pub struct RunFaults {
    pub convention: &'static str,
    pub origin: OriginReport,
    pub fault_model: &'static str,
    pub layers: Vec<LayerFaultRow>,
}

/// `(name, value)` pairs as a JSON object in their order.
fn as_map<S: serde::Serializer>(pairs: &[(String, f64)], s: S) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        m.serialize_entry(k, v)?;
    }
    m.end()
}
