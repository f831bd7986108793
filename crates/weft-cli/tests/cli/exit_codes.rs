//! What a script sees: the exact message of each kind of failure, printed once, and
//! the exit code of its category (`weft --help` lists them); data on standard output
//! and nothing else there.

use crate::harness::{Home, PASSPHRASE, Run};

/// Asserts the exit code and that standard error is exactly `error: MESSAGE\n`.
fn exits(r: &Run, code: i32, message: &str) {
    assert_eq!(
        r.out.status.code(),
        Some(code),
        "exit code of a failure printed as:\n{}",
        r.stderr()
    );
    assert_eq!(r.stderr(), format!("error: {message}\n"));
    assert_eq!(r.stdout(), "", "a failure prints no data");
}

/// A home whose keys are in a passphrase file, whatever the machine has.
fn passphrase_home() -> Home {
    let mut h = Home::empty();
    h.env.push(("WEFT_PASSPHRASE".into(), PASSPHRASE.into()));
    h.run(&["init", "--name", "Test", "--passphrase"]).ok();
    h
}

#[test]
fn usage_errors_exit_2() {
    let h = passphrase_home();
    h.record("R", r#"{"a": 1}"#);
    exits(
        &h.run(&["set", "R", "/a", "not json"]),
        2,
        "VALUE `not json` is not valid JSON; quote strings ('\"not json\"') or pass --string",
    );
    exits(
        &h.run(&["new", "note", "N", "--folder", "a//b"]),
        2,
        "invalid folder path \"a//b\": a folder name is empty",
    );
    // clap's own refusals of meaningless combinations are usage errors too.
    for args in [
        &["ls", "--deleted", "--tree", "--json"][..],
        &["sync", "--timeout", "5"],
        &["invite", "--no-qr", "--json"],
        &["show"],
    ] {
        let r = h.run(args);
        assert_eq!(r.out.status.code(), Some(2), "{args:?}: {}", r.stderr());
        if args.contains(&"--json") {
            let e: serde_json::Value = serde_json::from_str(&r.stderr()).unwrap();
            assert_eq!(e["code"], "usage", "{args:?}");
        } else {
            assert_eq!(r.stderr().matches("error:").count(), 1, "{}", r.stderr());
        }
    }
}

#[test]
fn the_usage_line_does_not_show_an_environment_home_as_a_flag() {
    let h = Home::empty();
    let r = h.run(&["show"]);
    assert_eq!(r.out.status.code(), Some(2));
    assert!(
        r.stderr().contains("Usage: weft show <DOC>"),
        "{}",
        r.stderr()
    );
    assert!(!r.stderr().contains("--home <DIR> <DOC>"), "{}", r.stderr());
}

#[test]
fn not_found_exits_3() {
    let h = passphrase_home();
    exits(
        &h.run(&["show", "Nope"]),
        3,
        "no document matches `Nope` (give an id, an id prefix, or an exact title; see `weft ls`)",
    );
    let empty = Home::empty();
    exits(
        &empty.run(&["ls"]),
        3,
        &format!(
            "no workspace in {}: run `weft init` to create one",
            empty.path().display()
        ),
    );
    let missing = h.path().join("no-such-dir");
    exits(
        &h.run(&["import", missing.to_str().unwrap()]),
        3,
        &format!("{}: no such file or directory", missing.display()),
    );
}

#[test]
fn refusals_exit_4() {
    let h = passphrase_home();
    h.note("Kept", "", "x\n");
    exits(&h.run(&["undelete", "Kept"]), 4, "\"Kept\" is not deleted");
    let mut wrong = h.command();
    wrong.env("WEFT_PASSPHRASE", "not the passphrase");
    let r = Run {
        out: wrong.args(["ls"]).output().unwrap(),
    };
    exits(
        &r,
        4,
        &format!(
            "wrong passphrase for key file {} (or the file was altered)",
            h.path().join("keys.weftkey").display()
        ),
    );
    let patch = r#"[{"op": "test", "path": "/n", "value": 2}]"#;
    h.record("R", r#"{"n": 1}"#);
    let r = h.run_stdin(&["patch", "R", "-"], patch);
    assert_eq!(r.out.status.code(), Some(4), "{}", r.stderr());
}

#[test]
fn a_sync_that_finds_nobody_exits_5() {
    let h = passphrase_home();
    exits(
        &h.run(&[
            "sync",
            "--once",
            "--timeout",
            "1",
            "--port",
            "0",
            "--no-mdns",
        ]),
        5,
        "found no device of this workspace within 1 s (run `weft daemon` on another device on this network, or add one with `weft peer add MULTIADDR`)",
    );
}

#[test]
fn data_written_by_a_newer_weft_exits_7() {
    let h = passphrase_home();
    h.db().execute_batch("PRAGMA user_version = 999").unwrap();
    let r = h.run(&["ls"]);
    assert_eq!(r.out.status.code(), Some(7), "{}", r.stderr());
    let db = h.path().join("weft.db");
    let prefix = format!(
        "error: database {} has schema version 999, but this weft understands up to ",
        db.display()
    );
    assert!(r.stderr().starts_with(&prefix), "{}", r.stderr());
    assert!(
        r.stderr()
            .ends_with(": upgrade weft to open it (nothing was changed)\n"),
        "{}",
        r.stderr()
    );
}

#[test]
fn other_failures_exit_1() {
    let h = passphrase_home();
    let file = h.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let r = h.run(&["export", file.to_str().unwrap()]);
    assert_eq!(r.out.status.code(), Some(1), "{}", r.stderr());
    assert_eq!(r.stderr().matches("error:").count(), 1, "{}", r.stderr());
    assert!(
        r.stderr().contains(file.to_str().unwrap()),
        "{}",
        r.stderr()
    );
}

#[test]
fn each_cause_is_printed_once() {
    let h = passphrase_home();
    h.record("R", r#"{"a": 1}"#);
    for args in [
        &["set", "R", "no-slash", "1"][..],
        &["set", "R", "/a/b/c", "1"],
    ] {
        let err = h.run(args).stderr();
        let message = err.trim_end().trim_start_matches("error: ");
        // No part of the message repeats ("X: X").
        let parts: Vec<&str> = message.split(": ").collect();
        for (i, p) in parts.iter().enumerate() {
            assert!(
                !parts[i + 1..]
                    .iter()
                    .any(|q| q.contains(p) || p.contains(q)),
                "repeated cause in {message:?}"
            );
        }
    }
}

#[test]
fn errors_are_json_when_the_command_asked_for_json() {
    let h = passphrase_home();
    let r = h.run(&["show", "Nope", "--json"]);
    assert_eq!(r.out.status.code(), Some(3));
    assert_eq!(r.stdout(), "");
    let e: serde_json::Value = serde_json::from_str(&r.stderr()).unwrap();
    assert_eq!(
        e,
        serde_json::json!({
            "code": "unknown_doc",
            "message": "no document matches `Nope` (give an id, an id prefix, or an exact title; see `weft ls`)"
        })
    );
    let r = h.run(&["ls", "--json", "--tree"]);
    assert_eq!(r.out.status.code(), Some(2));
    let e: serde_json::Value = serde_json::from_str(&r.stderr()).unwrap();
    assert_eq!(e["code"], "usage");
    assert!(e["message"].as_str().unwrap().contains("--tree"), "{e}");
}

#[test]
fn messages_go_to_standard_error_and_data_to_standard_output() {
    let h = passphrase_home();
    // An empty workspace lists nothing: `weft ls | wc -l` counts 0.
    let r = h.run(&["ls"]).ok();
    assert_eq!(r.stdout(), "");
    assert!(r.stderr().contains("No documents"), "{}", r.stderr());
    let id = h.note("One", "", "x\n");
    let r = h.run(&["ls"]).ok();
    assert_eq!(r.stdout().lines().count(), 1, "{}", r.stdout());
    assert!(r.stdout().starts_with(&id[..8]), "{}", r.stdout());
    let r = h.run(&["rm", "One"]).ok();
    assert_eq!(r.stdout(), "");
    // Reports that were only prose have JSON.
    let out = h.path().join("out");
    let r = h.run(&["export", out.to_str().unwrap(), "--json"]).ok();
    assert_eq!(
        r.json(),
        serde_json::json!({"notes": 0, "records": 0, "files": 1})
    );
    let r = h.run(&["import", out.to_str().unwrap(), "--json"]).ok();
    assert_eq!(r.json()["notes"], 0);
    let r = h
        .run(&["new", "note", "Two", "--folder", "A/B", "--json"])
        .ok();
    let j = r.json();
    assert_eq!(j["kind"], "note");
    assert_eq!(j["folder"], serde_json::json!(["A", "B"]));
}

/// `--color` wins over NO_COLOR (how NO_COLOR decides `auto` on a terminal is a unit
/// test of `ColorWhen`: here standard error is a pipe).
#[test]
fn color_follows_the_flag() {
    let h = passphrase_home();
    let mut c = h.command();
    c.env("NO_COLOR", "1")
        .args(["--color=always", "show", "Nope"]);
    let r = Run {
        out: c.output().unwrap(),
    };
    assert!(
        r.stderr().starts_with("\x1b[1;31merror:\x1b[0m "),
        "{:?}",
        r.stderr()
    );
    let r = h.run(&["show", "Nope", "--color", "never"]);
    assert_eq!(
        r.stderr(),
        "error: no document matches `Nope` (give an id, an id prefix, or an exact title; see `weft ls`)\n"
    );
}

#[test]
fn text_from_documents_cannot_drive_the_terminal() {
    let h = passphrase_home();
    // A title another device could have written: an OSC that retitles the terminal.
    let evil = "Notes\x1b]0;pwned\x07";
    h.run(&["new", "note", evil]).ok();
    let ls = h.run(&["ls"]).ok().stdout();
    assert!(!ls.contains('\x1b') && !ls.contains('\x07'), "{ls:?}");
    assert!(ls.contains("Notes␛]0;pwned␇"), "{ls:?}");
    let tree = h.run(&["ls", "--tree"]).ok().stdout();
    assert!(!tree.contains('\x1b'), "{tree:?}");
    // JSON carries the title exactly, escaped by JSON itself.
    let j = h.run(&["ls", "--json"]).ok();
    assert!(!j.stdout().contains('\x1b'));
    assert_eq!(j.json()[0]["title"], evil);
}
