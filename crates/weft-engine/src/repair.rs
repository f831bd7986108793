//! Repairs for `weft doctor`: check the file, rebuild every cached snapshot from the
//! log (the log is the truth), and salvage the readable change rows of a file too
//! damaged to use into a fresh one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use weft_core::{DeviceId, DocKind, Seq};
use weft_crypto::{KeyringStore, PassphraseFile, SecretStore};
use weft_store::{Salvage, Store, StoreError, StoredChange};
use zeroize::Zeroizing;

use crate::EngineError;
use crate::home::{DB_FILE, KEY_FILE};
use crate::load::read_change;
use crate::workspace::{
    INDEX_DOC, KEYRING_SERVICE, KEYS_FILE, KEYS_KEYRING, META_KEYS, META_NAME, Workspace,
};

/// What rebuilding the snapshots did.
#[derive(Debug, Clone, Serialize)]
pub struct Rebuilt {
    /// Notes and records whose snapshot was rebuilt from the log.
    pub documents: usize,
    /// Whether the index (titles, folders) was rebuilt from the log.
    pub index: bool,
    /// Documents whose changes could not be read or applied: still unreadable.
    pub unreadable: Vec<UnreadableDoc>,
}

/// A document the log cannot rebuild.
#[derive(Debug, Clone, Serialize)]
pub struct UnreadableDoc {
    /// Its id (hex).
    pub id: String,
    /// Its title, if the index knows it.
    pub title: Option<String>,
    /// Why.
    pub detail: String,
}

/// What a salvage kept and lost.
#[derive(Debug, Clone, Serialize)]
pub struct Salvaged {
    /// Where the damaged file now is, kept as it was found.
    pub damaged_copy: PathBuf,
    /// Change rows copied into the fresh file.
    pub kept: usize,
    /// Change rows whose page could not be read.
    pub unreadable_rows: usize,
    /// Per device, the changes the fresh file lacks (unreadable, failing their
    /// signature, or after such a one: a device's changes are kept in order).
    pub lost: Vec<LostChanges>,
    /// Whether the file's own record of each device's last change could be read;
    /// if not, changes lost at the end of a device's run are not known here.
    pub heads_known: bool,
    /// Tables of local bookkeeping (peers, relays) that could not be copied.
    pub tables_lost: Vec<String>,
}

/// A run of one device's changes that the salvaged file lacks.
#[derive(Debug, Clone, Serialize)]
pub struct LostChanges {
    /// The device (hex).
    pub device: String,
    /// The first seq missing.
    pub from: Seq,
    /// The last seq missing.
    pub to: Seq,
}

/// SQLite's full `integrity_check` of the workspace file in `home`: the problems found
/// (none: healthy). A file SQLite cannot even open is one problem, said.
pub fn check_file(home: &Path) -> Result<Vec<String>, EngineError> {
    let found = Store::open(&home.join(DB_FILE)).and_then(|s| s.integrity_check());
    match found {
        Ok(lines) => Ok(lines.into_iter().filter(|l| l != "ok").collect()),
        Err(e @ (StoreError::Damaged { .. } | StoreError::NotWeft { .. })) => {
            Ok(vec![e.to_string()])
        }
        Err(e) => Err(e.into()),
    }
}

/// Drops every cached snapshot of the workspace in `home` and rebuilds them, and the
/// index, from the change log (see [`Workspace::rebuild_snapshots`]). The snapshots
/// are dropped before the workspace is opened, as opening reads the index's.
pub fn rebuild(home: &Path, passphrase: Option<&str>) -> Result<Rebuilt, EngineError> {
    Store::open(&home.join(DB_FILE))?.clear_snapshots()?;
    let mut ws = Workspace::open(home, passphrase)?;
    let rebuilt = ws.rebuild_snapshots()?;
    ws.close()?;
    Ok(rebuilt)
}

impl Workspace {
    /// `PRAGMA quick_check`: an error naming `weft doctor` if pages are damaged.
    pub fn quick_check(&self) -> Result<(), EngineError> {
        Ok(self.store.check()?)
    }

    /// Drops every cached snapshot and rebuilds it, and the index, from the change
    /// log. A document whose changes cannot be read is reported and left without a
    /// snapshot; the others are rebuilt.
    pub fn rebuild_snapshots(&mut self) -> Result<Rebuilt, EngineError> {
        self.store.clear_snapshots()?;
        self.docs.clear();
        let rows = self.store.docs()?;
        let mut report = Rebuilt {
            documents: 0,
            index: false,
            unreadable: Vec::new(),
        };
        let mut failed = Vec::new();
        for row in &rows {
            let doc = row.doc;
            let result = if row.kind == DocKind::Index {
                // The tree itself, never the read model alone: its snapshot
                // is what is being rebuilt.
                self.load_index_tree().map(|l| self.index = l)
            } else {
                self.body(&doc).map(|_| ())
            };
            match result.and_then(|()| self.snapshot_doc(&doc)) {
                Ok(()) if doc == INDEX_DOC => report.index = true,
                Ok(()) => report.documents += 1,
                Err(e) => failed.push((doc, e.to_string())),
            }
            if doc != INDEX_DOC {
                self.docs.remove(&doc);
            }
        }
        for (doc, detail) in failed {
            let title = self.index.doc.entry(&doc).map(|e| e.title);
            report.unreadable.push(UnreadableDoc {
                id: doc.to_hex(),
                title,
                detail,
            });
        }
        Ok(report)
    }
}

/// Copies every readable, verified change row of the damaged `weft.db` in `home` into
/// a fresh file, with the workspace's metadata and local bookkeeping, and puts the
/// fresh file in its place; the damaged one stays beside it, renamed. The keys are
/// needed to verify each change (`passphrase` for a key-file workspace).
pub fn salvage(home: &Path, passphrase: Option<&str>) -> Result<Salvaged, EngineError> {
    let db = home.join(DB_FILE);
    let damaged = Salvage::open(&db)?;
    let workspace = damaged.workspace().ok_or_else(|| StoreError::Damaged {
        path: db.clone(),
        detail: "the workspace id cannot be read, so no change can be checked".into(),
    })?;
    let marker = damaged.meta(META_KEYS).unwrap_or_else(|| {
        if home.join(KEY_FILE).is_file() {
            KEYS_FILE.to_vec()
        } else {
            KEYS_KEYRING.to_vec()
        }
    });
    let secrets: Box<dyn SecretStore> = if marker == KEYS_FILE {
        let path = home.join(KEY_FILE);
        let pass = passphrase.ok_or(EngineError::PassphraseRequired { path: path.clone() })?;
        Box::new(PassphraseFile::new(path, Zeroizing::new(pass.to_owned())))
    } else {
        Box::new(KeyringStore::new(KEYRING_SERVICE))
    };
    let data_key = secrets
        .load(&workspace)?
        .workspace_key
        .derive(&workspace)
        .data;

    let tmp = home.join(format!("{DB_FILE}.salvage-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let made = (|| -> Result<_, EngineError> {
        let mut fresh = Store::create(&tmp, workspace)?;
        fresh.set_meta(META_KEYS, &marker)?;
        let name = damaged
            .meta(META_NAME)
            .unwrap_or_else(|| b"recovered".to_vec());
        fresh.set_meta(META_NAME, &name)?;
        let mut kept: BTreeMap<DeviceId, Seq> = BTreeMap::new();
        let mut seen: BTreeMap<DeviceId, Seq> = BTreeMap::new();
        let (mut count, mut unreadable) = (0, 0);
        let mut batch: Vec<StoredChange> = Vec::new();
        let last = damaged.last_row();
        for id in 1..=last {
            let c = match damaged.change(workspace, id) {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(_) => {
                    unreadable += 1;
                    continue;
                }
            };
            let h = c.change.header();
            let top = seen.entry(h.author).or_default();
            *top = (*top).max(h.seq);
            let head = kept.entry(h.author).or_default();
            // Kept only in order: a change after a missing one would be a gap.
            if h.seq != *head + 1 || read_change(&data_key, &c).is_err() {
                continue;
            }
            *head = h.seq;
            batch.push(c);
            if batch.len() >= 1000 {
                count += append(&mut fresh, &mut batch)?;
            }
        }
        count += append(&mut fresh, &mut batch)?;
        let tables_lost = damaged.copy_local_tables(&fresh);
        let heads = damaged.heads();
        let heads_known = heads.is_some();
        for (author, seq) in heads.unwrap_or_default() {
            let top = seen.entry(author).or_default();
            *top = (*top).max(seq);
        }
        let lost = seen
            .iter()
            .filter_map(|(author, &top)| {
                let have = kept.get(author).copied().unwrap_or(0);
                (top > have).then(|| LostChanges {
                    device: author.to_string(),
                    from: have + 1,
                    to: top,
                })
            })
            .collect();
        Ok((count, unreadable, lost, heads_known, tables_lost))
    })();
    drop(damaged);
    let (kept, unreadable_rows, lost, heads_known, tables_lost) = match made {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let damaged_copy = home.join(format!("{DB_FILE}.damaged-{stamp}"));
    std::fs::rename(&db, &damaged_copy).map_err(EngineError::io(&db))?;
    for suffix in ["-wal", "-shm"] {
        let side = home.join(format!("{DB_FILE}{suffix}"));
        if side.exists() {
            let mut to = damaged_copy.clone().into_os_string();
            to.push(suffix);
            std::fs::rename(&side, &to).map_err(EngineError::io(&side))?;
        }
    }
    std::fs::rename(&tmp, &db).map_err(EngineError::io(&db))?;
    Ok(Salvaged {
        damaged_copy,
        kept,
        unreadable_rows,
        lost,
        heads_known,
        tables_lost: tables_lost.into_iter().map(str::to_owned).collect(),
    })
}

/// Appends `batch` (each change the next of its author) in one transaction.
fn append(fresh: &mut Store, batch: &mut Vec<StoredChange>) -> Result<usize, EngineError> {
    let n = batch.len();
    fresh.write(|tx| -> Result<(), EngineError> {
        for c in batch.iter() {
            tx.append_at(&c.change, c.stored_at_ms, c.stored_at_ms)?;
        }
        Ok(())
    })?;
    batch.clear();
    Ok(n)
}
