//! `weft-relay`: starts with no configuration (SQLite in its data dir, TCP
//! and QUIC on 4467, `/metrics` on 127.0.0.1:9466) and prints the address
//! devices add with `weft relay add`.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use weft_relay::config::{self, Config, FileConfig};

/// An always-on blind peer and circuit relay for Weft devices: it stores
/// and forwards sealed changes it cannot read.
#[derive(Debug, Parser)]
#[command(name = "weft-relay", version)]
struct Args {
    /// A TOML file with any of the settings below (flags and environment
    /// win over it).
    #[arg(long, env = "WEFT_RELAY_CONFIG")]
    config: Option<PathBuf>,
    /// Where the relay keeps its identity and (by default) its database
    /// [default: $XDG_DATA_HOME/weft-relay].
    #[arg(long, env = "WEFT_RELAY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite:PATH (default: relay.db in the data dir) or
    /// postgres://USER@HOST/DB, which several relay processes may share.
    #[arg(long, env = "WEFT_RELAY_DATABASE")]
    database: Option<String>,
    /// TCP and QUIC port on every interface [default: 4467].
    #[arg(long, env = "WEFT_RELAY_PORT")]
    port: Option<u16>,
    /// Listen on these multiaddrs instead (repeat, or comma-separated).
    #[arg(long, env = "WEFT_RELAY_LISTEN", value_delimiter = ',')]
    listen: Vec<String>,
    /// Also announce these multiaddrs (a public address behind a port
    /// forward).
    #[arg(long, env = "WEFT_RELAY_EXTERNAL", value_delimiter = ',')]
    external: Vec<String>,
    /// Serve /health and /metrics here ("off" to disable)
    /// [default: 127.0.0.1:9466].
    #[arg(long, env = "WEFT_RELAY_HTTP")]
    http: Option<String>,
    /// Storage per workspace, like 500MiB or 2GiB; 0 for none [default: 128MiB].
    #[arg(long, env = "WEFT_RELAY_QUOTA", value_parser = parse_size)]
    quota: Option<u64>,
    /// Workspaces (registrations) this relay accepts; 0 for no limit
    /// [default: 1000].
    #[arg(long, env = "WEFT_RELAY_MAX_WORKSPACES")]
    max_workspaces: Option<u64>,
    /// Bytes per second one device may send, sustained [default: 4MiB].
    #[arg(long, env = "WEFT_RELAY_RATE", value_parser = parse_size)]
    rate: Option<u64>,
    /// Bytes one device may send in a burst [default: 16MiB].
    #[arg(long, env = "WEFT_RELAY_BURST", value_parser = parse_size)]
    burst: Option<u64>,
    /// Seconds a device may stay over its rate (slowed) before it is
    /// refused [default: 30].
    #[arg(long, env = "WEFT_RELAY_RATE_PATIENCE")]
    rate_patience: Option<u64>,
    /// Connections held at once [default: 8192].
    #[arg(long, env = "WEFT_RELAY_MAX_CONNECTIONS")]
    max_connections: Option<u32>,
    /// Shard threads [default: the number of CPUs].
    #[arg(long, env = "WEFT_RELAY_SHARDS")]
    shards: Option<usize>,
    /// Seconds SIGTERM waits for sessions to drain [default: 10].
    #[arg(long, env = "WEFT_RELAY_DRAIN_TIMEOUT")]
    drain_timeout: Option<u64>,
    /// Bytes per second one source address may send, over all its devices
    /// and streams [default: 16MiB].
    #[arg(long, env = "WEFT_RELAY_SOURCE_RATE", value_parser = parse_size)]
    source_rate: Option<u64>,
    /// Bytes one source address may send in a burst [default: 64MiB].
    #[arg(long, env = "WEFT_RELAY_SOURCE_BURST", value_parser = parse_size)]
    source_burst: Option<u64>,
    /// Frames per second one device may send [default: 500].
    #[arg(long, env = "WEFT_RELAY_FRAME_RATE")]
    frame_rate: Option<u64>,
    /// Frames per second one source address may send [default: 2000].
    #[arg(long, env = "WEFT_RELAY_SOURCE_FRAME_RATE")]
    source_frame_rate: Option<u64>,
    /// Sync streams one source address may hold; 0 for no limit [default: 64].
    #[arg(long, env = "WEFT_RELAY_MAX_STREAMS_PER_SOURCE")]
    max_streams_per_source: Option<usize>,
    /// Connections one source address may hold; 0 for no limit [default: 32].
    #[arg(long, env = "WEFT_RELAY_MAX_CONNECTIONS_PER_SOURCE")]
    max_connections_per_source: Option<usize>,
    /// Seconds an authenticated stream may stay silent [default: 120].
    #[arg(long, env = "WEFT_RELAY_IDLE_TIMEOUT")]
    idle_timeout: Option<u64>,
    /// Seconds a started frame has to arrive whole [default: 60].
    #[arg(long, env = "WEFT_RELAY_FRAME_TIMEOUT")]
    frame_timeout: Option<u64>,
    /// Memory for buffered frames, reorder buffers and queued writes, all
    /// streams together [default: 256MiB].
    #[arg(long, env = "WEFT_RELAY_MEMORY_BUDGET", value_parser = parse_size)]
    memory_budget: Option<u64>,
    /// Control requests per minute per source address; 0 for no limit
    /// [default: 60].
    #[arg(long, env = "WEFT_RELAY_CONTROL_PER_MINUTE")]
    control_per_minute: Option<u64>,
    /// New registrations per hour per source address; 0 for no limit
    /// [default: 10].
    #[arg(long, env = "WEFT_RELAY_REGISTRATIONS_PER_HOUR_PER_SOURCE")]
    registrations_per_hour_per_source: Option<u64>,
    /// New registrations per hour in all; 0 for no limit [default: 200].
    #[arg(long, env = "WEFT_RELAY_REGISTRATIONS_PER_HOUR")]
    registrations_per_hour: Option<u64>,
    /// Lift the tombstones a forget left for this workspace id (every key
    /// it was forgotten with), so its devices may register it again; then
    /// exit without serving.
    #[arg(long, value_name = "WORKSPACE_ID")]
    unforget: Option<String>,
}

/// `1024`, `64KiB`, `500MB`, `2GiB` (K/M/G and KiB/MiB/GiB are both
/// powers of 1024: storage people reason in those).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 500MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "{s:?}: unknown unit {other:?} (use KiB, MiB or GiB)"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

fn resolve(args: Args) -> anyhow::Result<Config> {
    let file = match &args.config {
        Some(p) => FileConfig::read(p)?,
        None => FileConfig::default(),
    };
    let data_dir = args
        .data_dir
        .or(file.data_dir)
        .or_else(|| dirs::data_dir().map(|d| d.join("weft-relay")))
        .context("no data directory: pass --data-dir")?;
    let mut cfg = Config::with_data_dir(data_dir);
    cfg.database = args.database.or(file.database);
    let port = args.port.or(file.port);
    let listen = if !args.listen.is_empty() {
        config::parse_addrs("--listen", &args.listen)?
    } else if let Some(l) = &file.listen {
        config::parse_addrs("listen in the config file", l)?
    } else {
        config::default_listen(port.unwrap_or(weft_net::RELAY_PORT))
    };
    cfg.listen = listen;
    if !args.external.is_empty() {
        cfg.external = config::parse_addrs("--external", &args.external)?;
    } else if let Some(e) = &file.external {
        cfg.external = config::parse_addrs("external in the config file", e)?;
    }
    if let Some(h) = args.http.or(file.http) {
        cfg.http = config::parse_http(&h)?;
    }
    macro_rules! pick {
        ($field:ident, $arg:expr, $file:expr) => {
            if let Some(v) = $arg.or($file) {
                cfg.$field = v;
            }
        };
    }
    pick!(quota_bytes, args.quota, file.quota_bytes);
    pick!(max_workspaces, args.max_workspaces, file.max_workspaces);
    pick!(rate_bytes, args.rate, file.rate_bytes);
    pick!(burst_bytes, args.burst, file.burst_bytes);
    pick!(max_connections, args.max_connections, file.max_connections);
    pick!(shards, args.shards, file.shards);
    pick!(source_rate_bytes, args.source_rate, file.source_rate_bytes);
    pick!(
        source_burst_bytes,
        args.source_burst,
        file.source_burst_bytes
    );
    pick!(frame_rate, args.frame_rate, file.frame_rate);
    pick!(
        source_frame_rate,
        args.source_frame_rate,
        file.source_frame_rate
    );
    pick!(
        max_streams_per_source,
        args.max_streams_per_source,
        file.max_streams_per_source
    );
    pick!(
        max_connections_per_source,
        args.max_connections_per_source,
        file.max_connections_per_source
    );
    pick!(memory_budget, args.memory_budget, file.memory_budget);
    pick!(
        control_per_minute,
        args.control_per_minute,
        file.control_per_minute
    );
    pick!(
        registrations_per_hour_per_source,
        args.registrations_per_hour_per_source,
        file.registrations_per_hour_per_source
    );
    pick!(
        registrations_per_hour,
        args.registrations_per_hour,
        file.registrations_per_hour
    );
    if let Some(s) = args.idle_timeout.or(file.idle_timeout_secs) {
        cfg.idle_timeout = Duration::from_secs(s);
    }
    if let Some(s) = args.frame_timeout.or(file.frame_timeout_secs) {
        cfg.frame_timeout = Duration::from_secs(s);
    }
    if let Some(s) = args.rate_patience.or(file.rate_patience_secs) {
        cfg.rate_patience = Duration::from_secs(s);
    }
    if let Some(s) = args.drain_timeout.or(file.drain_timeout_secs) {
        cfg.drain_timeout = Duration::from_secs(s);
    }
    if cfg.rate_bytes == 0 || cfg.source_rate_bytes == 0 {
        anyhow::bail!("--rate and --source-rate must be above 0");
    }
    let least = weft_relay::min_memory_budget(cfg.shards.max(1));
    if cfg.memory_budget < least {
        anyhow::bail!(
            "--memory-budget {} is below the least this relay runs with, {least} bytes (with {} shards: one largest frame per shard twice, and room for reads)",
            cfg.memory_budget,
            cfg.shards.max(1)
        );
    }
    Ok(cfg)
}

fn main() -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // A log line that cannot be written (stderr on a full disk) is
        // dropped rather than reported with `eprintln!`, which panics.
        .log_internal_errors(false)
        .init();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weft-relay: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let mut args = Args::parse();
    let unforget = args.unforget.take();
    let cfg = resolve(args)?;
    if let Some(id) = unforget {
        let ws: weft_core::WorkspaceId = id
            .parse()
            .map_err(|e| anyhow::anyhow!("--unforget: {id:?} is not a workspace id: {e}"))?;
        let url = cfg.database_url();
        let store = weft_relay::store::open(&url)
            .with_context(|| format!("opening the database {}", redact(&url)))?;
        let n = store.unforget(&ws)?;
        println!("workspace {ws}: {n} tombstone(s) lifted; its devices may register it again");
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        // Before anything starts: a SIGTERM during start-up still drains.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        let db = cfg.database_url();
        let relay = weft_relay::Relay::start(cfg).await?;
        let addrs = relay.wait_listening(Duration::from_secs(5)).await;
        println!(
            "weft-relay {} is running (peer id {}, database {})",
            env!("CARGO_PKG_VERSION"),
            relay.peer(),
            redact(&db)
        );
        if let Some(h) = relay.http_addr() {
            println!("health and metrics: http://{h}/health http://{h}/metrics");
        }
        println!("add it on a device with one of:");
        for a in &addrs {
            println!("  weft relay add {a}");
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        // An interface that comes up later (or reports late) gets its line
        // too.
        let mut printed = addrs;
        let mut check = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = term.recv() => {
                    tracing::info!("SIGTERM: draining");
                    break;
                }
                _ = tokio::signal::ctrl_c() => {
                    tracing::info!("interrupted: draining");
                    break;
                }
                _ = check.tick() => {
                    for a in relay.listen_addrs().await {
                        if !printed.contains(&a) {
                            // Not println!: whoever started the relay may
                            // have stopped reading its output, and a closed
                            // pipe must not stop the relay.
                            let mut out = std::io::stdout();
                            let _ = writeln!(out, "  weft relay add {a}");
                            let _ = out.flush();
                            printed.push(a);
                        }
                    }
                }
            }
        }
        relay.shutdown().await;
        tracing::info!("stopped");
        Ok(())
    })
}

/// A database URL without its password, for the log.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_size("500mb"), Ok(500 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5PB").is_err());
    }

    #[test]
    fn passwords_are_not_logged() {
        assert_eq!(
            redact("postgres://weft:secret@db/weft"),
            "postgres://weft:***@db/weft"
        );
        assert_eq!(redact("postgres://weft@db/weft"), "postgres://weft@db/weft");
        assert_eq!(redact("sqlite:/var/lib/x.db"), "sqlite:/var/lib/x.db");
    }
}
