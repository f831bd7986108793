//! `replace_all`: make the document equal a JSON value with minimal ops.
//!
//! Rewriting the whole document would work too, but every field would get a
//! new identity: a concurrent edit on another device to any field would then
//! conflict with (or vanish under) the rewrite. Touching only what differs
//! keeps those edits merging, and keeps the sealed change small.

use automerge::{AutoCommit, ObjId, Prop, ROOT, ReadDoc, ScalarValue, transaction::Transactable};
use serde_json::{Map, Value as Json};
use similar::{Algorithm, DiffOp, capture_diff_slices};

use super::convert::{canonical, node_to_json};
use super::pointer::{Kind, Node, classify, escape};
use super::write::{Slot, write_json};
use super::{MAX_DEPTH, RecordError, json_type};

/// Makes the root equal `v`, which must be an object.
pub(crate) fn replace_root(doc: &mut AutoCommit, v: &Json) -> Result<(), RecordError> {
    let Json::Object(m) = v else {
        return Err(RecordError::NotAnObject { got: json_type(v) });
    };
    sync_map(doc, &ROOT, m, "", 0)
}

fn check_depth(path: &str, depth: usize) -> Result<(), RecordError> {
    if depth > MAX_DEPTH {
        return Err(RecordError::TooDeep {
            pointer: path.to_owned(),
        });
    }
    Ok(())
}

fn sync_map(
    doc: &mut AutoCommit,
    obj: &ObjId,
    target: &Map<String, Json>,
    path: &str,
    depth: usize,
) -> Result<(), RecordError> {
    check_depth(path, depth)?;
    let stale: Vec<String> = doc.keys(obj).filter(|k| !target.contains_key(k)).collect();
    for k in stale {
        doc.delete(obj, k.as_str())?;
    }
    for (k, v) in target {
        let p = format!("{path}/{}", escape(k));
        sync_slot(doc, obj, Prop::Map(k.clone()), v, &p, depth + 1)?;
    }
    Ok(())
}

/// Makes the value at `prop` of `obj` equal `target`, recursing into
/// containers of the same shape.
fn sync_slot(
    doc: &mut AutoCommit,
    obj: &ObjId,
    prop: Prop,
    target: &Json,
    path: &str,
    depth: usize,
) -> Result<(), RecordError> {
    let current = doc.get(obj, prop.clone())?.map(|(v, id)| classify(v, id));
    match (current, target) {
        (None, _) => write_json(doc, obj, Slot::Put(prop), target, path, depth),
        (Some(Node::Container(c)), Json::Object(m)) if c.kind == Kind::Map => {
            sync_map(doc, &c.id, m, path, depth)
        }
        (Some(Node::Container(c)), Json::Array(a)) if c.kind == Kind::List => {
            sync_list(doc, &c.id, a, path, depth)
        }
        (Some(Node::Scalar(ScalarValue::Counter(c))), Json::Number(n)) if n.as_i64().is_some() => {
            // Keep a counter a counter: adjust it by the difference, so
            // increments made concurrently elsewhere still add up.
            let want = n.as_i64().unwrap_or_default();
            match want.checked_sub(i64::from(&c)) {
                Some(0) => Ok(()),
                Some(delta) => Ok(doc.increment(obj, prop, delta)?),
                None => write_json(doc, obj, Slot::Put(prop), target, path, depth),
            }
        }
        (Some(node), _) => {
            if node_to_json(doc, &node, depth) == *target {
                Ok(())
            } else {
                write_json(doc, obj, Slot::Put(prop), target, path, depth)
            }
        }
    }
}

fn sync_list(
    doc: &mut AutoCommit,
    obj: &ObjId,
    target: &[Json],
    path: &str,
    depth: usize,
) -> Result<(), RecordError> {
    check_depth(path, depth)?;
    let old: Vec<Node> = doc
        .list_range(obj, ..)
        .map(|i| {
            let id = i.id();
            classify(i.value.into_value(), id)
        })
        .collect();
    let old_keys: Vec<String> = old
        .iter()
        .map(|n| canonical(&node_to_json(doc, n, depth + 1)))
        .collect();
    let new_keys: Vec<String> = target.iter().map(canonical).collect();
    // The ops form an edit script in order. `pos` is where the next op
    // applies in the live list; everything before it already matches
    // `target[..pos]`. The ops' own `new_index` is not used: for `Delete`
    // similar 2.7 reports an index that is not the live position.
    let mut pos = 0;
    for op in capture_diff_slices(Algorithm::Myers, &old_keys, &new_keys) {
        match op {
            DiffOp::Equal { len, .. } => pos += len,
            DiffOp::Delete { old_len, .. } => {
                for _ in 0..old_len {
                    doc.delete(obj, pos)?;
                }
            }
            DiffOp::Insert { new_len, .. } => {
                for _ in 0..new_len {
                    insert_item(doc, obj, pos, target, path, depth)?;
                    pos += 1;
                }
            }
            DiffOp::Replace {
                old_len, new_len, ..
            } => {
                let common = old_len.min(new_len);
                for (i, t) in target.iter().enumerate().skip(pos).take(common) {
                    let p = format!("{path}/{i}");
                    sync_slot(doc, obj, Prop::Seq(i), t, &p, depth + 1)?;
                }
                pos += common;
                for _ in new_len..old_len {
                    doc.delete(obj, pos)?;
                }
                for _ in old_len..new_len {
                    insert_item(doc, obj, pos, target, path, depth)?;
                    pos += 1;
                }
            }
        }
    }
    Ok(())
}

fn insert_item(
    doc: &mut AutoCommit,
    obj: &ObjId,
    i: usize,
    target: &[Json],
    path: &str,
    depth: usize,
) -> Result<(), RecordError> {
    write_json(
        doc,
        obj,
        Slot::Insert(i),
        &target[i],
        &format!("{path}/{i}"),
        depth + 1,
    )
}
