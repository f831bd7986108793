//! RFC 6902 JSON Patch over a record.
//!
//! The whole patch is parsed (and every pointer checked) before anything is
//! written; the operations then run inside one Automerge transaction that
//! `Record::mutate` rolls back if any of them fails, which is what makes a
//! patch atomic.

use automerge::AutoCommit;
use serde_json::{Map, Value as Json};

use super::convert::{json_eq, node_to_json};
use super::pointer::{self, WriteMode};
use super::sync::replace_root;
use super::{RecordError, json_type};

/// A parsed pointer: the text (for messages) and its tokens.
#[derive(Clone, Debug)]
pub(crate) struct Ptr {
    raw: String,
    tokens: Vec<String>,
}

/// One patch operation.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Add { path: Ptr, value: Json },
    Remove { path: Ptr },
    Replace { path: Ptr, value: Json },
    Move { from: Ptr, path: Ptr },
    Copy { from: Ptr, path: Ptr },
    Test { path: Ptr, value: Json },
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Add { .. } => "add",
            Op::Remove { .. } => "remove",
            Op::Replace { .. } => "replace",
            Op::Move { .. } => "move",
            Op::Copy { .. } => "copy",
            Op::Test { .. } => "test",
        }
    }
}

/// Parses a patch document: an array of operation objects. Members other
/// than the ones an operation uses are ignored (RFC 6902 §4).
pub(crate) fn parse(patch: &Json) -> Result<Vec<Op>, RecordError> {
    let Json::Array(items) = patch else {
        return Err(RecordError::NotAPatch {
            reason: format!("expected an array of operations, got {}", json_type(patch)),
        });
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_op(i, v))
        .collect()
}

fn parse_op(index: usize, v: &Json) -> Result<Op, RecordError> {
    let Json::Object(m) = v else {
        return Err(RecordError::NotAPatch {
            reason: format!("operation {index} is {}, not an object", json_type(v)),
        });
    };
    let op = match m.get("op") {
        Some(Json::String(s)) => s.as_str(),
        Some(_) => return Err(op_err(index, "?", "`op` must be a string")),
        None => return Err(op_err(index, "?", "the operation has no `op` member")),
    };
    let ptr = |name: &str| member_ptr(index, op, m, name);
    let value = || {
        m.get("value")
            .cloned()
            .ok_or_else(|| op_err(index, op, "the operation has no `value` member"))
    };
    Ok(match op {
        "add" => Op::Add {
            path: ptr("path")?,
            value: value()?,
        },
        "remove" => Op::Remove { path: ptr("path")? },
        "replace" => Op::Replace {
            path: ptr("path")?,
            value: value()?,
        },
        "move" => Op::Move {
            from: ptr("from")?,
            path: ptr("path")?,
        },
        "copy" => Op::Copy {
            from: ptr("from")?,
            path: ptr("path")?,
        },
        "test" => Op::Test {
            path: ptr("path")?,
            value: value()?,
        },
        _ => {
            return Err(op_err(
                index,
                op,
                "unknown operation (expected add, remove, replace, move, copy or test)",
            ));
        }
    })
}

fn member_ptr(
    index: usize,
    op: &str,
    m: &Map<String, Json>,
    name: &str,
) -> Result<Ptr, RecordError> {
    let raw = match m.get(name) {
        Some(Json::String(s)) => s.clone(),
        Some(_) => return Err(op_err(index, op, format!("`{name}` must be a string"))),
        None => {
            return Err(op_err(
                index,
                op,
                format!("the operation has no `{name}` member"),
            ));
        }
    };
    let tokens = pointer::parse(&raw).map_err(|e| op_err(index, op, e.to_string()))?;
    Ok(Ptr { raw, tokens })
}

fn op_err(index: usize, op: &str, reason: impl Into<String>) -> RecordError {
    RecordError::PatchOp {
        index,
        op: op.to_owned(),
        reason: reason.into(),
    }
}

/// Applies every operation in order; the caller rolls back on error.
pub(crate) fn apply(doc: &mut AutoCommit, ops: &[Op]) -> Result<(), RecordError> {
    for (index, op) in ops.iter().enumerate() {
        apply_one(doc, index, op).map_err(|e| match e {
            e @ (RecordError::PatchOp { .. } | RecordError::PatchTestFailed { .. }) => e,
            other => op_err(index, op.name(), other.to_string()),
        })?;
    }
    Ok(())
}

fn apply_one(doc: &mut AutoCommit, index: usize, op: &Op) -> Result<(), RecordError> {
    match op {
        Op::Add { path, value } => write(doc, path, value, WriteMode::Add),
        Op::Replace { path, value } => write(doc, path, value, WriteMode::Replace),
        Op::Remove { path } => remove(doc, index, path),
        Op::Move { from, path } => {
            if pointer::is_proper_prefix(&from.tokens, &path.tokens) {
                return Err(op_err(
                    index,
                    "move",
                    format!(
                        "cannot move `{}` into its own child `{}`",
                        from.raw, path.raw
                    ),
                ));
            }
            let value = read(doc, from)?;
            if from.tokens == path.tokens {
                return Ok(());
            }
            remove(doc, index, from)?;
            write(doc, path, &value, WriteMode::Add)
        }
        Op::Copy { from, path } => {
            let value = read(doc, from)?;
            write(doc, path, &value, WriteMode::Add)
        }
        Op::Test { path, value } => {
            let actual = read(doc, path)?;
            if json_eq(&actual, value) {
                Ok(())
            } else {
                Err(RecordError::PatchTestFailed {
                    index,
                    pointer: path.raw.clone(),
                    expected: Box::new(value.clone()),
                    actual: Box::new(actual),
                })
            }
        }
    }
}

fn read(doc: &AutoCommit, p: &Ptr) -> Result<Json, RecordError> {
    let node = pointer::resolve(doc, &p.raw, &p.tokens)?;
    Ok(node_to_json(doc, &node, p.tokens.len()))
}

fn write(doc: &mut AutoCommit, p: &Ptr, value: &Json, mode: WriteMode) -> Result<(), RecordError> {
    if p.tokens.is_empty() {
        // RFC 6902: add/replace at the root replaces the whole document.
        return replace_root(doc, value);
    }
    let parent = pointer::resolve_parent(doc, &p.raw, &p.tokens)?;
    pointer::write(doc, &parent, &p.raw, &p.tokens, value, mode)
}

fn remove(doc: &mut AutoCommit, index: usize, p: &Ptr) -> Result<(), RecordError> {
    let Some(last) = p.tokens.last() else {
        return Err(op_err(
            index,
            "remove",
            "the record itself cannot be removed",
        ));
    };
    let parent = pointer::resolve_parent(doc, &p.raw, &p.tokens)?;
    pointer::remove(doc, &parent, &p.raw, last)
}
