//! A shard: one thread with its own store connection and every session of
//! the workspaces hashed to it. Sessions of one workspace always share a
//! shard, so a change stored from one device is offered to the others
//! without crossing threads; other relay nodes' commits arrive as `Wake`.
//! Like the device's core (weft-engine `node/core.rs`) it never awaits:
//! it produces a peer's next frame only when that peer's queue has room.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use weft_core::{DeviceId, VersionVector, WorkspaceId};
use weft_crypto::RelayVerifier;
use weft_net::host::{Link, Transmit};
use weft_sync::relay::{ControlError, Request, RequestKind, Response, Usage as WireUsage};
use weft_sync::{
    Credentials, Event, Limits, RefuseCode, Role, Session, SessionConfig, SessionError,
};

use crate::budget::{Budget, Permit};
use crate::guard::Guard;
use crate::metrics::{Metrics, Rejection};
use crate::store::{Reg, Registration, RelayStore, StoreError, WorkspaceLog};

/// A new sync stream, routed here by its hello.
pub(crate) struct Attach {
    pub(crate) key: u64,
    pub(crate) peer: DeviceId,
    pub(crate) workspace: WorkspaceId,
    /// The first frame, already read.
    pub(crate) hello: Vec<u8>,
    /// The hello's share of the memory budget.
    pub(crate) mem: Permit,
    /// The shard's end of the stream (its writer reports `Writable`).
    pub(crate) link: Link,
}

pub(crate) enum ShardMsg {
    Attach(Attach),
    Frame {
        key: u64,
        body: Vec<u8>,
        /// Its share of the memory budget.
        mem: Permit,
    },
    /// The reader refuses the peer (rate limit) and closes.
    Refuse {
        key: u64,
        code: RefuseCode,
        message: String,
        /// When the peer may try again, sent as the frame's typed retry time.
        retry_after_s: Option<u32>,
    },
    Detach {
        key: u64,
    },
    Writable {
        key: u64,
    },
    Tick,
    /// Other nodes stored changes of these workspaces.
    Wake(Vec<WorkspaceId>),
    Control {
        peer: DeviceId,
        source: IpAddr,
        request: Request,
        reply: oneshot::Sender<Response>,
    },
    /// Send what is owed, close every session, and stop.
    Drain(oneshot::Sender<()>),
}

/// Limits a shard enforces.
#[derive(Debug, Clone)]
pub(crate) struct ShardConfig {
    pub(crate) local: DeviceId,
    pub(crate) quota_bytes: u64,
    pub(crate) max_workspaces: u64,
    /// The relay's clock for the shared limits.
    pub(crate) epoch: Instant,
}

struct Conn {
    peer: DeviceId,
    workspace: WorkspaceId,
    /// The registration the device's proof named (`None` until it did).
    reg: Option<Reg>,
    session: Session,
    /// The stream; dropping it stops the reader and, once the queue is written,
    /// the writer.
    link: Link,
    reported_out: (u64, u64),
    /// Its reorder buffer and queued writes, within the memory budget.
    mem: Permit,
}

pub(crate) struct Shard {
    store: Box<dyn RelayStore>,
    cfg: ShardConfig,
    metrics: Arc<Metrics>,
    conns: HashMap<u64, Conn>,
    by_ws: HashMap<WorkspaceId, HashSet<u64>>,
    /// Each workspace id's registrations, read on first use.
    regs: HashMap<WorkspaceId, Vec<(Reg, RelayVerifier)>>,
    /// Each registration's version vector, so a flood of `have`s reads no
    /// table (dropped when the registration stores, is woken or forgotten).
    vectors: RefCell<HashMap<i64, VersionVector>>,
    budget: Arc<Budget>,
    guard: Arc<Mutex<Guard>>,
    started: Instant,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Shard {
    pub(crate) fn new(
        store: Box<dyn RelayStore>,
        cfg: ShardConfig,
        metrics: Arc<Metrics>,
        budget: Arc<Budget>,
        guard: Arc<Mutex<Guard>>,
    ) -> Self {
        Self {
            vectors: RefCell::new(HashMap::new()),
            budget,
            guard,
            store,
            cfg,
            metrics,
            conns: HashMap::new(),
            by_ws: HashMap::new(),
            regs: HashMap::new(),
            started: Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn run(mut self, mut rx: mpsc::Receiver<ShardMsg>) {
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                ShardMsg::Drain(done) => {
                    self.drain();
                    let _ = done.send(());
                    return;
                }
                msg => self.handle(msg),
            }
        }
        self.drain();
    }

    fn handle(&mut self, msg: ShardMsg) {
        match msg {
            ShardMsg::Attach(a) => self.attach(a),
            ShardMsg::Frame { key, body, mem } => {
                self.frame(key, &body);
                self.absorb(key, mem);
            }
            ShardMsg::Refuse {
                key,
                code,
                message,
                retry_after_s,
            } => self.refuse(key, code, &message, retry_after_s),
            ShardMsg::Detach { key } => {
                self.remove(key);
            }
            ShardMsg::Writable { key } => self.pump(key),
            ShardMsg::Tick => self.tick(),
            ShardMsg::Wake(list) => {
                for ws in list {
                    self.forget_vectors(&ws);
                    self.offer(&ws, None, None);
                }
            }
            ShardMsg::Control {
                peer,
                source,
                request,
                reply,
            } => {
                let r = self.control(peer, source, &request);
                let _ = reply.send(r);
            }
            ShardMsg::Drain(_) => {}
        }
    }

    /// The registrations of a workspace id (cached: a registration on
    /// this shard or a miss refreshes it, a forget drops it).
    fn registrations(&mut self, ws: &WorkspaceId) -> Result<&[(Reg, RelayVerifier)], StoreError> {
        if !self.regs.contains_key(ws) {
            let list = self.store.registrations(ws)?;
            self.regs.insert(*ws, list);
        }
        Ok(self.regs.get(ws).map(Vec::as_slice).unwrap_or_default())
    }

    /// Which registration of `ws` verifies `check` (a request's or a proof's
    /// signature), reading the store again once if none of the cached ones
    /// does (another relay node may have registered it since).
    fn find_reg(
        &mut self,
        ws: &WorkspaceId,
        check: impl Fn(&RelayVerifier) -> bool,
    ) -> Result<Option<Reg>, StoreError> {
        for fresh in [false, true] {
            if fresh {
                self.regs.remove(ws);
            }
            if let Some((r, _)) = self.registrations(ws)?.iter().find(|(_, v)| check(v)) {
                return Ok(Some(*r));
            }
        }
        Ok(None)
    }

    /// Drops the cached vectors of every registration of `ws`.
    fn forget_vectors(&mut self, ws: &WorkspaceId) {
        if let Some(list) = self.regs.get(ws) {
            let mut v = self.vectors.borrow_mut();
            for (r, _) in list {
                v.remove(&r.row);
            }
        }
    }

    /// Takes a handled frame's share of the budget into its session's, then
    /// keeps what the session still holds (its reorder buffer, its queue).
    fn absorb(&mut self, key: u64, mem: Permit) {
        if let Some(c) = self.conns.get_mut(&key) {
            c.mem.absorb(mem);
            let held = c.session.buffered_bytes() + c.link.queued_bytes();
            let _ = c.mem.resize(held.min(c.mem.held()));
        }
    }

    fn attach(&mut self, a: Attach) {
        let Attach {
            key,
            peer,
            workspace,
            hello,
            mem,
            link,
        } = a;
        let verifier = match self.registrations(&workspace) {
            Ok([(_, v), ..]) => *v,
            Ok([]) => {
                self.metrics.reject(Rejection::UnknownWorkspace);
                let msg = format!(
                    "this relay does not know workspace {workspace}: a member device registers it first (weft relay add)"
                );
                link.try_send(&Session::refusal(RefuseCode::UnknownWorkspace, &msg));
                return;
            }
            Err(e) => {
                tracing::error!("reading the workspace table: {e}");
                return;
            }
        };
        let mut nonce = [0u8; 32];
        if getrandom::fill(&mut nonce).is_err() {
            tracing::error!("no randomness for a session nonce");
            return;
        }
        let now = self.now();
        let session = Session::new(
            SessionConfig {
                workspace,
                local: self.cfg.local,
                remote: peer,
                expect: Role::Device,
                limits: Limits::default(),
            },
            Credentials::Relay(verifier),
            nonce,
            now,
        );
        self.metrics.sessions.fetch_add(1, Ordering::Relaxed);
        self.conns.insert(
            key,
            Conn {
                peer,
                workspace,
                reg: None,
                session,
                link,
                reported_out: (0, 0),
                mem: self.budget.permit(),
            },
        );
        self.by_ws.entry(workspace).or_default().insert(key);
        self.frame(key, &hello);
        self.absorb(key, mem);
    }

    fn frame(&mut self, key: u64, body: &[u8]) {
        self.bind_proof(key, body);
        let now = self.now();
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        let log = WorkspaceLog {
            store: self.store.as_ref(),
            reg: c.reg,
            vectors: Some(&self.vectors),
        };
        let r = c.session.handle_frame(body, now, &log);
        if c.session.is_open() {
            c.link.set_authenticated();
        }
        match r {
            Ok(()) => self.pump(key),
            Err(e) => self.fail(key, e),
        }
    }

    /// A device's relay proof names the registration its session is with:
    /// the one whose verifier it verifies under. A proof that verifies under
    /// none is left to the session, which refuses it.
    fn bind_proof(&mut self, key: u64, body: &[u8]) {
        let Some(c) = self.conns.get(&key) else {
            return;
        };
        if c.reg.is_some() || c.session.is_open() {
            return;
        }
        let Ok(weft_sync::Frame::RelayProof(sig)) = weft_sync::Frame::decode(body) else {
            return;
        };
        let ws = c.workspace;
        for fresh in [false, true] {
            if fresh {
                self.regs.remove(&ws);
            }
            let list: Vec<(Reg, RelayVerifier)> = match self.registrations(&ws) {
                Ok(l) => l.to_vec(),
                Err(e) => {
                    tracing::error!("reading the workspace table: {e}");
                    return;
                }
            };
            let vs: Vec<RelayVerifier> = list.iter().map(|(_, v)| *v).collect();
            let Some(c) = self.conns.get_mut(&key) else {
                return;
            };
            if let Some(i) = c.session.choose_relay_verifier(&sig, &vs) {
                c.reg = Some(list[i].0);
                return;
            }
        }
    }

    fn remove(&mut self, key: u64) -> Option<Conn> {
        let c = self.conns.remove(&key)?;
        if let Some(set) = self.by_ws.get_mut(&c.workspace) {
            set.remove(&key);
            if set.is_empty() {
                self.by_ws.remove(&c.workspace);
            }
        }
        // Every session leaves through here, once.
        self.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
        Some(c)
    }

    /// Queues a refusal for the peer and ends its session; the writer
    /// sends what is queued, then closes the stream.
    fn refuse(&mut self, key: u64, code: RefuseCode, message: &str, retry_after_s: Option<u32>) {
        if let Some(c) = self.remove(key) {
            c.link
                .try_send(&c.session.refusal_to_peer(code, message, retry_after_s));
        }
    }

    fn fail(&mut self, key: u64, e: SessionError) {
        let now = self.now();
        if let Some(c) = self.conns.get_mut(&key) {
            let log = WorkspaceLog {
                store: self.store.as_ref(),
                reg: c.reg,
                vectors: Some(&self.vectors),
            };
            // The refusal the session queued, if any.
            c.link.flush(&mut c.session, now, &log);
        }
        match &e {
            SessionError::NotMember { .. } => self.metrics.reject(Rejection::Proof),
            SessionError::Wire { .. } | SessionError::Protocol { .. } => {
                self.metrics.reject(Rejection::Malformed)
            }
            _ => {}
        }
        if let Some(c) = self.remove(key) {
            tracing::debug!(peer = %c.peer, workspace = %c.workspace, "session ended: {e}");
        }
    }

    fn pump(&mut self, key: u64) {
        self.drain_events(key);
        // Room for what this pump may queue, taken before it is produced;
        // without it the session waits (for its writer, or the next tick).
        {
            let Some(c) = self.conns.get_mut(&key) else {
                return;
            };
            let want = c.session.buffered_bytes() + crate::PUMP_HEADROOM;
            if c.mem.held() < want && !c.mem.resize(want) {
                self.metrics.memory_waits.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        loop {
            let now = self.now();
            let Some(c) = self.conns.get_mut(&key) else {
                return;
            };
            let log = WorkspaceLog {
                store: self.store.as_ref(),
                reg: c.reg,
                vectors: Some(&self.vectors),
            };
            match c
                .link
                .transmit_until(&mut c.session, now, &log, crate::QUEUE_BYTES)
            {
                Transmit::Idle => {
                    if !self.drain_events(key) {
                        break;
                    }
                }
                Transmit::Full => break,
                Transmit::Closed => return,
                Transmit::Failed(e) => {
                    self.fail(key, e);
                    return;
                }
            }
        }
        self.drain_events(key);
        if let Some(c) = self.conns.get_mut(&key) {
            let s = c.session.stats();
            let (co, bo) = c.reported_out;
            self.metrics
                .changes_out
                .fetch_add(s.changes_out.saturating_sub(co), Ordering::Relaxed);
            self.metrics
                .bytes_out
                .fetch_add(s.bytes_out.saturating_sub(bo), Ordering::Relaxed);
            c.reported_out = (s.changes_out, s.bytes_out);
            let held = c.session.buffered_bytes() + c.link.queued_bytes();
            let _ = c.mem.resize(held.min(c.mem.held()));
        }
    }

    /// Offers what the store now holds to every session of `ws` (of one
    /// registration, if given; but `except`, which is pumped by its caller).
    fn offer(&mut self, ws: &WorkspaceId, only: Option<Reg>, except: Option<u64>) {
        let keys: Vec<u64> = self
            .by_ws
            .get(ws)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        for k in keys {
            if let Some(c) = self.conns.get_mut(&k) {
                if only.is_some() && c.reg != only {
                    continue;
                }
                c.session.notify_local_change();
            }
            if Some(k) != except {
                self.pump(k);
            }
        }
    }

    fn drain_events(&mut self, key: u64) -> bool {
        let mut more = false;
        loop {
            let Some(c) = self.conns.get_mut(&key) else {
                return false;
            };
            let Some(ev) = c.session.poll_event() else {
                return more;
            };
            let (peer, ws, reg) = (c.peer, c.workspace, c.reg);
            match ev {
                Event::Authenticated { .. } => {
                    tracing::debug!(%peer, workspace = %ws, "device authenticated");
                    more = true;
                }
                Event::Store(list) => {
                    let Some(reg) = reg else {
                        // Not reachable: a session opens only on a proof,
                        // which names the registration.
                        self.remove(key);
                        return false;
                    };
                    let sealed: Vec<_> = list.into_iter().map(|v| v.into_parts().0).collect();
                    match self
                        .store
                        .append(&reg, &sealed, self.cfg.quota_bytes, now_ms())
                    {
                        Ok(a) => {
                            if a.stored > 0 {
                                self.vectors.borrow_mut().remove(&reg.row);
                            }
                            for (author, seq, why) in &a.refused {
                                tracing::warn!(%peer, workspace = %ws, "refused change {seq} of {author}: {why}");
                            }
                            self.metrics
                                .changes_in
                                .fetch_add(a.stored as u64, Ordering::Relaxed);
                            self.metrics.bytes_in.fetch_add(a.bytes, Ordering::Relaxed);
                            if a.stored > 0 {
                                self.offer(&ws, Some(reg), Some(key));
                            }
                        }
                        Err(e @ StoreError::Quota { .. }) => {
                            // Nothing of the batch is stored, so nothing may
                            // be acknowledged: end the session with the
                            // reason, which the device shows in its status.
                            self.metrics.reject(Rejection::Quota);
                            tracing::info!(%peer, workspace = %ws, "{e}");
                            // Space frees only when the workspace is forgotten or the
                            // quota raised: no sooner than a minute.
                            self.refuse(key, RefuseCode::QuotaExceeded, &e.to_string(), Some(60));
                            return false;
                        }
                        Err(e) => {
                            tracing::error!(%peer, workspace = %ws, "storing changes: {e}");
                            self.remove(key);
                            return false;
                        }
                    }
                    more = true;
                }
                Event::Rejected {
                    change,
                    code,
                    detail,
                    ..
                } => {
                    self.metrics.reject(Rejection::InvalidChange);
                    tracing::warn!(%peer, workspace = %ws, ?change, ?code, "rejected a change: {detail}");
                }
                _ => {}
            }
        }
    }

    fn tick(&mut self) {
        let now = self.now();
        let keys: Vec<u64> = self.conns.keys().copied().collect();
        for key in keys {
            let Some(c) = self.conns.get_mut(&key) else {
                continue;
            };
            match c.session.handle_tick(now) {
                Ok(()) => self.pump(key),
                Err(e) => self.fail(key, e),
            }
        }
    }

    fn control(&mut self, peer: DeviceId, source: IpAddr, req: &Request) -> Response {
        let err = |code, message: String| Response::Error { code, message };
        let ws = req.workspace;
        let local = self.cfg.local;
        let quota = self.cfg.quota_bytes;
        let wire = |u: crate::store::Usage| {
            Response::Ok(WireUsage {
                changes: u.changes,
                bytes: u.bytes,
                quota,
            })
        };
        let internal = |e: StoreError| {
            tracing::error!("relay control: {e}");
            Response::Error {
                code: ControlError::Internal,
                message: "the relay's database failed; try again later".into(),
            }
        };
        if req.kind == RequestKind::Register {
            let Some(v) = req.verifier else {
                return err(ControlError::Malformed, "no verifier".into());
            };
            if !req.verify(&v, &local, &peer) {
                self.metrics.reject(Rejection::Proof);
                return err(
                    ControlError::ProofFailed,
                    "the registration is not signed by the workspace's relay key".into(),
                );
            }
            // A new pair counts against the source's and the relay's
            // registration rates; registering again (every connection) not.
            let known = match self.registrations(&ws) {
                Ok(list) => list.iter().any(|(_, x)| *x == v),
                Err(e) => return internal(e),
            };
            let now = u64::try_from(self.cfg.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
            if !known
                && !self
                    .guard
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .register(&source, now)
            {
                self.metrics.reject(Rejection::RegistrationRate);
                return err(
                    ControlError::RateLimited,
                    "too many new workspaces registered from this address (or on this relay) in the last hour; retry later".into(),
                );
            }
            return match self
                .store
                .register(&ws, &v, self.cfg.max_workspaces, now_ms())
            {
                Ok(Registration::Created(reg) | Registration::Existing(reg)) => {
                    self.regs.remove(&ws);
                    tracing::info!(%peer, workspace = %ws, "workspace registered");
                    wire(self.store.usage(&reg).unwrap_or_default())
                }
                Ok(Registration::Forgotten) => {
                    self.metrics.reject(Rejection::Forgotten);
                    err(
                        ControlError::Forgotten,
                        format!(
                            "workspace {ws} was forgotten on this relay; it is not registered again unless the relay's operator allows it (weft-relay --unforget {ws})"
                        ),
                    )
                }
                Ok(Registration::Full { max }) => {
                    self.metrics.reject(Rejection::Registration);
                    err(
                        ControlError::RelayFull,
                        format!("this relay already holds its maximum of {max} workspaces"),
                    )
                }
                Err(e) => internal(e),
            };
        }
        // The registration whose key signed the request. A signature no
        // registration's verifier accepts cannot be told from a workspace
        // this relay does not know under that key: both are "unknown".
        let reg = match self.find_reg(&ws, |v| req.verify(v, &local, &peer)) {
            Ok(Some(r)) => r,
            Ok(None) => {
                self.metrics.reject(Rejection::UnknownWorkspace);
                return err(
                    ControlError::UnknownWorkspace,
                    format!("this relay does not know workspace {ws} under this key"),
                );
            }
            Err(e) => return internal(e),
        };
        match req.kind {
            RequestKind::Forget => match self.store.forget(&reg, now_ms()) {
                Ok(u) => {
                    tracing::info!(%peer, workspace = %ws, changes = u.changes, "workspace forgotten");
                    self.vectors.borrow_mut().remove(&reg.row);
                    self.regs.remove(&ws);
                    let keys: Vec<u64> = self
                        .by_ws
                        .get(&ws)
                        .map(|s| s.iter().copied().collect())
                        .unwrap_or_default();
                    for k in keys {
                        // Sessions of this registration, and those still
                        // before their proof (which could name it).
                        if self
                            .conns
                            .get(&k)
                            .is_some_and(|c| c.reg.is_none_or(|r| r == reg))
                        {
                            self.refuse(
                                k,
                                RefuseCode::UnknownWorkspace,
                                "the workspace was removed from this relay",
                                None,
                            );
                        }
                    }
                    wire(u)
                }
                Err(e) => internal(e),
            },
            _ => match self.store.usage(&reg) {
                Ok(u) => wire(u),
                Err(e) => internal(e),
            },
        }
    }

    fn drain(&mut self) {
        // Everything received before the drain was handled in order, and
        // every stored batch is committed before its acknowledgement is
        // produced: send those acknowledgements, then let go.
        let keys: Vec<u64> = self.conns.keys().copied().collect();
        for key in keys {
            self.pump(key);
        }
        let keys: Vec<u64> = self.conns.keys().copied().collect();
        for key in keys {
            self.remove(key);
        }
    }
}
