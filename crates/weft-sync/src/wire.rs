//! The wire format: frames and their encoding (docs/protocol.md, "Sync").
//!
//! On a byte stream every frame is `u32 length ‖ body`, big-endian, where
//! the body is `u8 type ‖ payload`. [`FrameReader`] splits a stream into
//! bodies and [`Frame::decode`] parses one. Both treat their input as
//! hostile: every length is checked against what remains and against the
//! limits below before anything is allocated, and nothing panics.

use weft_core::{DeviceId, Seq, VersionVector, WorkspaceId};

/// The protocol version this build speaks (and the newest it accepts).
pub const PROTOCOL_VERSION: u16 = 1;
/// The oldest protocol version this build accepts.
pub const MIN_PROTOCOL_VERSION: u16 = 1;
/// Feature bit: this side reads a `Refuse` frame's typed retry time (a `u32` of
/// seconds after the message). A refusal carries one only to a peer that set it.
pub const FEATURE_REFUSE_RETRY_AFTER: u64 = 1 << 0;
/// Feature bit: this side reads `have-delta` frames, so its peer may
/// acknowledge with only the authors that moved since its previous `have`.
pub const FEATURE_HAVE_DELTA: u64 = 1 << 1;

/// Feature bits this build sets in its hello. Unknown bits from a peer are
/// ignored, so later builds can add optional behaviour without a version bump.
pub const FEATURES: u64 = FEATURE_REFUSE_RETRY_AFTER | FEATURE_HAVE_DELTA;

/// The largest frame body: one maximal sealed change (16 MiB of ciphertext)
/// plus its header, signature and the batch framing, with room to spare.
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024 + 64 * 1024;
/// The most changes one `Changes` frame may carry.
pub const MAX_BATCH_CHANGES: usize = 512;
/// The longest refusal message (bytes of UTF-8).
pub const MAX_REFUSE_MESSAGE: usize = 1024;

/// `"WEFT"`: the first bytes of every hello, so a stream that is not Weft
/// (or is misaligned) is recognised at once.
const HELLO_MAGIC: &[u8; 4] = b"WEFT";

const T_HELLO: u8 = 0x01;
const T_MEMBER_PROOF: u8 = 0x02;
const T_RELAY_PROOF: u8 = 0x03;
const T_REFUSE: u8 = 0x04;
const T_HAVE: u8 = 0x05;
const T_CHANGES: u8 = 0x06;
const T_REJECT: u8 = 0x07;
const T_HAVE_DELTA: u8 = 0x08;

/// Which kind of peer speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A member device: holds the workspace key.
    Device,
    /// A relay: stores and forwards sealed changes, holds no key.
    Relay,
}

impl Role {
    fn code(self) -> u8 {
        match self {
            Role::Device => 1,
            Role::Relay => 2,
        }
    }
    fn from_code(c: u8) -> Result<Self, WireError> {
        match c {
            1 => Ok(Role::Device),
            2 => Ok(Role::Relay),
            other => Err(WireError::UnknownRole { code: other }),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Device => "device",
            Role::Relay => "relay",
        })
    }
}

/// The first frame each side sends. Its layout is frozen across protocol
/// versions, so any two builds can at least tell each other which versions
/// they speak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Oldest protocol version the sender accepts.
    pub min_version: u16,
    /// Newest protocol version the sender speaks.
    pub max_version: u16,
    /// Optional-behaviour bits (none defined in version 1).
    pub features: u64,
    /// Whether the sender is a device or a relay.
    pub role: Role,
    /// The workspace the sender wants to sync.
    pub workspace: WorkspaceId,
    /// A fresh random challenge the other side's proof must cover.
    pub nonce: [u8; 32],
}

/// Why a peer ends a session, sent in a `Refuse` frame before closing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefuseCode {
    /// No protocol version in common.
    Version,
    /// The peer asked for another workspace.
    WrongWorkspace,
    /// The membership proof did not verify.
    NotMember,
    /// A device was expected and a relay answered, or the reverse.
    UnexpectedRole,
    /// The peer broke the protocol (malformed or oversized frame, a frame
    /// out of place).
    Protocol,
    /// The relay does not know the workspace.
    UnknownWorkspace,
    /// The relay's storage quota for the workspace is full: the batch was
    /// not stored (the message says how full).
    QuotaExceeded,
    /// The peer sent faster than the relay's rate limit allows; the message
    /// says when to come back.
    RateLimited,
    /// A code this build does not know (a newer peer).
    Other(u8),
}

impl RefuseCode {
    fn code(self) -> u8 {
        match self {
            RefuseCode::Version => 1,
            RefuseCode::WrongWorkspace => 2,
            RefuseCode::NotMember => 3,
            RefuseCode::UnexpectedRole => 4,
            RefuseCode::Protocol => 5,
            RefuseCode::UnknownWorkspace => 6,
            RefuseCode::QuotaExceeded => 7,
            RefuseCode::RateLimited => 8,
            RefuseCode::Other(c) => c,
        }
    }
    fn from_code(c: u8) -> Self {
        match c {
            1 => RefuseCode::Version,
            2 => RefuseCode::WrongWorkspace,
            3 => RefuseCode::NotMember,
            4 => RefuseCode::UnexpectedRole,
            5 => RefuseCode::Protocol,
            6 => RefuseCode::UnknownWorkspace,
            7 => RefuseCode::QuotaExceeded,
            8 => RefuseCode::RateLimited,
            other => RefuseCode::Other(other),
        }
    }
}

/// Why a receiver refused one change of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectCode {
    /// The bytes do not parse as a sealed change.
    Malformed,
    /// The change belongs to another workspace.
    WrongWorkspace,
    /// The signature does not verify.
    BadSignature,
    /// Decryption failed: the body does not belong under this header.
    BadCiphertext,
    /// The same (author, seq) is already held with different bytes.
    Conflict,
    /// A code this build does not know.
    Other(u8),
}

impl RejectCode {
    fn code(self) -> u8 {
        match self {
            RejectCode::Malformed => 1,
            RejectCode::WrongWorkspace => 2,
            RejectCode::BadSignature => 3,
            RejectCode::BadCiphertext => 4,
            RejectCode::Conflict => 5,
            RejectCode::Other(c) => c,
        }
    }
    fn from_code(c: u8) -> Self {
        match c {
            1 => RejectCode::Malformed,
            2 => RejectCode::WrongWorkspace,
            3 => RejectCode::BadSignature,
            4 => RejectCode::BadCiphertext,
            5 => RejectCode::Conflict,
            other => RejectCode::Other(other),
        }
    }
}

impl std::fmt::Display for RejectCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectCode::Malformed => f.write_str("malformed"),
            RejectCode::WrongWorkspace => f.write_str("belongs to another workspace"),
            RejectCode::BadSignature => f.write_str("signature does not verify"),
            RejectCode::BadCiphertext => f.write_str("does not decrypt under its header"),
            RejectCode::Conflict => f.write_str("conflicts with a stored change"),
            RejectCode::Other(c) => write!(f, "rejected (code {c})"),
        }
    }
}

/// One change a receiver refused, so the sender stops offering that
/// author's later changes in this session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The change's claimed author (as far as it could be read).
    pub author: DeviceId,
    /// Its claimed seq.
    pub seq: Seq,
    /// Why.
    pub code: RejectCode,
}

/// One protocol message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Versions, role, workspace and a fresh nonce.
    Hello(Hello),
    /// HMAC-SHA256 with the peer-auth key over the proof transcript.
    MemberProof([u8; 32]),
    /// Ed25519 signature with the relay-auth key over the relay transcript.
    RelayProof([u8; 64]),
    /// The sender ends the session, and says why.
    Refuse {
        /// Machine-readable reason.
        code: RefuseCode,
        /// For the other side's log and its user.
        message: String,
        /// When to try again, in seconds, if the sender says (only sent to a peer
        /// whose hello set [`FEATURE_REFUSE_RETRY_AFTER`]).
        retry_after_s: Option<u32>,
    },
    /// The sender's version vector: what it holds, durably. Sent after
    /// authentication, as the acknowledgement of every `Changes` frame, and
    /// periodically as a keepalive.
    Have(VersionVector),
    /// The authors of the sender's vector that moved since its previous
    /// `have` or `have-delta` of this session, with their new seqs; the
    /// receiver merges them into what it knows (only sent to a peer whose
    /// hello set [`FEATURE_HAVE_DELTA`], and never as a session's first).
    HaveDelta(VersionVector),
    /// Sealed changes, each as its serialized bytes, parsed one by one by
    /// the receiver so one bad change does not cost the rest of the batch.
    Changes(Vec<Vec<u8>>),
    /// Changes the receiver refused.
    Reject(Vec<Rejection>),
}

/// Why bytes are not a valid frame.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum WireError {
    /// A frame announces more bytes than the protocol allows.
    #[error("frame of {len} bytes is larger than the maximum of {max}")]
    TooLarge {
        /// The announced length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A frame is empty (no type byte).
    #[error("empty frame")]
    Empty,
    /// The payload ends before a field does.
    #[error("{frame} frame is truncated: {field} needs {needed} bytes, {available} remain")]
    Truncated {
        /// Which frame type.
        frame: &'static str,
        /// Which field.
        field: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// Bytes follow the last field.
    #[error("{frame} frame has {extra} unexpected trailing bytes")]
    Trailing {
        /// Which frame type.
        frame: &'static str,
        /// How many.
        extra: usize,
    },
    /// The type byte is not one of this version's frames.
    #[error("unknown frame type 0x{code:02x}")]
    UnknownType {
        /// The type byte.
        code: u8,
    },
    /// A hello without the `WEFT` magic: not a Weft peer.
    #[error("hello does not start with \"WEFT\": the peer does not speak the Weft sync protocol")]
    BadMagic,
    /// A role byte that is neither device nor relay.
    #[error("unknown peer role {code}")]
    UnknownRole {
        /// The role byte.
        code: u8,
    },
    /// A batch with more changes than allowed.
    #[error("batch of {count} changes is more than the maximum of {max}")]
    TooManyChanges {
        /// The announced count.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A version vector whose length is not a multiple of 40 bytes.
    #[error("{frame} frame: version vector is {len} bytes, not a multiple of 40")]
    BadVector {
        /// Which frame type.
        frame: &'static str,
        /// Its length.
        len: usize,
    },
    /// A version vector that lists an author twice or out of order.
    #[error("{frame} frame: version vector authors are not strictly ascending")]
    UnsortedVector {
        /// Which frame type.
        frame: &'static str,
    },
    /// A refusal message that is not UTF-8 or too long.
    #[error("refuse frame: message is not UTF-8 of at most {MAX_REFUSE_MESSAGE} bytes")]
    BadMessage,
    /// A device id that is not 32 bytes (cannot happen with fixed fields;
    /// kept so parsing never panics).
    #[error("{frame} frame: malformed device id")]
    BadDeviceId {
        /// Which frame type.
        frame: &'static str,
    },
}

/// A cursor over a frame's payload that never reads past the end.
struct Reader<'a> {
    frame: &'static str,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < n {
            return Err(WireError::Truncated {
                frame: self.frame,
                field,
                needed: n,
                available: self.bytes.len(),
            });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
    fn finish(self) -> Result<(), WireError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(WireError::Trailing {
                frame: self.frame,
                extra: self.bytes.len(),
            })
        }
    }
}

fn decode_vector(frame: &'static str, bytes: &[u8]) -> Result<VersionVector, WireError> {
    if !bytes.len().is_multiple_of(40) {
        return Err(WireError::BadVector {
            frame,
            len: bytes.len(),
        });
    }
    let mut vv = VersionVector::new();
    let mut last: Option<DeviceId> = None;
    for entry in bytes.chunks_exact(40) {
        let author =
            DeviceId::from_slice(&entry[..32]).map_err(|_| WireError::BadDeviceId { frame })?;
        if last.is_some_and(|l| l >= author) {
            return Err(WireError::UnsortedVector { frame });
        }
        last = Some(author);
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&entry[32..]);
        vv.set(author, u64::from_be_bytes(seq));
    }
    Ok(vv)
}

impl Frame {
    /// A short name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Frame::Hello(_) => "hello",
            Frame::MemberProof(_) => "member-proof",
            Frame::RelayProof(_) => "relay-proof",
            Frame::Refuse { .. } => "refuse",
            Frame::Have(_) => "have",
            Frame::HaveDelta(_) => "have-delta",
            Frame::Changes(_) => "changes",
            Frame::Reject(_) => "reject",
        }
    }

    /// Encodes the frame body (`type ‖ payload`, without the stream length
    /// prefix; see [`Frame::encode_prefixed`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Frame::Hello(h) => {
                out.push(T_HELLO);
                out.extend_from_slice(HELLO_MAGIC);
                out.extend_from_slice(&h.min_version.to_be_bytes());
                out.extend_from_slice(&h.max_version.to_be_bytes());
                out.extend_from_slice(&h.features.to_be_bytes());
                out.push(h.role.code());
                out.extend_from_slice(h.workspace.as_bytes());
                out.extend_from_slice(&h.nonce);
            }
            Frame::MemberProof(tag) => {
                out.push(T_MEMBER_PROOF);
                out.extend_from_slice(tag);
            }
            Frame::RelayProof(sig) => {
                out.push(T_RELAY_PROOF);
                out.extend_from_slice(sig);
            }
            Frame::Refuse {
                code,
                message,
                retry_after_s,
            } => {
                out.push(T_REFUSE);
                out.push(code.code());
                // Truncate on a character boundary rather than fail: a
                // refusal is best effort and must always be sendable.
                let mut end = message.len().min(MAX_REFUSE_MESSAGE);
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                out.extend_from_slice(&(end as u16).to_be_bytes());
                out.extend_from_slice(&message.as_bytes()[..end]);
                if let Some(s) = retry_after_s {
                    out.extend_from_slice(&s.to_be_bytes());
                }
            }
            Frame::Have(vv) => {
                out.push(T_HAVE);
                out.extend_from_slice(&vv.encode());
            }
            Frame::HaveDelta(vv) => {
                out.push(T_HAVE_DELTA);
                out.extend_from_slice(&vv.encode());
            }
            Frame::Changes(changes) => {
                out.push(T_CHANGES);
                out.extend_from_slice(&(changes.len() as u16).to_be_bytes());
                for c in changes {
                    out.extend_from_slice(&(c.len() as u32).to_be_bytes());
                    out.extend_from_slice(c);
                }
            }
            Frame::Reject(items) => {
                out.push(T_REJECT);
                out.extend_from_slice(&(items.len() as u16).to_be_bytes());
                for r in items {
                    out.extend_from_slice(r.author.public_key());
                    out.extend_from_slice(&r.seq.to_be_bytes());
                    out.push(r.code.code());
                }
            }
        }
        out
    }

    /// Encodes the frame with its `u32` length prefix, ready for a stream.
    pub fn encode_prefixed(&self) -> Vec<u8> {
        prefixed(&self.encode())
    }

    /// Parses one frame body. Never panics; every error names what was
    /// wrong.
    pub fn decode(body: &[u8]) -> Result<Frame, WireError> {
        if body.len() > MAX_FRAME_LEN {
            return Err(WireError::TooLarge {
                len: body.len(),
                max: MAX_FRAME_LEN,
            });
        }
        let (&ty, payload) = body.split_first().ok_or(WireError::Empty)?;
        match ty {
            T_HELLO => {
                let mut r = Reader {
                    frame: "hello",
                    bytes: payload,
                };
                if r.take("magic", 4)? != HELLO_MAGIC {
                    return Err(WireError::BadMagic);
                }
                let min_version = r.u16("min version")?;
                let max_version = r.u16("max version")?;
                let features = r.u64("features")?;
                let role = Role::from_code(r.u8("role")?)?;
                let workspace = WorkspaceId::from_bytes(r.array("workspace id")?);
                let nonce = r.array("nonce")?;
                // Later versions may append fields to the hello; version 1
                // ignores them so that the version check can still run.
                let _ = r.rest();
                Ok(Frame::Hello(Hello {
                    min_version,
                    max_version,
                    features,
                    role,
                    workspace,
                    nonce,
                }))
            }
            T_MEMBER_PROOF => {
                let mut r = Reader {
                    frame: "member-proof",
                    bytes: payload,
                };
                let tag = r.array("tag")?;
                r.finish()?;
                Ok(Frame::MemberProof(tag))
            }
            T_RELAY_PROOF => {
                let mut r = Reader {
                    frame: "relay-proof",
                    bytes: payload,
                };
                let sig = r.array("signature")?;
                r.finish()?;
                Ok(Frame::RelayProof(sig))
            }
            T_REFUSE => {
                let mut r = Reader {
                    frame: "refuse",
                    bytes: payload,
                };
                let code = RefuseCode::from_code(r.u8("code")?);
                let len = r.u16("message length")? as usize;
                if len > MAX_REFUSE_MESSAGE {
                    return Err(WireError::BadMessage);
                }
                let message = std::str::from_utf8(r.take("message", len)?)
                    .map_err(|_| WireError::BadMessage)?
                    .to_owned();
                let retry_after_s = if r.bytes.is_empty() {
                    None
                } else {
                    Some(r.u32("retry after")?)
                };
                r.finish()?;
                Ok(Frame::Refuse {
                    code,
                    message,
                    retry_after_s,
                })
            }
            T_HAVE => Ok(Frame::Have(decode_vector("have", payload)?)),
            T_HAVE_DELTA => Ok(Frame::HaveDelta(decode_vector("have-delta", payload)?)),
            T_CHANGES => {
                let mut r = Reader {
                    frame: "changes",
                    bytes: payload,
                };
                let count = r.u16("count")? as usize;
                if count > MAX_BATCH_CHANGES {
                    return Err(WireError::TooManyChanges {
                        count,
                        max: MAX_BATCH_CHANGES,
                    });
                }
                let mut out = Vec::with_capacity(count);
                for _ in 0..count {
                    let len = r.u32("change length")? as usize;
                    out.push(r.take("change", len)?.to_vec());
                }
                r.finish()?;
                Ok(Frame::Changes(out))
            }
            T_REJECT => {
                let mut r = Reader {
                    frame: "reject",
                    bytes: payload,
                };
                let count = r.u16("count")? as usize;
                if count > MAX_BATCH_CHANGES {
                    return Err(WireError::TooManyChanges {
                        count,
                        max: MAX_BATCH_CHANGES,
                    });
                }
                let mut out = Vec::with_capacity(count);
                for _ in 0..count {
                    let author = DeviceId::from_slice(r.take("author", 32)?)
                        .map_err(|_| WireError::BadDeviceId { frame: "reject" })?;
                    let seq = r.u64("seq")?;
                    let code = RejectCode::from_code(r.u8("code")?);
                    out.push(Rejection { author, seq, code });
                }
                r.finish()?;
                Ok(Frame::Reject(out))
            }
            code => Err(WireError::UnknownType { code }),
        }
    }
}

/// A frame body with its `u32` length prefix, as a stream carries it (sync
/// frames and relay control frames alike). Bodies are far below 4 GiB
/// (at most [`MAX_FRAME_LEN`]); a larger one would get a saturated prefix,
/// which any reader refuses.
pub fn prefixed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits a byte stream into frame bodies. Feed it whatever the transport
/// read; it keeps a partial frame until the rest arrives, and refuses an
/// oversized length prefix before buffering the frame.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Where the unread bytes start: frames are consumed by moving this,
    /// and the consumed prefix is dropped only once it is at least half
    /// the buffer, so a burst of small frames costs linear time, not a
    /// move of the rest of the buffer per frame.
    start: usize,
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the stream.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Bytes the reader holds in memory (its buffer's capacity).
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// The most memory [`FrameReader::extend`] with `n` more bytes can hold
    /// at once: the buffer as it is, or while it grows, the old one and the
    /// new one together.
    pub fn allocated_during_extend(&self, n: usize) -> usize {
        let cap = self.buf.capacity();
        let compacts = self.start > 0 && self.start >= self.buf.len() / 2;
        let len = self.buf.len() - if compacts { self.start } else { 0 };
        if len + n <= cap {
            cap
        } else {
            cap + (2 * cap).max(len + n)
        }
    }

    /// The next complete frame body, `Ok(None)` if more bytes are needed,
    /// or an error if the stream announces a frame over [`MAX_FRAME_LEN`]
    /// (the stream is unusable after that: end the session).
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let rest = &self.buf[self.start..];
        let Some(prefix) = rest.first_chunk::<4>() else {
            self.compact_if_empty();
            return Ok(None);
        };
        let len = u32::from_be_bytes(*prefix) as usize;
        if len > MAX_FRAME_LEN {
            return Err(WireError::TooLarge {
                len,
                max: MAX_FRAME_LEN,
            });
        }
        if rest.len() < 4 + len {
            return Ok(None);
        }
        let body = rest[4..4 + len].to_vec();
        self.start += 4 + len;
        self.compact_if_empty();
        Ok(Some(body))
    }

    /// Everything read: start over at the front, and give back a buffer
    /// grown by one large frame.
    fn compact_if_empty(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > 128 * 1024 {
                self.buf.shrink_to(64 * 1024);
            }
        }
    }
}

#[cfg(test)]
mod tests;
