//! Deterministic multi-device simulation of sync: N devices (real
//! workspaces, real SQLite files) and one blind relay (a real store and no
//! keys), joined by links that drop, duplicate, delay, reorder and
//! partition frames, with devices crashing and restarting from their store.
//! After the chaos the links heal and every device must hold the same
//! documents and every change any device committed.
//!
//! `make test` runs seeds 0..2000 with 3 devices, split into shards so
//! nextest spreads them over the cores. Any other range, or device count:
//!
//! ```text
//! WEFT_SIM_SEEDS=5000..5100 WEFT_SIM_DEVICES=5 cargo nextest run -p weft-engine --test sim
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod bounds;
mod check;
mod trace;
mod workload;
mod world;

use std::panic::{AssertUnwindSafe, catch_unwind};

use world::{Faults, Tamper, World};

const SHARDS: u64 = 8;
const DEFAULT_SEEDS: std::ops::Range<u64> = 0..2000;

fn seeds() -> std::ops::Range<u64> {
    match std::env::var("WEFT_SIM_SEEDS") {
        Ok(s) => {
            let (a, b) = s
                .split_once("..")
                .expect("WEFT_SIM_SEEDS is FROM..TO, e.g. 0..2000");
            a.trim().parse().expect("WEFT_SIM_SEEDS: FROM is a number")
                ..b.trim().parse().expect("WEFT_SIM_SEEDS: TO is a number")
        }
        Err(_) => DEFAULT_SEEDS,
    }
}

fn devices() -> usize {
    std::env::var("WEFT_SIM_DEVICES")
        .ok()
        .map(|s| s.parse().expect("WEFT_SIM_DEVICES is a number"))
        .unwrap_or(3)
}

/// What one seed did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub ops: u64,
    pub frames: u64,
    pub rejected: u64,
    pub tampered: u64,
}

/// One seed: chaos, then healing, then the checks.
pub fn run_seed(seed: u64, n: usize, tamper: bool) -> Result<Outcome, String> {
    let mut w = World::new(seed, n);
    if tamper {
        let withhold = w.rng.below(n as u64) as usize;
        w.tamper = Tamper {
            enabled: true,
            withhold: Some(withhold),
        };
    }
    w.faults = match w.rng.below(4) {
        0 => Faults::NONE,
        1 => Faults {
            drop: 3,
            dup: 3,
            max_delay: 40,
        },
        2 => Faults {
            drop: 10,
            dup: 10,
            max_delay: 200,
        },
        _ => Faults {
            drop: 0,
            dup: 20,
            max_delay: 400,
        },
    };
    if tamper {
        // Count rejections exactly: every tampered frame arrives once.
        w.faults = Faults {
            drop: 0,
            dup: 0,
            max_delay: 30,
        };
    }
    let mut counter = 0;
    w.connect_all();
    let steps = 120 + w.rng.below(120);
    for _ in 0..steps {
        let r = w.rng.below(100);
        let dev = w.rng.below(n as u64) as usize;
        if r < 35 {
            let mut rng = world::Rng::new(w.rng.next());
            if let Some(ws) = w.device(dev) {
                workload::act(ws, &mut rng, &mut counter)?;
                w.notify(dev);
            }
        } else if r < 37 {
            w.crash(dev);
        } else if r < 42 {
            w.restart(dev);
        } else if r < 46 {
            // Cut or restore a link: device to device, or device to relay.
            let other = w.rng.below(n as u64 + 1) as usize;
            if other != dev {
                let key = (dev.min(other), dev.max(other));
                let cut = !w.partitioned.get(&key).copied().unwrap_or(false);
                w.partitioned.insert(key, cut);
                if cut {
                    w.disconnect(|c| (c.a, c.b) == key);
                }
            }
        }
        w.connect_all();
        w.step(20);
    }
    // Heal: everyone up, every link reliable, full mesh.
    for i in 0..n {
        w.restart(i);
    }
    w.partitioned.clear();
    w.faults = Faults::NONE;
    w.connect_all();
    let mut healed = false;
    for _ in 0..4000 {
        w.step(50);
        w.connect_all();
        if w.quiet() && check::converged(&w) {
            healed = true;
            break;
        }
    }
    if !healed {
        return Err(format!(
            "no convergence after healing: vectors {:?}; errors {:?}",
            w.vectors(),
            w.tally.session_errors
        ));
    }
    check::documents(&mut w)?;
    check::untampered(&w)?;
    if !tamper && !w.tally.session_errors.is_empty() {
        return Err(format!("session errors: {:?}", w.tally.session_errors));
    }
    Ok(Outcome {
        ops: counter,
        frames: w.tally.frames,
        rejected: w.tally.rejected,
        tampered: w.tally.tampered,
    })
}

fn run_range(shard: Option<u64>, tamper: bool) {
    let n = devices();
    let mut failures = Vec::new();
    let mut ran = 0;
    for seed in seeds() {
        if shard.is_some_and(|s| seed % SHARDS != s) {
            continue;
        }
        ran += 1;
        match catch_unwind(AssertUnwindSafe(|| run_seed(seed, n, tamper))) {
            Ok(Ok(o)) => {
                if std::env::var_os("WEFT_SIM_VERBOSE").is_some() {
                    eprintln!("seed {seed}: {o:?}");
                }
            }
            Ok(Err(e)) => failures.push(format!("seed {seed}: {e}")),
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("seed {seed}: panicked: {msg}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} seeds failed (replay one with WEFT_SIM_SEEDS=S..S+1 WEFT_SIM_DEVICES={n} \
         cargo nextest run -p weft-engine --test sim):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

macro_rules! shards {
    ($($name:ident = $k:expr),*) => {$(
        #[test]
        fn $name() {
            run_range(Some($k), false)
        }
    )*};
}

shards!(
    seeds_shard_0 = 0,
    seeds_shard_1 = 1,
    seeds_shard_2 = 2,
    seeds_shard_3 = 3,
    seeds_shard_4 = 4,
    seeds_shard_5 = 5,
    seeds_shard_6 = 6,
    seeds_shard_7 = 7
);

#[test]
fn a_tampering_relay_is_caught_and_honest_devices_converge() {
    let (mut rejected, mut tampered) = (0, 0);
    for seed in 1_000_000..1_000_040u64 {
        match run_seed(seed, devices(), true) {
            Ok(o) => {
                rejected += o.rejected;
                tampered += o.tampered;
            }
            Err(e) => panic!("tampering seed {seed}: {e}"),
        }
    }
    assert!(
        tampered > 0,
        "the relay tampered with nothing: the test proves nothing"
    );
    assert!(rejected > 0, "{tampered} tampered changes and no rejection");
}
