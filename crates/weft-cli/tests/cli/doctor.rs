//! A damaged database file: commands refuse it with one clear error (exit 7) naming
//! `weft doctor`, which salvages what can be read, says what it lost, and leaves a
//! workspace that reads and writes.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::harness::{Home, PASSPHRASE};
use crate::net::{daemon, signal, wait_exit};

/// Reads an SQLite varint at `at`; returns it and its length.
fn varint(b: &[u8], at: usize) -> (i64, usize) {
    let mut v: i64 = 0;
    for i in 0..9 {
        let byte = b[at + i];
        if i == 8 {
            return ((v << 8) | byte as i64, 9);
        }
        v = (v << 7) | (byte & 0x7f) as i64;
        if byte & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    unreachable!()
}

/// The leaf pages of the `changes` table, each with the row ids it holds.
fn change_leaves(db: &Path) -> (usize, Vec<(i64, Vec<i64>)>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let size: usize = conn
        .pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0))
        .unwrap() as usize;
    let mut stmt = conn
        .prepare("SELECT pageno FROM dbstat WHERE name = 'changes' AND pagetype = 'leaf'")
        .unwrap();
    let pages: Vec<i64> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    drop(stmt);
    drop(conn);
    let bytes = std::fs::read(db).unwrap();
    let leaves = pages
        .into_iter()
        .map(|p| {
            let page = &bytes[(p as usize - 1) * size..p as usize * size];
            assert_eq!(page[0], 0x0d, "page {p} is a table leaf");
            let cells = u16::from_be_bytes([page[3], page[4]]) as usize;
            let ids = (0..cells)
                .map(|i| {
                    let ptr = u16::from_be_bytes([page[8 + 2 * i], page[9 + 2 * i]]) as usize;
                    let (_, n) = varint(page, ptr);
                    varint(page, ptr + n).0
                })
                .collect();
            (p, ids)
        })
        .collect();
    (size, leaves)
}

fn scalar(db: &Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            rusqlite::types::Value::Blob(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
            other => format!("{other:?}"),
        })
        .unwrap()
}

/// Three small notes, then 40 long ones in one import: a log of many pages. Returns
/// the highest row id of the three.
fn fill_log(h: &Home) -> i64 {
    for t in ["Alpha", "Beta", "Gamma"] {
        h.note(t, "", &format!("{t} text\n"));
    }
    let kept_upto: i64 = scalar(&h.path().join("weft.db"), "SELECT max(id) FROM changes")
        .parse()
        .unwrap();
    let src = tempfile::tempdir().unwrap();
    for i in 0..40 {
        let body = format!("note {i}: {}\n", "lorem ipsum dolor sit amet ".repeat(60));
        std::fs::write(src.path().join(format!("n{i:02}.md")), body).unwrap();
    }
    h.run(&["import", src.path().to_str().unwrap()]).ok();
    kept_upto
}

/// Overwrites the header and first cells of a leaf page of the `changes` table whose
/// rows all come after row `after`, in the middle of the file; returns the lowest row
/// id on it. A copy of the file as it was is left as `original.db` beside it.
fn damage_a_leaf(home: &Path, after: i64) -> (i64, PathBuf) {
    let db = home.join("weft.db");
    let wal = home.join("weft.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "every commit is in the main file"
    );
    let original = home.join("original.db");
    std::fs::copy(&db, &original).unwrap();
    let (size, leaves) = change_leaves(&db);
    let (page, ids) = leaves
        .iter()
        .filter(|(_, ids)| ids.iter().all(|&id| id > after) && !ids.is_empty())
        .nth(3)
        .expect("a leaf of imported changes in the middle of the log")
        .clone();
    let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    f.seek(SeekFrom::Start((page as u64 - 1) * size as u64))
        .unwrap();
    f.write_all(&[0x5a; 200]).unwrap();
    (*ids.iter().min().unwrap(), original)
}

#[test]
fn a_damaged_page_is_refused_and_doctor_salvages_the_rest() {
    let h = Home::new();
    let kept_upto = fill_log(&h);
    let db = h.path().join("weft.db");
    let (first, original) = damage_a_leaf(h.path(), kept_upto);
    let doc = scalar(
        &original,
        &format!("SELECT doc FROM changes WHERE id = {first}"),
    );
    let first_seq = scalar(
        &original,
        &format!("SELECT seq FROM changes WHERE id = {first}"),
    );
    let last_seq = scalar(&original, "SELECT max(seq) FROM changes");

    // A command that reads the page refuses, with one clear error.
    let r = h.run(&["history", &doc]);
    assert_eq!(r.out.status.code(), Some(7), "{}", r.stderr());
    let err = r.stderr();
    assert!(err.contains("is damaged"), "{err}");
    assert!(err.contains("`weft doctor`"), "{err}");
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    // A node checks every page when it starts.
    let r = h.run(&[
        "sync",
        "--once",
        "--port",
        "0",
        "--no-mdns",
        "--timeout",
        "1",
    ]);
    assert_eq!(r.out.status.code(), Some(7), "{}", r.stderr());
    assert!(r.stderr().contains("`weft doctor`"), "{}", r.stderr());

    let r = h.run(&["doctor"]).ok();
    let out = r.stdout();
    assert!(out.contains("File: damaged"), "{out}");
    assert!(out.contains("Salvaged: "), "{out}");
    assert!(
        out.contains(&format!("(seq {first_seq}..={last_seq})")),
        "the lost run is named:\n{out}"
    );
    assert!(out.contains("After repair: ok"), "{out}");
    assert!(
        r.stderr().contains("weft doctor --sync"),
        "says how to fetch it: {}",
        r.stderr()
    );
    let damaged: Vec<_> = std::fs::read_dir(h.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("weft.db.damaged-")
        })
        .collect();
    assert_eq!(damaged.len(), 1, "the damaged file is kept beside");

    // What came before the damage reads; the file is whole and takes new writes.
    assert_eq!(
        scalar(&db, "PRAGMA integrity_check"),
        "ok",
        "the repaired file"
    );
    let ls = h.run(&["ls"]).ok().stdout();
    for t in ["Alpha", "Beta", "Gamma"] {
        assert!(ls.contains(t), "{ls}");
        assert_eq!(h.show(t), format!("{t} text\n"));
    }
    h.note("Delta", "", "after the repair\n");
    assert_eq!(h.show("Delta"), "after the repair\n");
    h.run(&["history", "Alpha"]).ok();
}

#[test]
fn doctor_rebuilds_a_damaged_snapshot_from_the_log() {
    let h = Home::new();
    h.note("Plan", "", "ship it\n");
    h.run_stdin(&["edit", "Plan", "--stdin"], "ship it today\n")
        .ok();
    // The cached snapshot is altered (the log is intact).
    let db = h.db();
    db.execute("UPDATE snapshots SET sealed = zeroblob(length(sealed))", [])
        .unwrap();
    drop(db);
    // A snapshot is a cache: one that does not open is ignored and the
    // document read from its log.
    assert_eq!(h.show("Plan"), "ship it today\n");

    let r = h.run(&["doctor", "--json"]).ok();
    let v = r.json();
    assert_eq!(v["file"]["ok"], true, "{v}");
    assert_eq!(v["salvaged"], serde_json::Value::Null);
    assert_eq!(v["rebuilt"]["documents"], 1, "{v}");
    assert_eq!(v["rebuilt"]["index"], true, "{v}");
    assert_eq!(v["rebuilt"]["unreadable"], serde_json::json!([]));
    assert_eq!(v["after"]["ok"], true);
    assert_eq!(h.show("Plan"), "ship it today\n");

    // Not while a node has the file open.
    let mut d = daemon(&h);
    let r = h.run(&["doctor"]);
    assert_eq!(r.out.status.code(), Some(6), "{}", r.stderr());
    assert!(
        r.stderr().contains("before `weft doctor`"),
        "{}",
        r.stderr()
    );
    signal(&d, "-TERM");
    assert_eq!(wait_exit(&mut d).code(), Some(0));
}

#[test]
fn doctor_sync_fetches_what_the_damage_lost_from_another_device() {
    let a = Home::new();
    let mut da = daemon(&a);
    let code = a.invite_code();
    let code = code.as_str();
    let mut b = Home::empty();
    b.env.push(("WEFT_PASSPHRASE".into(), PASSPHRASE.into()));
    let net = ["--port", "0", "--no-mdns"];
    b.run(
        &[
            &["join", code, "--passphrase", "--timeout", "20"][..],
            &net[..],
        ]
        .concat(),
    )
    .ok();
    // A's log, long enough to span many pages, reaches B in one sync round.
    fill_log(&a);
    let r = b.run(&[&["sync", "--once", "--timeout", "30"][..], &net[..]].concat());
    assert!(r.out.status.success(), "{}", r.stderr());
    let all = b.run(&["ls"]).ok().stdout();
    assert_eq!(all.lines().count(), 43, "{all}");

    damage_a_leaf(b.path(), 0);
    let r = b.run(&["doctor"]).ok();
    assert!(r.stdout().contains("File: damaged"), "{}", r.stdout());
    assert!(r.stdout().contains("Lost: "), "{}", r.stdout());
    assert!(b.run(&["ls"]).ok().stdout().lines().count() < 43);
    let r = b
        .run(&[&["doctor", "--sync", "--timeout", "30"][..], &net[..]].concat())
        .ok();
    assert!(r.stdout().contains("File: ok"), "{}", r.stdout());
    assert!(
        r.stderr().contains("synced with 1 device"),
        "{}",
        r.stderr()
    );
    assert_eq!(b.run(&["ls"]).ok().stdout(), all);
    signal(&da, "-TERM");
    assert_eq!(wait_exit(&mut da).code(), Some(0));
}
