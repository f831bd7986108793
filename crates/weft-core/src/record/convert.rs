//! Automerge → JSON (see the table in `record.rs`), and JSON comparison; the
//! other direction is `write.rs`.

use automerge::{AutoCommit, ObjId, Prop, ReadDoc, ScalarValue, Value};
use serde_json::{Map, Number, Value as Json};

use super::pointer::{self, Kind, Node};
use super::{Conflict, MAX_DEPTH};

/// A scalar as JSON.
pub(crate) fn scalar_to_json(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Json::from(*i),
        ScalarValue::Uint(u) => Json::from(*u),
        ScalarValue::F64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        ScalarValue::Counter(c) => Json::from(i64::from(c)),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Bytes(b) => Json::String(hex::encode(b)),
        ScalarValue::Null | ScalarValue::Unknown { .. } => Json::Null,
    }
}

/// A node as JSON; `depth` is how deep the node sits.
pub(crate) fn node_to_json(doc: &AutoCommit, node: &Node, depth: usize) -> Json {
    match node {
        Node::Container(p) => object_to_json(doc, &p.id, p.kind, depth),
        Node::Text(id) => Json::String(doc.text(id).unwrap_or_default()),
        Node::Scalar(s) => scalar_to_json(s),
    }
}

fn value_to_json(doc: &AutoCommit, v: Value<'_>, id: ObjId, depth: usize) -> Json {
    node_to_json(doc, &pointer::classify(v, id), depth)
}

/// A map or list as JSON. Beyond [`MAX_DEPTH`] a foreign document's values
/// read as `null` rather than recursing without bound.
pub(crate) fn object_to_json(doc: &AutoCommit, obj: &ObjId, kind: Kind, depth: usize) -> Json {
    if depth > MAX_DEPTH {
        return Json::Null;
    }
    match kind {
        Kind::Map => {
            let mut m = Map::new();
            for item in doc.map_range(obj, ..) {
                let id = item.id();
                m.insert(
                    item.key.to_string(),
                    value_to_json(doc, item.value.into_value(), id, depth + 1),
                );
            }
            Json::Object(m)
        }
        Kind::List => Json::Array(
            doc.list_range(obj, ..)
                .map(|item| {
                    let id = item.id();
                    value_to_json(doc, item.value.into_value(), id, depth + 1)
                })
                .collect(),
        ),
    }
}

/// Appends the conflicts inside `obj` (whose pointer is `path`) to `out`.
pub(crate) fn collect_conflicts(
    doc: &AutoCommit,
    obj: &ObjId,
    kind: Kind,
    path: &mut String,
    out: &mut Vec<Conflict>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    // (token, prop, winning value, its id, conflicted?) for every child.
    let children: Vec<(String, Prop, Value<'static>, ObjId, bool)> = match kind {
        Kind::Map => doc
            .map_range(obj, ..)
            .map(|i| {
                let id = i.id();
                (
                    i.key.to_string(),
                    Prop::Map(i.key.to_string()),
                    i.value.into_value(),
                    id,
                    i.conflict,
                )
            })
            .collect(),
        Kind::List => doc
            .list_range(obj, ..)
            .map(|i| {
                let id = i.id();
                (
                    i.index.to_string(),
                    Prop::Seq(i.index),
                    i.value.into_value(),
                    id,
                    i.conflict,
                )
            })
            .collect(),
    };
    for (token, prop, value, id, conflict) in children {
        let len = path.len();
        path.push('/');
        path.push_str(&pointer::escape(&token));
        if conflict {
            let values = doc
                .get_all(obj, prop)
                .unwrap_or_default()
                .into_iter()
                .map(|(v, id)| value_to_json(doc, v, id, depth + 1))
                .collect();
            out.push(Conflict {
                pointer: path.clone(),
                values,
            });
        }
        if let Node::Container(p) = pointer::classify(value, id) {
            collect_conflicts(doc, &p.id, p.kind, path, out, depth + 1);
        }
        path.truncate(len);
    }
}

/// JSON equality as RFC 6902 `test` defines it: numbers compare by value
/// (`1` equals `1.0`), objects ignore member order.
pub(crate) fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A canonical text form: object members sorted, everything else exactly
/// as serde_json prints it (so `1` and `1.0` differ, as they do after a
/// round trip). Two values have the same canonical form exactly when they
/// are equal up to member order. Used as the element key of list diffs.
pub(crate) fn canonical(v: &Json) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Json, out: &mut String) {
    match v {
        Json::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_canonical(x, out);
                }
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}
