//! The window's session without a window: a real workspace (SQLite file, sealed
//! change log) owned by a real node on loopback sockets, as `weft` with no arguments
//! runs it. Keys are in passphrase files here; the keyring path is covered by the
//! window tests under scripts/with-keyring.sh.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use weft_core::note::Note;
use weft_desktop::{Session, Sink, UiEvent, WorkspaceView};
use weft_engine::{DocId, KeyBackend, Shown};
use zeroize::Zeroizing;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn pass() -> KeyBackend {
    KeyBackend::Passphrase(Zeroizing::new("correct horse".to_owned()))
}

/// No mDNS (multicast must not leave this machine in tests), any free port.
fn quiet_home(home: &Path) {
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(home.join("weft.toml"), "[net]\nport = 0\nmdns = false\n").unwrap();
}

fn recorder() -> (Sink, Arc<Mutex<Vec<UiEvent>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    (Arc::new(move |e| s.lock().unwrap().push(e)), seen)
}

async fn until<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn markdown(s: Shown) -> String {
    match s {
        Shown::Note { markdown } => markdown,
        other => panic!("not a note: {other:?}"),
    }
}

#[test]
fn missing_home_offers_create_and_a_bad_invite_changes_nothing() {
    let rt = runtime();
    let _in = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("weft");
    let (sink, _) = recorder();
    let mut s = Session::new(Ok(home.clone()), sink);
    assert_eq!(
        s.status().unwrap(),
        WorkspaceView::Missing {
            home: home.display().to_string()
        }
    );
    assert_eq!(s.open().unwrap_err().code, "not_open");
    let e = s.join_with("weft1-NOTACODE", pass()).unwrap_err();
    assert_eq!(e.code, "invalid_invite", "{e:?}");
    assert!(e.message.contains("invite code"), "{e:?}");
    assert!(
        !home.join(weft_engine::DB_FILE).exists(),
        "nothing was created"
    );
    assert_eq!(
        s.create_with("   ", pass()).unwrap_err().code,
        "invalid_name"
    );
}

#[test]
fn editor_typing_is_sealed_and_reaches_a_joined_device_which_edits_back() {
    let rt = runtime();
    let _in = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let (home_a, home_b) = (dir.path().join("a"), dir.path().join("b"));
    quiet_home(&home_a);
    let (sink_a, seen_a) = recorder();
    let mut a = Session::new(Ok(home_a.clone()), sink_a);
    let view = a.create_with("Lab", pass()).unwrap();
    assert!(matches!(view, WorkspaceView::Open { ref name, .. } if name == "Lab"));
    let oa = a.open().unwrap();

    rt.block_on(async {
        let doc: DocId = oa
            .call(|ws| ws.create_note("Plan", &["Work".into()], "first line"))
            .await
            .unwrap();
        // The editor's replica: the store's snapshot, its own peer, its own typing.
        let snapshot = oa.call(move |ws| ws.note_state(&doc)).await.unwrap();
        let mut editor = Note::load(&[&snapshot]).unwrap();
        let seen_version = editor.version_bytes();
        let end = editor.text().len_unicode() - 1;
        editor.insert(end, ", typed in the window").unwrap();
        let update = editor.commit_pending().unwrap();
        assert!(
            oa.call(move |ws| ws.apply_editor_update(&doc, &update))
                .await
                .unwrap()
        );
        assert_eq!(
            markdown(oa.call(move |ws| ws.show(&doc, None)).await.unwrap()),
            "first line, typed in the window\n"
        );
        // Garbage from the editor is an error and changes nothing.
        let e = oa
            .call(move |ws| ws.apply_editor_update(&doc, b"garbage"))
            .await
            .unwrap_err();
        assert_eq!(e.code, "invalid_note_op");
        let history = oa.call(move |ws| ws.history(&doc)).await.unwrap();
        assert_eq!(history.len(), 2, "{history:?}");

        // Search finds the note by a word typed in the editor (no index on disk).
        let hits = oa.call(|ws| ws.search("TYPED window")).await.unwrap();
        assert_eq!(hits.len(), 1);
        assert!(hits[0].snippet.contains("typed in the window"), "{hits:?}");

        // A second device joins with an invite naming A's loopback address.
        let addrs: Vec<String> = oa
            .node
            .listen_addrs()
            .await
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .filter(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))
            .collect();
        let code = oa.call(move |ws| ws.invite(addrs)).await.unwrap().encode();
        quiet_home(&home_b);
        let (sink_b, _) = recorder();
        let mut b = Session::new(Ok(home_b.clone()), sink_b);
        let code_b = code.clone();
        let (b, view) = tokio::task::spawn_blocking(move || {
            let v = b.join_with(&code_b, pass());
            (b, v)
        })
        .await
        .unwrap();
        assert!(matches!(view.unwrap(), WorkspaceView::Open { ref name, .. } if name == "Lab"));
        let ob = b.open().unwrap();
        until("the note on B", async || {
            ob.call(move |ws| ws.show(&doc, None))
                .await
                .ok()
                .map(markdown)
                .filter(|m| m.contains("typed in the window"))
        })
        .await;

        // B edits; A's window hears about it and its editor gets exactly what it lacks.
        ob.call(move |ws| ws.edit_note(&doc, "Oh, first line, typed in the window\n"))
            .await
            .unwrap();
        until("docs-changed on A", async || {
            seen_a
                .lock()
                .unwrap()
                .contains(&UiEvent::DocsChanged(vec![doc.to_string()]))
                .then_some(())
        })
        .await;
        let missing = oa
            .call(move |ws| ws.note_updates_since(&doc, &seen_version))
            .await
            .unwrap();
        editor.import(&missing).unwrap();
        assert_eq!(
            editor.to_markdown(),
            "Oh, first line, typed in the window\n"
        );
        ob.node.shutdown().await.unwrap();
        oa.node.shutdown().await.unwrap();
    });
}
