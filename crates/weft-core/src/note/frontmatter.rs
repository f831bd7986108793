//! YAML frontmatter ⇄ a note's properties.
//!
//! Vaults use a small part of YAML for properties (Obsidian's property types:
//! text, number, checkbox, date, list), so this is a strict parser for that
//! subset rather than a YAML library: `key: scalar`, `key: [a, b]`, `key:`
//! followed by `  - item` lines, and blank lines. Scalars are plain or quoted
//! text, integers, floats, `true`/`false` and `null`/`~`/nothing; dates stay
//! text. Anything else (nested maps, block scalars, anchors, tags, comments,
//! duplicate keys) makes the whole frontmatter unparseable, and the note
//! keeps it as raw text instead of guessing: what was written is never lost.
//! One pass over the lines, no backtracking: linear in the input.

use loro::LoroValue;

/// A frontmatter block at the very start of a note: `---`, YAML lines, then
/// a closing `---` (or `...`) line.
pub(crate) struct Frontmatter<'a> {
    /// The whole block, fences and line endings included.
    pub(crate) raw: &'a str,
    /// The properties, in written order, or `None` when the YAML is outside
    /// the subset.
    pub(crate) props: Option<Vec<(String, LoroValue)>>,
}

/// Splits a note into its frontmatter (if it starts with one) and the rest.
pub(crate) fn split(md: &str) -> (Option<Frontmatter<'_>>, &str) {
    let Some(first) = md
        .strip_prefix("---\n")
        .map(|_| 4)
        .or_else(|| md.strip_prefix("---\r\n").map(|_| 5))
    else {
        return (None, md);
    };
    let mut at = first;
    while at < md.len() {
        let rest = &md[at..];
        let len = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let line = rest[..len].trim_end_matches(['\n', '\r']);
        if line == "---" || line == "..." {
            let raw = &md[..at + len];
            let props = parse_yaml(&md[first..at]);
            return (Some(Frontmatter { raw, props }), &md[at + len..]);
        }
        at += len;
    }
    (None, md)
}

/// Parses the YAML subset (see the module docs).
pub(crate) fn parse_yaml(yaml: &str) -> Option<Vec<(String, LoroValue)>> {
    let lines: Vec<&str> = yaml.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut props: Vec<(String, LoroValue)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.trim().is_empty() {
            continue;
        }
        let (key, rest) = split_key(line)?;
        if !seen.insert(key.clone()) {
            return None;
        }
        let value = rest.trim();
        let value = if value.is_empty() {
            let mut items = Vec::new();
            while let Some(item) = lines.get(i).and_then(|l| list_item(l)) {
                items.push(scalar(item)?);
                i += 1;
            }
            if items.is_empty() {
                LoroValue::Null
            } else {
                LoroValue::List(items.into())
            }
        } else if let Some(inner) = value.strip_prefix('[') {
            LoroValue::List(flow_list(inner.strip_suffix(']')?)?.into())
        } else {
            scalar(value)?
        };
        props.push((key, value));
    }
    Some(props)
}

/// `key:` and what follows the colon.
fn split_key(line: &str) -> Option<(String, &str)> {
    if let Some(quoted) = line.strip_prefix('"') {
        let (key, len) = double_quoted(quoted)?;
        let rest = quoted[len..].strip_prefix(':')?;
        return (rest.is_empty() || rest.starts_with(' ')).then_some((key, rest));
    }
    let colon = line
        .find(": ")
        .or_else(|| line.ends_with(':').then(|| line.len() - 1))?;
    let key = &line[..colon];
    plain_key(key).then(|| (key.to_owned(), &line[colon + 1..]))
}

fn plain_key(key: &str) -> bool {
    !key.is_empty()
        && key.trim() == key
        && !key.starts_with([
            '-', '?', '#', '\'', '"', '[', '{', '&', '*', '!', '|', '>', '%', '@', '`',
        ])
        && !key.contains([':', '#', '\t'])
}

/// The value of an indented `- item` line.
fn list_item(line: &str) -> Option<&str> {
    let t = line.trim_start_matches(' ');
    let item = t.strip_prefix("- ").or_else(|| (t == "-").then_some(""))?;
    Some(item.trim())
}

fn flow_list(inner: &str) -> Option<Vec<LoroValue>> {
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    // Quoted items could hold commas; the subset keeps flow lists simple.
    if inner.contains(['"', '\'', '[', ']', '{', '}']) {
        return None;
    }
    inner
        .split(',')
        .map(|item| {
            let item = item.trim();
            if item.is_empty() { None } else { scalar(item) }
        })
        .collect()
}

/// One scalar: quoted or plain text, a number, a boolean or null.
fn scalar(s: &str) -> Option<LoroValue> {
    if s.is_empty() {
        return Some(LoroValue::Null);
    }
    if let Some(q) = s.strip_prefix('"') {
        let (text, len) = double_quoted(q)?;
        return (len == q.len()).then(|| LoroValue::from(text));
    }
    if let Some(q) = s.strip_prefix('\'') {
        let body = q.strip_suffix('\'')?;
        if body.replace("''", "").contains('\'') {
            return None;
        }
        return Some(LoroValue::from(body.replace("''", "'")));
    }
    if s.starts_with([
        '&', '*', '!', '|', '>', '%', '@', '`', '{', '[', ']', '}', '#', ',',
    ]) || s.contains(" #")
        || s.contains(": ")
        || s.ends_with(':')
        || s.contains('\t')
    {
        return None;
    }
    typed_plain(s)
        .ok()
        .map(|t| t.unwrap_or_else(|| LoroValue::from(s)))
}

/// What a plain scalar means when it is not text: `Ok(None)` for text,
/// `Err(())` for a value YAML reads as something this subset does not hold
/// (hex, octal, `.inf`, an integer out of range): as text it would change
/// meaning, so the frontmatter stays raw.
fn typed_plain(s: &str) -> Result<Option<LoroValue>, ()> {
    match s {
        "true" | "True" | "TRUE" => return Ok(Some(LoroValue::Bool(true))),
        "false" | "False" | "FALSE" => return Ok(Some(LoroValue::Bool(false))),
        "null" | "Null" | "NULL" | "~" => return Ok(Some(LoroValue::Null)),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .map(|n| Some(LoroValue::I64(n)))
            .map_err(|_| ());
    }
    if is_float(digits) {
        return s
            .parse::<f64>()
            .map(|f| Some(LoroValue::Double(f)))
            .map_err(|_| ());
    }
    let lower = digits.to_ascii_lowercase();
    if lower.starts_with("0x")
        || lower.starts_with("0o")
        || matches!(lower.as_str(), ".inf" | ".nan")
    {
        return Err(());
    }
    Ok(None)
}

/// YAML 1.2 core schema float: `1.5`, `.5`, `1.`, `1e3`, `1.5E-3`.
fn is_float(s: &str) -> bool {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all(int) && all(frac) && !(int.is_empty() && frac.is_empty());
    let dotted = mantissa.contains('.');
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all(e)
    });
    mantissa_ok && exp_ok && (dotted || exp.is_some())
}

/// A double-quoted string after its opening quote: the text and how many
/// bytes it took, closing quote included.
fn double_quoted(s: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => match chars.next()?.1 {
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '/' => out.push('/'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                _ => return None,
            },
            c => out.push(c),
        }
    }
    None
}

/// A clean YAML rendering of properties (used once they changed), with
/// `eol` line endings. It parses back to the same properties.
pub(crate) fn render(props: &[(String, LoroValue)], eol: &str) -> String {
    let mut out = format!("---{eol}");
    for (key, value) in props {
        if plain_key(key) {
            out.push_str(key);
        } else {
            quote(&mut out, key);
        }
        out.push(':');
        match value {
            LoroValue::List(items) if items.is_empty() => out.push_str(" []"),
            LoroValue::List(items) => {
                for item in items.iter() {
                    out.push_str(eol);
                    out.push_str("  -");
                    if !matches!(item, LoroValue::Null) {
                        out.push(' ');
                        render_scalar(&mut out, item);
                    }
                }
            }
            LoroValue::Null => {}
            v => {
                out.push(' ');
                render_scalar(&mut out, v);
            }
        }
        out.push_str(eol);
    }
    out.push_str("---");
    out.push_str(eol);
    out
}

fn render_scalar(out: &mut String, v: &LoroValue) {
    match v {
        LoroValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        LoroValue::I64(n) => out.push_str(&n.to_string()),
        LoroValue::Double(f) if f.is_finite() => {
            let s = format!("{f:?}");
            out.push_str(&s);
        }
        LoroValue::String(s) => {
            let plain = matches!(scalar(s), Some(LoroValue::String(ref t)) if t.as_str() == s.as_str())
                && s.trim() == s.as_str()
                && !s.starts_with(['"', '\'', '-', '?'])
                && !s.contains(['\n', '\r', ',', '[', ']']);
            if plain {
                out.push_str(s);
            } else {
                quote(out, s);
            }
        }
        // Values the subset has no scalar for (a nested list or map, a
        // non-finite float) are written as their JSON text, quoted: nothing
        // a peer stored is dropped.
        other => quote(out, &format!("{other:?}")),
    }
}

fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(yaml: &str) -> Option<Vec<(String, LoroValue)>> {
        parse_yaml(yaml)
    }

    #[test]
    fn the_obsidian_subset_parses_typed() {
        let p = props(
            "title: My note\ntags: [a, b]\naliases:\n  - one\n  - \"two: x\"\ncount: 3\nratio: 0.5\ndone: true\ndate: 2024-01-02\nempty:\nquoted: 'it''s'\n",
        )
        .unwrap();
        let want: Vec<(String, LoroValue)> = vec![
            ("title".into(), "My note".into()),
            (
                "tags".into(),
                LoroValue::List(vec!["a".into(), "b".into()].into()),
            ),
            (
                "aliases".into(),
                LoroValue::List(vec!["one".into(), "two: x".into()].into()),
            ),
            ("count".into(), LoroValue::I64(3)),
            ("ratio".into(), LoroValue::Double(0.5)),
            ("done".into(), LoroValue::Bool(true)),
            ("date".into(), "2024-01-02".into()),
            ("empty".into(), LoroValue::Null),
            ("quoted".into(), "it's".into()),
        ];
        assert_eq!(p, want);
    }

    #[test]
    fn yaml_outside_the_subset_is_refused() {
        for yaml in [
            "a:\n  b: 1\n",
            "a: |\n  text\n",
            "a: &x 1\n",
            "# comment\na: 1\n",
            "a: 1 # comment\n",
            "a: 1\na: 2\n",
            "- item\n",
            "just text\n",
            "a: 0x1F\n",
            "a: 99999999999999999999\n",
            "a: \"open\n",
        ] {
            assert_eq!(props(yaml), None, "{yaml:?}");
        }
    }

    #[test]
    fn rendering_parses_back_to_the_same_properties() {
        let p: Vec<(String, LoroValue)> = vec![
            ("title".into(), "a: b # c".into()),
            ("yes".into(), "true".into()),
            ("num".into(), "12".into()),
            ("flt".into(), LoroValue::Double(1.0)),
            (
                "list".into(),
                LoroValue::List(vec!["x".into(), LoroValue::I64(2), LoroValue::Null].into()),
            ),
            ("none".into(), LoroValue::List(vec![].into())),
            ("odd key: x".into(), "  spaced  ".into()),
            ("multi".into(), "line\none \"q\" \\".into()),
            ("lead".into(), "- dash".into()),
            ("empty".into(), "".into()),
            ("null".into(), LoroValue::Null),
        ];
        let yaml = render(&p, "\n");
        let inner = yaml
            .strip_prefix("---\n")
            .unwrap()
            .strip_suffix("---\n")
            .unwrap();
        assert_eq!(parse_yaml(inner), Some(p), "{yaml}");
    }

    #[test]
    fn frontmatter_needs_both_fences_at_the_start() {
        let (f, rest) = split("---\na: 1\n---\nbody\n");
        let f = f.unwrap();
        assert_eq!((f.raw, rest), ("---\na: 1\n---\n", "body\n"));
        assert!(split("---\nno end\n").0.is_none());
        assert!(split("text\n---\na: 1\n---\n").0.is_none());
        let (f, rest) = split("---\r\nx: y\r\n...\r\n");
        assert_eq!((f.unwrap().raw.len(), rest), (16, ""));
    }
}
