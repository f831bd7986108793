//! A straightforward RFC 6902 implementation over `serde_json::Value`,
//! written independently of the Automerge one, used as the oracle for the
//! property tests. It adds one rule of Weft's: the root must stay an object.

use serde_json::Value as Json;

/// Applies `patch` to a copy of `doc`; on failure returns the failing op index.
pub fn apply(doc: &Json, patch: &Json) -> Result<Json, usize> {
    let mut cur = doc.clone();
    let ops = patch.as_array().ok_or(usize::MAX)?;
    for (i, op) in ops.iter().enumerate() {
        apply_op(&mut cur, op).map_err(|()| i)?;
    }
    Ok(cur)
}

pub fn tokens(p: &str) -> Option<Vec<String>> {
    if p.is_empty() {
        return Some(vec![]);
    }
    let rest = p.strip_prefix('/')?;
    rest.split('/')
        .map(|t| {
            // Validate escapes: every `~` must be followed by 0 or 1.
            let b = t.as_bytes();
            for (i, c) in b.iter().enumerate() {
                if *c == b'~' && !matches!(b.get(i + 1), Some(b'0' | b'1')) {
                    return None;
                }
            }
            Some(t.replace("~1", "/").replace("~0", "~"))
        })
        .collect()
}

fn index(t: &str) -> Option<usize> {
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || (t.len() > 1 && t.starts_with('0'))
    {
        return None;
    }
    t.parse().ok()
}

pub fn get<'a>(doc: &'a Json, toks: &[String]) -> Option<&'a Json> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Json::Object(m) => m.get(t)?,
            Json::Array(a) => a.get(index(t)?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn get_mut<'a>(doc: &'a mut Json, toks: &[String]) -> Option<&'a mut Json> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Json::Object(m) => m.get_mut(t)?,
            Json::Array(a) => a.get_mut(index(t)?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn add(doc: &mut Json, toks: &[String], v: Json) -> Result<(), ()> {
    let Some((last, init)) = toks.split_last() else {
        if !v.is_object() {
            return Err(());
        }
        *doc = v;
        return Ok(());
    };
    match get_mut(doc, init).ok_or(())? {
        Json::Object(m) => {
            m.insert(last.clone(), v);
            Ok(())
        }
        Json::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                index(last).ok_or(())?
            };
            if i > a.len() {
                return Err(());
            }
            a.insert(i, v);
            Ok(())
        }
        _ => Err(()),
    }
}

fn remove(doc: &mut Json, toks: &[String]) -> Result<(), ()> {
    let (last, init) = toks.split_last().ok_or(())?;
    match get_mut(doc, init).ok_or(())? {
        Json::Object(m) => m.shift_remove(last).map(drop).ok_or(()),
        Json::Array(a) => {
            let i = index(last).ok_or(())?;
            if i >= a.len() {
                return Err(());
            }
            a.remove(i);
            Ok(())
        }
        _ => Err(()),
    }
}

fn replace(doc: &mut Json, toks: &[String], v: Json) -> Result<(), ()> {
    if toks.is_empty() {
        return add(doc, toks, v);
    }
    let slot = get_mut(doc, toks).ok_or(())?;
    *slot = v;
    Ok(())
}

pub fn num_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(a), Some(b), _, _) => a == b,
                (_, _, Some(a), Some(b)) => a == b,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| num_eq(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| num_eq(v, w)))
        }
        _ => a == b,
    }
}

fn apply_op(doc: &mut Json, op: &Json) -> Result<(), ()> {
    let m = op.as_object().ok_or(())?;
    let ptr = |name: &str| {
        m.get(name)
            .and_then(Json::as_str)
            .and_then(tokens)
            .ok_or(())
    };
    let value = || m.get("value").cloned().ok_or(());
    match m.get("op").and_then(Json::as_str).ok_or(())? {
        "add" => add(doc, &ptr("path")?, value()?),
        "remove" => remove(doc, &ptr("path")?),
        "replace" => replace(doc, &ptr("path")?, value()?),
        "move" => {
            let (from, path) = (ptr("from")?, ptr("path")?);
            if from.len() < path.len() && path[..from.len()] == from[..] {
                return Err(());
            }
            let v = get(doc, &from).cloned().ok_or(())?;
            if from == path {
                return Ok(());
            }
            remove(doc, &from)?;
            add(doc, &path, v)
        }
        "copy" => {
            let (from, path) = (ptr("from")?, ptr("path")?);
            let v = get(doc, &from).cloned().ok_or(())?;
            add(doc, &path, v)
        }
        "test" => {
            let v = get(doc, &ptr("path")?).ok_or(())?;
            if num_eq(v, &value()?) {
                Ok(())
            } else {
                Err(())
            }
        }
        _ => Err(()),
    }
}

/// Every pointer to an existing value in `doc`, the root included.
pub fn pointers(doc: &Json) -> Vec<String> {
    let mut out = vec![String::new()];
    walk(doc, &mut String::new(), &mut out, &mut Vec::new());
    out
}

/// Pointers where `add` can put something new: a fresh key in each object,
/// and `-` and one-past-the-end in each array.
pub fn insertion_points(doc: &Json) -> Vec<String> {
    let mut out = Vec::new();
    walk(doc, &mut String::new(), &mut Vec::new(), &mut out);
    out
}

fn walk(v: &Json, path: &mut String, existing: &mut Vec<String>, fresh: &mut Vec<String>) {
    let len = path.len();
    match v {
        Json::Object(m) => {
            fresh.push(format!("{path}/new~1key"));
            for (k, child) in m {
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                existing.push(path.clone());
                walk(child, path, existing, fresh);
                path.truncate(len);
            }
        }
        Json::Array(a) => {
            fresh.push(format!("{path}/-"));
            fresh.push(format!("{path}/{}", a.len()));
            for (i, child) in a.iter().enumerate() {
                path.push_str(&format!("/{i}"));
                existing.push(path.clone());
                walk(child, path, existing, fresh);
                path.truncate(len);
            }
        }
        _ => {}
    }
}
