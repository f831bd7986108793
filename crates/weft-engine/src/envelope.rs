//! The plaintext inside a sealed change: when, a one-line summary for
//! history, and the CRDT bytes.
//!
//! ```text
//! u8   version (1)
//! i64  time, ms since the Unix epoch, big-endian
//! u16  summary length, big-endian; then that many bytes of UTF-8
//! ...  the Loro update or Automerge change bytes
//! ```
//! Time and summary live inside the ciphertext, not in the header, so a
//! relay learns nothing about what an edit did.

/// A decoded change payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// When the change was made (ms since the Unix epoch, author's clock).
    pub time_ms: i64,
    /// A short human summary ("+12 −3 chars", "set /status").
    pub summary: String,
    /// The CRDT bytes.
    pub body: Vec<u8>,
}

const VERSION: u8 = 1;
const MAX_SUMMARY: usize = 200;

impl Envelope {
    /// Encodes; the summary is cut to 200 bytes at a char boundary.
    pub fn encode(&self) -> Vec<u8> {
        let mut summary = self.summary.as_str();
        if summary.len() > MAX_SUMMARY {
            let mut end = MAX_SUMMARY;
            while !summary.is_char_boundary(end) {
                end -= 1;
            }
            summary = &summary[..end];
        }
        let mut out = Vec::with_capacity(11 + summary.len() + self.body.len());
        out.push(VERSION);
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.extend_from_slice(&(summary.len() as u16).to_be_bytes());
        out.extend_from_slice(summary.as_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes, naming what is wrong with malformed bytes.
    pub fn decode(b: &[u8]) -> Result<Self, String> {
        let (&version, rest) = b.split_first().ok_or("empty payload")?;
        if version != VERSION {
            return Err(format!("unknown payload version {version}"));
        }
        let (time, rest) = rest
            .split_first_chunk::<8>()
            .ok_or("payload truncated in its time field")?;
        let (len, rest) = rest
            .split_first_chunk::<2>()
            .ok_or("payload truncated in its summary length")?;
        let len = u16::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err("payload truncated in its summary".into());
        }
        let (summary, body) = rest.split_at(len);
        let summary = std::str::from_utf8(summary)
            .map_err(|_| "payload summary is not UTF-8")?
            .to_owned();
        Ok(Self {
            time_ms: i64::from_be_bytes(*time),
            summary,
            body: body.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let e = Envelope {
            time_ms: 1_700_000_000_000,
            summary: "set /a".into(),
            body: vec![1, 2, 3],
        };
        let b = e.encode();
        assert_eq!(Envelope::decode(&b).unwrap(), e);
        for cut in 0..b.len() - 3 {
            assert!(Envelope::decode(&b[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn long_summary_is_cut_at_a_char_boundary() {
        let e = Envelope {
            time_ms: 0,
            summary: "é".repeat(150),
            body: vec![],
        };
        let d = Envelope::decode(&e.encode()).unwrap();
        assert_eq!(d.summary.chars().count(), 100);
    }
}
