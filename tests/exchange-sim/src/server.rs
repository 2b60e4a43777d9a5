//! HTTP plumbing: binds 127.0.0.1, reads each request fully, logs it, applies faults, hands it to
//! the admin API or the exchange protocol modules, and writes the answer (or drops the socket).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::http::{Req, Resp};
use crate::{admin, binance_futures, binance_spot, bybit, lock, real_now_us, ws, Sim};

/// Error returned to hyper to close a connection without answering (the `drop` fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
pub struct Dropped;

/// Binds `127.0.0.1:port` (0 = any free port) and serves forever on a background task; also
/// starts the random-walk ticker (active while `sim.walk` is set).
///
/// # Errors
/// The bind error when the port is taken.
pub async fn start(sim: Arc<Sim>, port: u16) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let walker = sim.clone();
    tokio::spawn(async move {
        loop {
            let ms = lock(&walker.state).cfg.walk_interval_ms.max(10);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            if walker.walk.load(Ordering::Relaxed) {
                let now = walker.now_ms();
                lock(&walker.state).walk_step(now);
                walker.publish();
            }
        }
    });
    let handle = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let sim = sim.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |r| handle(sim.clone(), r));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
    Ok((addr, handle))
}

async fn read(req: Request<Incoming>) -> Req {
    let recv_us = real_now_us();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match req.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    Req {
        method,
        path,
        query,
        headers,
        body,
        recv_ms: recv_us / 1000,
        recv_us,
    }
}

fn to_hyper(r: Resp) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(r.status)
        .header("content-type", "application/json;charset=UTF-8");
    for (k, v) in &r.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn server_error(path: &str, status: u16) -> Resp {
    if path.starts_with("/v5/") {
        Resp::json(
            status,
            &json!({"retCode": 10016, "retMsg": "Internal server error.", "result": {}, "retExtInfo": {}, "time": real_now_us() / 1000}),
        )
    } else {
        Resp::json(
            status,
            &json!({"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}),
        )
    }
}

/// Routes an exchange request (no faults, no logging): used by the server and by tests.
pub fn dispatch(sim: &Sim, req: &Req) -> Resp {
    if req.path.starts_with("/api/v3/") {
        binance_spot::handle(sim, req)
    } else if req.path.starts_with("/fapi/") {
        binance_futures::handle(sim, req)
    } else if req.path.starts_with("/v5/") {
        bybit::handle(sim, req)
    } else {
        Resp::json(404, &json!({"code": -1, "msg": "Not found"}))
    }
}

async fn handle(sim: Arc<Sim>, raw: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    if ws::is_stream_path(raw.uri().path()) {
        return Ok(ws::upgrade(sim, raw).await);
    }
    let req = read(raw).await;
    if req.path.starts_with("/__admin") {
        let resp = admin::handle(&sim, &req);
        sim.publish();
        return Ok(to_hyper(resp));
    }
    let seq = lock(&sim.log).push(&req);
    let actions = lock(&sim.faults).take(&req.method, &req.path);
    if actions.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(actions.delay_ms)).await;
    }
    let resp = match actions.error {
        Some((status, false)) => server_error(&req.path, status),
        Some((status, true)) => {
            let _ = dispatch(&sim, &req);
            server_error(&req.path, status)
        }
        None => dispatch(&sim, &req),
    };
    sim.publish();
    if actions.delay_after_ms > 0 {
        tokio::time::sleep(Duration::from_millis(actions.delay_after_ms)).await;
    }
    if actions.drop {
        return Err(Dropped);
    }
    lock(&sim.log).set_status(seq, resp.status);
    Ok(to_hyper(resp))
}
