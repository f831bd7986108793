//! Device ids are libp2p PeerIds of the device's Ed25519 key: the same
//! bytes, so converting is exact and needs no lookup table.

use libp2p::PeerId;
use libp2p::identity::{PublicKey, ed25519};
use weft_core::DeviceId;

/// The PeerId of a device.
pub fn peer_of(device: &DeviceId) -> PeerId {
    match ed25519::PublicKey::try_from_bytes(device.public_key()) {
        Ok(pk) => PublicKey::from(pk).to_peer_id(),
        // A DeviceId that is not a valid curve point cannot come from a
        // device key; map it to an id no real peer has rather than panic.
        Err(_) => PeerId::random(),
    }
}

/// The device behind a PeerId, if it is an Ed25519 identity (every Weft
/// device's is; other libp2p nodes' may not be).
pub fn device_of(peer: &PeerId) -> Option<DeviceId> {
    peer.to_string().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_and_peer_ids_are_the_same_key() {
        let kp = libp2p::identity::Keypair::generate_ed25519();
        let peer = kp.public().to_peer_id();
        let device = device_of(&peer).expect("ed25519 peer id");
        assert_eq!(peer_of(&device), peer);
        assert_eq!(device.to_string(), peer.to_string());
    }

    #[test]
    fn a_non_ed25519_peer_has_no_device() {
        assert!(device_of(&PeerId::random()).is_none());
    }
}
