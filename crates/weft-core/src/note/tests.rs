//! Unit tests of the Markdown mapping (merge and storage behaviour is tested
//! in tests/core/note.rs).

use std::rc::Rc;

use loro::{LoroValue, TextDelta};
use proptest::prelude::*;

use super::model::{Block, Inline, LINE_BREAK, Line};
use super::*;

/// The canonical rendering of what `md` reads as (ignoring the kept source).
fn canon(md: &str) -> String {
    Note::from_markdown(md).to_canonical_markdown()
}

/// (text, attributes) of each run of the body, attributes sorted by key.
fn runs(note: &Note) -> Vec<(String, Vec<(String, LoroValue)>)> {
    note.text()
        .to_delta()
        .into_iter()
        .filter_map(|d| match d {
            TextDelta::Insert { insert, attributes } => {
                // The kept source (`src`) is checked on its own.
                let mut attrs: Vec<(String, LoroValue)> = attributes
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| k != "src")
                    .collect();
                attrs.sort_by(|a, b| a.0.cmp(&b.0));
                Some((insert, attrs))
            }
            _ => None,
        })
        .collect()
}

fn attr(key: &str, value: impl Into<LoroValue>) -> (String, LoroValue) {
    (key.to_owned(), value.into())
}

#[test]
fn odd_sources_found_by_the_property_tests_round_trip_and_render_stably() {
    // A footnote definition written inside another is one line, kept once.
    for md in ["[^1]: [^1]: ", "a\n[^1]: [^1]: ", "[^1]: [^1]: \n"] {
        let note = Note::from_markdown(md);
        assert_eq!(note.to_markdown(), md);
        assert_eq!(note.text().to_string().matches("[^1]").count(), 2, "{md:?}");
    }
    // An empty fence cut short by the end of the file, kept as source: its
    // canonical rendering closes it, so lines after it do not turn to code.
    for md in ["a\r\n```\n ", "---\r\n```\r\n ", "- > **\r\n```#`a\n "] {
        let once = canon(md);
        assert_eq!(canon(&once), once, "{md:?}");
        assert_eq!(Note::from_markdown(md).to_markdown(), md);
    }
    for (md, want) in [
        // A fence left open inside a list item closes with the item: a
        // closing fence written after it would open a code block instead.
        // One that the list rendered before it takes in still closes,
        // indented as it was opened.
        ("- #\n  ```\na", "- #\n  ```\n\na\n"),
        ("-  a\n\n  ```", "- a\n\n  ```\n  ```\n"),
        // A list next to a list kept as source, of another kind than the
        // list it follows or precedes: rendered canonically, the raw list
        // continues it (`1. #` then `1.`) or it continues into the raw list
        // (`-` then `- ```` once `*` became `-`). A blank line between the
        // two kinds of list keeps the rendering the same whether it is taken
        // in or not.
        ("*\r\n1. <div>\n2) \r\n- a", "-\n\n1. <div>\n\n1.\n\n- a\n"),
        ("1. \n* -\n- ```", "1.\n\n-\n  -\n\n- ```\n"),
        ("1. #\n2) \n*", "1. #\n\n1.\n\n-\n"),
        ("- #\n*\n1. ", "- #\n\n-\n\n1.\n"),
        // Taken in by indentation: the blank lines are already there.
        ("-  a\n\n  <div>", "- a\n\n  <div>\n"),
        ("1.  a\n\n   <div>", "1. a\n\n   <div>\n"),
    ] {
        let once = canon(md);
        assert_eq!(once, want, "{md:?}");
        assert_eq!(canon(&once), once, "{md:?}");
        assert_eq!(Note::from_markdown(md).to_markdown(), md);
    }
    // Lists away from raw blocks keep no blank line between kinds.
    assert_eq!(canon("- a\n1. b\n"), "- a\n1. b\n");
}

#[test]
fn canonical_markdown_reads_back_unchanged() {
    let cases = [
        "# Title\n\nSome *italic*, **bold**, `code` and [a link](https://example.com/a?b=1&c=2).\n",
        "## Two\n\n### Three\n\n#### Four\n\n##### Five\n\n###### Six\n",
        "- one\n- two\n  - nested\n    1. deep\n    2. deeper\n- three\n",
        "1. first\n2. second\n3. third\n",
        "- [ ] to do\n- [x] done\n  - [ ] nested task\n",
        "> quoted\n>\n> second paragraph\n",
        "```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n",
        "```\nno language\n\n  indented line\n```\n",
        "first\n\n\nafter an empty paragraph\n",
        "line one\nline two in the same paragraph\n",
        "- item\n  continued in the item\n",
        "Stars \\* under\\_scores \\[brackets\\] back\\`ticks\\` back\\\\slash # mid-line hash\n",
        "\\# not a heading\n\n\\- not a list\n\n1\\. not ordered\n\n\\> not a quote\n",
        "héllo 日本語 😀 **粗体** *é*\n",
        "**bold *both* bold** and ***all***\n",
        "[**bold link** and `code`](https://x.org/\\(p\\)) after\n",
        "[spaced](<https://x.org/a b>)\n",
        "````\n```\ninner fence\n```\n````\n",
        "``a`b`` and `` `x` ``\n",
        "&#32;leading space and trailing&#32;\n",
        "-\n- [ ]\n",
        "- loose\n\n- list keeps its blank line\n",
    ];
    for md in cases {
        assert_eq!(canon(md), md, "canonical markdown must be a fixed point");
    }
}

#[test]
fn non_canonical_markdown_is_normalised() {
    let cases = [
        ("Title\n=====\n", "# Title\n"),
        ("* a\n+ b\n", "- a\n- b\n"),
        ("3. a\n4. b\n", "1. a\n2. b\n"),
        ("    indented code\n", "```\nindented code\n```\n"),
        ("a  \nb\\\nc\n", "a\nb\nc\n"),
        ("   indented paragraph\n", "indented paragraph\n"),
        (
            "<https://auto.link>\n",
            "[https://auto.link](https://auto.link)\n",
        ),
        ("<me@x.org>\n", "[me@x.org](mailto:me@x.org)\n"),
        // The definition is kept, as a raw block.
        ("[ref]\n\n[ref]: /url\n", "[ref](/url)\n\n[ref]: /url\n"),
        ("** not bold**\n", "\\*\\* not bold\\*\\*\n"),
        // An empty code block is kept, as a raw block.
        ("```\n```\n", "```\n```\n"),
        ("", ""),
    ];
    for (md, want) in cases {
        assert_eq!(canon(md), want, "from {md:?}");
        // What was written is what an unedited note exports.
        assert_eq!(Note::from_markdown(md).to_markdown(), md);
    }
}

#[test]
fn blocks_and_marks_are_stored_as_documented() {
    let note = Note::from_markdown(
        "# T\n\n- a\n  1. b\n- [ ] c\n- [x] d\n\n> q\n\n```py\nx\n```\n\n**B** *I* `C` [L](u)\n",
    );
    assert_eq!(note.plain_text(), "T\na\nb\nc\nd\nq\nx\nB I C L\n");
    let nl = |attrs: Vec<(String, LoroValue)>| ("\n".to_owned(), attrs);
    assert_eq!(
        runs(&note),
        vec![
            ("T".to_owned(), vec![]),
            nl(vec![attr("block", "h1")]),
            ("a".to_owned(), vec![]),
            nl(vec![attr("block", "bullet")]),
            ("b".to_owned(), vec![]),
            nl(vec![attr("block", "ordered"), attr("indent", 1i64)]),
            ("c".to_owned(), vec![]),
            nl(vec![attr("block", "check")]),
            ("d".to_owned(), vec![]),
            nl(vec![attr("block", "checked")]),
            ("q".to_owned(), vec![]),
            nl(vec![attr("block", "quote")]),
            ("x".to_owned(), vec![]),
            nl(vec![attr("block", "code_block"), attr("lang", "py")]),
            ("B".to_owned(), vec![attr("bold", true)]),
            (" ".to_owned(), vec![]),
            ("I".to_owned(), vec![attr("italic", true)]),
            (" ".to_owned(), vec![]),
            ("C".to_owned(), vec![attr("code", true)]),
            (" ".to_owned(), vec![]),
            ("L".to_owned(), vec![attr("link", "u")]),
            ("\n".to_owned(), vec![]),
        ]
    );
}

#[test]
fn line_breaks_inside_a_block_are_u2028() {
    let note = Note::from_markdown("one\ntwo\n\n# a\n");
    assert_eq!(note.plain_text(), "one\u{2028}two\na\n");
    // A heading cannot hold a Markdown line break: it keeps it as an entity.
    let mut h = Note::new();
    h.insert(0, "a\u{2028}b\n").unwrap();
    h.text().mark(3..4, "block", "h2").unwrap();
    assert_eq!(h.to_markdown(), "## a&#x2028;b\n");
    assert_eq!(
        Note::from_markdown(&h.to_markdown()).plain_text(),
        "a\u{2028}b\n"
    );
}

#[test]
fn unsupported_constructs_keep_their_source_text() {
    let md = "<div>\nhtml\n</div>\n\n---\n\n| a | b |\n|---|---|\n\n![alt](pic.png) and <b>tag</b>\n\n- item\n\n  ```\n  code in item\n  ```\n\n> - list in quote\n";
    let note = Note::from_markdown(md);
    let text = note.plain_text();
    for kept in [
        "<div>",
        "</div>",
        "---",
        "| a | b |",
        "![alt](pic.png)",
        "<b>tag</b>",
        "code in item",
        "- list in quote",
    ] {
        assert!(text.contains(kept), "{kept:?} missing from {text:?}");
    }
    let md1 = note.to_markdown();
    assert_eq!(canon(&md1), md1);
    assert_eq!(
        Note::from_markdown(&md1).plain_text(),
        text,
        "kept as text, escaped"
    );
}

#[test]
fn special_characters_in_text_round_trip() {
    let texts = [
        "* not a list",
        "# not a heading",
        "1. not a list",
        "2) nor this",
        "> nor a quote",
        "---",
        "===",
        "~~~",
        "+ plus",
        "a_b_c *d* `e` [f](g) \\ h",
        "<div> <http://x> &amp; &#35; R&D x < y",
        "  two leading spaces, trailing tab\t",
        "tab\tinside",
        "ends with a backslash \\",
        "    four spaces",
        "#",
        "!",
        "carriage\rreturn",
    ];
    for t in texts {
        let mut note = Note::new();
        note.insert(0, &format!("{t}\n")).unwrap();
        let md = note.to_markdown();
        assert_eq!(
            Note::from_markdown(&md).plain_text(),
            format!("{t}\n"),
            "via {md:?}"
        );
    }
}

#[test]
fn emphasis_commonmark_cannot_express_is_dropped_not_garbled() {
    let mut note = Note::new();
    note.insert(0, "a(b)c and keep\n").unwrap();
    note.text().mark(1..4, "bold", true).unwrap();
    let md = note.to_markdown();
    assert_eq!(Note::from_markdown(&md).plain_text(), "a(b)c and keep\n");
    assert_eq!(canon(&md), md);
}

#[test]
fn whitespace_at_the_edge_of_bold_moves_outside() {
    let mut note = Note::new();
    note.insert(0, "a bold b\n").unwrap();
    note.text().mark(1..7, "bold", true).unwrap(); // " bold "
    assert_eq!(note.to_markdown(), "a **bold** b\n");
}

#[test]
fn text_after_the_last_newline_is_a_paragraph() {
    let mut note = Note::new();
    note.insert(0, "h\nloose").unwrap();
    note.text().mark(1..2, "block", "h1").unwrap();
    assert_eq!(note.to_markdown(), "# h\n\nloose\n");
    let s = note.set_markdown("# h\n\nloose\n");
    assert_eq!(
        (s.inserted, s.deleted),
        (1, 0),
        "only the missing terminator"
    );
    assert_eq!(note.plain_text(), "h\nloose\n");
}

#[test]
fn marks_where_markdown_has_no_place_are_ignored_and_kept() {
    let mut note = Note::from_markdown("para\n\n```\ncode\n```\n");
    // Bold on a '\n', a block mark on a letter, bold inside a code block.
    note.text().mark(4..5, "bold", true).unwrap();
    note.text().mark(0..1, "block", "h1").unwrap();
    note.text().mark(5..9, "bold", true).unwrap();
    note.commit_pending();
    let md = note.to_markdown();
    assert_eq!(md, "para\n\n```\ncode\n```\n");
    assert!(note.set_markdown(&md).is_empty());
    assert_eq!(note.commit_pending(), None);
}

#[test]
fn edit_summary_display() {
    let s = EditSummary {
        inserted: 12,
        deleted: 3,
        restyled: 0,
    };
    assert_eq!(s.to_string(), "+12 \u{2212}3 chars");
    let s = EditSummary { restyled: 4, ..s };
    assert_eq!(s.to_string(), "+12 \u{2212}3 chars, 4 restyled");
}

// ---------------------------------------------------------------------------
// Property: rendering is idempotent on arbitrary notes.

fn block() -> impl Strategy<Value = Block> {
    prop_oneof![
        3 => Just(Block::Paragraph),
        1 => (1u8..=6).prop_map(Block::Heading),
        1 => Just(Block::Bullet),
        1 => Just(Block::Ordered),
        1 => Just(Block::Check),
        1 => Just(Block::Checked),
        1 => Just(Block::Quote),
        1 => Just(Block::Code),
    ]
}

const ALPHABET: &[char] = &[
    'a', 'b', 'Z', '1', '9', ' ', ' ', ' ', '\t', '*', '#', '_', '[', ']', '`', '\\', '<', '>',
    '&', ';', '!', '(', ')', '-', '+', '=', '.', '~', '|', ':', '/', 'é', '日', '😀', '\u{a0}',
    LINE_BREAK, '\r', '\0', '"',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..10)
        .prop_map(|v| v.into_iter().collect())
}

fn style() -> impl Strategy<Value = Inline> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::option::weighted(
            0.2,
            prop::sample::select(vec!["https://a.b/c", "u (x)", "", "a b", "&amp;"]),
        ),
        prop::option::weighted(
            0.1,
            (prop::sample::select(vec!["T", "a b#H", "é"]), any::<bool>()),
        ),
    )
        .prop_map(|(bold, italic, code, link, wiki)| Inline {
            bold,
            italic,
            code,
            // A wikilink inside a link has no Markdown form.
            link: link.filter(|_| wiki.is_none()).map(Rc::from),
            wikilink: wiki.map(|(t, _)| Rc::from(t)),
            embed: wiki.is_some_and(|(_, e)| e),
            raw: false,
        })
}

fn line() -> impl Strategy<Value = Line> {
    (
        block(),
        0u8..4,
        prop::sample::select(vec!["", "rust", "a b", "x`y", "c&amp;"]),
        prop::collection::vec((text(), style()), 0..4),
    )
        .prop_map(|(block, indent, lang, runs)| {
            let mut line = Line::new(block);
            line.indent = indent;
            line.lang = lang.to_owned();
            for (t, s) in runs {
                for c in t.chars() {
                    line.push(c, s.clone());
                }
            }
            line
        })
}

/// A raw mark anywhere (on '\n', spanning lines…), as a UI or peer might make.
fn raw_mark() -> impl Strategy<Value = (usize, usize, &'static str, LoroValue)> {
    (
        0usize..200,
        1usize..20,
        prop_oneof![
            Just(("bold", LoroValue::Bool(true))),
            Just(("italic", LoroValue::Bool(true))),
            Just(("code", LoroValue::Bool(true))),
            Just(("link", LoroValue::from("l"))),
            Just(("block", LoroValue::from("h2"))),
            Just(("block", LoroValue::from("bullet"))),
            Just(("indent", LoroValue::I64(3))),
        ],
    )
        .prop_map(|(at, len, (k, v))| (at, len, k, v))
}

fn build(lines: &[Line], raw: &[(usize, usize, &'static str, LoroValue)], tail: &str) -> Note {
    let note = Note::new();
    let text = note.text();
    diff::apply(&text, &model::flat_from_lines(lines)).unwrap();
    text.insert(text.len_unicode(), tail).unwrap();
    let len = text.len_unicode();
    for (at, n, key, value) in raw {
        let start = (*at).min(len);
        let end = (start + n).min(len);
        if start < end {
            text.mark(start..end, key, value.clone()).unwrap();
        }
    }
    note
}

proptest! {
    // Failures found here become explicit cases in the tests above rather
    // than a regression file.
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn rendering_is_idempotent(
        lines in prop::collection::vec(line(), 0..8),
        raw in prop::collection::vec(raw_mark(), 0..3),
        tail in prop_oneof![3 => Just(String::new()), 1 => text()],
    ) {
        let mut note = build(&lines, &raw, &tail);
        let md = note.to_markdown();
        prop_assert_eq!(canon(&md), md.clone());
        // `weft edit` without changes: at most one normalising edit, then none.
        note.commit_pending();
        note.set_markdown(&md);
        prop_assert_eq!(note.to_markdown(), md.clone());
        note.commit_pending();
        prop_assert!(note.set_markdown(&md).is_empty());
        prop_assert_eq!(note.commit_pending(), None);
    }

    #[test]
    fn rendering_loses_no_text(
        lines in prop::collection::vec(line(), 0..8),
        raw in prop::collection::vec(raw_mark(), 0..3),
    ) {
        // Every line keeps its type, depth, language and characters through
        // Markdown (empty paragraphs, which are blank lines, aside).
        let note = build(&lines, &raw, "");
        let key = |l: &Line| (l.block, l.indent, l.lang.clone(), l.chars.clone());
        let want: Vec<_> = render::normalize(&model::lines_from_text(&note.text()))
            .iter()
            .filter(|l| !l.is_empty_paragraph() && !render::renders_nothing(l))
            .map(key)
            .collect();
        let back = parse::parse(&note.to_markdown());
        let got: Vec<_> = back.iter().filter(|l| !l.is_empty_paragraph()).map(key).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn marks_on_whole_words_survive(
        words in prop::collection::vec(
            (prop::sample::select(vec!["a", "word", "é", "日本", "x1", "it's", "(paren)", "end."]), style()),
            1..8,
        ),
        block in block(),
    ) {
        // Spans that cross ("*a **b* c**") have no nested Markdown form.
        let spans = |has: &dyn Fn(&Inline) -> bool| -> Vec<(usize, usize)> {
            let mut v: Vec<(usize, usize)> = Vec::new();
            for (n, (_, s)) in words.iter().enumerate() {
                match v.last_mut() {
                    Some(sp) if has(s) && sp.1 == n => sp.1 = n + 1,
                    _ if has(s) => v.push((n, n + 1)),
                    _ => {}
                }
            }
            v
        };
        let mut all = Vec::new();
        all.extend(spans(&|s: &Inline| s.bold));
        all.extend(spans(&|s: &Inline| s.italic));
        all.extend(spans(&|s: &Inline| s.code));
        all.extend(spans(&|s: &Inline| s.link.is_some()));
        let crossing = all.iter().any(|a| all.iter().any(|b| a.0 < b.0 && b.0 < a.1 && a.1 < b.1));
        prop_assume!(!crossing);
        // What an editor produces when styling selected words: a space
        // between two words carries the marks both words share.
        let mut line = Line::new(if block == Block::Code { Block::Paragraph } else { block });
        for (n, (w, s)) in words.iter().enumerate() {
            if n > 0 {
                let p = &words[n - 1].1;
                let shared = Inline {
                    bold: p.bold && s.bold,
                    italic: p.italic && s.italic,
                    code: p.code && s.code,
                    link: if p.link == s.link { s.link.clone() } else { None },
                    wikilink: if p.wikilink == s.wikilink { s.wikilink.clone() } else { None },
                    embed: p.embed && s.embed && p.wikilink == s.wikilink,
                    raw: false,
                };
                line.push(' ', shared);
            }
            for c in w.chars() {
                line.push(c, s.clone());
            }
        }
        // Marks on spaces are invisible and may move out of a span.
        let visible = |l: &Line| -> Vec<(char, Inline)> {
            l.chars.iter().zip(&l.inline).map(|(c, i)| (*c, if *c == ' ' { Inline::default() } else { i.clone() })).collect()
        };
        let want = render::normalize(std::slice::from_ref(&line));
        let back = parse::parse(&render::render(&want));
        prop_assert_eq!(back.len(), 1);
        prop_assert_eq!(back[0].block, want[0].block);
        prop_assert_eq!(visible(&back[0]), visible(&want[0]));
    }

    #[test]
    fn arbitrary_markdown_parses_and_renders_stably(
        md in prop::collection::vec(
            prop::sample::select(vec![
                "a", "b c", " ", "\n", "\n\n", "#", "# ", "-", "- ", "* ", "1. ", "2) ", "> ", "`", "```", "~~~",
                "*", "**", "_", "[", "]", "(", ")", "](x)", "<", ">", "&", "&amp;", "\\", "|", "    ", "\t",
                "[ ] ", "[x] ", "<div>", "![i](p)", "é", "日本", "---", "===", "\r\n",
            ]),
            0..40,
        ).prop_map(|v| v.concat())
    ) {
        let once = canon(&md);
        prop_assert_eq!(canon(&once), once);
    }
}

/// The desktop editor's replica: loaded from the store's snapshot, with its own peer.
fn editor_of(store: &Note) -> Note {
    Note::load(&[&store.export_snapshot().unwrap()]).unwrap()
}

/// Only the editor's own new operations, the way the UI exports them.
fn editor_update(editor: &mut Note) -> Vec<u8> {
    editor.commit_pending().unwrap()
}

#[test]
fn editor_updates_are_sealed_as_this_devices_changes() {
    let mut store = Note::from_markdown("# Plan\n\nfirst\n");
    let created = store.commit_pending().unwrap();
    let mut editor = editor_of(&store);
    editor
        .insert(editor.text().len_unicode() - 1, " draft")
        .unwrap();
    store.import_local(&editor_update(&mut editor)).unwrap();
    assert_eq!(store.to_markdown(), "# Plan\n\nfirst draft\n");

    // What the store commits carries the editor's typing to other devices.
    let sealed = store
        .commit_pending()
        .expect("the editor's edit is a local change");
    let other = Note::load(&[&created, &sealed]).unwrap();
    assert_eq!(other.to_markdown(), "# Plan\n\nfirst draft\n");
    assert_eq!(store.commit_pending(), None, "sealed once");

    // A second batch from the same editor is sealed from where the first ended.
    editor.insert(0, "x").unwrap();
    store.import_local(&editor_update(&mut editor)).unwrap();
    let second = store.commit_pending().unwrap();
    let other = Note::load(&[&created, &sealed, &second]).unwrap();
    assert_eq!(other.plain_text(), store.plain_text());
}

#[test]
fn remote_edits_reach_the_editor_and_merge_with_its_typing() {
    let mut store = Note::from_markdown("hello world\n");
    let created = store.commit_pending().unwrap();
    let mut editor = editor_of(&store);
    let seen = editor.version_bytes();
    // Another device edits the start while the editor types at the end.
    let mut remote = Note::load(&[&created]).unwrap();
    remote.insert(0, "Oh, ").unwrap();
    store.import(&remote.commit_pending().unwrap()).unwrap();
    editor.insert(11, "!").unwrap();
    store.import_local(&editor_update(&mut editor)).unwrap();
    editor.import(&store.updates_since(&seen).unwrap()).unwrap();
    assert_eq!(editor.plain_text(), "Oh, hello world!\n");
    assert_eq!(store.plain_text(), editor.plain_text());
    // The remote device's operations are not re-sealed as this device's.
    let sealed = store.commit_pending().unwrap();
    let without_remote = Note::load(&[&created, &sealed]).unwrap();
    assert_eq!(without_remote.plain_text(), "hello world!\n");
}

#[test]
fn editor_update_with_missing_history_or_garbage_is_refused() {
    let mut store = Note::from_markdown("a\n");
    store.commit_pending().unwrap();
    assert!(matches!(
        store.import_local(b"not loro"),
        Err(NoteError::Import(_))
    ));
    // An editor that built on operations the store never had.
    let mut elsewhere = Note::from_markdown("b\n");
    elsewhere.commit_pending().unwrap();
    let mut editor = editor_of(&elsewhere);
    editor.insert(0, "c").unwrap();
    let err = store.import_local(&editor_update(&mut editor)).unwrap_err();
    assert!(err.to_string().contains("does not hold"), "{err}");
    assert!(matches!(
        store.updates_since(b"\xff\xff"),
        Err(NoteError::Import(_))
    ));
}

// ---------------------------------------------------------------------------
// Properties of the kept source: unedited notes export byte for byte, and an
// edit changes only the block it touches.

fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "b c",
        " ",
        "\n",
        "\n\n",
        "\r\n",
        "#",
        "# ",
        "-",
        "- ",
        "* ",
        "+ ",
        "1. ",
        "2) ",
        "> ",
        "`",
        "```",
        "~~~",
        "*",
        "**",
        "_",
        "__",
        "[",
        "]",
        "(",
        ")",
        "](x)",
        "<",
        ">",
        "&",
        "&amp;",
        "\\",
        "|",
        "    ",
        "\t",
        "[ ] ",
        "[x] ",
        "<div>",
        "![i](p)",
        "é",
        "日本",
        "---",
        "===",
        "---\n",
        "[[",
        "]]",
        "[[T]]",
        "[[T|s]]",
        "![[E]]",
        "[!note]",
        "> [!tip]- ",
        "<https://x>",
        "~~",
        "[^1]",
        "[^1]: ",
        "[r]: /u\n",
        "| a |",
        "|---|",
        "$",
        "  \n",
        "\\\n",
        "<!-- c -->",
        "title: x\n",
        "tags: [a]\n",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn unedited_markdown_exports_byte_identical(
        md in prop::collection::vec(fragment(), 0..40).prop_map(|v| v.concat())
    ) {
        let note = Note::from_markdown(&md);
        prop_assert_eq!(note.to_markdown(), md.clone());
        let loaded = Note::load(&[&note.export_snapshot().unwrap()]).unwrap();
        prop_assert_eq!(loaded.to_markdown(), md);
    }

    #[test]
    fn editing_one_paragraph_changes_only_its_block(
        blocks in prop::collection::vec(
            prop_oneof![
                Just("* star\n* list"),
                Just("1) one\n2) two"),
                Just("Title\n====="),
                Just("> quote  \n> more"),
                Just("~~~\ncode\n~~~"),
                Just("| a |\n|---|\n| 1 |"),
                Just("<div>\nx\n</div>"),
                Just("> [!note]- T\n> body"),
                Just("_under_ and __strong__\\"),
                Just("[[Link|shown]] <https://x.org>"),
            ],
            1..8,
        ),
        at in 0usize..8,
    ) {
        // Paragraphs `pN …` between the generated blocks; one of them is edited.
        let mut parts: Vec<String> = Vec::new();
        for (n, b) in blocks.iter().enumerate() {
            parts.push(format!("p{n} _keep_ this"));
            parts.push((*b).to_owned());
        }
        let md = parts.join("\n\n") + "\n";
        let target = at % blocks.len();
        let mut note = Note::from_markdown(&md);
        let text = note.plain_text();
        let needle = format!("p{target} ");
        let pos = text[..text.find(&needle).unwrap()].chars().count() + needle.chars().count() - 1;
        note.insert(pos, "Z").unwrap();
        let out = note.to_markdown();
        let got: Vec<&str> = out.trim_end().split("\n\n").collect();
        prop_assert_eq!(got.len(), parts.len(), "{}", out);
        for (n, (g, want)) in got.iter().zip(&parts).enumerate() {
            if n == 2 * target {
                prop_assert_eq!(*g, format!("p{target}Z *keep* this"));
            } else {
                prop_assert_eq!(*g, want.as_str());
            }
        }
    }
}
