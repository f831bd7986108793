//! Notes: one Loro document holding rich text, and its Markdown view.
//!
//! # The document encoding (relied on by the UI and by peers in other languages)
//!
//! A note is a Loro document with three root containers:
//!
//! - a `LoroText` named **`body`** ([`BODY`]), the content;
//! - a `LoroMap` named **`props`** ([`PROPS`]), the note's properties (its
//!   frontmatter), one entry per key, so concurrent changes of different
//!   properties merge like record fields. Values are typed: text (string),
//!   number (integer or float), checkbox (bool), date (text, as written),
//!   list (a list value of scalars), empty (null);
//! - a `LoroMap` named **`markdown`** ([`MARKDOWN`]), what the Markdown view
//!   keeps besides the body: `frontmatter` (a map value: `yaml`, the block
//!   as written, fences included, and `props`, the list of `[key, value]`
//!   pairs it parsed to, absent when it is outside the YAML subset),
//!   `eol` (`"\r\n"` for a file with CRLF line endings) and `empty` (the
//!   source of a body that produced no line, such as a lone link reference
//!   definition).
//!
//! All positions are Unicode scalar values (chars), which is Loro's
//! "unicode" position type.
//!
//! ## Lines and blocks (Quill-style)
//!
//! The body is a sequence of **lines**; every line is terminated by a
//! `'\n'` character. A line's block type is a mark on its terminating `'\n'`:
//!
//! | mark key | value | meaning |
//! |---|---|---|
//! | *(no `block` mark)* | | paragraph |
//! | `block` | `"h1"` … `"h6"` | heading level 1–6 |
//! | `block` | `"bullet"` | bullet list item |
//! | `block` | `"ordered"` | numbered list item |
//! | `block` | `"check"` | task list item, not done |
//! | `block` | `"checked"` | task list item, done |
//! | `block` | `"quote"` | block quote line (one paragraph of a quote) |
//! | `block` | `"code_block"` | one line of a code block; consecutive `code_block` lines with the same `lang` form one block |
//! | `block` | `"callout"` | a callout's title line (`> [!note]- Title`); the `quote` lines right after it are its body |
//! | `block` | `"raw"` | one source line of Markdown the editor has no model for, kept as written and shown as source (an HTML block, a table, a footnote or link reference definition, a rule, a list or quote holding blocks the model cannot nest); consecutive `raw` lines form one block |
//! | `indent` | integer ≥ 1 | nesting depth of a list item (absent = 0, top level); ignored on other lines |
//! | `lang` | string | info string ("rust") of a code block line; ignored on other lines |
//! | `callout` | string | a callout's kind as written (`note`, `WARNING`); ignored on other lines |
//! | `fold` | `"+"` or `"-"` | a callout folded open or closed (absent: not foldable) |
//! | `src` | string | the Markdown source of the chunk of lines this `'\n'` ends (see "Source kept as written") |
//!
//! Unknown `block` values are read as paragraphs. Block marks on characters
//! other than `'\n'` are ignored, as are inline marks on `'\n'`.
//!
//! **Canonical form**: a non-empty body ends with `'\n'`. Concurrent edits or
//! raw [`Note::insert`] calls can leave trailing text without a terminator;
//! that text is read as one more paragraph line, and the next
//! [`Note::set_markdown`] appends the missing `'\n'`.
//!
//! An empty paragraph line (a lone `'\n'`) is a blank line the user made on
//! purpose (an empty paragraph in an editor).
//!
//! **Line breaks inside a block** (Shift+Enter; a Markdown soft or hard line
//! break) are the character U+2028 LINE SEPARATOR inside the line. They never
//! carry inline marks.
//!
//! ## Inline marks
//!
//! | key | value | expand (how typing at the boundary behaves) |
//! |---|---|---|
//! | `bold` | `true` | `after`: typing right after bold text is bold, as in every editor |
//! | `italic` | `true` | `after` |
//! | `code` | `true` | `none`: typing next to inline code is plain text — there is no other way to "leave" a code span, and a peer typing next to it should not have its text turned into code |
//! | `link` | URL string | `none`: typing at the end of a link does not extend the link (Google Docs, Notion) |
//! | `wikilink` | target string as written (`Title`, `Title#Heading`, `Title#^block`) | `none`, like `link`. The marked text is what is shown: the target itself for `[[Title]]`, the alias for `[[Title\|alias]]` |
//! | `embed` | `true` | `none`; on `wikilink` text: an embed, `![[Title]]` |
//! | `raw` | `true` | `none`: Markdown source kept as written (inline HTML, an image, a footnote reference), rendered verbatim, never escaped |
//! | `block`, `indent`, `lang`, `callout`, `fold`, `src` | see above | `none`: a new character never inherits a line's block type |
//!
//! Style configuration is not stored in the Loro document: every peer must
//! configure these expand types itself (Loro requires a key to be used with
//! one expand type everywhere). Marks with other keys (say `underline` from
//! a future UI) are kept untouched by [`Note::set_markdown`] and not
//! rendered to Markdown.
//!
//! # The Markdown view
//!
//! [`Note::from_markdown`] and [`Note::set_markdown`] parse CommonMark with
//! GFM tables and task lists, footnotes and wikilinks (one parser,
//! pulldown-cmark, `parse.rs`), plus YAML frontmatter and Obsidian callouts.
//! [`Note::to_markdown`] writes what was imported back byte for byte, and
//! canonical CommonMark for whatever changed since; [`Note::to_canonical_markdown`]
//! is the canonical rendering of the whole note.
//!
//! ## Source kept as written
//!
//! The body is cut into **chunks**: one top-level Markdown block (a
//! paragraph, a heading, a whole list, a quote, a code block, a raw block)
//! together with the blank lines before it. The chunks' sources tile the
//! file: the last one runs to its end, so trailing blank lines and a missing
//! final newline are kept. The `'\n'` ending a chunk's last line carries a
//! `src` mark, `"<fingerprint> <lines> <source>"`: 16 hex digits, the number
//! of lines in the chunk, and its source text. The fingerprint is a 64-bit
//! FNV-1a hash of the chunk's lines as the renderer reads them (block
//! attributes, characters, inline marks; marks without Markdown meaning,
//! such as inline marks in code, are left out), computed by weft-core
//! alone; other implementations never compute it, they only keep the mark
//! (or drop it, which only makes that chunk render canonically).
//!
//! Rendering walks the lines; where a `src` mark's fingerprint equals the
//! fingerprint of the lines it claims (and those lines were not written
//! yet), its source is written; every other line is rendered canonically,
//! after the preceding source as context, with the file's line ending.
//! So:
//!
//! - an unedited note exports exactly as it was imported (the corpus in
//!   `tests/corpus` and all 652 CommonMark spec examples);
//! - an edit anywhere in a chunk (text, marks, block type, a line split or
//!   joined) changes its fingerprint, so that chunk, and only it, is
//!   rendered canonically: a stale source is never written for changed
//!   content, whatever Loro merged (a concurrent restyle, two devices
//!   editing the same block, a `src` value written by a concurrent
//!   [`Note::set_markdown`], which is self-consistent as one value);
//! - [`Note::set_markdown`] (`weft edit`, import) records the source it was
//!   given for every chunk, only where it differs, so setting the same
//!   Markdown twice makes no operation.
//!
//! Why not keep the source as per-character marks (bullet character,
//! emphasis character, autolink form, escapes, blank lines)? Byte identity
//! would need every such detail (entity spelling, indentation, fence
//! lengths, lazy continuation lines, setext underlines, link reference
//! labels…) to be modelled and to merge sanely under concurrent edits; each
//! missed detail is a file that comes back different. A chunk's source plus
//! a fingerprint is exact by construction, and safe under merges because a
//! mismatch falls back to the canonical rendering. The cost: each chunk
//! stores its source once more, about +45–60% of a note's snapshot on the
//! corpus and the spec examples (the body text is stored twice, plus one
//! mark per block). An edited list is rendered canonically as a whole (it
//! is one chunk).
//!
//! ## What the editor model holds, and what stays source
//!
//! - One model line is one Markdown block: paragraph, ATX or setext
//!   heading, list item (`- `, `1. `, `- [ ] `, `- [x] `, nested by
//!   indentation), quote paragraph (`> `), callout title, or one line of a
//!   code block (fenced or indented).
//! - Frontmatter (`---` … `---` or `...` at the very start) becomes the
//!   note's properties when it is in the YAML subset vaults use
//!   (`frontmatter.rs`: scalars, flow and block lists); its YAML is written
//!   back as it was while the properties are unchanged, as clean YAML once
//!   they changed (written keys first, in their order). YAML outside the
//!   subset is kept as written and gives no properties: never lost.
//! - Everything the model cannot hold faithfully is kept as source, never
//!   rewritten: `raw` lines for blocks (HTML blocks, tables, footnote and
//!   link reference definitions, rules, empty code blocks, a list or quote
//!   holding a block the model cannot nest there: a code block or a second
//!   paragraph in an item, a list in a quote, lists nested over 32 deep),
//!   the `raw` mark for inline source. [`Note::from_markdown_report`]
//!   counts these places.
//! - `~~strikethrough~~`, `==highlight==`, `%%comments%%` and math are
//!   plain text: rendered back unescaped, they keep their meaning for every
//!   other reader.
//!
//! ## The canonical rendering (a block once edited; notes made in Weft)
//!
//! - Blocks are separated by one blank line, except consecutive list items,
//!   quote paragraphs (separated by a `>` line; a callout's title and its
//!   first body line share a paragraph) and code lines of one block.
//!   Every further blank line in the Markdown is one empty paragraph line, so
//!   `a\n\n\nb` keeps its extra blank line and a loose list `- a\n\n- b`
//!   keeps the blank line between its items. (An empty list item that would
//!   directly follow a list item's text gets a blank line before it:
//!   CommonMark cannot start a list with an empty item there. So does the
//!   first list after a raw block, or the last one before it, where it
//!   meets a list of another kind: blank lines do not end a list, so the
//!   raw block and that list may read back as one raw block, and the blank
//!   line renders the same whether they do or not.)
//! - A U+2028 line break is a Markdown line break (`a\nb` in a paragraph,
//!   an indented continuation line in a list item, `> ` in a quote); where a
//!   Markdown line would be empty, or in a heading or callout title, it is
//!   `&#x2028;`. A continuation line starting with raw source is indented
//!   four spaces, so `<div>` there cannot start an HTML block.
//! - Inline marks: `**bold**`, `*italic*` (or `_italic_` where `*` would run
//!   into a neighbouring `**`), `` `code` ``, `[text](url)`, `[[target]]`
//!   or `[[target|text]]` (`![[…]]` for an embed), raw text as is.
//! - Text is escaped so that it reads back as the same text: `*`, `_`, `` ` ``,
//!   `[`, `]`, `\` always; `<` before a letter, `/`, `!` or `?`; `&` that
//!   would start an entity; `#`, `-`, `+`, `>`, `=`, `~`, `|`, `1.` at the start
//!   of a line; `#` anywhere in a heading; leading/trailing spaces and tabs as
//!   `&#32;`/`&#9;`; a carriage return as `&#13;`. NUL becomes U+FFFD (as
//!   CommonMark demands), and so does a carriage return in code.
//! - Known canonical forms of an edited block, by design: link titles and
//!   the start number of ordered lists are not kept, bullets are `-`,
//!   autolinks become `[url](url)`, adjacent code blocks with the same
//!   language merge, empty quote lines vanish, list nesting deeper than one
//!   level below the previous item is reduced, bold/italic on whitespace at
//!   the edge of a span moves outside it, and bold/italic that CommonMark
//!   cannot express at that spot (for example `a**(b)**`: every rendered
//!   line is parsed back, and when it does not read back as intended the
//!   line's bold/italic is dropped rather than mis-rendered) is dropped; a
//!   wikilink whose target holds `|` or `]]` is written as text; a list
//!   written next to a raw list of its kind (or before a raw block indented
//!   into its last item) reads back as part of that raw block.
//!   `to_markdown` never loses characters.
//!
//! The canonical rendering is idempotent: rendering the parse of a
//! rendering gives the same text.

mod diff;
mod frontmatter;
mod model;
mod parse;
mod props;
mod render;
mod source;

use std::collections::HashMap;
use std::fmt;

use loro::{ExpandType, ExportMode, LoroDoc, LoroText, PeerID, StyleConfig, StyleConfigMap};

use crate::guard::{self, Panicked};

/// Name of the root `LoroText` container holding a note's body.
pub const BODY: &str = "body";

/// Name of the root `LoroMap` holding a note's properties (frontmatter).
pub const PROPS: &str = "props";

/// Name of the root `LoroMap` holding what the Markdown view needs besides
/// the body: the frontmatter as written, the line ending, a body's source
/// when it has no line.
pub const MARKDOWN: &str = "markdown";

/// Mark keys and their expand behaviour (see the module docs).
const STYLES: [(&str, ExpandType); 13] = [
    ("bold", ExpandType::After),
    ("italic", ExpandType::After),
    ("code", ExpandType::None),
    ("link", ExpandType::None),
    ("wikilink", ExpandType::None),
    ("embed", ExpandType::None),
    ("raw", ExpandType::None),
    ("block", ExpandType::None),
    ("indent", ExpandType::None),
    ("lang", ExpandType::None),
    ("callout", ExpandType::None),
    ("fold", ExpandType::None),
    ("src", ExpandType::None),
];

/// Why a note operation failed.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum NoteError {
    /// Loro rejected bytes given to [`Note::load`] or [`Note::import`].
    #[error("cannot import note data: {0}")]
    Import(String),
    /// Loro panicked while importing; drop this `Note` and reload it.
    #[error(transparent)]
    Panicked(#[from] Panicked),
    /// Loro could not encode the note (never expected).
    #[error("cannot encode the note: {0}")]
    Export(String),
    /// A raw edit addressed characters past the end of the body.
    #[error("position {pos} is out of range for a body of {len} characters")]
    OutOfRange {
        /// The first character position that does not exist.
        pos: usize,
        /// The body's length in characters.
        len: usize,
    },
    /// Loro refused a local edit (never expected: positions are checked first).
    #[error("Loro refused a local edit: {0}")]
    Edit(#[source] loro::LoroError),
}

/// What a [`Note::set_markdown`] changed, in characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EditSummary {
    /// Characters inserted.
    pub inserted: usize,
    /// Characters deleted.
    pub deleted: usize,
    /// Characters that were kept but changed style (bold, link, block type…).
    pub restyled: usize,
}

impl EditSummary {
    /// True when the edit changed nothing.
    pub fn is_empty(&self) -> bool {
        self.inserted == 0 && self.deleted == 0 && self.restyled == 0
    }
}

impl fmt::Display for EditSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{} \u{2212}{} chars", self.inserted, self.deleted)?;
        if self.restyled > 0 {
            write!(f, ", {} restyled", self.restyled)?;
        }
        Ok(())
    }
}

/// What reading Markdown into a note found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarkdownReport {
    /// Places kept as their Markdown source because the editor's model has
    /// no faithful form for them: raw blocks (HTML, tables, footnote
    /// definitions, a list with a code block in an item…), raw inline spans
    /// (inline HTML, images, footnote references) and frontmatter outside
    /// the YAML subset properties are read from.
    pub kept_as_source: usize,
}

/// A note: a Loro document with one rich-text body.
///
/// Each `Note` value gets a fresh random Loro peer id, also when loaded from
/// bytes. Reusing a peer id across sessions would be unsafe: two processes
/// of one device may edit the same note concurrently, and Loro requires
/// every (peer, counter) pair to name one operation.
pub struct Note {
    doc: LoroDoc,
    /// The local peer's op counter already returned by `commit_pending`.
    exported_peer: PeerID,
    exported_end: i32,
    /// Editor replicas whose operations this note commits as its own (see
    /// [`Note::import_local`]): each peer's op counter already returned by
    /// `commit_pending`.
    adopted: HashMap<PeerID, i32>,
}

impl fmt::Debug for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Note")
            .field("peer", &self.doc.peer_id())
            .field("chars", &self.text().len_unicode())
            .finish()
    }
}

impl Default for Note {
    fn default() -> Self {
        Self::new()
    }
}

impl Note {
    /// An empty note with a random Loro peer id.
    pub fn new() -> Self {
        let doc = LoroDoc::new();
        let mut styles = StyleConfigMap::new();
        for (key, expand) in STYLES {
            styles.insert(key.into(), StyleConfig { expand });
        }
        doc.config_text_style(styles);
        let exported_peer = doc.peer_id();
        Note {
            doc,
            exported_peer,
            exported_end: 0,
            adopted: HashMap::new(),
        }
    }

    /// A new note whose content is `md` (see the module docs for the mapping).
    pub fn from_markdown(md: &str) -> Self {
        let mut note = Note::new();
        note.set_markdown(md);
        // Creating the content is a local change like any other: the caller
        // seals it with `commit_pending`.
        note
    }

    /// A note built from stored or received bytes: snapshots and/or updates,
    /// in any order. Updates whose dependencies are missing stay pending
    /// inside Loro and apply once the dependencies arrive.
    pub fn load(snapshot_or_updates: &[&[u8]]) -> Result<Self, NoteError> {
        let mut note = Note::new();
        for bytes in snapshot_or_updates {
            note.import(bytes)?;
        }
        Ok(note)
    }

    /// Applies a foreign snapshot or update.
    ///
    /// Foreign operations are never returned by [`Note::commit_pending`].
    /// After `Err(NoteError::Panicked)` the document may be half-updated:
    /// drop this `Note` and reload it.
    pub fn import(&mut self, bytes: &[u8]) -> Result<(), NoteError> {
        let doc = &self.doc;
        guard::guarded("Loro", "importing a note update", || doc.import(bytes))?
            .map(|_status| ())
            .map_err(|e| NoteError::Import(e.to_string()))
    }

    /// True while some imported updates wait for a predecessor that has not
    /// arrived (sync delivers each device's changes in order, but not in
    /// causal order across devices). Loro keeps them and applies them once
    /// the predecessor comes, but a snapshot omits them, so a snapshot taken
    /// now would lose them: callers skip snapshotting until this is false.
    pub fn has_pending(&self) -> bool {
        // An encoding failure is treated as "pending": skipping a snapshot
        // (a cache) is always safe, losing updates is not.
        self.doc
            .export_pending_updates()
            .map(|p| p.is_some())
            .unwrap_or(true)
    }

    /// The full state and history, for storage as a snapshot.
    ///
    /// Should Loro fail to encode a snapshot, this falls back to all updates
    /// (which [`Note::load`] reads the same way); if both fail it is an
    /// error, never empty bytes: a stored snapshot claims to hold every
    /// change it covers.
    pub fn export_snapshot(&self) -> Result<Vec<u8>, NoteError> {
        self.doc
            .export(ExportMode::Snapshot)
            .or_else(|_| self.doc.export(ExportMode::all_updates()))
            .map_err(|e| NoteError::Export(e.to_string()))
    }

    /// Checks that `bytes` are a Loro update or snapshot this version can
    /// read (header and checksum), without a document to apply them to:
    /// what a change received from a peer is held to before it is stored
    /// as readable. Import can still refuse bytes that pass.
    pub fn check(bytes: &[u8]) -> Result<(), NoteError> {
        check_loro(bytes).map_err(NoteError::Import)
    }

    /// Commits local edits and returns the Loro update bytes of every local
    /// operation since the previous call (`None` if there were none). One
    /// call's bytes are one sealed change.
    ///
    /// Only operations of this note's own peer are included, never imported
    /// ones. If Loro fails to encode (not expected), returns `None` and keeps
    /// the operations for the next call.
    pub fn commit_pending(&mut self) -> Option<Vec<u8>> {
        self.doc.commit();
        let peer = self.doc.peer_id();
        if peer != self.exported_peer {
            // Loro only changes the peer id on request; we never ask, but a
            // new peer id must start exporting from its first operation.
            self.exported_peer = peer;
            self.exported_end = 0;
        }
        let vv = self.doc.oplog_vv();
        let end = vv.get(&peer).copied().unwrap_or(0);
        let adopted_new = self
            .adopted
            .iter()
            .any(|(p, done)| vv.get(p).copied().unwrap_or(0) > *done);
        if end <= self.exported_end && !adopted_new {
            return None;
        }
        // Everyone else's operations count as "already known", so the export
        // holds exactly our own new ones (and the adopted editors').
        let mut from = vv.clone();
        from.insert(peer, self.exported_end);
        for (p, done) in &self.adopted {
            from.insert(*p, *done);
        }
        let bytes = self.doc.export(ExportMode::updates_owned(from)).ok()?;
        self.exported_end = end;
        for (p, done) in &mut self.adopted {
            *done = vv.get(p).copied().unwrap_or(*done);
        }
        Some(bytes)
    }

    /// Applies an update made by an editor replica of this note on this
    /// device (the desktop app's editor keeps its own Loro document, with
    /// its own peer id, and hands over its new operations). Unlike
    /// [`Note::import`], the operations become local ones: the next
    /// [`Note::commit_pending`] returns them, so they are sealed and synced
    /// as this device's change.
    ///
    /// Every peer whose operations the update adds is adopted. An editor
    /// peer is random per opened editor, so no other device ever sends its
    /// operations. An update that needs operations this note lacks is
    /// refused (the editor only builds on what it was given).
    pub fn import_local(&mut self, bytes: &[u8]) -> Result<(), NoteError> {
        let before = self.doc.oplog_vv();
        let doc = &self.doc;
        let status = guard::guarded("Loro", "importing an editor update", || doc.import(bytes))?
            .map_err(|e| NoteError::Import(e.to_string()))?;
        if status.pending.is_some() {
            return Err(NoteError::Import(
                "the editor's change builds on operations this device does not hold".into(),
            ));
        }
        let own = self.doc.peer_id();
        for (p, end) in self.doc.oplog_vv().iter() {
            let was = before.get(p).copied().unwrap_or(0);
            if *end > was && *p != own {
                self.adopted.entry(*p).or_insert(was);
            }
        }
        Ok(())
    }

    /// Loro updates holding every operation this note has that a replica
    /// at `version` (an encoded version vector, from the editor's
    /// `oplogVersion().encode()`) lacks.
    pub fn updates_since(&self, version: &[u8]) -> Result<Vec<u8>, NoteError> {
        let vv = loro::VersionVector::decode(version)
            .map_err(|e| NoteError::Import(format!("not a version vector: {e}")))?;
        self.doc
            .export(ExportMode::updates_owned(vv))
            .map_err(|e| NoteError::Import(e.to_string()))
    }

    /// The note as Markdown: what was written for every part nobody changed
    /// since, canonical CommonMark for the rest (see the module docs).
    pub fn to_markdown(&self) -> String {
        let (lines, sources) = model::lines_and_sources(&self.text());
        let meta = self.doc.get_map(MARKDOWN);
        let eol = props::meta_string(&meta, "eol").unwrap_or_else(|| "\n".into());
        let mut out = props::frontmatter(&self.doc, &eol);
        if lines.is_empty() {
            out.push_str(&props::meta_string(&meta, "empty").unwrap_or_default());
            return out;
        }
        out.push_str(&source::render_body(&lines, &sources, &eol));
        out
    }

    /// The note as canonical CommonMark, ignoring the source kept from the
    /// Markdown it was made from: frontmatter from the properties, then the
    /// body as Weft writes it.
    pub fn to_canonical_markdown(&self) -> String {
        let mut out = props::clean_frontmatter(&self.doc, "\n");
        out.push_str(&render::render(&model::lines_from_text(&self.text())));
        out
    }

    /// The note's properties (its frontmatter), by key.
    pub fn props(&self) -> Vec<(String, loro::LoroValue)> {
        props::current(&self.doc)
    }

    /// The raw body text, including line terminators and U+2028 line breaks.
    pub fn plain_text(&self) -> String {
        self.text().to_string()
    }

    /// Makes the note's content equal to `md` with the smallest edit: the
    /// text changes are a character diff, styles change only where they
    /// differ. Concurrent edits elsewhere in the note therefore merge
    /// character by character. Afterwards `to_markdown()` equals the
    /// canonical rendering of `md`.
    ///
    /// Loro refusing one of the computed edits would be a bug here; this
    /// method then stops and reports what it did so far (debug builds panic).
    /// Use [`Note::try_set_markdown`] to see such an error.
    pub fn set_markdown(&mut self, md: &str) -> EditSummary {
        let result = self.try_set_markdown(md);
        debug_assert!(result.is_ok(), "set_markdown: {result:?}");
        result.unwrap_or_else(|(_, partial)| partial)
    }

    /// [`Note::set_markdown`], reporting a refused edit together with the
    /// summary of what was applied before it.
    pub fn try_set_markdown(&mut self, md: &str) -> Result<EditSummary, (NoteError, EditSummary)> {
        self.apply_markdown(md).map(|(summary, _)| summary)
    }

    /// A new note whose content is `md`, and how much of it is kept as
    /// source because the editor has no model for it.
    pub fn from_markdown_report(md: &str) -> (Self, MarkdownReport) {
        let mut note = Note::new();
        let result = note.apply_markdown(md);
        debug_assert!(result.is_ok(), "from_markdown: {:?}", result.as_ref().err());
        let report = result.map(|(_, r)| r).unwrap_or_default();
        (note, report)
    }

    fn apply_markdown(
        &mut self,
        md: &str,
    ) -> Result<(EditSummary, MarkdownReport), (NoteError, EditSummary)> {
        let (front, body_md) = frontmatter::split(md);
        let body = parse::parse_body(body_md);
        let text = self.text();
        let target = model::flat_from_lines(&body.lines);
        let summary =
            diff::apply(&text, &target).map_err(|(e, partial)| (NoteError::Edit(e), partial))?;
        let fail = |e| (NoteError::Edit(e), summary);
        // Fingerprints are taken from the body as stored, which is what
        // rendering reads (marks the diff leaves alone included).
        let stored = model::lines_from_text(&text);
        let hashes: Vec<u64> = stored.iter().map(source::line_hash).collect();
        let mut want: Vec<Option<String>> = vec![None; stored.len()];
        for c in source::chunks(body_md, &body) {
            let (Some(first), Some(src)) = (
                (c.last + 1).checked_sub(c.lines),
                body_md.get(c.src.clone()),
            ) else {
                continue;
            };
            if let (Some(slot), Some(h)) = (want.get_mut(c.last), hashes.get(first..=c.last)) {
                *slot = Some(source::encode(source::chunk_fp(h), c.lines, src));
            }
        }
        diff::mark_sources(&text, &want).map_err(fail)?;
        let eol = if md.find('\n').is_some_and(|i| md[..i].ends_with('\r')) {
            Some("\r\n")
        } else {
            None
        };
        let empty = (body.lines.is_empty() && !body_md.is_empty()).then_some(body_md);
        let raw_front = front.as_ref().is_some_and(|f| f.props.is_none());
        props::store(&self.doc, front.as_ref(), eol, empty).map_err(fail)?;
        let report = MarkdownReport {
            kept_as_source: body.raw + usize::from(raw_front),
        };
        Ok((summary, report))
    }

    /// The underlying Loro document.
    pub fn doc(&self) -> &LoroDoc {
        &self.doc
    }

    /// The body container.
    pub fn text(&self) -> LoroText {
        self.doc.get_text(BODY)
    }

    /// Inserts `s` at char position `pos_chars`.
    pub fn insert(&mut self, pos_chars: usize, s: &str) -> Result<(), NoteError> {
        let text = self.text();
        let len = text.len_unicode();
        if pos_chars > len {
            return Err(NoteError::OutOfRange {
                pos: pos_chars,
                len,
            });
        }
        text.insert(pos_chars, s).map_err(NoteError::Edit)
    }

    /// Deletes `len_chars` chars starting at char position `pos_chars`.
    pub fn delete(&mut self, pos_chars: usize, len_chars: usize) -> Result<(), NoteError> {
        let text = self.text();
        let len = text.len_unicode();
        match pos_chars.checked_add(len_chars) {
            Some(end) if end <= len => text.delete(pos_chars, len_chars).map_err(NoteError::Edit),
            _ => Err(NoteError::OutOfRange {
                pos: pos_chars.saturating_add(len_chars),
                len,
            }),
        }
    }

    /// The encoded Loro version vector of everything this note has seen.
    pub fn version_bytes(&self) -> Vec<u8> {
        self.doc.oplog_vv().encode()
    }
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

/// The check [`Note::check`] and [`crate::index::Index::check`] share:
/// Loro's blob header and checksum, read without applying anything.
pub(crate) fn check_loro(bytes: &[u8]) -> Result<(), String> {
    match guard::guarded("Loro", "reading an update's header", || {
        LoroDoc::decode_import_blob_meta(bytes, true)
    }) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(p.to_string()),
    }
}
