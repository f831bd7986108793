//! Markdown → lines (the mapping is described in the `note` module docs).
//!
//! Never panics on any input: offsets are read with `str::get`, and every
//! event we do not model falls back to its source text.

use std::ops::Range;
use std::rc::Rc;

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::model::{Block, Inline, LINE_BREAK, Line, same_group};

/// Parses CommonMark (with task lists) into lines.
pub(crate) fn parse(md: &str) -> Vec<Line> {
    let events: Vec<(Event<'_>, Range<usize>)> = Parser::new_ext(md, Options::ENABLE_TASKLISTS)
        .into_offset_iter()
        .collect();
    let mut p = P {
        md,
        ev: &events,
        out: Vec::new(),
    };
    let mut i = 0;
    while i < events.len() {
        i = p.top(i);
    }
    with_blank_lines(md, p.out)
}

/// A parsed line and where it sits in the source, to count the blank lines
/// between lines (they become empty paragraphs).
struct Placed {
    line: Line,
    /// Where the line's block starts.
    start: usize,
    /// Where its last content ends.
    end: usize,
    /// False for the second and later lines of one code block.
    gap_before: bool,
}

/// Inline content being collected, with the marks open at this point.
#[derive(Default)]
struct Buf {
    line: Line,
    bold: u32,
    italic: u32,
    links: Vec<Rc<str>>,
    end: usize,
    task: Option<bool>,
}

impl Buf {
    fn style(&self, code: bool) -> Inline {
        Inline {
            bold: self.bold > 0,
            italic: self.italic > 0,
            code,
            link: self.links.last().cloned(),
        }
    }

    fn text(&mut self, s: &str, code: bool, end: usize) {
        let style = self.style(code);
        for c in s.chars() {
            match c {
                // Text events never span lines in paragraphs; keep the
                // model's invariant (no '\n' inside a line) regardless.
                '\n' => self.line.push(LINE_BREAK, Inline::default()),
                LINE_BREAK => self.line.push(LINE_BREAK, Inline::default()),
                '\0' => self.line.push('\u{FFFD}', style.clone()),
                c => self.line.push(c, style.clone()),
            }
        }
        self.end = self.end.max(end);
    }
}

struct P<'a, 'e> {
    md: &'a str,
    ev: &'e [(Event<'a>, Range<usize>)],
    out: Vec<Placed>,
}

impl<'a> P<'a, '_> {
    fn range(&self, i: usize) -> Range<usize> {
        self.ev.get(i).map(|(_, r)| r.clone()).unwrap_or(0..0)
    }

    fn src(&self, r: Range<usize>) -> &'a str {
        self.md.get(r).unwrap_or_default()
    }

    /// Index of the `End` matching the `Start` at `i` (or `i` itself for a
    /// non-`Start` event).
    fn end_of(&self, i: usize) -> usize {
        let mut depth = 0usize;
        for (j, (ev, _)) in self.ev.iter().enumerate().skip(i) {
            match ev {
                Event::Start(_) => depth += 1,
                Event::End(_) => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth == 0 {
                return j;
            }
        }
        self.ev.len().saturating_sub(1)
    }

    /// Parses the top-level block at `i`; returns the index after it.
    fn top(&mut self, i: usize) -> usize {
        let end = self.end_of(i);
        let ev = self.ev;
        match &ev[i].0 {
            Event::Start(Tag::Paragraph) => self.leaf(i, Block::Paragraph),
            Event::Start(Tag::Heading { level, .. }) => self.leaf(i, Block::Heading(*level as u8)),
            Event::Start(Tag::BlockQuote(_)) => self.quote(i),
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info.trim().to_owned(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code(i, lang);
            }
            Event::Start(Tag::List(start)) => self.list(i, 0, start.is_some()),
            // HTML blocks, rules, and anything not enabled: kept as text.
            _ => self.fallback_top(self.range(i)),
        }
        end + 1
    }

    /// A paragraph or heading (or a paragraph inside a quote).
    fn leaf(&mut self, i: usize, block: Block) {
        let start = self.range(i).start;
        let mut buf = Buf {
            line: Line::new(block),
            end: start,
            ..Buf::default()
        };
        let stop = self.inline(i + 1, &mut buf);
        // Block content inside a leaf cannot happen in CommonMark; if it
        // did, keep its text rather than lose it.
        let end = self.end_of(i);
        if stop < end {
            let r = self.range(stop).start..self.range(end).start;
            let text = self.src(r.clone()).to_owned();
            buf.text(&text, false, r.end);
        }
        self.out.push(Placed {
            line: buf.line,
            start,
            end: buf.end,
            gap_before: true,
        });
    }

    /// Consumes inline events from `i` into `buf`; returns the index of the
    /// first event that is not inline.
    fn inline(&self, mut i: usize, buf: &mut Buf) -> usize {
        while let Some((ev, r)) = self.ev.get(i) {
            match ev {
                Event::Text(s) | Event::InlineHtml(s) | Event::Html(s) => buf.text(s, false, r.end),
                Event::Code(s) => buf.text(s, true, r.end),
                Event::SoftBreak | Event::HardBreak => buf.line.push(LINE_BREAK, Inline::default()),
                Event::TaskListMarker(checked) => buf.task = Some(*checked),
                Event::Start(Tag::Emphasis) => buf.italic += 1,
                Event::End(TagEnd::Emphasis) => buf.italic = buf.italic.saturating_sub(1),
                Event::Start(Tag::Strong) => buf.bold += 1,
                Event::End(TagEnd::Strong) => buf.bold = buf.bold.saturating_sub(1),
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    ..
                }) => {
                    let url = if *link_type == LinkType::Email {
                        format!("mailto:{dest_url}")
                    } else {
                        dest_url.to_string()
                    };
                    buf.links.push(Rc::from(url));
                }
                Event::End(TagEnd::Link) => {
                    buf.links.pop();
                }
                // Images and inline extensions we do not model: their
                // source text, as text.
                Event::Start(
                    Tag::Image { .. } | Tag::Strikethrough | Tag::Superscript | Tag::Subscript,
                ) => {
                    let text = self.src(r.clone());
                    buf.text(text, false, r.end);
                    i = self.end_of(i);
                }
                Event::InlineMath(_) | Event::DisplayMath(_) | Event::FootnoteReference(_) => {
                    buf.text(self.src(r.clone()), false, r.end);
                }
                _ => return i,
            }
            i += 1;
        }
        i
    }

    fn quote(&mut self, i: usize) {
        let end = self.end_of(i);
        let mut j = i + 1;
        while j < end {
            if matches!(self.ev[j].0, Event::Start(Tag::Paragraph)) {
                self.leaf(j, Block::Quote);
            } else {
                // A list, heading, code block or quote inside a quote.
                let r = self.range(j);
                let mut line = Line::new(Block::Quote);
                push_plain(&mut line, &nested_source(self.src(r.clone()), true));
                self.out.push(Placed {
                    line,
                    start: r.start,
                    end: content_end(self.md, r.end),
                    gap_before: true,
                });
            }
            j = self.end_of(j) + 1;
        }
    }

    fn code(&mut self, i: usize, lang: String) {
        let end = self.end_of(i);
        let start = self.range(i).start;
        let mut content = String::new();
        let mut last = start;
        for (ev, r) in &self.ev[i + 1..end] {
            if let Event::Text(s) = ev {
                content.push_str(s);
                last = r.end;
            }
        }
        if content.is_empty() {
            return;
        }
        let content = content.strip_suffix('\n').unwrap_or(&content);
        let last = content_end(self.md, last);
        for (n, text) in content.split('\n').enumerate() {
            let mut line = Line::new(Block::Code);
            line.lang.clone_from(&lang);
            let text = text.strip_suffix('\r').unwrap_or(text);
            for c in text.chars() {
                line.push(code_char(c), Inline::default());
            }
            self.out.push(Placed {
                line,
                start,
                end: last,
                gap_before: n == 0,
            });
        }
    }

    fn list(&mut self, i: usize, depth: u8, ordered: bool) {
        let end = self.end_of(i);
        let mut j = i + 1;
        while j < end {
            if matches!(self.ev[j].0, Event::Start(Tag::Item)) {
                self.item(j, depth, ordered);
            }
            j = self.end_of(j) + 1;
        }
    }

    fn item(&mut self, i: usize, depth: u8, ordered: bool) {
        let end = self.end_of(i);
        let start = self.range(i).start;
        let own = self.out.len();
        let mut line = Line::new(if ordered {
            Block::Ordered
        } else {
            Block::Bullet
        });
        line.indent = depth;
        self.out.push(Placed {
            line,
            start,
            end: start,
            gap_before: true,
        });
        // Content goes to the item's own line until a nested list has been
        // emitted; after that, to the last line, which keeps reading order.
        let mut target = own;
        let mut j = i + 1;
        let ev = self.ev;
        while j < end {
            match &ev[j].0 {
                Event::Start(Tag::List(start)) => {
                    let ordered = start.is_some();
                    self.list(j, depth.saturating_add(1), ordered);
                    target = self.out.len() - 1;
                    j = self.end_of(j) + 1;
                }
                Event::Start(Tag::Paragraph) => {
                    let mut buf = Buf::default();
                    self.inline(j + 1, &mut buf);
                    self.append(target, own, buf);
                    j = self.end_of(j) + 1;
                }
                ev if matches!(ev, Event::Rule)
                    || matches!(ev, Event::Start(t) if !is_inline(t)) =>
                {
                    // A heading, code block, quote… inside an item.
                    let r = self.range(j);
                    let mut buf = Buf::default();
                    push_plain(&mut buf.line, &nested_source(self.src(r.clone()), false));
                    buf.end = content_end(self.md, r.end);
                    self.append(target, own, buf);
                    j = self.end_of(j) + 1;
                }
                _ => {
                    // Inline content of a tight item.
                    let mut buf = Buf::default();
                    let next = self.inline(j, &mut buf);
                    self.append(target, own, buf);
                    j = next.max(j + 1);
                }
            }
        }
    }

    /// Appends a chunk of item content to line `target`, after a line break
    /// if that line already has text.
    fn append(&mut self, target: usize, own: usize, buf: Buf) {
        let Some(placed) = self.out.get_mut(target) else {
            return;
        };
        if let Some(checked) = buf.task
            && target == own
            && placed.line.chars.is_empty()
        {
            placed.line.block = if checked {
                Block::Checked
            } else {
                Block::Check
            };
        }
        if buf.line.chars.is_empty() {
            return;
        }
        if !placed.line.chars.is_empty() {
            placed.line.push(LINE_BREAK, Inline::default());
        }
        placed.line.chars.extend(buf.line.chars);
        placed.line.inline.extend(buf.line.inline);
        placed.end = placed.end.max(buf.end);
    }

    /// An unsupported top-level block: its source lines as paragraphs (one
    /// per run of non-blank lines, line breaks kept).
    fn fallback_top(&mut self, r: Range<usize>) {
        let src = self.src(r.clone());
        let mut offset = r.start;
        let mut current: Option<Placed> = None;
        for raw in src.split_inclusive('\n') {
            let text = raw.trim();
            let line_start = offset;
            offset += raw.len();
            if text.is_empty() {
                self.out.extend(current.take());
                continue;
            }
            let end = content_end(self.md, offset);
            let placed = current.get_or_insert_with(|| Placed {
                line: Line::new(Block::Paragraph),
                start: line_start,
                end,
                gap_before: true,
            });
            if !placed.line.chars.is_empty() {
                placed.line.push(LINE_BREAK, Inline::default());
            }
            push_plain(&mut placed.line, text);
            placed.end = end;
        }
        self.out.extend(current);
    }
}

fn is_inline(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Emphasis
            | Tag::Strong
            | Tag::Link { .. }
            | Tag::Image { .. }
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
    )
}

/// The source of a block nested where the model has no place for it, as one
/// line of text: container prefixes ("> " or indentation) stripped from its
/// continuation lines, lines joined with line breaks.
fn nested_source(src: &str, in_quote: bool) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for (n, raw) in src.lines().enumerate() {
        let mut l = raw.trim();
        if n > 0 && in_quote {
            l = l.strip_prefix('>').unwrap_or(l).trim();
        }
        lines.push(l);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join(&LINE_BREAK.to_string())
}

fn push_plain(line: &mut Line, text: &str) {
    for c in text.chars() {
        let c = match c {
            '\0' => '\u{FFFD}',
            '\n' => LINE_BREAK,
            c => c,
        };
        line.push(c, Inline::default());
    }
}

/// How a character of a code block is stored: code blocks cannot hold a
/// NUL or a lone carriage return (Markdown would read a line ending), so
/// both become U+FFFD. The renderer applies the same mapping.
pub(crate) fn code_char(c: char) -> char {
    match c {
        '\0' | '\r' => '\u{FFFD}',
        c => c,
    }
}

/// Moves an end offset back over line terminators, so it points into the
/// last line of the content.
fn content_end(md: &str, end: usize) -> usize {
    let bytes = md.as_bytes();
    let mut e = end.min(bytes.len());
    while e > 0 && matches!(bytes[e - 1], b'\n' | b'\r') {
        e -= 1;
    }
    e
}

/// Counts blank lines among the complete lines of a gap: those after the
/// last non-blank line (a vanished construct such as a link reference
/// definition or a closing fence "uses up" the blank lines before it).
fn blank_run(lines: &[&str]) -> (usize, bool) {
    let mut run = 0;
    let mut saw_text = false;
    for l in lines {
        if l.trim().is_empty() {
            run += 1;
        } else {
            run = 0;
            saw_text = true;
        }
    }
    (run, saw_text)
}

/// Inserts the empty paragraphs that blank lines beyond the single
/// separator stand for (see the module docs of `note`).
fn with_blank_lines(md: &str, placed: Vec<Placed>) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::with_capacity(placed.len());
    let empties = |n: usize, lines: &mut Vec<Line>| {
        lines.extend(std::iter::repeat_n(Line::default(), n));
    };
    let Some(last_end) = placed.last().map(|p| p.end) else {
        let segs: Vec<&str> = md.split('\n').collect();
        let n = segs.len() - usize::from(segs.last().is_some_and(|s| s.is_empty()));
        let (run, _) = blank_run(&segs[..n]);
        empties(run, &mut lines);
        return lines;
    };
    let mut prev: Option<(usize, usize)> = None; // (index in lines, end offset)
    for p in placed {
        if p.gap_before {
            match prev {
                None => {
                    let gap = md.get(..p.start).unwrap_or_default();
                    let segs: Vec<&str> = gap.split('\n').collect();
                    let (run, saw_text) = blank_run(&segs[..segs.len() - 1]);
                    empties(run.saturating_sub(usize::from(saw_text)), &mut lines);
                }
                Some((idx, end)) => {
                    let gap = md.get(end..p.start).unwrap_or_default();
                    let segs: Vec<&str> = gap.split('\n').collect();
                    let inner = if segs.len() >= 2 {
                        &segs[1..segs.len() - 1]
                    } else {
                        &[][..]
                    };
                    let (run, _) = blank_run(inner);
                    let sep = usize::from(!same_group(&lines[idx], &p.line));
                    empties(run.saturating_sub(sep), &mut lines);
                }
            }
        }
        lines.push(p.line);
        prev = Some((lines.len() - 1, p.end));
    }
    let gap = md.get(last_end..).unwrap_or_default();
    let segs: Vec<&str> = gap.split('\n').collect();
    let n = segs.len() - usize::from(segs.len() > 1 && segs.last().is_some_and(|s| s.is_empty()));
    let (run, _) = blank_run(segs.get(1..n).unwrap_or_default());
    empties(run, &mut lines);
    lines
}
