//! Keeping Markdown as it was written: each chunk of the body (one top-level
//! block and the blank lines before it) remembers its source and a
//! fingerprint of the lines it produced, in a `src` mark on its last `'\n'`.
//! Rendering emits the source of every chunk whose lines still have that
//! fingerprint and renders the rest canonically (see the `note` module docs,
//! "Source kept as written").

use std::ops::Range;
use std::rc::Rc;

use super::model::{Block, Inline, LINE_BREAK, Line};
use super::parse::Body;
use super::render::render_piece;

/// One chunk of a parsed body.
pub(crate) struct Chunk {
    /// Index of its last line (whose `'\n'` carries the `src` mark).
    pub(crate) last: usize,
    /// Its lines: `last + 1 - lines ..= last`.
    pub(crate) lines: usize,
    /// Its source in the parsed Markdown.
    pub(crate) src: Range<usize>,
}

/// Splits a parsed body into chunks. Their sources tile `0..md_len`: each
/// runs from where the previous one ended to the end of its block's last
/// line (line ending included); the last one runs to the end, so trailing
/// blank lines and a missing final newline are kept. A block that produced
/// no line (there is none in practice) shares the chunk after it.
pub(crate) fn chunks(md: &str, body: &Body) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    let mut from = 0;
    let n = body.lines.len();
    let mut i = 0;
    while i < n {
        let block = body.block_of[i];
        let first = i;
        while i < n && body.block_of[i] == block {
            i += 1;
        }
        let to = if i == n {
            md.len()
        } else {
            let end = body.block_end.get(block).copied().unwrap_or(md.len());
            md.get(end..)
                .and_then(|rest| rest.find('\n'))
                .map_or(md.len(), |k| end + k + 1)
                .max(from)
        };
        out.push(Chunk {
            last: i - 1,
            lines: i - first,
            src: from..to,
        });
        from = to;
    }
    out
}

/// The `src` mark value: the fingerprint (16 hex digits), the number of
/// lines, and the source, separated by one space each.
pub(crate) fn encode(fp: u64, lines: usize, src: &str) -> String {
    format!("{fp:016x} {lines} {src}")
}

/// Reads a `src` mark value; `None` for anything malformed.
fn decode(v: &str) -> Option<(u64, usize, &str)> {
    let (fp, rest) = v.split_once(' ')?;
    let (n, src) = rest.split_once(' ')?;
    if fp.len() != 16 {
        return None;
    }
    Some((u64::from_str_radix(fp, 16).ok()?, n.parse().ok()?, src))
}

/// 64-bit FNV-1a: simple, stable across platforms and versions.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn str(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
    }
}

/// A fingerprint of one line as the renderer reads it: block attributes,
/// characters and inline marks. Anything that could change its rendering
/// changes it.
pub(crate) fn line_hash(line: &Line) -> u64 {
    let mut h = Fnv::new();
    h.str(line.block.attr().unwrap_or("p"));
    h.bytes(&[line.indent]);
    h.str(&line.lang);
    if line.block == Block::Callout {
        h.str(&line.kind);
        h.bytes(&[line.fold.map_or(0, |c| c as u8)]);
    }
    h.bytes(&(line.chars.len() as u64).to_le_bytes());
    // Inline marks mean nothing in code and raw lines and on line breaks:
    // marks a UI left there must not make the source stale.
    let plain = Inline::default();
    let no_inline = matches!(line.block, Block::Code | Block::Raw);
    let mut prev: Option<&Inline> = None;
    for (c, inline) in line.chars.iter().zip(&line.inline) {
        h.bytes(&u32::from(*c).to_le_bytes());
        let inline = if no_inline || *c == LINE_BREAK {
            &plain
        } else {
            inline
        };
        // Marks are hashed where they change, so the cost is per run.
        if prev != Some(inline) {
            h.bytes(&[0xff]);
            h.bytes(&[u8::from(inline.bold)
                | u8::from(inline.italic) << 1
                | u8::from(inline.code) << 2
                | u8::from(inline.embed) << 3
                | u8::from(inline.raw) << 4
                | u8::from(inline.link.is_some()) << 5
                | u8::from(inline.wikilink.is_some()) << 6]);
            h.str(inline.link.as_deref().unwrap_or_default());
            h.str(inline.wikilink.as_deref().unwrap_or_default());
            prev = Some(inline);
        }
    }
    h.0
}

/// A chunk's fingerprint from its lines' hashes.
pub(crate) fn chunk_fp(hashes: &[u64]) -> u64 {
    let mut h = Fnv::new();
    h.bytes(&(hashes.len() as u64).to_le_bytes());
    for x in hashes {
        h.bytes(&x.to_le_bytes());
    }
    h.0
}

/// Renders the body: the source of every chunk whose fingerprint still
/// matches, canonical Markdown for everything else, `eol` as the line ending
/// of the canonical parts.
pub(crate) fn render_body(lines: &[Line], sources: &[Option<Rc<str>>], eol: &str) -> String {
    let hashes: Vec<u64> = lines.iter().map(line_hash).collect();
    let mut out = String::new();
    // Lines not yet written, to be rendered canonically.
    let mut pending = 0;
    // The last line written as source, the context of the canonical part.
    let mut prev: Option<usize> = None;
    // The last line with a `src` mark: a chunk never holds another's end,
    // and checking only claims past it hashes each line at most once
    // (crafted marks claiming the whole note on every line stay linear).
    let mut last_mark: Option<usize> = None;
    for (j, src) in sources.iter().enumerate().take(lines.len()) {
        let Some((fp, n, text)) = src.as_deref().and_then(decode) else {
            continue;
        };
        let after = last_mark.map_or(0, |m| m + 1);
        last_mark = Some(j);
        let Some(first) = (j + 1).checked_sub(n) else {
            continue;
        };
        if n == 0 || first < pending.max(after) || chunk_fp(&hashes[first..=j]) != fp {
            continue;
        }
        canonical(&mut out, lines, pending..first, prev, eol);
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(text);
        pending = j + 1;
        prev = Some(j);
    }
    canonical(&mut out, lines, pending..lines.len(), prev, eol);
    out
}

fn canonical(
    out: &mut String,
    lines: &[Line],
    range: Range<usize>,
    prev: Option<usize>,
    eol: &str,
) {
    if range.is_empty() {
        return;
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(eol);
    }
    let piece = render_piece(lines, range, prev);
    if eol == "\n" {
        out.push_str(&piece);
    } else {
        out.push_str(&piece.replace('\n', eol));
    }
}
