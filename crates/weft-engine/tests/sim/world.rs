//! The simulated world: devices (real workspaces on real SQLite files), one
//! blind relay (a real store, no keys), and links between them that lose,
//! duplicate, delay, reorder and partition frames. Everything random comes
//! from one seeded generator, so a seed replays the same schedule.

use std::collections::BTreeMap;
use std::path::PathBuf;

use weft_core::{DeviceId, WorkspaceId};
use weft_crypto::{
    DeviceKey, MemoryStore, RelayVerifier, SealedChange, WorkspaceKey, WorkspaceSecrets,
};
use weft_engine::{StoreLog, Workspace};
use weft_store::{Store, StoreError};
use weft_sync::{
    Credentials, Event, Frame, Limits, Log, Role, Session, SessionConfig, SessionError,
    VerifiedChange,
};

/// SplitMix64: small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5eed_5eed_5eed_5eed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    pub fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        out
    }
}

/// How a link misbehaves (percentages, and a delay range in ms).
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    pub drop: u64,
    pub dup: u64,
    pub max_delay: u64,
}

impl Faults {
    pub const NONE: Faults = Faults {
        drop: 0,
        dup: 0,
        max_delay: 1,
    };
}

/// What a tampering relay does to the changes it forwards to devices.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tamper {
    pub enabled: bool,
    /// Never forward this device's changes.
    pub withhold: Option<usize>,
}

pub struct Device {
    pub home: PathBuf,
    pub secrets: MemoryStore,
    pub ws: Option<Workspace>,
    pub id: DeviceId,
}

pub struct Relay {
    pub store: Store,
    pub id: DeviceId,
    pub verifier: RelayVerifier,
}

pub enum Node {
    Device(Box<Device>),
    Relay(Box<Relay>),
}

impl Node {
    pub fn id(&self) -> DeviceId {
        match self {
            Node::Device(d) => d.id,
            Node::Relay(r) => r.id,
        }
    }
    pub fn is_up(&self) -> bool {
        match self {
            Node::Device(d) => d.ws.is_some(),
            Node::Relay(_) => true,
        }
    }
    fn log(&self) -> StoreLog<'_> {
        match self {
            Node::Device(d) => d.ws.as_ref().map(Workspace::sync_log).expect("up"),
            Node::Relay(r) => StoreLog(&r.store),
        }
    }
    fn ingest(&mut self, changes: Vec<VerifiedChange>) {
        match self {
            Node::Device(d) => {
                let ws = d.ws.as_mut().expect("up");
                let r = ws.ingest(changes).expect("ingest");
                assert!(r.refused.is_empty(), "store refused {:?}", r.refused);
            }
            Node::Relay(r) => {
                r.store
                    .write(|tx| -> Result<(), StoreError> {
                        for v in &changes {
                            tx.append(v.sealed(), 0)?;
                        }
                        Ok(())
                    })
                    .expect("relay ingest");
            }
        }
    }
}

struct Queued {
    at: u64,
    order: u64,
    frame: Vec<u8>,
}

/// One connection: a session at each end and a queue each way.
pub struct Conn {
    pub a: usize,
    pub b: usize,
    sa: Session,
    sb: Session,
    to_a: Vec<Queued>,
    to_b: Vec<Queued>,
}

/// Counters a test asserts on.
#[derive(Default, Debug)]
pub struct Tally {
    pub tampered: u64,
    pub rejected: u64,
    pub session_errors: Vec<String>,
    pub frames: u64,
}

pub struct World {
    pub rng: Rng,
    pub now: u64,
    pub nodes: Vec<Node>,
    pub relay: usize,
    pub workspace: WorkspaceId,
    pub conns: Vec<Conn>,
    /// Device pairs that cannot currently reach each other directly.
    pub partitioned: BTreeMap<(usize, usize), bool>,
    pub faults: Faults,
    pub tamper: Tamper,
    pub tally: Tally,
    order: u64,
    _dir: tempfile::TempDir,
    limits: Limits,
}

fn secrets_of(key: &[u8; 32], device: [u8; 32]) -> WorkspaceSecrets {
    WorkspaceSecrets {
        workspace_key: WorkspaceKey::from_bytes(*key),
        device_key: DeviceKey::from_seed(device),
    }
}

impl World {
    pub fn new(seed: u64, devices: usize) -> Self {
        let mut rng = Rng::new(seed);
        let dir = tempfile::tempdir().expect("tempdir");
        let workspace = WorkspaceId::from_bytes(rng.bytes32()[..16].try_into().expect("16"));
        let key = rng.bytes32();
        let mut nodes = Vec::new();
        for i in 0..devices {
            let home = dir.path().join(format!("device{i}"));
            let secrets = MemoryStore::new();
            let ws = Workspace::create_in(
                &home,
                &format!("device {i}"),
                workspace,
                secrets_of(&key, rng.bytes32()),
                &secrets,
            )
            .expect("create device");
            let id = ws.device_id();
            nodes.push(Node::Device(Box::new(Device {
                home,
                secrets,
                ws: Some(ws),
                id,
            })));
        }
        let relay_store =
            Store::create(&dir.path().join("relay.sqlite"), workspace).expect("relay store");
        let verifier = WorkspaceKey::from_bytes(key)
            .derive(&workspace)
            .relay_auth
            .verifier();
        nodes.push(Node::Relay(Box::new(Relay {
            store: relay_store,
            id: DeviceKey::from_seed(rng.bytes32()).device_id(),
            verifier,
        })));
        let limits = Limits {
            batch_changes: 8,
            batch_bytes: 16 * 1024,
            window_changes: 32,
            retransmit_ms: 400,
            keepalive_ms: 600,
            handshake_timeout_ms: 60_000,
            ..Limits::default()
        };
        Self {
            rng,
            now: 0,
            relay: devices,
            nodes,
            workspace,
            conns: Vec::new(),
            partitioned: BTreeMap::new(),
            faults: Faults::NONE,
            tamper: Tamper::default(),
            tally: Tally::default(),
            order: 0,
            _dir: dir,
            limits,
        }
    }

    pub fn devices(&self) -> usize {
        self.relay
    }

    pub fn device(&mut self, i: usize) -> Option<&mut Workspace> {
        match &mut self.nodes[i] {
            Node::Device(d) => d.ws.as_mut(),
            Node::Relay(_) => None,
        }
    }

    fn session_for(&mut self, me: usize, peer: usize) -> Session {
        let remote = self.nodes[peer].id();
        let nonce = self.rng.bytes32();
        let now = self.now;
        let limits = self.limits.clone();
        match &self.nodes[me] {
            Node::Device(d) => {
                let expect = if peer == self.relay {
                    Role::Relay
                } else {
                    Role::Device
                };
                d.ws.as_ref()
                    .expect("up")
                    .sync_session(remote, expect, limits, nonce, now)
            }
            Node::Relay(r) => Session::new(
                SessionConfig {
                    workspace: self.workspace,
                    local: r.id,
                    remote,
                    expect: Role::Device,
                    limits,
                },
                Credentials::Relay(r.verifier),
                nonce,
                now,
            ),
        }
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        self.conns
            .iter()
            .any(|c| (c.a, c.b) == (a, b) || (c.a, c.b) == (b, a))
    }

    /// Opens every connection that can exist now: each device to the
    /// relay, and device pairs that are not partitioned (the LAN).
    pub fn connect_all(&mut self) {
        let n = self.devices();
        for a in 0..n {
            for b in (a + 1)..=n {
                if !self.nodes[a].is_up() || !self.nodes[b].is_up() || self.connected(a, b) {
                    continue;
                }
                if b < n && self.partitioned.get(&(a, b)).copied().unwrap_or(false) {
                    continue;
                }
                if b == n && self.partitioned.get(&(a, n)).copied().unwrap_or(false) {
                    continue;
                }
                let sa = self.session_for(a, b);
                let sb = self.session_for(b, a);
                self.conns.push(Conn {
                    a,
                    b,
                    sa,
                    sb,
                    to_a: Vec::new(),
                    to_b: Vec::new(),
                });
            }
        }
    }

    /// Drops every connection of `node` (it crashed, or a link went down).
    pub fn disconnect(&mut self, pred: impl Fn(&Conn) -> bool) {
        self.conns.retain(|c| !pred(c));
    }

    pub fn crash(&mut self, i: usize) {
        if let Node::Device(d) = &mut self.nodes[i] {
            // Dropping the workspace is the process dying after its last
            // commit: every acknowledged change is already in SQLite.
            d.ws = None;
        }
        self.disconnect(|c| c.a == i || c.b == i);
    }

    pub fn restart(&mut self, i: usize) {
        if let Node::Device(d) = &mut self.nodes[i]
            && d.ws.is_none()
        {
            d.ws = Some(Workspace::open_in(&d.home, &d.secrets).expect("reopen after crash"));
        }
    }

    /// Tells every session of `node` that its log grew.
    pub fn notify(&mut self, node: usize) {
        for c in &mut self.conns {
            if c.a == node {
                c.sa.notify_local_change();
            }
            if c.b == node {
                c.sb.notify_local_change();
            }
        }
    }

    fn enqueue(&mut self, conn: usize, to_b: bool, frames: Vec<Vec<u8>>) {
        let relay = self.relay;
        let from_relay = if to_b {
            self.conns[conn].a == relay
        } else {
            self.conns[conn].b == relay
        };
        for mut frame in frames {
            if from_relay && (self.tamper.enabled || self.tamper.withhold.is_some()) {
                frame = self.tamper_frame(frame);
            }
            let f = self.faults;
            if self.rng.pct(f.drop) {
                continue;
            }
            let copies = if self.rng.pct(f.dup) { 2 } else { 1 };
            for _ in 0..copies {
                let at = self.now + 1 + self.rng.below(f.max_delay);
                self.order += 1;
                let q = Queued {
                    at,
                    order: self.order,
                    frame: frame.clone(),
                };
                let c = &mut self.conns[conn];
                if to_b { c.to_b.push(q) } else { c.to_a.push(q) }
            }
        }
    }

    /// A relay that lies: moves a body under another document, replays an
    /// old change under a new seq, flips a byte, withholds an author.
    fn tamper_frame(&mut self, frame: Vec<u8>) -> Vec<u8> {
        let Ok(Frame::Changes(list)) = Frame::decode(&frame) else {
            return frame;
        };
        let withheld = self.tamper.withhold.map(|i| self.nodes[i].id());
        let mut out = Vec::new();
        for bytes in list {
            let Ok(c) = SealedChange::from_bytes(&bytes) else {
                out.push(bytes);
                continue;
            };
            if Some(c.header().author) == withheld {
                continue;
            }
            if !self.tamper.enabled || !self.rng.pct(30) {
                out.push(bytes);
                continue;
            }
            self.tally.tampered += 1;
            let (mut h, nonce, mut ct, sig) = c.clone().into_parts();
            match self.rng.below(3) {
                0 => {
                    let mut d = *h.doc.as_bytes();
                    d[0] ^= 0x80;
                    h.doc = weft_core::DocId::from_bytes(d);
                }
                1 => h.seq += 1 + self.rng.below(3),
                _ => {
                    let at = self.rng.below(ct.len() as u64) as usize;
                    ct[at] ^= 1 << self.rng.below(8);
                }
            }
            out.push(SealedChange::from_parts(h, nonce, ct, sig).to_bytes());
            // The honest copy still follows half the time, so devices can
            // make progress through a relay that lies only sometimes.
            if self.rng.pct(50) {
                out.push(bytes);
            }
        }
        out.truncate(weft_sync::MAX_BATCH_CHANGES);
        Frame::Changes(out).encode()
    }

    /// Runs a session's events and output after an input.
    fn pump(&mut self, conn: usize, side_a: bool) {
        let (me, _) = {
            let c = &self.conns[conn];
            if side_a { (c.a, c.b) } else { (c.b, c.a) }
        };
        loop {
            let mut stored = false;
            loop {
                let c = &mut self.conns[conn];
                let s = if side_a { &mut c.sa } else { &mut c.sb };
                let Some(e) = s.poll_event() else { break };
                match e {
                    Event::Store(list) => {
                        self.nodes[me].ingest(list);
                        stored = true;
                    }
                    Event::Rejected { .. } => self.tally.rejected += 1,
                    _ => {}
                }
            }
            if stored {
                // Other sessions of this node can forward what arrived.
                for (i, c) in self.conns.iter_mut().enumerate() {
                    if i == conn {
                        continue;
                    }
                    if c.a == me {
                        c.sa.notify_local_change();
                    }
                    if c.b == me {
                        c.sb.notify_local_change();
                    }
                }
            }
            let now = self.now;
            let c = &mut self.conns[conn];
            let s = if side_a { &mut c.sa } else { &mut c.sb };
            let log = self.nodes[me].log();
            match s.poll_transmit(now, &log) {
                Ok(Some(f)) => self.enqueue(conn, side_a, vec![f]),
                Ok(None) => {
                    let c = &mut self.conns[conn];
                    let s = if side_a { &mut c.sa } else { &mut c.sb };
                    // Polling may raise "in sync"; nothing else to do.
                    while s.poll_event().is_some() {}
                    break;
                }
                Err(e) => {
                    self.tally.session_errors.push(e.to_string());
                    break;
                }
            }
        }
    }

    fn fail_conn(&mut self, conn: usize, e: SessionError) {
        self.tally.session_errors.push(e.to_string());
        self.conns.remove(conn);
    }

    /// Advances time by `dt` ms: delivers what is due, ticks sessions,
    /// flushes every session's output.
    pub fn step(&mut self, dt: u64) {
        self.now += dt;
        let now = self.now;
        let mut i = 0;
        while i < self.conns.len() {
            // Deliver due frames, oldest first, alternating directions.
            let mut failed = None;
            for to_a in [true, false] {
                loop {
                    let c = &mut self.conns[i];
                    let q = if to_a { &mut c.to_a } else { &mut c.to_b };
                    let Some(pos) = q
                        .iter()
                        .enumerate()
                        .filter(|(_, m)| m.at <= now)
                        .min_by_key(|(_, m)| (m.at, m.order))
                        .map(|(p, _)| p)
                    else {
                        break;
                    };
                    let m = q.swap_remove(pos);
                    self.tally.frames += 1;
                    let me = if to_a { c.a } else { c.b };
                    let s = if to_a { &mut c.sa } else { &mut c.sb };
                    let log = self.nodes[me].log();
                    if let Err(e) = s.handle_frame(&m.frame, now, &log) {
                        failed = Some(e);
                        break;
                    }
                    self.pump(i, to_a);
                }
                if failed.is_some() {
                    break;
                }
            }
            if let Some(e) = failed {
                self.fail_conn(i, e);
                continue;
            }
            let c = &mut self.conns[i];
            let ticked = c.sa.handle_tick(now).and_then(|_| c.sb.handle_tick(now));
            if let Err(e) = ticked {
                self.fail_conn(i, e);
                continue;
            }
            self.pump(i, true);
            self.pump(i, false);
            i += 1;
        }
    }

    /// True when nothing is in flight on any link.
    pub fn quiet(&self) -> bool {
        self.conns
            .iter()
            .all(|c| c.to_a.is_empty() && c.to_b.is_empty())
    }

    /// The vector of every node's log.
    pub fn vectors(&self) -> Vec<weft_core::VersionVector> {
        self.nodes
            .iter()
            .map(|n| n.log().vector().expect("vector"))
            .collect()
    }
}
