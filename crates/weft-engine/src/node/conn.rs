//! One sync stream: a reader task that splits it into frames for the core,
//! and a writer task that drains the peer's bounded outbound queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use weft_core::DeviceId;
use weft_sync::FrameReader;

use super::core::CoreMsg;

/// Frames queued for one peer's writer. The core stops producing for that
/// peer (and only that peer) when it is full.
pub(crate) const OUTBOUND_FRAMES: usize = 32;

/// Bytes a peer may send before it has proved membership: a hello and a
/// proof are under 200 bytes, so anything near this is not a Weft device.
/// Without it a stranger could make every stream buffer a whole maximum
/// frame (16 MiB) before the session looks at it.
pub(crate) const PRE_AUTH_BYTES: usize = 64 * 1024;

/// Runs one stream until either side closes it.
pub(crate) async fn run(
    key: u64,
    peer: DeviceId,
    stream: weft_net::Stream,
    core: mpsc::Sender<CoreMsg>,
    writers: Arc<std::sync::Mutex<tokio::task::JoinSet<()>>>,
) {
    let (mut rd, mut wr) = stream.split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(OUTBOUND_FRAMES);
    let wake = Arc::new(AtomicBool::new(false));
    let authenticated = Arc::new(AtomicBool::new(false));
    let (stop_reader, mut stopped) = tokio::sync::oneshot::channel::<()>();
    if core
        .send(CoreMsg::Attach {
            key,
            peer,
            tx,
            wake: wake.clone(),
            authenticated: authenticated.clone(),
            stop_reader,
        })
        .await
        .is_err()
    {
        return;
    }
    let core_w = core.clone();
    let writer = async move {
        while let Some(frame) = rx.recv().await {
            if wr.write_all(&frame).await.is_err() {
                break;
            }
            // Flush once the queue is empty, so a burst of frames shares
            // Noise and Yamux frames instead of one each.
            if rx.is_empty() && wr.flush().await.is_err() {
                break;
            }
            // The core found the queue full and is waiting for room.
            if wake.swap(false, Ordering::AcqRel)
                && core_w.send(CoreMsg::Writable { key }).await.is_err()
            {
                break;
            }
        }
        let _ = wr.close().await;
    };
    {
        let mut set = writers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Finished writers are reaped here, so a long-running node keeps no
        // record of every stream it ever had.
        while set.try_join_next().is_some() {}
        set.spawn(writer);
    }
    let mut frames = FrameReader::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0usize;
    let reason = 'read: loop {
        // Both branches are cancel-safe: a read that loses the race has
        // consumed nothing, and the stop signal is a oneshot.
        let r = tokio::select! {
            r = rd.read(&mut buf) => r,
            _ = &mut stopped => return,
        };
        match r {
            Ok(0) => break "the peer closed the stream".to_owned(),
            Ok(n) => {
                frames.extend(&buf[..n]);
                received = received.saturating_add(n);
                if received > PRE_AUTH_BYTES && !authenticated.load(Ordering::Acquire) {
                    break 'read format!(
                        "peer {peer} sent over {PRE_AUTH_BYTES} bytes without proving membership"
                    );
                }
                loop {
                    match frames.next_frame() {
                        Ok(Some(body)) => {
                            // Waits while the core is behind: back-pressure
                            // reaches the peer through the stream window.
                            if core.send(CoreMsg::Frame { key, body }).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => break 'read format!("peer {peer}: {e}"),
                    }
                }
            }
            Err(e) => break e.to_string(),
        }
    };
    let _ = core.send(CoreMsg::Detach { key, reason }).await;
}
