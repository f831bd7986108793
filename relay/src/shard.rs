//! A shard: one thread with its own store connection and every session of
//! the workspaces hashed to it. Sessions of one workspace always share a
//! shard, so a change stored from one device is offered to the others
//! without crossing threads; other relay nodes' commits arrive as `Wake`.
//! Like the device's core (weft-engine `node/core.rs`) it never awaits:
//! it produces a peer's next frame only when that peer's queue has room.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use weft_core::{DeviceId, WorkspaceId};
use weft_crypto::RelayVerifier;
use weft_net::host::{Link, Transmit};
use weft_sync::relay::{ControlError, Request, RequestKind, Response, Usage as WireUsage};
use weft_sync::{
    Credentials, Event, Limits, RefuseCode, Role, Session, SessionConfig, SessionError,
};

use crate::metrics::{Metrics, Rejection};
use crate::store::{Registration, RelayStore, StoreError, WorkspaceLog};

/// A new sync stream, routed here by its hello.
pub(crate) struct Attach {
    pub(crate) key: u64,
    pub(crate) peer: DeviceId,
    pub(crate) workspace: WorkspaceId,
    /// The first frame, already read.
    pub(crate) hello: Vec<u8>,
    /// The shard's end of the stream (its writer reports `Writable`).
    pub(crate) link: Link,
}

pub(crate) enum ShardMsg {
    Attach(Attach),
    Frame {
        key: u64,
        body: Vec<u8>,
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
}

struct Conn {
    peer: DeviceId,
    workspace: WorkspaceId,
    session: Session,
    /// The stream; dropping it stops the reader and, once the queue is written,
    /// the writer.
    link: Link,
    reported_out: (u64, u64),
}

pub(crate) struct Shard {
    store: Box<dyn RelayStore>,
    cfg: ShardConfig,
    metrics: Arc<Metrics>,
    conns: HashMap<u64, Conn>,
    by_ws: HashMap<WorkspaceId, HashSet<u64>>,
    verifiers: HashMap<WorkspaceId, RelayVerifier>,
    started: Instant,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Shard {
    pub(crate) fn new(store: Box<dyn RelayStore>, cfg: ShardConfig, metrics: Arc<Metrics>) -> Self {
        Self {
            store,
            cfg,
            metrics,
            conns: HashMap::new(),
            by_ws: HashMap::new(),
            verifiers: HashMap::new(),
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
            ShardMsg::Frame { key, body } => self.frame(key, &body),
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
                    self.offer(&ws, None);
                }
            }
            ShardMsg::Control {
                peer,
                request,
                reply,
            } => {
                let r = self.control(peer, &request);
                let _ = reply.send(r);
            }
            ShardMsg::Drain(_) => {}
        }
    }

    /// The verifier of a registered workspace (cached: it never changes
    /// while registered; a forget on this shard drops it).
    fn verifier(&mut self, ws: &WorkspaceId) -> Result<Option<RelayVerifier>, StoreError> {
        if let Some(v) = self.verifiers.get(ws) {
            return Ok(Some(*v));
        }
        let v = self.store.verifier(ws)?;
        if let Some(v) = v {
            self.verifiers.insert(*ws, v);
        }
        Ok(v)
    }

    fn attach(&mut self, a: Attach) {
        let Attach {
            key,
            peer,
            workspace,
            hello,
            link,
        } = a;
        let verifier = match self.verifier(&workspace) {
            Ok(Some(v)) => v,
            Ok(None) => {
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
                session,
                link,
                reported_out: (0, 0),
            },
        );
        self.by_ws.entry(workspace).or_default().insert(key);
        self.frame(key, &hello);
    }

    fn frame(&mut self, key: u64, body: &[u8]) {
        let now = self.now();
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        let log = WorkspaceLog {
            store: self.store.as_ref(),
            workspace: c.workspace,
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
                workspace: c.workspace,
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
        loop {
            let now = self.now();
            let Some(c) = self.conns.get_mut(&key) else {
                return;
            };
            let log = WorkspaceLog {
                store: self.store.as_ref(),
                workspace: c.workspace,
            };
            match c.link.transmit(&mut c.session, now, &log) {
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
        }
    }

    /// Offers what the store now holds to every session of `ws` (but
    /// `except`, which is pumped by its caller).
    fn offer(&mut self, ws: &WorkspaceId, except: Option<u64>) {
        let keys: Vec<u64> = self
            .by_ws
            .get(ws)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        for k in keys {
            if let Some(c) = self.conns.get_mut(&k) {
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
            let (peer, ws) = (c.peer, c.workspace);
            match ev {
                Event::Authenticated { .. } => {
                    tracing::debug!(%peer, workspace = %ws, "device authenticated");
                    more = true;
                }
                Event::Store(list) => {
                    let sealed: Vec<_> = list.into_iter().map(|v| v.into_parts().0).collect();
                    match self
                        .store
                        .append(&ws, &sealed, self.cfg.quota_bytes, now_ms())
                    {
                        Ok(a) => {
                            for (author, seq, why) in &a.refused {
                                tracing::warn!(%peer, workspace = %ws, "refused change {seq} of {author}: {why}");
                            }
                            self.metrics
                                .changes_in
                                .fetch_add(a.stored as u64, Ordering::Relaxed);
                            self.metrics.bytes_in.fetch_add(a.bytes, Ordering::Relaxed);
                            if a.stored > 0 {
                                self.offer(&ws, Some(key));
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

    fn control(&mut self, peer: DeviceId, req: &Request) -> Response {
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
            return match self
                .store
                .register(&ws, &v, self.cfg.max_workspaces, now_ms())
            {
                Ok(Registration::Created | Registration::Existing) => {
                    if let Ok(r) = self.store.usage(&ws) {
                        tracing::info!(%peer, workspace = %ws, "workspace registered");
                        wire(r)
                    } else {
                        wire(Default::default())
                    }
                }
                Ok(Registration::Mismatch) => {
                    self.metrics.reject(Rejection::Registration);
                    err(
                        ControlError::VerifierMismatch,
                        format!("workspace {ws} is registered on this relay with another key"),
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
        let v = match self.verifier(&ws) {
            Ok(Some(v)) => v,
            Ok(None) => {
                self.metrics.reject(Rejection::UnknownWorkspace);
                return err(
                    ControlError::UnknownWorkspace,
                    format!("this relay does not know workspace {ws}"),
                );
            }
            Err(e) => return internal(e),
        };
        if !req.verify(&v, &local, &peer) {
            self.metrics.reject(Rejection::Proof);
            return err(
                ControlError::ProofFailed,
                "the request is not signed by the workspace's relay key".into(),
            );
        }
        match req.kind {
            RequestKind::Forget => match self.store.forget(&ws) {
                Ok(u) => {
                    tracing::info!(%peer, workspace = %ws, changes = u.changes, "workspace forgotten");
                    self.verifiers.remove(&ws);
                    let keys: Vec<u64> = self
                        .by_ws
                        .get(&ws)
                        .map(|s| s.iter().copied().collect())
                        .unwrap_or_default();
                    for k in keys {
                        self.refuse(
                            k,
                            RefuseCode::UnknownWorkspace,
                            "the workspace was removed from this relay",
                            None,
                        );
                    }
                    Response::Ok(WireUsage {
                        changes: u.changes,
                        bytes: u.bytes,
                        quota,
                    })
                }
                Err(e) => internal(e),
            },
            _ => match self.store.usage(&ws) {
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
