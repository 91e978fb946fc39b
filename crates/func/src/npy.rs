//! NumPy `.npy` files of little-endian float32 (version 1.0 and 2.0 headers, C
//! order): enough for `rramsim infer` to exchange arrays with Python.

/// Parses an `.npy` file of `<f4` values; returns the shape and the values.
pub fn read_f32(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (bad magic)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize, 12),
        v => return Err(format!(".npy version {v} is not supported")),
    };
    let header = bytes.get(start..start + header_len).ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(header).map_err(|_| "the .npy header is not text")?;
    let field = |key: &str| -> Result<&str, String> {
        let at = header.find(&format!("'{key}'")).ok_or(format!(".npy header has no '{key}'"))?;
        let rest = header[at + key.len() + 2..].trim_start().strip_prefix(':').ok_or("malformed .npy header")?;
        Ok(rest.trim_start())
    };
    let descr = field("descr")?;
    if !(descr.starts_with("'<f4'") || descr.starts_with("'float32'")) {
        return Err(format!(
            ".npy dtype {} is not little-endian float32 ('<f4')",
            descr.split(',').next().unwrap_or("")
        ));
    }
    if field("fortran_order")?.starts_with("True") {
        return Err(".npy arrays in Fortran order are not supported".into());
    }
    let shape = field("shape")?;
    let inner = shape.strip_prefix('(').and_then(|s| s.split_once(')')).ok_or("malformed .npy shape")?.0;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("malformed .npy shape ({inner})")))
        .collect::<Result<_, _>>()?;
    let count: usize = dims.iter().product();
    let data = &bytes[start + header_len..];
    if data.len() != count * 4 {
        return Err(format!(".npy shape {dims:?} needs {} bytes of data, the file has {}", count * 4, data.len()));
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
        assert!(read_f32(&bytes[..bytes.len() - 1]).unwrap_err().contains("needs 24 bytes"));
        assert!(read_f32(b"PK\x03\x04xxxxxxxx").unwrap_err().contains("magic"));
        let mut f8 = bytes.clone();
        let at = f8.windows(3).position(|w| w == b"<f4").unwrap();
        f8[at + 2] = b'8';
        assert!(read_f32(&f8).unwrap_err().contains("float32"));
    }
}
