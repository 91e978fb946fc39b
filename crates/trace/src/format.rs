//! The binary trace format (`.rtrace`): the only module that uses bincode, so
//! the serializer can be swapped behind the versioned header.
//!
//! Layout (little endian):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `RRTRACE\0` |
//! | 2 + 2 | format major, minor (readers accept their major, any minor) |
//! | 4 | header length `h` |
//! | h | [`Header`], bincode 2 (standard config) |
//! | … | records: kind (1 byte), payload length (LEB128), payload |
//! | 1 + … | the end record (kind 255): event and layer-record counts and the FNV-1a 64 of every byte before it |
//!
//! Record kinds: 1 = event, 2 = per-layer statistics, 255 = end. A reader
//! skips kinds it does not know (a later minor version may add some) and
//! events of kinds it does not know; a missing end record means a truncated
//! file; a checksum mismatch a corrupt one.
//!
//! Files are written streaming through a buffer to `<path>.partial` and renamed
//! when complete, so memory stays bounded and no half-written trace is left.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bincode::{Decode, Encode};
use rramsim_core::codec::{Fnv1a as Fnv, fnv1a, push_leb128};
use rramsim_engine::{Event, EventKind, EventSink, Unit};

use crate::error::TraceError;
use crate::filter::Filter;

pub const MAGIC: &[u8; 8] = b"RRTRACE\0";
pub const FORMAT_MAJOR: u16 = 1;
pub const FORMAT_MINOR: u16 = 0;

const KIND_EVENT: u8 = 1;
const KIND_LAYER: u8 = 2;
const KIND_END: u8 = 255;

/// Largest record payload a reader accepts (guards against corrupt lengths).
const MAX_RECORD: u64 = 1 << 24;

/// A layer as the trace names it.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct LayerInfo {
    pub name: String,
    pub op: String,
    /// `rram`, `digital`, `tile`, `fused` or `view`.
    pub target: String,
}

/// What a trace is of: written once, before the records.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct Header {
    pub simulator_version: String,
    /// FNV-1a 64 of the architecture, workload and run options.
    pub config_hash: u64,
    /// The fault-map seed, when the run had one.
    pub seed: Option<u64>,
    pub clock_ghz: f64,
    pub arch: String,
    pub workload: String,
    pub batch: u32,
    pub offload: String,
    /// Indexed by the events' `layer`.
    pub layers: Vec<LayerInfo>,
    /// Action names, in the order of [`LayerStats::actions`].
    pub actions: Vec<String>,
    /// Energy component names, in the order of [`LayerStats::energy_pj`].
    pub components: Vec<String>,
    /// The filter the trace was written with (empty: everything).
    pub filter: String,
}

/// Per-layer totals of the run (written after the events, never filtered).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct LayerStats {
    pub layer: u32,
    pub start: u64,
    pub end: u64,
    pub items: u64,
    pub macs: u64,
    pub actions: Vec<u64>,
    /// Dynamic energy by component (picojoules).
    pub energy_pj: Vec<f64>,
}

impl LayerStats {
    pub fn energy_total(&self) -> f64 {
        self.energy_pj.iter().sum()
    }
}

/// The stored form of an [`Event`]: stable codes, and a duration (smaller varint).
#[derive(Debug, Encode, Decode)]
struct EventRecord {
    kind: u8,
    unit: u8,
    a: u32,
    b: u32,
    c: u32,
    layer: u32,
    image: u32,
    start: u64,
    duration: u64,
    amount: u64,
}

#[derive(Debug, Encode, Decode)]
struct EndRecord {
    events: u64,
    layers: u64,
    checksum: u64,
}

/// bincode with a limit on the bytes a record may claim: a decoded element takes
/// at least one payload byte and at most 24 bytes in memory (`String`, `Vec`), so
/// a valid record of at most [`MAX_RECORD`] bytes claims at most 24 × that. A
/// corrupt length prefix inside a record is refused instead of allocated.
fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ 24 * MAX_RECORD as usize }>()
}

/// Writes a trace streaming: an [`EventSink`] for the engine.
#[derive(Debug)]
pub struct TraceWriter {
    out: Option<BufWriter<File>>,
    partial: PathBuf,
    path: PathBuf,
    hash: Fnv,
    filter: Filter,
    scratch: Vec<u8>,
    frame: Vec<u8>,
    events: u64,
    error: Option<io::Error>,
}

impl TraceWriter {
    /// Starts a trace at `path` (written to `<path>.partial` until finished).
    pub fn create(path: &Path, header: &Header, filter: Filter) -> io::Result<Self> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = File::create(&partial)?;
        let mut w = TraceWriter {
            out: Some(BufWriter::with_capacity(1 << 16, file)),
            partial,
            path: path.to_owned(),
            hash: Fnv::default(),
            filter,
            scratch: vec![0; 128],
            frame: Vec::with_capacity(160),
            events: 0,
            error: None,
        };
        let head = bincode::encode_to_vec(header, config()).map_err(io::Error::other)?;
        let mut bytes = Vec::with_capacity(16 + head.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_MAJOR.to_le_bytes());
        bytes.extend_from_slice(&FORMAT_MINOR.to_le_bytes());
        bytes.extend_from_slice(&(head.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&head);
        w.write(&bytes);
        Ok(w)
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        self.hash.update(bytes);
        if let Some(out) = &mut self.out {
            if let Err(e) = out.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    fn record(&mut self, kind: u8, len: usize) {
        let mut frame = std::mem::take(&mut self.frame);
        frame.clear();
        frame.push(kind);
        push_leb128(&mut frame, len as u64);
        frame.extend_from_slice(&self.scratch[..len]);
        self.write(&frame);
        self.frame = frame;
    }

    /// Writes the per-layer statistics and the end record, and moves the file
    /// into place.
    pub fn finish(mut self, layers: &[LayerStats]) -> io::Result<u64> {
        for l in layers {
            let bytes = bincode::encode_to_vec(l, config()).map_err(io::Error::other)?;
            self.scratch.clear();
            self.scratch.extend_from_slice(&bytes);
            self.record(KIND_LAYER, bytes.len());
        }
        // The checksum covers everything before the end record's kind byte.
        let end = EndRecord { events: self.events, layers: layers.len() as u64, checksum: self.hash.0 };
        let bytes = bincode::encode_to_vec(&end, config()).map_err(io::Error::other)?;
        self.scratch.clear();
        self.scratch.extend_from_slice(&bytes);
        self.record(KIND_END, bytes.len());
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let out = self.out.take().expect("finish runs once");
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&self.partial, &self.path)?;
        Ok(self.events)
    }
}

impl Drop for TraceWriter {
    /// An unfinished trace leaves no file behind.
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

impl EventSink for TraceWriter {
    fn event(&mut self, e: &Event) {
        if !self.filter.passes(e) {
            return;
        }
        let (unit, a, b, c) = e.unit.to_parts();
        let rec = EventRecord {
            kind: e.kind.code(),
            unit,
            a,
            b,
            c,
            layer: e.layer,
            image: e.image,
            start: e.start,
            duration: e.end - e.start,
            amount: e.amount,
        };
        // A payload is at most 1 + 1 + 5·5 + 3·10 = 57 bytes: its LEB128 length
        // is one byte, so kind, length and payload are encoded in place.
        let mut buf = std::mem::take(&mut self.scratch);
        let len = bincode::encode_into_slice(&rec, &mut buf[2..], config()).expect("fits the scratch buffer");
        debug_assert!(len < 0x80);
        buf[0] = KIND_EVENT;
        buf[1] = len as u8;
        self.write(&buf[..len + 2]);
        self.scratch = buf;
        self.events += 1;
    }
}

/// One record read from a trace.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Event(Event),
    Layer(LayerStats),
}

/// Reads a trace record by record (bounded memory), checking the structure as
/// it goes and the counts and checksum at the end.
#[derive(Debug)]
pub struct TraceReader<R: Read> {
    input: R,
    pub header: Header,
    pub minor: u16,
    hash: Fnv,
    events: u64,
    layers: u64,
    /// Records (or events) of kinds this reader does not know, skipped.
    pub skipped: u64,
    done: bool,
    payload: Vec<u8>,
}

/// Opens a trace file.
pub fn open(path: &Path) -> Result<TraceReader<BufReader<File>>, TraceError> {
    let file = File::open(path).map_err(TraceError::Read)?;
    TraceReader::new(BufReader::with_capacity(1 << 16, file))
}

impl<R: Read> TraceReader<R> {
    pub fn new(mut input: R) -> Result<Self, TraceError> {
        let mut fixed = [0u8; 16];
        let n = read_full(&mut input, &mut fixed).map_err(TraceError::Read)?;
        if n < 8 || &fixed[..8] != MAGIC {
            return Err(TraceError::NoMagic);
        }
        if n < 16 {
            return Err(TraceError::Truncated("the header"));
        }
        let major = u16::from_le_bytes([fixed[8], fixed[9]]);
        let minor = u16::from_le_bytes([fixed[10], fixed[11]]);
        if major != FORMAT_MAJOR {
            return Err(TraceError::Version { major, minor });
        }
        let len = u32::from_le_bytes(fixed[12..16].try_into().expect("4 bytes")) as u64;
        if len > MAX_RECORD {
            return Err(TraceError::HeaderLength(len));
        }
        let mut head = vec![0u8; len as usize];
        if read_full(&mut input, &mut head).map_err(TraceError::Read)? < head.len() {
            return Err(TraceError::Truncated("the header"));
        }
        let mut hash = Fnv::default();
        hash.update(&fixed);
        hash.update(&head);
        // A later minor version may append header fields: decode the prefix we know.
        let (header, _): (Header, usize) = bincode::decode_from_slice(&head, config()).map_err(TraceError::Header)?;
        if !(header.clock_ghz.is_finite() && header.clock_ghz > 0.0) {
            return Err(TraceError::Clock(header.clock_ghz));
        }
        Ok(TraceReader {
            input,
            header,
            minor,
            hash,
            events: 0,
            layers: 0,
            skipped: 0,
            done: false,
            payload: Vec::new(),
        })
    }

    /// The next record; `Ok(None)` after a valid end record.
    pub fn next_record(&mut self) -> Result<Option<Record>, TraceError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let mut kind = [0u8; 1];
            if read_full(&mut self.input, &mut kind).map_err(TraceError::Read)? == 0 {
                return Err(TraceError::NoEnd { events: self.events });
            }
            let checksum_before = self.hash.0;
            self.hash.update(&kind);
            let mut len = 0u64;
            let mut shift = 0;
            loop {
                let mut b = [0u8; 1];
                if read_full(&mut self.input, &mut b).map_err(TraceError::Read)? == 0 {
                    return Err(TraceError::Truncated("a record length"));
                }
                self.hash.update(&b);
                len |= u64::from(b[0] & 0x7f) << shift;
                shift += 7;
                if b[0] & 0x80 == 0 {
                    break;
                }
                if shift > 63 {
                    return Err(TraceError::RecordLengthOverflow);
                }
            }
            if len > MAX_RECORD {
                return Err(TraceError::RecordLength { len, events: self.events });
            }
            self.payload.resize(len as usize, 0);
            if read_full(&mut self.input, &mut self.payload).map_err(TraceError::Read)? < len as usize {
                return Err(TraceError::Truncated("a record"));
            }
            match kind[0] {
                KIND_EVENT => {
                    self.hash.update(&self.payload);
                    let (r, _): (EventRecord, usize) = bincode::decode_from_slice(&self.payload, config())
                        .map_err(|source| TraceError::EventRecord { index: self.events, source })?;
                    self.events += 1;
                    let Some(kind) = EventKind::from_code(r.kind) else {
                        self.skipped += 1;
                        continue;
                    };
                    let unit = Unit::from_parts(r.unit, r.a, r.b, r.c)
                        .ok_or(TraceError::UnitTag { index: self.events - 1, tag: r.unit })?;
                    let end = r.start.checked_add(r.duration).ok_or(TraceError::SpanOverflow)?;
                    if r.layer as usize >= self.header.layers.len() {
                        return Err(TraceError::EventLayer { index: self.events - 1, layer: r.layer });
                    }
                    return Ok(Some(Record::Event(Event {
                        kind,
                        unit,
                        layer: r.layer,
                        image: r.image,
                        start: r.start,
                        end,
                        amount: r.amount,
                    })));
                }
                KIND_LAYER => {
                    self.hash.update(&self.payload);
                    let (s, _): (LayerStats, usize) =
                        bincode::decode_from_slice(&self.payload, config()).map_err(TraceError::LayerRecord)?;
                    if s.layer as usize >= self.header.layers.len()
                        || s.actions.len() != self.header.actions.len()
                        || s.energy_pj.len() != self.header.components.len()
                    {
                        return Err(TraceError::LayerStats(s.layer));
                    }
                    self.layers += 1;
                    return Ok(Some(Record::Layer(s)));
                }
                KIND_END => {
                    let (end, _): (EndRecord, usize) =
                        bincode::decode_from_slice(&self.payload, config()).map_err(TraceError::EndRecord)?;
                    if end.checksum != checksum_before {
                        return Err(TraceError::Checksum);
                    }
                    if end.events != self.events || end.layers != self.layers {
                        return Err(TraceError::Counts {
                            events: self.events,
                            layers: self.layers,
                            end_events: end.events,
                            end_layers: end.layers,
                        });
                    }
                    let mut extra = [0u8; 1];
                    if read_full(&mut self.input, &mut extra).map_err(TraceError::Read)? > 0 {
                        return Err(TraceError::TrailingBytes);
                    }
                    self.done = true;
                }
                _ => {
                    self.hash.update(&self.payload);
                    self.skipped += 1;
                }
            }
        }
    }
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Inserts a record of an arbitrary kind before the end record of a trace in
/// memory, keeping the counts and fixing the checksum: how tests build a trace
/// "from a later minor version".
#[doc(hidden)]
pub fn insert_record_for_tests(trace: &[u8], kind: u8, payload: &[u8]) -> Vec<u8> {
    let header_len = u32::from_le_bytes(trace[12..16].try_into().expect("4 bytes")) as usize;
    let mut pos = 16 + header_len;
    let (mut events, mut layers) = (0u64, 0u64);
    loop {
        let k = trace[pos];
        let (mut len, mut shift, mut p) = (0u64, 0, pos + 1);
        loop {
            let b = trace[p];
            p += 1;
            len |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        match k {
            KIND_END => break,
            KIND_EVENT => events += 1,
            KIND_LAYER => layers += 1,
            _ => {}
        }
        pos = p + len as usize;
    }
    let mut out = trace[..pos].to_vec();
    out.push(kind);
    push_leb128(&mut out, payload.len() as u64);
    out.extend_from_slice(payload);
    let end = EndRecord { events, layers, checksum: fnv1a(&out) };
    let bytes = bincode::encode_to_vec(&end, config()).expect("encodes");
    out.push(KIND_END);
    push_leb128(&mut out, bytes.len() as u64);
    out.extend_from_slice(&bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rramsim_engine::Level;

    fn header() -> Header {
        Header {
            simulator_version: "test".into(),
            config_hash: 7,
            seed: Some(3),
            clock_ghz: 1.2,
            arch: "a".into(),
            workload: "w".into(),
            batch: 1,
            offload: "all-rram".into(),
            layers: vec![LayerInfo { name: "l0".into(), op: "conv2d".into(), target: "rram".into() }],
            actions: vec!["x".into()],
            components: vec!["c".into()],
            filter: String::new(),
        }
    }

    fn event(kind: EventKind, start: u64) -> Event {
        Event {
            kind,
            unit: Unit::Xbars { tile: 2, xbar: 1, crossbars: 9 },
            layer: 0,
            image: 0,
            start,
            end: start + 5,
            amount: 300,
        }
    }

    #[test]
    fn written_records_read_back_and_filters_apply_at_write_time() {
        let dir = std::env::temp_dir().join(format!("rramsim-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.rtrace");
        let filter = Filter { level: Level::Pe, ..Filter::default() };
        let mut w = TraceWriter::create(&path, &header(), filter).unwrap();
        w.event(&event(EventKind::Item, 10));
        w.event(&event(EventKind::Dac, 11)); // deeper than pe: dropped
        w.event(&event(EventKind::Mvm, u64::MAX - 5));
        assert!(!path.exists(), "nothing at the final path before finish");
        let stats =
            LayerStats { layer: 0, start: 1, end: 2, items: 3, macs: 4, actions: vec![5], energy_pj: vec![6.5] };
        assert_eq!(w.finish(std::slice::from_ref(&stats)).unwrap(), 2);
        let mut r = open(&path).unwrap();
        assert_eq!(r.header, header());
        assert_eq!(r.next_record().unwrap(), Some(Record::Event(event(EventKind::Item, 10))));
        assert_eq!(r.next_record().unwrap(), Some(Record::Event(event(EventKind::Mvm, u64::MAX - 5))));
        assert_eq!(r.next_record().unwrap(), Some(Record::Layer(stats)));
        assert_eq!(r.next_record().unwrap(), None);
        // An abandoned writer leaves nothing behind.
        let other = dir.join("abandoned.rtrace");
        drop(TraceWriter::create(&other, &header(), Filter::default()).unwrap());
        assert!(
            std::fs::read_dir(&dir).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("abandoned"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
