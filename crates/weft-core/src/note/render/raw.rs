//! What the canonical rendering does next to raw blocks, which are written
//! as they were and which CommonMark may read together with what is rendered
//! around them.

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag};

use super::super::model::{Block, Inline, LINE_BREAK, Line};
use super::super::parse::options;
use super::renders_nothing;

/// The lines before which a blank line separates a list from the list of
/// another kind it follows, where a raw block is next to them.
///
/// CommonMark may read a raw block together with a list rendered next to
/// it, since blank lines do not end a list: a `1.` item rendered after a raw
/// list `1. <div>` continues that list, and a list rendered before a raw
/// `-` list, or before a raw block indented into its last item's content,
/// takes that block in. Such a list reads back as part of the raw block.
/// Two lists of different kinds are written without a blank line between
/// them, a raw block and a list with one: so the list that may be taken in
/// (the first top-level list after a raw block, the last one before it)
/// gets a blank line between it and its neighbouring list. That line reads
/// back as an empty paragraph while the list stays a list, and as the
/// separator when it joins the raw block: the rendering is the same either
/// way.
pub(super) fn list_breaks(lines: &[Line]) -> Vec<bool> {
    let mut breaks = vec![false; lines.len()];
    // The run of list lines being read follows a raw block.
    let mut after_raw = false;
    // The kind (ordered or not) of the current top-level list.
    let mut top: Option<bool> = None;
    // Where the run's first and last top-level lists of a new kind start.
    let mut first: Option<usize> = None;
    let mut last: Option<usize> = None;
    for (i, l) in lines.iter().enumerate() {
        if renders_nothing(l) || l.is_empty_paragraph() {
            continue;
        }
        if l.block.is_list() {
            let ordered = l.block == Block::Ordered;
            if l.indent == 0 {
                if top.is_some_and(|k| k != ordered) {
                    if after_raw && first.is_none() {
                        breaks[i] = true;
                    }
                    first.get_or_insert(i);
                    last = Some(i);
                }
                top = Some(ordered);
            }
            continue;
        }
        if l.block == Block::Raw
            && let Some(k) = last
        {
            breaks[k] = true;
        }
        (top, first, last) = (None, None, None);
        after_raw = l.block == Block::Raw;
    }
    breaks
}

/// A fence as CommonMark reads it on `line`: up to three spaces, then three or
/// more backticks or tildes. Returns the fence character and length.
fn fence_of(line: &[char]) -> Option<(char, usize)> {
    let indent = line.iter().take_while(|&&c| c == ' ').count();
    if indent > 3 {
        return None;
    }
    let c = *line.get(indent)?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = line[indent..].iter().take_while(|&&x| x == c).count();
    // A backtick fence's info string cannot hold a backtick (that line is
    // inline code, not a fence).
    let info_ok = c == '~' || !line[indent + n..].contains(&'`');
    (n >= 3 && info_ok).then_some((c, n))
}

/// Closes a fence that a raw block opens and does not close (an empty code
/// block kept as source, cut short by the end of its file). Written as it
/// was, such a fence would swallow every line rendered after it, which would
/// then read back as code: the rendering would not read back as the note. The
/// closing fence goes on the block's last line, so lines stay one per line,
/// indented as the opening one: a list rendered before the block may take
/// it in (see [`list_breaks`]), and the fence then still closes inside the
/// item. A fence inside a list item or quote of the block is not closed: the
/// item ends with the block. Only the canonical rendering does this: a
/// chunk's kept source is written as it was.
pub(super) fn close_raw_fences(lines: &mut [Line]) {
    let mut i = 0;
    while i < lines.len() {
        if lines[i].block != Block::Raw {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && lines[i].block == Block::Raw {
            i += 1;
        }
        let text: String = lines[start..i]
            .iter()
            .flat_map(|l| {
                l.chars
                    .iter()
                    .map(|&c| if c == LINE_BREAK { '\n' } else { c })
                    .chain(std::iter::once('\n'))
            })
            .collect();
        if let Some(fence) = open_fence(&text)
            && let Some(last) = lines.get_mut(i - 1)
        {
            last.chars.push(LINE_BREAK);
            last.inline.push(Inline::default());
            last.inline
                .extend(std::iter::repeat_n(Inline::default(), fence.len()));
            last.chars.extend(fence);
        }
    }
}

/// The closing fence of a fenced code block that `text` leaves open at its
/// top level, as the parser reads it: a paragraph written after `text` and a
/// blank line would be read as code.
fn open_fence(text: &str) -> Option<Vec<char>> {
    let probe = format!("{text}\nx\n");
    let mut depth = 0usize;
    let mut last_top = None;
    for (ev, r) in Parser::new_ext(&probe, options()).into_offset_iter() {
        match ev {
            Event::Start(tag) => {
                if depth == 0 {
                    last_top = Some((tag, r));
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let (Tag::CodeBlock(CodeBlockKind::Fenced(_)), r) = last_top? else {
        return None;
    };
    if r.end <= text.len() {
        return None;
    }
    let line_start = probe.get(..r.start)?.rfind('\n').map_or(0, |n| n + 1);
    let row: Vec<char> = probe.get(line_start..)?.lines().next()?.chars().collect();
    let (c, n) = fence_of(&row)?;
    let indent = row.iter().take_while(|&&x| x == ' ').count();
    Some(
        std::iter::repeat_n(' ', indent)
            .chain(std::iter::repeat_n(c, n))
            .collect(),
    )
}
