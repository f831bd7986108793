//! One side of one sync connection, as a state machine.
//!
//! Phases: hello and proofs (handshake), then open: each side announces
//! what it holds (`have`), streams what the other lacks in bounded batches
//! within a window of unacknowledged bytes, and stays subscribed, pushing
//! new local changes as the driver reports them. Every `changes` frame is
//! acknowledged with a fresh `have`, which is also what per-document "synced
//! with X" status is computed from.
//!
//! The session tolerates a lossy, duplicating, reordering link (the
//! simulator's), even though a libp2p stream is none of those: duplicates
//! are idempotent, a change that arrives before its predecessor waits in a
//! bounded reorder buffer, and a sender whose window stops moving rewinds
//! to the last acknowledged vector and sends again (go-back-N). On a
//! reliable stream none of that costs anything.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use weft_core::{DeviceId, Seq, VersionVector};
use weft_crypto::RelayVerifier;

use crate::auth::Transcript;
pub use crate::log::Log;
use crate::types::Proof;
pub use crate::types::{
    Credentials, Event, Limits, SessionConfig, SessionError, Stats, VerifiedChange,
};
use crate::verify::verify_all;
use crate::wire::{
    FEATURES, Frame, Hello, MAX_BATCH_CHANGES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, RefuseCode,
    Rejection, Role,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Handshake,
    Open,
    Closed,
}

/// One side of one sync connection. See the module documentation.
pub struct Session {
    cfg: SessionConfig,
    creds: Credentials,
    nonce: [u8; 32],
    phase: Phase,
    started_ms: u64,
    last_hello_ms: u64,
    remote_hello: Option<Hello>,
    control: VecDeque<Frame>,
    events: VecDeque<Event>,
    // Sending.
    remote_known: bool,
    remote_has: VersionVector,
    cursor: VersionVector,
    in_flight: Vec<(DeviceId, Seq, usize)>,
    in_flight_bytes: usize,
    refused_authors: BTreeSet<DeviceId>,
    dirty: bool,
    last_progress_ms: u64,
    last_have_ms: u64,
    /// What our `have`s of this session told the peer (`None` before the
    /// first), and when the last full one went: later ones carry only the
    /// authors that moved, with a full one every few keepalives so a lost
    /// frame on an unreliable link is repaired.
    have_sent: Option<VersionVector>,
    last_full_have_ms: u64,
    in_sync: bool,
    // Receiving.
    accepted: VersionVector,
    reorder: BTreeMap<(DeviceId, Seq), (VerifiedChange, usize)>,
    reorder_bytes: usize,
    ack_due: bool,
    stats: Stats,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("remote", &self.cfg.remote)
            .field("phase", &self.phase)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Starts a session; its hello is the first frame
    /// [`Session::poll_transmit`] returns. `nonce` must be fresh random
    /// bytes (a parameter so the simulator is deterministic).
    pub fn new(cfg: SessionConfig, creds: Credentials, nonce: [u8; 32], now_ms: u64) -> Self {
        let mut s = Self {
            cfg,
            creds,
            nonce,
            phase: Phase::Handshake,
            started_ms: now_ms,
            last_hello_ms: now_ms,
            remote_hello: None,
            control: VecDeque::new(),
            events: VecDeque::new(),
            remote_known: false,
            remote_has: VersionVector::new(),
            cursor: VersionVector::new(),
            in_flight: Vec::new(),
            in_flight_bytes: 0,
            refused_authors: BTreeSet::new(),
            dirty: false,
            last_progress_ms: now_ms,
            last_have_ms: now_ms,
            have_sent: None,
            last_full_have_ms: now_ms,
            in_sync: false,
            accepted: VersionVector::new(),
            reorder: BTreeMap::new(),
            reorder_bytes: 0,
            ack_due: false,
            stats: Stats::default(),
        };
        s.control.push_back(Frame::Hello(s.hello()));
        s
    }

    /// A refusal to send without a session (a relay that does not know the
    /// workspace a hello asks for).
    pub fn refusal(code: RefuseCode, message: &str) -> Vec<u8> {
        Frame::Refuse {
            code,
            message: message.to_owned(),
            retry_after_s: None,
        }
        .encode()
    }

    /// A refusal for this session's peer, with a typed retry time when the peer's
    /// hello said it reads one ([`crate::wire::FEATURE_REFUSE_RETRY_AFTER`]); an older
    /// peer gets the same refusal without it (its decoder would refuse the field).
    pub fn refusal_to_peer(
        &self,
        code: RefuseCode,
        message: &str,
        retry_after_s: Option<u32>,
    ) -> Vec<u8> {
        let reads_retry = self
            .remote_hello
            .as_ref()
            .is_some_and(|h| h.features & crate::wire::FEATURE_REFUSE_RETRY_AFTER != 0);
        Frame::Refuse {
            code,
            message: message.to_owned(),
            retry_after_s: retry_after_s.filter(|_| reads_retry),
        }
        .encode()
    }

    fn role(&self) -> Role {
        match self.creds {
            Credentials::Member(_) => Role::Device,
            Credentials::Relay(_) => Role::Relay,
        }
    }

    fn hello(&self) -> Hello {
        Hello {
            min_version: MIN_PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            features: FEATURES,
            role: self.role(),
            workspace: self.cfg.workspace,
            nonce: self.nonce,
        }
    }

    /// A relay whose workspace id is registered under several verifiers
    /// (one per relay-auth key that registered it): which of `candidates`
    /// the device's relay proof `sig` verifies under, checked against this
    /// session's transcript. The one found becomes the session's
    /// credentials, so the proof frame itself then verifies. `None` before
    /// the device's hello, for a member's session, or if none verifies.
    pub fn choose_relay_verifier(
        &mut self,
        sig: &[u8; 64],
        candidates: &[RelayVerifier],
    ) -> Option<usize> {
        if !matches!(self.creds, Credentials::Relay(_)) {
            return None;
        }
        let h = self.remote_hello.as_ref()?;
        let t = self.their_transcript(h).relay();
        let i = candidates.iter().position(|v| v.verify(&t, sig))?;
        self.creds = Credentials::Relay(candidates[i]);
        Some(i)
    }

    /// Bytes of early changes held in the reorder buffer.
    pub fn buffered_bytes(&self) -> usize {
        self.reorder_bytes
    }

    /// The other side's peer id.
    pub fn remote(&self) -> DeviceId {
        self.cfg.remote
    }

    /// True once both sides are authenticated.
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// True once the session has ended (after an error or a refusal).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// What the other side has acknowledged holding.
    pub fn remote_has(&self) -> &VersionVector {
        &self.remote_has
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The next event for the driver.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Tells the session that the local log grew (a local edit, or changes
    /// stored from another peer): they are offered to this peer next.
    pub fn notify_local_change(&mut self) {
        self.dirty = true;
    }

    /// Ends the session with a refusal frame for the peer, and the error.
    fn fail(&mut self, code: RefuseCode, err: SessionError) -> SessionError {
        self.control.clear();
        self.control.push_back(Frame::Refuse {
            code,
            message: err.to_string(),
            retry_after_s: None,
        });
        self.phase = Phase::Closed;
        err
    }

    fn protocol(&mut self, what: &'static str) -> SessionError {
        let peer = self.cfg.remote;
        self.fail(RefuseCode::Protocol, SessionError::Protocol { peer, what })
    }

    /// Handles one received frame body. On an error the session is closed;
    /// send what [`Session::poll_transmit`] still returns (the refusal),
    /// then close the connection.
    pub fn handle_frame(
        &mut self,
        body: &[u8],
        now_ms: u64,
        log: &dyn Log,
    ) -> Result<(), SessionError> {
        let peer = self.cfg.remote;
        if self.phase == Phase::Closed {
            return Err(SessionError::Closed { peer });
        }
        let frame = match Frame::decode(body) {
            Ok(f) => f,
            Err(source) => {
                return Err(self.fail(RefuseCode::Protocol, SessionError::Wire { peer, source }));
            }
        };
        match frame {
            Frame::Hello(h) => self.on_hello(h, log),
            Frame::MemberProof(tag) => self.on_proof(Proof::Member(&tag), log),
            Frame::RelayProof(sig) => self.on_proof(Proof::Relay(&sig), log),
            Frame::Refuse {
                code,
                message,
                retry_after_s,
            } => {
                self.phase = Phase::Closed;
                self.control.clear();
                Err(SessionError::Refused {
                    peer,
                    code,
                    message,
                    retry_after_s,
                })
            }
            // Data before authentication is dropped, not an error: on a
            // reordering link it can overtake the proof, and the keepalive
            // and the sender's rewind repeat it once the session is open.
            Frame::Have(_) | Frame::HaveDelta(_) | Frame::Changes(_) | Frame::Reject(_)
                if self.phase != Phase::Open =>
            {
                Ok(())
            }
            // A delta merges like a full vector: seqs only grow, so merging
            // by maximum is right in any order.
            Frame::Have(vv) | Frame::HaveDelta(vv) => {
                self.on_have(vv, now_ms);
                Ok(())
            }
            Frame::Changes(list) => self.on_changes(list, now_ms, log),
            Frame::Reject(items) => {
                for r in &items {
                    self.refused_authors.insert(r.author);
                }
                self.events.push_back(Event::PeerRejected(items));
                Ok(())
            }
        }
    }

    fn on_hello(&mut self, h: Hello, log: &dyn Log) -> Result<(), SessionError> {
        let peer = self.cfg.remote;
        if let Some(prev) = &self.remote_hello {
            if *prev == h {
                // A duplicate (lossy link): our proof may have been lost.
                self.queue_proof();
                return Ok(());
            }
            return Err(self.protocol("a second, different hello"));
        }
        if h.max_version < MIN_PROTOCOL_VERSION || h.min_version > PROTOCOL_VERSION {
            let e = SessionError::IncompatibleVersion {
                peer,
                ours_min: MIN_PROTOCOL_VERSION,
                ours_max: PROTOCOL_VERSION,
                theirs_min: h.min_version,
                theirs_max: h.max_version,
            };
            return Err(self.fail(RefuseCode::Version, e));
        }
        if h.workspace != self.cfg.workspace {
            let e = SessionError::WrongWorkspace {
                peer,
                ours: self.cfg.workspace,
                theirs: h.workspace,
            };
            return Err(self.fail(RefuseCode::WrongWorkspace, e));
        }
        // A relay talks only to devices; a device talks to what it expected.
        let expected = match self.role() {
            Role::Relay => Role::Device,
            Role::Device => self.cfg.expect,
        };
        if h.role != expected {
            let e = SessionError::UnexpectedRole {
                peer,
                expected,
                got: h.role,
            };
            return Err(self.fail(RefuseCode::UnexpectedRole, e));
        }
        let relay = h.role == Role::Relay;
        self.remote_hello = Some(h);
        self.queue_proof();
        // A relay proves nothing: the device chose it by its peer id, which
        // the transport authenticated, and it can neither read nor forge
        // what it carries. So a device opens on the relay's hello.
        if relay {
            self.open(log)?;
        }
        Ok(())
    }

    fn queue_proof(&mut self) {
        let Some(h) = &self.remote_hello else { return };
        let t = Transcript {
            workspace: &self.cfg.workspace,
            prover: &self.cfg.local,
            verifier: &self.cfg.remote,
            prover_nonce: &self.nonce,
            verifier_nonce: &h.nonce,
        };
        let frame = match (&self.creds, h.role) {
            (Credentials::Member(k), Role::Device) => {
                Frame::MemberProof(k.peer_auth.mac(&t.member()))
            }
            (Credentials::Member(k), Role::Relay) => {
                Frame::RelayProof(k.relay_auth.sign_proof(&t.relay()))
            }
            (Credentials::Relay(_), _) => return,
        };
        self.control.push_back(frame);
    }

    fn their_transcript<'a>(&'a self, h: &'a Hello) -> Transcript<'a> {
        Transcript {
            workspace: &self.cfg.workspace,
            prover: &self.cfg.remote,
            verifier: &self.cfg.local,
            prover_nonce: &h.nonce,
            verifier_nonce: &self.nonce,
        }
    }

    fn on_proof(&mut self, proof: Proof<'_>, log: &dyn Log) -> Result<(), SessionError> {
        let Some(h) = self.remote_hello.clone() else {
            // Overtook its hello on a reordering link; the prover repeats
            // it when it sees our repeated hello.
            return Ok(());
        };
        let t = self.their_transcript(&h);
        let ok = match (&self.creds, proof) {
            (Credentials::Member(k), Proof::Member(tag)) => {
                k.peer_auth.verify_mac(&t.member(), tag)
            }
            (Credentials::Relay(v), Proof::Relay(sig)) => v.verify(&t.relay(), sig),
            (Credentials::Relay(_), Proof::Member(_)) => {
                return Err(self.protocol("a member proof sent to a relay"));
            }
            (Credentials::Member(_), Proof::Relay(_)) => {
                return Err(self.protocol("a relay proof sent to a device"));
            }
        };
        self.on_proof_checked(ok, log)
    }

    fn on_proof_checked(&mut self, ok: bool, log: &dyn Log) -> Result<(), SessionError> {
        if self.phase == Phase::Open {
            // A duplicate proof on a lossy link.
            return Ok(());
        }
        if !ok {
            let peer = self.cfg.remote;
            return Err(self.fail(RefuseCode::NotMember, SessionError::NotMember { peer }));
        }
        self.open(log)
    }

    fn open(&mut self, log: &dyn Log) -> Result<(), SessionError> {
        self.phase = Phase::Open;
        self.accepted = log.vector()?;
        self.ack_due = true;
        let role = self.remote_hello.as_ref().map_or(Role::Device, |h| h.role);
        self.events.push_back(Event::Authenticated {
            remote: self.cfg.remote,
            role,
        });
        Ok(())
    }

    fn on_have(&mut self, vv: VersionVector, now_ms: u64) {
        // Before the first `have` the cursor only ever grew with what the
        // peer showed it holds (changes it sent), so merging is the same as
        // starting from the peer's vector.
        self.remote_known = true;
        self.remote_holds(&vv, now_ms);
        self.dirty = true;
    }

    /// The peer holds at least `vv`: nothing in it is offered again, what
    /// was in flight of it is retired, and a change is reported.
    fn remote_holds(&mut self, vv: &VersionVector, now_ms: u64) {
        let before = self.remote_has.clone();
        self.remote_has.merge(vv);
        self.cursor.merge(&self.remote_has);
        if self.remote_has == before {
            return;
        }
        let has = &self.remote_has;
        let mut freed = 0;
        self.in_flight.retain(|(a, s, len)| {
            let keep = !has.contains(a, *s);
            if !keep {
                freed += len;
            }
            keep
        });
        self.in_flight_bytes -= freed;
        self.last_progress_ms = now_ms;
        self.events
            .push_back(Event::RemoteHas(self.remote_has.clone()));
    }

    fn on_changes(
        &mut self,
        list: Vec<Vec<u8>>,
        now_ms: u64,
        log: &dyn Log,
    ) -> Result<(), SessionError> {
        self.accepted.merge(&log.vector()?);
        let mut ready = Vec::new();
        let mut rejections = Vec::new();
        let checked = verify_all(&list, &self.cfg.workspace, &self.creds);
        // Per author, the highest seq the peer just showed it holds.
        let mut held = VersionVector::new();
        for (bytes, result) in list.into_iter().zip(checked) {
            match result {
                Ok(v) => {
                    self.stats.bytes_in += bytes.len() as u64;
                    let h = v.change.header();
                    if h.seq > held.get(&h.author) {
                        held.set(h.author, h.seq);
                    }
                    self.admit(v, bytes.len(), &mut ready);
                }
                Err((who, code, detail)) => {
                    self.stats.rejected += 1;
                    if let Some((author, seq, _)) = who {
                        rejections.push(Rejection { author, seq, code });
                    }
                    self.events.push_back(Event::Rejected {
                        change: who.map(|(a, s, _)| (a, s)),
                        doc: who.map(|(_, _, d)| d),
                        code,
                        detail,
                    });
                }
            }
        }
        if !rejections.is_empty() {
            self.control.push_back(Frame::Reject(rejections));
        }
        // A peer that sent a verified change holds it, durably (it came from
        // its log), and, its log being contiguous per author, every earlier
        // change of that author: so it is never offered back (before this,
        // every change was echoed to its sender, doubling traffic and
        // verification), and this side learns "in sync" without waiting for
        // the peer's next `have`.
        self.remote_holds(&held, now_ms);
        if !ready.is_empty() {
            self.stats.changes_in += ready.len() as u64;
            self.events.push_back(Event::Store(ready));
        }
        self.ack_due = true;
        // Re-evaluate "in sync" (and, on a relay or a device with several
        // peers, what to offer) once the driver has stored them.
        self.dirty = true;
        Ok(())
    }

    /// Accepts a verified change if it is the next of its author, buffers
    /// it if it is early, and drops it if it is already held.
    fn admit(&mut self, v: VerifiedChange, len: usize, ready: &mut Vec<VerifiedChange>) {
        let (author, seq) = (v.change.header().author, v.change.header().seq);
        let have = self.accepted.get(&author);
        if seq <= have {
            self.stats.duplicates += 1;
            // The peer sent what we hold: it has not heard of our holding
            // it (a lost acknowledgement, or another peer delivered it
            // first), so the next `have` is full rather than a delta.
            self.have_sent = None;
            return;
        }
        if seq > have + 1 {
            // Early: keep it if there is room; the sender's rewind repeats
            // it otherwise.
            if self.reorder_bytes + len <= self.cfg.limits.reorder_bytes
                && !self.reorder.contains_key(&(author, seq))
            {
                self.reorder_bytes += len;
                self.reorder.insert((author, seq), (v, len));
            }
            return;
        }
        self.accepted.set(author, seq);
        ready.push(v);
        // Anything buffered that now follows on.
        let mut next = seq + 1;
        while let Some((w, wlen)) = self.reorder.remove(&(author, next)) {
            self.reorder_bytes -= wlen;
            self.accepted.set(author, next);
            ready.push(w);
            next += 1;
        }
        // Buffered duplicates of what is now held are useless.
        let accepted = &self.accepted;
        let mut freed = 0;
        self.reorder.retain(|(a, s), (_, wlen)| {
            let keep = *s > accepted.get(a);
            if !keep {
                freed += *wlen;
            }
            keep
        });
        self.reorder_bytes -= freed;
    }

    /// Handles the passing of time: repeats a handshake that got no answer,
    /// rewinds a stalled window, and schedules the keepalive.
    pub fn handle_tick(&mut self, now_ms: u64) -> Result<(), SessionError> {
        let peer = self.cfg.remote;
        let l = &self.cfg.limits;
        match self.phase {
            Phase::Closed => Err(SessionError::Closed { peer }),
            Phase::Handshake => {
                if now_ms.saturating_sub(self.started_ms) >= l.handshake_timeout_ms {
                    let ms = l.handshake_timeout_ms;
                    self.phase = Phase::Closed;
                    return Err(SessionError::HandshakeTimeout { peer, ms });
                }
                if now_ms.saturating_sub(self.last_hello_ms) >= l.retransmit_ms {
                    self.last_hello_ms = now_ms;
                    self.control.push_back(Frame::Hello(self.hello()));
                    self.queue_proof();
                }
                Ok(())
            }
            Phase::Open => {
                if !self.in_flight.is_empty()
                    && now_ms.saturating_sub(self.last_progress_ms) >= l.retransmit_ms
                {
                    // Go-back-N: whatever was not acknowledged is sent again.
                    self.cursor = self.remote_has.clone();
                    self.in_flight.clear();
                    self.in_flight_bytes = 0;
                    self.last_progress_ms = now_ms;
                    self.dirty = true;
                    self.stats.rewinds += 1;
                }
                if now_ms.saturating_sub(self.last_have_ms) >= l.keepalive_ms {
                    self.ack_due = true;
                }
                Ok(())
            }
        }
    }

    /// The next frame body to send, if any. Control frames first, then the
    /// acknowledgement, then changes the other side lacks, within the
    /// window. Call it until it returns `None` after every
    /// [`Session::handle_frame`], [`Session::handle_tick`] and
    /// [`Session::notify_local_change`], after storing the changes of any
    /// [`Event::Store`]. When it returns `None` it may have raised
    /// [`Event::InSync`]: poll events once more.
    pub fn poll_transmit(
        &mut self,
        now_ms: u64,
        log: &dyn Log,
    ) -> Result<Option<Vec<u8>>, SessionError> {
        if let Some(f) = self.control.pop_front() {
            return Ok(Some(f.encode()));
        }
        if self.phase != Phase::Open {
            return Ok(None);
        }
        if self.ack_due {
            self.ack_due = false;
            self.last_have_ms = now_ms;
            return Ok(Some(self.have_frame(log.vector()?, now_ms).encode()));
        }
        if !self.remote_known || !self.dirty {
            return Ok(None);
        }
        let ours = log.vector()?;
        if let Some(batch) = self.next_batch(&ours, now_ms, log)? {
            return Ok(Some(Frame::Changes(batch).encode()));
        }
        self.dirty = false;
        let same = self.remote_has == ours;
        if same && !self.in_sync {
            self.events.push_back(Event::InSync);
        }
        self.in_sync = same;
        Ok(None)
    }

    /// Our acknowledgement of `ours`: a full `have` first and every
    /// [`FULL_HAVE_EVERY`] keepalive periods, a `have-delta` in between to
    /// a peer that reads one. A member's `have` is then the size of what
    /// moved, not of every author the workspace has ever had.
    fn have_frame(&mut self, ours: VersionVector, now_ms: u64) -> Frame {
        let reads_delta = self
            .remote_hello
            .as_ref()
            .is_some_and(|h| h.features & crate::wire::FEATURE_HAVE_DELTA != 0);
        let full_due = now_ms.saturating_sub(self.last_full_have_ms)
            >= self.cfg.limits.keepalive_ms.saturating_mul(FULL_HAVE_EVERY);
        let frame = match &self.have_sent {
            Some(sent) if reads_delta && !full_due => Frame::HaveDelta(ours.moved_since(sent)),
            _ => {
                self.last_full_have_ms = now_ms;
                Frame::Have(ours.clone())
            }
        };
        self.have_sent = Some(ours);
        frame
    }

    fn next_batch(
        &mut self,
        ours: &VersionVector,
        now_ms: u64,
        log: &dyn Log,
    ) -> Result<Option<Vec<Vec<u8>>>, SessionError> {
        let l = &self.cfg.limits;
        let max_count = l.batch_changes.clamp(1, MAX_BATCH_CHANGES);
        let window_left = l.window_bytes.saturating_sub(self.in_flight_bytes);
        if self.in_flight.len() >= l.window_changes || window_left == 0 {
            // Blocked until an acknowledgement frees room; `dirty` stays
            // set so the next `have` resumes sending.
            return Ok(None);
        }
        let mut budget = l.batch_bytes.min(window_left);
        let mut count_left = max_count.min(l.window_changes - self.in_flight.len());
        let mut out: Vec<Vec<u8>> = Vec::new();
        for (author, top) in ours.iter() {
            if count_left == 0 || budget == 0 {
                break;
            }
            let from = self.cursor.get(author);
            if *top <= from || self.refused_authors.contains(author) {
                continue;
            }
            let changes = log.changes_after(author, from, count_left, budget)?;
            for c in changes {
                let bytes = c.to_bytes();
                let h = c.header();
                // The log promised seq order from `from`; trust but check,
                // so a store bug cannot make us skip changes silently.
                if h.author != *author || h.seq != self.cursor.get(author) + 1 {
                    break;
                }
                if !out.is_empty() && bytes.len() > budget {
                    break;
                }
                budget = budget.saturating_sub(bytes.len());
                count_left -= 1;
                if self.in_flight.is_empty() {
                    self.last_progress_ms = now_ms;
                }
                self.cursor.set(*author, h.seq);
                self.in_flight.push((*author, h.seq, bytes.len()));
                self.in_flight_bytes += bytes.len();
                self.stats.changes_out += 1;
                self.stats.bytes_out += bytes.len() as u64;
                out.push(bytes);
                if count_left == 0 || budget == 0 {
                    break;
                }
            }
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }
}

/// A full `have` goes at least once per this many keepalive periods; the
/// ones between are deltas.
const FULL_HAVE_EVERY: u64 = 4;
