//! Physical units as types. Conversions happen once, when configurations are
//! resolved; simulation code works in [`Cycle`]s and counts actions.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Sub};

/// A count of clock cycles of the chip's global clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cycle(pub u64);

impl Cycle {
    pub const ZERO: Cycle = Cycle(0);

    pub const fn get(self) -> u64 {
        self.0
    }
}

impl Add for Cycle {
    type Output = Cycle;
    fn add(self, rhs: Cycle) -> Cycle {
        Cycle(self.0 + rhs.0)
    }
}

impl AddAssign for Cycle {
    fn add_assign(&mut self, rhs: Cycle) {
        self.0 += rhs.0;
    }
}

impl Sub for Cycle {
    type Output = Cycle;
    fn sub(self, rhs: Cycle) -> Cycle {
        Cycle(self.0 - rhs.0)
    }
}

impl Mul<u64> for Cycle {
    type Output = Cycle;
    fn mul(self, rhs: u64) -> Cycle {
        Cycle(self.0 * rhs)
    }
}

impl Sum for Cycle {
    fn sum<I: Iterator<Item = Cycle>>(iter: I) -> Cycle {
        Cycle(iter.map(|c| c.0).sum())
    }
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Energy in picojoules.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct PicoJoule(pub f64);

impl Add for PicoJoule {
    type Output = PicoJoule;
    fn add(self, rhs: PicoJoule) -> PicoJoule {
        PicoJoule(self.0 + rhs.0)
    }
}

impl AddAssign for PicoJoule {
    fn add_assign(&mut self, rhs: PicoJoule) {
        self.0 += rhs.0;
    }
}

impl Mul<f64> for PicoJoule {
    type Output = PicoJoule;
    fn mul(self, rhs: f64) -> PicoJoule {
        PicoJoule(self.0 * rhs)
    }
}

impl Sum for PicoJoule {
    fn sum<I: Iterator<Item = PicoJoule>>(iter: I) -> PicoJoule {
        PicoJoule(iter.map(|c| c.0).sum())
    }
}

/// Time in nanoseconds (configuration values before they become cycles, and
/// reported latencies).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Nanoseconds(pub f64);

/// Power in milliwatts (static/leakage power in configurations).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct MilliWatt(pub f64);

impl MilliWatt {
    /// Energy drawn over `t`: 1 mW · 1 ns = 1 pJ.
    pub fn over(self, t: Nanoseconds) -> PicoJoule {
        PicoJoule(self.0 * t.0)
    }
}

/// Area in square millimetres.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct SquareMm(pub f64);

impl Add for SquareMm {
    type Output = SquareMm;
    fn add(self, rhs: SquareMm) -> SquareMm {
        SquareMm(self.0 + rhs.0)
    }
}

impl Sum for SquareMm {
    fn sum<I: Iterator<Item = SquareMm>>(iter: I) -> SquareMm {
        SquareMm(iter.map(|c| c.0).sum())
    }
}

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub u64);

/// The global clock: converts between cycles and time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    ghz: f64,
}

impl Clock {
    /// A clock of `ghz` GHz; `None` unless `ghz` is finite and positive.
    pub fn from_ghz(ghz: f64) -> Option<Self> {
        (ghz.is_finite() && ghz > 0.0).then_some(Self { ghz })
    }

    pub fn ghz(&self) -> f64 {
        self.ghz
    }

    pub fn period(&self) -> Nanoseconds {
        Nanoseconds(1.0 / self.ghz)
    }

    /// The smallest whole number of cycles that lasts at least `t` (a 1e-9
    /// relative tolerance absorbs binary rounding of exact values such as
    /// 100 ns at 1.2 GHz = 120 cycles).
    pub fn cycles_ceil(&self, t: Nanoseconds) -> Cycle {
        let exact = t.0 * self.ghz;
        let rounded = exact.round();
        if (exact - rounded).abs() <= 1e-9 * exact.max(1.0) {
            Cycle(rounded as u64)
        } else {
            Cycle(exact.ceil() as u64)
        }
    }

    pub fn to_ns(&self, c: Cycle) -> Nanoseconds {
        Nanoseconds(c.0 as f64 / self.ghz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_round_up_but_absorb_float_noise() {
        let clk = Clock::from_ghz(1.2).unwrap();
        assert_eq!(clk.cycles_ceil(Nanoseconds(100.0)), Cycle(120));
        assert_eq!(clk.cycles_ceil(Nanoseconds(0.78125)), Cycle(1));
        assert_eq!(clk.cycles_ceil(Nanoseconds(128.0 * 0.78125)), Cycle(120));
        assert_eq!(clk.cycles_ceil(Nanoseconds(0.0)), Cycle(0));
        assert_eq!(clk.cycles_ceil(Nanoseconds(1.0)), Cycle(2));
        assert!(Clock::from_ghz(0.0).is_none() && Clock::from_ghz(f64::NAN).is_none());
    }

    #[test]
    fn milliwatt_times_nanosecond_is_picojoule() {
        assert_eq!(MilliWatt(2.0).over(Nanoseconds(100.0)), PicoJoule(200.0));
    }
}
