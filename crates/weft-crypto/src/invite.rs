//! Invite codes: everything a new device needs to join a workspace, as one
//! line of text a person can copy, paste or scan.
//!
//! A pure codec (no I/O). The layout is specified in docs/protocol.md,
//! "Invite codes"; the short version is `weft1-` followed by Crockford
//! base32 of `version ‖ workspace id ‖ key ‖ name ‖ relays ‖ peers ‖
//! checksum`.
//!
//! The code carries the workspace key in the clear, so [`Invite`] is treated
//! like the key itself: no `Clone`, no `Serialize`, a `Debug` that redacts
//! the key, and the byte buffers that held the key are wiped.

use std::fmt;

use sha2::{Digest, Sha256};
use weft_core::WorkspaceId;
use zeroize::{Zeroize, Zeroizing};

use crate::WorkspaceKey;

/// Crockford's base32 alphabet: digits, then letters without I, L, O and U
/// (the first three look like 1 and 0, U avoids accidental words).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Bytes of the trailing checksum (a truncated SHA-256).
const CHECKSUM_LEN: usize = 4;

/// Everything a device needs to join a workspace.
///
/// Build one with `Workspace::invite` (weft-engine), turn it into text with
/// [`Invite::encode`] and back with [`Invite::decode`].
pub struct Invite {
    /// The workspace to join.
    pub workspace: WorkspaceId,
    /// The workspace key: whoever holds the code can read and write
    /// everything in the workspace.
    pub key: WorkspaceKey,
    /// Relay multiaddrs the joiner can sync through.
    pub relays: Vec<String>,
    /// Multiaddrs (with `/p2p/` id) of the inviting device, so the joiner
    /// can dial it directly where mDNS is blocked.
    pub peers: Vec<String>,
    /// The workspace's display name.
    pub name: String,
}

impl fmt::Debug for Invite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `WorkspaceKey`'s own Debug redacts; spelled out so a later field
        // change cannot reveal it by accident.
        f.debug_struct("Invite")
            .field("workspace", &self.workspace)
            .field("key", &"[redacted]")
            .field("relays", &self.relays)
            .field("peers", &self.peers)
            .field("name", &self.name)
            .finish()
    }
}

/// Why an invite code could not be read. Every message tells a person what
/// to do, since the code usually arrives by hand (typed, pasted, scanned).
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum InviteError {
    /// The text does not start with `weft1-`.
    #[error("this is not a Weft invite code: it should start with weft1-")]
    MissingPrefix,
    /// A character outside the base32 alphabet (and not a space or dash).
    #[error(
        "the invite code has {character:?} at position {position}, which no invite code \
         contains (only letters and digits); copy it again"
    )]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its position in the text, counting characters from 1.
        position: usize,
    },
    /// The checksum does not match: a character was changed, dropped or
    /// added.
    #[error("the invite code is mistyped: its checksum does not match; copy it again")]
    Mistyped,
    /// The code ends too early.
    #[error("the invite code is incomplete: it ends inside its {field}; copy all of it")]
    Truncated {
        /// The field that is cut off.
        field: &'static str,
    },
    /// The code was made by a newer Weft with a format this one cannot read.
    #[error(
        "this invite code has format version {version}, which this Weft cannot read: \
         the other device runs a newer Weft; update Weft on this device"
    )]
    UnknownVersion {
        /// The version byte of the code.
        version: u8,
    },
    /// Bytes after the last field.
    #[error(
        "the invite code has {count} unexpected bytes after its last field; \
         it was not made by this version of Weft"
    )]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A text field is not UTF-8.
    #[error("the invite code's {field} is not valid UTF-8; it was not made by Weft")]
    InvalidUtf8 {
        /// The name, a relay address or a peer address.
        field: &'static str,
    },
    /// A count or length beyond the bounds Weft keeps to (which its encoder
    /// never exceeds).
    #[error(
        "the invite code's {field} is {len}, more than the maximum of {max}; it was not made by Weft"
    )]
    TooLarge {
        /// What is too large.
        field: &'static str,
        /// Its value in the code.
        len: usize,
        /// The bound.
        max: usize,
    },
}

impl Invite {
    /// The human-readable prefix every code starts with. Case is ignored on
    /// decode, so the all-upper-case form (which a QR code stores in its
    /// compact alphanumeric mode) reads the same.
    pub const PREFIX: &'static str = "weft1-";
    /// The format version this build writes and reads.
    pub const VERSION: u8 = 1;
    /// At most this many relay addresses and this many peer addresses.
    pub const MAX_ADDRESSES: usize = 16;
    /// An address is at most this many bytes of UTF-8.
    pub const MAX_ADDRESS_LEN: usize = 255;
    /// The name is at most this many bytes of UTF-8.
    pub const MAX_NAME_LEN: usize = 255;

    /// The invite as text: `weft1-` and upper-case Crockford base32, with no
    /// separators (a single token is what terminals select on double-click).
    ///
    /// Never fails, and never writes what [`Invite::decode`] refuses: a name
    /// longer than [`Invite::MAX_NAME_LEN`] bytes is cut at the last
    /// character boundary that fits (it is only a label); an address longer
    /// than [`Invite::MAX_ADDRESS_LEN`] bytes is left out (a cut address
    /// would dial nowhere); of the remaining addresses, the first
    /// [`Invite::MAX_ADDRESSES`] of each list are kept, so callers list the
    /// best ones first.
    pub fn encode(&self) -> String {
        let name = truncate_utf8(&self.name, Self::MAX_NAME_LEN);
        let relays = kept_addresses(&self.relays);
        let peers = kept_addresses(&self.peers);
        let list_len = |l: &[&str]| 1 + l.iter().map(|a| 2 + a.len()).sum::<usize>();
        let len =
            1 + 16 + 32 + 1 + name.len() + list_len(&relays) + list_len(&peers) + CHECKSUM_LEN;

        // The exact capacity up front: a Vec that grew would leave copies of
        // the key in freed memory that Zeroizing never sees.
        let mut payload = Zeroizing::new(Vec::with_capacity(len));
        payload.push(Self::VERSION);
        payload.extend_from_slice(self.workspace.as_bytes());
        payload.extend_from_slice(self.key.expose_secret());
        // Both casts hold: the lengths were bounded to 255 above.
        payload.push(name.len() as u8);
        payload.extend_from_slice(name.as_bytes());
        for list in [&relays, &peers] {
            payload.push(list.len() as u8);
            for a in list {
                payload.extend_from_slice(&(a.len() as u16).to_be_bytes());
                payload.extend_from_slice(a.as_bytes());
            }
        }
        let sum = Sha256::digest(payload.as_slice());
        payload.extend_from_slice(&sum[..CHECKSUM_LEN]);
        debug_assert_eq!(payload.len(), len);

        let mut out = String::with_capacity(Self::PREFIX.len() + (len * 8).div_ceil(5));
        out.push_str(Self::PREFIX);
        base32_encode(&payload, &mut out);
        out
    }

    /// Reads a code made by [`Invite::encode`].
    ///
    /// Forgiving where people slip: the case of letters does not matter,
    /// spaces, line breaks and dashes after the prefix are skipped (a code
    /// split across lines or grouped in blocks still reads), and `O` reads
    /// as `0`, `I` and `L` as `1`, as Crockford specifies. Strict about
    /// everything else: the checksum must match and every field must be
    /// exactly as the format says.
    pub fn decode(code: &str) -> Result<Invite, InviteError> {
        let trimmed = code.trim_start();
        // Positions in errors count from the start of what the user gave.
        let skipped = code[..code.len() - trimmed.len()].chars().count();
        let prefix_len = Self::PREFIX.len();
        let has_prefix = trimmed
            .get(..prefix_len)
            .is_some_and(|p| p.eq_ignore_ascii_case(Self::PREFIX));
        if !has_prefix {
            return Err(InviteError::MissingPrefix);
        }
        let body = &trimmed[prefix_len..];
        let payload = base32_decode(body, skipped + prefix_len)?;

        if payload.len() < 1 + CHECKSUM_LEN {
            return Err(InviteError::Truncated { field: "checksum" });
        }
        // The checksum comes first: a typo is by far the likeliest fault, and
        // a changed version byte must read as a typo, not as a newer Weft.
        // Every version ends with this checksum (docs/protocol.md), so the
        // order is safe for codes from newer builds too.
        let (content, sum) = payload.split_at(payload.len() - CHECKSUM_LEN);
        if Sha256::digest(content)[..CHECKSUM_LEN] != *sum {
            return Err(InviteError::Mistyped);
        }
        let mut r = Reader(content);
        let version = r.u8("version")?;
        if version != Self::VERSION {
            return Err(InviteError::UnknownVersion { version });
        }
        let workspace = WorkspaceId::from_bytes(r.array::<16>("workspace id")?);
        // Copied straight into a wiped buffer rather than returned by value
        // from the reader, which would leave one more stack copy behind.
        let mut key_bytes = Zeroizing::new([0u8; 32]);
        key_bytes.copy_from_slice(r.take(32, "workspace key")?);
        let key = WorkspaceKey::from_bytes(*key_bytes);
        let name_len = usize::from(r.u8("name length")?);
        let name = utf8(r.take(name_len, "name")?, "name")?;
        let relays = r.addresses(&RELAY_FIELDS)?;
        let peers = r.addresses(&PEER_FIELDS)?;
        if !r.0.is_empty() {
            return Err(InviteError::TrailingBytes { count: r.0.len() });
        }
        Ok(Invite {
            workspace,
            key,
            relays,
            peers,
            name,
        })
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character
/// boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The addresses `encode` writes: those that fit, at most the first 16.
fn kept_addresses(list: &[String]) -> Vec<&str> {
    list.iter()
        .map(String::as_str)
        .filter(|a| a.len() <= Invite::MAX_ADDRESS_LEN)
        .take(Invite::MAX_ADDRESSES)
        .collect()
}

fn utf8(bytes: &[u8], field: &'static str) -> Result<String, InviteError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| InviteError::InvalidUtf8 { field })
}

/// RFC 4648 bit order (most significant bit first) over Crockford's
/// alphabet; the last character is padded with zero bits, and no `=`.
fn base32_encode(bytes: &[u8], out: &mut String) {
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u16::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[usize::from((acc >> bits) & 31)]));
        }
        // Only the low `bits` (< 5) bits are still needed.
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[usize::from((acc << (5 - bits)) & 31)]));
    }
    acc.zeroize();
}

/// What one character of a code stands for.
enum Digit {
    /// A base32 digit with this 5-bit value.
    Value(u8),
    /// A space, line break or dash: skipped.
    Separator,
    /// Anything else.
    Invalid,
}

fn digit(c: char) -> Digit {
    match c.to_ascii_uppercase() {
        c if c.is_whitespace() || c == '-' => Digit::Separator,
        // Crockford's aliases for the letters left out of the alphabet.
        'O' => Digit::Value(0),
        'I' | 'L' => Digit::Value(1),
        c => match ALPHABET.iter().position(|&a| char::from(a) == c) {
            // The alphabet has 32 entries, so the index fits in 5 bits.
            Some(i) => Digit::Value(i as u8),
            None => Digit::Invalid,
        },
    }
}

/// Decodes the base32 part; `offset` is how many characters precede it in
/// the user's text, for error positions.
fn base32_decode(text: &str, offset: usize) -> Result<Zeroizing<Vec<u8>>, InviteError> {
    // First pass: validate and count, so the buffer is allocated once at its
    // final size (see `encode` on why it must not grow).
    let mut digits = 0usize;
    for (i, c) in text.chars().enumerate() {
        match digit(c) {
            Digit::Value(_) => digits += 1,
            Digit::Separator => {}
            Digit::Invalid => {
                return Err(InviteError::InvalidCharacter {
                    character: c,
                    position: offset + i + 1,
                });
            }
        }
    }
    let mut out = Zeroizing::new(Vec::with_capacity(digits * 5 / 8));
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    let values = text.chars().filter_map(|c| match digit(c) {
        Digit::Value(v) => Some(v),
        Digit::Separator | Digit::Invalid => None,
    });
    for v in values {
        acc = (acc << 5) | u16::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // What `encode` writes ends with fewer than 5 zero bits. Anything else (a
    // character too many or too few, or a last character whose padding bits
    // are set) cannot come from `encode`, so it is a typo, and reporting it
    // as one keeps every single-character change of a code an error instead
    // of an alias that happens to decode.
    let canonical = bits < 5 && acc == 0;
    acc.zeroize();
    if !canonical {
        return Err(InviteError::Mistyped);
    }
    Ok(out)
}

/// A cursor over the checked payload.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], InviteError> {
        if self.0.len() < n {
            return Err(InviteError::Truncated { field });
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, InviteError> {
        Ok(self.take(1, field)?[0])
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], InviteError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }

    /// A count byte, then that many `u16` length-prefixed addresses.
    fn addresses(&mut self, f: &ListFields) -> Result<Vec<String>, InviteError> {
        let count = usize::from(self.u8(f.count)?);
        if count > Invite::MAX_ADDRESSES {
            return Err(InviteError::TooLarge {
                field: f.count,
                len: count,
                max: Invite::MAX_ADDRESSES,
            });
        }
        let mut list = Vec::with_capacity(count);
        for _ in 0..count {
            let len = usize::from(u16::from_be_bytes(self.array::<2>(f.len)?));
            if len > Invite::MAX_ADDRESS_LEN {
                return Err(InviteError::TooLarge {
                    field: f.len,
                    len,
                    max: Invite::MAX_ADDRESS_LEN,
                });
            }
            list.push(utf8(self.take(len, f.item)?, f.item)?);
        }
        Ok(list)
    }
}

/// How errors name the parts of an address list.
struct ListFields {
    count: &'static str,
    len: &'static str,
    item: &'static str,
}

const RELAY_FIELDS: ListFields = ListFields {
    count: "relay count",
    len: "relay address length",
    item: "relay address",
};

const PEER_FIELDS: ListFields = ListFields {
    count: "peer count",
    len: "peer address length",
    item: "peer address",
};

impl weft_core::Coded for InviteError {
    fn code(&self) -> weft_core::ErrorCode {
        weft_core::ErrorCode::InvalidInvite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_bit_order() {
        // RFC 4648 test vector "foobar" = MZXW6YTBOI in the RFC alphabet;
        // mapped to Crockford's alphabet value by value.
        let rfc = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let expect: String = "MZXW6YTBOI"
            .bytes()
            .map(|c| {
                let v = rfc.iter().position(|&r| r == c).unwrap();
                char::from(ALPHABET[v])
            })
            .collect();
        let mut out = String::new();
        base32_encode(b"foobar", &mut out);
        assert_eq!(out, expect);
        assert_eq!(base32_decode(&out, 0).unwrap().as_slice(), b"foobar");
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate_utf8("aé", 2), "a");
        assert_eq!(truncate_utf8("aé", 3), "aé");
        assert_eq!(truncate_utf8("", 0), "");
    }
}
