//! Seed mixing shared by every random stream of rramsim. Generators are always
//! `rand_pcg` streams seeded from explicit inputs mixed with [`splitmix`], so a
//! result depends on its seeds alone, never on thread count or order.

/// SplitMix64's finalizer: mixes a 64-bit value into a well-spread seed.
pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    #[test]
    fn splitmix_is_the_reference_finalizer() {
        // First outputs of the SplitMix64 generator seeded with 0 (Vigna's reference).
        assert_eq!(super::splitmix(0), 0xE220_A839_7B1D_CDAF);
    }
}
