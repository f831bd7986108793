//! Notes as a user and the sync layer see them: merges, sealed-change
//! bytes, hostile input, and a real editing trace.

use std::io::Read;

use proptest::prelude::*;
use weft_core::note::{Note, NoteError};

/// Sends each side's pending local change to the other.
fn exchange(a: &mut Note, b: &mut Note) {
    let from_a = a.commit_pending();
    let from_b = b.commit_pending();
    if let Some(u) = from_a {
        b.import(&u).unwrap();
    }
    if let Some(u) = from_b {
        a.import(&u).unwrap();
    }
}

fn replica_pair(md: &str) -> (Note, Note) {
    let mut a = Note::from_markdown(md);
    a.commit_pending();
    let b = Note::load(&[&a.export_snapshot().unwrap()]).unwrap();
    (a, b)
}

const THREE: &str = "# Plan\n\nFirst paragraph about apples.\n\nSecond paragraph about pears.\n\nThird paragraph about plums.\n";

#[test]
fn concurrent_edits_in_different_paragraphs_both_survive() {
    let (mut a, mut b) = replica_pair(THREE);
    a.set_markdown(&THREE.replace("apples", "green apples"));
    b.set_markdown(&THREE.replace("plums", "*ripe* plums"));
    exchange(&mut a, &mut b);
    let want = THREE
        .replace("apples", "green apples")
        .replace("plums", "*ripe* plums");
    assert_eq!(a.to_markdown(), want);
    assert_eq!(b.to_markdown(), want);
}

#[test]
fn concurrent_edits_in_one_paragraph_merge_by_character() {
    let md = "The quick brown fox jumps over the lazy dog.\n";
    let (mut a, mut b) = replica_pair(md);
    a.set_markdown("The quick red fox jumps over the lazy dog.\n");
    b.set_markdown("The quick brown fox jumps over the sleepy dog!\n");
    exchange(&mut a, &mut b);
    assert_eq!(
        a.to_markdown(),
        "The quick red fox jumps over the sleepy dog!\n"
    );
    assert_eq!(b.to_markdown(), a.to_markdown());
}

#[test]
fn concurrent_typing_at_the_same_place_keeps_both_insertions() {
    let (mut a, mut b) = replica_pair("Hello world\n");
    a.insert(5, ", dear").unwrap();
    b.insert(5, " there").unwrap();
    exchange(&mut a, &mut b);
    let text = a.plain_text();
    assert_eq!(text, b.plain_text());
    assert!(
        text.contains(", dear") && text.contains(" there"),
        "{text:?}"
    );
    assert_eq!(text.len(), "Hello world\n".len() + 12);
}

#[test]
fn concurrent_restyle_and_retype_both_apply() {
    let md = "- [ ] buy milk\n- [ ] call mom\n";
    let (mut a, mut b) = replica_pair(md);
    a.set_markdown("- [x] buy milk\n- [ ] call mom\n");
    b.set_markdown("- [ ] buy milk\n- [ ] call **mom** today\n");
    exchange(&mut a, &mut b);
    assert_eq!(
        a.to_markdown(),
        "- [x] buy milk\n- [ ] call **mom** today\n"
    );
    assert_eq!(b.to_markdown(), a.to_markdown());
}

#[test]
fn unchanged_markdown_produces_no_update() {
    let mut note = Note::from_markdown(THREE);
    assert!(note.commit_pending().is_some());
    let summary = note.set_markdown(&note.to_markdown());
    assert!(summary.is_empty(), "{summary}");
    assert_eq!(note.commit_pending(), None);
}

#[test]
fn toggling_bold_is_a_style_change_not_a_retype() {
    let mut note = Note::from_markdown("Make this word bold.\n");
    note.commit_pending();
    let summary = note.set_markdown("Make this **word** bold.\n");
    assert_eq!(
        (summary.inserted, summary.deleted, summary.restyled),
        (0, 0, 4)
    );
    assert_eq!(summary.to_string(), "+0 \u{2212}0 chars, 4 restyled");
    assert_eq!(note.plain_text(), "Make this word bold.\n");
    assert!(note.commit_pending().is_some());
    // And back.
    let summary = note.set_markdown("Make this word bold.\n");
    assert_eq!(
        (summary.inserted, summary.deleted, summary.restyled),
        (0, 0, 4)
    );
}

#[test]
fn changing_a_line_type_touches_only_its_terminator() {
    let mut note = Note::from_markdown("Shopping\n\n- milk\n");
    let summary = note.set_markdown("# Shopping\n\n- milk\n");
    assert_eq!(
        (summary.inserted, summary.deleted, summary.restyled),
        (0, 0, 1)
    );
}

#[test]
fn garbage_bytes_never_load() {
    let good = Note::from_markdown(THREE).export_snapshot().unwrap();
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"not a loro document".to_vec(),
        vec![0; 64],
        vec![0xff; 1000],
        good[..good.len() / 2].to_vec(),
    ];
    // Deterministic pseudo-random garbage, and single-byte corruptions of a
    // real snapshot.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for len in [1, 7, 22, 100, 4096] {
        inputs.push((0..len).map(|_| next() as u8).collect());
    }
    for _ in 0..50 {
        let mut bad = good.clone();
        let i = (next() as usize) % bad.len();
        bad[i] ^= 1 << (next() % 8);
        inputs.push(bad);
    }
    for bytes in &inputs[..inputs.len() - 50] {
        assert!(
            Note::load(&[bytes]).is_err(),
            "{} bytes loaded",
            bytes.len()
        );
    }
    // A flipped bit either fails the checksum or, in a part the checksum
    // does not cover, still loads: it must never panic.
    for bytes in &inputs[inputs.len() - 50..] {
        let _ = Note::load(&[bytes]);
    }
    let mut note = Note::from_markdown("x\n");
    assert!(matches!(
        note.import(b"\x00garbage"),
        Err(NoteError::Import(_))
    ));
    assert_eq!(
        note.to_markdown(),
        "x\n",
        "a refused import changes nothing"
    );
}

#[test]
fn a_loaded_note_has_nothing_to_commit() {
    let mut a = Note::from_markdown(THREE);
    let first = a.commit_pending().unwrap();
    a.set_markdown(&THREE.replace("pears", "figs"));
    let second = a.commit_pending().unwrap();
    let mut b = Note::load(&[&first, &second]).unwrap();
    assert_eq!(b.to_markdown(), a.to_markdown());
    assert_eq!(b.commit_pending(), None);
}

#[test]
fn commit_pending_returns_only_new_local_operations() {
    let big = "A long paragraph of text. ".repeat(200) + "\n";
    let mut a = Note::from_markdown(&big);
    let first = a.commit_pending().unwrap();
    assert_eq!(a.commit_pending(), None, "nothing new");
    a.insert(0, "x").unwrap();
    let second = a.commit_pending().unwrap();
    assert!(
        second.len() < first.len() / 10,
        "{} vs {} bytes",
        second.len(),
        first.len()
    );

    // The second update alone lacks its history: a fresh replica shows
    // nothing until the first arrives, in whatever order.
    let mut c = Note::load(&[&second]).unwrap();
    assert_eq!(c.plain_text(), "");
    c.import(&first).unwrap();
    assert_eq!(c.plain_text(), a.plain_text());

    // Imported operations are never re-sealed as our own.
    let mut b = Note::new();
    b.import(&first).unwrap();
    b.import(&second).unwrap();
    assert_eq!(b.commit_pending(), None);
    b.insert(0, "y").unwrap();
    let own = b.commit_pending().unwrap();
    assert!(own.len() < first.len() / 10);
}

#[test]
fn each_note_value_is_a_new_peer() {
    let a = Note::from_markdown("x\n");
    let b = Note::load(&[&a.export_snapshot().unwrap()]).unwrap();
    let c = Note::load(&[&a.export_snapshot().unwrap()]).unwrap();
    assert_ne!(a.doc().peer_id(), b.doc().peer_id());
    assert_ne!(b.doc().peer_id(), c.doc().peer_id());
}

#[test]
fn version_bytes_track_what_the_note_has_seen() {
    let mut a = Note::from_markdown("x\n");
    let v1 = a.version_bytes();
    a.insert(0, "y").unwrap();
    a.commit_pending();
    let v2 = a.version_bytes();
    assert_ne!(v1, v2);
    let vv = loro::VersionVector::decode(&v2).unwrap();
    assert_eq!(
        vv.get(&a.doc().peer_id()).copied(),
        Some(5),
        "x, \\n, the src mark (its start and end), y"
    );
}

#[test]
fn raw_edits_use_char_positions_and_check_ranges() {
    let mut note = Note::new();
    note.insert(0, "日本😀\n").unwrap();
    note.insert(3, "語").unwrap();
    assert_eq!(note.plain_text(), "日本😀語\n");
    note.delete(1, 2).unwrap();
    assert_eq!(note.plain_text(), "日語\n");
    assert_eq!(
        note.insert(4, "x"),
        Err(NoteError::OutOfRange { pos: 4, len: 3 })
    );
    assert_eq!(
        note.delete(2, 2),
        Err(NoteError::OutOfRange { pos: 4, len: 3 })
    );
    assert_eq!(
        note.delete(usize::MAX, 2),
        Err(NoteError::OutOfRange {
            pos: usize::MAX,
            len: 3
        })
    );
}

#[derive(serde::Deserialize)]
struct Trace {
    #[serde(rename = "startContent")]
    start: String,
    #[serde(rename = "endContent")]
    end: String,
    txns: Vec<Txn>,
}

#[derive(serde::Deserialize)]
struct Txn {
    patches: Vec<(usize, usize, String)>,
}

fn trace(name: &str) -> Trace {
    let dir = std::env::var("WEFT_TRACES").unwrap_or_else(|_| {
        // The traces the repository carries (testdata/traces).
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/traces").to_owned()
    });
    let path = format!("{dir}/{name}");
    let file =
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e} (set WEFT_TRACES)"));
    let mut json = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

#[test]
fn the_friendsforever_trace_replays_to_its_end_content() {
    let t = trace("friendsforever_flat.json.gz");
    assert_eq!(t.txns.len(), 26_078);
    let mut note = Note::new();
    note.insert(0, &t.start).unwrap();
    for txn in &t.txns {
        for (pos, del, ins) in &txn.patches {
            if *del > 0 {
                note.delete(*pos, *del).unwrap();
            }
            if !ins.is_empty() {
                note.insert(*pos, ins).unwrap();
            }
        }
    }
    assert_eq!(note.plain_text(), t.end);

    // The same text survives a trip through storage and through Markdown.
    let loaded = Note::load(&[&note.export_snapshot().unwrap()]).unwrap();
    assert_eq!(loaded.plain_text(), t.end);
    let md = note.to_markdown();
    assert_eq!(Note::from_markdown(&md).to_markdown(), md);
    let s = note.set_markdown(&md);
    assert_eq!((s.deleted, s.restyled), (0, 0));
    assert!(s.inserted <= 1, "at most a missing final newline");
    assert_eq!(
        note.plain_text().trim_end_matches('\n'),
        t.end.trim_end_matches('\n')
    );
}

// Random concurrent `weft edit`s on two replicas converge.

#[derive(Clone, Debug)]
enum Edit {
    ReplaceWord(usize, &'static str),
    InsertLine(usize, &'static str),
    DeleteLine(usize),
    Bold(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let word = prop::sample::select(vec!["alpha", "béta", "日本", "x*y", "#tag", "[b]"]);
    let line = prop::sample::select(vec![
        "- item",
        "# Head",
        "plain text",
        "> quote",
        "1. one",
        "- [ ] task",
    ]);
    prop_oneof![
        (any::<usize>(), word).prop_map(|(i, w)| Edit::ReplaceWord(i, w)),
        (any::<usize>(), line).prop_map(|(i, l)| Edit::InsertLine(i, l)),
        any::<usize>().prop_map(Edit::DeleteLine),
        any::<usize>().prop_map(Edit::Bold),
    ]
}

/// Applies an edit to a note's Markdown, as a user in an editor would.
fn apply(note: &mut Note, e: &Edit) {
    let md = note.to_markdown();
    let mut lines: Vec<String> = md.lines().map(str::to_owned).collect();
    match e {
        Edit::ReplaceWord(i, _) | Edit::Bold(i) if !lines.is_empty() => {
            let l = i % lines.len();
            let mut words: Vec<String> = lines[l].split(' ').map(str::to_owned).collect();
            let k = i / 7 % words.len();
            words[k] = match e {
                Edit::ReplaceWord(_, w) => (*w).to_owned(),
                _ if words[k].chars().any(char::is_alphanumeric) => format!("**{}**", words[k]),
                _ => words[k].clone(),
            };
            lines[l] = words.join(" ");
        }
        Edit::InsertLine(i, text) => lines.insert(i % (lines.len() + 1), format!("\n{text}\n")),
        Edit::DeleteLine(i) if !lines.is_empty() => {
            let l = i % lines.len();
            lines.remove(l);
        }
        _ => {}
    }
    note.set_markdown(&(lines.join("\n") + "\n"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_markdown_edits_converge(
        a_edits in prop::collection::vec(edit(), 1..6),
        b_edits in prop::collection::vec(edit(), 1..6),
    ) {
        let (mut a, mut b) = replica_pair(THREE);
        for (n, e) in a_edits.iter().enumerate() {
            apply(&mut a, e);
            if let Some(e) = b_edits.get(n) {
                apply(&mut b, e);
            }
            if n % 2 == 1 {
                exchange(&mut a, &mut b);
            }
        }
        for e in b_edits.iter().skip(a_edits.len()) {
            apply(&mut b, e);
        }
        exchange(&mut a, &mut b);
        let md = a.to_markdown();
        prop_assert_eq!(&md, &b.to_markdown());
        prop_assert_eq!(Note::from_markdown(&md).to_markdown(), md);
    }
}

#[test]
fn notes_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Note>();
    let note = Note::from_markdown("x\n");
    let md = std::thread::spawn(move || note.to_markdown())
        .join()
        .unwrap();
    assert_eq!(md, "x\n");
}
