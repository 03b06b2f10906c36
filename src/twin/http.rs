//! The lean hyper transport: serves any [`Twin`] on a TCP listener.
//!
//! One task per connection on the multi-threaded runtime, HTTP/1.1 keep-alive,
//! bodies read up to the twin's limit (a larger one is answered 413 without
//! being buffered), the twin's delay honoured with a timer, and nothing kept per
//! request after the answer: memory stays flat however long the replay.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{Delivery, Twin, TwinRequest, TwinResponse};

/// A running server: its address and a handle to stop it.
#[derive(Debug)]
pub struct ServerHandle {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Binds `addr` and serves `twin` in the background until the handle is shut down.
pub async fn spawn(twin: Arc<dyn Twin>, addr: SocketAddr) -> std::io::Result<ServerHandle> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        serve(listener, twin, async move {
            let _ = stopped.changed().await;
        })
        .await
    });
    Ok(ServerHandle { addr, stop, task })
}

/// Serves `twin` on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, twin: Arc<dyn Twin>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    // Out of file descriptors and the like: keep serving.
                    Err(_) => continue,
                };
                let _ = stream.set_nodelay(true);
                let twin = twin.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(twin.clone(), peer.ip(), req));
                    let _ = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Why a connection was closed instead of answered.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}
impl std::error::Error for Dropped {}

async fn answer(twin: Arc<dyn Twin>, peer: IpAddr, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    let limit = twin.max_body_bytes();
    let mut treq = TwinRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body: Bytes::new(),
        peer,
    };
    let declared_too_large = treq
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit);
    // A body left unread ends the connection: the 413 says so (`Connection:
    // close`, as a real server does), or a client would send its next request
    // on a connection the server is closing and get a broken pipe.
    let too_large = |treq: &TwinRequest| twin.body_too_large(treq, limit).with_header("connection", "close");
    let tresp = if declared_too_large {
        too_large(&treq)
    } else {
        match Limited::new(body, limit).collect().await {
            Ok(collected) => {
                treq.body = collected.to_bytes();
                // Handlers are CPU-bound and short; run them inline.
                twin.handle(treq)
            }
            Err(_) => too_large(&treq),
        }
    };
    if !tresp.delay.is_zero() {
        crate::clock::sleep_wall(tresp.delay).await;
    }
    if tresp.delivery == Delivery::Drop {
        return Err(Dropped);
    }
    Ok(to_hyper(tresp))
}

fn to_hyper(t: TwinResponse) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(t.status);
    for (k, v) in &t.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder.body(Full::new(t.body)).unwrap_or_else(|_| {
        let mut r = Response::new(Full::new(Bytes::from_static(b"invalid response header")));
        *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// Runs a server until Ctrl-C (for `synctwin mock`).
pub async fn serve_until_ctrl_c(twin: Arc<dyn Twin>, listener: TcpListener) {
    serve(listener, twin, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
