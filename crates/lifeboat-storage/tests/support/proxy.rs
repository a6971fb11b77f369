//! A TCP proxy that misbehaves on purpose, between lifeboat and a real storage server.
//!
//! It forwards bytes both ways and can (a) cut a connection in the middle of an object's body,
//! the way a flaky network or a load balancer does, and (b) cap each connection's download
//! rate and add latency, the way a real cloud link does — which loopback servers do not.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to the responses of requests that mention `target`.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Requests whose first line contains this text (an object key) are the ones affected.
    pub target: String,
    /// Cut this many such responses...
    pub cuts: usize,
    /// ...after forwarding this many bytes of each.
    pub cut_after: usize,
    /// Instead of closing a cut connection, hold it open and send nothing more: a stalled
    /// server rather than a broken one.
    pub stall: bool,
    /// Cap on each connection's download rate, bytes per second (0: none).
    pub rate: u64,
    /// Added before the first byte of the answer to each request.
    pub latency: Duration,
}

impl Faults {
    pub fn cut(target: &str, cuts: usize, cut_after: usize) -> Faults {
        Faults {
            target: target.to_owned(),
            cuts,
            cut_after,
            stall: false,
            rate: 0,
            latency: Duration::ZERO,
        }
    }
}

pub struct Proxy {
    pub addr: SocketAddr,
    cut_done: Arc<AtomicUsize>,
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    pub async fn start(upstream: SocketAddr, faults: Faults) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut_done = Arc::new(AtomicUsize::new(0));
        let budget = Arc::new(AtomicUsize::new(faults.cuts));
        let faults = Arc::new(faults);
        let done = Arc::clone(&cut_done);
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let faults = Arc::clone(&faults);
                let budget = Arc::clone(&budget);
                let done = Arc::clone(&done);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, &faults, &budget, &done).await;
                    }
                });
            }
        });
        Proxy { addr, cut_done }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Responses cut so far.
    pub fn cuts(&self) -> usize {
        self.cut_done.load(Ordering::SeqCst)
    }
}

/// Forwards one connection. Requests are watched on the way up; a response to a request for
/// the target is cut (both sides closed) after `cut_after` bytes while the budget lasts.
async fn relay(
    client: TcpStream,
    server: TcpStream,
    faults: &Faults,
    budget: &AtomicUsize,
    done: &AtomicUsize,
) {
    let (mut c_read, mut c_write) = client.into_split();
    let (mut s_read, mut s_write) = server.into_split();
    // Set by the upward half when a request for the target goes by: the response bytes
    // counted from then on belong to it (HTTP/1.1 answers requests in order).
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Requests seen going up; the down half delays its next bytes once per new request.
    let requests = Arc::new(AtomicUsize::new(0));
    let up = {
        let armed = Arc::clone(&armed);
        let requests = Arc::clone(&requests);
        let target = faults.target.clone();
        async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match c_read.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let text = String::from_utf8_lossy(&buf[..n]);
                let new = ["GET ", "HEAD ", "PUT ", "POST ", "DELETE "];
                let count = text
                    .lines()
                    .filter(|l| new.iter().any(|m| l.starts_with(m)))
                    .count();
                requests.fetch_add(count, Ordering::SeqCst);
                if text
                    .lines()
                    .any(|l| l.starts_with("GET ") && l.contains(&target))
                {
                    armed.store(true, Ordering::SeqCst);
                }
                if s_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = s_write.shutdown().await;
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut since_armed = 0usize;
        let mut answered = 0;
        // When the link is free again: idle time earns no credit, as on a real capped link.
        let mut free_at = tokio::time::Instant::now();
        loop {
            let n = match s_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let asked = requests.load(Ordering::SeqCst);
            if asked > answered {
                answered = asked;
                if !faults.latency.is_zero() {
                    tokio::time::sleep(faults.latency).await;
                }
            }
            let chunk = &buf[..n];
            if armed.load(Ordering::SeqCst) {
                let room = faults.cut_after.saturating_sub(since_armed);
                if chunk.len() > room && take(budget) {
                    let _ = c_write.write_all(&chunk[..room]).await;
                    done.fetch_add(1, Ordering::SeqCst);
                    if faults.stall {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    // Dropping both halves closes the connection mid-body.
                    return;
                }
                since_armed += chunk.len();
                if since_armed > faults.cut_after {
                    armed.store(false, Ordering::SeqCst);
                }
            }
            if faults.rate > 0 {
                let cost = Duration::from_secs_f64(chunk.len() as f64 / faults.rate as f64);
                free_at = free_at.max(tokio::time::Instant::now()) + cost;
                tokio::time::sleep_until(free_at).await;
            }
            if c_write.write_all(chunk).await.is_err() {
                break;
            }
        }
        let _ = c_write.shutdown().await;
    };
    tokio::join!(up, down);
}

/// Takes one cut from the budget, if any is left.
fn take(budget: &AtomicUsize) -> bool {
    budget
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
        .is_ok()
}
