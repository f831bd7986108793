//! The device's side of a relay: the control requests (register, forget)
//! over `/weft/relay/1`, and how a relay's refusals turn into a retry time
//! and a status line. The core (`core.rs`) keeps one [`RelayLink`] per
//! configured relay.

use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};
use weft_core::DeviceId;
use weft_net::{Multiaddr, NetHandle, Protocol};
use weft_store::{RelayRecord, RelayState};
use weft_sync::relay::{MAX_CONTROL_FRAME, Request, Response};
use weft_sync::{RefuseCode, SessionError};

/// A control request gets this long for its answer.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(15);

/// What the core knows of one relay (one peer id, which may have been
/// added at several addresses: a relay on two networks, or an invite's
/// address that this device cannot reach and one it can).
#[derive(Debug)]
pub(crate) struct RelayLink {
    /// Every address it was added at, in table order.
    pub(crate) addrs: Vec<Multiaddr>,
    /// The address the current connection uses, for the circuit slot.
    pub(crate) connected_addr: Option<Multiaddr>,
    /// Its state; saved to every row of this relay.
    pub(crate) rec: RelayRecord,
    /// The workspace is registered there (this run).
    pub(crate) registered: bool,
    /// A control request is in flight.
    pub(crate) busy: bool,
    /// Nothing is tried before this (core time, ms).
    pub(crate) retry_at_ms: u64,
    /// A circuit reservation was asked for on the current connection.
    pub(crate) reserved: bool,
    pub(crate) connected: bool,
    /// `rec` changed and is not saved yet.
    pub(crate) dirty: bool,
}

impl RelayLink {
    pub(crate) fn new(addr: Multiaddr, rec: RelayRecord) -> Self {
        Self {
            addrs: vec![addr],
            connected_addr: None,
            rec,
            registered: false,
            busy: false,
            retry_at_ms: 0,
            reserved: false,
            connected: false,
            dirty: false,
        }
    }

    /// Records how the relay is doing, for `weft status` and `weft relay add`.
    pub(crate) fn set_status(&mut self, state: RelayState, status: String, now_ms: i64) {
        if self.rec.status != status || self.rec.state != state {
            self.rec.state = state;
            self.rec.status = status;
            self.rec.status_ms = Some(now_ms);
            self.dirty = true;
        }
    }
}

/// The relay's peer id: the `/p2p/` at the end of its address.
pub(crate) fn relay_peer(addr: &Multiaddr) -> Option<DeviceId> {
    match addr.iter().last() {
        Some(Protocol::P2p(id)) => weft_net::device_of(&id),
        _ => None,
    }
}

/// After a relay session ended with `e`: how long to wait before trying
/// again, whether the workspace must be registered again, and what to
/// show the user (None: nothing worth showing, e.g. a dropped link).
pub(crate) fn after_session_error(
    e: &SessionError,
) -> (Duration, bool, Option<(RelayState, String)>) {
    match e {
        SessionError::Refused {
            code,
            message,
            retry_after_s,
            ..
        } => {
            // The relay's own word on when to come back (protocol feature
            // `REFUSE_RETRY_AFTER`), within reason; else a default per reason.
            let after = |default: u64| {
                Duration::from_secs(retry_after_s.map_or(default, |s| u64::from(s).clamp(1, 3600)))
            };
            match code {
                RefuseCode::UnknownWorkspace => (Duration::from_secs(1), true, None),
                RefuseCode::QuotaExceeded => (
                    after(60),
                    false,
                    Some((RelayState::QuotaFull, format!("quota full: {message}"))),
                ),
                RefuseCode::RateLimited => (
                    after(30),
                    false,
                    Some((RelayState::RateLimited, message.clone())),
                ),
                _ => (
                    after(60),
                    false,
                    Some((RelayState::Refused, format!("refused: {message}"))),
                ),
            }
        }
        SessionError::NotMember { .. } | SessionError::UnexpectedRole { .. } => (
            Duration::from_secs(600),
            false,
            Some((RelayState::Refused, e.to_string())),
        ),
        _ => (Duration::from_secs(2), false, None),
    }
}

/// Sends one control request and reads the answer.
pub(crate) async fn control(
    net: &NetHandle,
    relay: DeviceId,
    req: Request,
) -> Result<Response, String> {
    let work = async {
        let mut s = net
            .open_stream(relay, weft_net::RELAY_CONTROL_PROTOCOL)
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(&weft_sync::prefixed(&req.encode()))
            .await
            .map_err(|e| e.to_string())?;
        s.flush().await.map_err(|e| e.to_string())?;
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.map_err(|e| e.to_string())?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_CONTROL_FRAME {
            return Err(format!("the relay answered with {len} bytes"));
        }
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).await.map_err(|e| e.to_string())?;
        let _ = s.close().await;
        Response::decode(&body).map_err(|e| e.to_string())
    };
    match tokio::time::timeout(CONTROL_TIMEOUT, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the relay did not answer within {} s",
            CONTROL_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_retry_time_is_obeyed_within_reason() {
        let refused = |code, retry_after_s| SessionError::Refused {
            peer: DeviceId::from_public_key([7; 32]),
            code,
            message: "rate limited: this relay accepts 4096 KiB/s per device".into(),
            retry_after_s,
        };
        let (wait, again, status) =
            after_session_error(&refused(RefuseCode::RateLimited, Some(31)));
        assert_eq!(wait, Duration::from_secs(31));
        assert!(!again);
        assert_eq!(status.map(|s| s.0), Some(RelayState::RateLimited));
        // No typed time (an older relay): the default, not a number read from prose.
        let (wait, ..) = after_session_error(&refused(RefuseCode::RateLimited, None));
        assert_eq!(wait, Duration::from_secs(30));
        // A relay cannot park a device for days.
        let (wait, ..) = after_session_error(&refused(RefuseCode::QuotaExceeded, Some(u32::MAX)));
        assert_eq!(wait, Duration::from_secs(3600));
    }
}
