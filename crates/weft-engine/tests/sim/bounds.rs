//! The bound on how many devices' changes a workspace accepts: a member
//! cannot grow every version vector and every `have` without limit by
//! inventing authors.

use weft_crypto::{DeviceKey, MemoryStore, WorkspaceKey, WorkspaceSecrets};
use weft_engine::Workspace;

use crate::trace::sync;

#[test]
fn changes_from_devices_past_the_bound_are_refused_and_the_rest_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = weft_core::WorkspaceId::from_bytes([4; 16]);
    let secrets = [MemoryStore::new(), MemoryStore::new(), MemoryStore::new()];
    let mut dev: Vec<Workspace> = (0..3)
        .map(|i| {
            Workspace::create_in(
                &dir.path().join(format!("d{i}")),
                "bounds",
                workspace,
                WorkspaceSecrets {
                    workspace_key: WorkspaceKey::from_bytes([7; 32]),
                    device_key: DeviceKey::from_seed([i as u8 + 11; 32]),
                },
                &secrets[i],
            )
            .unwrap()
        })
        .collect();
    dev[0].set_max_authors(2);
    dev[0].create_note("mine", &[], "from 0").unwrap();
    dev[1].create_note("second", &[], "from 1").unwrap();
    dev[2].create_note("third", &[], "from 2").unwrap();
    let (a, rest) = dev.split_at_mut(1);
    // Device 1 is the second author: accepted.
    sync(&mut rest[0], &mut a[0], None, 1);
    // Device 2 would be the third: refused, and nothing of it is stored.
    sync(&mut rest[1], &mut a[0], None, 2);
    let vv = a[0].version_vector().unwrap();
    assert!(vv.get(&rest[0].device_id()) > 0);
    assert_eq!(vv.get(&rest[1].device_id()), 0);
    let listed = titles(&a[0]);
    assert!(listed.contains(&"second".to_owned()), "{listed:?}");
    assert!(!listed.contains(&"third".to_owned()), "{listed:?}");
    // Known devices keep syncing past the bound.
    rest[0].create_note("later", &[], "still from 1").unwrap();
    sync(&mut rest[0], &mut a[0], None, 3);
    let listed = titles(&a[0]);
    assert!(listed.contains(&"later".to_owned()), "{listed:?}");
}

fn titles(ws: &Workspace) -> Vec<String> {
    ws.list(false)
        .unwrap()
        .into_iter()
        .map(|d| d.title)
        .collect()
}
