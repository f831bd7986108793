//! Hosting weft-sync sessions on streams: what a device's node (weft-engine's core
//! thread) and a relay's shards share. One stream is a [`Link`] on the thread that owns
//! its [`Session`], and a [`StreamEnd`] for the stream's reader and writer tasks; the
//! link moves a session's frames into the stream's bounded queue without ever blocking
//! that thread ([`Link::transmit`]), and [`write_frames`] drains the queue onto the
//! stream, waking the owner when it waited for room. A slow peer only slows itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use weft_sync::{Log, Session, SessionError, prefixed};

/// Frames queued for one peer's writer. The owner stops producing for that peer (and
/// only that peer) when it is full.
pub const OUTBOUND_FRAMES: usize = 32;

/// Bytes a peer may send before it has proved membership: a hello and a proof are
/// under 200 bytes, so anything near this is not a Weft device. Without it a stranger
/// could make every stream buffer a whole maximum frame (16 MiB) before the session
/// looks at it.
pub const PRE_AUTH_BYTES: usize = 64 * 1024;

/// The owner's end of one stream.
pub struct Link {
    tx: mpsc::Sender<Vec<u8>>,
    /// Bytes in the queue (the writer subtracts what it wrote).
    queued: Arc<AtomicUsize>,
    wake: Arc<AtomicBool>,
    authenticated: Arc<AtomicBool>,
    /// Dropped with the link: tells the stream's reader to stop, so a session that
    /// ended (timeout, replacement, refusal) holds no buffers.
    _stop_reader: oneshot::Sender<()>,
}

/// The stream tasks' end of one stream.
pub struct StreamEnd {
    /// Frames to write, from the owner.
    pub frames: Queue,
    /// Set by the owner when it found the queue full: the writer wakes it.
    pub wake: Arc<AtomicBool>,
    /// Set once the peer proved membership, for the reader's [`PRE_AUTH_BYTES`] bound.
    pub authenticated: Arc<AtomicBool>,
    /// Resolves when the owner let go of the link: the reader stops.
    pub stopped: oneshot::Receiver<()>,
}

/// The writer's end of a stream's queue, which counts the bytes in it.
pub struct Queue {
    rx: mpsc::Receiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
}

impl Queue {
    /// The next frame (length-prefixed); `None` once the owner let go and
    /// the queue is empty.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.rx.recv().await
    }

    /// Counts a frame as written.
    fn written(&self, n: usize) {
        self.queued.fetch_sub(n, Ordering::AcqRel);
    }

    fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }
}

/// A new stream's two ends.
pub fn link() -> (Link, StreamEnd) {
    let (tx, rx) = mpsc::channel(OUTBOUND_FRAMES);
    let queued = Arc::new(AtomicUsize::new(0));
    let frames = Queue {
        rx,
        queued: queued.clone(),
    };
    let wake = Arc::new(AtomicBool::new(false));
    let authenticated = Arc::new(AtomicBool::new(false));
    let (stop_reader, stopped) = oneshot::channel();
    (
        Link {
            tx,
            queued,
            wake: wake.clone(),
            authenticated: authenticated.clone(),
            _stop_reader: stop_reader,
        },
        StreamEnd {
            frames,
            wake,
            authenticated,
            stopped,
        },
    )
}

/// How far [`Link::transmit`] got.
#[derive(Debug)]
pub enum Transmit {
    /// The session has nothing more to send for now: handle its events, which may
    /// give it more (an acknowledgement of stored changes).
    Idle,
    /// The queue is full; the writer wakes the owner when it has room.
    Full,
    /// The writer is gone; the stream's reader reports the end.
    Closed,
    /// The session failed: [`Link::flush`] what it still has to say, then drop it.
    Failed(SessionError),
}

impl Link {
    /// Marks the peer as having proved membership (lifts the reader's bound).
    pub fn set_authenticated(&self) {
        self.authenticated.store(true, Ordering::Release);
    }

    /// Queues one frame body (length-prefixed here) if there is room; false if not.
    pub fn try_send(&self, body: &[u8]) -> bool {
        let frame = prefixed(body);
        let n = frame.len();
        let ok = self.tx.try_send(frame).is_ok();
        if ok {
            self.queued.fetch_add(n, Ordering::AcqRel);
        }
        ok
    }

    /// Bytes queued and not yet written to the stream.
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    fn send(&self, permit: mpsc::Permit<'_, Vec<u8>>, body: &[u8]) {
        let frame = prefixed(body);
        self.queued.fetch_add(frame.len(), Ordering::AcqRel);
        permit.send(frame);
    }

    /// A slot in the queue, or why there is none. When the queue is full the writer is
    /// asked to wake the owner; it may have emptied the queue between the failed
    /// reserve and the flag and be parked without seeing it, so the reserve is tried
    /// once more before giving up.
    fn reserve(&self) -> Result<mpsc::Permit<'_, Vec<u8>>, Transmit> {
        match self.tx.try_reserve() {
            Ok(p) => Ok(p),
            Err(mpsc::error::TrySendError::Full(())) => {
                self.wake.store(true, Ordering::Release);
                match self.tx.try_reserve() {
                    Ok(p) => {
                        self.wake.store(false, Ordering::Release);
                        Ok(p)
                    }
                    Err(mpsc::error::TrySendError::Full(())) => Err(Transmit::Full),
                    Err(mpsc::error::TrySendError::Closed(())) => Err(Transmit::Closed),
                }
            }
            Err(mpsc::error::TrySendError::Closed(())) => Err(Transmit::Closed),
        }
    }

    /// Moves what `session` has to send into the queue while it has room.
    pub fn transmit(&self, session: &mut Session, now_ms: u64, log: &dyn Log) -> Transmit {
        self.transmit_until(session, now_ms, log, usize::MAX)
    }

    /// Like [`Link::transmit`], but also stops (as [`Transmit::Full`], the writer
    /// waking the owner) once `max_bytes` are queued: an owner that counts its memory
    /// bounds what one slow peer holds. A frame is never split, so the queue may pass
    /// `max_bytes` by one frame.
    pub fn transmit_until(
        &self,
        session: &mut Session,
        now_ms: u64,
        log: &dyn Log,
        max_bytes: usize,
    ) -> Transmit {
        loop {
            if self.queued_bytes() >= max_bytes {
                self.wake.store(true, Ordering::Release);
                // The writer may have drained the queue before seeing the flag.
                if self.queued_bytes() >= max_bytes {
                    return Transmit::Full;
                }
                self.wake.store(false, Ordering::Release);
            }
            let permit = match self.reserve() {
                Ok(p) => p,
                Err(t) => return t,
            };
            match session.poll_transmit(now_ms, log) {
                Ok(Some(body)) => self.send(permit, &body),
                Ok(None) => return Transmit::Idle,
                Err(e) => return Transmit::Failed(e),
            }
        }
    }

    /// Queues what a failed (closed) session still has to send, its refusal, as far
    /// as the queue takes it; the writer sends it and closes the stream once the link
    /// is dropped.
    pub fn flush(&self, session: &mut Session, now_ms: u64, log: &dyn Log) {
        while let Ok(permit) = self.tx.try_reserve() {
            match session.poll_transmit(now_ms, log) {
                Ok(Some(body)) => self.send(permit, &body),
                _ => break,
            }
        }
    }
}

/// Writes the queued frames onto `wr` until the owner drops the link, flushing once
/// the queue is empty (so a burst of frames shares the transport's frames), and calls
/// `writable` whenever the owner found the queue full and waits for room; `writable`
/// returns false when the owner is gone. Closes the stream at the end.
pub async fn write_frames<W, F, Fut>(
    mut wr: W,
    mut frames: Queue,
    wake: Arc<AtomicBool>,
    mut writable: F,
) where
    W: AsyncWrite + Unpin,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    while let Some(frame) = frames.recv().await {
        let written = wr.write_all(&frame).await;
        frames.written(frame.len());
        if written.is_err() {
            break;
        }
        if frames.is_empty() && wr.flush().await.is_err() {
            break;
        }
        if wake.swap(false, Ordering::AcqRel) && !writable().await {
            break;
        }
    }
    let _ = wr.close().await;
}

/// Every stream's writer task, so that shutting down can wait until the last
/// frames (acknowledgements, refusals) are on the wire instead of sleeping.
#[derive(Default)]
pub struct Writers(std::sync::Mutex<tokio::task::JoinSet<()>>);

impl Writers {
    /// Runs a writer (e.g. [`write_frames`]) on the current runtime. Finished
    /// writers are reaped here, so a long-running host keeps no record of every
    /// stream it ever had.
    pub fn spawn(&self, writer: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut set = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while set.try_join_next().is_some() {}
        set.spawn(writer);
    }

    /// Waits until every writer has finished (their owners dropped the links, so
    /// each sends what is queued and closes), for at most `deadline`: a peer that
    /// stopped reading cannot hold shutdown longer. Returns how many were still
    /// busy, and stops them.
    pub async fn join(&self, deadline: std::time::Duration) -> usize {
        let mut set = std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let drained =
            tokio::time::timeout(deadline, async { while set.join_next().await.is_some() {} })
                .await;
        let busy = set.len();
        if drained.is_err() {
            set.abort_all();
        }
        busy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_writer_sends_in_order_wakes_the_owner_and_closes() {
        let (link, end) = link();
        for i in 0..OUTBOUND_FRAMES {
            assert!(link.try_send(&[i as u8]));
        }
        // Full: the owner asks to be woken.
        assert!(matches!(link.reserve(), Err(Transmit::Full)));
        assert_eq!(
            link.queued_bytes(),
            OUTBOUND_FRAMES * 5,
            "queued bytes counted"
        );
        let queued = end.frames.queued.clone();
        let (woke_tx, mut woke) = mpsc::unbounded_channel();
        let mut out = futures::io::Cursor::new(Vec::new());
        drop(link);
        write_frames(&mut out, end.frames, end.wake, || {
            let w = woke_tx.clone();
            async move { w.send(()).is_ok() }
        })
        .await;
        let bytes = out.into_inner();
        assert_eq!(queued.load(Ordering::Acquire), 0, "written bytes uncounted");
        // Every frame, length-prefixed, in order.
        assert_eq!(bytes.len(), OUTBOUND_FRAMES * 5);
        for (i, f) in bytes.chunks(5).enumerate() {
            assert_eq!(f, [0, 0, 0, 1, i as u8]);
        }
        assert!(woke.try_recv().is_ok(), "the owner was not woken");
    }

    #[tokio::test]
    async fn shutdown_waits_for_the_writers_but_not_forever() {
        let writers = Writers::default();
        let (link, end) = link();
        assert!(link.try_send(b"last words"));
        let (out_tx, out_rx) = tokio::sync::oneshot::channel();
        writers.spawn(async move {
            let mut out = futures::io::Cursor::new(Vec::new());
            write_frames(&mut out, end.frames, end.wake, || async { true }).await;
            let _ = out_tx.send(out.into_inner());
        });
        // A writer whose peer never reads: held past the deadline, then stopped.
        writers.spawn(std::future::pending());
        drop(link);
        let busy = writers.join(std::time::Duration::from_millis(200)).await;
        assert_eq!(busy, 1);
        assert_eq!(out_rx.await.unwrap(), prefixed(b"last words"));
    }

    #[tokio::test]
    async fn dropping_the_link_stops_the_reader() {
        let (link, end) = link();
        assert!(!end.authenticated.load(Ordering::Acquire));
        link.set_authenticated();
        assert!(end.authenticated.load(Ordering::Acquire));
        drop(link);
        assert!(end.stopped.await.is_err());
    }
}
