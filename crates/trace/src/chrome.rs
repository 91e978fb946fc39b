//! Chrome Trace Event JSON on simulated time, for Perfetto (ui.perfetto.dev)
//! and chrome://tracing.
//!
//! One process per tile (`tile[3]`), one for the digital unit and one per
//! chip's interconnect (NoC links and the off-chip link). Within a process one
//! thread per unit and event kind (`items`, `buffer_read`, `pe[1] mvm`,
//! `xbar[8..32] adc`, `router[5].east`, …). Units that overlap their own
//! work (pipelined items, matrix-vector multiplies) are spread over pipeline
//! slots `#1`, `#2`, … (greedy interval partitioning), so the complete (`X`)
//! events of every thread are disjoint and therefore nest. Each tile also gets
//! a counter track of buffer port occupancy: the fraction of cycles its read
//! and write ports are reserved, per time bucket. Timestamps are microseconds
//! of simulated time (cycles / clock); args carry the exact cycles.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use rramsim_engine::{Event, EventKind, Unit};

use crate::error::{ChromeCheckError, TraceError};
use crate::filter::Filter;
use crate::format::{Header, Record, TraceReader};

const DIGITAL_PID: u64 = 1_000_000;
const NOC_PID: u64 = 2_000_000;

/// Counts of what a conversion wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChromeStats {
    pub events: u64,
    pub threads: u64,
    pub processes: u64,
    pub counters: u64,
}

fn process_of(unit: Unit) -> (u64, String) {
    match unit {
        Unit::Tile { tile } | Unit::Pe { tile, .. } | Unit::Xbars { tile, .. } => {
            (u64::from(tile) + 1, format!("tile[{tile}]"))
        }
        Unit::Digital => (DIGITAL_PID, "digital unit".into()),
        Unit::Link { chip, .. } | Unit::Offchip { chip } => {
            (NOC_PID + u64::from(chip), format!("chip[{chip}] interconnect"))
        }
    }
}

fn thread_of(unit: Unit, kind: EventKind) -> String {
    let path = unit.to_string();
    let local = match unit {
        Unit::Tile { .. } | Unit::Digital => String::new(),
        Unit::Pe { .. } | Unit::Xbars { .. } => path.split_once('.').map(|(_, r)| r.to_owned()).unwrap_or(path),
        Unit::Link { .. } | Unit::Offchip { .. } => {
            return path.split_once('.').map(|(_, r)| r.to_owned()).unwrap_or(path);
        }
    };
    let name = if kind == EventKind::Item { "items" } else { kind.name() };
    if local.is_empty() { name.to_owned() } else { format!("{local} {name}") }
}

fn us(cycles: u64, ghz: f64) -> f64 {
    cycles as f64 / (ghz * 1e3)
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// Converts a trace to Chrome Trace Event JSON, keeping the events `filter`
/// passes. Holds the kept events in memory (filter a large trace first).
pub fn to_chrome<R: Read, W: Write>(
    reader: &mut TraceReader<R>,
    filter: &Filter,
    out: &mut W,
) -> Result<ChromeStats, TraceError> {
    let mut events: Vec<Event> = Vec::new();
    let mut end = 0u64;
    while let Some(r) = reader.next_record()? {
        match r {
            Record::Event(e) if filter.passes(&e) => events.push(e),
            Record::Layer(l) => end = end.max(l.end),
            Record::Event(_) => {}
        }
    }
    write_chrome(&reader.header, &events, end, out).map_err(TraceError::Write)
}

fn write_chrome<W: Write>(h: &Header, events: &[Event], total: u64, out: &mut W) -> std::io::Result<ChromeStats> {
    let ghz = h.clock_ghz;
    // Threads: (process, unit, kind) → events, in a deterministic order.
    let mut threads: BTreeMap<(u64, Unit, EventKind), Vec<usize>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        threads.entry((process_of(e.unit).0, e.unit, e.kind)).or_default().push(i);
    }
    let mut stats = ChromeStats::default();
    writeln!(out, "{{\"displayTimeUnit\":\"ns\",")?;
    writeln!(
        out,
        "\"otherData\":{{\"simulator\":\"rramsim {}\",\"arch\":{},\"workload\":{},\"clock_ghz\":{},\"config_hash\":\"{:016x}\",\"time\":\"simulated; ts in microseconds = cycles / clock\"}},",
        h.simulator_version,
        json_str(&h.arch),
        json_str(&h.workload),
        h.clock_ghz,
        h.config_hash
    )?;
    writeln!(out, "\"traceEvents\":[")?;
    let mut first = true;
    let mut sep = |out: &mut W| -> std::io::Result<()> {
        if !first {
            out.write_all(b",\n")?;
        }
        first = false;
        Ok(())
    };
    // Process names, sorted by pid.
    let mut processes: BTreeMap<u64, String> = BTreeMap::new();
    for &(pid, unit, _) in threads.keys() {
        processes.entry(pid).or_insert_with(|| process_of(unit).1);
    }
    for (pid, name) in &processes {
        sep(out)?;
        write!(
            out,
            "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{pid},\"tid\":0,\"args\":{{\"name\":{}}}}}",
            json_str(name)
        )?;
        sep(out)?;
        write!(
            out,
            "{{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":{pid},\"tid\":0,\"args\":{{\"sort_index\":{pid}}}}}"
        )?;
        stats.processes += 1;
    }
    let mut next_tid: BTreeMap<u64, u64> = BTreeMap::new();
    for ((pid, unit, kind), mut idx) in threads {
        idx.sort_by_key(|&i| (events[i].start, events[i].end, i));
        // Greedy interval partitioning into pipeline slots.
        let mut lanes: Vec<u64> = Vec::new();
        let mut lane_of = Vec::with_capacity(idx.len());
        for &i in &idx {
            let e = &events[i];
            let lane = match lanes.iter().position(|&end| end <= e.start) {
                Some(l) => l,
                None => {
                    lanes.push(0);
                    lanes.len() - 1
                }
            };
            lanes[lane] = e.end;
            lane_of.push(lane);
        }
        let base = *next_tid.entry(pid).or_insert(1);
        next_tid.insert(pid, base + lanes.len() as u64);
        let label = thread_of(unit, kind);
        for l in 0..lanes.len() {
            let tid = base + l as u64;
            let name = if lanes.len() == 1 { label.clone() } else { format!("{label} #{}", l + 1) };
            sep(out)?;
            write!(
                out,
                "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":{}}}}}",
                json_str(&name)
            )?;
            sep(out)?;
            write!(
                out,
                "{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"sort_index\":{tid}}}}}"
            )?;
            stats.threads += 1;
        }
        let path = json_str(&unit.to_string());
        for (&i, &lane) in idx.iter().zip(&lane_of) {
            let e = &events[i];
            let layer = h.layers.get(e.layer as usize).map(|l| l.name.as_str()).unwrap_or("?");
            sep(out)?;
            write!(
                out,
                "{{\"ph\":\"X\",\"name\":{},\"cat\":\"{}\",\"pid\":{pid},\"tid\":{},\"ts\":{},\"dur\":{},\"args\":{{\"unit\":{path},\"image\":{},\"start_cycle\":{},\"end_cycle\":{},\"{}\":{}}}}}",
                json_str(layer),
                kind.name(),
                base + lane as u64,
                us(e.start, ghz),
                us(e.end, ghz) - us(e.start, ghz),
                e.image,
                e.start,
                e.end,
                kind.amount_unit(),
                e.amount
            )?;
            stats.events += 1;
        }
    }
    // Buffer port occupancy counters per tile.
    let total = total.max(events.iter().map(|e| e.end).max().unwrap_or(0)).max(1);
    let bucket = total.div_ceil(256).max(1);
    let buckets = total.div_ceil(bucket) as usize;
    let mut busy: BTreeMap<u32, Vec<[u64; 2]>> = BTreeMap::new();
    for e in events {
        let port = match e.kind {
            EventKind::BufferRead => 0,
            EventKind::BufferWrite => 1,
            _ => continue,
        };
        let Some(tile) = e.unit.tile() else { continue };
        let b = busy.entry(tile).or_insert_with(|| vec![[0; 2]; buckets + 1]);
        let mut t = e.start;
        while t < e.end {
            let k = (t / bucket) as usize;
            let next = ((k as u64 + 1) * bucket).min(e.end);
            b[k.min(buckets)][port] += next - t;
            t = next;
        }
    }
    for (tile, b) in busy {
        let pid = u64::from(tile) + 1;
        for (k, [r, w]) in b.iter().enumerate() {
            sep(out)?;
            write!(
                out,
                "{{\"ph\":\"C\",\"name\":\"buffer port occupancy\",\"pid\":{pid},\"tid\":0,\"ts\":{},\"args\":{{\"read\":{},\"write\":{}}}}}",
                us(k as u64 * bucket, ghz),
                *r as f64 / bucket as f64,
                *w as f64 / bucket as f64
            )?;
            stats.counters += 1;
        }
    }
    writeln!(out, "\n]}}")?;
    Ok(stats)
}

/// Checks the structure of Chrome Trace Event JSON: required fields per phase,
/// named processes and threads, and complete events that nest per thread.
/// Returns the number of complete (`X`) events.
pub fn check_chrome(doc: &serde_json::Value) -> Result<u64, ChromeCheckError> {
    use ChromeCheckError as E;
    let events = doc.get("traceEvents").and_then(|v| v.as_array()).ok_or(E::NoEvents)?;
    let mut named_pids = std::collections::BTreeSet::new();
    let mut named_threads = std::collections::BTreeSet::new();
    let mut spans: BTreeMap<(u64, u64), Vec<(f64, f64)>> = BTreeMap::new();
    let mut complete = 0;
    for (i, e) in events.iter().enumerate() {
        let ph = e.get("ph").and_then(|v| v.as_str()).ok_or(E::Missing { index: i, field: "ph" })?;
        let pid = e.get("pid").and_then(|v| v.as_u64()).ok_or(E::Missing { index: i, field: "pid" })?;
        let tid = e.get("tid").and_then(|v| v.as_u64()).ok_or(E::Missing { index: i, field: "tid" })?;
        let name = e.get("name").and_then(|v| v.as_str()).ok_or(E::Missing { index: i, field: "name" })?;
        match ph {
            "M" => {
                e.get("args").and_then(|a| a.as_object()).ok_or(E::MetadataArgs(i))?;
                match name {
                    "process_name" => {
                        named_pids.insert(pid);
                    }
                    "thread_name" => {
                        named_threads.insert((pid, tid));
                    }
                    _ => {}
                }
            }
            "X" => {
                let ts = e.get("ts").and_then(|v| v.as_f64()).ok_or(E::Missing { index: i, field: "ts" })?;
                let dur = e.get("dur").and_then(|v| v.as_f64()).ok_or(E::Missing { index: i, field: "dur" })?;
                if !(ts >= 0.0 && dur >= 0.0) {
                    return Err(E::Negative(i));
                }
                e.get("cat").and_then(|v| v.as_str()).ok_or(E::Missing { index: i, field: "cat" })?;
                spans.entry((pid, tid)).or_default().push((ts, ts + dur));
                complete += 1;
            }
            "C" => {
                e.get("ts").and_then(|v| v.as_f64()).ok_or(E::CounterTs(i))?;
                let args = e.get("args").and_then(|a| a.as_object()).ok_or(E::CounterArgs(i))?;
                if !args.values().all(|v| v.is_number()) {
                    return Err(E::CounterValues(i));
                }
            }
            other => return Err(E::Phase { index: i, phase: other.to_owned() }),
        }
    }
    for ((pid, tid), mut s) in spans {
        if !named_pids.contains(&pid) {
            return Err(E::ProcessName(pid));
        }
        if !named_threads.contains(&(pid, tid)) {
            return Err(E::ThreadName { pid, tid });
        }
        // Complete events on a thread must nest: with a stack of open spans,
        // each event either lies inside the innermost open one or after it.
        s.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        // Timestamps are floats: allow a picosecond of rounding.
        const EPS: f64 = 1e-6;
        let mut stack: Vec<f64> = Vec::new();
        for (a, b) in s {
            while stack.last().is_some_and(|&end| end <= a + EPS) {
                stack.pop();
            }
            if let Some(&end) = stack.last() {
                if b > end + EPS {
                    return Err(E::Overlap { pid, tid, start: a, end: b, open_end: end });
                }
            }
            stack.push(b);
        }
    }
    Ok(complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_rejects_overlaps_that_do_not_nest() {
        let doc = |spans: &[(f64, f64)]| {
            let mut events = vec![
                serde_json::json!({"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": "p"}}),
                serde_json::json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": 1, "args": {"name": "t"}}),
            ];
            for &(ts, dur) in spans {
                events.push(
                    serde_json::json!({"ph": "X", "name": "e", "cat": "c", "pid": 1, "tid": 1, "ts": ts, "dur": dur}),
                );
            }
            serde_json::json!({ "traceEvents": events })
        };
        assert_eq!(check_chrome(&doc(&[(0.0, 10.0), (2.0, 3.0), (10.0, 1.0)])), Ok(3), "nested and adjacent");
        let err = check_chrome(&doc(&[(0.0, 10.0), (5.0, 10.0)])).unwrap_err();
        assert_eq!(err, ChromeCheckError::Overlap { pid: 1, tid: 1, start: 5.0, end: 15.0, open_end: 10.0 });
        assert!(err.to_string().contains("without nesting"));
        let unnamed = serde_json::json!({"traceEvents": [{"ph": "X", "name": "e", "cat": "c", "pid": 1, "tid": 1, "ts": 0, "dur": 1}]});
        assert_eq!(check_chrome(&unnamed), Err(ChromeCheckError::ProcessName(1)));
    }

    #[test]
    fn overlapping_items_go_to_pipeline_slots() {
        let h = Header {
            simulator_version: "t".into(),
            config_hash: 0,
            seed: None,
            clock_ghz: 1.0,
            arch: "a".into(),
            workload: "w".into(),
            batch: 1,
            offload: "all-rram".into(),
            layers: vec![crate::format::LayerInfo { name: "l".into(), op: "conv2d".into(), target: "rram".into() }],
            actions: vec![],
            components: vec![],
            filter: String::new(),
        };
        let e = |start, end| Event {
            kind: EventKind::Item,
            unit: Unit::Tile { tile: 0 },
            layer: 0,
            image: 0,
            start,
            end,
            amount: 1,
        };
        let events = [e(0, 10), e(5, 15), e(10, 20), e(12, 13)];
        let mut out = Vec::new();
        let stats = write_chrome(&h, &events, 20, &mut out).unwrap();
        assert_eq!((stats.events, stats.threads, stats.processes), (4, 3, 1), "three slots: 0-10|10-20, 5-15, 12-13");
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(check_chrome(&doc), Ok(4));
    }
}
