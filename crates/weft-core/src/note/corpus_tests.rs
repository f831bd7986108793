//! Round trips over the Markdown corpus in `tests/corpus`: every file, and
//! every CommonMark spec example, exports byte for byte as it was imported;
//! editing one block changes only that block; two replicas editing
//! different blocks and a property merge into an export that keeps the
//! rest as written.

use std::path::{Path, PathBuf};

use loro::{ExportMode, LoroValue};

use super::*;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "md") && !p.ends_with("README.md") {
            out.push(p);
        }
    }
}

fn spec_examples() -> Vec<String> {
    let raw = std::fs::read_to_string(corpus_dir().join("commonmark/spec-examples.json")).unwrap();
    serde_json::from_str(&raw).unwrap()
}

/// The snapshot size of the same body without kept sources or Markdown
/// details: what the note would cost with the canonical rendering only.
fn bare_size(md: &str) -> usize {
    let (_, body) = frontmatter::split(md);
    let note = Note::new();
    diff::apply(&note.text(), &model::flat_from_lines(&parse::parse(body))).unwrap();
    note.doc().commit();
    note.doc().export(ExportMode::Snapshot).unwrap().len()
}

/// What importing a set of Markdown texts gives: how many export byte for
/// byte (also after a reload from storage), places kept as source, and
/// snapshot bytes with and without the kept source.
#[derive(Default)]
struct Tally {
    same: usize,
    total: usize,
    kept: usize,
    markdown: usize,
    bare: usize,
    full: usize,
}

impl Tally {
    fn add(&mut self, name: &str, md: &str) {
        let (note, report) = Note::from_markdown_report(md);
        let out = note.to_markdown();
        let snapshot = note.export_snapshot().unwrap();
        let loaded = Note::load(&[&snapshot]).unwrap().to_markdown();
        if out == md && loaded == md {
            self.same += 1;
        } else {
            eprintln!("differs: {name}: {md:?} -> {out:?} / {loaded:?}");
        }
        self.total += 1;
        self.kept += report.kept_as_source;
        self.markdown += md.len();
        self.bare += bare_size(md);
        self.full += snapshot.len();
    }

    fn report(&self, what: &str) {
        println!(
            "{what}: {}/{} byte-identical ({:.1}%), {} places kept as source; {} bytes of \
             Markdown; snapshots {} bytes with the kept source, {} without (+{:.0}%)",
            self.same,
            self.total,
            100.0 * self.same as f64 / self.total as f64,
            self.kept,
            self.markdown,
            self.full,
            self.bare,
            100.0 * (self.full as f64 / self.bare as f64 - 1.0),
        );
        assert_eq!(self.same, self.total);
    }
}

#[test]
fn every_corpus_file_exports_byte_identical() {
    let mut files = Vec::new();
    markdown_files(&corpus_dir(), &mut files);
    assert!(files.len() >= 20, "corpus found: {files:?}");
    let mut tally = Tally::default();
    for path in &files {
        let md = std::fs::read_to_string(path).unwrap();
        tally.add(&path.display().to_string(), &md);
    }
    tally.report("corpus files");
}

#[test]
fn every_commonmark_spec_example_exports_byte_identical() {
    let examples = spec_examples();
    assert_eq!(examples.len(), 652);
    let mut tally = Tally::default();
    for (n, md) in examples.iter().enumerate() {
        tally.add(&format!("example {}", n + 1), md);
    }
    tally.report("CommonMark spec examples");
}

#[test]
fn canonical_rendering_of_every_spec_example_is_stable() {
    // The canonical renderer (what an edited block becomes) stays a fixed
    // point on everything the corpus reads as.
    for md in spec_examples() {
        let once = Note::from_markdown(&md).to_canonical_markdown();
        let twice = Note::from_markdown(&once).to_canonical_markdown();
        assert_eq!(twice, once, "from {md:?}");
    }
}

const VAULT_NOTE: &str = "---\ntitle: Plan\ntags: [a, b]\n---\n\n# Plan\n\nFirst  *para*   with [[Link|shown]].\n\n* star item\n* second\n\nSecond para, <https://x.org>.\n\n> [!warning]- Careful\n> body\n\n| t | u |\n|---|---|\n| 1 | 2 |\n";

/// Inserts `what` right after `needle` in the body text (typing, as in a UI).
fn type_after(note: &mut Note, needle: &str, what: &str) {
    let text = note.plain_text();
    let at = text.find(needle).unwrap() + needle.len();
    note.insert(text[..at].chars().count(), what).unwrap();
}

/// Replaces `from` by `to` in the body text (a plain edit, as a UI makes).
fn edit(note: &mut Note, from: &str, to: &str) {
    let text = note.plain_text();
    let at = text.find(from).unwrap();
    let pos = text[..at].chars().count();
    note.delete(pos, from.chars().count()).unwrap();
    note.insert(pos, to).unwrap();
}

#[test]
fn the_vault_vocabulary_is_stored_as_documented() {
    let (note, report) = Note::from_markdown_report(VAULT_NOTE);
    assert_eq!(report.kept_as_source, 1, "the table");
    assert_eq!(
        note.props(),
        vec![
            (
                "tags".to_owned(),
                LoroValue::List(vec!["a".into(), "b".into()].into())
            ),
            ("title".to_owned(), "Plan".into()),
        ]
    );
    let (lines, _) = model::lines_and_sources(&note.text());
    let wiki = lines.iter().find(|l| l.chars.starts_with(&['F'])).unwrap();
    let text: String = wiki.chars.iter().collect();
    let i = text[..text.find("shown").unwrap()].chars().count();
    assert_eq!(wiki.inline[i].wikilink.as_deref(), Some("Link"));
    let callout = lines
        .iter()
        .find(|l| l.block == model::Block::Callout)
        .unwrap();
    assert_eq!(
        (callout.kind.as_str(), callout.fold),
        ("warning", Some('-'))
    );
    assert_eq!(callout.chars.iter().collect::<String>(), "Careful");
    assert!(lines.iter().any(|l| l.block == model::Block::Raw));
}

#[test]
fn editing_one_paragraph_changes_only_its_lines() {
    let mut note = Note::from_markdown(VAULT_NOTE);
    edit(&mut note, "Second para", "Second paragraph");
    let out = note.to_markdown();
    let want = VAULT_NOTE.replace(
        "Second para, <https://x.org>.",
        "Second paragraph, [https://x.org](https://x.org).",
    );
    assert_eq!(out, want);
    // Changing a property rewrites the frontmatter only.
    note.doc().get_map(PROPS).insert("title", "Plan B").unwrap();
    let out = note.to_markdown();
    assert_eq!(
        out,
        want.replace(
            "title: Plan\ntags: [a, b]\n",
            "title: Plan B\ntags:\n  - a\n  - b\n"
        )
    );
}

#[test]
fn stale_source_is_never_written_for_changed_content() {
    let note = Note::from_markdown("* a\n* b\n\nend\n");
    // Restyling without a text change also makes the source stale.
    note.text().mark(0..1, "bold", true).unwrap();
    assert_eq!(note.to_markdown(), "- **a**\n- b\n\nend\n");
    // Splitting a line inside a chunk moves its lines: stale too.
    let mut note = Note::from_markdown("_x y_\n\nend\n");
    note.insert(1, "\n").unwrap();
    assert_eq!(note.to_markdown(), "*x*\n\n&#32;*y*\n\nend\n");
    assert_eq!(note.to_markdown(), note.to_canonical_markdown());
}

#[test]
fn concurrent_edits_merge_and_keep_the_rest_as_written() {
    let mut a = Note::from_markdown(VAULT_NOTE);
    let base = a.commit_pending().unwrap();
    let mut b = Note::load(&[&base]).unwrap();
    type_after(&mut a, "First  para", "graph");
    edit(&mut b, "Second para", "Second part");
    b.doc().get_map(PROPS).insert("status", "done").unwrap();
    let from_a = a.commit_pending().unwrap();
    let from_b = b.commit_pending().unwrap();
    a.import(&from_b).unwrap();
    b.import(&from_a).unwrap();
    let out = a.to_markdown();
    assert_eq!(out, b.to_markdown());
    let want = VAULT_NOTE
        .replace("*para*", "*paragraph*")
        .replace(
            "Second para, <https://x.org>.",
            "Second part, [https://x.org](https://x.org).",
        )
        .replace(
            "title: Plan\ntags: [a, b]\n",
            "title: Plan\ntags:\n  - a\n  - b\nstatus: done\n",
        );
    assert_eq!(out, want);
}

#[test]
fn both_devices_editing_one_block_render_the_merge_canonically() {
    let mut a = Note::from_markdown("_one two_\n\nkeep  me\n");
    let base = a.commit_pending().unwrap();
    let mut b = Note::load(&[&base]).unwrap();
    // `weft edit` on one device records the source it was given; a typed
    // edit on the other: the merged content is neither's, so neither's
    // source may be written.
    a.set_markdown("_one three_\n\nkeep  me\n");
    edit(&mut b, "one", "zero");
    a.import(&b.commit_pending().unwrap()).unwrap();
    assert_eq!(a.to_markdown(), "zero *three*\n\nkeep  me\n");
}

#[test]
fn pathological_markdown_imports_in_linear_time_and_round_trips() {
    let n = 20_000;
    let inputs = [
        "[[".repeat(n),
        "[[a|".repeat(n) + &"]]".repeat(n),
        "> ".repeat(n) + "x\n",
        "- ".repeat(n) + "x\n",
        "*a ".repeat(n),
        "<div>\n".repeat(n),
        "| a |\n|---|\n".to_owned() + &"| x |\n".repeat(n),
        format!(
            "---\n{}---\nbody\n",
            (0..n).map(|i| format!("k{i}: {i}\n")).collect::<String>()
        ),
        "\n".repeat(n) + "x" + &" \n".repeat(n),
        "[x]: /u\n".repeat(n),
    ];
    for md in &inputs {
        let note = Note::from_markdown(md);
        assert!(note.to_markdown() == *md, "{:?}…", &md[..40]);
    }
}

#[test]
fn crafted_src_marks_cannot_make_rendering_quadratic() {
    let md = "para\n\n".repeat(20_000);
    let note = Note::from_markdown(&md);
    // A peer marks every line end with a claim over the whole note.
    let text = note.text();
    let plain = note.plain_text();
    let mut line = 0;
    for (pos, c) in plain.chars().enumerate() {
        if c == '\n' {
            line += 1;
            let v = source::encode(1, line, "forged");
            text.mark(pos..pos + 1, "src", v.as_str()).unwrap();
        }
    }
    let out = note.to_markdown();
    assert!(!out.contains("forged"));
    assert_eq!(out, note.to_canonical_markdown());
}
