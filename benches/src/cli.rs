//! What every load generator shares on its command line, and how it runs.

use std::path::PathBuf;
use std::time::Duration;

use crate::BenchResult;

/// The server under test.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// The crvideo-server binary to start.
    #[arg(long, default_value_os_t = default_server_bin())]
    pub server_bin: PathBuf,
}

fn default_server_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/crvideo-server")
}

impl ServerArgs {
    /// An error unless the binary exists.
    pub fn check(&self) -> BenchResult<()> {
        let bin = self.server_bin.display();
        match self.server_bin.is_file() {
            true => Ok(()),
            false => Err(format!("no server binary at {bin} (cargo build --release -p crvideo-server, or --server-bin)")),
        }
    }
}

/// The nats-server peer.
#[derive(clap::Args, Debug, Clone)]
pub struct NatsArgs {
    /// The nats-server binary to start as the peer.
    #[arg(long, default_value = "nats-server")]
    pub nats_bin: String,
    /// Run without the nats-server peer.
    #[arg(long)]
    pub skip_nats: bool,
}

/// A parser of counts of at least `min` (for `value_parser`).
pub fn at_least(
    min: usize,
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |s| match s.trim().parse() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("not a number >= {min}: {s:?}")),
    }
}

/// A count of at least 1.
pub fn positive(s: &str) -> Result<usize, String> {
    at_least(1)(s)
}

/// Runs a load generator's `run` on a 2-worker runtime (the client shares the machine with
/// the server), stopping at Ctrl-C; the runtime's tasks (every connection) are dropped
/// before the process exits, which is 1 on error, the error printed as `name: error`.
pub fn run_load_generator<F>(name: &str, run: F)
where
    F: std::future::Future<Output = BenchResult<()>>,
{
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    let runtime = runtime
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(async {
        tokio::select! {
            r = run => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    if let Err(e) = outcome {
        eprintln!("{name}: {e}");
        std::process::exit(1);
    }
}
