//! Record tests: the RFC 6902 appendix, pointers, merging, and properties
//! against an independent reference implementation (`tests/reference.rs`).

mod props;
mod reference;

use serde_json::{Value as Json, json};

use super::{Record, RecordError};

fn rec(v: Json) -> Record {
    Record::from_json(&v).unwrap()
}

/// Applies a patch and returns the new JSON.
fn patched(doc: Json, patch: Json) -> Result<Json, RecordError> {
    let mut r = rec(doc);
    r.apply_patch(&patch)?;
    Ok(r.to_json())
}

/// Two replicas that share `base` and have nothing pending.
fn pair(base: Json) -> (Record, Record) {
    let mut a = rec(base);
    a.commit_pending();
    let snap = a.export_snapshot();
    let b = Record::load(&[&snap]).unwrap();
    (a, b)
}

/// Sends each side's pending changes to the other.
fn exchange(a: &mut Record, b: &mut Record) {
    let from_a = a.commit_pending();
    let from_b = b.commit_pending();
    if let Some(x) = from_a {
        b.import(&x).unwrap();
    }
    if let Some(x) = from_b {
        a.import(&x).unwrap();
    }
}

// ---- RFC 6902 Appendix A, every example ----

#[test]
fn rfc6902_a1_add_object_member() {
    let out = patched(
        json!({"foo": "bar"}),
        json!([{"op": "add", "path": "/baz", "value": "qux"}]),
    );
    assert_eq!(out.unwrap(), json!({"baz": "qux", "foo": "bar"}));
}

#[test]
fn rfc6902_a2_add_array_element() {
    let out = patched(
        json!({"foo": ["bar", "baz"]}),
        json!([{"op": "add", "path": "/foo/1", "value": "qux"}]),
    );
    assert_eq!(out.unwrap(), json!({"foo": ["bar", "qux", "baz"]}));
}

#[test]
fn rfc6902_a3_remove_object_member() {
    let out = patched(
        json!({"baz": "qux", "foo": "bar"}),
        json!([{"op": "remove", "path": "/baz"}]),
    );
    assert_eq!(out.unwrap(), json!({"foo": "bar"}));
}

#[test]
fn rfc6902_a4_remove_array_element() {
    let out = patched(
        json!({"foo": ["bar", "qux", "baz"]}),
        json!([{"op": "remove", "path": "/foo/1"}]),
    );
    assert_eq!(out.unwrap(), json!({"foo": ["bar", "baz"]}));
}

#[test]
fn rfc6902_a5_replace_value() {
    let out = patched(
        json!({"baz": "qux", "foo": "bar"}),
        json!([{"op": "replace", "path": "/baz", "value": "boo"}]),
    );
    assert_eq!(out.unwrap(), json!({"baz": "boo", "foo": "bar"}));
}

#[test]
fn rfc6902_a6_move_value() {
    let doc = json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}});
    let out = patched(
        doc,
        json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]),
    );
    assert_eq!(
        out.unwrap(),
        json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}})
    );
}

#[test]
fn rfc6902_a7_move_array_element() {
    let doc = json!({"foo": ["all", "grass", "cows", "eat"]});
    let out = patched(
        doc,
        json!([{"op": "move", "from": "/foo/1", "path": "/foo/3"}]),
    );
    assert_eq!(
        out.unwrap(),
        json!({"foo": ["all", "cows", "eat", "grass"]})
    );
}

#[test]
fn rfc6902_a8_test_success() {
    let doc = json!({"baz": "qux", "foo": ["a", 2, "c"]});
    let patch = json!([
        {"op": "test", "path": "/baz", "value": "qux"},
        {"op": "test", "path": "/foo/1", "value": 2}
    ]);
    assert_eq!(patched(doc.clone(), patch).unwrap(), doc);
}

#[test]
fn rfc6902_a9_test_error() {
    let err = patched(
        json!({"baz": "qux"}),
        json!([{"op": "test", "path": "/baz", "value": "bar"}]),
    )
    .unwrap_err();
    match err {
        RecordError::PatchTestFailed {
            index,
            pointer,
            expected,
            actual,
        } => {
            assert_eq!((index, pointer.as_str()), (0, "/baz"));
            assert_eq!((*expected, *actual), (json!("bar"), json!("qux")));
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn rfc6902_a10_add_nested_member_object() {
    let out = patched(
        json!({"foo": "bar"}),
        json!([{"op": "add", "path": "/child", "value": {"grandchild": {}}}]),
    );
    assert_eq!(
        out.unwrap(),
        json!({"foo": "bar", "child": {"grandchild": {}}})
    );
}

#[test]
fn rfc6902_a11_ignore_unrecognized_members() {
    let patch = json!([{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]);
    assert_eq!(
        patched(json!({"foo": "bar"}), patch).unwrap(),
        json!({"foo": "bar", "baz": "qux"})
    );
}

#[test]
fn rfc6902_a12_add_to_nonexistent_target() {
    let err = patched(
        json!({"foo": "bar"}),
        json!([{"op": "add", "path": "/baz/bat", "value": "qux"}]),
    )
    .unwrap_err();
    assert!(
        matches!(err, RecordError::PatchOp { index: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("/baz/bat"), "{err}");
}

/// A.13 is a patch with a duplicated `op` member. serde_json keeps the last
/// duplicate while parsing, so by the time a `Value` reaches `apply_patch` the
/// duplicate is gone and cannot be detected here. What can be checked is that
/// an operation without a usable `op` is refused, not guessed at.
#[test]
fn rfc6902_a13_invalid_patch_document() {
    for patch in [
        json!([{"path": "/baz", "value": "qux"}]),
        json!([{"op": 1, "path": "/baz", "value": "qux"}]),
        json!([{"op": "frobnicate", "path": "/baz"}]),
        json!([{"op": "add", "path": "/baz"}]),
        json!([{"op": "move", "path": "/baz"}]),
    ] {
        let err = patched(json!({"foo": "bar"}), patch.clone()).unwrap_err();
        assert!(
            matches!(err, RecordError::PatchOp { index: 0, .. }),
            "{patch}: {err}"
        );
    }
    for patch in [json!({"op": "add"}), json!(["add"]), json!(null)] {
        let err = patched(json!({}), patch.clone()).unwrap_err();
        assert!(
            matches!(err, RecordError::NotAPatch { .. }),
            "{patch}: {err}"
        );
    }
}

#[test]
fn rfc6902_a14_escape_ordering() {
    let doc = json!({"/": 9, "~1": 10});
    assert_eq!(
        patched(
            doc.clone(),
            json!([{"op": "test", "path": "/~01", "value": 10}])
        )
        .unwrap(),
        doc
    );
}

#[test]
fn rfc6902_a15_strings_and_numbers_differ() {
    let doc = json!({"/": 9, "~1": 10});
    let err = patched(doc, json!([{"op": "test", "path": "/~01", "value": "10"}])).unwrap_err();
    assert!(matches!(err, RecordError::PatchTestFailed { .. }), "{err}");
}

#[test]
fn rfc6902_a16_add_array_value() {
    let out = patched(
        json!({"foo": ["bar"]}),
        json!([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]),
    );
    assert_eq!(out.unwrap(), json!({"foo": ["bar", ["abc", "def"]]}));
}

// ---- pointers and single-field operations ----

#[test]
fn rfc6901_pointer_examples() {
    let doc = json!({"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4,
                     "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8});
    let r = rec(doc.clone());
    let cases = [
        ("", doc),
        ("/foo", json!(["bar", "baz"])),
        ("/foo/0", json!("bar")),
        ("/", json!(0)),
        ("/a~1b", json!(1)),
        ("/c%d", json!(2)),
        ("/e^f", json!(3)),
        ("/g|h", json!(4)),
        ("/i\\j", json!(5)),
        ("/k\"l", json!(6)),
        ("/ ", json!(7)),
        ("/m~0n", json!(8)),
    ];
    for (p, want) in cases {
        assert_eq!(r.get(p).unwrap(), want, "pointer {p:?}");
    }
    for bad in ["foo", "/m~2n", "/foo/01", "/foo/-1"] {
        assert!(
            matches!(r.get(bad), Err(RecordError::InvalidPointer { .. })),
            "{bad}"
        );
    }
    assert!(matches!(
        r.get("/foo/2"),
        Err(RecordError::NoSuchPath { .. })
    ));
    assert!(matches!(
        r.get("/foo/-"),
        Err(RecordError::NoSuchPath { .. })
    ));
}

#[test]
fn set_creates_replaces_appends_and_names_bad_paths() {
    let mut r = rec(json!({"list": [1, 2], "n": 5}));
    r.set("/title", &json!("Groceries")).unwrap();
    r.set("/list/0", &json!("one")).unwrap();
    r.set("/list/-", &json!({"x": true})).unwrap();
    r.set("/list/2/y", &json!(null)).unwrap();
    assert_eq!(
        r.to_json(),
        json!({"list": ["one", 2, {"x": true, "y": null}], "n": 5, "title": "Groceries"})
    );

    let err = r.set("/n/deeper", &json!(1)).unwrap_err();
    assert!(
        matches!(&err, RecordError::NotAContainer { at, .. } if at == "/n"),
        "{err}"
    );
    assert!(err.to_string().contains("/n/deeper"), "{err}");
    assert!(matches!(
        r.set("/missing/x", &json!(1)),
        Err(RecordError::NoSuchPath { .. })
    ));
    assert!(matches!(
        r.set("/list/3", &json!(1)),
        Err(RecordError::NoSuchPath { .. })
    ));
    assert!(matches!(
        r.set("", &json!([1])),
        Err(RecordError::NotAnObject { .. })
    ));
    r.set("", &json!({"only": 1})).unwrap();
    assert_eq!(r.to_json(), json!({"only": 1}));
}

#[test]
fn numbers_round_trip_exactly() {
    let v = json!({"i": -7, "big": u64::MAX, "f": 1.5, "whole_float": 2.0, "s": "x", "b": false, "z": null});
    let mut r = rec(v.clone());
    assert_eq!(r.to_json(), v);
    let snap = r.export_snapshot();
    assert_eq!(Record::load(&[&snap]).unwrap().to_json(), v);
}

#[test]
fn non_object_roots_are_rejected() {
    for v in [json!([1]), json!("s"), json!(3), json!(null)] {
        assert!(
            matches!(Record::from_json(&v), Err(RecordError::NotAnObject { .. })),
            "{v}"
        );
    }
}

#[test]
fn failed_patch_changes_nothing_and_leaves_nothing_pending() {
    let mut r = rec(json!({"a": 1, "list": [1, 2, 3]}));
    r.commit_pending().unwrap();
    let before = r.version_bytes();
    let patch = json!([
        {"op": "add", "path": "/b", "value": 2},
        {"op": "remove", "path": "/list/0"},
        {"op": "replace", "path": "/a", "value": {"deep": [1]}},
        {"op": "remove", "path": "/nope"}
    ]);
    let err = r.apply_patch(&patch).unwrap_err();
    assert!(
        matches!(&err, RecordError::PatchOp { index: 3, op, .. } if op == "remove"),
        "{err}"
    );
    assert!(err.to_string().contains("/nope"), "{err}");
    assert_eq!(r.to_json(), json!({"a": 1, "list": [1, 2, 3]}));
    assert_eq!(r.commit_pending(), None);
    assert_eq!(r.version_bytes(), before);
    // The record still works after the rollback.
    assert_eq!(
        r.apply_patch(&json!([{"op": "add", "path": "/b", "value": 2}]))
            .unwrap()
            .ops,
        1
    );
    assert!(r.commit_pending().is_some());
}

#[test]
fn move_into_own_child_is_refused() {
    let err = patched(
        json!({"a": {"b": {}}}),
        json!([{"op": "move", "from": "/a", "path": "/a/b/c"}]),
    )
    .unwrap_err();
    assert!(
        matches!(err, RecordError::PatchOp { index: 0, .. }),
        "{err}"
    );
    // Moving onto itself is a no-op, not an error.
    let same = patched(
        json!({"a": 1}),
        json!([{"op": "move", "from": "/a", "path": "/a"}]),
    );
    assert_eq!(same.unwrap(), json!({"a": 1}));
}

// ---- merging ----

#[test]
fn concurrent_sets_conflict_and_both_replicas_pick_the_same_winner() {
    let (mut a, mut b) = pair(json!({"title": "draft", "n": 1}));
    a.set("/title", &json!("from A")).unwrap();
    b.set("/title", &json!("from B")).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(a.version_bytes(), b.version_bytes());
    let ca = a.conflicts();
    assert_eq!(ca, b.conflicts());
    assert_eq!(ca.len(), 1, "{ca:?}");
    assert_eq!(ca[0].pointer, "/title");
    let mut vals = ca[0].values.clone();
    vals.sort_by_key(|v| v.to_string());
    assert_eq!(vals, vec![json!("from A"), json!("from B")]);
    // The winner is the one to_json shows, the last listed value.
    assert_eq!(a.get("/title").unwrap(), *ca[0].values.last().unwrap());

    // Settling the conflict with set() clears it on both sides.
    a.set("/title", &json!("agreed")).unwrap();
    exchange(&mut a, &mut b);
    assert!(b.conflicts().is_empty());
    assert_eq!(b.get("/title").unwrap(), json!("agreed"));
}

#[test]
fn conflicts_are_found_inside_lists_and_escaped() {
    let (mut a, mut b) = pair(json!({"a/b": [{"x": 1}]}));
    a.set("/a~1b/0/x", &json!(2)).unwrap();
    b.set("/a~1b/0/x", &json!({"nested": true})).unwrap();
    exchange(&mut a, &mut b);
    let c = a.conflicts();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].pointer, "/a~1b/0/x");
    assert!(c[0].values.contains(&json!({"nested": true})), "{c:?}");
}

#[test]
fn concurrent_increments_add_up() {
    let mut a = Record::new();
    a.increment("/votes", 1).unwrap();
    a.commit_pending();
    let snap = a.export_snapshot();
    let mut b = Record::load(&[&snap]).unwrap();
    a.increment("/votes", 5).unwrap();
    b.increment("/votes", 10).unwrap();
    b.increment("/votes", -2).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(a.get("/votes").unwrap(), json!(14));
    assert_eq!(b.to_json(), json!({"votes": 14}));
    assert!(a.conflicts().is_empty());

    a.set("/plain", &json!(3)).unwrap();
    assert!(matches!(
        a.increment("/plain", 1),
        Err(RecordError::NotACounter { .. })
    ));
    assert!(matches!(
        a.increment("", 1),
        Err(RecordError::NotACounter { .. })
    ));
}

#[test]
fn replace_all_keeps_a_counter_a_counter() {
    let (mut a, mut b) = pair(json!({}));
    a.increment("/n", 10).unwrap();
    exchange(&mut a, &mut b);
    // A reverts the counter to 4 while B adds 1: both effects survive.
    a.replace_all(&json!({"n": 4})).unwrap();
    b.increment("/n", 1).unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(a.get("/n").unwrap(), json!(5));
    assert_eq!(b.get("/n").unwrap(), json!(5));
}

#[test]
fn replace_all_on_a_big_list_sends_a_small_change() {
    let items: Vec<Json> = (0..1000)
        .map(|i| json!({"id": i, "name": format!("item {i}"), "done": false}))
        .collect();
    let mut r = rec(json!({"items": items.clone(), "owner": "me"}));
    r.commit_pending().unwrap();

    let mut changed = items;
    changed[500]["done"] = json!(true);
    changed.remove(10);
    changed.insert(700, json!({"id": "new"}));
    let target = json!({"items": changed, "owner": "me"});
    r.replace_all(&target).unwrap();
    assert_eq!(r.to_json(), target);

    let small = r.commit_pending().unwrap();
    let full = rec(target.clone()).commit_pending().unwrap();
    // Large changes travel deflate-compressed; they must import too.
    assert_eq!(full[8], 2, "expected a compressed change chunk");
    let mut copy = Record::new();
    copy.import(&full).unwrap();
    assert_eq!(copy.to_json(), target);
    assert!(
        small.len() * 20 < full.len(),
        "minimal change {} bytes vs full rewrite {}",
        small.len(),
        full.len()
    );

    // Nothing differs: no change at all.
    r.replace_all(&target).unwrap();
    assert_eq!(r.commit_pending(), None);
}

#[test]
fn replace_all_leaves_concurrent_edits_to_other_fields_intact() {
    let (mut a, mut b) = pair(json!({"title": "t", "tags": ["x", "y"], "meta": {"k": 1, "j": 2}}));
    b.set("/meta/k", &json!(100)).unwrap();
    b.set("/tags/1", &json!("Y")).unwrap();
    a.replace_all(&json!({"title": "new title", "tags": ["x", "y", "z"], "meta": {"k": 1}}))
        .unwrap();
    exchange(&mut a, &mut b);
    let want = json!({"title": "new title", "tags": ["x", "Y", "z"], "meta": {"k": 100}});
    assert_eq!(a.to_json(), want);
    assert_eq!(b.to_json(), want);
}

#[test]
fn load_accepts_changes_in_any_order_and_a_fresh_actor() {
    let mut r = Record::new();
    let mut changes = Vec::new();
    for i in 0..5 {
        r.set(&format!("/k{i}"), &json!(i)).unwrap();
        changes.push(r.commit_pending().unwrap());
    }
    changes.reverse();
    let refs: Vec<&[u8]> = changes.iter().map(Vec::as_slice).collect();
    let mut loaded = Record::load(&refs).unwrap();
    assert_eq!(loaded.to_json(), r.to_json());

    // A snapshot plus changes it already contains plus newer ones.
    let snap = r.export_snapshot();
    r.set("/later", &json!(true)).unwrap();
    let later = r.commit_pending().unwrap();
    let again = Record::load(&[&later, &snap, &changes[0]]).unwrap();
    assert_eq!(again.to_json(), r.to_json());

    // New local changes after load use a new actor, so they merge cleanly
    // with the original replica's own later changes.
    loaded.set("/k0", &json!("edited")).unwrap();
    r.import(&loaded.commit_pending().unwrap()).unwrap();
    assert_eq!(r.get("/k0").unwrap(), json!("edited"));
}

#[test]
fn commit_pending_holds_only_local_changes() {
    let (mut a, mut b) = pair(json!({}));
    b.set("/from_b", &json!(1)).unwrap();
    a.import(&b.commit_pending().unwrap()).unwrap();
    assert_eq!(
        a.commit_pending(),
        None,
        "foreign changes must not be re-sealed as local"
    );
    a.set("/from_a", &json!(2)).unwrap();
    a.set("/again", &json!(3)).unwrap();
    let mine = a.commit_pending().unwrap();
    let mut c = Record::load(&[&b.export_snapshot()]).unwrap();
    c.import(&mine).unwrap();
    assert_eq!(c.to_json(), json!({"from_a": 2, "from_b": 1, "again": 3}));
}

#[test]
fn garbage_bytes_are_errors_not_panics() {
    let mut good = rec(json!({"a": [1, 2, {"b": "c"}]}));
    let snap = good.export_snapshot();
    let change = good.commit_pending().unwrap();
    let cases: Vec<Vec<u8>> = vec![
        b"not automerge".to_vec(),
        snap[..snap.len() / 2].to_vec(),
        change[..change.len() - 3].to_vec(),
        {
            let mut s = snap.clone();
            let mid = s.len() / 2;
            s[mid] ^= 0xff;
            s
        },
        {
            let mut c = change.clone();
            let last = c.len() - 1;
            c[last] ^= 0x55;
            c
        },
    ];
    for (i, bytes) in cases.iter().enumerate() {
        assert!(Record::load(&[bytes]).is_err(), "case {i} loaded");
        let mut r = Record::new();
        assert!(r.import(bytes).is_err(), "case {i} imported");
    }
    assert_eq!(Record::load(&[]).unwrap().to_json(), json!({}));
}

/// similar 2.7 reports a `Delete`'s `new_index` as something other than the
/// live position; replace_all once deleted the wrong element because of it.
#[test]
fn replace_all_handles_a_leading_delete() {
    let mut r = rec(json!({"a": [[1], null, []]}));
    let target = json!({"a": [null, null, 1, null, 1]});
    r.replace_all(&target).unwrap();
    assert_eq!(r.to_json(), target);
}
