//! Making an invite code for this workspace.

use weft_crypto::{Invite, WorkspaceKey};

use crate::{EngineError, Workspace};

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
