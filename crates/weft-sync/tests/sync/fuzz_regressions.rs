//! Every committed fuzz input, run through the fuzz targets' own checks on
//! stable Rust: the seed corpus (`fuzz/corpus/<target>`) and the inputs that
//! once crashed a target (`fuzz/regressions/<target>`). A crash input copied
//! into `regressions/` fails this test until the bug is fixed, and keeps
//! guarding it after.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

// The same file the fuzz targets call, so the two cannot drift apart.
#[path = "../../fuzz/src/lib.rs"]
mod checks;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The input files of one target in `corpus` or `regressions`, sorted.
/// Dotfiles (`.gitkeep`) and a missing directory hold no inputs.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
}

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    inputs("corpus", target)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Runs `check` on every input of `target` and fails once, naming every
/// input that panicked and its message.
fn run_all(target: &str, check: impl Fn(&[u8])) -> usize {
    let mut files = inputs("corpus", target);
    files.extend(inputs("regressions", target));
    let mut failures = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&bytes))) {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            failures.push(format!("{}: {msg}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {target} inputs fail:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    files.len()
}

#[test]
fn frame_inputs_pass_the_fuzz_checks() {
    let n = run_all("frame", |b| {
        checks::check_frame(b);
    });
    assert!(n > 0, "no frame inputs under {}", fuzz_dir().display());
}

#[test]
fn sealed_change_inputs_pass_the_fuzz_checks() {
    let n = run_all("sealed_change", |b| {
        checks::check_sealed(b);
    });
    assert!(
        n > 0,
        "no sealed_change inputs under {}",
        fuzz_dir().display()
    );
}

/// The seeds give the fuzzer a valid starting point for every frame, and
/// for the stream reader a run of several frames; a corpus that lost them
/// would leave whole decoders to blind mutation.
#[test]
fn frame_corpus_holds_every_frame_type_and_a_stream() {
    let mut kinds = BTreeSet::new();
    let mut longest_stream = 0;
    for (_, bytes) in corpus("frame") {
        let outcome = checks::check_frame(&bytes);
        kinds.extend(outcome.frame);
        longest_stream = longest_stream.max(outcome.stream_frames.len());
    }
    let all = [
        "hello",
        "member-proof",
        "relay-proof",
        "refuse",
        "have",
        "changes",
        "reject",
    ];
    assert_eq!(kinds, BTreeSet::from(all), "frame types in the seed corpus");
    assert!(
        longest_stream >= 3,
        "no seed is a stream of several frames (longest: {longest_stream})"
    );
}

/// Real, verifying changes and snapshots in the corpus: without them the
/// fuzzer would rarely get past the parser to the signature check.
#[test]
fn sealed_corpus_holds_changes_and_snapshots_that_verify() {
    let (mut changes, mut snapshots) = (0, 0);
    for (path, bytes) in corpus("sealed_change") {
        let outcome = checks::check_sealed(&bytes);
        if outcome.change == Some(true) {
            changes += 1;
        }
        if outcome.snapshot == Some(true) {
            snapshots += 1;
        }
        assert!(
            outcome.change != Some(false) && outcome.snapshot != Some(false),
            "{} parses but its signature does not verify: a seed should be a real one",
            path.display()
        );
    }
    assert!(
        changes >= 3,
        "{changes} verifying sealed changes in the corpus"
    );
    assert!(
        snapshots >= 2,
        "{snapshots} verifying sealed snapshots in the corpus"
    );
}

/// The checks must actually catch a broken property, or a green run proves
/// nothing: a stream whose frame the reader splits correctly passes, and
/// the comparison the checks rely on notices a byte out of place.
#[test]
fn the_checks_see_what_they_check() {
    use weft_sync::Frame;
    let frame = Frame::MemberProof([7; 32]);
    let mut stream = frame.encode_prefixed();
    stream.extend_from_slice(&frame.encode_prefixed());
    let bodies = checks::check_stream(&stream);
    assert_eq!(bodies, vec![frame.encode(), frame.encode()]);

    let outcome = checks::check_frame(&frame.encode());
    assert_eq!(outcome.frame, Some("member-proof"));

    // A seed change with one signature byte flipped still parses, and the
    // check reports it as not verifying rather than passing it as valid.
    let (_, seed) = corpus("sealed_change")
        .into_iter()
        .find(|(_, b)| checks::check_sealed(b).change == Some(true))
        .expect("a verifying change in the corpus");
    let mut forged = seed.clone();
    *forged.last_mut().unwrap() ^= 1;
    assert_eq!(checks::check_sealed(&forged).change, Some(false));
}
