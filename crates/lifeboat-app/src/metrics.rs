//! `lifeboat schedule --metrics-addr`: the Prometheus text of
//! `lifeboat_scheduler::metrics::render` over a minimal HTTP/1.1 server, from the history
//! store and the schedules the daemon runs now.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use lifeboat_scheduler::daemon::Entry;
use lifeboat_scheduler::{HistoryStore, Schedule};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::RunbookFile;

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a request read: enough for any `GET /metrics` a scraper sends.
const MAX_REQUEST_BYTES: usize = 8192;

/// The schedules the daemon runs now, by runbook name; replaced at each reload, read for
/// each scrape.
#[derive(Clone, Debug, Default)]
pub struct Schedules(Arc<RwLock<Vec<(String, Schedule)>>>);

impl Schedules {
    /// The schedules of `entries`.
    pub fn new(entries: &[Entry<RunbookFile>]) -> Self {
        let schedules = Schedules::default();
        schedules.replace(entries);
        schedules
    }

    /// From now on, the schedules of `entries`.
    pub fn replace(&self, entries: &[Entry<RunbookFile>]) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = entries
            .iter()
            .map(|e| (e.name.clone(), e.schedule.clone()))
            .collect();
    }

    fn snapshot(&self) -> Vec<(String, Schedule)> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped: one request per
/// connection, then close. Enough for Prometheus and curl; not a general web server.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn HistoryStore>,
    schedules: Schedules,
) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let store = store.clone();
        let schedules = schedules.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_REQUEST_BYTES];
            let mut n = 0;
            let read = async {
                while n < buf.len() {
                    let k = sock.read(&mut buf[n..]).await?;
                    n += k;
                    if k == 0 || buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                Ok::<(), std::io::Error>(())
            };
            if !matches!(
                tokio::time::timeout(REQUEST_TIMEOUT, read).await,
                Ok(Ok(()))
            ) {
                return;
            }
            let request = String::from_utf8_lossy(&buf[..n]);
            let (status, body) = respond(&request, &*store, &schedules).await;
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(response.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

/// The status line's code and text, and the body, for one request.
async fn respond(
    request: &str,
    store: &dyn HistoryStore,
    schedules: &Schedules,
) -> (&'static str, String) {
    let path = request.split_whitespace().nth(1).unwrap_or("");
    if !request.starts_with("GET ") {
        ("405 Method Not Allowed", "only GET\n".to_owned())
    } else if path == "/metrics" || path.starts_with("/metrics?") {
        metrics(store, schedules).await
    } else {
        ("404 Not Found", "metrics are at /metrics\n".to_owned())
    }
}

async fn metrics(store: &dyn HistoryStore, schedules: &Schedules) -> (&'static str, String) {
    let now = jiff::Timestamp::now();
    let schedules = schedules.snapshot();
    let mut next = Vec::with_capacity(schedules.len());
    for (name, schedule) in schedules {
        // As the daemon does: the next slot after the newest one already handled.
        let from = match store.last_slot(&name).await {
            Ok(last) => last.map_or(now, |l| l.max(now)),
            Err(e) => return ("500 Internal Server Error", format!("{e}\n")),
        };
        next.push((name, schedule.next_after(from)));
    }
    match store.history(None).await {
        Ok(history) => (
            "200 OK",
            lifeboat_scheduler::metrics::render(&history, &next),
        ),
        Err(e) => ("500 Internal Server Error", format!("{e}\n")),
    }
}

#[cfg(test)]
mod tests {
    use lifeboat_scheduler::store::SqliteStore;

    use super::*;

    #[tokio::test]
    async fn only_get_metrics_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        let schedules = Schedules::default();
        let (status, body) = respond("GET /metrics HTTP/1.1\r\n\r\n", &store, &schedules).await;
        assert_eq!(status, "200 OK");
        assert!(body.starts_with("# HELP lifeboat_last_outcome "), "{body}");
        let (status, _) = respond("GET /metrics?x=1 HTTP/1.1\r\n\r\n", &store, &schedules).await;
        assert_eq!(status, "200 OK");
        let (status, body) = respond("GET / HTTP/1.1\r\n\r\n", &store, &schedules).await;
        assert_eq!(
            (status, body.as_str()),
            ("404 Not Found", "metrics are at /metrics\n")
        );
        let (status, _) = respond("POST /metrics HTTP/1.1\r\n\r\n", &store, &schedules).await;
        assert_eq!(status, "405 Method Not Allowed");
    }
}
