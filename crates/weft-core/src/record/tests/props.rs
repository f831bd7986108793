//! Property tests: patches against the reference implementation,
//! `replace_all` against its target, hostile bytes against the loader.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value as Json, json};

use super::reference;
use crate::record::{Record, RecordError};

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "~", "/", "a/b", "~1"]).prop_map(str::to_owned)
}

fn leaf() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        (-3i64..4).prop_map(Json::from),
        prop::sample::select(vec![0.5f64, -1.25, 1e10, 2.0]).prop_map(Json::from),
        prop::sample::select(vec!["", "x", "héllo", "10"]).prop_map(Json::from),
        Just(json!(u64::MAX)),
    ]
}

fn value() -> impl Strategy<Value = Json> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|kv| Json::Object(kv.into_iter().collect())),
        ]
    })
}

fn doc() -> impl Strategy<Value = Json> {
    prop::collection::vec((key(), value()), 0..5)
        .prop_map(|kv| Json::Object(kv.into_iter().collect()))
}

/// One operation to generate: kind, two selectors, a value, whether a
/// `test` should use the real value, and whether to keep it if it fails.
type Spec = (u8, Index, Index, Json, bool, u8);

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..6,
        any::<Index>(),
        any::<Index>(),
        value(),
        any::<bool>(),
        0u8..8,
    )
}

/// Turns specs into a patch whose operations mostly succeed: paths are
/// drawn from what exists at that point of the patch. A failing op is
/// kept one time in eight, so the failure path is exercised too.
fn build_patch(doc: &Json, specs: &[Spec]) -> Json {
    let mut cur = doc.clone();
    let mut ops = Vec::new();
    for (kind, sel, sel2, v, real, keep) in specs {
        let existing = reference::pointers(&cur);
        let mut targets = existing.clone();
        targets.extend(reference::insertion_points(&cur));
        let at = |list: &[String], s: &Index| s.get(list).clone();
        let op = match kind {
            0 => json!({"op": "add", "path": at(&targets, sel), "value": v}),
            1 => json!({"op": "remove", "path": at(&existing, sel)}),
            2 => json!({"op": "replace", "path": at(&existing, sel), "value": v}),
            3 => json!({"op": "move", "from": at(&existing, sel2), "path": at(&targets, sel)}),
            4 => json!({"op": "copy", "from": at(&existing, sel2), "path": at(&targets, sel)}),
            _ => {
                let path = at(&existing, sel);
                let value = if *real {
                    let toks = reference::tokens(&path).unwrap_or_default();
                    reference::get(&cur, &toks).cloned().unwrap_or(Json::Null)
                } else {
                    v.clone()
                };
                json!({"op": "test", "path": path, "value": value})
            }
        };
        match reference::apply(&cur, &json!([op.clone()])) {
            Ok(next) => {
                cur = next;
                ops.push(op);
            }
            Err(_) if *keep == 0 => ops.push(op),
            Err(_) => {}
        }
    }
    Json::Array(ops)
}

fn failing_index(e: &RecordError) -> Option<usize> {
    match e {
        RecordError::PatchOp { index, .. } | RecordError::PatchTestFailed { index, .. } => {
            Some(*index)
        }
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn patches_match_the_reference(doc in doc(), specs in prop::collection::vec(spec(), 1..8)) {
        let patch = build_patch(&doc, &specs);
        let mut r = Record::from_json(&doc).unwrap();
        let base = r.export_snapshot();
        r.commit_pending();
        prop_assert_eq!(r.to_json(), doc.clone());

        match (reference::apply(&doc, &patch), r.apply_patch(&patch)) {
            (Ok(want), Ok(summary)) => {
                prop_assert_eq!(summary.ops, patch.as_array().map_or(0, Vec::len));
                prop_assert_eq!(r.to_json(), want.clone());
                // The sealed change reproduces the result on another replica.
                let mut other = Record::load(&[&base]).unwrap();
                if let Some(change) = r.commit_pending() {
                    other.import(&change).unwrap();
                }
                prop_assert_eq!(other.to_json(), want);
            }
            (Err(i), Err(e)) => {
                prop_assert_eq!(failing_index(&e), Some(i), "{}", e);
                prop_assert_eq!(r.to_json(), doc);
                prop_assert_eq!(r.commit_pending(), None);
            }
            (want, got) => prop_assert!(false, "reference {want:?}, record {got:?}, patch {patch}"),
        }
    }

    #[test]
    fn replace_all_reaches_its_target(a in doc(), b in doc()) {
        let mut r = Record::from_json(&a).unwrap();
        let base = r.export_snapshot();
        r.commit_pending();
        r.replace_all(&b).unwrap();
        prop_assert_eq!(r.to_json(), b.clone());
        let mut other = Record::load(&[&base]).unwrap();
        if let Some(change) = r.commit_pending() {
            other.import(&change).unwrap();
        } else {
            prop_assert_eq!(&a, &b);
        }
        prop_assert_eq!(other.to_json(), b);
    }

    /// Targets derived from the start by a few edits, so lists share items
    /// and the diff has to line up inserts and deletes around kept items.
    #[test]
    fn replace_all_reaches_an_edited_target(
        a in doc(),
        lists in prop::collection::vec(prop::collection::vec(leaf(), 0..8), 1..3),
        specs in prop::collection::vec(spec(), 1..10),
    ) {
        let mut a = a;
        if let Json::Object(m) = &mut a {
            for (i, l) in lists.into_iter().enumerate() {
                m.insert(format!("list{i}"), Json::Array(l));
            }
        }
        let b = reference::apply(&a, &build_patch(&a, &specs)).unwrap_or_else(|_| a.clone());
        let mut r = Record::from_json(&a).unwrap();
        let base = r.export_snapshot();
        r.commit_pending();
        r.replace_all(&b).unwrap();
        prop_assert_eq!(r.to_json(), b.clone());
        let mut other = Record::load(&[&base]).unwrap();
        if let Some(change) = r.commit_pending() {
            other.import(&change).unwrap();
        }
        prop_assert_eq!(other.to_json(), b);
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), flip in any::<Index>(), mask in 1u8..) {
        let _ = Record::load(&[&bytes]);
        let mut r = Record::new();
        let _ = r.import(&bytes);

        let mut good = Record::from_json(&json!({"a": [1, "two", {"three": 3.5}]})).unwrap();
        for mut valid in [good.export_snapshot(), good.commit_pending().unwrap_or_default()] {
            if valid.is_empty() {
                continue;
            }
            let i = flip.index(valid.len());
            valid[i] ^= mask;
            let _ = Record::load(&[&valid]);
            let _ = Record::new().import(&valid);
        }
    }
}
