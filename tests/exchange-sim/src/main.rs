//! `keel-exchange-sim --port P [--config FILE.json] [--seed N] [--price-walk]`: starts the
//! simulator on 127.0.0.1 and prints `SIM_READY http://127.0.0.1:P` once it is listening.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use keel_exchange_sim::config::SimConfig;
use keel_exchange_sim::{server, Sim};

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("usage: keel-exchange-sim --port P [--config FILE.json] [--seed N] [--price-walk]")]
    Usage,
    #[error("--{0}: invalid value {1:?}")]
    Value(&'static str, String),
    #[error("--config {0}: {1}")]
    Config(String, String),
    #[error("cannot listen on 127.0.0.1:{0}: {1}")]
    Bind(u16, std::io::Error),
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
}

struct Args {
    port: u16,
    config: Option<String>,
    seed: u64,
    walk: bool,
}

fn parse_args() -> Result<Args, CliError> {
    let mut a = Args {
        port: 0,
        config: None,
        seed: 42,
        walk: false,
    };
    let mut it = std::env::args().skip(1);
    let mut port_set = false;
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => {
                let v = it.next().ok_or(CliError::Usage)?;
                a.port = v.parse().map_err(|_| CliError::Value("port", v))?;
                port_set = true;
            }
            "--config" => a.config = Some(it.next().ok_or(CliError::Usage)?),
            "--seed" => {
                let v = it.next().ok_or(CliError::Usage)?;
                a.seed = v.parse().map_err(|_| CliError::Value("seed", v))?;
            }
            "--price-walk" => a.walk = true,
            _ => return Err(CliError::Usage),
        }
    }
    if !port_set {
        return Err(CliError::Usage);
    }
    Ok(a)
}

fn run() -> Result<(), CliError> {
    let args = parse_args()?;
    let cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Config(path.clone(), e.to_string()))?;
            serde_json::from_str::<SimConfig>(&text)
                .map_err(|e| CliError::Config(path.clone(), e.to_string()))?
        }
        None => SimConfig::default(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    rt.block_on(async move {
        let sim = Arc::new(Sim::new(cfg, args.seed));
        sim.walk.store(args.walk, Ordering::Relaxed);
        let (addr, handle) = server::start(sim, args.port)
            .await
            .map_err(|e| CliError::Bind(args.port, e))?;
        println!("SIM_READY http://{addr}");
        let _ = std::io::stdout().flush();
        let _ = handle.await;
        Ok(())
    })
}

fn main() {
    if let Err(e) = run() {
        eprintln!("keel-exchange-sim: {e}");
        std::process::exit(2);
    }
}
