//! Lines → CommonMark (the mapping is described in the `note` module docs).
//!
//! The contract is `render(parse(render(x))) == render(x)`. Three things
//! make it hold: a normalisation step drops what Markdown cannot express
//! (so rendering never depends on it); text is escaped so it reads back
//! verbatim; and every rendered text line is parsed back and compared —
//! when CommonMark's emphasis rules read it differently (`a**(b)**` is not
//! bold), the line is rendered again with `_` for italic, then without
//! bold/italic, then without any inline marks, which always reads back
//! exactly. The parser is the oracle, so the two cannot drift apart.

use std::cmp::Reverse;
use std::ops::Range;
use std::rc::Rc;

use super::model::{Block, Inline, LINE_BREAK, Line, same_group};
use super::parse::{code_char, parse};

mod raw;

use raw::{close_raw_fences, list_breaks};

/// Renders lines as CommonMark.
pub(crate) fn render(lines: &[Line]) -> String {
    render_piece(lines, 0..lines.len(), None)
}

/// Renders `all[range]` as CommonMark that follows the already written line
/// `prev` (which decides the separator before the first line and how deep a
/// first list item may nest).
pub(crate) fn render_piece(all: &[Line], range: Range<usize>, prev: Option<usize>) -> String {
    let ctx = prev.filter(|p| *p < range.start).unwrap_or(range.start);
    let lines = normalize(all.get(ctx..range.end).unwrap_or_default());
    let first = range.start - ctx;
    let mut out = String::new();
    let mut prev: Option<usize> = (first > 0).then_some(0);
    let mut pending_empty = 0usize;
    let mut fence: Option<String> = None;
    let mut list = ListState::default();
    let breaks = list_breaks(&lines);
    for (idx, line) in lines.iter().enumerate().skip(first) {
        if renders_nothing(line) {
            continue;
        }
        if line.is_empty_paragraph() {
            pending_empty += 1;
            continue;
        }
        if breaks[idx] && prev.is_some() {
            // The list may continue a raw block's list (or a raw block may
            // continue it): a blank line keeps the rendering the same
            // whether it does or not (see `list_breaks`).
            pending_empty = pending_empty.max(1);
        }
        let grouped = prev.is_some_and(|p| same_group(&lines[p], line));
        let joined = grouped && pending_empty == 0;
        if !joined && let Some(f) = fence.take() {
            out.push_str(&f);
            out.push('\n');
        }
        let mut separators = pending_empty + usize::from(prev.is_some() && !grouped);
        if !line.block.is_list() {
            list.levels.clear();
        }
        let list_prefix = line.block.is_list().then(|| list.prefix(line));
        if let Some((_, _, _, true)) = list_prefix
            && joined
            && line.chars.is_empty()
            && prev.is_some_and(|p| !lines[p].chars.is_empty())
        {
            // An empty item cannot start a list right after a paragraph
            // ("- a\n  -" is a setext heading): a blank line separates them.
            // It reads back as one empty paragraph, which renders as this
            // same blank line, so the rendering stays a fixed point.
            separators += 1;
        }
        out.extend(std::iter::repeat_n('\n', separators));
        match line.block {
            Block::Code => {
                if fence.is_none() {
                    let group: Vec<&Line> = lines[idx..]
                        .iter()
                        .take_while(|l| same_group(line, l))
                        .collect();
                    let (open, close) = fences(&group, &line.lang);
                    out.push_str(&open);
                    out.push('\n');
                    fence = Some(close);
                }
                out.extend(line.chars.iter());
                out.push('\n');
            }
            Block::Heading(level) => {
                let marker = "#".repeat(usize::from(level.clamp(1, 6)));
                out.push_str(&text_block(line, "", &marker, 0, true));
            }
            Block::Quote => {
                // A callout's title and the first line of its body are one
                // paragraph in Obsidian's own files.
                if joined && prev.is_some_and(|p| lines[p].block != Block::Callout) {
                    out.push_str(">\n");
                }
                out.push_str(&text_block(line, "", ">", 0, false));
            }
            Block::Callout => {
                let fold = line.fold.map(String::from).unwrap_or_default();
                let marker = format!("> [!{}]{fold}", callout_kind(&line.kind));
                out.push_str(&text_block(line, "", &marker, 0, true));
            }
            Block::Raw => {
                out.extend(
                    line.chars
                        .iter()
                        .map(|&c| if c == LINE_BREAK { '\n' } else { c }),
                );
                out.push('\n');
            }
            Block::Paragraph => out.push_str(&text_block(line, "", "", 0, false)),
            Block::Bullet | Block::Ordered | Block::Check | Block::Checked => {
                if let Some((indent, marker, cont, _)) = list_prefix {
                    out.push_str(&text_block(line, &indent, &marker, cont, false));
                }
            }
        }
        prev = Some(idx);
        pending_empty = 0;
    }
    if let Some(f) = fence {
        out.push_str(&f);
        out.push('\n');
    }
    out.extend(std::iter::repeat_n('\n', pending_empty));
    out
}

/// A line Markdown has no form for: a quote paragraph needs text, an empty
/// `>` line reads as nothing. [`normalize`] keeps it (so indices stay those
/// of the note) and rendering skips it.
pub(crate) fn renders_nothing(line: &Line) -> bool {
    line.block == Block::Quote && line.chars.is_empty()
}

/// A callout kind as Markdown can carry it: the characters the parser reads
/// as a kind (see `parse.rs`), `note` when none is left.
fn callout_kind(kind: &str) -> String {
    let k: String = kind
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if k.is_empty() { "note".into() } else { k }
}

/// Drops or rewrites what Markdown cannot express, so that a rendering and
/// the parse of that rendering render alike. Returns one line per line.
pub(crate) fn normalize(lines: &[Line]) -> Vec<Line> {
    let mut out = Vec::with_capacity(lines.len());
    let mut prev_list_indent: Option<u8> = None;
    // The previous list item has no text and blank lines followed it: such
    // an item is closed, nothing can nest under it.
    let mut prev_list_closed = false;
    for line in lines {
        if renders_nothing(line) {
            out.push(line.clone());
            continue;
        }
        let mut l = line.clone();
        if l.block == Block::Raw {
            l.inline.iter_mut().for_each(|i| *i = Inline::default());
            prev_list_indent = None;
            prev_list_closed = false;
            out.push(l);
            continue;
        }
        if l.block == Block::Code {
            for c in &mut l.chars {
                *c = code_char(*c);
            }
            l.inline.iter_mut().for_each(|i| *i = Inline::default());
            l.lang = l.lang.lines().next().unwrap_or_default().trim().to_owned();
        } else {
            l.lang.clear();
            for (c, inline) in l.chars.iter_mut().zip(l.inline.iter_mut()) {
                if *c == '\0' || (inline.code && *c == '\r') {
                    *c = '\u{FFFD}';
                }
                if *c == LINE_BREAK {
                    *inline = Inline::default();
                }
                if inline.wikilink.is_none() {
                    inline.embed = false;
                }
            }
            trim_emphasis(&l.chars, &mut l.inline, |i| &mut i.bold);
            trim_emphasis(&l.chars, &mut l.inline, |i| &mut i.italic);
        }
        if l.block.is_list() {
            // A list item can only nest one level below the item before it.
            let max = prev_list_indent.map_or(0, |p| p.saturating_add(u8::from(!prev_list_closed)));
            l.indent = l.indent.min(max);
            prev_list_indent = Some(l.indent);
            prev_list_closed = false;
        } else {
            l.indent = 0;
            if l.is_empty_paragraph() {
                prev_list_closed |= out
                    .iter()
                    .rev()
                    .find(|p: &&Line| !renders_nothing(p))
                    .is_some_and(|p: &Line| p.block.is_list() && p.chars.is_empty());
            } else {
                prev_list_indent = None;
                prev_list_closed = false;
            }
        }
        out.push(l);
    }
    close_raw_fences(&mut out);
    out
}

/// Moves whitespace at the edges of a bold/italic span outside of it:
/// `** a**` is not emphasis in CommonMark.
fn trim_emphasis(chars: &[char], inline: &mut [Inline], mark: fn(&mut Inline) -> &mut bool) {
    let n = chars.len();
    let plain_space = |i: usize, inline: &[Inline]| {
        chars[i].is_whitespace() && !inline[i].code && inline[i].link.is_none()
    };
    let mut i = 0;
    while i < n {
        if !*mark(&mut inline[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && *mark(&mut inline[i]) {
            i += 1;
        }
        let (mut a, mut b) = (start, i);
        while a < b && plain_space(a, inline) {
            *mark(&mut inline[a]) = false;
            a += 1;
        }
        while b > a && plain_space(b - 1, inline) {
            *mark(&mut inline[b - 1]) = false;
            b -= 1;
        }
    }
}

/// Opening and closing fence of a code block: backticks unless the info
/// string has one, and longer than any run of the fence character inside.
fn fences(group: &[&Line], lang: &str) -> (String, String) {
    let fc = if lang.contains('`') { '~' } else { '`' };
    let mut longest = 0;
    for line in group {
        let mut run = 0;
        for &c in &line.chars {
            run = if c == fc { run + 1 } else { 0 };
            longest = longest.max(run);
        }
    }
    let fence: String = std::iter::repeat_n(fc, (longest + 1).max(3)).collect();
    // Info strings decode backslash escapes and entities, like text.
    let chars: Vec<char> = lang.chars().collect();
    let mut info = String::new();
    for (k, &c) in chars.iter().enumerate() {
        // A leading fence character would lengthen the fence instead.
        if c == '\\' || (c == '&' && entity_at(&chars, k)) || (k == 0 && c == fc) {
            info.push('\\');
        }
        info.push(c);
    }
    (format!("{fence}{info}"), fence)
}

/// Whether `chars[at]` is a '&' starting an entity or numeric reference.
fn entity_at(chars: &[char], at: usize) -> bool {
    let rest = chars.get(at + 1..).unwrap_or_default();
    let rest = rest.strip_prefix(&['#']).unwrap_or(rest);
    let len = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    (1..=32).contains(&len) && rest.get(len) == Some(&';')
}

#[derive(Default)]
struct ListState {
    levels: Vec<ListLevel>,
}

struct ListLevel {
    content_col: usize,
    number: u32,
    ordered: bool,
}

impl ListState {
    /// Indentation, marker, the width from the marker's column to the
    /// item's content column, and whether the line starts a new list.
    fn prefix(&mut self, line: &Line) -> (String, String, usize, bool) {
        let depth = usize::from(line.indent).min(self.levels.len());
        self.levels.truncate(depth + 1);
        let start_col = depth
            .checked_sub(1)
            .and_then(|d| self.levels.get(d))
            .map_or(0, |l| l.content_col);
        let ordered = line.block == Block::Ordered;
        let starts_list = self
            .levels
            .get(depth)
            .is_none_or(|prev| prev.ordered != ordered);
        let number = match self.levels.get(depth) {
            Some(prev) if ordered && prev.ordered => prev.number.saturating_add(1),
            _ => 1,
        };
        let marker = match line.block {
            Block::Ordered => format!("{number}."),
            Block::Check => "- [ ]".to_owned(),
            Block::Checked => "- [x]".to_owned(),
            _ => "-".to_owned(),
        };
        let content_col = start_col + if ordered { marker.len() + 1 } else { 2 };
        self.levels.truncate(depth);
        self.levels.push(ListLevel {
            content_col,
            number,
            ordered,
        });
        (
            " ".repeat(start_col),
            marker,
            content_col - start_col,
            starts_list,
        )
    }
}

/// How much inline styling a rendering attempt keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Italic as `*`: works inside words (`un*believ*able`).
    Full,
    /// Italic as `_`: never merges with a neighbouring `**` run.
    Underscore,
    NoEmphasis,
    Plain,
}

/// Renders a text line after `indent` and `marker` ("", "#", ">", "-",
/// "1.", "- [ ]"); continuation lines are indented by `indent` plus `cont`
/// spaces (or start with "> " in a quote). Ends with '\n'.
fn text_block(line: &Line, indent: &str, marker: &str, cont: usize, heading: bool) -> String {
    let mut result = String::new();
    for level in [
        Level::Full,
        Level::Underscore,
        Level::NoEmphasis,
        Level::Plain,
    ] {
        let mut expected = line.clone();
        expected.indent = 0;
        for i in &mut expected.inline {
            match level {
                Level::Full | Level::Underscore => {}
                Level::NoEmphasis => (i.bold, i.italic) = (false, false),
                // Raw source stays raw: escaping it would rewrite it.
                Level::Plain => {
                    *i = Inline {
                        raw: i.raw,
                        ..Inline::default()
                    }
                }
            }
        }
        // Moving whitespace out of a span changes which span lasts longest,
        // and so the delimiter order: render until nothing moves, so the
        // output is the rendering of exactly what it parses back to.
        let body = loop {
            trim_emphasis(&expected.chars, &mut expected.inline, |i| &mut i.bold);
            trim_emphasis(&expected.chars, &mut expected.inline, |i| &mut i.italic);
            let before = expected.inline.clone();
            let italic = if level == Level::Underscore { '_' } else { '*' };
            let body = source_lines(&mut expected, heading, italic);
            if expected.inline == before {
                break body;
            }
        };
        // Verify at column 0: inline parsing does not depend on indentation.
        let quote = line.block == Block::Quote;
        let standalone = assemble("", marker, cont, &body, quote);
        let ok = level == Level::Plain || {
            let back = parse(&standalone);
            back.len() == 1
                && back[0].block == expected.block
                && back[0].chars == expected.chars
                && back[0].inline == expected.inline
        };
        if ok {
            result = assemble(indent, marker, cont, &body, quote);
            break;
        }
    }
    result
}

fn assemble(indent: &str, marker: &str, cont: usize, body: &[String], quote: bool) -> String {
    let mut out = format!("{indent}{marker}");
    for (n, src) in body.iter().enumerate() {
        if n > 0 {
            out.push('\n');
            if quote {
                out.push_str("> ");
            } else {
                out.push_str(indent);
                out.extend(std::iter::repeat_n(' ', cont));
            }
        } else if !src.is_empty() && !marker.is_empty() {
            out.push(' ');
        }
        out.push_str(src);
    }
    out.push('\n');
    out
}

/// The Markdown source lines of a text line's content. A U+2028 between two
/// non-empty segments becomes a line break; elsewhere (where a line would be
/// blank) it is written as `&#x2028;`, as in a heading.
///
/// May move whitespace out of bold/italic (see [`segment`]); `line` is
/// updated to what the Markdown says.
fn source_lines(line: &mut Line, heading: bool, italic: char) -> Vec<String> {
    let mut segments: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    for (i, c) in line.chars.iter().enumerate() {
        if *c == LINE_BREAK {
            segments.push(start..i);
            start = i + 1;
        }
    }
    segments.push(start..line.chars.len());
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for (n, seg) in segments.iter().enumerate() {
        if n > 0 {
            let prev_empty = segments[n - 1].is_empty();
            if !heading && !prev_empty && !seg.is_empty() {
                lines.push(std::mem::take(&mut current));
            } else {
                current.push_str("&#x2028;");
            }
        }
        current.push_str(&segment(
            &line.chars[seg.clone()],
            &mut line.inline[seg.clone()],
            heading,
            italic,
        ));
    }
    lines.push(current);
    for l in &mut lines {
        finish_line(l, heading);
    }
    // A continuation line that starts with raw source (`<div>`) could start
    // an HTML block; four spaces keep it a continuation of the paragraph.
    let mut n = 0;
    for (k, seg) in segments.iter().enumerate() {
        if k > 0 && !segments[k - 1].is_empty() && !seg.is_empty() && !heading {
            n += 1;
            if line.inline[seg.start].raw
                && let Some(l) = lines.get_mut(n)
            {
                l.insert_str(0, "    ");
            }
        }
    }
    lines
}

/// Escapes what only matters at the start or end of a source line.
fn finish_line(l: &mut String, heading: bool) {
    let lead = l.len() - l.trim_start_matches([' ', '\t']).len();
    let trail = l.len() - l.trim_end_matches([' ', '\t']).len();
    if lead == l.len() {
        *l = ws_entities(l);
        return;
    }
    let (head, rest) = l.split_at(lead);
    let (mid, tail) = rest.split_at(rest.len() - trail);
    let mut mid = mid.to_owned();
    if lead == 0 && !heading {
        escape_block_start(&mut mid);
    }
    *l = format!("{}{}{}", ws_entities(head), mid, ws_entities(tail));
}

fn ws_entities(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\t' { "&#9;" } else { "&#32;" })
        .collect()
}

/// Escapes a character that would start a block (heading, quote, list,
/// setext underline, fence) at the start of a line.
fn escape_block_start(s: &mut String) {
    match s.chars().next() {
        Some('#' | '>' | '-' | '+' | '=' | '~' | '|') => s.insert(0, '\\'),
        Some(c) if c.is_ascii_digit() => {
            let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if s[digits..].starts_with(['.', ')']) {
                s.insert(digits, '\\');
            }
        }
        _ => {}
    }
}

#[derive(Clone, PartialEq)]
enum Mark {
    Link(Rc<str>),
    /// Target and whether it is an embed.
    Wiki(Rc<str>, bool),
    Bold,
    Italic,
}

impl Mark {
    fn is_link(&self) -> bool {
        matches!(self, Mark::Link(_) | Mark::Wiki(..))
    }
}

fn marks(inline: &Inline) -> Vec<Mark> {
    let mut m = Vec::new();
    if let Some(target) = &inline.wikilink {
        m.push(Mark::Wiki(target.clone(), inline.embed));
    }
    if let Some(url) = &inline.link {
        m.push(Mark::Link(url.clone()));
    }
    if inline.bold {
        m.push(Mark::Bold);
    }
    if inline.italic {
        m.push(Mark::Italic);
    }
    m
}

/// Renders one segment (text between line breaks) with its inline marks.
///
/// Overlapping spans (bold "a b", italic "b c") force closing a span and
/// reopening it; an opening `*` before whitespace is not emphasis, so such
/// whitespace is written before the reopened delimiter and loses the mark
/// in `inline` too (invisible on a space; keeps the rest of the line's
/// emphasis instead of dropping it all in the verification fallback).
fn segment(chars: &[char], inline: &mut [Inline], heading: bool, italic: char) -> String {
    let mut runs: Vec<(Range<usize>, Vec<Mark>, bool, bool)> = Vec::new();
    for (i, style) in inline.iter().enumerate() {
        match runs.last_mut() {
            Some((r, ..)) if inline[r.start] == *style => r.end = i + 1,
            _ => runs.push((i..i + 1, marks(style), style.code, style.raw)),
        }
    }
    let mut out = String::new();
    let mut stack: Vec<Mark> = Vec::new();
    // Inside `[[target]]` the text is the target itself, written as is.
    let mut verbatim_wiki = false;
    for (ri, (range, want, code, raw)) in runs.iter().enumerate() {
        if let Some(pos) = stack.iter().position(|m| !want.contains(m)) {
            for m in stack.drain(pos..).rev() {
                verbatim_wiki &= !matches!(m, Mark::Wiki(..));
                close(&mut out, &m, italic);
            }
        }
        let mut open: Vec<Mark> = want
            .iter()
            .filter(|m| !stack.contains(m))
            .cloned()
            .collect();
        // Open the mark that lasts longest first, so it does not have to be
        // closed and reopened when the shorter one ends.
        open.sort_by_key(|m| Reverse(runs[ri..].iter().take_while(|r| r.1.contains(m)).count()));
        let mut range = range.clone();
        if !*code && open.iter().any(|m| !m.is_link()) {
            let lead = chars[range.clone()]
                .iter()
                .take_while(|c| c.is_whitespace())
                .count();
            if lead > 0 {
                escape_text(&mut out, &chars[range.start..range.start + lead], heading);
                for i in &mut inline[range.start..range.start + lead] {
                    for m in &open {
                        match m {
                            Mark::Bold => i.bold = false,
                            Mark::Italic => i.italic = false,
                            Mark::Link(_) => i.link = None,
                            Mark::Wiki(..) => {
                                i.wikilink = None;
                                i.embed = false;
                            }
                        }
                    }
                }
                range.start += lead;
                if range.is_empty() {
                    continue;
                }
            }
        }
        for m in open {
            match &m {
                Mark::Link(_) => out.push('['),
                Mark::Wiki(target, embed) => {
                    if *embed {
                        out.push('!');
                    }
                    out.push_str("[[");
                    let span = || runs[ri..].iter().take_while(|r| r.1.contains(&m));
                    let shown: String = span().flat_map(|r| chars[r.0.clone()].iter()).collect();
                    // `[[T]]` only for the target itself, unstyled; else `[[T|shown]]`.
                    verbatim_wiki = shown == **target && span().all(|r| r.1.len() == 1 && !r.2);
                    if !verbatim_wiki {
                        out.push_str(target);
                        out.push('|');
                    }
                }
                Mark::Bold => out.push_str("**"),
                Mark::Italic => out.push(italic),
            }
            stack.push(m);
        }
        let text = &chars[range];
        if *code {
            code_span(&mut out, text);
        } else if *raw || verbatim_wiki {
            out.extend(text.iter());
        } else {
            escape_text(&mut out, text, heading);
        }
    }
    for m in stack.drain(..).rev() {
        close(&mut out, &m, italic);
    }
    out
}

fn close(out: &mut String, m: &Mark, italic: char) {
    match m {
        Mark::Link(url) => {
            out.push_str("](");
            link_dest(out, url);
            out.push(')');
        }
        Mark::Wiki(..) => out.push_str("]]"),
        Mark::Bold => out.push_str("**"),
        Mark::Italic => out.push(italic),
    }
}

fn escape_text(out: &mut String, chars: &[char], heading: bool) {
    for (k, &c) in chars.iter().enumerate() {
        let next = chars.get(k + 1);
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            // An autolink or HTML tag starts with '<' and a letter, '/', '!'
            // or '?'. At the end of a run a delimiter follows, never those.
            '<' if next
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) =>
            {
                out.push_str("\\<");
            }
            '&' if entity_at(chars, k) => out.push_str("\\&"),
            '#' if heading => out.push_str("\\#"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A code span: a backtick fence whose length occurs nowhere inside, padded
/// with spaces where CommonMark would otherwise strip or merge.
fn code_span(out: &mut String, chars: &[char]) {
    let mut runs = Vec::new();
    let mut run = 0;
    for &c in chars.iter().chain(std::iter::once(&' ')) {
        if c == '`' {
            run += 1;
        } else if run > 0 {
            runs.push(run);
            run = 0;
        }
    }
    let n = (1..).find(|n| !runs.contains(n)).unwrap_or(1);
    let fence: String = std::iter::repeat_n('`', n).collect();
    let first = chars.first().copied();
    let last = chars.last().copied();
    let pad = first == Some('`')
        || last == Some('`')
        || (first == Some(' ') && last == Some(' ') && chars.iter().any(|&c| c != ' '));
    out.push_str(&fence);
    if pad {
        out.push(' ');
    }
    out.extend(chars.iter());
    if pad {
        out.push(' ');
    }
    out.push_str(&fence);
}

fn link_dest(out: &mut String, url: &str) {
    let chars: Vec<char> = url.chars().collect();
    let pointy = chars.is_empty()
        || chars[0] == '<'
        || chars.iter().any(|c| *c == ' ' || c.is_ascii_control());
    if pointy {
        out.push('<');
    }
    for (k, &c) in chars.iter().enumerate() {
        let escape = match c {
            '\\' => true,
            '<' | '>' => pointy,
            '(' | ')' => !pointy,
            '&' => entity_at(&chars, k),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    if pointy {
        out.push('>');
    }
}
