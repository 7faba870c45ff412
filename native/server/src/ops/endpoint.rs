//! The HTTP side of `--metrics ADDR:PORT`: `GET /metrics` and
//! `GET /healthz`, on a thread of its own so a scrape never waits behind
//! transfers. Requests are read by httparse; every answer closes the
//! connection.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use async_io::{Async, Timer};
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};

use super::health::Health;
use super::metrics::{Metrics, Sample};

/// Longest request head read (a scraper's is a few hundred bytes).
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request and read the answer.
const DEADLINE: Duration = Duration::from_secs(10);
/// Most scrapes answered at once; more wait in the listen queue.
const MAX_OPEN: usize = 16;

/// Serves `/metrics` (with the store's own `samples`, read at each scrape)
/// and `/healthz` on `listener` until the process ends; `probe` runs on
/// the same thread (see [`Health::watch`]).
pub fn spawn(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    samples: impl Fn() -> Vec<Sample> + Send + 'static,
    health: Arc<Health>,
    probe: impl std::future::Future<Output = ()> + 'static + Send,
) -> std::io::Result<()> {
    let listener = Async::new(listener)?;
    std::thread::Builder::new()
        .name("ferry-metrics".into())
        .spawn(move || {
            let local = smol::LocalExecutor::new();
            local.spawn(probe).detach();
            let open = Arc::new(smol::lock::Semaphore::new(MAX_OPEN));
            let samples = std::rc::Rc::new(samples);
            smol::block_on(local.run(async {
                loop {
                    let permit = open.acquire_arc().await;
                    let Ok((stream, _)) = listener.accept().await else {
                        Timer::after(Duration::from_millis(100)).await;
                        continue;
                    };
                    let (metrics, health, samples) =
                        (metrics.clone(), health.clone(), samples.clone());
                    local
                        .spawn(async move {
                            let answer = answer(stream, &metrics, &*samples, &health);
                            let _ = answer
                                .or(async {
                                    Timer::after(DEADLINE).await;
                                    Ok(())
                                })
                                .await;
                            drop(permit);
                        })
                        .detach();
                }
            }));
        })?;
    Ok(())
}

/// Reads one request and answers it.
async fn answer(
    mut stream: Async<std::net::TcpStream>,
    metrics: &Metrics,
    samples: &dyn Fn() -> Vec<Sample>,
    health: &Health,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let (method, path) = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {
                let method = request.method.unwrap_or_default().to_owned();
                let path = request.path.unwrap_or_default().to_owned();
                break (method, path);
            }
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => {}
            _ => {
                let reply = reply("400 Bad Request", "text/plain", "not an HTTP request\n");
                return stream.write_all(&reply).await;
            }
        }
    };
    // The query (`?...`) is ignored, as scrapers may add one.
    let path = path.split('?').next().unwrap_or_default();
    let (status, kind, body) = match (method.as_str(), path) {
        ("GET" | "HEAD", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.text(samples()),
        ),
        ("GET" | "HEAD", "/healthz") => match health.state() {
            Ok(()) => ("200 OK", "text/plain; charset=utf-8", "ok\n".to_owned()),
            Err(why) => (
                "503 Service Unavailable",
                "text/plain; charset=utf-8",
                format!("{why}\n"),
            ),
        },
        ("GET" | "HEAD", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "only /metrics and /healthz are served here\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET and HEAD are answered\n".to_owned(),
        ),
    };
    let mut out = reply(status, kind, &body);
    if method == "HEAD" {
        out.truncate(out.len() - body.len());
    }
    stream.write_all(&out).await?;
    stream.flush().await
}

/// A whole response that closes the connection.
fn reply(status: &str, kind: &str, body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}
