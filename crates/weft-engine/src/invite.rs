//! Making an invite code for this workspace, and joining with one.

use std::path::Path;

use weft_crypto::{Invite, WorkspaceKey};

use crate::{EngineError, KeyBackend, Workspace};

/// The addresses of an invite that could not be used when joining (they do
/// not parse as multiaddrs): the caller says so, and the join goes on.
#[derive(Debug, Default)]
pub struct Joined {
    /// Peer addresses that were ignored.
    pub bad_peers: Vec<String>,
    /// Relay addresses that were ignored.
    pub bad_relays: Vec<String>,
}

impl Workspace {
    /// An invite to this workspace: its id, a copy of its key and its name,
    /// plus `peers`, the addresses (multiaddrs with `/p2p/` id) at which
    /// this device can be dialled. Encode it with [`Invite::encode`].
    ///
    /// The peers come from the caller because only a running node knows
    /// where it listens; the addresses added with `weft peer add` are other
    /// devices', not this one's, so they are not included.
    pub fn invite(&self, peers: Vec<String>) -> Result<Invite, EngineError> {
        Ok(Invite {
            workspace: self.workspace_id(),
            // A second owned copy: the invite is dropped (and wiped) on its
            // own schedule, independently of the open workspace.
            key: WorkspaceKey::from_bytes(*self.secrets.workspace_key.expose_secret()),
            // The new device syncs through the same relays; one being
            // forgotten is left out.
            relays: self
                .relays()?
                .into_iter()
                .filter(|r| !r.forget)
                .map(|r| r.addr)
                .collect(),
            peers,
            name: self.name()?,
        })
    }
}

/// The listen addresses worth putting in an invite: loopback ones reach
/// only this machine, so they are left out.
pub fn shareable_addrs(addrs: impl IntoIterator<Item = String>) -> Vec<String> {
    addrs
        .into_iter()
        .filter(|a| !a.starts_with("/ip4/127.") && !a.starts_with("/ip6/::1/"))
        .collect()
}

impl Workspace {
    /// Makes this machine a new device of the invite's workspace at `home`:
    /// the workspace key from the invite, a new device key, and the invite's
    /// peers and relays stored so that a node dials them. An existing
    /// workspace at `home` is refused and left as it is.
    pub fn join_invite(
        home: &Path,
        invite: Invite,
        keys: KeyBackend,
    ) -> Result<(Workspace, Joined), EngineError> {
        if Workspace::exists(home) {
            return Err(EngineError::AlreadyExists {
                home: home.to_owned(),
            });
        }
        let Invite {
            workspace,
            key,
            relays,
            peers,
            name,
        } = invite;
        let ws = Workspace::join(home, &name, workspace, key, keys)?;
        let mut joined = Joined::default();
        for a in peers {
            if a.parse::<crate::node::Multiaddr>().is_ok() {
                ws.add_peer_addr(&a)?;
            } else {
                joined.bad_peers.push(a);
            }
        }
        // The node registers with them and pulls through them like from any
        // peer, which is how a device that never meets the inviter joins.
        for a in relays {
            if crate::parse_relay_addr(&a).is_ok() {
                ws.add_relay(&a)?;
            } else {
                joined.bad_relays.push(a);
            }
        }
        Ok((ws, joined))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use zeroize::Zeroizing;

    use crate::{KeyBackend, Workspace};

    #[test]
    fn the_invite_carries_this_workspace_and_survives_its_code() {
        let dir = tempfile::tempdir().unwrap();
        let pass = KeyBackend::Passphrase(Zeroizing::new("p".into()));
        let ws = Workspace::init(dir.path(), "Family", pass).unwrap();
        let peer =
            "/ip4/192.0.2.7/tcp/4466/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
        let code = ws.invite(vec![peer.to_owned()]).unwrap().encode();

        let back = weft_crypto::Invite::decode(&code).unwrap();
        assert_eq!(back.workspace, ws.workspace_id());
        assert_eq!(back.name, "Family");
        assert_eq!(
            back.key.expose_secret(),
            ws.secrets.workspace_key.expose_secret()
        );
        assert_eq!(back.peers, [peer]);
        assert!(back.relays.is_empty());
    }
}
