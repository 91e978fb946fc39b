//! Validated hardware parameters: what the mapper and the engine read. Every
//! latency is already whole cycles of the global clock (except ADC conversion
//! times, kept exact so a batch of conversions is rounded once); every energy is
//! per action.

use rramsim_core::{Bytes, Clock, Cycle, MilliWatt, Nanoseconds, SquareMm};

use crate::energy::{Component, EnergyTable};
use crate::scaling::{AdcKind, Calibration};

/// How signed weights are stored in unsigned conductances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignedEncoding {
    /// Each weight uses a G+ and a G− column set; the outputs are subtracted.
    Differential,
    /// Weights are stored as `w + 2^(b−1)`; one extra column set per crossbar
    /// holds the offset so `offset · Σx` is read out and subtracted.
    OffsetColumn,
    /// As `OffsetColumn`, but `offset · Σx` is computed digitally (no column).
    OffsetDigital,
}

impl SignedEncoding {
    pub fn name(self) -> &'static str {
        match self {
            Self::Differential => "differential",
            Self::OffsetColumn => "offset-column",
            Self::OffsetDigital => "offset-digital",
        }
    }
}

/// Dataflow of the digital unit's systolic array (SCALE-Sim's three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataflow {
    WeightStationary,
    OutputStationary,
    InputStationary,
}

impl Dataflow {
    pub fn name(self) -> &'static str {
        match self {
            Self::WeightStationary => "weight-stationary",
            Self::OutputStationary => "output-stationary",
            Self::InputStationary => "input-stationary",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NocTopology {
    /// A 2-D mesh of routers with XY routing; `concentration` tiles share a router.
    Mesh { width: u32, height: u32, concentration: u32 },
    /// One shared bus: every transfer occupies it; one hop.
    Bus,
}

impl NocTopology {
    /// Where router `r` of a chip sits on a `width`-wide mesh: along a
    /// serpentine (boustrophedon) curve, row 0 left to right, row 1 right to
    /// left, and so on, so routers `r` and `r + 1` are always neighbours.
    /// Tiles are numbered along the same curve (`concentration` per router)
    /// and placement fills them in topological layer order, so consecutive
    /// layers sit on the same or adjacent routers. Router 0 (the chip's I/O
    /// router) is the corner `(0, 0)`.
    pub fn router_xy(width: u32, r: u32) -> (u32, u32) {
        let (x, y) = (r % width, r / width);
        (if y % 2 == 0 { x } else { width - 1 - x }, y)
    }

    /// The router at mesh position `(x, y)` (inverse of [`Self::router_xy`]).
    pub fn router_at(width: u32, x: u32, y: u32) -> u32 {
        y * width + if y % 2 == 0 { x } else { width - 1 - x }
    }

    /// Links a transfer between routers `a` and `b` of one chip crosses under
    /// XY routing (ejection port excluded): their Manhattan distance on the
    /// mesh; 0 on a bus.
    pub fn hops(&self, a: u32, b: u32) -> u32 {
        match *self {
            NocTopology::Mesh { width, .. } => {
                let ((ax, ay), (bx, by)) = (Self::router_xy(width, a), Self::router_xy(width, b));
                ax.abs_diff(bx) + ay.abs_diff(by)
            }
            NocTopology::Bus => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CrossbarParams {
    pub rows: u32,
    pub cols: u32,
    pub bits_per_cell: u32,
    /// Rows driven in one array read (all rows unless the macro limits it).
    pub rows_per_read: u32,
    pub read_latency: Cycle,
    /// Low- and high-resistance states, when given (for the functional model).
    pub r_on_ohm: Option<f64>,
    pub r_off_ohm: Option<f64>,
    /// Extra physical rows / columns per crossbar for fault-aware remapping
    /// (`[crossbar] spare_rows`, `spare_cols`; 0 by default). The mapping fills
    /// `rows × cols`; a remap may place logical rows and columns on spares. The
    /// crossbar's area and read energy scale with the physical cell count.
    pub spare_rows: u32,
    pub spare_cols: u32,
}

impl CrossbarParams {
    pub fn physical_rows(&self) -> u32 {
        self.rows + self.spare_rows
    }

    pub fn physical_cols(&self) -> u32 {
        self.cols + self.spare_cols
    }

    pub fn physical_cells(&self) -> u64 {
        u64::from(self.physical_rows()) * u64::from(self.physical_cols())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdcParams {
    /// SAR or flash: decides how energy, area and time scale with bits.
    pub kind: AdcKind,
    pub bits: u32,
    /// ADCs per crossbar; each converts `ceil(cols_used / per_crossbar)` columns per step.
    pub per_crossbar: u32,
    /// Crossbars one ADC serves (1 unless shared; `per_crossbar` is then 1): a
    /// shared ADC converts the columns of every crossbar of its group that a
    /// step uses, one after the other.
    pub shared_by: u32,
    /// Time of one conversion (exact; batches are rounded to cycles once).
    pub conversion_time: Nanoseconds,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PeParams {
    pub crossbars: u32,
    pub dac_bits: u32,
    pub dac_latency: Cycle,
    pub sample_hold_latency: Cycle,
    pub adc: AdcParams,
    pub shift_add_latency: Cycle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BufferParams {
    pub capacity: Bytes,
    pub read_bytes_per_cycle: u32,
    pub write_bytes_per_cycle: u32,
    pub latency: Cycle,
}

/// A pipelined digital unit processing `lanes` values per cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorUnitParams {
    pub lanes: u32,
    pub latency: Cycle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TileParams {
    pub pes: u32,
    pub buffer: BufferParams,
    /// Adds partial sums of row-split layers.
    pub adder: VectorUnitParams,
    /// Pooling, activation and residual adds.
    pub alu: VectorUnitParams,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NocParams {
    pub topology: NocTopology,
    pub flit_bytes: u32,
    pub hop_latency: Cycle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeParams {
    pub chips: u32,
    /// Bytes per cycle one chip-to-chip transfer moves (all links together).
    pub offchip_bytes_per_cycle: f64,
    pub offchip_latency: Cycle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DigitalParams {
    pub rows: u32,
    pub cols: u32,
    pub dataflow: Dataflow,
    pub sram: Bytes,
    /// The digital unit's own clock.
    pub clock: Clock,
}

/// Static (leakage) power per instance.
#[derive(Debug, Clone, PartialEq)]
pub struct LeakageParams {
    /// Of one tile, every component included (`tile.leakage_mw` plus the sum of
    /// [`Self::by_component`]).
    pub tile: MilliWatt,
    /// Per component, all its instances in one tile (`leakage_mw` of the DAC,
    /// S&H, ADC, shift-and-add, buffer and ALU tables, scaled like their area).
    pub by_component: Vec<(Component, MilliWatt)>,
    pub digital: MilliWatt,
}

/// Area of one instance of each component.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaParams {
    pub crossbar: SquareMm,
    pub dac: SquareMm,
    pub sample_hold: SquareMm,
    pub adc: SquareMm,
    pub shift_add: SquareMm,
    pub pe_registers: SquareMm,
    pub buffer: SquareMm,
    pub tile_adder: SquareMm,
    pub alu: SquareMm,
    /// A router (shared by `concentration` tiles on a mesh).
    pub router: SquareMm,
    /// The chip's off-chip links.
    pub offchip: SquareMm,
    pub digital: SquareMm,
}

/// A fully resolved and checked architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchParams {
    pub name: String,
    pub description: String,
    pub clock: Clock,
    pub node: NodeParams,
    pub tiles_per_chip: u32,
    pub noc: NocParams,
    pub tile: TileParams,
    pub pe: PeParams,
    pub crossbar: CrossbarParams,
    pub weight_bits: u32,
    pub activation_bits: u32,
    pub encoding: SignedEncoding,
    /// ISAAC's flipped-column encoding saves one ADC bit.
    pub adc_flip_encoding: bool,
    pub digital: DigitalParams,
    /// Device non-idealities (`[device]`) for functional inference.
    pub device: crate::device::DeviceParams,
    pub energy: EnergyTable,
    pub leakage: LeakageParams,
    pub area: AreaParams,
    /// Target technology node (`[technology] node_nm`), when given.
    pub node_nm: Option<f64>,
    /// The point the file's sourced figures hold at (energies, areas and the
    /// ADC conversion time above are already scaled from it to this design).
    pub calibration: Option<Calibration>,
    /// `[pipeline] stages_per_layer` (default 1): an input vector's result leaves
    /// a crossbar layer no sooner than this many initiation intervals after its
    /// first input step took its slot in the slowest stage, as in ISAAC's 22-stage pipeline of 100 ns
    /// stages. 1 adds nothing (one interval never exceeds a step's own latency).
    pub stages_per_layer: u32,
}

impl ArchParams {
    /// Cells (columns) one weight takes in one polarity: `ceil(w / c)`.
    pub fn slices_per_weight(&self) -> u32 {
        self.weight_bits.div_ceil(self.crossbar.bits_per_cell)
    }

    /// Columns one weight takes, signed encoding included.
    pub fn columns_per_weight(&self) -> u32 {
        match self.encoding {
            SignedEncoding::Differential => 2 * self.slices_per_weight(),
            SignedEncoding::OffsetColumn | SignedEncoding::OffsetDigital => self.slices_per_weight(),
        }
    }

    /// Columns of a crossbar available to weights (the offset column set excluded).
    pub fn usable_columns(&self) -> u32 {
        match self.encoding {
            SignedEncoding::OffsetColumn => self.crossbar.cols - self.slices_per_weight(),
            _ => self.crossbar.cols,
        }
    }

    /// Weights (output channels) one crossbar holds side by side.
    pub fn weights_per_crossbar_row(&self) -> u32 {
        self.usable_columns() / self.columns_per_weight()
    }

    /// DAC input steps per activation vector: `ceil(a / d)`.
    pub fn input_steps(&self) -> u32 {
        self.activation_bits.div_ceil(self.pe.dac_bits)
    }

    /// Array reads per input step (more than one when the macro drives fewer
    /// rows than it has at once).
    pub fn reads_per_step(&self, rows_used: u32) -> u32 {
        rows_used.div_ceil(self.crossbar.rows_per_read).max(1)
    }

    /// ADC conversion stage time for `cols_used` columns of one crossbar (its
    /// ADCs not shared with another busy crossbar).
    pub fn adc_stage(&self, cols_used: u32) -> Cycle {
        self.adc_stage_shared(cols_used, 1)
    }

    /// ADC conversion stage time of a step in which `crossbars` crossbars of
    /// one replica convert up to `cols_used` columns each: an ADC shared by
    /// `pe.adc.shared_by` crossbars converts the columns of the
    /// `min(shared_by, crossbars)` of them the replica uses (a replica fills
    /// whole PEs from their first crossbar, so its sharing groups are full but
    /// for the last).
    pub fn adc_stage_shared(&self, cols_used: u32, crossbars: u32) -> Cycle {
        let sharers = u64::from(self.pe.adc.shared_by.min(crossbars.max(1)));
        let conversions = (u64::from(cols_used) * sharers).div_ceil(u64::from(self.pe.adc.per_crossbar));
        self.clock.cycles_ceil(Nanoseconds(conversions as f64 * self.pe.adc.conversion_time.0))
    }

    /// ADCs per crossbar on average: `per_crossbar / shared_by` (¼ for an ADC
    /// shared by four crossbars).
    pub fn adcs_per_crossbar(&self) -> f64 {
        f64::from(self.pe.adc.per_crossbar) / f64::from(self.pe.adc.shared_by)
    }

    pub fn crossbars_per_tile(&self) -> u32 {
        self.tile.pes * self.pe.crossbars
    }

    pub fn crossbars_per_chip(&self) -> u64 {
        u64::from(self.crossbars_per_tile()) * u64::from(self.tiles_per_chip)
    }

    /// Bits a full-scale column sum needs: rows · (2^d − 1) · (2^c − 1).
    pub fn column_sum_bits(&self) -> u32 {
        let max = u64::from(self.crossbar.rows_per_read)
            * ((1u64 << self.pe.dac_bits) - 1)
            * ((1u64 << self.crossbar.bits_per_cell) - 1);
        64 - max.leading_zeros()
    }

    /// Routers on a chip.
    pub fn routers_per_chip(&self) -> u32 {
        match self.noc.topology {
            NocTopology::Mesh { concentration, .. } => self.tiles_per_chip.div_ceil(concentration),
            NocTopology::Bus => 1,
        }
    }

    /// Area of one chip per component, in the order of [`Component::ALL`]
    /// (components without area are left out).
    pub fn chip_area_breakdown(&self) -> Vec<(Component, SquareMm)> {
        let a = &self.area;
        let xbars = f64::from(self.pe.crossbars) * f64::from(self.tile.pes) * f64::from(self.tiles_per_chip);
        let pes = f64::from(self.tile.pes) * f64::from(self.tiles_per_chip);
        let tiles = f64::from(self.tiles_per_chip);
        vec![
            (Component::Dac, SquareMm(a.dac.0 * xbars * f64::from(self.crossbar.rows))),
            (Component::Crossbar, SquareMm(a.crossbar.0 * xbars)),
            (Component::SampleHold, SquareMm(a.sample_hold.0 * xbars * f64::from(self.crossbar.cols))),
            (Component::Adc, SquareMm(a.adc.0 * xbars * self.adcs_per_crossbar())),
            (Component::ShiftAdd, SquareMm(a.shift_add.0 * pes)),
            (Component::PeRegisters, SquareMm(a.pe_registers.0 * pes)),
            (Component::TileAdder, SquareMm(a.tile_adder.0 * tiles)),
            (Component::Alu, SquareMm(a.alu.0 * tiles)),
            (Component::Buffer, SquareMm(a.buffer.0 * tiles)),
            (Component::Noc, SquareMm(a.router.0 * f64::from(self.routers_per_chip()))),
            (Component::Offchip, a.offchip),
            (Component::Digital, a.digital),
        ]
    }

    /// Area of one tile, its share of routers included.
    pub fn tile_area(&self) -> SquareMm {
        let a = &self.area;
        let xbars = f64::from(self.pe.crossbars);
        let rows = f64::from(self.crossbar.rows);
        let cols = f64::from(self.crossbar.cols);
        let adcs = xbars * self.adcs_per_crossbar();
        let pe = SquareMm(
            a.crossbar.0 * xbars
                + a.dac.0 * xbars * rows
                + a.sample_hold.0 * xbars * cols
                + a.adc.0 * adcs
                + a.shift_add.0
                + a.pe_registers.0,
        );
        let router_share = a.router.0 * f64::from(self.routers_per_chip()) / f64::from(self.tiles_per_chip);
        SquareMm(pe.0 * f64::from(self.tile.pes) + a.buffer.0 + a.tile_adder.0 + a.alu.0 + router_share)
    }

    /// Area of one chip: tiles, off-chip links and the digital unit.
    pub fn chip_area(&self) -> SquareMm {
        SquareMm(self.tile_area().0 * f64::from(self.tiles_per_chip) + self.area.offchip.0 + self.area.digital.0)
    }
}
