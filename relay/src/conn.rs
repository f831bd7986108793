//! Streams: a sync stream's reader and writer tasks, and the one-shot
//! control stream. The reader routes the stream to its workspace's shard by
//! the hello, bounds what a peer may send before its proof, holds what it
//! buffers within the relay's memory budget, applies the per-device and
//! per-source rates (one bucket per device and per source address, across
//! all their streams), and closes a stream that stays silent past the idle
//! timeout or leaves a frame unfinished past the frame timeout.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use weft_core::DeviceId;
use weft_net::host::{self, PRE_AUTH_BYTES, StreamEnd};
use weft_sync::relay::{ControlError, MAX_CONTROL_FRAME, Request, Response};
use weft_sync::{Frame, FrameReader, RefuseCode, Session, prefixed};

use crate::Shared;
use crate::budget::Permit;
use crate::metrics::Rejection;
use crate::shard::{Attach, ShardMsg};

/// A peer's first frame must arrive within this.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes read from a stream at once.
const CHUNK: usize = 64 * 1024;
/// How often a stream waiting for memory tries again.
const MEMORY_RETRY: Duration = Duration::from_millis(20);

/// A source's stream slot, given back when the stream ends.
struct Slot<'a> {
    shared: &'a Shared,
    source: IpAddr,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.shared.guard().streams.close(&self.source);
    }
}

/// Why a reader stopped.
enum Stop {
    /// The peer closed, or the stream failed: nothing to count.
    Closed,
    /// Counted as this refusal.
    Refused(Rejection, String),
}

/// One stream's read side: the frame buffer, its share of the memory
/// budget, and the clocks of the idle and frame timeouts.
struct Reader<'a> {
    shared: &'a Shared,
    frames: FrameReader,
    buf: Vec<u8>,
    /// The read buffer and the frame buffer.
    mem: Permit,
    received: usize,
    last_read: Instant,
    /// When the frame now buffered in part started, plus the time the relay
    /// itself paused this stream since then.
    partial: Option<(Instant, Duration)>,
}

impl<'a> Reader<'a> {
    fn new(shared: &'a Shared) -> Option<Self> {
        let mem = shared.budget.try_permit(CHUNK)?;
        Some(Self {
            shared,
            frames: FrameReader::new(),
            buf: vec![0u8; CHUNK],
            mem,
            received: 0,
            last_read: Instant::now(),
            partial: None,
        })
    }

    /// The next complete frame with its share of the budget, if buffered.
    async fn next(&mut self) -> Result<Option<(Vec<u8>, Permit)>, Stop> {
        let body = match self.frames.next_frame() {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(e) => return Err(Stop::Refused(Rejection::Malformed, e.to_string())),
        };
        if self.frames.buffered() == 0 {
            self.partial = None;
        }
        let _ = self.mem.resize(CHUNK + self.frames.allocated());
        let permit = self.wait_memory(body.len()).await?;
        Ok(Some((body, permit)))
    }

    /// Waits (at most the frame timeout) for `n` bytes of the budget.
    async fn wait_memory(&mut self, n: usize) -> Result<Permit, Stop> {
        let end = Instant::now() + self.shared.cfg.frame_timeout;
        loop {
            if let Some(p) = self.shared.budget.try_permit(n) {
                return Ok(p);
            }
            if Instant::now() >= end {
                return Err(Stop::Refused(
                    Rejection::Memory,
                    "the relay's memory budget stayed full".into(),
                ));
            }
            self.pause(MEMORY_RETRY).await;
        }
    }

    /// Pauses reading (a rate limit, or waiting for memory): not counted
    /// against the frame being read.
    async fn pause(&mut self, d: Duration) {
        tokio::time::sleep(d).await;
        if let Some((_, paused)) = &mut self.partial {
            *paused += d;
        }
        self.last_read += d;
    }

    /// Reads once; returns the bytes read. The silence allowed is the idle
    /// timeout once the peer has proved membership (`authenticated`, set by
    /// the shard and looked at again while waiting), else `before_auth`.
    async fn read(
        &mut self,
        rd: &mut (impl futures::AsyncRead + Unpin),
        authenticated: Option<&AtomicBool>,
        before_auth: Duration,
    ) -> Result<usize, Stop> {
        const SLICE: Duration = Duration::from_millis(250);
        let n = loop {
            let idle = match authenticated {
                Some(a) if a.load(Ordering::Acquire) => self.shared.cfg.idle_timeout,
                _ => before_auth,
            };
            let now = Instant::now();
            let mut deadline = (self.last_read + idle, Rejection::Idle);
            if let Some((since, paused)) = self.partial {
                let frame_end = since + paused + self.shared.cfg.frame_timeout;
                if frame_end < deadline.0 {
                    deadline = (frame_end, Rejection::SlowFrame);
                }
            }
            if now >= deadline.0 {
                let why = match deadline.1 {
                    Rejection::SlowFrame => "a frame was left unfinished past the frame timeout",
                    _ => "silent past the idle timeout",
                };
                return Err(Stop::Refused(deadline.1, why.into()));
            }
            // A read dropped before it completes takes no bytes, so waiting
            // in slices loses nothing.
            let left = (deadline.0 - now).min(SLICE);
            match tokio::time::timeout(left, rd.read(&mut self.buf)).await {
                Err(_) => continue,
                Ok(Ok(0)) | Ok(Err(_)) => return Err(Stop::Closed),
                Ok(Ok(n)) => break n,
            }
        };
        self.last_read = Instant::now();
        self.received = self.received.saturating_add(n);
        // The bytes are in the read buffer (counted); the frame buffer may
        // grow to take them: that growth is taken from the budget first.
        let want = CHUNK + self.frames.allocated_during_extend(n);
        if self.mem.held() < want && !self.mem.resize(want) {
            let extra = want - self.mem.held();
            let p = self.wait_memory(extra).await?;
            self.mem.absorb(p);
        }
        self.frames.extend(&self.buf[..n]);
        if self.partial.is_none() {
            self.partial = Some((self.last_read, Duration::ZERO));
        }
        let _ = self.mem.resize(CHUNK + self.frames.allocated());
        Ok(n)
    }
}

/// Runs one inbound sync stream until either side closes it.
pub(crate) async fn sync_stream(
    key: u64,
    peer: DeviceId,
    stream: libp2p::Stream,
    shared: Arc<Shared>,
) {
    let source = shared.guard().source_of(&peer);
    if !shared.guard().streams.open(&source) {
        shared.metrics.reject(Rejection::SourceStreams);
        tracing::debug!(%peer, %source, "over the streams allowed per source");
        let (_, mut wr) = stream.split();
        let refusal = Session::refusal(
            RefuseCode::RateLimited,
            "too many streams from this address; retry later",
        );
        let _ = wr.write_all(&prefixed(&refusal)).await;
        let _ = wr.close().await;
        return;
    }
    let _slot = Slot {
        shared: &shared,
        source,
    };
    let (mut rd, mut wr) = stream.split();
    let Some(mut reader) = Reader::new(&shared) else {
        shared.metrics.reject(Rejection::Memory);
        return;
    };
    // The hello names the workspace, which names the shard.
    let first = tokio::time::timeout(HELLO_TIMEOUT, async {
        loop {
            if let Some(f) = reader.next().await? {
                return Ok(f);
            }
            reader.read(&mut rd, None, HELLO_TIMEOUT).await?;
            if reader.received > PRE_AUTH_BYTES {
                return Err(Stop::Refused(
                    Rejection::Malformed,
                    "sent too much before its hello".into(),
                ));
            }
        }
    })
    .await;
    let (hello, hello_mem) = match first {
        Ok(Ok(f)) => f,
        Ok(Err(Stop::Refused(why, e))) => {
            shared.metrics.reject(why);
            tracing::debug!(%peer, "sync stream: {e}");
            return;
        }
        Ok(Err(Stop::Closed)) | Err(_) => return,
    };
    let workspace = match Frame::decode(&hello) {
        Ok(Frame::Hello(h)) => h.workspace,
        _ => {
            shared.metrics.reject(Rejection::Malformed);
            let refusal = Session::refusal(RefuseCode::Protocol, "the first frame must be a hello");
            let _ = wr.write_all(&prefixed(&refusal)).await;
            let _ = wr.close().await;
            return;
        }
    };
    let shard = shared.shard_of(&workspace);
    let (link, end) = host::link();
    let StreamEnd {
        frames: queue,
        wake,
        authenticated,
        mut stopped,
    } = end;
    if shard
        .send(ShardMsg::Attach(Attach {
            key,
            peer,
            workspace,
            hello,
            mem: hello_mem,
            link,
        }))
        .await
        .is_err()
    {
        return;
    }
    let shard_w = shard.clone();
    shared
        .writers
        .spawn(host::write_frames(wr, queue, wake, move || {
            // The shard found the queue full and is waiting for room.
            let shard = shard_w.clone();
            async move { shard.send(ShardMsg::Writable { key }).await.is_ok() }
        }));
    let cfg = &shared.cfg;
    // Since when this peer has been over its rate without a break.
    let mut over_since: Option<u64> = None;
    let stop = loop {
        // Frames already buffered first (the hello's read may have
        // carried the proof too).
        let mut frames = 0u64;
        let r = tokio::select! {
            r = async {
                while let Some((body, mem)) = reader.next().await? {
                    frames += 1;
                    if shard.send(ShardMsg::Frame { key, body, mem }).await.is_err() {
                        return Err(Stop::Closed);
                    }
                }
                reader.read(&mut rd, Some(&authenticated), HELLO_TIMEOUT).await
            } => r,
            _ = &mut stopped => return,
        };
        let n = match r {
            Ok(n) => n,
            Err(s) => break s,
        };
        if reader.received > PRE_AUTH_BYTES && !authenticated.load(Ordering::Acquire) {
            break Stop::Refused(
                Rejection::Malformed,
                format!("sent over {PRE_AUTH_BYTES} bytes without its proof"),
            );
        }
        let now = shared.now_ms();
        let wait = shared
            .guard()
            .take(&peer, &source, n as u64, frames.max(1), now);
        if wait == 0 {
            over_since = None;
            continue;
        }
        shared.metrics.throttled.fetch_add(1, Ordering::Relaxed);
        let since = *over_since.get_or_insert(now);
        // Over for a whole patience, counting the pause this needs: a
        // flood deep in debt is refused now, not after sleeping it off.
        if now.saturating_sub(since) + wait >= cfg.rate_patience.as_millis() as u64 {
            shared.metrics.reject(Rejection::RateLimited);
            let retry = (wait / 1000).max(1) + cfg.rate_patience.as_secs();
            let message = format!(
                "rate limited: this relay accepts {} KiB/s per device and {} KiB/s per address; retry in {retry} s",
                cfg.rate_bytes / 1024,
                cfg.source_rate_bytes / 1024
            );
            tracing::info!(%peer, "{message}");
            let _ = shard
                .send(ShardMsg::Refuse {
                    key,
                    code: RefuseCode::RateLimited,
                    message,
                    retry_after_s: Some(u32::try_from(retry).unwrap_or(u32::MAX)),
                })
                .await;
            return;
        }
        // Stop reading until the buckets refill: the peer's sends back up
        // into its stream window, and nothing it sent is lost.
        tokio::select! {
            _ = reader.pause(Duration::from_millis(wait)) => {}
            _ = &mut stopped => return,
        }
    };
    if let Stop::Refused(why, e) = stop {
        shared.metrics.reject(why);
        tracing::debug!(%peer, "sync stream: {e}");
    }
    let _ = shard.send(ShardMsg::Detach { key }).await;
}

/// Answers one control request.
pub(crate) async fn control_stream(peer: DeviceId, stream: libp2p::Stream, shared: Arc<Shared>) {
    let (mut rd, mut wr) = stream.split();
    let source = shared.guard().source_of(&peer);
    if !shared.guard().control(&source, shared.now_ms()) {
        shared.metrics.reject(Rejection::ControlRate);
        let r = Response::Error {
            code: ControlError::RateLimited,
            message: format!(
                "too many requests from this address: this relay answers {} a minute; retry in a minute",
                shared.cfg.control_per_minute
            ),
        };
        let _ = wr.write_all(&prefixed(&r.encode())).await;
        let _ = wr.close().await;
        return;
    }
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut len = [0u8; 4];
        rd.read_exact(&mut len).await.map_err(|e| e.to_string())?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_CONTROL_FRAME {
            return Err(format!("a control frame of {len} bytes"));
        }
        let mut body = vec![0u8; len];
        rd.read_exact(&mut body).await.map_err(|e| e.to_string())?;
        Ok(body)
    })
    .await;
    let response = match read {
        Ok(Ok(body)) => match Request::decode(&body) {
            Ok(request) => {
                let (reply, rx) = oneshot::channel();
                let shard = shared.shard_of(&request.workspace);
                if shard
                    .send(ShardMsg::Control {
                        peer,
                        source,
                        request,
                        reply,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                match rx.await {
                    Ok(r) => r,
                    Err(_) => return,
                }
            }
            Err(e) => {
                shared.metrics.reject(Rejection::Malformed);
                Response::Error {
                    code: ControlError::Malformed,
                    message: e.to_string(),
                }
            }
        },
        Ok(Err(e)) => {
            shared.metrics.reject(Rejection::Malformed);
            tracing::debug!(%peer, "control stream: {e}");
            return;
        }
        Err(_) => return,
    };
    let _ = wr.write_all(&prefixed(&response.encode())).await;
    let _ = wr.flush().await;
    let _ = wr.close().await;
}
