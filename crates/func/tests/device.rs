//! The device model against closed forms: programming-noise variance, drift
//! decay, IR-drop attenuation of a uniform array, ADC quantization error
//! against the uniform-quantizer bound; bit-exactness of an ideal periphery and
//! determinism of read noise on any thread count.

use rramsim_func::{DeviceOptions, Functional, HardwareOptions, hardware_weights};
use rramsim_graph::{Conv2d, Layer, Network, NetworkBuilder, Op, Params, Shape};
use rramsim_hw::{ArchParams, SignedEncoding, load_arch_toml, preset};
use rramsim_map::{MappingOptions, Replication, map_network};

/// A 1x1 convolution `k → n` on a 1×1 image: a `[n][k]` matrix-vector product.
fn net(k: usize, n: usize, weight: Vec<f32>) -> Network {
    let mut b = NetworkBuilder::new("t");
    b.push(Layer::new("input", Op::Input { shape: Shape::new(k, 1, 1) }, &[]));
    let mut conv = Layer::new("c", Op::Conv2d(Conv2d::pointwise(n, false)), &["input"]);
    conv.params = Some(Params::Dense { weight, bias: None });
    b.push(conv);
    b.build().unwrap()
}

/// neurosim-8b (128×128, 1-bit DACs) made differential (the preset's V1.4
/// offset column is not what these closed forms assume), with 4-bit weights in
/// one 4-bit cell, 8-bit inputs, a 16-bit ADC and no on/off offset unless edited.
fn arch(edit: impl Fn(&mut ArchParams)) -> ArchParams {
    let (mut a, _) = load_arch_toml("neurosim-8b", preset("neurosim-8b").unwrap()).unwrap();
    a.encoding = SignedEncoding::Differential;
    a.crossbar.bits_per_cell = 4;
    a.weight_bits = 4;
    a.activation_bits = 8;
    a.pe.adc.bits = 16;
    a.crossbar.r_on_ohm = None;
    a.crossbar.r_off_ohm = None;
    edit(&mut a);
    a
}

fn model(net: &Network, arch: &ArchParams, seed: u64, time_s: f64, exact: bool) -> Functional {
    let mapping = map_network(net, arch, &MappingOptions::rram(Replication::None)).unwrap();
    let device = Some(DeviceOptions { time_s, seed, exact });
    let (w, _) = hardware_weights(net, arch, &mapping, None, HardwareOptions { adc_clip: false, device }).unwrap();
    Functional::with_weights(net, w).unwrap()
}

/// Integer weights (|q| ≤ 7, max 7: scale 1) and inputs (max 127: scale 1).
fn ints(k: usize) -> (Vec<f32>, Vec<f32>) {
    let w: Vec<f32> = (0..k).map(|i| ((i * 4 + 3) % 15) as f32 - 7.0).collect();
    let x: Vec<f32> = (0..k).map(|i| if i == 0 { 127.0 } else { ((i * 37) % 255) as f32 - 127.0 }).collect();
    (w, x)
}

#[test]
fn an_ideal_device_is_bit_exact() {
    let (k, n) = (100, 3);
    let (w, x) = ints(k);
    let weight: Vec<f32> = (0..n).flat_map(|o| w.iter().map(move |v| if o == 1 { -v } else { *v })).collect();
    let f = model(&net(k, n, weight.clone()), &arch(|_| {}), 1, 1.0, true);
    let y = f.forward(&x, &mut Default::default()).unwrap();
    for (o, y) in y.iter().enumerate() {
        let want: f32 = (0..k).map(|i| weight[o * k + i] * x[i]).sum();
        assert_eq!(*y, want, "output {o}");
    }
}

#[test]
fn programming_noise_variance_is_sigma2_sum_x2_w2() {
    // 256 outputs with the same weights: their spread is the programming noise.
    let (k, n, sigma) = (64, 256, 0.1);
    let (w, x) = ints(k);
    let weight: Vec<f32> = (0..n).flat_map(|_| w.iter().copied()).collect();
    let a = arch(|a| a.device.program_sigma = vec![sigma]);
    let net = net(k, n, weight);
    let ideal: f64 = (0..k).map(|i| f64::from(w[i] * x[i])).sum();
    let want: f64 = sigma * sigma * (0..k).map(|i| f64::from(x[i] * x[i] * w[i] * w[i])).sum::<f64>();
    let (mut sum, mut sq, mut count) = (0.0, 0.0, 0.0);
    for seed in 0..8 {
        for y in model(&net, &a, seed, 1.0, false).forward(&x, &mut Default::default()).unwrap() {
            let d = f64::from(y) - ideal;
            sum += d;
            sq += d * d;
            count += 1.0;
        }
    }
    let (mean, var) = (sum / count, sq / count - (sum / count).powi(2));
    eprintln!("programming noise: variance {var:.1} against σ²Σx²w² = {want:.1} (ratio {:.4})", var / want);
    // 2048 samples: the variance's standard error is √(2/2048) ≈ 3 %.
    assert!((var / want - 1.0).abs() < 0.12, "variance {var} against σ²Σx²w² = {want}");
    assert!(mean.abs() < 4.0 * (want / count).sqrt(), "mean error {mean}");
}

#[test]
fn drift_scales_conductances_by_t_over_t0_to_the_minus_nu() {
    let (k, n) = (50, 4);
    let (w, x) = ints(k);
    let weight: Vec<f32> = (0..n).flat_map(|_| w.iter().copied()).collect();
    let a = arch(|a| {
        a.device.drift_nu = 0.1;
        a.device.drift_t0_s = 2.0;
    });
    let ideal: f32 = (0..k).map(|i| w[i] * x[i]).sum();
    for (t, factor) in [(1.0f64, 1.0f64), (2.0, 1.0), (2e4, 1e4f64.powf(-0.1)), (2e9, 1e9f64.powf(-0.1))] {
        let y = model(&net(k, n, weight.clone()), &a, 1, t, false).forward(&x, &mut Default::default()).unwrap();
        for v in y {
            // The fast mode rounds the row group's sum (one level × input unit): ±½.
            let tolerance = 0.5 + 1e-4 * f64::from(ideal.abs());
            assert!((f64::from(v) - f64::from(ideal) * factor).abs() <= tolerance, "t = {t}: {v}");
        }
    }
}

#[test]
fn ir_drop_attenuates_a_uniform_array_by_position() {
    // Every weight 7 (level 7 in its G+ cell, G− empty); one input row at a time.
    let (k, n, r_on, wire) = (128, 64, 10_000.0, 2.0);
    let a = arch(|a| {
        a.crossbar.r_on_ohm = Some(r_on);
        a.device.wire_ohm = wire;
    });
    let f = model(&net(k, n, vec![7.0; k * n]), &a, 1, 1.0, false);
    let g = 7.0 / (r_on * 15.0); // level 7 of 15 between 0 and 1/r_on
    for row in [0usize, 5, 127] {
        let mut x = vec![0.0; k];
        x[row] = 127.0;
        let y = f.forward(&x, &mut Default::default()).unwrap();
        for (o, v) in y.iter().enumerate() {
            // G+ of weight o is column 2·o; drivers at column 0, ADCs below row 127.
            let segments = (2 * o + 1) as f64 + (128 - row) as f64;
            let want = 127.0 * 7.0 / (1.0 + g * wire * segments);
            // ±½: the fast mode rounds the row group's sum to one level × input unit.
            assert!((f64::from(*v) - want).abs() <= 0.5 + 1e-3, "row {row}, output {o}: {v} against {want}");
        }
    }
}

#[test]
fn adc_error_stays_within_the_uniform_quantizer_bound() {
    // Programmed conductances off the integer grid; the bit-exact periphery
    // rounds each conversion, the fast mode rounds the folded sum once: the
    // difference is the ADC's error, |e| ≤ ½ LSB per conversion (+ ½ for the
    // fast mode's one rounding), variance LSB²/12 (+ 1/12).
    let (k, n) = (100, 128);
    let (w, _) = ints(k);
    let x: Vec<f32> = (0..k).map(|i| if i == 0 { 127.0 } else { ((i * 37) % 128) as f32 }).collect();
    let weight: Vec<f32> = (0..n).flat_map(|o| w.iter().map(move |v| if o % 2 == 0 { *v } else { -v })).collect();
    let a = arch(|a| a.device.program_sigma = vec![0.05]);
    let net = net(k, n, weight);
    let exact = model(&net, &a, 3, 1.0, true).forward(&x, &mut Default::default()).unwrap();
    let folded = model(&net, &a, 3, 1.0, false).forward(&x, &mut Default::default()).unwrap();
    // 7 input bits, each converted in the G+ and G− column: Σ (2^t)² over set bit planes.
    let planes: Vec<u32> = (0..7).filter(|t| x.iter().any(|v| (*v as u32 >> t) & 1 == 1)).collect();
    let bound: f64 = planes.iter().map(|t| 2.0 * 0.5 * f64::from(1u32 << t)).sum();
    let var: f64 = planes.iter().map(|t| 2.0 * f64::from(1u32 << (2 * t)) / 12.0).sum::<f64>() + 1.0 / 12.0;
    let mut sq = 0.0;
    for (e, f) in exact.iter().zip(&folded) {
        let d = f64::from(e - f);
        assert!(d.abs() <= bound + 0.5 + 1e-2, "error {d} beyond the bound {bound}");
        sq += d * d;
    }
    let rms = (sq / n as f64).sqrt();
    let worst = exact.iter().zip(&folded).map(|(e, f)| f64::from(e - f).abs()).fold(0.0, f64::max);
    eprintln!("ADC: rms error {rms:.3} against √(Σ LSB²/12) = {:.3}; max {worst:.3} ≤ bound {bound}", var.sqrt());
    assert!(rms > 0.6 * var.sqrt() && rms < 1.4 * var.sqrt(), "rms {rms} against √(Σ LSB²/12) = {}", var.sqrt());
}

#[test]
fn read_noise_is_identical_on_any_thread_count() {
    let (k, n) = (40, 8);
    let (w, _) = ints(k);
    let weight: Vec<f32> = (0..n).flat_map(|_| w.iter().copied()).collect();
    let a = arch(|a| a.device.read_sigma = 0.05);
    for exact in [true, false] {
        let f = model(&net(k, n, weight.clone()), &a, 9, 1.0, exact);
        let images: Vec<f32> = (0..k * 100).map(|i| ((i * 13) % 200) as f32 - 100.0).collect();
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| f.forward_batch(&images).unwrap())
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
        // And the noise is there: two images with the same input differ.
        let twice: Vec<f32> = images[..k].iter().chain(&images[..k]).copied().collect();
        let outs = f.forward_batch(&twice).unwrap();
        assert_ne!(outs[0], outs[1], "exact {exact}");
    }
}
