//! The in-memory model between Loro and Markdown: lines with a block type and
//! per-character inline styles, and the flat per-character form that maps
//! one to one onto the Loro text.

use std::rc::Rc;

use loro::{LoroText, LoroValue, TextDelta};

/// A line break inside a block (see the module docs of `note`).
pub(crate) const LINE_BREAK: char = '\u{2028}';

/// The block type of a line (the `block` mark on its `'\n'`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Block {
    #[default]
    Paragraph,
    /// Level 1..=6.
    Heading(u8),
    Bullet,
    Ordered,
    Check,
    Checked,
    Quote,
    Code,
    /// A callout's title line (`> [!note]- Title`); its kind and fold state
    /// are the line's `callout` and `fold` marks. The paragraphs of its body
    /// are the `Quote` lines that follow it.
    Callout,
    /// One source line of Markdown the model cannot hold faithfully (an
    /// HTML block, a table, a footnote definition, a list with a code block
    /// in an item…), kept exactly as written and shown as source.
    Raw,
}

impl Block {
    /// The `block` mark value, `None` for a paragraph.
    pub(crate) fn attr(self) -> Option<&'static str> {
        Some(match self {
            Block::Paragraph => return None,
            Block::Heading(1) => "h1",
            Block::Heading(2) => "h2",
            Block::Heading(3) => "h3",
            Block::Heading(4) => "h4",
            Block::Heading(5) => "h5",
            Block::Heading(_) => "h6",
            Block::Bullet => "bullet",
            Block::Ordered => "ordered",
            Block::Check => "check",
            Block::Checked => "checked",
            Block::Quote => "quote",
            Block::Code => "code_block",
            Block::Callout => "callout",
            Block::Raw => "raw",
        })
    }

    /// Reads a `block` mark value; unknown values are paragraphs.
    pub(crate) fn from_attr(s: &str) -> Block {
        match s {
            "h1" => Block::Heading(1),
            "h2" => Block::Heading(2),
            "h3" => Block::Heading(3),
            "h4" => Block::Heading(4),
            "h5" => Block::Heading(5),
            "h6" => Block::Heading(6),
            "bullet" => Block::Bullet,
            "ordered" => Block::Ordered,
            "check" => Block::Check,
            "checked" => Block::Checked,
            "quote" => Block::Quote,
            "code_block" => Block::Code,
            "callout" => Block::Callout,
            "raw" => Block::Raw,
            _ => Block::Paragraph,
        }
    }

    pub(crate) fn is_list(self) -> bool {
        matches!(
            self,
            Block::Bullet | Block::Ordered | Block::Check | Block::Checked
        )
    }
}

/// Inline marks of one character.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Inline {
    pub(crate) bold: bool,
    pub(crate) italic: bool,
    pub(crate) code: bool,
    pub(crate) link: Option<Rc<str>>,
    /// A wikilink's target as written (`T`, `T#Heading`), without `|shown`.
    pub(crate) wikilink: Option<Rc<str>>,
    /// The wikilink is an embed (`![[T]]`).
    pub(crate) embed: bool,
    /// Markdown source kept as written (inline HTML, an image, a footnote
    /// reference): rendered verbatim, never escaped.
    pub(crate) raw: bool,
}

/// One line: its block attributes and its characters (without the `'\n'`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Line {
    pub(crate) block: Block,
    /// List nesting depth; 0 on non-list lines.
    pub(crate) indent: u8,
    /// Code block info string; empty on other lines.
    pub(crate) lang: String,
    /// A callout's kind as written (`note`, `WARNING`); empty on other lines.
    pub(crate) kind: String,
    /// A callout's fold marker: `+`, `-`, or none.
    pub(crate) fold: Option<char>,
    pub(crate) chars: Vec<char>,
    /// One entry per char.
    pub(crate) inline: Vec<Inline>,
}

impl Line {
    pub(crate) fn new(block: Block) -> Self {
        Line {
            block,
            ..Line::default()
        }
    }

    pub(crate) fn push(&mut self, c: char, inline: Inline) {
        self.chars.push(c);
        self.inline.push(inline);
    }

    pub(crate) fn is_empty_paragraph(&self) -> bool {
        self.block == Block::Paragraph && self.chars.is_empty()
    }
}

/// The style of one character of the body, with every key we manage.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct CharStyle {
    pub(crate) inline: Inline,
    pub(crate) block: Block,
    pub(crate) indent: u8,
    pub(crate) lang: Option<Rc<str>>,
    pub(crate) kind: Option<Rc<str>>,
    pub(crate) fold: Option<char>,
    /// The `src` mark: the source of the chunk of lines this '\n' ends
    /// (see `source.rs`).
    pub(crate) src: Option<Rc<str>>,
}

/// The body as characters with styles, exactly as Loro holds it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Flat {
    pub(crate) chars: Vec<char>,
    pub(crate) styles: Vec<CharStyle>,
    /// Per char: it belongs to a code block or raw line (where inline marks
    /// have no Markdown form).
    pub(crate) in_code_line: Vec<bool>,
}

/// Joins lines into the body: every line terminated by a styled `'\n'`.
pub(crate) fn flat_from_lines(lines: &[Line]) -> Flat {
    let mut flat = Flat::default();
    for line in lines {
        let code = line.block == Block::Code;
        // Inline marks mean nothing in code and raw lines.
        let no_inline = code || line.block == Block::Raw;
        for (c, inline) in line.chars.iter().zip(&line.inline) {
            flat.chars.push(*c);
            flat.styles.push(CharStyle {
                inline: inline.clone(),
                ..CharStyle::default()
            });
            flat.in_code_line.push(no_inline);
        }
        flat.chars.push('\n');
        flat.styles.push(CharStyle {
            inline: Inline::default(),
            block: line.block,
            indent: if line.block.is_list() { line.indent } else { 0 },
            lang: (code && !line.lang.is_empty()).then(|| Rc::from(line.lang.as_str())),
            kind: (line.block == Block::Callout).then(|| Rc::from(line.kind.as_str())),
            fold: line.fold.filter(|_| line.block == Block::Callout),
            src: None,
        });
        flat.in_code_line.push(no_inline);
    }
    flat
}

/// Reads the body's characters and the styles we manage from Loro.
pub(crate) fn read_flat(text: &LoroText) -> (Vec<char>, Vec<CharStyle>) {
    let mut chars = Vec::new();
    let mut styles = Vec::new();
    // Links repeat per character; share one allocation per run.
    for delta in text.to_delta() {
        let TextDelta::Insert { insert, attributes } = delta else {
            continue;
        };
        let mut style = CharStyle::default();
        for (key, value) in attributes.iter().flatten() {
            apply_attr(&mut style, key, value);
        }
        for c in insert.chars() {
            chars.push(c);
            styles.push(style.clone());
        }
    }
    (chars, styles)
}

fn apply_attr(style: &mut CharStyle, key: &str, value: &LoroValue) {
    match (key, value) {
        ("bold", LoroValue::Bool(b)) => style.inline.bold = *b,
        ("italic", LoroValue::Bool(b)) => style.inline.italic = *b,
        ("code", LoroValue::Bool(b)) => style.inline.code = *b,
        ("link", LoroValue::String(s)) => style.inline.link = Some(Rc::from(s.as_str())),
        ("wikilink", LoroValue::String(s)) => style.inline.wikilink = Some(Rc::from(s.as_str())),
        ("embed", LoroValue::Bool(b)) => style.inline.embed = *b,
        ("raw", LoroValue::Bool(b)) => style.inline.raw = *b,
        ("callout", LoroValue::String(s)) => style.kind = Some(Rc::from(s.as_str())),
        ("fold", LoroValue::String(s)) => style.fold = fold_of(s),
        ("src", LoroValue::String(s)) => style.src = Some(Rc::from(s.as_str())),
        ("block", LoroValue::String(s)) => style.block = Block::from_attr(s),
        ("indent", LoroValue::I64(n)) => {
            style.indent = u8::try_from((*n).max(0)).unwrap_or(u8::MAX)
        }
        ("lang", LoroValue::String(s)) => style.lang = Some(Rc::from(s.as_str())),
        // Other keys (a UI's underline…) and ill-typed values are not ours.
        _ => {}
    }
}

/// The fold marker a `fold` mark value stands for.
pub(crate) fn fold_of(s: &str) -> Option<char> {
    match s {
        "+" => Some('+'),
        "-" => Some('-'),
        _ => None,
    }
}

/// Splits the body into lines. Block attributes come from each line's
/// `'\n'`; text after the last `'\n'` is a paragraph line.
pub(crate) fn lines_from_text(text: &LoroText) -> Vec<Line> {
    lines_and_sources(text).0
}

/// [`lines_from_text`], with each line's `src` mark (on its `'\n'`).
pub(crate) fn lines_and_sources(text: &LoroText) -> (Vec<Line>, Vec<Option<Rc<str>>>) {
    let (chars, styles) = read_flat(text);
    let mut lines = Vec::new();
    let mut sources = Vec::new();
    let mut line = Line::default();
    for (c, style) in chars.into_iter().zip(styles) {
        if c == '\n' {
            line.block = style.block;
            line.indent = style.indent;
            line.lang = style.lang.as_deref().unwrap_or_default().to_owned();
            if line.block == Block::Callout {
                line.kind = style.kind.as_deref().unwrap_or_default().to_owned();
                line.fold = style.fold;
            }
            lines.push(std::mem::take(&mut line));
            sources.push(style.src);
        } else {
            line.push(c, style.inline);
        }
    }
    if !line.chars.is_empty() {
        lines.push(line);
        sources.push(None);
    }
    (lines, sources)
}

/// Whether two adjacent lines belong to one Markdown block group (one list,
/// one quote, one code block), which Markdown writes without a blank line
/// between them. The parser and the renderer must agree on this.
pub(crate) fn same_group(a: &Line, b: &Line) -> bool {
    (a.block.is_list() && b.block.is_list())
        || (matches!(a.block, Block::Quote | Block::Callout) && b.block == Block::Quote)
        || (a.block == Block::Raw && b.block == Block::Raw)
        || (a.block == Block::Code && b.block == Block::Code && a.lang == b.lang)
}
