//! Bad input: a clear message naming what was wrong, a non-zero exit, and
//! nothing changed.

use crate::harness::{Home, keyring_available};

#[test]
fn unknown_and_ambiguous_documents() {
    let h = Home::new();
    let a = h.note("Twin", "A", "one\n");
    let b = h.note("Twin", "B", "two\n");
    h.run(&["show", "Nope"])
        .fails_with("no document matches `Nope`");
    let r = h.run(&["show", "Twin"]).fails_with("ambiguous");
    assert!(
        r.stderr().contains(&a) && r.stderr().contains(&b),
        "{}",
        r.stderr()
    );
    // Ids disambiguate.
    assert_eq!(h.show(&a), "one\n");
    assert_eq!(h.show(&b[..10]), "two\n");
    let before = h.fingerprint();
    h.run(&["rm", "Twin"]).fails_with("ambiguous");
    h.run(&["set", "Nope", "/x", "1"])
        .fails_with("no document matches");
    assert_eq!(h.fingerprint(), before);
}

#[test]
fn invalid_json_is_refused_and_names_the_input() {
    let h = Home::new();
    let f = h.path().join("bad.json");
    std::fs::write(&f, "{\"a\": 1,,}").unwrap();
    let before = h.fingerprint();
    h.run(&["new", "record", "R", "--from-json", f.to_str().unwrap()])
        .fails_with("bad.json is not valid JSON");
    h.run_stdin(&["new", "record", "R", "--from-json", "-"], "[1, 2]")
        .fails_with("object");
    assert_eq!(h.fingerprint(), before);
    assert_eq!(h.run(&["ls", "--json"]).ok().json(), serde_json::json!([]));

    h.record("R", r#"{"a": 1}"#);
    let before = h.fingerprint();
    h.run(&["set", "R", "/a", "not json"])
        .fails_with("not valid JSON");
    h.run_stdin(&["patch", "R", "-"], "{oops")
        .fails_with("not valid JSON");
    h.run_stdin(&["patch", "R", "-"], r#"{"op": "add"}"#)
        .fails_with("array");
    h.run(&["set", "R", "no-slash", "1"]).fails_with("no-slash");
    h.run(&["set", "R", "/a/b/c", "1"]).fails_with("/a/b");
    assert_eq!(h.fingerprint(), before);
    assert_eq!(h.show_json("R")["json"], serde_json::json!({"a": 1}));
}

#[test]
fn a_failing_patch_test_applies_nothing() {
    let h = Home::new();
    h.record("R", r#"{"n": 1, "list": [1, 2]}"#);
    let before = h.fingerprint();
    let patch = r#"[
        {"op": "replace", "path": "/n", "value": 2},
        {"op": "add", "path": "/list/-", "value": 3},
        {"op": "test", "path": "/n", "value": 99}
    ]"#;
    let r = h.run_stdin(&["patch", "R", "-"], patch).fails_with("/n");
    assert!(
        r.stderr().contains('2') || r.stderr().contains("test"),
        "{}",
        r.stderr()
    );
    assert_eq!(h.fingerprint(), before);
    assert_eq!(
        h.show_json("R")["json"],
        serde_json::json!({"n": 1, "list": [1, 2]})
    );
    // A remove of a missing path also applies nothing.
    h.run_stdin(
        &["patch", "R", "-"],
        r#"[{"op":"remove","path":"/n"},{"op":"remove","path":"/zz"}]"#,
    )
    .fails_with("/zz");
    assert_eq!(h.show_json("R")["json"]["n"], 1);
    assert_eq!(h.fingerprint(), before);
}

#[test]
fn record_operations_on_a_note_are_refused() {
    let h = Home::new();
    h.note("Text", "", "words\n");
    h.record("Data", "{}");
    let before = h.fingerprint();
    h.run(&["set", "Text", "/title", "1"])
        .fails_with("is a note, not a record");
    h.run_stdin(&["patch", "Text", "-"], "[]")
        .fails_with("is a note, not a record");
    h.run(&["incr", "Text", "/n"]).fails_with("is a note");
    h.run_stdin(&["edit", "Data", "--stdin"], "x")
        .fails_with("is a record, not a note");
    assert_eq!(h.fingerprint(), before);
    assert_eq!(h.show("Text"), "words\n");
}

#[test]
fn bad_titles_and_folders_are_refused() {
    let h = Home::new();
    let before = h.fingerprint();
    h.run(&["new", "note", ""]).fails_with("title");
    h.run(&["new", "note", "ok", "--folder", "a//b"])
        .fails_with("a//b");
    assert_eq!(h.fingerprint(), before);
    h.note("N", "", "x\n");
    h.run(&["rename", "N", ""]).fails_with("title");
    h.run(&["show", "N", "--at", "0"])
        .fails_with("no version 0");
}

#[test]
fn missing_keys_are_reported() {
    let h = Home::new();
    h.note("N", "", "x\n");
    let ws = h.run(&["status", "--json"]).ok().json()["workspace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    if keyring_available() {
        use weft_crypto::SecretStore;
        let store = weft_crypto::KeyringStore::new("weft");
        store.delete(&ws.parse().unwrap()).unwrap();
        h.run(&["ls"]).fails_with("keyring");
    } else {
        std::fs::remove_file(h.path().join("keys.weftkey")).unwrap();
        h.run(&["ls"]).fails_with("keys.weftkey");
    }
}

fn tamper(h: &Home, sql: &str) {
    let db = h.db();
    db.execute_batch("DROP TRIGGER IF EXISTS changes_append_only_update")
        .unwrap();
    db.execute_batch(sql).unwrap();
}

#[test]
fn a_tampered_snapshot_costs_nothing_and_a_truncated_change_only_itself() {
    let h = Home::new();
    let a = h.note("Victim", "", "precious\n");
    h.note("Bystander", "", "fine\n");
    // Flip one byte of the victim's snapshot: a cache, so it is ignored and
    // the note read from its log.
    {
        let db = h.db();
        let (rowid, mut snap): (i64, Vec<u8>) = db
            .query_row(
                &format!("SELECT rowid, sealed FROM snapshots WHERE hex(doc) = upper('{a}')"),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let i = snap.len() / 2;
        snap[i] ^= 1;
        db.execute(
            "UPDATE snapshots SET sealed = ?1 WHERE rowid = ?2",
            rusqlite::params![snap, rowid],
        )
        .unwrap();
    }
    assert_eq!(h.show("Victim"), "precious\n");
    assert_eq!(h.show("Bystander"), "fine\n");
    assert_eq!(
        h.run(&["ls", "--json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A truncated change row, with no snapshot to fall back on (reading the
    // note above wrote a fresh one from the log, which would hold it): it is
    // set aside, history and status name it, and every other document is
    // untouched.
    h.db()
        .execute(
            &format!("DELETE FROM snapshots WHERE hex(doc) = upper('{a}')"),
            [],
        )
        .unwrap();
    tamper(
        &h,
        &format!(
            "UPDATE changes SET ciphertext = substr(ciphertext, 1, 5) WHERE hex(doc) = upper('{a}')"
        ),
    );
    let history = h.run(&["history", "Victim"]).ok();
    assert!(
        history.stdout().contains("could not be read"),
        "{}",
        history.stdout()
    );
    assert_ne!(h.show("Victim"), "precious\n");
    assert_eq!(h.show("Bystander"), "fine\n");
    h.run(&["history", "Bystander"]).ok();
    let status = h.run(&["status"]).ok().stdout();
    assert!(
        status.contains(
            "1 change from this device could not be read (made by a newer version, or damaged)"
        ),
        "{status}"
    );
}

#[test]
fn a_database_from_a_newer_weft_is_refused_untouched() {
    let h = Home::new();
    h.note("N", "", "x\n");
    h.db().pragma_update(None, "user_version", 99).unwrap();
    let db = h.path().join("weft.db");
    let before = std::fs::read(&db).unwrap();
    h.run(&["ls"]).fails_with("schema version 99");
    h.run(&["new", "note", "M"]).fails_with("upgrade weft");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn not_a_weft_database() {
    let h = Home::empty();
    std::fs::write(
        h.path().join("weft.db"),
        b"definitely not sqlite, just some bytes here......",
    )
    .unwrap();
    let r = h.run(&["ls"]);
    assert!(!r.out.status.success());
    assert!(r.stderr().contains("weft.db"), "{}", r.stderr());
}
