//! Splitting Automerge bytes into chunks before handing them to Automerge.
//!
//! `AutoCommit::load_incremental` quietly ignores bytes it cannot parse
//! ("partial load"), so garbage would be accepted as a successful import of
//! nothing. Framing the chunks ourselves lets each one be parsed strictly and
//! garbage be reported. The frame is Automerge's storage format: 4 magic bytes,
//! a 4-byte checksum, a chunk type byte, a ULEB128 length, then the body.

/// A whole document (`AutoCommit::save`).
pub(crate) const DOCUMENT: u8 = 0;
/// One change.
pub(crate) const CHANGE: u8 = 1;
/// One deflate-compressed change.
pub(crate) const COMPRESSED_CHANGE: u8 = 2;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Magic, checksum and type byte.
const FIXED_HEADER: usize = 9;

/// One framed chunk, header included.
pub(crate) struct Chunk<'a> {
    pub kind: u8,
    pub bytes: &'a [u8],
}

impl Chunk<'_> {
    /// The checksum from the header: the first 4 bytes of the SHA-256 hash
    /// of the (uncompressed) chunk, i.e. of the change hash.
    pub fn checksum(&self) -> &[u8] {
        &self.bytes[4..8]
    }
}

/// Splits concatenated chunks; errors name the byte offset of the problem.
pub(crate) fn split(data: &[u8]) -> Result<Vec<Chunk<'_>>, String> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        let rest = &data[offset..];
        if rest.len() < FIXED_HEADER || rest[..4] != MAGIC {
            return Err(format!(
                "byte {offset}: not an Automerge chunk (bad magic bytes)"
            ));
        }
        let kind = rest[8];
        let (len, len_bytes) = read_uleb(&rest[FIXED_HEADER..])
            .ok_or_else(|| format!("byte {offset}: bad chunk length"))?;
        let total = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(FIXED_HEADER + len_bytes))
            .filter(|t| *t <= rest.len())
            .ok_or_else(|| format!("byte {offset}: chunk of {len} bytes is truncated"))?;
        out.push(Chunk {
            kind,
            bytes: &rest[..total],
        });
        offset += total;
    }
    Ok(out)
}

/// Reads an unsigned LEB128 number; returns it and how many bytes it took.
fn read_uleb(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, byte) in b.iter().take(10).enumerate() {
        let bits = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        if shift == 63 && bits > 1 {
            return None;
        }
        v |= bits << shift;
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncation_are_errors() {
        assert!(split(b"hello world").is_err());
        let mut framed = MAGIC.to_vec();
        framed.extend_from_slice(&[0, 0, 0, 0, CHANGE, 0x05, 1, 2]);
        let err = split(&framed).err().unwrap_or_default();
        assert!(err.contains("truncated"), "{err}");
        framed.extend_from_slice(&[3, 4, 5]);
        let chunks = split(&framed).unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].kind, CHANGE);
        assert!(split(&[]).unwrap().is_empty());
    }

    #[test]
    fn uleb_rejects_overlong_numbers() {
        assert_eq!(read_uleb(&[0x05]), Some((5, 1)));
        assert_eq!(read_uleb(&[0x80, 0x01]), Some((128, 2)));
        assert_eq!(read_uleb(&[0xff; 11]), None);
    }
}
