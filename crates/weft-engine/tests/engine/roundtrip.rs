//! Properties: export then import gives identical documents; reopening
//! gives what was written.

use proptest::prelude::*;
use weft_engine::Shown;

use crate::{new_workspace, reopen};

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "alpha",
        "beta",
        "gamma",
        "δέλτα",
        "naïve",
        "a*b",
        "#tag",
        "under_score",
        "[x]",
        "1.",
        "`q`",
        "100%",
    ])
    .prop_map(str::to_owned)
}

fn inline() -> impl Strategy<Value = String> {
    (prop::collection::vec(word(), 1..5), 0..5u8).prop_map(|(ws, style)| {
        let t = ws.join(" ");
        match style {
            1 => format!("**{t}**"),
            2 => format!("*{t}*"),
            3 => format!("[{t}](https://example.org/{})", ws.len()),
            _ => t,
        }
    })
}

fn block() -> impl Strategy<Value = String> {
    (prop::collection::vec(inline(), 1..4), 0..6u8).prop_map(|(parts, kind)| {
        let line = parts.join(" ");
        match kind {
            1 => format!("# {line}"),
            2 => format!("- {line}"),
            3 => format!("1. {line}"),
            4 => format!("> {line}"),
            5 => format!("- [x] {line}"),
            _ => line,
        }
    })
}

fn markdown() -> impl Strategy<Value = String> {
    prop::collection::vec(block(), 0..6).prop_map(|b| {
        let mut s = b.join("\n\n");
        s.push('\n');
        s
    })
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        (-1000i64..1000).prop_map(serde_json::Value::from),
        word().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 20, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn record() -> impl Strategy<Value = serde_json::Value> {
    prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..5)
        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
}

fn contents(ws: &mut weft_engine::Workspace) -> Vec<(String, String)> {
    let docs = ws.list(false).unwrap();
    docs.into_iter()
        .map(|d| {
            let shown = match ws.show(&d.id, None).unwrap() {
                Shown::Note { markdown } => markdown,
                Shown::Record { json, .. } => json.to_string(),
            };
            (d.path, shown)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn export_then_import_gives_identical_documents(
        notes in prop::collection::vec(markdown(), 1..4),
        records in prop::collection::vec(record(), 0..3),
    ) {
        let (_d1, mut a) = new_workspace();
        let sub = ["Folder".to_owned(), "Sub".to_owned()];
        for (i, md) in notes.iter().enumerate() {
            let folder: &[String] = if i % 2 == 0 { &[] } else { &sub };
            a.create_note(&format!("note {i}"), folder, md).unwrap();
        }
        for (i, r) in records.iter().enumerate() {
            a.create_record(&format!("record {i}"), &["Data".into()], r).unwrap();
        }
        let out = tempfile::tempdir().unwrap();
        a.export(out.path(), true).unwrap();
        let (_d2, mut b) = new_workspace();
        b.import(out.path()).unwrap();
        let (ca, cb) = (contents(&mut a), contents(&mut b));
        prop_assert_eq!(&ca, &cb);
        // Records survive exactly; notes render to their canonical Markdown.
        for (i, r) in records.iter().enumerate() {
            let (_, shown) = ca.iter().find(|(p, _)| p == &format!("Data/record {i}")).unwrap();
            prop_assert_eq!(shown, &r.to_string());
        }
    }

    #[test]
    fn reopening_shows_what_was_written(md in markdown(), edits in prop::collection::vec(markdown(), 1..4)) {
        let (dir, mut a) = new_workspace();
        let doc = a.create_note("n", &[], &md).unwrap();
        let mut last = String::new();
        for e in &edits {
            a.edit_note(&doc, e).unwrap();
            last = match a.show(&doc, None).unwrap() { Shown::Note { markdown } => markdown, _ => unreachable!() };
        }
        a.close().unwrap();
        let mut b = reopen(&dir);
        let again = match b.show(&doc, None).unwrap() { Shown::Note { markdown } => markdown, _ => unreachable!() };
        prop_assert_eq!(again, last);
    }
}
