//! What the canonical rendering does next to raw blocks, which are written
//! as they were and which CommonMark may read together with what is rendered
//! around them.

use super::super::model::{Block, Inline, LINE_BREAK, Line};
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
/// closing fence goes on the block's last line, so lines stay one per line.
/// Only the canonical rendering does this: a chunk's kept source is written
/// as it was.
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
        // The block's rows as the renderer writes them (a line break is a row).
        let rows: Vec<Vec<char>> = lines[start..i]
            .iter()
            .flat_map(|l| {
                l.chars
                    .split(|&c| c == LINE_BREAK)
                    .map(<[char]>::to_vec)
                    .collect::<Vec<_>>()
            })
            .collect();
        // The fence left open at the block's end, if any.
        let mut open: Option<(char, usize)> = None;
        for r in &rows {
            match (open, fence_of(r)) {
                (None, Some(f)) => open = Some(f),
                (Some((c, n)), Some((rc, rn))) => {
                    let indent = r.iter().take_while(|&&x| x == ' ').count();
                    if rc == c && rn >= n && r[indent + rn..].iter().all(|x| x.is_whitespace()) {
                        open = None;
                    }
                }
                _ => {}
            }
        }
        if let Some((c, n)) = open
            && let Some(last) = lines.get_mut(i - 1)
        {
            last.chars.push(LINE_BREAK);
            last.inline.push(Inline::default());
            last.chars.extend(std::iter::repeat_n(c, n));
            last.inline
                .extend(std::iter::repeat_n(Inline::default(), n));
        }
    }
}
