//! SIGKILL a writing `weft` at random moments: after each kill the database
//! passes `PRAGMA integrity_check` and holds every write that reported
//! success.

use std::time::{Duration, Instant};

use crate::harness::Home;

/// A small deterministic generator, so a failing round can be replayed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn durability_sigkill_at_random_moments_loses_no_acknowledged_write() {
    let h = Home::with_passphrase();
    h.record("Log", "{}");
    h.note("Journal", "", "start\n");
    // How long one write takes, to spread kills over its whole life: the slowest
    // of three, since under a loaded machine (CI runs tests in parallel) one fast
    // warm-up would make nearly every later writer be killed before it could finish.
    let mut typical = Duration::from_millis(5);
    for i in 0..3 {
        let t = Instant::now();
        h.run(&["set", "Log", &format!("/warmup{i}"), "0"]).ok();
        typical = typical.max(t.elapsed());
    }
    let rounds: u64 = std::env::var("WEFT_DURABILITY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seed = 0x5eed_u64 ^ rounds;
    let mut rng = Lcg(seed);
    let mut acked = Vec::new();
    let mut journal = String::from("start\n");
    let mut killed = 0;
    for round in 0..rounds {
        let (args, is_note): (Vec<String>, bool) = if round % 3 == 2 {
            (
                vec!["edit".into(), "Journal".into(), "--stdin".into()],
                true,
            )
        } else {
            (
                vec![
                    "set".into(),
                    "Log".into(),
                    format!("/k{round}"),
                    round.to_string(),
                ],
                false,
            )
        };
        let mut child = h
            .command()
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let next_journal = format!("{journal}line {round}\n");
        if is_note {
            use std::io::Write;
            let _ = child
                .stdin
                .take()
                .unwrap()
                .write_all(next_journal.as_bytes());
        } else {
            drop(child.stdin.take());
        }
        // Up to twice a typical write: about half are killed at some point of their
        // life, the others finish.
        let delay = typical.mul_f64((rng.next() % 2000) as f64 / 1000.0);
        std::thread::sleep(delay);
        let status = match child.try_wait().unwrap() {
            Some(s) => s,
            None => {
                // SIGKILL: no destructors, no atexit, no flush.
                child.kill().unwrap();
                killed += 1;
                child.wait().unwrap()
            }
        };
        // The machine's load changes while the test runs (other tests run
        // beside it): keep the kills spread over a writer's life by nudging
        // the estimate whenever kills or completions fall behind.
        let done = round + 1;
        if done >= 6 && killed * 3 < done {
            typical = typical.mul_f64(0.8);
        } else if done >= 6 && (done - killed) * 3 < done {
            typical = typical.mul_f64(1.25);
        }
        if status.success() {
            if is_note {
                journal = next_journal;
            } else {
                acked.push(round);
            }
        }
        let db = h.db();
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round} (seed {seed})");
        drop(db);
        // Everything acknowledged so far is readable.
        let v = h.show_json("Log");
        for k in &acked {
            assert_eq!(
                v["json"][format!("k{k}")],
                *k,
                "round {round}: acked write k{k} lost (seed {seed})"
            );
        }
        let text = h.show("Journal");
        assert!(
            text == journal || text == format!("{journal}line {round}\n"),
            "round {round}: journal is {text:?}, expected {journal:?} (seed {seed})"
        );
        if text != journal {
            // The edit committed but the kill came before the exit status.
            journal = text;
        }
    }
    assert!(
        killed > rounds / 4,
        "only {killed} of {rounds} writers were killed mid-run"
    );
    assert!(!acked.is_empty(), "no write ever completed");
}
