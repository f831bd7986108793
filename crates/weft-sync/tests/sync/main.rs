//! The sync state machine driven over in-memory logs and links: no sockets,
//! no SQLite (the engine's simulation runs the same sessions over real
//! stores). Fast tier.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod fuzz_regressions;
mod session;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use weft_core::{ChangeKind, DeviceId, DocId, DocKind, Seq, VersionVector, WorkspaceId};
use weft_crypto::{ChangeHeader, DerivedKeys, DeviceKey, SealedChange, WorkspaceKey};
use weft_sync::{Event, Limits, Log, LogError, Role, Session, SessionConfig};

/// A change log in memory, keeping the store's invariant (no gaps).
#[derive(Default)]
pub struct MemLog {
    changes: RefCell<BTreeMap<(DeviceId, Seq), SealedChange>>,
}

impl MemLog {
    pub fn append(&self, c: SealedChange) {
        let h = *c.header();
        let mut m = self.changes.borrow_mut();
        let top = m
            .range((h.author, 0)..=(h.author, u64::MAX))
            .next_back()
            .map_or(0, |((_, s), _)| *s);
        if h.seq <= top {
            return;
        }
        assert_eq!(h.seq, top + 1, "the session handed out a gap");
        m.insert((h.author, h.seq), c);
    }
    pub fn len(&self) -> usize {
        self.changes.borrow().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn ids(&self) -> Vec<(DeviceId, Seq)> {
        self.changes.borrow().keys().copied().collect()
    }
}

impl Log for MemLog {
    fn vector(&self) -> Result<VersionVector, LogError> {
        let mut vv = VersionVector::new();
        for (a, s) in self.changes.borrow().keys() {
            vv.set(*a, *s);
        }
        Ok(vv)
    }
    fn changes_after(
        &self,
        author: &DeviceId,
        after: Seq,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<SealedChange>, LogError> {
        let m = self.changes.borrow();
        let mut out = Vec::new();
        let mut bytes = 0;
        for (_, c) in m.range((*author, after + 1)..=(*author, u64::MAX)) {
            if out.len() >= max_count || (!out.is_empty() && bytes >= max_bytes) {
                break;
            }
            bytes += c.to_bytes().len();
            out.push(c.clone());
        }
        Ok(out)
    }
}

/// One workspace's shared secrets, and a device in it.
pub struct Fixture {
    pub workspace: WorkspaceId,
    pub key: WorkspaceKey,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            workspace: WorkspaceId::from_bytes([7; 16]),
            key: WorkspaceKey::from_bytes([42; 32]),
        }
    }
    pub fn keys(&self) -> Arc<DerivedKeys> {
        Arc::new(self.key.derive(&self.workspace))
    }
    pub fn seal(&self, dev: &DeviceKey, doc: DocId, seq: Seq, body: &[u8]) -> SealedChange {
        let header = ChangeHeader {
            workspace: self.workspace,
            doc,
            author: dev.device_id(),
            seq,
            kind: ChangeKind::Update(DocKind::Note),
        };
        SealedChange::seal(header, body, &self.keys().data, dev).unwrap()
    }
}

pub fn config(ws: WorkspaceId, local: DeviceId, remote: DeviceId, expect: Role) -> SessionConfig {
    SessionConfig {
        workspace: ws,
        local,
        remote,
        expect,
        limits: Limits::default(),
    }
}

/// A session and its log, with what its driver saw.
pub struct Peer {
    pub session: Session,
    pub log: MemLog,
    pub events: Vec<String>,
    pub error: Option<weft_sync::SessionError>,
    pub authenticated: bool,
    pub in_sync: bool,
}

impl Peer {
    pub fn new(session: Session, log: MemLog) -> Self {
        Self {
            session,
            log,
            events: Vec::new(),
            error: None,
            authenticated: false,
            in_sync: false,
        }
    }

    /// What a driver does after every input: store, then collect frames.
    pub fn drain(&mut self, now: u64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            while let Some(e) = self.session.poll_event() {
                match e {
                    Event::Store(list) => {
                        for v in list {
                            self.log.append(v.into_parts().0);
                        }
                    }
                    Event::Authenticated { .. } => self.authenticated = true,
                    Event::InSync => self.in_sync = true,
                    Event::Rejected { code, .. } => self.events.push(format!("rejected {code}")),
                    Event::PeerRejected(r) => {
                        self.events.push(format!("peer rejected {}", r.len()))
                    }
                    _ => {}
                }
            }
            match self.session.poll_transmit(now, &self.log) {
                Ok(Some(f)) => out.push(f),
                // Polling can raise an event (in sync): look once more.
                Ok(None) => {
                    while let Some(e) = self.session.poll_event() {
                        if matches!(e, Event::InSync) {
                            self.in_sync = true;
                        }
                    }
                    break;
                }
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        out
    }

    pub fn receive(&mut self, frame: &[u8], now: u64) -> Vec<Vec<u8>> {
        if let Err(e) = self.session.handle_frame(frame, now, &self.log)
            && self.error.is_none()
        {
            self.error = Some(e);
        }
        self.drain(now)
    }
}

/// Delivers frames both ways over a perfect link until both are quiet.
/// Returns every frame each side sent, for assertions on what crossed.
pub fn run_reliable(a: &mut Peer, b: &mut Peer) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut to_b = a.drain(0);
    let mut to_a = b.drain(0);
    let (mut sent_a, mut sent_b) = (to_b.clone(), to_a.clone());
    let mut rounds = 0;
    while !to_a.is_empty() || !to_b.is_empty() {
        rounds += 1;
        assert!(rounds < 100_000, "no quiescence");
        let mut next_b = Vec::new();
        for f in to_b.drain(..) {
            next_b.extend(b.receive(&f, 0));
        }
        let mut next_a = Vec::new();
        for f in to_a.drain(..) {
            next_a.extend(a.receive(&f, 0));
        }
        sent_a.extend(next_a.iter().cloned());
        sent_b.extend(next_b.iter().cloned());
        to_b = next_a;
        to_a = next_b;
    }
    (sent_a, sent_b)
}
