//! Starting the systems under test: crvideo-server with a temporary config, nats-server on a
//! free port.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::child::{await_stdout_line, blocking, log_tail, stderr_file, stop_child, ChildGuard};
use crate::BenchResult;

/// A TCP port on 127.0.0.1 that was free a moment ago (for peers that cannot listen on
/// port 0 and tell which port they got).
pub fn free_port() -> BenchResult<u16> {
    let listener = TcpListener::bind("127.0.0.1:0");
    let listener = listener.map_err(|e| format!("cannot bind a probe port: {e}"))?;
    Ok(listener
        .local_addr()
        .map_err(|e| format!("probe port: {e}"))?
        .port())
}

/// Waits until something accepts TCP connections at `addr`.
pub fn wait_for_port(addr: SocketAddr, within: Duration) -> BenchResult<()> {
    let deadline = Instant::now() + within;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() >= deadline {
            return Err(format!("nothing listens on {addr} after {within:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The `[limits]` of a load generator's server: rates, connections not logged in yet per
/// address, commands in flight and meetings beyond what one real client may use.
pub const BENCH_LIMITS: &str = "\n[limits]\nrequests_per_sec = 1000000\nrequest_burst = 1000000\n\
    cmds_per_sec = 1000000\ncmd_burst = 1000000\nmax_cmds_in_flight = 1000000\n\
    max_prelogin_connections = 1000000\nmax_prelogin_per_address = 1000000\n\
    max_meetings_per_user = 1000000\nmax_meetings_per_tenant = 1000000\n";

/// Tenant and password of the temporary server config written by [`start_crvideo`].
pub const BENCH_TENANT: &str = "bench";
pub const BENCH_PASSWORD: &str = "bench-pw";

/// Starts `server_bin` with a config in `dir` (`listen = 127.0.0.1:0`, `data_dir = dir/data`,
/// tenant [`BENCH_TENANT`], then the lines of `extra_config`; [`BENCH_LIMITS`] unless they
/// have `[limits]`), its log in `dir/server.log`; returns at its `listening on` line.
pub fn start_crvideo(
    server_bin: &Path,
    dir: &Path,
    extra_config: &str,
) -> BenchResult<(ChildGuard, SocketAddr)> {
    start_crvideo_with_tenant(server_bin, dir, extra_config, "")
}

/// [`start_crvideo`] with `tenant_config` appended after the tenant's keys (sub-tables of
/// the tenant, e.g. `[[tenants.queues]]` entries).
pub fn start_crvideo_with_tenant(
    server_bin: &Path,
    dir: &Path,
    extra_config: &str,
    tenant_config: &str,
) -> BenchResult<(ChildGuard, SocketAddr)> {
    let (config, data) = (
        dir.join("server.toml"),
        dir.join("data").display().to_string(),
    );
    // Load generators send far more than the per-session rate limits allow a real client,
    // and connect thousands of users from one address at once.
    let limits = if extra_config.contains("[limits]") {
        ""
    } else {
        BENCH_LIMITS
    };
    let tenant = format!("account = \"{BENCH_TENANT}\"\npassword = \"{BENCH_PASSWORD}\"");
    let text = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = {data:?}\n{extra_config}\n\n[[tenants]]\n{tenant}\n{tenant_config}\n{limits}"
    );
    std::fs::write(&config, text).map_err(|e| format!("cannot write the server config: {e}"))?;
    let mut command = Command::new(server_bin);
    command
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    command.stderr(stderr_file(dir, "server.log")?);
    let mut server = ChildGuard::spawn("crvideo-server", command)?;
    let addr = await_stdout_line(&mut server, "listening on ", Duration::from_secs(30))?;
    let parsed = addr.trim().parse();
    let addr = parsed.map_err(|e| format!("server printed a bad address {addr:?}: {e}"))?;
    Ok((server, addr))
}

/// Starts `nats-server -a 127.0.0.1 -p <free port>`, its log in `dir/nats.log`; returns once
/// it accepts connections.
pub fn start_nats(nats_bin: &str, dir: &Path) -> BenchResult<(ChildGuard, SocketAddr)> {
    start_nats_with(nats_bin, dir, &[])
}

/// [`start_nats`] with extra command-line arguments (e.g. `--max_payload`).
pub fn start_nats_with(
    nats_bin: &str,
    dir: &Path,
    extra_args: &[&str],
) -> BenchResult<(ChildGuard, SocketAddr)> {
    let port = free_port()?;
    let mut command = Command::new(nats_bin);
    command
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .args(extra_args);
    command.stdin(Stdio::null()).stdout(Stdio::null());
    command.stderr(stderr_file(dir, "nats.log")?);
    let nats = ChildGuard::spawn("nats-server", command)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_port(addr, Duration::from_secs(10))?;
    Ok((nats, addr))
}

/// `nodes` nats-servers routed to each other on loopback (cluster `bench`), each with its
/// log in `dir/nats-<i>.log`; returns once each accepts clients.
pub fn start_nats_cluster(nats_bin: &str, dir: &Path, nodes: usize) -> BenchResult<Vec<Server>> {
    let ports: Vec<(u16, u16)> = (0..nodes)
        .map(|_| Ok((free_port()?, free_port()?)))
        .collect::<BenchResult<_>>()?;
    let routes = ports
        .iter()
        .map(|(_, route)| format!("nats://127.0.0.1:{route}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut servers = Vec::new();
    for (i, (client, route)) in ports.iter().enumerate() {
        let log = dir.join(format!("nats-{i}.log"));
        let mut command = Command::new(nats_bin);
        command
            .args(["-a", "127.0.0.1", "-p", &client.to_string()])
            .args(["--name", &format!("n{i}"), "--cluster_name", "bench"])
            .args(["--cluster", &format!("nats://127.0.0.1:{route}")])
            .args(["--routes", &routes])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr_file(dir, &format!("nats-{i}.log"))?);
        let child = ChildGuard::spawn("nats-server", command)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], *client));
        blocking(|| wait_for_port(addr, Duration::from_secs(10)))?;
        servers.push(Server {
            name: "nats-server",
            child,
            addr,
            log,
        });
    }
    Ok(servers)
}

/// A started server, under test or peer: its process, address and log.
pub struct Server {
    pub name: &'static str,
    pub child: ChildGuard,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    /// [`start_crvideo_with_tenant`].
    pub fn crvideo(bin: &Path, dir: &Path, config: &str, tenant: &str) -> BenchResult<Server> {
        let (child, addr) = start_crvideo_with_tenant(bin, dir, config, tenant)?;
        let log = dir.join("server.log");
        Ok(Server {
            name: "crvideo-server",
            child,
            addr,
            log,
        })
    }

    /// [`start_nats_with`], also from async code.
    pub fn nats(bin: &str, dir: &Path, extra_args: &[&str]) -> BenchResult<Server> {
        let (child, addr) = blocking(|| start_nats_with(bin, dir, extra_args))?;
        let log = dir.join("nats.log");
        Ok(Server {
            name: "nats-server",
            child,
            addr,
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// [`Server::finish`] for each of `servers`, in order, after `result` of a run on them.
    pub fn finish_all<T>(servers: Vec<Server>, mut result: BenchResult<T>) -> BenchResult<T> {
        for server in servers {
            result = server.finish(result);
        }
        result
    }

    /// Stops the server after `result` of a run on it, and prints how it ended. An error, or
    /// the server's exit before this, comes back naming the server, with how it ended and
    /// the last lines of its log.
    pub fn finish<T>(mut self, result: BenchResult<T>) -> BenchResult<T> {
        let result = match result {
            Ok(_) if !self.child.is_running() => Err("it exited during the run".into()),
            r => r,
        };
        let stopped = stop_child(&mut self.child);
        let (name, log) = (self.name, log_tail(&self.log, 20));
        let result =
            result.map_err(|e| format!("{name}: {e}\n({stopped}; last lines of its log:)\n{log}"));
        result.inspect(|_| println!("{stopped}"))
    }
}
