//! Shared pieces of the load generators: the command line ([`cli`]), child processes that
//! die with the bench ([`child`]), fan-out bookkeeping ([`fanout`]), what `/proc` tells
//! ([`procfs`]), starting the servers under test ([`peers`]), many clients at once
//! ([`tasks`]), the nats-server peer's client ([`nats`], on `async-nats`) and the printed
//! report ([`report`]); the video benches' test pattern and clip ([`video`]). The crvideo
//! client is `crvideo-testkit`'s, shared with the server's tests.

pub mod child;
pub mod cli;
pub mod fanout;
pub mod nats;
pub mod peers;
pub mod procfs;
pub mod report;
pub mod sdk_child;
pub mod tasks;
pub mod video;

use std::net::SocketAddr;
use std::time::Duration;

pub use child::{
    await_stdout_line, blocking, log_tail, stderr_file, stop_child, ChildGuard, TempDir,
};
pub use cli::{at_least, positive, run_load_generator, NatsArgs, ServerArgs};
pub use crvideo_testkit::Conn;
pub use fanout::Fanout;
pub use peers::{
    free_port, start_crvideo, start_crvideo_with_tenant, start_nats, start_nats_cluster,
    start_nats_with, wait_for_port, Server, BENCH_LIMITS, BENCH_PASSWORD, BENCH_TENANT,
};
pub use procfs::{
    cpu_secs, fd_limit_for, filesystem_of, machine, machine_busy_secs, mem_total_mib, peak_rss_kib,
    raise_fd_limit, reset_peak_rss, rss_kib, tcp_listen_overflows, CpuSince,
};
pub use tasks::{at_once, join_tasks, spawn_limited};

/// A result with a plain message as error: a bench reports and exits, it does not recover.
pub type BenchResult<T> = Result<T, String>;

/// Connects, says hello as `agent` and logs in as `user` of [`BENCH_TENANT`].
pub async fn login(
    addr: SocketAddr,
    user: &str,
    agent: &str,
    within: Duration,
) -> BenchResult<Conn> {
    Conn::login(addr, BENCH_TENANT, BENCH_PASSWORD, user, agent, within).await
}
