//! Datasets for accuracy measurements: Fashion-MNIST from IDX files (gzipped or
//! not; Debian's `dataset-fashion-mnist` installs them under
//! `/usr/share/datasets/fashion-mnist/`) and CIFAR-10 from its binary version
//! (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`).
//!
//! Images become `f32` in `[0, 1]`, channel-major (`C × H × W`), the layout the
//! networks take. Readers take bytes, so they are tested on synthetic files.
//!
//! Errors: [`DataError`] (with [`IdxError`] for IDX files), always bad input.

use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A dataset that cannot be named or read.
#[derive(Debug, Error)]
pub enum DataError {
    #[error("cifar10 needs the directory of its binary files: --data cifar10:DIR")]
    Cifar10NeedsDir,
    #[error("unknown dataset `{0}`; expected fashion-mnist[:DIR] or cifar10:DIR")]
    UnknownDataset(String),
    #[error("{}: cannot read: {source}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: corrupt gzip data: {source}", .path.display())]
    Gzip { path: PathBuf, source: std::io::Error },
    #[error(
        "{}: no {name}[.gz] (Fashion-MNIST: `apt-get install dataset-fashion-mnist`, or give --data fashion-mnist:DIR)",
        .dir.display()
    )]
    Missing { dir: PathBuf, name: String },
    #[error("images: {0}")]
    Images(#[source] IdxError),
    #[error("labels: {0}")]
    Labels(#[source] IdxError),
    #[error("images: expected 3 dimensions (N, H, W), got {0:?}")]
    ImageDims(Vec<usize>),
    #[error("labels: expected [{images}], got {dims:?}")]
    LabelDims { images: usize, dims: Vec<usize> },
    #[error("labels: class {0} is out of range 0..10")]
    LabelClass(u8),
    #[error("{bytes} bytes is not a whole number of {record}-byte CIFAR-10 records")]
    Cifar10Size { bytes: usize, record: usize },
    #[error("record {record}: class {class} is out of range 0..10")]
    Cifar10Class { record: usize, class: u8 },
    #[error("{}: cannot read: {source} (CIFAR-10 binary version: {file})", .path.display())]
    Cifar10Read { path: PathBuf, file: String, source: std::io::Error },
    /// An error in the contents of a file or directory, prefixed with its path.
    #[error("{}: {source}", .path.display())]
    In { path: PathBuf, source: Box<DataError> },
}

/// An IDX file that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdxError {
    #[error("not an IDX file (bad magic)")]
    Magic,
    #[error("IDX data type 0x{0:02x} is not unsigned bytes (0x08)")]
    DataType(u8),
    #[error("truncated IDX header")]
    TruncatedHeader,
    #[error("IDX dimensions overflow")]
    Overflow,
    #[error("IDX dimensions {dims:?} need {needed} bytes, the file has {actual}")]
    Size { dims: Vec<usize>, needed: usize, actual: usize },
}

/// Labelled images, all of one shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// `len · C · H · W` values in `[0, 1]`.
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
    pub classes: usize,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image_size(&self) -> usize {
        self.channels * self.height * self.width
    }

    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.image_size();
        &self.images[i * n..(i + 1) * n]
    }

    /// The first `n` images (all if fewer).
    pub fn truncated(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.images.truncate(n * self.image_size());
        self.labels.truncate(n);
        self
    }
}

/// Which split of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// A dataset named on the command line: `fashion-mnist[:DIR]` or `cifar10:DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSpec {
    FashionMnist(PathBuf),
    Cifar10(PathBuf),
}

pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

impl DataSpec {
    pub fn parse(text: &str) -> Result<Self, DataError> {
        let (kind, dir) = match text.split_once(':') {
            Some((k, d)) => (k, Some(d)),
            None => (text, None),
        };
        match (kind, dir) {
            ("fashion-mnist", d) => Ok(DataSpec::FashionMnist(PathBuf::from(d.unwrap_or(FASHION_MNIST_DIR)))),
            ("cifar10", Some(d)) if !d.is_empty() => Ok(DataSpec::Cifar10(PathBuf::from(d))),
            ("cifar10", _) => Err(DataError::Cifar10NeedsDir),
            _ => Err(DataError::UnknownDataset(text.to_owned())),
        }
    }

    pub fn load(&self, split: Split) -> Result<Dataset, DataError> {
        match self {
            DataSpec::FashionMnist(dir) => load_fashion_mnist(dir, split),
            DataSpec::Cifar10(dir) => load_cifar10(dir, split),
        }
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Read { path: path.to_owned(), source })?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|source| DataError::Gzip { path: path.to_owned(), source })?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// `name` or `name.gz` in `dir`.
fn find(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    for candidate in [dir.join(name), dir.join(format!("{name}.gz"))] {
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    Err(DataError::Missing { dir: dir.to_owned(), name: name.to_owned() })
}

/// Parses an IDX file: magic `0 0 type ndim`, big-endian u32 dimensions, data.
/// Returns the dimensions and the unsigned bytes (type 0x08 only).
pub fn parse_idx(bytes: &[u8]) -> Result<(Vec<usize>, &[u8]), IdxError> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(IdxError::Magic);
    }
    if bytes[2] != 0x08 {
        return Err(IdxError::DataType(bytes[2]));
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(IdxError::TruncatedHeader);
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize)
        .collect();
    let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or(IdxError::Overflow)?;
    let data = &bytes[header..];
    if data.len() != count {
        return Err(IdxError::Size { dims, needed: count, actual: data.len() });
    }
    Ok((dims, data))
}

/// An IDX image file (`N × H × W`) and its label file (`N`).
pub fn idx_dataset(name: &str, images: &[u8], labels: &[u8]) -> Result<Dataset, DataError> {
    let (dims, pixels) = parse_idx(images).map_err(DataError::Images)?;
    let (ldims, labels) = parse_idx(labels).map_err(DataError::Labels)?;
    let [n, h, w] = dims[..] else {
        return Err(DataError::ImageDims(dims));
    };
    if ldims != [n] {
        return Err(DataError::LabelDims { images: n, dims: ldims });
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= 10) {
        return Err(DataError::LabelClass(bad));
    }
    Ok(Dataset {
        name: name.to_owned(),
        channels: 1,
        height: h,
        width: w,
        images: pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
        labels: labels.to_vec(),
        classes: 10,
    })
}

pub fn load_fashion_mnist(dir: &Path, split: Split) -> Result<Dataset, DataError> {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let ip = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let lp = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let (images, labels) = (read_file(&ip)?, read_file(&lp)?);
    idx_dataset("fashion-mnist", &images, &labels)
        .map_err(|e| DataError::In { path: dir.to_owned(), source: Box::new(e) })
}

/// CIFAR-10 binary records: 1 label byte, then 3 × 32 × 32 pixel bytes (R, G, B planes).
pub fn cifar10_records(bytes: &[u8], into: &mut Dataset) -> Result<(), DataError> {
    const RECORD: usize = 1 + 3 * 32 * 32;
    if bytes.is_empty() || bytes.len() % RECORD != 0 {
        return Err(DataError::Cifar10Size { bytes: bytes.len(), record: RECORD });
    }
    for (i, r) in bytes.chunks_exact(RECORD).enumerate() {
        if r[0] >= 10 {
            return Err(DataError::Cifar10Class { record: i, class: r[0] });
        }
        into.labels.push(r[0]);
        into.images.extend(r[1..].iter().map(|&p| f32::from(p) / 255.0));
    }
    Ok(())
}

pub fn load_cifar10(dir: &Path, split: Split) -> Result<Dataset, DataError> {
    let files: Vec<String> = match split {
        Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
        Split::Test => vec!["test_batch.bin".into()],
    };
    let mut d = Dataset {
        name: "cifar10".into(),
        channels: 3,
        height: 32,
        width: 32,
        images: Vec::new(),
        labels: Vec::new(),
        classes: 10,
    };
    for f in files {
        let path = dir.join(&f);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(source) => return Err(DataError::Cifar10Read { path, file: f, source }),
        };
        cifar10_records(&bytes, &mut d).map_err(|e| DataError::In { path, source: Box::new(e) })?;
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 0x08, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn idx_files_parse_and_scale() {
        let images = idx(&[2, 2, 3], &[0, 255, 51, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
        let labels = idx(&[2], &[7, 1]);
        let d = idx_dataset("t", &images, &labels).unwrap();
        assert_eq!((d.len(), d.channels, d.height, d.width), (2, 1, 2, 3));
        assert_eq!(d.image(0)[..3], [0.0, 1.0, 0.2]);
        assert_eq!(d.labels, [7, 1]);
        let err = idx_dataset("t", &images, &idx(&[3], &[0, 1, 2])).unwrap_err();
        assert!(matches!(err, DataError::LabelDims { images: 2, .. }), "{err}");
        assert!(err.to_string().contains("expected [2]"));
        let err = idx_dataset("t", &images, &idx(&[2], &[0, 10])).unwrap_err();
        assert!(matches!(err, DataError::LabelClass(10)), "{err}");
        assert!(err.to_string().contains("out of range"));
        let err = parse_idx(&images[..images.len() - 1]).unwrap_err();
        assert!(err.to_string().contains("need 12 bytes"), "{err}");
        assert_eq!(parse_idx(b"\x1f\x8b..").unwrap_err(), IdxError::Magic);
        assert!(parse_idx(&[0, 0, 0x0d, 1, 0, 0, 0, 0]).unwrap_err().to_string().contains("0x0d"));
    }

    #[test]
    fn gzipped_idx_files_are_read() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("rramsim-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write_gz = |name: &str, bytes: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes).unwrap();
            std::fs::write(dir.join(name), e.finish().unwrap()).unwrap();
        };
        write_gz("t10k-images-idx3-ubyte.gz", &idx(&[1, 2, 2], &[0, 255, 0, 255]));
        std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx(&[1], &[3])).unwrap();
        let d = load_fashion_mnist(&dir, Split::Test).unwrap();
        assert_eq!((d.len(), d.labels[0]), (1, 3));
        assert!(load_fashion_mnist(&dir, Split::Train).unwrap_err().to_string().contains("no train-images"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cifar10_binary_records() {
        let dir = std::env::temp_dir().join(format!("rramsim-cifar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut bytes = Vec::new();
        for label in [3u8, 9] {
            bytes.push(label);
            bytes.extend((0..3072).map(|i| (i % 256) as u8));
        }
        std::fs::write(dir.join("test_batch.bin"), &bytes).unwrap();
        let d = DataSpec::parse(&format!("cifar10:{}", dir.display())).unwrap().load(Split::Test).unwrap();
        assert_eq!((d.len(), d.channels, d.height, d.width, d.labels.clone()), (2, 3, 32, 32, vec![3, 9]));
        assert_eq!(d.image(1)[1], 1.0 / 255.0);
        assert_eq!(d.image(1)[1024], 0.0, "the green plane starts at 1024");
        std::fs::write(dir.join("test_batch.bin"), &bytes[..100]).unwrap();
        assert!(load_cifar10(&dir, Split::Test).unwrap_err().to_string().contains("whole number"));
        assert!(load_cifar10(&dir, Split::Train).unwrap_err().to_string().contains("data_batch_1.bin"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(DataSpec::parse("cifar10"), Err(DataError::Cifar10NeedsDir)));
        assert!(DataSpec::parse("cifar10").unwrap_err().to_string().contains("cifar10:DIR"));
        assert!(DataSpec::parse("mnist").unwrap_err().to_string().contains("unknown dataset"));
        assert_eq!(DataSpec::parse("fashion-mnist").unwrap(), DataSpec::FashionMnist(FASHION_MNIST_DIR.into()));
    }
}
