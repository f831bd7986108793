//! Markdown → lines (the mapping is described in the `note` module docs).
//!
//! Never panics on any input: offsets are read with `str::get`, and every
//! event we do not model falls back to its source text. Linear: each event
//! is visited a bounded number of times (`end_of` is precomputed).

use std::ops::Range;
use std::rc::Rc;

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::model::{Block, Inline, LINE_BREAK, Line, same_group};

/// The Markdown extensions a note reads: GFM tables and task lists, footnotes
/// and wikilinks. Strikethrough stays off on purpose: `~~x~~` is then plain
/// text, which renders back unescaped and so still means strikethrough to
/// every other reader, with no mark the editor would have to support.
pub(crate) fn options() -> Options {
    Options::ENABLE_TASKLISTS
        | Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_WIKILINKS
}

/// The deepest list nesting read into the model.
const MAX_DEPTH: u8 = 32;

/// The body of a note as parsed, with where each line came from.
pub(crate) struct Body {
    pub(crate) lines: Vec<Line>,
    /// Per line, the top-level block it belongs to (blank lines belong to
    /// the block after them, trailing ones to the last block).
    pub(crate) block_of: Vec<usize>,
    /// Per top-level block, where its source ends (its last line, without
    /// the line ending).
    pub(crate) block_end: Vec<usize>,
    /// How many places were kept as source (raw blocks and raw inline spans).
    pub(crate) raw: usize,
}

/// Parses CommonMark with the extensions of [`options`] into lines.
pub(crate) fn parse(md: &str) -> Vec<Line> {
    parse_body(md).lines
}

/// [`parse`], keeping where each line came from.
pub(crate) fn parse_body(md: &str) -> Body {
    let events: Vec<(Event<'_>, Range<usize>)> =
        Parser::new_ext(md, options()).into_offset_iter().collect();
    let ends = match_ends(&events);
    let mut p = P {
        md,
        ev: &events,
        ends: &ends,
        out: Vec::new(),
        block_end: Vec::new(),
        prev_end: 0,
        lossy: false,
        raw: 0,
    };
    let mut i = 0;
    while i < events.len() {
        i = p.top(i);
    }
    p.gap(md.len());
    let (lines, block_of) = with_blank_lines(md, p.out);
    Body {
        lines,
        block_of,
        block_end: p.block_end,
        raw: p.raw,
    }
}

/// For every `Start` event the index of its `End` (other events: their own
/// index), in one pass with a stack, so finding a block's end is O(1).
fn match_ends(events: &[(Event<'_>, Range<usize>)]) -> Vec<usize> {
    let mut ends: Vec<usize> = (0..events.len()).collect();
    let mut stack = Vec::new();
    for (j, (ev, _)) in events.iter().enumerate() {
        match ev {
            Event::Start(_) => stack.push(j),
            Event::End(_) => {
                if let Some(s) = stack.pop() {
                    ends[s] = j;
                }
            }
            _ => {}
        }
    }
    // An unbalanced stream (never produced by pulldown-cmark) ends at the end.
    for s in stack {
        ends[s] = events.len().saturating_sub(1);
    }
    ends
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
    /// The top-level block it belongs to.
    block: usize,
}

/// Inline content being collected, with the marks open at this point.
#[derive(Default)]
struct Buf {
    line: Line,
    bold: u32,
    italic: u32,
    links: Vec<Target>,
    end: usize,
    task: Option<bool>,
    /// Raw inline spans pushed.
    raw: usize,
}

/// An open link: a URL, or a wikilink's target (and whether it is an embed).
enum Target {
    Url(Rc<str>),
    Wiki(Rc<str>, bool),
}

impl Buf {
    fn style(&self, code: bool) -> Inline {
        let mut inline = Inline {
            bold: self.bold > 0,
            italic: self.italic > 0,
            code,
            ..Inline::default()
        };
        for t in &self.links {
            match t {
                Target::Url(u) => inline.link = Some(u.clone()),
                Target::Wiki(w, embed) => {
                    inline.wikilink = Some(w.clone());
                    inline.embed = *embed;
                }
            }
        }
        inline
    }

    /// Source text kept verbatim (inline HTML, an image, a footnote
    /// reference). Its line breaks stay line breaks, which carry no marks.
    fn raw_text(&mut self, s: &str, end: usize) {
        let mut style = self.style(false);
        style.raw = true;
        // Indentation after a line break is the source line's, not the
        // span's: the renderer writes its own.
        let mut line_start = false;
        for c in s.chars() {
            match c {
                '\n' | LINE_BREAK => {
                    self.line.push(LINE_BREAK, Inline::default());
                    line_start = true;
                }
                '\r' => {}
                ' ' | '\t' if line_start => {}
                c => {
                    self.line.push(c, style.clone());
                    line_start = false;
                }
            }
        }
        self.end = self.end.max(end);
        self.raw += 1;
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
    ends: &'e [usize],
    out: Vec<Placed>,
    /// Per top-level block, where its source ends.
    block_end: Vec<usize>,
    /// Where the previous top-level block's source ends.
    prev_end: usize,
    /// The current top-level block has something the model cannot hold.
    lossy: bool,
    raw: usize,
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
        self.ends.get(i).copied().unwrap_or(i)
    }

    /// Parses the top-level block at `i`; returns the index after it.
    fn top(&mut self, i: usize) -> usize {
        let end = self.end_of(i);
        let r = self.range(i);
        // A block whose source lies inside the previous one's (pulldown-cmark
        // reports a footnote definition written inside another as a second
        // one over the same line) is already kept with it: a second copy would
        // be written back twice.
        if r.start < self.prev_end && text_end(self.md, r.start, r.end) <= self.prev_end {
            return end + 1;
        }
        self.gap(r.start);
        let mark = self.out.len();
        self.lossy = false;
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
            // HTML blocks, rules, tables, footnote definitions: kept as written.
            _ => self.lossy = true,
        }
        if self.lossy {
            self.out.truncate(mark);
            self.raw_block(r.start, r.end);
        } else {
            self.finish_block(mark, text_end(self.md, r.start, r.end));
        }
        self.prev_end = self.prev_end.max(r.end);
        end + 1
    }

    /// Numbers the lines pushed since `mark` as one more top-level block.
    fn finish_block(&mut self, mark: usize, end: usize) {
        let n = self.block_end.len();
        for p in &mut self.out[mark..] {
            p.block = n;
        }
        self.block_end.push(end);
    }

    /// Source between top-level blocks that no event covers (link reference
    /// definitions): kept as a raw block, so it survives an edit of the
    /// block after it.
    fn gap(&mut self, until: usize) {
        let from = self.prev_end.min(until);
        let gap = self.src(from..until);
        if gap.trim().is_empty() {
            return;
        }
        let lead = gap.len() - gap.trim_start().len();
        self.raw_block(from + lead, until);
        self.prev_end = until;
    }

    /// The source lines of `start..end` (from the start of its first line to
    /// the end of its last non-blank one) as one raw block.
    fn raw_block(&mut self, start: usize, end: usize) {
        let md = self.md;
        let start = md
            .get(..start)
            .and_then(|s| s.rfind('\n'))
            .map_or(0, |n| n + 1);
        let end = text_end(md, start, end);
        let mark = self.out.len();
        let mut offset = start;
        for (n, src) in self.src(start..end).split('\n').enumerate() {
            let mut line = Line::new(Block::Raw);
            for c in src.strip_suffix('\r').unwrap_or(src).chars() {
                line.push(c, Inline::default());
            }
            self.out.push(Placed {
                line,
                start: offset,
                end,
                gap_before: n == 0,
                block: 0,
            });
            offset += src.len() + 1;
        }
        self.raw += 1;
        self.finish_block(mark, end);
        // Whole lines are taken: a block that pulldown-cmark starts later on
        // the last of them is inside this one (see `top`).
        self.prev_end = self.prev_end.max(end);
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
        // did, the whole block is kept as source.
        self.lossy |= stop < self.end_of(i);
        self.raw += buf.raw;
        self.out.push(Placed {
            line: buf.line,
            start,
            end: buf.end,
            gap_before: true,
            block: 0,
        });
    }

    /// Consumes inline events from `i` into `buf`; returns the index of the
    /// first event that is not inline.
    fn inline(&self, mut i: usize, buf: &mut Buf) -> usize {
        while let Some((ev, r)) = self.ev.get(i) {
            match ev {
                Event::Text(s) | Event::Html(s) => buf.text(s, false, r.end),
                Event::Code(s) => buf.text(s, true, r.end),
                Event::SoftBreak | Event::HardBreak => buf.line.push(LINE_BREAK, Inline::default()),
                Event::TaskListMarker(checked) => buf.task = Some(*checked),
                Event::Start(Tag::Emphasis) => buf.italic += 1,
                Event::End(TagEnd::Emphasis) => buf.italic = buf.italic.saturating_sub(1),
                Event::Start(Tag::Strong) => buf.bold += 1,
                Event::End(TagEnd::Strong) => buf.bold = buf.bold.saturating_sub(1),
                Event::Start(Tag::Link {
                    link_type: LinkType::WikiLink { .. },
                    dest_url,
                    ..
                }) => buf
                    .links
                    .push(Target::Wiki(Rc::from(dest_url.as_ref()), false)),
                Event::Start(Tag::Image {
                    link_type: LinkType::WikiLink { .. },
                    dest_url,
                    ..
                }) => buf
                    .links
                    .push(Target::Wiki(Rc::from(dest_url.as_ref()), true)),
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
                    buf.links.push(Target::Url(Rc::from(url)));
                }
                Event::End(TagEnd::Link | TagEnd::Image) => {
                    buf.links.pop();
                }
                Event::InlineHtml(s) => buf.raw_text(s, r.end),
                // Images and inline extensions we do not model: their
                // source text, kept verbatim.
                Event::Start(
                    Tag::Image { .. } | Tag::Strikethrough | Tag::Superscript | Tag::Subscript,
                ) => {
                    buf.raw_text(self.src(r.clone()), r.end);
                    i = self.end_of(i);
                }
                Event::InlineMath(_) | Event::DisplayMath(_) | Event::FootnoteReference(_) => {
                    buf.raw_text(self.src(r.clone()), r.end);
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
        let mut first = true;
        while j < end {
            if matches!(self.ev[j].0, Event::Start(Tag::Paragraph)) {
                self.leaf(j, Block::Quote);
                if first {
                    self.callout();
                }
            } else {
                // A list, heading, code block or quote inside a quote.
                self.lossy = true;
            }
            first = false;
            j = self.end_of(j) + 1;
        }
    }

    /// Turns the quote paragraph just pushed into a callout when it starts
    /// with `[!kind]` (Obsidian): its first line is the title, the rest of
    /// the paragraph one quote line of the body.
    fn callout(&mut self) {
        let Some(placed) = self.out.last_mut() else {
            return;
        };
        let line = &mut placed.line;
        let plain = |k: usize| line.inline.get(k).is_some_and(|s| *s == Inline::default());
        if line.chars.get(..2) != Some(&['[', '!']) || !plain(0) || !plain(1) {
            return;
        }
        let kind_len = line.chars[2..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
            .count();
        let close = 2 + kind_len;
        if kind_len == 0 || line.chars.get(close) != Some(&']') || !plain(close) {
            return;
        }
        let mut at = close + 1;
        let fold = match line.chars.get(at) {
            Some(&c @ ('+' | '-')) if plain(at) => {
                at += 1;
                Some(c)
            }
            _ => None,
        };
        match line.chars.get(at) {
            None | Some(&LINE_BREAK) => {}
            Some(' ' | '\t') => {
                while matches!(line.chars.get(at), Some(' ' | '\t')) {
                    at += 1;
                }
            }
            Some(_) => return,
        }
        let kind: String = line.chars[2..close].iter().collect();
        let title_end = line.chars[at..]
            .iter()
            .position(|c| *c == LINE_BREAK)
            .map_or(line.chars.len(), |p| at + p);
        let mut body = Line::new(Block::Quote);
        if title_end < line.chars.len() {
            body.chars = line.chars.split_off(title_end + 1);
            body.inline = line.inline.split_off(title_end + 1);
        }
        line.chars.truncate(title_end);
        line.inline.truncate(title_end);
        line.chars.drain(..at);
        line.inline.drain(..at);
        line.block = Block::Callout;
        line.kind = kind;
        line.fold = fold;
        if !body.chars.is_empty() {
            let (start, end) = (placed.start, placed.end);
            self.out.push(Placed {
                line: body,
                start,
                end,
                gap_before: false,
                block: 0,
            });
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
            // An empty code block has no line to hold it: kept as source, so
            // an edit next to it cannot drop it.
            self.lossy = true;
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
                block: 0,
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
            block: 0,
        });
        // Content goes to the item's own line until a nested list has been
        // emitted; after that, to the last line, which keeps reading order.
        let mut target = own;
        let mut j = i + 1;
        let ev = self.ev;
        while j < end {
            match &ev[j].0 {
                // Nesting deeper than any outline needs is kept as source,
                // which also bounds this recursion on crafted input.
                Event::Start(Tag::List(_)) if depth >= MAX_DEPTH => {
                    self.lossy = true;
                    j = self.end_of(j) + 1;
                }
                Event::Start(Tag::List(start)) => {
                    let ordered = start.is_some();
                    self.list(j, depth.saturating_add(1), ordered);
                    target = self.out.len() - 1;
                    j = self.end_of(j) + 1;
                }
                Event::Start(Tag::Paragraph) => {
                    let mut buf = Buf::default();
                    let stop = self.inline(j + 1, &mut buf);
                    self.lossy |= stop < self.end_of(j);
                    self.append(target, own, buf);
                    j = self.end_of(j) + 1;
                }
                ev if matches!(ev, Event::Rule)
                    || matches!(ev, Event::Start(t) if !is_inline(t)) =>
                {
                    // A heading, code block, quote… inside an item.
                    self.lossy = true;
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
        self.raw += buf.raw;
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
        if !placed.line.chars.is_empty() || target != own {
            // A second paragraph in an item, or text after its nested list:
            // the model has no place for it, so the list is kept as source.
            self.lossy = true;
            return;
        }
        placed.line.chars.extend(buf.line.chars);
        placed.line.inline.extend(buf.line.inline);
        placed.end = placed.end.max(buf.end);
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

/// Where the source of `start..end` ends: the end of its last non-blank
/// line (trailing spaces of that line included, its line ending not).
pub(crate) fn text_end(md: &str, start: usize, end: usize) -> usize {
    let bytes = md.as_bytes();
    let mut e = end.min(bytes.len());
    while e > start && bytes[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    while e < bytes.len() && !matches!(bytes[e], b'\n' | b'\r') {
        e += 1;
    }
    e
}

/// Inserts the empty paragraphs that blank lines beyond the single
/// separator stand for (see the module docs of `note`), and says which
/// top-level block each line belongs to.
fn with_blank_lines(md: &str, placed: Vec<Placed>) -> (Vec<Line>, Vec<usize>) {
    let mut lines: Vec<Line> = Vec::with_capacity(placed.len());
    let mut block_of: Vec<usize> = Vec::with_capacity(placed.len());
    let empties = |n: usize, block: usize, lines: &mut Vec<Line>, block_of: &mut Vec<usize>| {
        lines.extend(std::iter::repeat_n(Line::default(), n));
        block_of.extend(std::iter::repeat_n(block, n));
    };
    let Some((last_end, last_block)) = placed.last().map(|p| (p.end, p.block)) else {
        let segs: Vec<&str> = md.split('\n').collect();
        let n = segs.len() - usize::from(segs.last().is_some_and(|s| s.is_empty()));
        let (run, _) = blank_run(&segs[..n]);
        empties(run, 0, &mut lines, &mut block_of);
        return (lines, block_of);
    };
    let mut prev: Option<(usize, usize)> = None; // (index in lines, end offset)
    for p in placed {
        if p.gap_before {
            match prev {
                None => {
                    let gap = md.get(..p.start).unwrap_or_default();
                    let segs: Vec<&str> = gap.split('\n').collect();
                    let (run, saw_text) = blank_run(&segs[..segs.len() - 1]);
                    let n = run.saturating_sub(usize::from(saw_text));
                    empties(n, p.block, &mut lines, &mut block_of);
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
                    empties(run.saturating_sub(sep), p.block, &mut lines, &mut block_of);
                }
            }
        }
        lines.push(p.line);
        block_of.push(p.block);
        prev = Some((lines.len() - 1, p.end));
    }
    let gap = md.get(last_end..).unwrap_or_default();
    let segs: Vec<&str> = gap.split('\n').collect();
    let n = segs.len() - usize::from(segs.len() > 1 && segs.last().is_some_and(|s| s.is_empty()));
    let (run, _) = blank_run(segs.get(1..n).unwrap_or_default());
    empties(run, last_block, &mut lines, &mut block_of);
    (lines, block_of)
}
