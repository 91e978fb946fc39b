//! Summaries of a trace (per layer, per unit, busiest resources) and diffs of
//! two traces (first differing event, per-layer deltas), both streaming.

use std::collections::HashMap;
use std::io::Read;

use rramsim_engine::{Event, EventKind, Unit};

use crate::error::TraceError;
use crate::filter::Filter;
use crate::format::{LayerStats, Record, TraceReader};

/// A layer's line in a summary.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerLine {
    pub name: String,
    pub op: String,
    pub target: String,
    pub start: u64,
    pub end: u64,
    pub items: u64,
    pub energy_pj: f64,
    /// Events of the layer in the trace (after filtering).
    pub events: u64,
}

/// A unit's use, per event kind.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitLine {
    pub unit: String,
    pub kind: &'static str,
    pub events: u64,
    /// Σ event durations (for shared resources: the cycles they were reserved).
    pub busy_cycles: u64,
    pub amount: u64,
    pub amount_unit: &'static str,
    /// `busy_cycles` / the run's cycles.
    pub utilization: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub events: u64,
    pub skipped: u64,
    pub total_cycles: u64,
    pub energy_pj: f64,
    pub energy_by_component: Vec<(String, f64)>,
    pub layers: Vec<LayerLine>,
    /// Every (unit, kind) pair, busiest first.
    pub units: Vec<UnitLine>,
}

impl Summary {
    /// Resources (not items or pipelined multiplies, which overlap themselves)
    /// by utilization, busiest first.
    pub fn busiest(&self, n: usize) -> Vec<&UnitLine> {
        self.units.iter().filter(|u| u.kind != "item" && u.kind != "mvm").take(n).collect()
    }
}

/// Summarizes a trace, counting the events `filter` passes.
pub fn summarize<R: Read>(reader: &mut TraceReader<R>, filter: &Filter) -> Result<Summary, TraceError> {
    let mut units: HashMap<(Unit, EventKind), (u64, u64, u64)> = HashMap::new();
    let mut per_layer = vec![0u64; reader.header.layers.len()];
    let mut stats: Vec<LayerStats> = Vec::new();
    let mut events = 0;
    let mut last_end = 0;
    while let Some(r) = reader.next_record()? {
        match r {
            Record::Event(e) if filter.passes(&e) => {
                let u = units.entry((e.unit, e.kind)).or_default();
                u.0 += 1;
                u.1 += e.end - e.start;
                u.2 += e.amount;
                per_layer[e.layer as usize] += 1;
                events += 1;
                last_end = last_end.max(e.end);
            }
            Record::Event(_) => {}
            Record::Layer(l) => stats.push(l),
        }
    }
    let h = &reader.header;
    let total = stats.iter().map(|l| l.end).max().unwrap_or(0).max(last_end);
    let mut by_component = vec![0.0; h.components.len()];
    for l in &stats {
        for (c, e) in l.energy_pj.iter().enumerate() {
            by_component[c] += e;
        }
    }
    let layers = stats
        .iter()
        .map(|l| {
            let info = &h.layers[l.layer as usize];
            LayerLine {
                name: info.name.clone(),
                op: info.op.clone(),
                target: info.target.clone(),
                start: l.start,
                end: l.end,
                items: l.items,
                energy_pj: l.energy_total(),
                events: per_layer[l.layer as usize],
            }
        })
        .collect();
    let mut units: Vec<_> = units.into_iter().collect();
    units.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(&b.0)));
    let units = units
        .into_iter()
        .map(|((unit, kind), (n, busy, amount))| UnitLine {
            unit: unit.to_string(),
            kind: kind.name(),
            events: n,
            busy_cycles: busy,
            amount,
            amount_unit: kind.amount_unit(),
            utilization: if total == 0 { 0.0 } else { busy as f64 / total as f64 },
        })
        .collect();
    Ok(Summary {
        events,
        skipped: reader.skipped,
        total_cycles: total,
        energy_pj: by_component.iter().sum(),
        energy_by_component: h.components.iter().cloned().zip(by_component).collect(),
        layers,
        units,
    })
}

/// A layer whose figures differ between two traces.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerDelta {
    pub name: String,
    pub start: (u64, u64),
    pub end: (u64, u64),
    pub cycles: (u64, u64),
    pub energy_pj: (f64, f64),
}

/// The first event that differs, by position in the two traces.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDelta {
    pub index: u64,
    pub a: Option<(Event, String)>,
    pub b: Option<(Event, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// Header fields that differ: (field, a, b).
    pub header: Vec<(String, String, String)>,
    pub events: (u64, u64),
    pub first_event: Option<EventDelta>,
    pub layers: Vec<LayerDelta>,
    /// Layers present in only one trace.
    pub unmatched: Vec<String>,
}

impl Diff {
    pub fn identical(&self) -> bool {
        self.header.is_empty() && self.first_event.is_none() && self.layers.is_empty() && self.unmatched.is_empty()
    }
}

/// The next event of a trace, collecting layer statistics on the way.
fn next_event<R: Read>(
    r: &mut TraceReader<R>,
    stats: &mut Vec<LayerStats>,
    done: &mut bool,
) -> Result<Option<Event>, TraceError> {
    while !*done {
        match r.next_record()? {
            Some(Record::Event(e)) => return Ok(Some(e)),
            Some(Record::Layer(l)) => stats.push(l),
            None => *done = true,
        }
    }
    Ok(None)
}

/// Compares two traces record by record.
pub fn diff<R: Read, S: Read>(a: &mut TraceReader<R>, b: &mut TraceReader<S>) -> Result<Diff, TraceError> {
    let (ha, hb) = (a.header.clone(), b.header.clone());
    let mut header = Vec::new();
    let mut field = |name: &str, x: String, y: String| {
        if x != y {
            header.push((name.to_owned(), x, y));
        }
    };
    field("simulator_version", ha.simulator_version.clone(), hb.simulator_version.clone());
    field("config_hash", format!("{:016x}", ha.config_hash), format!("{:016x}", hb.config_hash));
    field("seed", format!("{:?}", ha.seed), format!("{:?}", hb.seed));
    field("clock_ghz", ha.clock_ghz.to_string(), hb.clock_ghz.to_string());
    field("arch", ha.arch.clone(), hb.arch.clone());
    field("workload", ha.workload.clone(), hb.workload.clone());
    field("batch", ha.batch.to_string(), hb.batch.to_string());
    field("offload", ha.offload.clone(), hb.offload.clone());
    field("filter", ha.filter.clone(), hb.filter.clone());
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    let (mut na, mut nb) = (0u64, 0u64);
    let mut first_event = None;
    let name = |h: &crate::format::Header, e: &Event| h.layers[e.layer as usize].name.clone();
    let (mut a_done, mut b_done) = (false, false);
    loop {
        let ea = next_event(a, &mut sa, &mut a_done)?;
        let eb = next_event(b, &mut sb, &mut b_done)?;
        if ea.is_none() && eb.is_none() {
            break;
        }
        if ea.is_some() {
            na += 1;
        }
        if eb.is_some() {
            nb += 1;
        }
        if first_event.is_none() && ea != eb {
            first_event = Some(EventDelta {
                index: na.max(nb) - 1,
                a: ea.map(|e| (e, name(&ha, &e))),
                b: eb.map(|e| (e, name(&hb, &e))),
            });
        }
    }
    let mut layers = Vec::new();
    let mut unmatched = Vec::new();
    let by_name: HashMap<&str, &LayerStats> =
        sb.iter().map(|l| (hb.layers[l.layer as usize].name.as_str(), l)).collect();
    for la in &sa {
        let n = &ha.layers[la.layer as usize].name;
        match by_name.get(n.as_str()) {
            None => unmatched.push(n.clone()),
            Some(lb) => {
                let (ea, eb) = (la.energy_total(), lb.energy_total());
                if la.start != lb.start || la.end != lb.end || ea != eb {
                    layers.push(LayerDelta {
                        name: n.clone(),
                        start: (la.start, lb.start),
                        end: (la.end, lb.end),
                        cycles: (la.end - la.start, lb.end - lb.start),
                        energy_pj: (ea, eb),
                    });
                }
            }
        }
    }
    let names_a: std::collections::HashSet<&str> =
        sa.iter().map(|l| ha.layers[l.layer as usize].name.as_str()).collect();
    for lb in &sb {
        let n = &hb.layers[lb.layer as usize].name;
        if !names_a.contains(n.as_str()) {
            unmatched.push(n.clone());
        }
    }
    Ok(Diff { header, events: (na, nb), first_event, layers, unmatched })
}
