//! A test device: its own libp2p swarm (TCP, Noise, Yamux, libp2p-stream),
//! the relay control request, and a `weft_sync::Session` over a sync stream
//! with an in-memory log. No engine, no SQLite: what a device says on the
//! wire, and what it ends up holding.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Stream, StreamProtocol, identity, noise, tcp, yamux};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use weft_core::{ChangeKind, DeviceId, DocId, DocKind, Seq, VersionVector, WorkspaceId};
use weft_crypto::{ChangeHeader, DerivedKeys, DeviceKey, SealedChange, WorkspaceKey};
use weft_relay::{Config, Relay};
use weft_sync::relay::{Request, RequestKind, Response};
use weft_sync::{
    Credentials, Event, FrameReader, Limits, Log, LogError, RefuseCode, RejectCode, Role, Session,
    SessionConfig, SessionError, prefixed,
};

/// Generous bound for anything the tests wait for.
pub const WAIT: Duration = Duration::from_secs(10);

/// A relay config for tests: loopback TCP on a free port, HTTP on a free
/// port, two shards.
pub fn relay_config(dir: &std::path::Path) -> Config {
    let mut c = Config::with_data_dir(dir.to_owned());
    c.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr")];
    c.http = Some("127.0.0.1:0".parse().expect("socket addr"));
    c.shards = 2;
    c.drain_timeout = Duration::from_secs(5);
    c
}

/// Starts a relay and returns it with its dialable address.
pub async fn start_relay(cfg: Config) -> (Relay, Multiaddr) {
    let relay = Relay::start(cfg).await.expect("relay starts");
    let addr = relay
        .wait_listening(WAIT)
        .await
        .into_iter()
        .next()
        .expect("the relay listens within 10 s");
    (relay, addr)
}

/// A workspace: its id and the keys every member derives.
#[derive(Clone)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub keys: Arc<DerivedKeys>,
}

impl Workspace {
    pub fn new() -> Self {
        let id = WorkspaceId::random();
        Self {
            id,
            keys: Arc::new(WorkspaceKey::generate().derive(&id)),
        }
    }
}

/// An in-memory change log: per author, its changes by seq (always
/// 1..=n: only own changes and `Event::Store` batches go in).
#[derive(Default)]
pub struct MemLog {
    pub changes: BTreeMap<DeviceId, BTreeMap<Seq, SealedChange>>,
    /// Decrypted payloads of received changes.
    pub plaintext: BTreeMap<(DeviceId, Seq), Vec<u8>>,
}

impl Log for MemLog {
    fn vector(&self) -> Result<VersionVector, LogError> {
        let mut v = VersionVector::new();
        for (a, m) in &self.changes {
            if let Some((s, _)) = m.last_key_value() {
                v.set(*a, *s);
            }
        }
        Ok(v)
    }
    fn changes_after(
        &self,
        author: &DeviceId,
        after: Seq,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<SealedChange>, LogError> {
        let mut out = Vec::new();
        let mut bytes = 0;
        if let Some(m) = self.changes.get(author) {
            for c in m.range(after + 1..).map(|(_, c)| c).take(max_count) {
                bytes += c.to_bytes().len();
                out.push(c.clone());
                if bytes >= max_bytes {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// How a session ended, as the device saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The relay sent a refusal.
    Refused { code: RefuseCode, message: String },
    /// The session failed on this side.
    Failed(String),
    /// The stream closed.
    Closed,
}

/// What a device's session has seen.
#[derive(Default)]
pub struct State {
    pub log: MemLog,
    pub open: bool,
    pub remote_has: VersionVector,
    pub rejected: Vec<(Option<(DeviceId, Seq)>, RejectCode)>,
    pub end: Option<End>,
}

/// A device of one workspace, connected to one relay.
pub struct Device {
    pub id: DeviceId,
    key: DeviceKey,
    pub ws: Workspace,
    pub relay_peer: PeerId,
    pub relay_id: DeviceId,
    control: libp2p_stream::Control,
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    swarm: JoinHandle<()>,
    session: Option<JoinHandle<()>>,
    limits: Limits,
}

fn peer_in(addr: &Multiaddr) -> PeerId {
    addr.iter()
        .find_map(|p| match p {
            Protocol::P2p(id) => Some(id),
            _ => None,
        })
        .expect("the relay address names its peer id")
}

impl Device {
    /// A new device (fresh key) of `ws`, connected to the relay at `addr`.
    pub async fn connect(addr: &Multiaddr, ws: &Workspace) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("randomness");
        Self::connect_with_seed(addr, ws, seed).await
    }

    /// Like [`Device::connect`], with a given device key (a device that
    /// comes back).
    pub async fn connect_with_seed(addr: &Multiaddr, ws: &Workspace, seed: [u8; 32]) -> Self {
        let key = DeviceKey::from_seed(seed);
        let mut s = seed;
        let kp = identity::Keypair::ed25519_from_bytes(&mut s).expect("ed25519 seed");
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(kp)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .expect("tcp transport")
            .with_behaviour(|_| libp2p_stream::Behaviour::new())
            .expect("behaviour")
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
            .build();
        let relay_peer = peer_in(addr);
        let control = swarm.behaviour().new_control();
        swarm.dial(addr.clone()).expect("dial the relay");
        let (up_tx, mut up_rx) = watch::channel(false);
        let swarm = tokio::spawn(async move {
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == relay_peer => {
                        let _ = up_tx.send(true);
                    }
                    SwarmEvent::OutgoingConnectionError { error, .. } => {
                        panic!("dialling the relay failed: {error}");
                    }
                    _ => {}
                }
            }
        });
        tokio::time::timeout(WAIT, up_rx.wait_for(|up| *up))
            .await
            .expect("connected to the relay within 10 s")
            .expect("the swarm task runs");
        Self {
            id: key.device_id(),
            key,
            ws: ws.clone(),
            relay_peer,
            relay_id: weft_net::device_of(&relay_peer).expect("an ed25519 relay"),
            control,
            state: Arc::new(Mutex::new(State::default())),
            notify: Arc::new(Notify::new()),
            swarm,
            session: None,
            limits: Limits::default(),
        }
    }

    /// Sets the limits of the next session.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Opens a stream on `protocol` to the relay.
    pub async fn raw_stream(&mut self, protocol: StreamProtocol) -> Stream {
        tokio::time::timeout(WAIT, self.control.open_stream(self.relay_peer, protocol))
            .await
            .expect("opening a stream within 10 s")
            .expect("open a stream")
    }

    /// Sends one control request and reads the response.
    pub async fn control(&mut self, req: &Request) -> Response {
        let mut s = self.raw_stream(weft_net::RELAY_CONTROL_PROTOCOL).await;
        let fut = async {
            s.write_all(&prefixed(&req.encode())).await?;
            s.flush().await?;
            let mut len = [0u8; 4];
            s.read_exact(&mut len).await?;
            let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
            s.read_exact(&mut body).await?;
            std::io::Result::Ok(body)
        };
        let body = tokio::time::timeout(WAIT, fut)
            .await
            .expect("a control response within 10 s")
            .expect("a control response");
        Response::decode(&body).expect("a well-formed control response")
    }

    /// A request of `kind`, signed with this device's workspace keys.
    pub fn request(&self, kind: RequestKind) -> Request {
        Request::new(
            kind,
            self.ws.id,
            &self.ws.keys.relay_auth,
            &self.relay_id,
            &self.id,
        )
    }

    /// Registers the workspace; panics unless the relay accepts.
    pub async fn register(&mut self) {
        let req = self.request(RequestKind::Register);
        match self.control(&req).await {
            Response::Ok(_) => {}
            r => panic!("registration refused: {r:?}"),
        }
    }

    /// Opens the sync stream and runs the session over it.
    pub async fn sync(&mut self) {
        let stream = self.raw_stream(weft_net::SYNC_PROTOCOL).await;
        {
            let mut st = self.lock();
            st.open = false;
            st.end = None;
            st.remote_has = VersionVector::new();
        }
        let mut nonce = [0u8; 32];
        getrandom::fill(&mut nonce).expect("randomness");
        let session = Session::new(
            SessionConfig {
                workspace: self.ws.id,
                local: self.id,
                remote: self.relay_id,
                expect: Role::Relay,
                limits: self.limits.clone(),
            },
            Credentials::Member(self.ws.keys.clone()),
            nonce,
            0,
        );
        self.session = Some(tokio::spawn(drive(
            stream,
            session,
            self.state.clone(),
            self.notify.clone(),
        )));
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("state lock")
    }

    /// Authors a change to `doc` and offers it.
    pub fn push(&self, doc: DocId, payload: &[u8]) -> SealedChange {
        let c = self.seal(doc, payload);
        self.notify.notify_one();
        c
    }

    /// Authors changes without offering them yet ([`Device::offer`]).
    pub fn author_many(&self, doc: DocId, payloads: &[Vec<u8>]) {
        for p in payloads {
            self.seal(doc, p);
        }
    }

    /// Offers what was authored to the relay.
    pub fn offer(&self) {
        self.notify.notify_one();
    }

    /// Authors `n` changes at once (they travel in one batch if they fit).
    pub fn push_many(&self, doc: DocId, payloads: &[Vec<u8>]) -> Vec<SealedChange> {
        let out = payloads.iter().map(|p| self.seal(doc, p)).collect();
        self.notify.notify_one();
        out
    }

    fn seal(&self, doc: DocId, payload: &[u8]) -> SealedChange {
        let mut st = self.lock();
        let mine = st.log.changes.entry(self.id).or_default();
        let seq = mine.last_key_value().map_or(0, |(s, _)| *s) + 1;
        let c = SealedChange::seal(
            ChangeHeader {
                workspace: self.ws.id,
                doc,
                author: self.id,
                seq,
                kind: ChangeKind::Update(DocKind::Note),
            },
            payload,
            &self.ws.keys.data,
            &self.key,
        )
        .expect("seal");
        mine.insert(seq, c.clone());
        st.log.plaintext.insert((self.id, seq), payload.to_vec());
        c
    }

    /// What the device holds.
    pub fn vector(&self) -> VersionVector {
        self.lock().log.vector().expect("vector")
    }

    /// Waits until `pred` holds of the state (true) or `timeout` passes.
    pub async fn wait_until(&self, timeout: Duration, pred: impl Fn(&State) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if pred(&self.lock()) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the device holds at least `want`.
    pub async fn wait_holds(&self, want: &VersionVector, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| {
            s.log.vector().map(|v| v.includes(want)).unwrap_or(false)
        })
        .await
    }

    /// Waits until the relay acknowledged everything this device holds.
    pub async fn wait_acked(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| {
            s.log
                .vector()
                .map(|v| s.remote_has.includes(&v))
                .unwrap_or(false)
        })
        .await
    }

    /// Waits for the session to end; `None` if it is still running.
    pub async fn wait_end(&self, timeout: Duration) -> Option<End> {
        self.wait_until(timeout, |s| s.end.is_some()).await;
        self.lock().end.clone()
    }

    /// Drops the session and the connection.
    pub async fn disconnect(mut self) {
        if let Some(s) = self.session.take() {
            s.abort();
            let _ = s.await;
        }
        self.swarm.abort();
        let _ = (&mut self.swarm).await;
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if let Some(s) = &self.session {
            s.abort();
        }
        self.swarm.abort();
    }
}

/// Feeds the session what the stream carries and the passing of time, and
/// writes what it produces; stores what it hands out.
async fn drive(
    stream: Stream,
    mut session: Session,
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
) {
    let (mut rd, mut wr) = stream.split();
    // A writer of its own, so a relay that stops reading (a rate limit)
    // cannot keep this side from reading its refusal.
    let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(buf) = out_rx.recv().await {
            if wr.write_all(&buf).await.is_err() || wr.flush().await.is_err() {
                return;
            }
        }
        let _ = wr.close().await;
    });
    let _writer = AbortOnDrop(writer);
    let started = Instant::now();
    let now = || started.elapsed().as_millis() as u64;
    let mut frames = FrameReader::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut failed: Option<SessionError> = None;
    loop {
        // Everything the session has to say, storing as told.
        {
            let mut st = state.lock().expect("state lock");
            loop {
                handle_events(&mut session, &mut st);
                match session.poll_transmit(now(), &st.log) {
                    Ok(Some(body)) => {
                        let _ = out_tx.send(prefixed(&body));
                    }
                    Ok(None) => {
                        handle_events(&mut session, &mut st);
                        break;
                    }
                    Err(e) => {
                        failed.get_or_insert(e);
                        break;
                    }
                }
            }
        }
        if let Some(e) = failed.take() {
            finish(&state, Some(e), End::Closed);
            return;
        }
        let r: Result<(), SessionError> = tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => {
                    finish(&state, None, End::Closed);
                    return;
                }
                Ok(n) => {
                    frames.extend(&buf[..n]);
                    let mut r = Ok(());
                    loop {
                        match frames.next_frame() {
                            Ok(Some(body)) => {
                                let st = state.lock().expect("state lock");
                                if let Err(e) = session.handle_frame(&body, now(), &st.log) {
                                    r = Err(e);
                                    break;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                finish(&state, None, End::Failed(format!("relay sent a bad frame: {e}")));
                                return;
                            }
                        }
                    }
                    r
                }
            },
            _ = tick.tick() => session.handle_tick(now()),
            _ = notify.notified() => {
                session.notify_local_change();
                Ok(())
            }
        };
        if let Err(e) = r {
            failed = Some(e);
        }
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        // Let queued frames (a refusal) go out, but not forever.
        let h = std::mem::replace(&mut self.0, tokio::spawn(async {}));
        tokio::spawn(async move {
            let mut h = h;
            if tokio::time::timeout(Duration::from_secs(2), &mut h)
                .await
                .is_err()
            {
                h.abort();
            }
        });
    }
}

fn handle_events(session: &mut Session, st: &mut State) {
    while let Some(ev) = session.poll_event() {
        match ev {
            Event::Authenticated { .. } => st.open = true,
            Event::Store(list) => {
                for v in list {
                    let (c, plain) = v.into_parts();
                    let h = *c.header();
                    if let Some(p) = plain {
                        st.log.plaintext.insert((h.author, h.seq), p.to_vec());
                    }
                    st.log.changes.entry(h.author).or_default().insert(h.seq, c);
                }
            }
            Event::Rejected { change, code, .. } => st.rejected.push((change, code)),
            Event::RemoteHas(v) => st.remote_has = v,
            _ => {}
        }
    }
}

fn finish(state: &Mutex<State>, err: Option<SessionError>, otherwise: End) {
    let end = match err {
        Some(SessionError::Refused { code, message, .. }) => End::Refused { code, message },
        Some(e) => End::Failed(e.to_string()),
        None => otherwise,
    };
    let mut st = state.lock().expect("state lock");
    st.end.get_or_insert(end);
    st.open = false;
}

/// A plain HTTP GET: (status, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the relay's HTTP port");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n").as_bytes())
        .await
        .expect("send request");
    let mut resp = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut resp))
        .await
        .expect("an HTTP response within 10 s")
        .expect("read response");
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("an HTTP status line");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The value of one sample line (`name value` or `name{labels} value`).
pub fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (k, v) = l.rsplit_once(' ')?;
        (k == name).then(|| v.parse().ok()).flatten()
    })
}
