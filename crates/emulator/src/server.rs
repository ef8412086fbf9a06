//! Listeners and connections: each accepted socket is served by hyper's
//! HTTP/1.1 connection driver until it closes or the emulator stops.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::context::{Context, LoggedRequest};
use crate::http::{self, Outcome, Request};
use crate::limits::{self, Limits};
use crate::routes;

/// Which origin a listener serves.
#[derive(Clone, Copy)]
pub enum Origin {
    Aem,
    Blob,
}

/// The error a service returns to make hyper drop the connection unanswered.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

pub async fn serve(listener: TcpListener, origin: Origin, ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (stream, _) = match accepted {
            Ok(pair) => pair,
            Err(e) if is_transient(&e) => continue,
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let ctx = Arc::clone(&ctx);
                async move { handle(&ctx, origin, req).await }
            });
            let connection = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted)
}

async fn handle(ctx: &Arc<Context>, origin: Origin, req: Request) -> Result<crate::http::Response, DropConnection> {
    let started = Instant::now();
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut headers: Vec<_> = req.headers().keys().cloned().collect();
    headers.dedup();
    let route = match origin {
        Origin::Aem => routes::route_of(req.method(), &path),
        Origin::Blob => routes::names::PART,
    };
    let outcome = match origin {
        Origin::Aem if limits::throttled_route(route) => {
            // AEM's throttle (docs/protocol.md §11): over the limit, 429 at once.
            let config = ctx.config();
            match ctx.limits.admit(config.throttle.max_concurrent_aem_requests) {
                Some(_slot) => routes::dispatch_aem(ctx, route, req).await,
                None => {
                    let mut req = req;
                    http::drain(req.body_mut(), None).await;
                    Outcome::Respond(Limits::refusal(&config))
                }
            }
        }
        Origin::Aem => routes::dispatch_aem(ctx, route, req).await,
        Origin::Blob => routes::dispatch_blob(ctx, req).await,
    };
    let status = match &outcome {
        Outcome::Respond(response) => response.status().as_u16(),
        Outcome::Reset => 0,
    };
    if route != routes::names::CONTROL {
        ctx.log_request(LoggedRequest {
            method,
            path,
            route,
            headers,
            status,
            at,
            ms: started.elapsed().as_secs_f64() * 1000.0,
        });
    }
    match outcome {
        Outcome::Respond(response) => Ok(response),
        Outcome::Reset => Err(DropConnection),
    }
}
