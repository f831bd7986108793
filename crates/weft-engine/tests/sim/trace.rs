//! The friendsforever trace (testdata/traces), replayed as two devices
//! typing concurrently: each agent's keystrokes are committed on its own
//! device, and a device receives the other's changes through a real sync
//! session exactly when the trace says the agent saw them (a txn's parents),
//! no earlier. At the end both devices sync fully and must hold the same
//! text, which must be the trace's final text.

use std::io::Read;

use serde::Deserialize;
use weft_core::{DeviceId, Seq, VersionVector};
use weft_crypto::{DeviceKey, MemoryStore, SealedChange, WorkspaceKey, WorkspaceSecrets};
use weft_engine::{StoreLog, Workspace};
use weft_sync::{Event, Limits, Log, LogError, Role};

#[derive(Deserialize)]
struct Trace {
    #[serde(rename = "endContent")]
    end: String,
    txns: Vec<Txn>,
}

#[derive(Deserialize)]
struct Txn {
    parents: Vec<usize>,
    agent: usize,
    patches: Vec<(usize, usize, String)>,
}

fn load() -> Trace {
    let dir = std::env::var("WEFT_TRACES").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/traces").to_owned()
    });
    let path = format!("{dir}/friendsforever.json.gz");
    let file =
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e} (set WEFT_TRACES)"));
    let mut json = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

/// A device's log as another device may see it so far: nothing past `cap`.
struct Capped<'a> {
    inner: StoreLog<'a>,
    cap: VersionVector,
}

impl Log for Capped<'_> {
    fn vector(&self) -> Result<VersionVector, LogError> {
        let mut v = self.inner.vector()?;
        let authors: Vec<(DeviceId, Seq)> = v.iter().map(|(a, s)| (*a, *s)).collect();
        for (a, s) in authors {
            v.set(a, s.min(self.cap.get(&a)));
        }
        Ok(v)
    }
    fn changes_after(
        &self,
        author: &DeviceId,
        after: Seq,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<SealedChange>, LogError> {
        let cap = self.cap.get(author);
        Ok(self
            .inner
            .changes_after(author, after, max_count, max_bytes)?
            .into_iter()
            .filter(|c| c.header().seq <= cap)
            .collect())
    }
}

/// Runs one session pair over a perfect link until both sides are quiet:
/// `from` offers what `cap` allows, `to` stores it (and, capped at what
/// `from` holds, offers nothing back).
pub(crate) fn sync(
    from: &mut Workspace,
    to: &mut Workspace,
    limit: Option<(DeviceId, Seq)>,
    nonce: u8,
) {
    let back = from.version_vector().unwrap();
    let mut cap = back.clone();
    if let Some((author, seq)) = limit {
        cap.set(author, seq.min(cap.get(&author)));
    }
    let mut sf = from.sync_session(
        to.device_id(),
        Role::Device,
        Limits::default(),
        [nonce; 32],
        0,
    );
    let mut st = to.sync_session(
        from.device_id(),
        Role::Device,
        Limits::default(),
        [!nonce; 32],
        0,
    );
    let mut to_t: Vec<Vec<u8>> = Vec::new();
    let mut to_f: Vec<Vec<u8>> = Vec::new();
    for _ in 0..100_000 {
        {
            let log = Capped {
                inner: from.sync_log(),
                cap: cap.clone(),
            };
            for f in to_f.drain(..) {
                sf.handle_frame(&f, 0, &log).unwrap();
            }
            while let Some(e) = sf.poll_event() {
                assert!(
                    !matches!(e, Event::Store(_)),
                    "the sender stores nothing here"
                );
            }
            while let Some(f) = sf.poll_transmit(0, &log).unwrap() {
                to_t.push(f);
            }
        }
        if to_t.is_empty() && to_f.is_empty() {
            return;
        }
        for f in std::mem::take(&mut to_t) {
            let log = Capped {
                inner: to.sync_log(),
                cap: back.clone(),
            };
            st.handle_frame(&f, 0, &log).unwrap();
            let mut stored = Vec::new();
            while let Some(e) = st.poll_event() {
                if let Event::Store(list) = e {
                    stored.extend(list);
                }
            }
            to.ingest(stored).unwrap();
            let log = Capped {
                inner: to.sync_log(),
                cap: back.clone(),
            };
            while let Some(f) = st.poll_transmit(0, &log).unwrap() {
                to_f.push(f);
            }
        }
    }
    panic!("sync did not go quiet");
}

#[test]
fn friendsforever_replayed_by_two_devices_typing_concurrently() {
    let t = load();
    let dir = tempfile::tempdir().unwrap();
    let workspace = weft_core::WorkspaceId::from_bytes([3; 16]);
    let secrets = [MemoryStore::new(), MemoryStore::new()];
    let mut dev: Vec<Workspace> = (0..2)
        .map(|i| {
            Workspace::create_in(
                &dir.path().join(format!("d{i}")),
                "ff",
                workspace,
                WorkspaceSecrets {
                    workspace_key: WorkspaceKey::from_bytes([9; 32]),
                    device_key: DeviceKey::from_seed([i as u8 + 1; 32]),
                },
                &secrets[i],
            )
            .unwrap()
        })
        .collect();
    let doc = dev[0].create_note("friends", &[], "").unwrap();
    {
        let (a, b) = dev.split_at_mut(1);
        sync(&mut a[0], &mut b[0], None, 1);
    }
    let ids = [dev[0].device_id(), dev[1].device_id()];
    // A txn that the other agent lists as a parent ends a commit, so the
    // other device can receive exactly the state the trace says it saw.
    let mut seen_by_other = vec![false; t.txns.len()];
    for txn in &t.txns {
        for &p in &txn.parents {
            if t.txns[p].agent != txn.agent {
                seen_by_other[p] = true;
            }
        }
    }
    // The seq each txn's change got on its author's device.
    let mut seq_of: Vec<Seq> = vec![0; t.txns.len()];
    let mut pending = [false, false];
    let mut commits = 0;
    for (i, txn) in t.txns.iter().enumerate() {
        let g = txn.agent;
        let o = 1 - g;
        let need = txn
            .parents
            .iter()
            .filter(|&&p| t.txns[p].agent == o)
            .map(|&p| seq_of[p])
            .max()
            .unwrap_or(0);
        let have = dev[g].version_vector().unwrap().get(&ids[o]);
        if need > have {
            if pending[g] {
                dev[g].commit_edits(&doc, "typing").unwrap();
                pending[g] = false;
                commits += 1;
            }
            let (lo, hi) = dev.split_at_mut(1);
            let (from, to) = if o == 0 {
                (&mut lo[0], &mut hi[0])
            } else {
                (&mut hi[0], &mut lo[0])
            };
            sync(from, to, Some((ids[o], need)), i as u8);
        }
        dev[g]
            .with_note(&doc, |n| {
                for (pos, del, ins) in &txn.patches {
                    if *del > 0 {
                        n.delete(*pos, *del).unwrap();
                    }
                    if !ins.is_empty() {
                        n.insert(*pos, ins).unwrap();
                    }
                }
            })
            .unwrap();
        pending[g] = true;
        if seen_by_other[i] {
            dev[g].commit_edits(&doc, "typing").unwrap();
            pending[g] = false;
            commits += 1;
        }
        seq_of[i] = dev[g].version_vector().unwrap().get(&ids[g]);
    }
    for g in 0..2 {
        if pending[g] {
            dev[g].commit_edits(&doc, "typing").unwrap();
        }
    }
    // Finally everything, both ways.
    let (lo, hi) = dev.split_at_mut(1);
    sync(&mut lo[0], &mut hi[0], None, 200);
    sync(&mut hi[0], &mut lo[0], None, 201);
    let texts: Vec<String> = dev
        .iter_mut()
        .map(|d| d.with_note(&doc, |n| n.plain_text()).unwrap())
        .collect();
    assert_eq!(texts[0], texts[1], "the two devices differ");
    assert_eq!(
        texts[0].trim_end_matches('\n'),
        t.end.trim_end_matches('\n'),
        "after {commits} commits"
    );
}
