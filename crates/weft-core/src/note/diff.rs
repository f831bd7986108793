//! The `set_markdown` edit: a character diff of the text, then marks
//! changed only where they differ.
//!
//! The diff runs line by line, then word by word inside changed lines, then
//! char by char inside changed words. Besides producing edits that read
//! naturally (a changed word is replaced, not interleaved with matching
//! letters of the old one, which would make a concurrent edit inside it merge
//! oddly), this bounds the cost: Myers' algorithm is O((N+M)·D), and without
//! a deadline (a clock, which this pure crate does not read) two unrelated
//! 100 KB paragraphs would take minutes. Any level whose changed region is
//! larger than [`CAP`] tokens is replaced wholesale instead.

use std::hash::Hash;
use std::ops::Range;

use loro::{LoroError, LoroText, LoroValue};
use similar::{Algorithm, DiffOp, capture_diff_slices};

use super::EditSummary;
use super::model::{CharStyle, Flat, LINE_BREAK, read_flat};

/// The largest changed region (old + new tokens) handed to Myers.
const CAP: usize = 8_000;

/// One step of an edit script over chars, applied left to right.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Keep(usize),
    Delete(usize),
    /// Insert `new[range]`.
    Insert(Range<usize>),
}

#[derive(Clone, Copy)]
enum Level {
    Lines,
    Words,
    Chars,
}

/// A character-granular edit script turning `old` into `new`.
pub(crate) fn diff(old: &[char], new: &[char]) -> Vec<Step> {
    let mut steps = Vec::new();
    refine(old, new, 0, Level::Lines, &mut steps);
    steps
}

fn refine(old: &[char], new: &[char], new_off: usize, level: Level, steps: &mut Vec<Step>) {
    let (ot, nt) = match level {
        Level::Lines => (lines(old), lines(new)),
        Level::Words => (words(old), words(new)),
        Level::Chars => {
            let ops = diff_capped(old, new);
            for op in ops {
                push_op(
                    &op,
                    &(0..old.len()).map(|i| i..i + 1).collect::<Vec<_>>(),
                    new_off,
                    steps,
                    |_, _| None,
                );
            }
            return;
        }
    };
    let os: Vec<&[char]> = ot.iter().map(|r| &old[r.clone()]).collect();
    let ns: Vec<&[char]> = nt.iter().map(|r| &new[r.clone()]).collect();
    for op in diff_capped(&os, &ns) {
        if let DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } = op
        {
            let o = span(&ot, old_index, old_len);
            let n = span(&nt, new_index, new_len);
            let next = match level {
                Level::Lines => Level::Words,
                _ => Level::Chars,
            };
            refine(&old[o], &new[n.clone()], new_off + n.start, next, steps);
        } else {
            push_op(&op, &ot, new_off, steps, |i, len| Some(span(&nt, i, len)));
        }
    }
}

/// Turns a token-level op into char steps. `new_span` maps new-token ranges
/// to char ranges (None at char level, where tokens are chars).
fn push_op(
    op: &DiffOp,
    old_tokens: &[Range<usize>],
    new_off: usize,
    steps: &mut Vec<Step>,
    new_span: impl Fn(usize, usize) -> Option<Range<usize>>,
) {
    let new_range = |i: usize, len: usize| {
        let r = new_span(i, len).unwrap_or(i..i + len);
        new_off + r.start..new_off + r.end
    };
    match *op {
        DiffOp::Equal { old_index, len, .. } => {
            steps.push(Step::Keep(span(old_tokens, old_index, len).len()))
        }
        DiffOp::Delete {
            old_index, old_len, ..
        } => steps.push(Step::Delete(span(old_tokens, old_index, old_len).len())),
        DiffOp::Insert {
            new_index, new_len, ..
        } => steps.push(Step::Insert(new_range(new_index, new_len))),
        DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } => {
            steps.push(Step::Delete(span(old_tokens, old_index, old_len).len()));
            steps.push(Step::Insert(new_range(new_index, new_len)));
        }
    }
}

/// The char range covered by `len` tokens from token `index`.
fn span(tokens: &[Range<usize>], index: usize, len: usize) -> Range<usize> {
    if len == 0 {
        let at = tokens
            .get(index)
            .map_or_else(|| tokens.last().map_or(0, |r| r.end), |r| r.start);
        return at..at;
    }
    tokens[index].start..tokens[index + len - 1].end
}

/// Myers on the region between the common prefix and suffix, or one
/// wholesale replacement when that region is too large.
fn diff_capped<T: Hash + Eq + Ord>(old: &[T], new: &[T]) -> Vec<DiffOp> {
    let pre = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suf = old[pre..]
        .iter()
        .rev()
        .zip(new[pre..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (om, nm) = (old.len() - pre - suf, new.len() - pre - suf);
    if om + nm <= CAP {
        return capture_diff_slices(Algorithm::Myers, old, new);
    }
    let mut ops = Vec::new();
    if pre > 0 {
        ops.push(DiffOp::Equal {
            old_index: 0,
            new_index: 0,
            len: pre,
        });
    }
    ops.push(DiffOp::Replace {
        old_index: pre,
        old_len: om,
        new_index: pre,
        new_len: nm,
    });
    if suf > 0 {
        ops.push(DiffOp::Equal {
            old_index: pre + om,
            new_index: pre + nm,
            len: suf,
        });
    }
    ops
}

/// Lines, each with its '\n'.
fn lines(s: &[char]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.iter().enumerate() {
        if *c == '\n' {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < s.len() {
        out.push(start..s.len());
    }
    out
}

/// Runs of alphanumerics, runs of whitespace, and single other chars.
fn words(s: &[char]) -> Vec<Range<usize>> {
    let class = |c: char| {
        if c.is_alphanumeric() {
            1
        } else if c.is_whitespace() {
            2
        } else {
            0
        }
    };
    let mut out: Vec<Range<usize>> = Vec::new();
    for (i, &c) in s.iter().enumerate() {
        match out.last_mut() {
            Some(r) if class(c) != 0 && class(s[r.start]) == class(c) => r.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// The style keys `set_markdown` manages.
#[derive(Clone, Copy)]
enum Key {
    Bold,
    Italic,
    Code,
    Link,
    Wikilink,
    Embed,
    Raw,
    Block,
    Indent,
    Lang,
    Callout,
    Fold,
}

const KEYS: [Key; 12] = [
    Key::Bold,
    Key::Italic,
    Key::Code,
    Key::Link,
    Key::Wikilink,
    Key::Embed,
    Key::Raw,
    Key::Block,
    Key::Indent,
    Key::Lang,
    Key::Callout,
    Key::Fold,
];

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Bold => "bold",
            Key::Italic => "italic",
            Key::Code => "code",
            Key::Link => "link",
            Key::Wikilink => "wikilink",
            Key::Embed => "embed",
            Key::Raw => "raw",
            Key::Block => "block",
            Key::Indent => "indent",
            Key::Lang => "lang",
            Key::Callout => "callout",
            Key::Fold => "fold",
        }
    }

    fn is_line_key(self) -> bool {
        matches!(
            self,
            Key::Block | Key::Indent | Key::Lang | Key::Callout | Key::Fold
        )
    }

    fn same(self, a: &CharStyle, b: &CharStyle) -> bool {
        match self {
            Key::Bold => a.inline.bold == b.inline.bold,
            Key::Italic => a.inline.italic == b.inline.italic,
            Key::Code => a.inline.code == b.inline.code,
            Key::Link => a.inline.link == b.inline.link,
            Key::Wikilink => a.inline.wikilink == b.inline.wikilink,
            Key::Embed => a.inline.embed == b.inline.embed,
            Key::Raw => a.inline.raw == b.inline.raw,
            Key::Block => a.block == b.block,
            Key::Indent => a.indent == b.indent,
            Key::Lang => a.lang == b.lang,
            Key::Callout => a.kind == b.kind,
            Key::Fold => a.fold == b.fold,
        }
    }

    /// The mark value for `s`, `None` meaning "no mark".
    fn value(self, s: &CharStyle) -> Option<LoroValue> {
        match self {
            Key::Bold => s.inline.bold.then_some(LoroValue::Bool(true)),
            Key::Italic => s.inline.italic.then_some(LoroValue::Bool(true)),
            Key::Code => s.inline.code.then_some(LoroValue::Bool(true)),
            Key::Link => s.inline.link.as_deref().map(LoroValue::from),
            Key::Wikilink => s.inline.wikilink.as_deref().map(LoroValue::from),
            Key::Embed => s.inline.embed.then_some(LoroValue::Bool(true)),
            Key::Raw => s.inline.raw.then_some(LoroValue::Bool(true)),
            Key::Block => s.block.attr().map(LoroValue::from),
            Key::Indent => (s.indent > 0).then(|| LoroValue::I64(i64::from(s.indent))),
            Key::Lang => s.lang.as_deref().map(LoroValue::from),
            Key::Callout => s.kind.as_deref().map(LoroValue::from),
            Key::Fold => s.fold.map(|c| LoroValue::from(c.to_string())),
        }
    }
}

/// Makes `text` equal to `target`: text by [`diff`], then styles.
pub(crate) fn apply(
    text: &LoroText,
    target: &Flat,
) -> Result<EditSummary, (LoroError, EditSummary)> {
    let mut summary = EditSummary::default();
    let old: Vec<char> = text.to_string().chars().collect();
    let mut inserted = vec![false; target.chars.len()];
    let mut pos = 0;
    for step in diff(&old, &target.chars) {
        match step {
            Step::Keep(n) => pos += n,
            Step::Delete(n) => {
                text.delete(pos, n).map_err(|e| (e, summary))?;
                summary.deleted += n;
            }
            Step::Insert(r) => {
                let s: String = target.chars[r.clone()].iter().collect();
                text.insert(pos, &s).map_err(|e| (e, summary))?;
                inserted[r.clone()].iter_mut().for_each(|f| *f = true);
                pos += r.len();
                summary.inserted += r.len();
            }
        }
    }
    summary.restyled = restyle(text, target, &inserted).map_err(|e| (e, summary))?;
    Ok(summary)
}

/// Marks and unmarks where the current styles differ from `target`;
/// returns how many kept (not inserted) chars changed style.
///
/// Positions where a key has no Markdown meaning are left alone: inline
/// marks on '\n', on U+2028 and inside code block lines; line marks on
/// anything but '\n'. So a mark a UI put there survives `weft edit`.
fn restyle(text: &LoroText, target: &Flat, inserted: &[bool]) -> Result<usize, LoroError> {
    let (_, current) = read_flat(text);
    let n = current.len().min(target.styles.len());
    let mut restyled = vec![false; n];
    let ignored = |key: Key, i: usize| {
        let c = target.chars[i];
        if key.is_line_key() {
            c != '\n'
        } else {
            c == '\n' || c == LINE_BREAK || target.in_code_line[i]
        }
    };
    for key in KEYS {
        let differs = |i: usize| !ignored(key, i) && !key.same(&current[i], &target.styles[i]);
        let mut i = 0;
        while i < n {
            if !differs(i) {
                i += 1;
                continue;
            }
            let start = i;
            while i < n && differs(i) && key.same(&target.styles[i], &target.styles[start]) {
                restyled[i] |= !inserted[i];
                i += 1;
            }
            match key.value(&target.styles[start]) {
                Some(v) => text.mark(start..i, key.name(), v)?,
                None => text.unmark(start..i, key.name())?,
            }
        }
    }
    Ok(restyled.iter().filter(|r| **r).count())
}

/// Sets the `src` mark of every line end to `want` (per line, `None`:
/// no mark), touching only those that differ. Not counted as a restyle:
/// it changes no content, only which source is kept for it.
pub(crate) fn mark_sources(text: &LoroText, want: &[Option<String>]) -> Result<(), LoroError> {
    let (chars, styles) = read_flat(text);
    let mut line = 0;
    for (pos, (c, style)) in chars.iter().zip(&styles).enumerate() {
        if *c != '\n' {
            continue;
        }
        let target = want.get(line).and_then(|w| w.as_deref());
        if style.src.as_deref() != target {
            match target {
                Some(v) => text.mark(pos..pos + 1, "src", v)?,
                None => text.unmark(pos..pos + 1, "src")?,
            }
        }
        line += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_steps(old: &str, new: &str) -> String {
        let o: Vec<char> = old.chars().collect();
        let n: Vec<char> = new.chars().collect();
        let mut cur = o.clone();
        let mut pos = 0;
        for s in diff(&o, &n) {
            match s {
                Step::Keep(k) => pos += k,
                Step::Delete(k) => {
                    cur.drain(pos..pos + k);
                }
                Step::Insert(r) => {
                    cur.splice(pos..pos, n[r.clone()].iter().copied());
                    pos += r.len();
                }
            }
        }
        cur.into_iter().collect()
    }

    #[test]
    fn diff_scripts_rebuild_the_new_text() {
        let cases = [
            ("", ""),
            ("", "abc\n"),
            ("abc\n", ""),
            ("hello world\n", "help wanted\n"),
            ("a\nb\nc\n", "a\nB\nc\nd\n"),
            ("héllo 日本 😀\n", "hello 日本語 😀!\n"),
            ("same\n", "same\n"),
            ("x", "x\n"),
        ];
        for (old, new) in cases {
            assert_eq!(apply_steps(old, new), new, "{old:?} -> {new:?}");
        }
    }

    #[test]
    fn an_edit_in_one_word_only_touches_that_word() {
        let o: Vec<char> = "one two three\nfour\n".chars().collect();
        let n: Vec<char> = "one too three\nfour\n".chars().collect();
        let changed: usize = diff(&o, &n)
            .iter()
            .map(|s| match s {
                Step::Keep(_) => 0,
                Step::Delete(k) => *k,
                Step::Insert(r) => r.len(),
            })
            .sum();
        assert_eq!(changed, 2, "w→o is one delete and one insert");
    }

    #[test]
    fn huge_unrelated_texts_fall_back_to_a_replacement() {
        let o: Vec<char> = "ab".repeat(10_000).chars().collect();
        let n: Vec<char> = "cd".repeat(10_000).chars().collect();
        let steps = diff(&o, &n);
        assert_eq!(steps, vec![Step::Delete(20_000), Step::Insert(0..20_000)]);
    }
}
