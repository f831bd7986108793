//! `weft invite`: the code it prints is one `weft join` reads back as this
//! workspace; the QR code appears only on a terminal.

use std::process::Stdio;

use weft_crypto::Invite;

use crate::harness::{Home, keyring_available, weft_bin};

const QR_GLYPHS: [char; 3] = ['█', '▀', '▄'];

fn workspace_id(h: &Home) -> String {
    h.run(&["status", "--json"]).ok().json()["workspace_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_json_code_decodes_to_this_workspace() {
    let h = Home::new();
    let j = h.run(&["invite", "--json"]).ok().json();
    let ws = workspace_id(&h);
    assert_eq!(j["workspace"], ws.as_str());
    assert_eq!(j["name"], "Test");
    let invite = Invite::decode(j["code"].as_str().unwrap()).unwrap();
    assert_eq!(invite.workspace.to_hex(), ws);
    assert_eq!(invite.name, "Test");
}

#[test]
fn the_code_is_alone_on_its_line_with_a_warning_and_the_next_step() {
    let h = Home::new();
    let r = h.run(&["invite", "--no-qr"]).ok();
    let out = r.stdout();
    // Standard output is exactly the code, so `$(weft invite --no-qr)` works.
    let code = out.strip_suffix('\n').unwrap();
    assert!(code.starts_with("weft1-") && !code.contains('\n'), "{out}");
    assert_eq!(
        Invite::decode(code).unwrap().workspace.to_hex(),
        workspace_id(&h)
    );
    let err = r.stderr();
    assert!(
        err.contains("full access") && err.contains("password"),
        "{err}"
    );
    assert!(err.contains(&format!("weft join {code}")), "{err}");
}

#[test]
fn no_qr_code_when_stdout_is_not_a_terminal() {
    let h = Home::new();
    let r = h.run(&["invite"]).ok();
    let out = r.stdout();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("weft1-"), "{out}");
    assert!(!out.contains(QR_GLYPHS), "{out}");
    assert!(!r.stderr().contains(QR_GLYPHS));
}

/// On a terminal (a pseudo-terminal from util-linux `script`) the QR code is
/// drawn, and --no-qr leaves it out.
#[test]
fn a_terminal_gets_the_qr_code_unless_told_not_to() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let h = Home::new();
    let in_pty = |args: &str| -> String {
        let mut c = std::process::Command::new("script");
        // -e: exit with weft's status; the pty merges its stdout and stderr.
        c.arg("-qec")
            .arg(format!("'{}' {args}", weft_bin().display()))
            .arg("/dev/null")
            .env("WEFT_HOME", h.path())
            .env_remove("WEFT_PASSPHRASE")
            .stdin(Stdio::null());
        for (k, v) in &h.env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{text}");
        text
    };
    let with = in_pty("invite");
    assert!(with.contains(QR_GLYPHS), "{with}");
    assert!(with.contains("weft1-"), "{with}");
    let without = in_pty("invite --no-qr");
    assert!(!without.contains(QR_GLYPHS), "{without}");
    assert!(without.contains("weft1-"), "{without}");
}

/// Two homes of one OS user joining one workspace through the keyring would share
/// the keyring entry, so the second would replace the first's device key: the join
/// is refused before anything is written, and the first home keeps its device.
#[test]
fn a_second_keyring_join_of_the_same_workspace_is_refused_and_changes_nothing() {
    if !keyring_available() {
        eprintln!("skipped: set WEFT_TEST_KEYRING=1 with an unlocked Secret Service");
        return;
    }
    let a = Home::new();
    let before = a.run(&["status", "--json"]).ok().json()["device_id"].clone();
    let code = a.run(&["invite", "--no-qr"]).ok().stdout();
    let b = Home::empty();
    b.run(&["join", code.trim(), "--timeout", "1"])
        .fails_with("already holds a device of workspace");
    assert!(
        !b.path().join("weft.db").exists(),
        "nothing was created in B"
    );
    let after = a.run(&["status", "--json"]).ok().json()["device_id"].clone();
    assert_eq!(before, after, "A keeps its own device key");
}
