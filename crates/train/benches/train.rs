//! Training against inference throughput, measured in one run:
//! `cargo bench -p rramsim-train --bench train [-- IMAGES [MODEL...]]`.
//!
//! For each model of the family, trains one epoch on the first `IMAGES`
//! (default 4096) Fashion-MNIST training images (batch 64, drop-connect 0.2),
//! then evaluates the trained model (BatchNorm folded, float, `rramsim-func`)
//! on the same images, and prints training and evaluation images/s and their
//! ratio (training cost per image over evaluation cost per image), per
//! wall-second and per CPU-second (×cores, the rate on otherwise idle cores). Fails if the dataset is missing (`apt-get install dataset-fashion-mnist`).

use std::time::Instant;

use rramsim_func::{DataSpec, Functional, Split};
use rramsim_map::Offload;
use rramsim_train::{Augment, LrSchedule, MaskScaling, TrainConfig, family, train};

/// CPU seconds this process has used (user + system, from `/proc/self/stat`;
/// `None` elsewhere): on a shared machine, images per CPU-second are steadier
/// than images per wall-second.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Runs `f`; returns its result, wall seconds and CPU seconds.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, Option<f64>) {
    let (cpu, start) = (cpu_seconds(), Instant::now());
    let out = f();
    (out, start.elapsed().as_secs_f64(), cpu_seconds().zip(cpu).map(|(b, a)| b - a))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let images: usize = args.first().map_or(4096, |a| a.parse().expect("IMAGES is a count"));
    // Models to run (all of the family when none is named).
    let models: Vec<&str> =
        rramsim_train::MODELS.into_iter().filter(|m| args.len() < 2 || args[1..].iter().any(|a| a == m)).collect();
    assert!(!models.is_empty(), "MODEL is one of {:?}", rramsim_train::MODELS);
    let spec = DataSpec::parse("fashion-mnist").expect("the default dataset");
    let data =
        spec.load(Split::Train).expect("Fashion-MNIST (apt-get install dataset-fashion-mnist)").truncated(images);
    let input = rramsim_graph::Shape::new(data.channels, data.height, data.width);
    println!("threads: {}, images: {}", rayon::current_num_threads(), data.len());
    println!("(per CPU-s: images per CPU-second, ×{} cores, from /proc/self/stat)", rayon::current_num_threads());
    println!(
        "{:<16} {:>12} {:>12} {:>7} {:>16} {:>16} {:>7} {:>10}",
        "model", "train img/s", "eval img/s", "ratio", "train (per CPU-s)", "eval (per CPU-s)", "ratio", "train acc"
    );
    for model in models {
        let structure = family(model, 1.0, input).expect("a model of the family");
        let cfg = TrainConfig {
            epochs: 1,
            batch_size: 64,
            lr: 0.003,
            schedule: LrSchedule::Constant,
            drop_connect: 0.2,
            scaling: MaskScaling::None,
            weight_noise: 0.0,
            augment: Augment::default(),
            offload: Offload::AllRram,
            seed: 1,
        };
        let ((trained, reports), train_wall, train_cpu) =
            timed(|| train(&structure, &data, &cfg, |_, _| {}).expect("training"));
        if let Some(dir) = std::env::var_os("TRAIN_BENCH_ONNX") {
            // The trained models' bytes, to compare two builds' determinism.
            let bytes = rramsim_graph::export_onnx(&trained).expect("exports");
            std::fs::write(std::path::Path::new(&dir).join(format!("{model}.onnx")), bytes).expect("writes");
        }
        let folded = rramsim_graph::fold_batchnorm(&trained).expect("folds");
        let f = Functional::float(&folded).expect("runs");
        let (accuracy, eval_wall, eval_cpu) = timed(|| f.accuracy(&data.images, &data.labels).expect("evaluates"));
        assert!(accuracy.is_finite());
        let n = data.len() as f64;
        let cores = rayon::current_num_threads() as f64;
        let per_cpu = |cpu: Option<f64>| cpu.filter(|c| *c > 0.0).map(|c| n * cores / c);
        let (train_cpu, eval_cpu) = (per_cpu(train_cpu), per_cpu(eval_cpu));
        let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
        println!(
            "{model:<16} {:>12.0} {:>12.0} {:>6.1}× {:>16} {:>16} {:>6} {:>9.1}%",
            n / train_wall,
            n / eval_wall,
            train_wall / eval_wall,
            show(train_cpu),
            show(eval_cpu),
            train_cpu.zip(eval_cpu).map_or("-".to_owned(), |(t, e)| format!("{:.1}×", e / t)),
            100.0 * reports[0].train_accuracy
        );
    }
}
