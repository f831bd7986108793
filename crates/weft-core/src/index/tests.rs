//! Index tests: the user-visible tree operations, concurrent edits on two
//! replicas, hostile bytes, and a convergence property over random histories.

use proptest::prelude::*;

use super::{FolderEntry, Index, IndexError, parse_folder_path};
use crate::ids::{DocId, DocKind};

fn p(s: &str) -> Vec<String> {
    parse_folder_path(s).unwrap()
}

fn doc(n: u8) -> DocId {
    DocId::from_bytes([n; 16])
}

/// Two replicas sharing `a`'s current state, nothing pending on either.
fn fork(a: &mut Index) -> Index {
    a.commit_pending();
    Index::load(&[&a.export_snapshot().unwrap()]).unwrap()
}

fn exchange(a: &mut Index, b: &mut Index) {
    let from_a = a.commit_pending();
    let from_b = b.commit_pending();
    if let Some(x) = from_a {
        b.import(&x).unwrap();
    }
    if let Some(x) = from_b {
        a.import(&x).unwrap();
    }
}

fn paths(idx: &Index) -> Vec<String> {
    idx.folders()
        .into_iter()
        .map(|f| f.path.join("/"))
        .collect()
}

#[test]
fn folder_paths_parse_like_a_user_types_them() {
    assert_eq!(p("a/b"), vec!["a", "b"]);
    assert_eq!(p(" /Work / Q3 notes/ "), vec!["Work", "Q3 notes"]);
    assert!(p("").is_empty());
    assert!(p("/").is_empty());
    for bad in ["a//b", "/a/ /b"] {
        let err = parse_folder_path(bad).unwrap_err();
        assert!(
            matches!(err, IndexError::InvalidFolderPath { .. }),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains(bad), "{err}");
    }
    assert!(matches!(
        parse_folder_path("a/b\nc"),
        Err(IndexError::InvalidTitle { .. })
    ));
}

#[test]
fn documents_live_in_folders_and_can_be_renamed_moved_and_trashed() {
    let mut idx = Index::new();
    idx.add_doc(doc(1), DocKind::Note, "Shopping", &p("home/lists"), 100)
        .unwrap();
    idx.add_doc(doc(2), DocKind::Record, "Budget", &[], 200)
        .unwrap();
    let e = idx.entry(&doc(1)).unwrap();
    assert_eq!(
        (
            e.kind,
            e.title.as_str(),
            e.folder.clone(),
            e.deleted,
            e.created_ms
        ),
        (DocKind::Note, "Shopping", p("home/lists"), false, 100)
    );
    assert_eq!(paths(&idx), vec!["home", "home/lists"]);
    assert_eq!(
        idx.folders()[0],
        FolderEntry {
            path: p("home"),
            created_ms: 100
        }
    );

    idx.rename(&doc(1), "Groceries").unwrap();
    idx.move_doc(&doc(1), &p("home/errands"), 300).unwrap();
    let e = idx.entry(&doc(1)).unwrap();
    assert_eq!(
        (e.title.as_str(), e.folder),
        ("Groceries", p("home/errands"))
    );

    idx.set_deleted(&doc(1), true).unwrap();
    assert!(idx.entry(&doc(1)).unwrap().deleted);
    assert_eq!(idx.entries().len(), 2, "deleted documents stay listed");
    idx.set_deleted(&doc(1), false).unwrap();
    assert!(!idx.entry(&doc(1)).unwrap().deleted);

    // Survives a snapshot round trip.
    let again = Index::load(&[&idx.export_snapshot().unwrap()]).unwrap();
    assert_eq!(again.entries(), idx.entries());
    assert_eq!(again.folders(), idx.folders());
}

#[test]
fn a_folder_is_renamed_with_everything_in_it() {
    let mut idx = Index::new();
    idx.add_doc(doc(1), DocKind::Note, "Plan", &p("work/q4"), 100)
        .unwrap();
    idx.add_doc(doc(2), DocKind::Note, "Ideas", &p("work"), 100)
        .unwrap();
    idx.add_doc(doc(3), DocKind::Note, "Other", &p("home"), 100)
        .unwrap();
    idx.rename_folder(&p("work"), "Job").unwrap();
    assert_eq!(paths(&idx), vec!["Job", "Job/q4", "home"]);
    assert_eq!(idx.entry(&doc(1)).unwrap().folder, p("Job/q4"));
    assert_eq!(idx.entry(&doc(2)).unwrap().folder, p("Job"));
    assert_eq!(idx.entry(&doc(3)).unwrap().folder, p("home"));

    // A rename to a taken name, of the root, of a missing folder, or to a
    // bad name is refused and changes nothing.
    let before = idx.export_snapshot().unwrap();
    assert!(matches!(
        idx.rename_folder(&p("Job"), "home"),
        Err(IndexError::FolderExists { path }) if path == p("home")
    ));
    assert!(matches!(
        idx.rename_folder(&[], "x"),
        Err(IndexError::InvalidFolderPath { .. })
    ));
    assert!(matches!(
        idx.rename_folder(&p("nope"), "x"),
        Err(IndexError::NoSuchFolder { .. })
    ));
    for bad in ["", "a/b", "two\nlines"] {
        assert!(matches!(
            idx.rename_folder(&p("Job"), bad),
            Err(IndexError::InvalidTitle { .. })
        ));
    }
    assert_eq!(paths(&idx), vec!["Job", "Job/q4", "home"]);
    assert!(
        idx.commit_pending().is_some(),
        "the rename itself is pending"
    );
    let again = Index::load(&[&before]).unwrap();
    assert_eq!(again.entries(), idx.entries());

    // Renaming to the same name writes nothing.
    idx.rename_folder(&p("Job"), "Job").unwrap();
    assert!(idx.commit_pending().is_none());
}

#[test]
fn concurrent_folder_renames_agree_on_one_name() {
    let mut a = Index::new();
    a.add_doc(doc(1), DocKind::Note, "Plan", &p("work"), 100)
        .unwrap();
    let mut b = fork(&mut a);
    a.rename_folder(&p("work"), "Job").unwrap();
    b.rename_folder(&p("work"), "Office").unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(paths(&a), paths(&b));
    assert_eq!(paths(&a).len(), 1);
    assert_eq!(
        a.entry(&doc(1)).unwrap().folder,
        b.entry(&doc(1)).unwrap().folder
    );
}

#[test]
fn a_read_model_is_dropped_once_the_tree_changes_and_damaged_bytes_are_refused() {
    let mut idx = Index::new();
    idx.add_doc(doc(1), DocKind::Note, "One", &p("a"), 1)
        .unwrap();
    let model = idx.read_model();
    let mut copy = Index::load(&[&idx.export_snapshot().unwrap()]).unwrap();
    copy.set_read_model(model.clone()).unwrap();
    assert_eq!(copy.entry(&doc(1)).unwrap().folder, p("a"));
    assert!(!copy.has_model());
    // A change made elsewhere arrives: the adopted model no longer answers.
    idx.rename(&doc(1), "Uno").unwrap();
    copy.import(&idx.commit_pending().unwrap()).unwrap();
    assert_eq!(copy.entry(&doc(1)).unwrap().title, "Uno");
    // So does a change made here.
    let mut here = Index::load(&[&idx.export_snapshot().unwrap()]).unwrap();
    here.set_read_model(idx.read_model()).unwrap();
    here.rename(&doc(1), "Eins").unwrap();
    assert_eq!(here.entries_titled("Eins").len(), 1);
    assert!(here.set_read_model(b"not a model".to_vec()).is_err());
    // Truncated or garbled bytes never panic: refused, or answered by the tree.
    for cut in [0, 8, 20, model.len() / 2, model.len() - 1] {
        let mut c = Index::load(&[&idx.export_snapshot().unwrap()]).unwrap();
        if c.set_read_model(model[..cut].to_vec()).is_ok() {
            let _ = c.entries();
        }
    }
    let mut garbled = model.clone();
    for b in garbled.iter_mut().skip(16) {
        *b = 0xff;
    }
    let mut c = Index::load(&[&idx.export_snapshot().unwrap()]).unwrap();
    c.set_read_model(garbled).unwrap();
    let _ = (c.entries(), c.entry(&doc(1)), c.entries_titled("Uno"));
}

#[test]
fn an_index_of_a_read_model_alone_refuses_what_needs_the_tree() {
    let mut idx = Index::new();
    idx.add_doc(doc(1), DocKind::Note, "One", &p("a"), 1)
        .unwrap();
    let update = idx.commit_pending().unwrap();
    let mut alone = Index::from_read_model(idx.read_model()).unwrap();
    assert!(alone.is_deferred());
    assert_eq!(alone.entry(&doc(1)).unwrap().folder, p("a"));
    let refused = |r: Result<(), IndexError>| matches!(r, Err(IndexError::Deferred));
    assert!(refused(alone.add_doc(doc(2), DocKind::Note, "Two", &[], 2)));
    assert!(refused(alone.rename(&doc(1), "Uno")));
    assert!(refused(alone.set_deleted(&doc(1), true)));
    assert!(refused(alone.move_doc(&doc(1), &p("b"), 3)));
    assert!(refused(alone.move_folder(&p("a"), &[])));
    assert!(refused(alone.rename_folder(&p("a"), "b")));
    assert!(refused(alone.ensure_folder(&p("c"), 4).map(|_| ())));
    assert!(refused(alone.import(&update)));
    assert!(matches!(alone.export_snapshot(), Err(IndexError::Deferred)));
    // Nothing changed: it still answers as before, and has nothing to send.
    assert_eq!(alone.entries(), idx.entries());
    assert!(alone.commit_pending().is_none());
    // Damaged bytes are refused whole, never half answered from an empty tree.
    let model = idx.read_model();
    assert!(Index::from_read_model(b"not a model".to_vec()).is_err());
    for cut in [0, 8, 20, model.len() / 2, model.len() - 1] {
        assert!(
            Index::from_read_model(model[..cut].to_vec()).is_err(),
            "cut at {cut}"
        );
    }
    let mut garbled = model.clone();
    for b in garbled.iter_mut().skip(16) {
        *b = 0xff;
    }
    assert!(Index::from_read_model(garbled).is_err());
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let mut idx = Index::new();
    for bad in ["", "   ", "two\nlines"] {
        let err = idx.add_doc(doc(1), DocKind::Note, bad, &[], 0).unwrap_err();
        assert!(
            matches!(err, IndexError::InvalidTitle { .. }),
            "{bad:?}: {err}"
        );
    }
    assert!(idx.entries().is_empty());
    assert!(matches!(
        idx.add_doc(doc(1), DocKind::Index, "x", &[], 0),
        Err(IndexError::WrongKind { .. })
    ));
    idx.add_doc(doc(1), DocKind::Note, "a/b is fine in a title", &[], 0)
        .unwrap();
    assert!(matches!(
        idx.add_doc(doc(1), DocKind::Note, "again", &[], 0),
        Err(IndexError::DocExists { .. })
    ));
    assert!(matches!(
        idx.rename(&doc(9), "x"),
        Err(IndexError::NoSuchDoc { .. })
    ));
    assert!(matches!(
        idx.rename(&doc(1), "x\ny"),
        Err(IndexError::InvalidTitle { .. })
    ));
    assert!(matches!(
        idx.set_deleted(&doc(9), true),
        Err(IndexError::NoSuchDoc { .. })
    ));
    assert!(matches!(
        idx.ensure_folder(&["a/b".to_owned()], 0),
        Err(IndexError::InvalidTitle { .. })
    ));
    idx.ensure_folder(&p("x/y"), 0).unwrap();
    let err = idx.move_folder(&p("x"), &p("x/y")).unwrap_err();
    assert!(matches!(err, IndexError::Cycle { .. }), "{err}");
    assert!(matches!(
        idx.move_folder(&p("x"), &p("x")),
        Err(IndexError::Cycle { .. })
    ));
    assert!(matches!(
        idx.move_folder(&p("nope"), &[]),
        Err(IndexError::NoSuchFolder { .. })
    ));
    assert!(matches!(
        idx.move_folder(&p("x/y"), &p("nope")),
        Err(IndexError::NoSuchFolder { .. })
    ));
    idx.move_folder(&p("x/y"), &[]).unwrap();
    assert_eq!(paths(&idx), vec!["x", "y"]);
}

#[test]
fn concurrent_opposite_folder_moves_leave_one_acyclic_tree() {
    let mut a = Index::new();
    a.add_doc(doc(1), DocKind::Note, "in x", &p("x"), 1)
        .unwrap();
    a.add_doc(doc(2), DocKind::Note, "in y", &p("y"), 2)
        .unwrap();
    a.add_doc(doc(3), DocKind::Record, "deep in x", &p("x/sub"), 3)
        .unwrap();
    let mut b = fork(&mut a);

    a.move_folder(&p("x"), &p("y")).unwrap();
    b.move_folder(&p("y"), &p("x")).unwrap();
    exchange(&mut a, &mut b);

    assert_eq!(a.folders(), b.folders());
    assert_eq!(a.entries(), b.entries());
    let entries = a.entries();
    assert_eq!(entries.len(), 3, "every document is still reachable");
    let folder_of = |d| {
        entries
            .iter()
            .find(|e| e.doc == doc(d))
            .unwrap()
            .folder
            .join("/")
    };
    // Exactly one of the two moves won.
    let x_in_y =
        (folder_of(1), folder_of(2), folder_of(3)) == ("y/x".into(), "y".into(), "y/x/sub".into());
    let y_in_x =
        (folder_of(1), folder_of(2), folder_of(3)) == ("x".into(), "x/y".into(), "x/sub".into());
    assert!(x_in_y ^ y_in_x, "{entries:?}");
}

#[test]
fn concurrent_renames_pick_the_same_winner() {
    let mut a = Index::new();
    a.add_doc(doc(1), DocKind::Note, "Draft", &[], 1).unwrap();
    let mut b = fork(&mut a);
    a.rename(&doc(1), "From A").unwrap();
    b.rename(&doc(1), "From B").unwrap();
    exchange(&mut a, &mut b);
    let ta = a.entry(&doc(1)).unwrap().title;
    assert!(ta == "From A" || ta == "From B", "{ta}");
    assert_eq!(b.entry(&doc(1)).unwrap().title, ta);
    // Two concurrent heads, listed in the same order on both replicas.
    assert_eq!(a.version_bytes().len(), 24);
    assert_eq!(a.version_bytes(), b.version_bytes());
}

#[test]
fn delete_and_restore_travel_between_devices() {
    let mut a = Index::new();
    a.add_doc(doc(1), DocKind::Record, "Contacts", &p("people"), 1)
        .unwrap();
    let mut b = fork(&mut a);
    a.set_deleted(&doc(1), true).unwrap();
    exchange(&mut a, &mut b);
    assert!(b.entry(&doc(1)).unwrap().deleted);
    b.set_deleted(&doc(1), false).unwrap();
    exchange(&mut a, &mut b);
    let e = a.entry(&doc(1)).unwrap();
    assert!(!e.deleted);
    assert_eq!((e.title.as_str(), e.folder), ("Contacts", p("people")));
}

#[test]
fn one_folder_created_on_two_devices_reads_as_one_folder() {
    let mut a = Index::new();
    let mut b = fork(&mut a);
    a.add_doc(doc(1), DocKind::Note, "from A", &p("Work/2024"), 10)
        .unwrap();
    b.add_doc(doc(2), DocKind::Note, "from B", &p("Work/2024"), 20)
        .unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(paths(&a), vec!["Work", "Work/2024"]);
    assert_eq!(a.folders(), b.folders());
    assert_eq!(
        a.folders()[0].created_ms,
        10,
        "the earliest twin is canonical"
    );
    for idx in [&a, &b] {
        for d in [1, 2] {
            assert_eq!(idx.entry(&doc(d)).unwrap().folder, p("Work/2024"));
        }
    }
    // Both replicas resolve the path to the same node, and create nothing.
    assert_eq!(
        a.ensure_folder(&p("Work/2024"), 99).unwrap(),
        b.ensure_folder(&p("Work/2024"), 99).unwrap()
    );
    assert_eq!(a.commit_pending(), None);
    // Moving the doc to the path it is already under changes nothing.
    b.move_doc(&doc(2), &p("Work/2024"), 99).unwrap();
    assert_eq!(b.commit_pending(), None);
}

#[test]
fn commit_pending_returns_only_local_updates() {
    let mut a = Index::new();
    assert_eq!(a.commit_pending(), None);
    a.add_doc(doc(1), DocKind::Note, "one", &[], 1).unwrap();
    let first = a.commit_pending().unwrap();
    assert_eq!(a.commit_pending(), None);

    let mut b = Index::load(&[&first]).unwrap();
    b.rename(&doc(1), "renamed on b").unwrap();
    a.import(&b.commit_pending().unwrap()).unwrap();
    assert_eq!(
        a.commit_pending(),
        None,
        "foreign updates must not be re-sealed as local"
    );
    assert_eq!(a.version_bytes(), b.version_bytes());

    a.set_deleted(&doc(1), true).unwrap();
    let second = a.commit_pending().unwrap();
    b.import(&second).unwrap();
    assert!(b.entry(&doc(1)).unwrap().deleted);
}

#[test]
fn garbage_bytes_are_errors_not_panics() {
    let mut good = Index::new();
    good.add_doc(doc(1), DocKind::Note, "x", &p("f"), 1)
        .unwrap();
    let snap = good.export_snapshot().unwrap();
    assert!(Index::load(&[b"definitely not loro"]).is_err());
    assert!(Index::load(&[&snap[..snap.len() / 2]]).is_err());
    assert!(Index::new().import(&[0xff; 64]).is_err());
    assert!(Index::load(&[]).unwrap().entries().is_empty());
}

/// One step of a random history on up to three replicas.
#[derive(Clone, Debug)]
enum Step {
    Add {
        at: usize,
        d: u8,
        record: bool,
        title: usize,
        folder: Vec<usize>,
    },
    Rename {
        at: usize,
        d: u8,
        title: usize,
    },
    Move {
        at: usize,
        d: u8,
        folder: Vec<usize>,
    },
    Delete {
        at: usize,
        d: u8,
        deleted: bool,
    },
    MoveFolder {
        at: usize,
        path: Vec<usize>,
        parent: Vec<usize>,
    },
    RenameFolder {
        at: usize,
        path: Vec<usize>,
        name: usize,
    },
    /// A foreign replica deleting a tree node outright (Weft itself only
    /// marks documents deleted): a document's node, or a folder with all
    /// it holds.
    RemoveNode {
        at: usize,
        d: u8,
        folder: Vec<usize>,
    },
    /// A node of a type this version does not know (a newer version's), in
    /// `folder`, with a folder inside it: its title is still a path component.
    Foreign {
        at: usize,
        folder: Vec<usize>,
    },
    Sync {
        from: usize,
        to: usize,
    },
}

const NAMES: [&str; 3] = ["a", "b", "c"];
const TITLES: [&str; 3] = ["Alpha", "Beta", "Gamma"];

fn folder_path(ix: &[usize]) -> Vec<String> {
    ix.iter().map(|i| NAMES[*i].to_owned()).collect()
}

fn step(replicas: usize) -> impl Strategy<Value = Step> {
    let at = 0..replicas;
    let d = 0u8..5;
    let path = || prop::collection::vec(0usize..3, 0..3);
    prop_oneof![
        3 => (at.clone(), d.clone(), any::<bool>(), 0usize..3, path())
            .prop_map(|(at, d, record, title, folder)| Step::Add { at, d, record, title, folder }),
        2 => (at.clone(), d.clone(), 0usize..3).prop_map(|(at, d, title)| Step::Rename { at, d, title }),
        2 => (at.clone(), d.clone(), path()).prop_map(|(at, d, folder)| Step::Move { at, d, folder }),
        1 => (at.clone(), d.clone(), any::<bool>()).prop_map(|(at, d, deleted)| Step::Delete { at, d, deleted }),
        2 => (at.clone(), prop::collection::vec(0usize..3, 1..3), path())
            .prop_map(|(at, path, parent)| Step::MoveFolder { at, path, parent }),
        1 => (at.clone(), prop::collection::vec(0usize..3, 1..3), 0usize..3)
            .prop_map(|(at, path, name)| Step::RenameFolder { at, path, name }),
        1 => (at.clone(), d.clone(), path())
            .prop_map(|(at, d, folder)| Step::RemoveNode { at, d, folder }),
        1 => (at.clone(), path()).prop_map(|(at, folder)| Step::Foreign { at, folder }),
        3 => (at.clone(), at).prop_map(|(from, to)| Step::Sync { from, to }),
    ]
}

fn history() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (2usize..4).prop_flat_map(|n| (Just(n), prop::collection::vec(step(n), 1..40)))
}

/// Deletes a tree node the way a foreign replica could: `d`'s node, or when
/// `folder` is not empty, that folder's canonical node.
fn remove_node(idx: &mut Index, d: u8, folder: &[String]) {
    let node = if folder.is_empty() {
        idx.view().doc_nodes(&doc(d)).first().map(|n| n.id)
    } else {
        idx.view().folder(folder).flatten()
    };
    if let Some(id) = node {
        let _ = idx.tree().delete(id);
    }
    idx.doc.commit();
}

/// Adds a node of an unknown type in `folder`, and a folder inside it.
fn foreign_node(idx: &mut Index, folder: &[String], now: i64) {
    let Some(parent) = idx.view().folder(folder) else {
        return;
    };
    let tree = idx.tree();
    let Ok(w) = tree.create(parent) else { return };
    if let Ok(m) = tree.get_meta(w) {
        let _ = m.insert("type", "widget");
        let _ = m.insert("title", "w");
    }
    if let Ok(f) = tree.create(Some(w))
        && let Ok(m) = tree.get_meta(f)
    {
        let _ = m.insert("type", "folder");
        let _ = m.insert("title", "c");
        let _ = m.insert("created", now);
    }
    idx.doc.commit();
}

/// The kept read model equals a fresh build, and every lookup agrees with a
/// filter over the full list.
fn check_model(idx: &Index) -> Result<(), TestCaseError> {
    prop_assert!(
        idx.model_matches_rebuild(),
        "the kept model differs from a rebuild"
    );
    let all = idx.entries();
    for t in TITLES {
        let want: Vec<_> = all.iter().filter(|e| e.title == t).cloned().collect();
        prop_assert_eq!(idx.entries_titled(t), want);
    }
    for e in &all {
        let hex = e.doc.to_hex();
        let want: Vec<_> = all
            .iter()
            .filter(|x| x.doc.to_hex().starts_with(&hex[..5]))
            .cloned()
            .collect();
        prop_assert_eq!(idx.entries_with_id_prefix(&hex[..5]), want);
    }
    for f in idx.folders() {
        let want: Vec<_> = all
            .iter()
            .filter(|e| e.folder.starts_with(&f.path))
            .cloned()
            .collect();
        prop_assert_eq!(idx.entries_under(&f.path).unwrap(), want);
    }
    let docs: Vec<(DocId, bool)> = all.iter().rev().map(|e| (e.doc, e.deleted)).collect();
    let mut want: Vec<_> = all.iter().filter(|e| !e.deleted).cloned().collect();
    want.extend(all.iter().filter(|e| e.deleted).cloned());
    prop_assert_eq!(idx.first_in_order(&docs, docs.len()), want.clone());
    want.truncate(2);
    prop_assert_eq!(idx.first_in_order(&docs, 2), want);
    prop_assert_eq!(idx.entries_under(&[]).unwrap(), all.clone());
    // The flat read model, adopted by another load of the same state, answers
    // every lookup as the kept model does, without reading the tree.
    let mut copy = Index::load(&[&idx.export_snapshot().unwrap()]).unwrap();
    copy.set_read_model(idx.read_model()).unwrap();
    prop_assert_eq!(copy.entries(), all.clone());
    let mut titles = copy.titles();
    titles.sort();
    let mut want: Vec<_> = all
        .iter()
        .map(|e| (e.doc, e.title.clone(), e.deleted))
        .collect();
    want.sort();
    prop_assert_eq!(titles, want);
    for t in TITLES {
        prop_assert_eq!(copy.entries_titled(t), idx.entries_titled(t));
    }
    for e in &all {
        prop_assert_eq!(copy.entry(&e.doc), Some(e.clone()));
        let hex = e.doc.to_hex();
        prop_assert_eq!(
            copy.entries_with_id_prefix(&hex[..4]),
            idx.entries_with_id_prefix(&hex[..4])
        );
    }
    prop_assert_eq!(copy.entry(&doc(99)), None);
    prop_assert!(!copy.has_model(), "the lookups read the tree");
    // An index made from the read model alone, with no tree at all, answers
    // every lookup as the loaded index does, the ones that unpack the model too.
    let alone = Index::from_read_model(idx.read_model()).unwrap();
    prop_assert_eq!(alone.entries(), all.clone());
    for e in &all {
        prop_assert_eq!(alone.entry(&e.doc), Some(e.clone()));
    }
    for t in TITLES {
        prop_assert_eq!(alone.entries_titled(t), idx.entries_titled(t));
    }
    prop_assert_eq!(alone.folders(), idx.folders());
    for f in idx.folders() {
        prop_assert_eq!(
            alone.entries_under(&f.path).unwrap(),
            idx.entries_under(&f.path).unwrap()
        );
    }
    prop_assert_eq!(
        alone.first_in_order(&docs, docs.len()),
        idx.first_in_order(&docs, docs.len())
    );
    // Once the tree is needed, the model unpacked from the adopted one is the
    // model the tree gives.
    prop_assert!(
        copy.model_matches_rebuild(),
        "the unpacked model differs from a rebuild"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever each replica did and however updates travelled, once every
    /// replica has every update they all show the same documents and folders,
    /// every document added anywhere is reachable, and a replica loading the
    /// updates in reverse order agrees.
    #[test]
    fn replicas_converge((n, steps) in history()) {
        let mut reps: Vec<Index> = (0..n).map(|_| Index::new()).collect();
        // Every update each replica has seen (its own and received ones).
        let mut known: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
        let mut added = std::collections::BTreeSet::new();
        for (t, s) in steps.iter().enumerate() {
            let now = t as i64;
            let at = match s {
                Step::Add { at, d, record, title, folder } => {
                    let kind = if *record { DocKind::Record } else { DocKind::Note };
                    if reps[*at].add_doc(doc(*d), kind, TITLES[*title], &folder_path(folder), now).is_ok() {
                        added.insert(*d);
                    }
                    *at
                }
                Step::Rename { at, d, title } => { let _ = reps[*at].rename(&doc(*d), TITLES[*title]); *at }
                Step::Move { at, d, folder } => { let _ = reps[*at].move_doc(&doc(*d), &folder_path(folder), now); *at }
                Step::Delete { at, d, deleted } => { let _ = reps[*at].set_deleted(&doc(*d), *deleted); *at }
                Step::MoveFolder { at, path, parent } => {
                    let _ = reps[*at].move_folder(&folder_path(path), &folder_path(parent));
                    *at
                }
                Step::RenameFolder { at, path, name } => {
                    let _ = reps[*at].rename_folder(&folder_path(path), NAMES[*name]);
                    *at
                }
                Step::RemoveNode { at, d, folder } => {
                    remove_node(&mut reps[*at], *d, &folder_path(folder));
                    *at
                }
                Step::Foreign { at, folder } => {
                    foreign_node(&mut reps[*at], &folder_path(folder), now);
                    *at
                }
                Step::Sync { from, to } => {
                    for u in known[*from].clone() {
                        reps[*to].import(&u).unwrap();
                        known[*to].push(u);
                    }
                    *to
                }
            };
            if let Some(u) = reps[at].commit_pending() {
                known[at].push(u);
            }
            check_model(&reps[at])?;
        }
        let all: Vec<Vec<u8>> = known.concat();
        for r in &mut reps {
            for u in &all {
                r.import(u).unwrap();
            }
        }
        let reversed: Vec<&[u8]> = all.iter().rev().map(Vec::as_slice).collect();
        let fresh = Index::load(&reversed).unwrap();
        let entries = fresh.entries();
        let docs: std::collections::BTreeSet<u8> = entries.iter().map(|e| e.doc.as_bytes()[0]).collect();
        if steps.iter().any(|s| matches!(s, Step::RemoveNode { .. })) {
            // A document whose node a replica removed outright is gone everywhere.
            prop_assert!(docs.is_subset(&added));
        } else {
            prop_assert_eq!(docs, added);
        }
        check_model(&fresh)?;
        for r in &reps {
            check_model(r)?;
            prop_assert_eq!(r.entries(), entries.clone());
            prop_assert_eq!(r.folders(), fresh.folders());
        }
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), flip in any::<prop::sample::Index>(), mask in 1u8..) {
        let _ = Index::load(&[&bytes]);
        let mut good = Index::new();
        good.add_doc(doc(1), DocKind::Note, "x", &["f".to_owned()], 1).unwrap();
        for mut valid in [good.export_snapshot().unwrap(), good.commit_pending().unwrap_or_default()] {
            if valid.is_empty() {
                continue;
            }
            let i = flip.index(valid.len());
            valid[i] ^= mask;
            if let Ok(idx) = Index::load(&[&valid]) {
                let _ = idx.entries();
            }
        }
    }
}
