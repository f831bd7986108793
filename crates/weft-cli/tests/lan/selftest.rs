//! The harness itself: hosts reach each other over the bridge, a cut host
//! does not, and nothing is left behind or created on the machine's own
//! network namespace.

use std::process::Command;
use std::time::Duration;

use crate::netns::{Lan, netns_list};

/// The machine's own interfaces (`ip -o link` in the root namespace),
/// without counters that change by themselves.
fn root_links() -> Vec<String> {
    let out = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(':').nth(1).map(|n| n.trim().to_owned()))
        .collect();
    names.sort();
    names
}

#[test]
fn lan_hosts_reach_each_other_and_cut_hosts_do_not() {
    let links_before = root_links();
    let Some(lan) = Lan::new_or_skip(3) else {
        return;
    };
    let names = lan.namespaces().to_vec();
    assert_eq!(names.len(), 4, "a bridge and three hosts: {names:?}");
    let present = netns_list();
    for n in &names {
        assert!(
            present.contains(n),
            "{n} missing from `ip netns list`: {present:?}"
        );
    }
    assert_eq!(
        root_links(),
        links_before,
        "the harness touched the machine's interfaces"
    );

    assert!(
        lan.reachable(0, 1, Duration::from_secs(5)),
        "host0 cannot reach host1"
    );
    assert!(
        lan.reachable(2, 0, Duration::from_secs(5)),
        "host2 cannot reach host0"
    );
    lan.cut(1);
    assert!(
        !lan.reachable(0, 1, Duration::from_secs(3)),
        "host1 is still reachable after cut(1)"
    );
    assert!(
        lan.reachable(0, 2, Duration::from_secs(5)),
        "cut(1) also cut host2"
    );
    lan.restore(1);
    assert!(
        lan.reachable(0, 1, Duration::from_secs(5)),
        "host1 unreachable after restore(1)"
    );
    drop(lan);

    let left = netns_list();
    for n in &names {
        assert!(!left.contains(n), "{n} survived the Lan: {left:?}");
    }
    assert_eq!(root_links(), links_before);
}

#[test]
fn lan_is_removed_after_a_panic() {
    let mut names = Vec::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let Some(lan) = Lan::new_or_skip(2) else {
            return;
        };
        names = lan.namespaces().to_vec();
        panic!("on purpose");
    }));
    if names.is_empty() {
        // Skipped.
        return;
    }
    assert!(r.is_err());
    let left = netns_list();
    for n in &names {
        assert!(!left.contains(n), "{n} survived a panic: {left:?}");
    }
}

#[test]
fn two_segments_are_removed_after_a_panic() {
    let mut names = Vec::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let Some(lan) = Lan::two_segments_or_skip() else {
            return;
        };
        names = lan.namespaces().to_vec();
        panic!("on purpose");
    }));
    if names.is_empty() {
        // Skipped.
        return;
    }
    assert!(r.is_err());
    assert_eq!(names.len(), 5, "two bridges and three hosts: {names:?}");
    let left = netns_list();
    for n in &names {
        assert!(!left.contains(n), "{n} survived a panic: {left:?}");
    }
}
