//! A note's properties (root map `props`, one entry per key) and the
//! Markdown details kept beside the body (root map `markdown`): the
//! frontmatter as written with what it parsed to, the line ending, and the
//! source of a body that produced no line.

use std::collections::{HashMap, HashSet};

use loro::{LoroDoc, LoroError, LoroMap, LoroValue};

use super::frontmatter::{self, Frontmatter};
use super::{MARKDOWN, PROPS};

/// A string entry of the `markdown` map.
pub(crate) fn meta_string(meta: &LoroMap, key: &str) -> Option<String> {
    match meta.get(key)?.into_value().ok()? {
        LoroValue::String(s) => Some(s.to_string()),
        _ => None,
    }
}

/// The properties as stored, sorted by key.
pub(crate) fn current(doc: &LoroDoc) -> Vec<(String, LoroValue)> {
    let mut out: Vec<(String, LoroValue)> = match doc.get_map(PROPS).get_deep_value() {
        LoroValue::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Vec::new(),
    };
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The frontmatter kept at import: its YAML as written and, when it was
/// in the subset, the properties it parsed to, in written order.
struct Kept {
    yaml: String,
    props: Option<Vec<(String, LoroValue)>>,
}

fn kept(doc: &LoroDoc) -> Option<Kept> {
    let LoroValue::Map(m) = doc
        .get_map(MARKDOWN)
        .get("frontmatter")?
        .into_value()
        .ok()?
    else {
        return None;
    };
    let yaml = match m.get("yaml")? {
        LoroValue::String(s) => s.to_string(),
        _ => return None,
    };
    let props = match m.get("props") {
        Some(LoroValue::List(pairs)) => Some(
            pairs
                .iter()
                .filter_map(|p| match p {
                    LoroValue::List(kv) => match (kv.first(), kv.get(1)) {
                        (Some(LoroValue::String(k)), Some(v)) => Some((k.to_string(), v.clone())),
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    };
    Some(Kept { yaml, props })
}

fn same(a: &[(String, LoroValue)], b: &[(String, LoroValue)]) -> bool {
    let mut a: Vec<_> = a.iter().collect();
    let mut b: Vec<_> = b.iter().collect();
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    a == b
}

/// The frontmatter to write: as written while the properties are those it
/// parsed to (or always, when it was outside the subset and so holds no
/// properties), a clean rendering once they changed, nothing without
/// properties.
pub(crate) fn frontmatter(doc: &LoroDoc, eol: &str) -> String {
    let now = current(doc);
    match kept(doc) {
        Some(Kept { yaml, props: None }) => yaml,
        Some(Kept {
            yaml,
            props: Some(was),
        }) if same(&was, &now) => yaml,
        Some(Kept {
            props: Some(was), ..
        }) => render_in_order(&was, now, eol),
        None => render_in_order(&[], now, eol),
    }
}

/// The properties as clean YAML (nothing without properties).
pub(crate) fn clean_frontmatter(doc: &LoroDoc, eol: &str) -> String {
    let order = kept(doc).and_then(|k| k.props).unwrap_or_default();
    render_in_order(&order, current(doc), eol)
}

/// Keys in the order they were written, then new ones by name.
fn render_in_order(
    order: &[(String, LoroValue)],
    mut now: Vec<(String, LoroValue)>,
    eol: &str,
) -> String {
    if now.is_empty() {
        return String::new();
    }
    // Linear in the number of keys, however many a crafted note has.
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.as_str(), i))
        .collect();
    // `now` is sorted by key: new keys keep that order after written ones.
    now.sort_by_key(|(k, _)| rank.get(k.as_str()).copied().unwrap_or(usize::MAX));
    frontmatter::render(&now, eol)
}

/// Stores what `set_markdown` read besides the body, writing only entries
/// that differ (so setting the same Markdown again makes no operation).
pub(crate) fn store(
    doc: &LoroDoc,
    front: Option<&Frontmatter<'_>>,
    eol: Option<&str>,
    empty: Option<&str>,
) -> Result<(), LoroError> {
    let meta = doc.get_map(MARKDOWN);
    let kept_value = front.map(|f| {
        let mut m: Vec<(String, LoroValue)> = vec![("yaml".into(), LoroValue::from(f.raw))];
        if let Some(p) = &f.props {
            let pairs: Vec<LoroValue> = p
                .iter()
                .map(|(k, v)| LoroValue::List(vec![LoroValue::from(k.as_str()), v.clone()].into()))
                .collect();
            m.push(("props".into(), LoroValue::List(pairs.into())));
        }
        LoroValue::Map(m.into())
    });
    set_entry(&meta, "frontmatter", kept_value)?;
    set_entry(&meta, "eol", eol.map(LoroValue::from))?;
    set_entry(&meta, "empty", empty.map(LoroValue::from))?;
    // The Markdown is the whole truth: its properties replace the stored
    // ones, key by key, so a concurrent change of another key survives.
    let props = doc.get_map(PROPS);
    let want: Vec<(String, LoroValue)> = front.and_then(|f| f.props.clone()).unwrap_or_default();
    let keys: HashSet<&str> = want.iter().map(|(k, _)| k.as_str()).collect();
    for (k, _) in current(doc) {
        if !keys.contains(k.as_str()) {
            props.delete(&k)?;
        }
    }
    for (k, v) in want {
        set_entry(&props, &k, Some(v))?;
    }
    Ok(())
}

fn set_entry(map: &LoroMap, key: &str, value: Option<LoroValue>) -> Result<(), LoroError> {
    let old = map.get(key).and_then(|v| v.into_value().ok());
    match value {
        Some(v) if old.as_ref() != Some(&v) => map.insert(key, v),
        None if old.is_some() => map.delete(key),
        _ => Ok(()),
    }
}
