//! Export directories that collide with the manifest, and crafted ones that try to reach
//! outside themselves on import.

use std::path::Path;

use serde_json::json;
use weft_engine::{Shown, Workspace};

use crate::new_workspace;

fn shown(ws: &mut Workspace, path: &str) -> String {
    let d = ws
        .list(false)
        .unwrap()
        .into_iter()
        .find(|d| d.path == path)
        .unwrap_or_else(|| panic!("no document at `{path}`"));
    match ws.show(&d.id, None).unwrap() {
        Shown::Note { markdown } => markdown,
        Shown::Record { json, .. } => json.to_string(),
    }
}

/// A manifest naming `file` as a note, with that file holding `text` if it is a plain
/// relative name.
fn crafted(dir: &Path, file: &str) {
    let manifest = json!({
        "format": 1,
        "documents": [{"file": file, "id": "00", "kind": "note", "title": "T", "folder": []}],
    });
    std::fs::write(
        dir.join("weft-export.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
}

fn import_err(dir: &Path) -> String {
    let (_h, mut ws) = new_workspace();
    let err = ws.import(dir).unwrap_err();
    assert_eq!(err.code(), "import", "{err}");
    assert!(ws.list(false).unwrap().is_empty(), "nothing is imported");
    err.to_string()
}

#[test]
fn a_root_record_titled_like_the_manifest_is_exported_beside_it() {
    let (_h, mut a) = new_workspace();
    a.create_record("weft-export", &[], &json!({"kept": true}))
        .unwrap();
    a.create_record("Weft-Export", &["sub".into()], &json!({"also": 1}))
        .unwrap();
    a.create_note("Plan", &[], "ship it\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    a.export(out.path(), false).unwrap();
    assert!(out.path().join("weft-export (2).json").is_file());

    let (_h2, mut b) = new_workspace();
    let r = b.import(out.path()).unwrap();
    assert_eq!((r.notes, r.records), (1, 2));
    assert_eq!(shown(&mut b, "weft-export"), r#"{"kept":true}"#);
    assert_eq!(shown(&mut b, "sub/Weft-Export"), r#"{"also":1}"#);
    assert_eq!(shown(&mut b, "Plan"), "ship it\n");
}

#[test]
fn manifest_paths_that_leave_the_directory_are_refused_whatever_the_separator() {
    for file in [
        "../secret.md",
        "..\\secret.md",
        "a\\..\\..\\secret.md",
        "a/../../secret.md",
        "./../secret.md",
        "/etc/passwd",
        "\\Windows\\win.ini",
        "C:\\Windows\\win.ini",
        "C:secret.md",
        "\\\\server\\share\\secret.md",
        "//server/share/secret.md",
        "... /secret.md",
        "a/.. /secret.md",
        "note.md:stream",
        "",
    ] {
        let dir = tempfile::tempdir().unwrap();
        crafted(dir.path(), file);
        let err = import_err(dir.path());
        assert!(
            err.contains("points outside the export directory"),
            "`{file}`: {err}"
        );
    }
}

#[test]
fn a_manifest_path_inside_the_directory_with_either_separator_imports() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::fs::write(dir.path().join("a").join("n.md"), "inside\n").unwrap();
    crafted(dir.path(), "a\\n.md");
    let (_h, mut ws) = new_workspace();
    ws.import(dir.path()).unwrap();
    assert_eq!(shown(&mut ws, "T"), "inside\n");
}

#[cfg(unix)]
#[test]
fn symlinks_in_an_export_are_refused_and_nothing_is_imported() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.md");
    std::fs::write(&secret, "a local secret\n").unwrap();

    // The manifest's file is a link to a local file.
    let dir = tempfile::tempdir().unwrap();
    symlink(&secret, dir.path().join("n.md")).unwrap();
    crafted(dir.path(), "n.md");
    let err = import_err(dir.path());
    assert!(err.contains("is a symbolic link"), "{err}");

    // A directory on the way is a link.
    let dir = tempfile::tempdir().unwrap();
    symlink(outside.path(), dir.path().join("a")).unwrap();
    crafted(dir.path(), "a/secret.md");
    let err = import_err(dir.path());
    assert!(err.contains("is a symbolic link"), "{err}");

    // The manifest itself is a link.
    let dir = tempfile::tempdir().unwrap();
    let real = tempfile::tempdir().unwrap();
    crafted(real.path(), "n.md");
    symlink(
        real.path().join("weft-export.json"),
        dir.path().join("weft-export.json"),
    )
    .unwrap();
    let err = import_err(dir.path());
    assert!(err.contains("is a symbolic link"), "{err}");

    // The file named is a directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("n.md")).unwrap();
    crafted(dir.path(), "n.md");
    let err = import_err(dir.path());
    assert!(err.contains("is not a regular file"), "{err}");

    // No manifest: a plain folder with a linked note or a linked directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.md"), "fine\n").unwrap();
    symlink(&secret, dir.path().join("n.md")).unwrap();
    let err = import_err(dir.path());
    assert!(err.contains("is a symbolic link"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    symlink(outside.path(), dir.path().join("linked")).unwrap();
    let err = import_err(dir.path());
    assert!(err.contains("is a symbolic link"), "{err}");
}
