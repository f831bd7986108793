//! RFC 6901 JSON Pointers, resolved against an Automerge document.

use std::borrow::Cow;

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};
use serde_json::Value as Json;

use super::RecordError;
use super::write::{Slot, write_json};

/// The two container shapes a pointer can index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Map,
    List,
}

/// A container in the document.
#[derive(Clone, Debug)]
pub(crate) struct Parent {
    pub id: ObjId,
    pub kind: Kind,
}

impl Parent {
    pub fn root() -> Self {
        Self {
            id: ROOT,
            kind: Kind::Map,
        }
    }
}

/// What a location holds.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Container(Parent),
    /// An Automerge `Text` object: Weft never writes one, but reads it as a string.
    Text(ObjId),
    Scalar(ScalarValue),
}

/// A list token: an index or `-` (one past the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListIndex {
    At(usize),
    End,
}

/// How [`write`] treats the target location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WriteMode {
    /// `Record::set`: map key create/replace; list index replaces, `-` appends.
    Set,
    /// JSON Patch `add`: map key create/replace; list index inserts (up to len), `-` appends.
    Add,
    /// JSON Patch `replace`: the location must exist.
    Replace,
}

fn invalid(pointer: &str, reason: impl Into<String>) -> RecordError {
    RecordError::InvalidPointer {
        pointer: pointer.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn no_such(pointer: &str) -> RecordError {
    RecordError::NoSuchPath {
        pointer: pointer.to_owned(),
    }
}

/// Splits a pointer into unescaped tokens (`~1` is `/`, `~0` is `~`).
pub(crate) fn parse(pointer: &str) -> Result<Vec<String>, RecordError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(invalid(pointer, "a pointer is empty or starts with `/`"));
    };
    rest.split('/')
        .map(|t| {
            let mut out = String::with_capacity(t.len());
            let mut chars = t.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return Err(invalid(pointer, "`~` must be followed by `0` or `1`")),
                    }
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        })
        .collect()
}

/// Escapes one token for use in a pointer.
pub(crate) fn escape(token: &str) -> Cow<'_, str> {
    if token.contains(['~', '/']) {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}

/// Whether `prefix` is a proper prefix of `path` (token-wise).
pub(crate) fn is_proper_prefix(prefix: &[String], path: &[String]) -> bool {
    prefix.len() < path.len() && path[..prefix.len()] == *prefix
}

/// Parses an array token: `-`, `0`, or digits without a leading zero.
pub(crate) fn list_index(pointer: &str, token: &str) -> Result<ListIndex, RecordError> {
    if token == "-" {
        return Ok(ListIndex::End);
    }
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits || (token.len() > 1 && token.starts_with('0')) {
        return Err(invalid(pointer, format!("`{token}` is not an array index")));
    }
    token
        .parse::<usize>()
        .map(ListIndex::At)
        .map_err(|_| invalid(pointer, format!("array index `{token}` is too large")))
}

/// The index of an existing list element, or [`RecordError::NoSuchPath`].
pub(crate) fn existing_index(
    doc: &AutoCommit,
    parent: &Parent,
    pointer: &str,
    token: &str,
) -> Result<usize, RecordError> {
    match list_index(pointer, token)? {
        ListIndex::At(i) if i < doc.length(&parent.id) => Ok(i),
        _ => Err(no_such(pointer)),
    }
}

pub(crate) fn classify(v: Value<'_>, id: ObjId) -> Node {
    match v {
        Value::Object(ObjType::Map | ObjType::Table) => Node::Container(Parent {
            id,
            kind: Kind::Map,
        }),
        Value::Object(ObjType::List) => Node::Container(Parent {
            id,
            kind: Kind::List,
        }),
        Value::Object(ObjType::Text) => Node::Text(id),
        Value::Scalar(s) => Node::Scalar(s.into_owned()),
    }
}

/// What `token` names inside `parent`, or `None` if it does not exist.
pub(crate) fn child(
    doc: &AutoCommit,
    parent: &Parent,
    pointer: &str,
    token: &str,
) -> Result<Option<Node>, RecordError> {
    let got = match parent.kind {
        Kind::Map => doc.get(&parent.id, token)?,
        Kind::List => match list_index(pointer, token)? {
            ListIndex::At(i) if i < doc.length(&parent.id) => doc.get(&parent.id, i)?,
            _ => None,
        },
    };
    Ok(got.map(|(v, id)| classify(v, id)))
}

/// Walks every token but the last; the result is the container the last
/// token indexes. `tokens` must not be empty.
pub(crate) fn resolve_parent(
    doc: &AutoCommit,
    pointer: &str,
    tokens: &[String],
) -> Result<Parent, RecordError> {
    let mut cur = Parent::root();
    let mut at = String::new();
    for t in &tokens[..tokens.len().saturating_sub(1)] {
        at.push('/');
        at.push_str(&escape(t));
        match child(doc, &cur, pointer, t)? {
            Some(Node::Container(p)) => cur = p,
            Some(_) => {
                return Err(RecordError::NotAContainer {
                    pointer: pointer.to_owned(),
                    at,
                });
            }
            None => return Err(no_such(pointer)),
        }
    }
    Ok(cur)
}

/// The node a whole pointer names.
pub(crate) fn resolve(
    doc: &AutoCommit,
    pointer: &str,
    tokens: &[String],
) -> Result<Node, RecordError> {
    let Some(last) = tokens.last() else {
        return Ok(Node::Container(Parent::root()));
    };
    let parent = resolve_parent(doc, pointer, tokens)?;
    child(doc, &parent, pointer, last)?.ok_or_else(|| no_such(pointer))
}

/// Writes `value` at the last token of `tokens` inside `parent`.
pub(crate) fn write(
    doc: &mut AutoCommit,
    parent: &Parent,
    pointer: &str,
    tokens: &[String],
    value: &Json,
    mode: WriteMode,
) -> Result<(), RecordError> {
    let Some(last) = tokens.last() else {
        return Err(no_such(pointer));
    };
    let depth = tokens.len();
    match parent.kind {
        Kind::Map => {
            if mode == WriteMode::Replace && doc.get(&parent.id, last.as_str())?.is_none() {
                return Err(no_such(pointer));
            }
            write_json(
                doc,
                &parent.id,
                Slot::Put(last.as_str().into()),
                value,
                pointer,
                depth,
            )
        }
        Kind::List => {
            let len = doc.length(&parent.id);
            match (list_index(pointer, last)?, mode) {
                (ListIndex::End, WriteMode::Set | WriteMode::Add) => {
                    write_json(doc, &parent.id, Slot::Insert(len), value, pointer, depth)
                }
                (ListIndex::At(i), WriteMode::Add) if i <= len => {
                    write_json(doc, &parent.id, Slot::Insert(i), value, pointer, depth)
                }
                (ListIndex::At(i), WriteMode::Set | WriteMode::Replace) if i < len => {
                    write_json(doc, &parent.id, Slot::Put(i.into()), value, pointer, depth)
                }
                _ => Err(no_such(pointer)),
            }
        }
    }
}

/// Removes the value the last token names; it must exist.
pub(crate) fn remove(
    doc: &mut AutoCommit,
    parent: &Parent,
    pointer: &str,
    token: &str,
) -> Result<(), RecordError> {
    match parent.kind {
        Kind::Map => {
            if doc.get(&parent.id, token)?.is_none() {
                return Err(no_such(pointer));
            }
            doc.delete(&parent.id, token)?;
        }
        Kind::List => {
            let i = existing_index(doc, parent, pointer, token)?;
            doc.delete(&parent.id, i)?;
        }
    }
    Ok(())
}
