//! JSON → Automerge (see the table in `record.rs`): one writer for a value put at a
//! map key or list index and for one inserted into a list.

use automerge::{AutoCommit, ObjId, ObjType, Prop, ScalarValue, transaction::Transactable};
use serde_json::Value as Json;

use super::{MAX_DEPTH, RecordError};

/// Where a value goes.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    /// At a map key, or over an existing list element.
    Put(Prop),
    /// Inserted into a list before this index (the length: at the end).
    Insert(usize),
}

/// A JSON scalar as an Automerge scalar; `None` for objects and arrays.
fn json_to_scalar(v: &Json) -> Option<ScalarValue> {
    Some(match v {
        Json::Null => ScalarValue::Null,
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                ScalarValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                ScalarValue::Uint(u)
            } else {
                // serde_json numbers are i64, u64 or finite f64.
                ScalarValue::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::Array(_) | Json::Object(_) => return None,
    })
}

fn too_deep(pointer: &str, depth: usize) -> Result<(), RecordError> {
    if depth > MAX_DEPTH {
        return Err(RecordError::TooDeep {
            pointer: pointer.to_owned(),
        });
    }
    Ok(())
}

/// Writes `v` into `obj` at `slot`: a scalar as itself, an array or object as a new
/// list or map filled with its contents.
pub(crate) fn write_json(
    doc: &mut AutoCommit,
    obj: &ObjId,
    slot: Slot,
    v: &Json,
    pointer: &str,
    depth: usize,
) -> Result<(), RecordError> {
    too_deep(pointer, depth)?;
    let ty = if v.is_array() {
        ObjType::List
    } else {
        ObjType::Map
    };
    match (json_to_scalar(v), slot) {
        (Some(s), Slot::Put(prop)) => doc.put(obj, prop, s)?,
        (Some(s), Slot::Insert(i)) => doc.insert(obj, i, s)?,
        (None, slot) => {
            let id = match slot {
                Slot::Put(prop) => doc.put_object(obj, prop, ty)?,
                Slot::Insert(i) => doc.insert_object(obj, i, ty)?,
            };
            fill(doc, &id, v, pointer, depth)?;
        }
    }
    Ok(())
}

/// Fills a freshly created, empty map or list with the contents of `v`.
pub(crate) fn fill(
    doc: &mut AutoCommit,
    obj: &ObjId,
    v: &Json,
    pointer: &str,
    depth: usize,
) -> Result<(), RecordError> {
    match v {
        Json::Object(m) => {
            for (k, child) in m {
                write_json(
                    doc,
                    obj,
                    Slot::Put(Prop::Map(k.clone())),
                    child,
                    pointer,
                    depth + 1,
                )?;
            }
        }
        Json::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                write_json(doc, obj, Slot::Insert(i), child, pointer, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}
