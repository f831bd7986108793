//! Version vectors over the sealed change log: `{author: highest contiguous seq}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, Seq};

/// For each author, the highest seq such that every change 1..=seq of that
/// author is held. Authors absent from the map are at 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionVector(BTreeMap<DeviceId, Seq>);

/// Why an encoded version vector could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum VvDecodeError {
    /// The bytes end in the middle of an entry, or have trailing bytes.
    #[error("version vector is {len} bytes, not a multiple of 40")]
    BadLength {
        /// The length found.
        len: usize,
    },
}

impl VersionVector {
    /// An empty vector.
    pub fn new() -> Self {
        Self::default()
    }
    /// The highest contiguous seq held of `author` (0 if none).
    pub fn get(&self, author: &DeviceId) -> Seq {
        self.0.get(author).copied().unwrap_or(0)
    }
    /// Sets the seq of `author`; 0 removes the entry.
    pub fn set(&mut self, author: DeviceId, seq: Seq) {
        if seq == 0 {
            self.0.remove(&author);
        } else {
            self.0.insert(author, seq);
        }
    }
    /// True if this vector holds the change `(author, seq)`.
    pub fn contains(&self, author: &DeviceId, seq: Seq) -> bool {
        seq != 0 && seq <= self.get(author)
    }
    /// Entry-wise maximum.
    pub fn merge(&mut self, other: &VersionVector) {
        for (a, s) in &other.0 {
            if *s > self.get(a) {
                self.0.insert(*a, *s);
            }
        }
    }
    /// True if every change held by `other` is held by `self`.
    pub fn includes(&self, other: &VersionVector) -> bool {
        other.0.iter().all(|(a, s)| self.get(a) >= *s)
    }
    /// The authors whose seq here is above theirs in `before`, with their
    /// seq here: what a peer that knew `before` needs to know `self`.
    pub fn moved_since(&self, before: &VersionVector) -> VersionVector {
        let mut out = VersionVector::new();
        for (a, s) in self.iter() {
            if *s > before.get(a) {
                out.set(*a, *s);
            }
        }
        out
    }

    /// Iterates `(author, seq)` in author order.
    pub fn iter(&self) -> impl Iterator<Item = (&DeviceId, &Seq)> {
        self.0.iter()
    }
    /// Number of authors.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True if no author has any change.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// A compact binary encoding: 40 bytes per author (key, big-endian seq),
    /// in author order, so equal vectors encode equally.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 40);
        for (a, s) in &self.0 {
            out.extend_from_slice(a.public_key());
            out.extend_from_slice(&s.to_be_bytes());
        }
        out
    }
    /// Inverse of [`VersionVector::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, VvDecodeError> {
        if !bytes.len().is_multiple_of(40) {
            return Err(VvDecodeError::BadLength { len: bytes.len() });
        }
        let mut v = Self::new();
        for chunk in bytes.chunks_exact(40) {
            let (pk, seq) = chunk.split_at(32);
            let mut pkb = [0u8; 32];
            pkb.copy_from_slice(pk);
            let mut sb = [0u8; 8];
            sb.copy_from_slice(seq);
            v.set(DeviceId::from_public_key(pkb), u64::from_be_bytes(sb));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_round_trip_and_order() {
        let a = DeviceId::from_public_key([1; 32]);
        let b = DeviceId::from_public_key([2; 32]);
        let mut v = VersionVector::new();
        v.set(b, 5);
        v.set(a, 3);
        let e = v.encode();
        assert_eq!(VersionVector::decode(&e).unwrap(), v);
        assert!(VersionVector::decode(&e[..39]).is_err());
        assert!(v.contains(&a, 3) && !v.contains(&a, 4) && !v.contains(&a, 0));
        let mut w = VersionVector::new();
        w.set(a, 9);
        w.merge(&v);
        assert_eq!(w.get(&a), 9);
        assert_eq!(w.get(&b), 5);
        assert!(w.includes(&v) && !v.includes(&w));
    }
}
