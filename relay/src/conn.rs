//! Streams: a sync stream's reader and writer tasks (the reader routes the
//! stream to its workspace's shard by the hello, bounds what a peer may send
//! before its proof, and applies the peer's rate limit), and the one-shot
//! control stream.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use weft_core::DeviceId;
use weft_net::host::{self, PRE_AUTH_BYTES, StreamEnd};
use weft_sync::relay::{ControlError, MAX_CONTROL_FRAME, Request, Response};
use weft_sync::{Frame, FrameReader, RefuseCode, Session, prefixed};

use crate::Shared;
use crate::metrics::Rejection;
use crate::ratelimit::Bucket;
use crate::shard::{Attach, ShardMsg};

/// A peer's first frame must arrive within this.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs one inbound sync stream until either side closes it.
pub(crate) async fn sync_stream(
    key: u64,
    peer: DeviceId,
    stream: libp2p::Stream,
    shared: Arc<Shared>,
) {
    let (mut rd, mut wr) = stream.split();
    let mut frames = FrameReader::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0usize;
    // The hello names the workspace, which names the shard.
    let first = tokio::time::timeout(HELLO_TIMEOUT, async {
        loop {
            match frames.next_frame() {
                Ok(Some(body)) => return Ok(body),
                Ok(None) => {}
                Err(e) => return Err(e.to_string()),
            }
            match rd.read(&mut buf).await {
                Ok(0) => return Err("closed before its hello".to_owned()),
                Ok(n) => {
                    received += n;
                    if received > PRE_AUTH_BYTES {
                        return Err("sent too much before its hello".to_owned());
                    }
                    frames.extend(&buf[..n]);
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await;
    let hello = match first {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            shared.metrics.reject(Rejection::Malformed);
            tracing::debug!(%peer, "sync stream: {e}");
            return;
        }
        Err(_) => return,
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
    let started = Instant::now();
    let ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut bucket = Bucket::new(cfg.rate_bytes, cfg.burst_bytes, 0);
    // Since when this peer has been over its rate without a break.
    let mut over_since: Option<u64> = None;
    'read: loop {
        // Frames already buffered first (the hello's read may have
        // carried the proof too).
        loop {
            match frames.next_frame() {
                Ok(Some(body)) => {
                    if shard.send(ShardMsg::Frame { key, body }).await.is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    shared.metrics.reject(Rejection::Malformed);
                    tracing::debug!(%peer, "sync stream: {e}");
                    break 'read;
                }
            }
        }
        let r = tokio::select! {
            r = rd.read(&mut buf) => r,
            _ = &mut stopped => return,
        };
        let n = match r {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        received = received.saturating_add(n);
        if received > PRE_AUTH_BYTES && !authenticated.load(Ordering::Acquire) {
            shared.metrics.reject(Rejection::Malformed);
            tracing::debug!(%peer, "sent over {PRE_AUTH_BYTES} bytes without its proof");
            break;
        }
        frames.extend(&buf[..n]);
        let wait = bucket.take(n as u64, ms());
        if wait == 0 {
            over_since = None;
            continue;
        }
        shared.metrics.throttled.fetch_add(1, Ordering::Relaxed);
        let since = *over_since.get_or_insert(ms());
        if ms().saturating_sub(since) >= cfg.rate_patience.as_millis() as u64 {
            shared.metrics.reject(Rejection::RateLimited);
            let retry = (wait / 1000).max(1) + cfg.rate_patience.as_secs();
            let message = format!(
                "rate limited: this relay accepts {} KiB/s per device; retry in {retry} s",
                cfg.rate_bytes / 1024
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
        // Stop reading until the bucket refills: the peer's sends back up
        // into its stream window, and nothing it sent is lost.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            _ = &mut stopped => return,
        }
    }
    let _ = shard.send(ShardMsg::Detach { key }).await;
}

/// Answers one control request.
pub(crate) async fn control_stream(peer: DeviceId, stream: libp2p::Stream, shared: Arc<Shared>) {
    let (mut rd, mut wr) = stream.split();
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
