//! One sync stream: a reader task that splits it into frames for the core,
//! and a writer task (weft-net's `host::write_frames`) that drains the peer's
//! bounded outbound queue.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::AsyncReadExt;
use tokio::sync::mpsc;
use weft_core::DeviceId;
use weft_net::host::{self, PRE_AUTH_BYTES, StreamEnd};
use weft_sync::FrameReader;

use super::core::CoreMsg;

/// Runs one stream until either side closes it.
pub(crate) async fn run(
    key: u64,
    peer: DeviceId,
    stream: weft_net::Stream,
    core: mpsc::Sender<CoreMsg>,
    writers: Arc<host::Writers>,
) {
    let (mut rd, wr) = stream.split();
    let (link, end) = host::link();
    let StreamEnd {
        frames: queue,
        wake,
        authenticated,
        mut stopped,
    } = end;
    if core
        .send(CoreMsg::Attach { key, peer, link })
        .await
        .is_err()
    {
        return;
    }
    let core_w = core.clone();
    let writer = host::write_frames(wr, queue, wake, move || {
        // The core found the queue full and is waiting for room.
        let core = core_w.clone();
        async move { core.send(CoreMsg::Writable { key }).await.is_ok() }
    });
    writers.spawn(writer);
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
