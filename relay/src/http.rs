//! `/health` and `/metrics` over plain HTTP/1.1: two GET routes, so a
//! hand-written responder (bounded request, a timeout, `Connection:
//! close`) rather than a web framework in an always-on daemon.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::Shared;

/// Largest request head read.
const MAX_REQUEST: usize = 8 * 1024;

/// Binds the HTTP listener (so a taken port fails at start, not later).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// The first pause after a failed accept, and the longest.
const ACCEPT_PAUSE: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

/// The pause after another failed accept: doubled, up to the longest.
fn next_pause(pause: Duration) -> Duration {
    (pause * 2).min(ACCEPT_PAUSE.1)
}

/// Serves until the process ends.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut pause = ACCEPT_PAUSE.0;
    loop {
        let sock = match listener.accept().await {
            Ok((sock, _)) => {
                pause = ACCEPT_PAUSE.0;
                sock
            }
            Err(e) => {
                // Out of file descriptors (EMFILE) and the like do not clear by
                // retrying at once: retrying in a loop would spin a core.
                tracing::warn!(
                    "accepting an HTTP connection: {e}; next try in {} ms",
                    pause.as_millis()
                );
                tokio::time::sleep(pause).await;
                pause = next_pause(pause);
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), answer(sock, shared)).await;
        });
    }
}

async fn answer(mut sock: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_REQUEST {
            return respond(&mut sock, 431, "text/plain", "request too large\n").await;
        }
    }
    let line = buf.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    if method != "GET" && method != "HEAD" {
        return respond(&mut sock, 405, "text/plain", "only GET\n").await;
    }
    let draining = shared.draining.load(Ordering::Acquire);
    match path {
        "/health" => {
            let db = shared.totals().await;
            match (draining, db) {
                (true, _) => respond(&mut sock, 503, "text/plain", "draining\n").await,
                (false, Ok(_)) => {
                    let m = &shared.metrics;
                    let ext = m.external_addrs.load(Ordering::Relaxed);
                    let public = m.public_external_addrs.load(Ordering::Relaxed);
                    let body = match crate::metrics::circuit_warning(
                        ext,
                        public,
                        !shared.cfg.external.is_empty(),
                    ) {
                        None => format!("ok\nexternal_addresses: {ext}\ncircuits: ok\n"),
                        Some(w) => {
                            format!("ok\nexternal_addresses: {ext}\ncircuits: warning: {w}\n")
                        }
                    };
                    respond(&mut sock, 200, "text/plain", &body).await
                }
                (false, Err(e)) => {
                    respond(&mut sock, 503, "text/plain", &format!("database: {e}\n")).await
                }
            }
        }
        "/metrics" => {
            let totals = shared.totals().await.ok();
            let b = &shared.budget;
            let body = shared
                .metrics
                .render(totals, draining, (b.used(), b.peak(), b.cap()));
            respond(&mut sock, 200, "text/plain; version=0.0.4", &body).await
        }
        _ => {
            respond(
                &mut sock,
                404,
                "text/plain",
                "not found: try /health or /metrics\n",
            )
            .await
        }
    }
}

async fn respond(sock: &mut TcpStream, code: u16, ctype: &str, body: &str) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(body.as_bytes()).await?;
    sock.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_back_off_to_a_second() {
        let mut p = ACCEPT_PAUSE.0;
        let mut seen = vec![p];
        for _ in 0..10 {
            p = next_pause(p);
            seen.push(p);
        }
        assert_eq!(seen[1], Duration::from_millis(20));
        assert_eq!(*seen.last().unwrap(), Duration::from_secs(1));
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    }
}
