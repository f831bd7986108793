//! Private Ethernet segments of Linux network namespaces: one bridge
//! namespace and N host namespaces joined to it by veth pairs
//! (`Lan::new_or_skip`), or two bridges with a non-forwarding relay host on
//! both (`Lan::two_segments_or_skip`).
//!
//! Nothing is ever created in, or moved through, the machine's own network
//! namespace: each veth pair is created inside the bridge namespace with its
//! other end placed straight into the host namespace. The daemons run mDNS,
//! and multicast on the machine's real interfaces would leave the machine
//! (NOTES.md, libp2p).

use std::net::Ipv4Addr;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::host::Host;

/// Set to 1 to skip these tests on a machine that cannot run them (not root,
/// no iproute2). Without it such a machine fails them: a test that skips
/// itself silently cannot fail.
pub const SKIP_VAR: &str = "WEFT_SKIP_NETNS";

/// Name prefixes of everything this harness creates; also how leftovers of a
/// killed run are recognised (`cleanup_stale`).
const BRIDGE_PREFIX: &str = "wb-";
const HOST_PREFIX: &str = "wh-";

/// Lans made by this process, so two in one process (plain `cargo test`
/// runs tests as threads) get different names and subnets.
static NEXT_LAN: AtomicU32 = AtomicU32::new(0);

pub struct Lan {
    /// The bridge namespaces: one per segment.
    bridges: Vec<String>,
    /// Every namespace created so far, bridges first: what Drop deletes,
    /// also after a panic half-way through a constructor.
    created: Vec<String>,
    hosts: Vec<Host>,
    /// Per host, its bridge ports as (index into `bridges`, port name):
    /// what `cut` takes down.
    ports: Vec<Vec<(usize, String)>>,
    /// Per host, every address it has (a relay host has one per segment).
    addrs: Vec<Vec<Ipv4Addr>>,
}

/// Why this machine cannot run the tests, if it cannot.
fn missing_prerequisite() -> Option<String> {
    if effective_uid() != Some(0) {
        return Some("the LAN tests need root (ip netns add)".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "`ip -V` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Some(format!("`ip` (iproute2) is not runnable: {e}")),
    }
}

/// False when the tests are skipped on purpose (`WEFT_SKIP_NETNS=1`); true
/// when they can run. Panics, failing the test, when the machine cannot run
/// them and they were not skipped.
fn skip_or_check() -> bool {
    if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
        let why = missing_prerequisite().unwrap_or_else(|| "on request".into());
        eprintln!("skipped: {SKIP_VAR}=1 ({why})");
        return false;
    }
    if let Some(why) = missing_prerequisite() {
        panic!(
            "{why}. These tests build network namespaces; run them as root on Linux with iproute2, or set {SKIP_VAR}=1 to skip them."
        );
    }
    true
}

/// From /proc: the tests forbid unsafe code, so no geteuid().
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    // Uid: real effective saved fs
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Runs `ip ARGS`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) -> Output {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running `ip {}`: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "`ip {}` failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The namespaces that exist now (`ip netns list` prints `NAME (id: N)`).
pub fn netns_list() -> Vec<String> {
    let out = ip(&["netns", "list"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Deletes namespaces of this harness whose creating process is gone (a run
/// killed by a timeout gets no Drop). Names carry the creator's pid, so a
/// running test's namespaces are never touched.
fn cleanup_stale() {
    for name in netns_list() {
        let Some(rest) = name
            .strip_prefix(BRIDGE_PREFIX)
            .or_else(|| name.strip_prefix(HOST_PREFIX))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

impl Lan {
    /// A Lan of `n` hosts, or None when the tests are skipped on purpose
    /// (`WEFT_SKIP_NETNS=1`). Panics, failing the test, when the machine
    /// cannot run them and they were not skipped.
    pub fn new_or_skip(n: usize) -> Option<Lan> {
        skip_or_check().then(|| Lan::new(n))
    }

    /// Two LAN segments with a relay host between them, or None when the
    /// tests are skipped on purpose (see [`Lan::new_or_skip`]):
    ///
    /// ```text
    ///  host0 (A) 10.61.1.1 ── bridge 1 ── 10.61.1.254 ┐
    ///                                                 host2 (relay), no forwarding
    ///  host1 (B) 10.61.2.1 ── bridge 2 ── 10.61.2.254 ┘
    /// ```
    ///
    /// A and B have no route off their own /24 and the relay host does not
    /// forward (ip_forward 0, asserted), so there is no path at all between
    /// A and B, and mDNS (link-local multicast) stays on its segment. The
    /// relay host reaches both. [`Lan::addrs`] lists its two addresses,
    /// segment 1 first; `Host::ip` is the segment-1 one.
    pub fn two_segments_or_skip() -> Option<Lan> {
        skip_or_check().then(Lan::two_segments)
    }

    fn new(n: usize) -> Lan {
        assert!((1..=250).contains(&n), "a /24 holds at most 250 test hosts");
        let (pid, k) = Self::ids();
        // The namespaces are isolated from each other and from the machine,
        // so equal subnets could not actually collide; distinct ones keep
        // logs of parallel runs unambiguous. 10.128.0.0/9, 8 Lans per pid.
        let v = pid.wrapping_mul(8).wrapping_add(k % 8);
        let subnet = [128 + ((v >> 8) & 0x7f) as u8, (v & 0xff) as u8];
        let mut lan = Lan::empty();
        let b = lan.add_bridge(&format!("{BRIDGE_PREFIX}{pid}-{k}"));
        for i in 0..n {
            let ns = lan.add_host_ns(&format!("{HOST_PREFIX}{pid}-{k}-{i}"));
            let addr = Ipv4Addr::new(10, subnet[0], subnet[1], (i + 1) as u8);
            lan.attach(i, &ns, b, "eth0", addr);
            lan.hosts.push(Host::new(i, ns, addr));
        }
        lan
    }

    fn two_segments() -> Lan {
        let (pid, k) = Self::ids();
        let mut lan = Lan::empty();
        let b1 = lan.add_bridge(&format!("{BRIDGE_PREFIX}{pid}-{k}-s1"));
        let b2 = lan.add_bridge(&format!("{BRIDGE_PREFIX}{pid}-{k}-s2"));
        let a = Ipv4Addr::new(10, 61, 1, 1);
        let b = Ipv4Addr::new(10, 61, 2, 1);
        let (r1, r2) = (Ipv4Addr::new(10, 61, 1, 254), Ipv4Addr::new(10, 61, 2, 254));
        let ns = lan.add_host_ns(&format!("{HOST_PREFIX}{pid}-{k}-0"));
        lan.attach(0, &ns, b1, "eth0", a);
        lan.hosts.push(Host::new(0, ns, a));
        let ns = lan.add_host_ns(&format!("{HOST_PREFIX}{pid}-{k}-1"));
        lan.attach(1, &ns, b2, "eth0", b);
        lan.hosts.push(Host::new(1, ns, b));
        let ns = lan.add_host_ns(&format!("{HOST_PREFIX}{pid}-{k}-2"));
        lan.attach(2, &ns, b1, "eth0", r1);
        lan.attach(2, &ns, b2, "eth1", r2);
        // A new namespace starts with forwarding off; set and check it
        // anyway: the whole point of this topology is that it is off.
        let fwd = "/proc/sys/net/ipv4/ip_forward";
        let out = Command::new("ip")
            .args(["netns", "exec", &ns, "sh", "-c"])
            .arg(format!("echo 0 > {fwd} && cat {fwd}"))
            .output()
            .expect("running sh");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "0",
            "could not turn IP forwarding off in {ns}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lan.hosts.push(Host::new(2, ns, r1));
        lan
    }

    /// This process's pid and a fresh Lan number; removes leftovers first.
    fn ids() -> (u32, u32) {
        cleanup_stale();
        (std::process::id(), NEXT_LAN.fetch_add(1, Ordering::Relaxed))
    }

    fn empty() -> Lan {
        Lan {
            bridges: Vec::new(),
            created: Vec::new(),
            hosts: Vec::new(),
            ports: Vec::new(),
            addrs: Vec::new(),
        }
    }

    /// A bridge namespace with its bridge br0; returns its index.
    fn add_bridge(&mut self, name: &str) -> usize {
        ip(&["netns", "add", name]);
        self.created.push(name.to_owned());
        ip(&["-n", name, "link", "set", "lo", "up"]);
        // Snooping off: with no IGMP/MLD querier on the segment a snooping
        // bridge may stop forwarding the mDNS groups once it has seen a
        // report. A hub is what the tests want.
        ip(&[
            "-n",
            name,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        ip(&["-n", name, "link", "set", "br0", "multicast", "on", "up"]);
        self.bridges.push(name.to_owned());
        self.bridges.len() - 1
    }

    /// A host namespace with its loopback up.
    fn add_host_ns(&mut self, name: &str) -> String {
        ip(&["netns", "add", name]);
        self.created.push(name.to_owned());
        ip(&["-n", name, "link", "set", "lo", "up"]);
        name.to_owned()
    }

    /// Joins host `i` (namespace `ns`) to bridge `bridge` by a veth pair:
    /// port `p<i>` on the bridge, `dev` with `addr`/24 in the host.
    fn attach(&mut self, i: usize, ns: &str, bridge: usize, dev: &str, addr: Ipv4Addr) {
        let b = self.bridges[bridge].clone();
        let port = Self::port_name(i);
        // Created in the bridge namespace, its peer born in the host's.
        ip(&[
            "-n", &b, "link", "add", &port, "type", "veth", "peer", "name", dev, "netns", ns,
        ]);
        ip(&["-n", &b, "link", "set", &port, "master", "br0"]);
        ip(&["-n", &b, "link", "set", &port, "multicast", "on", "up"]);
        ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
        ip(&["-n", ns, "link", "set", dev, "multicast", "on", "up"]);
        if self.ports.len() <= i {
            self.ports.resize(i + 1, Vec::new());
            self.addrs.resize(i + 1, Vec::new());
        }
        self.ports[i].push((bridge, port));
        self.addrs[i].push(addr);
    }

    /// The bridge port of host `i` (≤ 15 bytes, like every interface name).
    fn port_name(i: usize) -> String {
        format!("p{i}")
    }

    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    /// Every address of host `i`, in the order its interfaces were added.
    pub fn addrs(&self, i: usize) -> &[Ipv4Addr] {
        &self.addrs[i]
    }

    /// Partitions host `i`: its bridge ports go down, so its interfaces
    /// lose carrier and nothing passes, while its processes keep running.
    pub fn cut(&self, i: usize) {
        self.set_ports(i, "down");
    }

    /// Undoes `cut`.
    pub fn restore(&self, i: usize) {
        self.set_ports(i, "up");
    }

    fn set_ports(&self, i: usize, state: &str) {
        for (bridge, port) in &self.ports[i] {
            ip(&["-n", &self.bridges[*bridge], "link", "set", port, state]);
        }
    }

    /// Whether host `from` reaches host `to` over TCP within `within`. No
    /// ping: iputils-ping is not on a minimal Debian 12 and not among
    /// `make deps`; perl-base and bash are Essential packages, so a perl
    /// listener and bash's /dev/tcp are on every Debian machine.
    pub fn reachable(&self, from: usize, to: usize, within: Duration) -> bool {
        self.reachable_at(from, to, self.host(to).ip, within)
    }

    /// Like `reachable`, at the address `ip` of host `to` (one of
    /// [`Lan::addrs`]).
    pub fn reachable_at(&self, from: usize, to: usize, ip: Ipv4Addr, within: Duration) -> bool {
        let target = self.host(to);
        let port = 4100 + (from as u16);
        let script = format!(
            "use IO::Socket::INET; \
             my $s = IO::Socket::INET->new(LocalAddr => '{}', LocalPort => {port}, Listen => 1, ReuseAddr => 1) or die $!; \
             print STDOUT \"ready\\n\"; STDOUT->flush(); \
             my $c = $s->accept() or die $!; print $c \"pong\\n\"; close $c;",
            ip
        );
        let mut listener = Command::new("ip")
            .args(["netns", "exec", &target.ns, "perl", "-e", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting a perl listener");
        // Wait for "ready" so a refused connect means the network, not a race.
        let mut stdout = listener.stdout.take().expect("piped");
        let mut ready = [0u8; 6];
        let listening = std::io::Read::read_exact(&mut stdout, &mut ready).is_ok();
        let deadline = Instant::now() + within;
        let mut ok = false;
        while listening && Instant::now() < deadline {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.host(from).ns,
                    "timeout",
                    "2",
                    "bash",
                    "-c",
                    &format!("exec 3<>/dev/tcp/{ip}/{port} && head -n1 <&3"),
                ])
                .stdin(Stdio::null())
                .output()
                .expect("running bash");
            if String::from_utf8_lossy(&out.stdout).trim() == "pong" {
                ok = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = listener.kill();
        let out = listener.wait_with_output().expect("waiting for perl");
        if !listening {
            eprintln!(
                "the perl listener on {} did not start: {}",
                target.ns,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        ok
    }

    pub fn namespaces(&self) -> &[String] {
        &self.created
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        // Hosts first (their temp dirs), then the namespaces, hosts before the
        // bridges. Deleting a namespace deletes the veth ends inside it, and
        // with them their peers.
        self.hosts.clear();
        for ns in self.created.iter().rev() {
            // A process still inside (a daemon whose guard leaked, a perl
            // listener) would keep the namespace alive after its name is
            // gone. Only processes this harness started can be in it.
            if let Ok(o) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("sh")
                        .args(["-c", "kill -KILL \"$1\"", "sh", pid])
                        .status();
                }
            }
            match Command::new("ip").args(["netns", "del", ns]).output() {
                Ok(o) if o.status.success() => {}
                Ok(o) => eprintln!(
                    "could not delete namespace {ns}: {}",
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => eprintln!("could not delete namespace {ns}: {e}"),
            }
        }
    }
}

/// Polls `cond` every 200 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
