//! Every command, used as a person would.

use crate::harness::{Home, keyring_available, weft_bin};

#[test]
fn help_works_for_every_command() {
    let h = Home::empty();
    let top = h.run(&["--help"]).ok().stdout();
    let commands = [
        "init",
        "new",
        "ls",
        "show",
        "edit",
        "set",
        "incr",
        "patch",
        "mv",
        "rename",
        "rm",
        "undelete",
        "history",
        "revert",
        "export",
        "import",
        "status",
        "peer",
        "relay",
        "daemon",
        "sync",
        "invite",
        "join",
        "completions",
    ];
    for c in commands {
        assert!(top.contains(c), "top-level help does not list `{c}`");
        let out = h.run(&[c, "--help"]).ok().stdout();
        assert!(out.contains("Usage: weft"), "`weft {c} --help`: {out}");
    }
    for c in [["new", "note"], ["new", "record"]] {
        h.run(&[c[0], c[1], "--help"]).ok();
    }
}

#[test]
fn completions_are_printed_for_shells() {
    let h = Home::empty();
    let bash = h.run(&["completions", "bash"]).ok().stdout();
    assert!(
        bash.contains("_weft") && bash.contains("undelete"),
        "{bash}"
    );
    let zsh = h.run(&["completions", "zsh"]).ok().stdout();
    assert!(zsh.contains("#compdef weft"));
    h.run(&["completions", "tcsh-not-a-shell"])
        .fails_with("invalid value");
}

#[test]
fn init_then_status_reports_the_workspace() {
    let h = Home::new();
    let s = h.run(&["status", "--json"]).ok().json();
    assert_eq!(s["name"], "Test");
    assert_eq!(s["workspace_id"].as_str().unwrap().len(), 32);
    assert!(s["device_id"].as_str().unwrap().starts_with("12D3KooW"));
    assert_eq!(s["notes"], 0);
    assert!(s["storage_bytes"].as_u64().unwrap() > 0);
    let keys = s["keys"].as_str().unwrap().to_lowercase();
    if keyring_available() {
        assert!(keys.contains("keyring"), "{keys}");
    } else {
        assert!(keys.contains("passphrase"), "{keys}");
    }
    let human = h.run(&["status"]).ok().stdout();
    assert!(
        human.contains("12D3KooW") && human.contains("Test"),
        "{human}"
    );
    // A second init refuses and keeps the first workspace.
    h.run(&["init"]).fails_with("already exists");
    assert_eq!(
        h.run(&["status", "--json"]).ok().json()["workspace_id"],
        s["workspace_id"]
    );
}

#[test]
fn the_database_holds_no_plaintext() {
    let h = Home::new();
    h.note("Secret diary", "Private", "the eagle lands at midnight\n");
    h.record("Bank", r#"{"pin": "sesame-4711"}"#);
    let mut bytes = std::fs::read(h.path().join("weft.db")).unwrap();
    if let Ok(wal) = std::fs::read(h.path().join("weft.db-wal")) {
        bytes.extend(wal);
    }
    for needle in ["eagle lands", "sesame-4711", "Secret diary", "Private"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "`{needle}` is stored in plaintext"
        );
    }
}

#[test]
fn notes_create_list_show_and_edit() {
    let h = Home::new();
    let id = h.note(
        "Hello world",
        "Inbox/Today",
        "# Greeting\n\nHello **world**\n",
    );
    assert_eq!(id.len(), 32);
    let ls = h.run(&["ls"]).ok().stdout();
    assert!(
        ls.contains("Inbox/Today/Hello world") && ls.contains("note"),
        "{ls}"
    );
    let json = h.run(&["ls", "--json"]).ok().json();
    let d = &json[0];
    assert_eq!(d["id"], id);
    assert_eq!(d["kind"], "note");
    assert_eq!(d["title"], "Hello world");
    assert_eq!(d["folder"], serde_json::json!(["Inbox", "Today"]));
    assert_eq!(d["deleted"], false);
    assert!(d["updated"].as_str().unwrap().ends_with('Z'));
    let tree = h.run(&["ls", "--tree"]).ok().stdout();
    assert!(
        tree.contains("Inbox/\n  Today/\n    Hello world  (note"),
        "{tree}"
    );

    // By title, by id prefix, by id.
    for q in ["Hello world", &id[..6], &id] {
        let md = h.show(q);
        assert!(
            md.contains("# Greeting") && md.contains("Hello **world**"),
            "{md}"
        );
    }
    let j = h.show_json("Hello world");
    assert_eq!(j["kind"], "note");
    assert!(j["markdown"].as_str().unwrap().contains("**world**"));

    // Edit from stdin.
    let saved = h
        .run_stdin(
            &["edit", "Hello world", "--stdin"],
            "# Greeting\n\nHello *there* **world**\n",
        )
        .ok()
        .stderr();
    assert!(saved.contains("Saved"), "{saved}");
    assert!(h.show("Hello world").contains("Hello *there* **world**"));
    // Unchanged content is not a new version.
    let before = h.run(&["history", "Hello world", "--json"]).ok().json();
    let out = h
        .run_stdin(&["edit", "Hello world", "--stdin"], &h.show("Hello world"))
        .ok()
        .stderr();
    assert!(out.contains("No changes"), "{out}");
    let after = h.run(&["history", "Hello world", "--json"]).ok().json();
    assert_eq!(
        before.as_array().unwrap().len(),
        after.as_array().unwrap().len()
    );
}

#[test]
fn edit_opens_the_editor_and_a_failing_editor_changes_nothing() {
    let h = Home::new();
    h.note("Todo", "", "milk\n");
    let script = h.path().join("editor.sh");
    std::fs::write(&script, "#!/bin/sh\nprintf 'milk\\n\\neggs\\n' > \"$1\"\n").unwrap();
    let fail = h.path().join("fail.sh");
    std::fs::write(&fail, "#!/bin/sh\necho scribble > \"$1\"; exit 3\n").unwrap();
    for s in [&script, &fail] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(s, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let r = h
        .command()
        .env("EDITOR", &script)
        .args(["edit", "Todo"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(h.show("Todo"), "milk\n\neggs\n");
    let r = h
        .command()
        .env("EDITOR", &fail)
        .args(["edit", "Todo"])
        .output()
        .unwrap();
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("nothing was changed"));
    assert_eq!(h.show("Todo"), "milk\n\neggs\n");
}

#[test]
fn records_set_incr_patch_and_show() {
    let h = Home::new();
    let id = h.record(
        "Book",
        r#"{"title": "Dune", "tags": ["sf"], "read": false}"#,
    );
    h.run(&["set", "Book", "/read", "true"]).ok();
    h.run(&["set", "Book", "/rating", "4.5"]).ok();
    h.run(&["set", "Book", "/author", "Frank Herbert", "--string"])
        .ok();
    h.run(&["set", "Book", "/tags/-", "\"classic\""]).ok();
    h.run(&["incr", "Book", "/reads"]).ok();
    h.run(&["incr", "Book", "/reads", "2"]).ok();
    let patch = r#"[
        {"op": "test", "path": "/title", "value": "Dune"},
        {"op": "replace", "path": "/title", "value": "Dune Messiah"},
        {"op": "copy", "from": "/author", "path": "/by"},
        {"op": "move", "from": "/by", "path": "/writer"},
        {"op": "add", "path": "/tags/0", "value": "first"},
        {"op": "remove", "path": "/rating"}
    ]"#;
    let out = h.run_stdin(&["patch", &id[..8], "-"], patch).ok().stderr();
    assert!(out.contains("6 operations"), "{out}");
    let v = h.show_json("Book");
    assert_eq!(v["kind"], "record");
    assert_eq!(
        v["json"],
        serde_json::json!({
            "title": "Dune Messiah",
            "tags": ["first", "sf", "classic"],
            "read": true,
            "author": "Frank Herbert",
            "reads": 3,
            "writer": "Frank Herbert"
        })
    );
    let plain: serde_json::Value = serde_json::from_str(&h.show("Book")).unwrap();
    assert_eq!(plain, v["json"]);
    // A patch from a file.
    let f = h.path().join("p.json");
    std::fs::write(&f, r#"[{"op": "add", "path": "/year", "value": 1969}]"#).unwrap();
    h.run(&["patch", "Book", f.to_str().unwrap()]).ok();
    assert_eq!(h.show_json("Book")["json"]["year"], 1969);
    // An empty record.
    h.run(&["new", "record", "Blank"]).ok();
    assert_eq!(h.show_json("Blank")["json"], serde_json::json!({}));
}

#[test]
fn mv_rename_rm_and_undelete() {
    let h = Home::new();
    let id = h.note("Plan", "Work", "step one\n");
    h.run(&["mv", "Plan", "Archive/2026"]).ok();
    h.run(&["rename", "Plan", "Old plan"]).ok();
    let ls = h.run(&["ls", "--json"]).ok().json();
    assert_eq!(ls[0]["folder"], serde_json::json!(["Archive", "2026"]));
    assert_eq!(ls[0]["title"], "Old plan");
    h.run(&["show", "Plan"])
        .fails_with("no document matches `Plan`");

    let rm = h.run(&["rm", "Old plan"]).ok().stderr();
    assert!(rm.contains("trash"), "{rm}");
    assert_eq!(h.run(&["ls", "--json"]).ok().json(), serde_json::json!([]));
    let del = h.run(&["ls", "--deleted", "--json"]).ok().json();
    assert_eq!(del[0]["id"], id);
    assert_eq!(del[0]["deleted"], true);
    h.run(&["show", "Old plan"]).fails_with("deleted");
    h.run(&["rm", "Old plan"]).fails_with("deleted");
    h.run(&["undelete", "Old plan"]).ok();
    assert_eq!(h.show("Old plan"), "step one\n");
    h.run(&["undelete", "Old plan"]).fails_with("not deleted");
    // Moving to the top level.
    h.run(&["mv", "Old plan", "/"]).ok();
    assert_eq!(
        h.run(&["ls", "--json"]).ok().json()[0]["folder"],
        serde_json::json!([])
    );
}

#[test]
fn ls_of_a_folder_lists_it_and_the_folders_below_it() {
    let h = Home::new();
    h.note("Q1", "Work/2026", "x\n");
    h.note("Team", "Work", "x\n");
    h.note("Groceries", "Home", "x\n");
    let titles = |args: &[&str]| -> Vec<String> {
        let v = h.run(args).ok().json();
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        titles(&["ls", "Work", "--json"]),
        ["Work/Team", "Work/2026/Q1"]
    );
    assert_eq!(titles(&["ls", "Work/2026", "--json"]), ["Work/2026/Q1"]);
    assert_eq!(titles(&["ls", "--json"]).len(), 3);
    h.run(&["ls", "Nowhere"]).fails_with("no folder `Nowhere`");
}

#[test]
fn an_empty_file_imports_as_an_empty_note_that_reads() {
    let h = Home::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Empty.md"), "").unwrap();
    std::fs::write(dir.path().join("Full.md"), "words\n").unwrap();
    h.run(&["import", dir.path().to_str().unwrap()]).ok();
    assert_eq!(h.show("Empty"), "");
    assert_eq!(h.show("Full"), "words\n");
    let status = h.run(&["status"]).ok();
    let said = format!("{}{}", status.stdout(), status.stderr());
    assert!(!said.contains("could not be read"), "{said}");
}

#[test]
fn history_show_at_and_revert() {
    let h = Home::new();
    h.note("Essay", "", "first draft\n");
    h.run_stdin(&["edit", "Essay", "--stdin"], "second draft\n")
        .ok();
    h.run_stdin(&["edit", "Essay", "--stdin"], "third draft, much better\n")
        .ok();
    let hist = h.run(&["history", "Essay", "--json"]).ok().json();
    let versions = hist.as_array().unwrap();
    assert_eq!(versions.len(), 3, "{hist}");
    assert_eq!(versions[0]["number"], 1);
    assert!(versions[0]["summary"].as_str().unwrap().contains("created"));
    assert_eq!(versions[2]["this_device"], true);
    assert!(
        versions[2]["device"]
            .as_str()
            .unwrap()
            .starts_with("12D3KooW")
    );
    let human = h.run(&["history", "Essay"]).ok().stdout();
    // Three versions, one line each (the header is for terminals only).
    assert!(
        human.contains("(this)") && human.lines().count() == 3,
        "{human}"
    );

    assert_eq!(
        h.run(&["show", "Essay", "--at", "1"]).ok().stdout(),
        "first draft\n"
    );
    assert_eq!(
        h.run(&["show", "Essay", "--at", "2"]).ok().stdout(),
        "second draft\n"
    );
    h.run(&["show", "Essay", "--at", "9"])
        .fails_with("no version 9");

    h.run(&["revert", "Essay", "--to", "1"]).ok();
    assert_eq!(h.show("Essay"), "first draft\n");
    let hist = h.run(&["history", "Essay", "--json"]).ok().json();
    assert_eq!(hist.as_array().unwrap().len(), 4, "revert adds a version");
    assert!(
        hist[3]["summary"]
            .as_str()
            .unwrap()
            .contains("reverted to version 1")
    );
    // The reverted-over text is still in history.
    assert_eq!(
        h.run(&["show", "Essay", "--at", "3"]).ok().stdout(),
        "third draft, much better\n"
    );

    // Records too.
    h.record("Cfg", r#"{"a": 1}"#);
    h.run(&["set", "Cfg", "/a", "2"]).ok();
    h.run(&["set", "Cfg", "/b", "[1,2]"]).ok();
    h.run(&["revert", "Cfg", "--to", "1"]).ok();
    assert_eq!(h.show_json("Cfg")["json"], serde_json::json!({"a": 1}));
}

#[test]
fn export_then_import_gives_identical_documents() {
    let h = Home::new();
    h.note(
        "Ideas",
        "Notes/Misc",
        "# Ideas\n\n- one\n- two\n\nSome *text* and `code` and a [link](https://example.org).\n",
    );
    h.note("Weird: name?", "", "x\n");
    h.record(
        "Tasks",
        r#"{"items": [{"t": "a", "done": true}], "n": 1.5, "nil": null}"#,
    );
    let gone = h.note("Gone", "", "bye\n");
    h.run(&["rm", &gone]).ok();
    let out = h.path().join("export");
    let r = h
        .run(&["export", out.to_str().unwrap(), "--native"])
        .ok()
        .stderr();
    assert!(r.contains("2 notes and 1 records"), "{r}");
    assert!(out.join("Notes/Misc/Ideas.md").is_file());
    assert!(out.join("Weird_ name_.md").is_file());
    assert!(out.join("Tasks.json").is_file());
    assert!(
        !out.join("Gone.md").exists(),
        "deleted documents are not exported"
    );

    // The native files load in the official libraries.
    let loro_bytes = std::fs::read(out.join("Notes/Misc/Ideas.loro")).unwrap();
    let doc = loro::LoroDoc::new();
    doc.import(&loro_bytes).unwrap();
    assert!(
        doc.get_text("body")
            .to_string()
            .contains("Some text and code")
    );
    let am = std::fs::read(out.join("Tasks.automerge")).unwrap();
    let am = automerge::Automerge::load(&am).unwrap();
    use automerge::ReadDoc;
    assert!(am.get(automerge::ROOT, "items").unwrap().is_some());

    let other = Home::new();
    let r = other.run(&["import", out.to_str().unwrap()]).ok().stderr();
    assert!(r.contains("2 notes and 1 records"), "{r}");
    let strip = |v: serde_json::Value| -> Vec<(String, String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["path"].as_str().unwrap().to_owned(),
                    d["kind"].as_str().unwrap().to_owned(),
                    d["title"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let a = h.run(&["ls", "--json"]).ok().json();
    let b = other.run(&["ls", "--json"]).ok().json();
    assert_eq!(strip(a), strip(b));
    for t in ["Ideas", "Weird: name?", "Tasks"] {
        assert_eq!(h.show(t), other.show(t), "{t}");
    }

    // Any folder of .md/.json files imports too, folders from directories.
    let plain = h.path().join("plain");
    std::fs::create_dir_all(plain.join("sub")).unwrap();
    std::fs::write(plain.join("sub/Hello.md"), "hi\n").unwrap();
    std::fs::write(plain.join("data.json"), r#"{"k": [1]}"#).unwrap();
    std::fs::write(plain.join("ignored.txt"), "x").unwrap();
    let third = Home::new();
    third.run(&["import", plain.to_str().unwrap()]).ok();
    let ls = third.run(&["ls", "--json"]).ok().json();
    assert_eq!(strip(ls).len(), 2);
    assert_eq!(third.show("Hello"), "hi\n");
    assert_eq!(
        third.show_json("data")["json"],
        serde_json::json!({"k": [1]})
    );
}

#[test]
fn passphrase_workspace_opens_with_the_right_passphrase_only() {
    let h = Home::empty();
    let run = |pass: Option<&str>, args: &[&str]| {
        let mut c = h.command();
        if let Some(p) = pass {
            c.env("WEFT_PASSPHRASE", p);
        }
        c.args(args).output().unwrap()
    };
    let out = run(
        Some("s3cret pass"),
        &["init", "--passphrase", "--name", "Server"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(h.path().join("keys.weftkey").is_file());
    assert!(
        run(Some("s3cret pass"), &["new", "note", "N"])
            .status
            .success()
    );
    let wrong = run(Some("nope"), &["ls"]);
    assert!(!wrong.status.success());
    let msg = String::from_utf8_lossy(&wrong.stderr).to_lowercase();
    assert!(msg.contains("passphrase"), "{msg}");
    let none = run(None, &["ls"]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("WEFT_PASSPHRASE"));
    let ok = run(Some("s3cret pass"), &["status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert!(s["keys"].as_str().unwrap().contains("keys.weftkey"), "{s}");
    assert_eq!(s["notes"], 1);
}

#[test]
fn commands_need_a_workspace() {
    let h = Home::empty();
    h.run(&["ls"]).fails_with("weft init");
    assert!(weft_bin().is_file());
}
