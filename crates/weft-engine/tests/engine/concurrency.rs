//! Two open workspaces on one file: what a daemon and a CLI command do.

use weft_engine::Shown;

use crate::{new_workspace, reopen};

fn markdown(s: Shown) -> String {
    match s {
        Shown::Note { markdown } => markdown,
        other => panic!("not a note: {other:?}"),
    }
}

#[test]
fn interleaved_writers_on_one_file_lose_nothing() {
    let (dir, mut a) = new_workspace();
    let doc = a.create_note("Shared", &[], "alpha\n\nomega\n").unwrap();
    let mut b = reopen(&dir);
    // Both load the note, then edit different paragraphs without seeing
    // each other's change first.
    assert_eq!(markdown(b.show(&doc, None).unwrap()), "alpha\n\nomega\n");
    a.edit_note(&doc, "alpha one\n\nomega\n").unwrap();
    b.edit_note(&doc, "alpha\n\nomega two\n").unwrap();
    // b merged a's change while committing.
    assert_eq!(
        markdown(b.show(&doc, None).unwrap()),
        "alpha one\n\nomega two\n"
    );
    a.close().unwrap();
    b.close().unwrap();
    let mut c = reopen(&dir);
    assert_eq!(
        markdown(c.show(&doc, None).unwrap()),
        "alpha one\n\nomega two\n"
    );
    assert_eq!(c.history(&doc).unwrap().len(), 3);
    // Seqs stayed unique and contiguous across the two writers.
    // note + index at creation, then one change per edit.
    assert_eq!(c.status().unwrap().changes, 4);
}

#[test]
fn a_stale_writer_snapshot_keeps_every_change() {
    let (dir, mut a) = new_workspace();
    let doc = a.create_note("N", &[], "one\n\nmiddle\n").unwrap();
    let mut b = reopen(&dir);
    b.edit_note(&doc, "one\n\nmiddle b\n").unwrap();
    // a writes after b's last commit: b is stale when it snapshots on close.
    a.edit_note(&doc, "one a\n\nmiddle\n").unwrap();
    a.close().unwrap();
    b.close().unwrap();
    let mut c = reopen(&dir);
    assert_eq!(markdown(c.show(&doc, None).unwrap()), "one a\n\nmiddle b\n");
}

#[test]
fn new_documents_from_two_writers_both_appear() {
    let (dir, mut a) = new_workspace();
    let mut b = reopen(&dir);
    a.create_note("From A", &["Inbox".into()], "a\n").unwrap();
    b.create_note("From B", &["Inbox".into()], "b\n").unwrap();
    a.close().unwrap();
    b.close().unwrap();
    let c = reopen(&dir);
    let titles: Vec<String> = c.list(false).unwrap().into_iter().map(|d| d.path).collect();
    assert_eq!(titles, vec!["Inbox/From A", "Inbox/From B"]);
}

#[test]
fn records_merge_across_writers_and_show_conflicts() {
    let (dir, mut a) = new_workspace();
    let doc = a
        .create_record("R", &[], &serde_json::json!({"n": 0}))
        .unwrap();
    // The counter exists before the writers diverge: two concurrent
    // creations of one key are a conflict, not a sum (Automerge semantics).
    a.increment(&doc, "/count", 0).unwrap();
    let mut b = reopen(&dir);
    b.show(&doc, None).unwrap();
    a.set_field(&doc, "/status", &serde_json::json!("a"))
        .unwrap();
    b.set_field(&doc, "/status", &serde_json::json!("b"))
        .unwrap();
    a.increment(&doc, "/count", 2).unwrap();
    b.increment(&doc, "/count", 3).unwrap();
    a.close().unwrap();
    b.close().unwrap();
    let mut c = reopen(&dir);
    match c.show(&doc, None).unwrap() {
        Shown::Record { json, conflicts } => {
            assert_eq!(json["count"], 5, "{json}");
            let s = conflicts
                .iter()
                .find(|c| c.pointer == "/status")
                .expect("a conflict on /status");
            let mut vals: Vec<String> = s.values.iter().map(|v| v.to_string()).collect();
            vals.sort();
            assert_eq!(vals, vec!["\"a\"", "\"b\""]);
        }
        other => panic!("{other:?}"),
    }
}
