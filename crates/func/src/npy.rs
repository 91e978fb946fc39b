//! NumPy `.npy` files of little-endian float32 (version 1.0 and 2.0 headers, C
//! order): enough for `rramsim infer` to exchange arrays with Python.
//! Errors are [`NpyError`]s, always bad input.

use thiserror::Error;

/// An `.npy` file that cannot be read as float32.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NpyError {
    #[error("not a .npy file (bad magic)")]
    Magic,
    #[error(".npy version {0} is not supported")]
    Version(u8),
    #[error("truncated .npy header")]
    TruncatedHeader,
    #[error("the .npy header is not text")]
    HeaderNotText,
    #[error(".npy header has no '{0}'")]
    MissingKey(&'static str),
    #[error("malformed .npy header")]
    MalformedHeader,
    #[error(".npy dtype {0} is not little-endian float32 ('<f4')")]
    Dtype(String),
    #[error(".npy arrays in Fortran order are not supported")]
    FortranOrder,
    #[error("malformed .npy shape")]
    MalformedShape,
    #[error("malformed .npy shape ({0})")]
    MalformedDims(String),
    #[error(".npy shape {dims:?} needs {needed} bytes of data, the file has {actual}")]
    Size { dims: Vec<usize>, needed: usize, actual: usize },
    #[error(".npy shape {0:?} has more values than can be counted")]
    Overflow(Vec<usize>),
}

/// Parses an `.npy` file of `<f4` values; returns the shape and the values.
pub fn read_f32(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), NpyError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(NpyError::Magic);
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize, 12),
        v => return Err(NpyError::Version(v)),
    };
    let header = bytes.get(start..start + header_len).ok_or(NpyError::TruncatedHeader)?;
    let header = std::str::from_utf8(header).map_err(|_| NpyError::HeaderNotText)?;
    let field = |key: &'static str| -> Result<&str, NpyError> {
        let at = header.find(&format!("'{key}'")).ok_or(NpyError::MissingKey(key))?;
        let rest = header[at + key.len() + 2..].trim_start().strip_prefix(':').ok_or(NpyError::MalformedHeader)?;
        Ok(rest.trim_start())
    };
    let descr = field("descr")?;
    if !(descr.starts_with("'<f4'") || descr.starts_with("'float32'")) {
        return Err(NpyError::Dtype(descr.split(',').next().unwrap_or("").to_owned()));
    }
    if field("fortran_order")?.starts_with("True") {
        return Err(NpyError::FortranOrder);
    }
    let shape = field("shape")?;
    let inner = shape.strip_prefix('(').and_then(|s| s.split_once(')')).ok_or(NpyError::MalformedShape)?.0;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| NpyError::MalformedDims(inner.to_owned())))
        .collect::<Result<_, _>>()?;
    // Checked: dims from the header must not wrap to the data's size.
    let Some(needed) = dims.iter().try_fold(4usize, |acc, &d| acc.checked_mul(d)) else {
        return Err(NpyError::Overflow(dims));
    };
    let data = &bytes[start + header_len..];
    if data.len() != needed {
        return Err(NpyError::Size { dims, needed, actual: data.len() });
    }
    Ok((dims, data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()))
}

/// Serializes float32 values of `shape` as an `.npy` (version 1.0) file.
pub fn write_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad so the data starts on a 64-byte boundary; the header ends with a newline.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let bytes = write_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, -6.5]);
        assert_eq!(bytes.len() % 64, 24, "a 64-byte aligned header, then 24 bytes of data");
        let (shape, v) = read_f32(&bytes).unwrap();
        assert_eq!((shape, v[5]), (vec![2, 3], -6.5));
        assert_eq!(read_f32(&write_f32(&[4], &[0.0; 4])).unwrap().0, vec![4]);
        assert!(read_f32(&bytes[..bytes.len() - 1]).unwrap_err().to_string().contains("needs 24 bytes"));
        assert_eq!(read_f32(b"PK\x03\x04xxxxxxxx").unwrap_err(), NpyError::Magic);
        let mut f8 = bytes.clone();
        let at = f8.windows(3).position(|w| w == b"<f4").unwrap();
        f8[at + 2] = b'8';
        let err = read_f32(&f8).unwrap_err();
        assert!(matches!(err, NpyError::Dtype(_)), "{err}");
        assert!(err.to_string().contains("float32"));
    }
}
