//! The `crvideo-server` command.
//!
//! ```text
//! crvideo-server [--listen HOST:PORT] [--config FILE] [--data-dir DIR]
//! crvideo-server hash-password        (reads a password line from stdin)
//! crvideo-server token --tenant T --user U --ttl SECS [--config FILE]
//! ```
//!
//! Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when the address cannot be
//! bound (or another runtime failure), 2 for a bad config or command line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crvideo_server::config::{validate_listen_addr, DEMO_TENANT};
use crvideo_server::{auth, Config, Server};

#[derive(Parser)]
#[command(
    name = "crvideo-server",
    version,
    about = "The server the CRVideo SDK talks to"
)]
struct Cli {
    /// Address to listen on, HOST:PORT (port 0: any free port) [default: 127.0.0.1:2727]
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// TOML config file (without one: the built-in development tenant demo)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for durable state [default: ./crvideo-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Read a password (one line) from stdin and print its hash for `password_hash`.
    HashPassword,
    /// Print a user token (for `privAuthCode`) signed with the tenant's `token_secret`.
    Token {
        /// Tenant account
        #[arg(long, value_name = "T")]
        tenant: String,
        /// User ID inside the tenant
        #[arg(long, value_name = "U")]
        user: String,
        /// Seconds the token stays valid
        #[arg(long, value_name = "SECS")]
        ttl: u64,
        /// The config file with the tenant's token_secret (also accepted before `token`)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::HashPassword) => return hash_password(),
        Some(Command::Token {
            tenant,
            user,
            ttl,
            config,
        }) => return token(&tenant, &user, ttl, config.or(cli.config)),
        None => {}
    }
    init_logging();
    raise_fd_limit();

    let mut config = match &cli.config {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(e) => return fail(2, &e.to_string()),
        },
        None => {
            tracing::info!(
                "no --config given: serving the built-in development tenant {DEMO_TENANT:?} (not for production)"
            );
            Config::with_demo_tenant()
        }
    };
    if let Some(listen) = cli.listen {
        if let Err(problem) = validate_listen_addr(&listen) {
            return fail(2, &format!("--listen: {problem}"));
        }
        config.listen = listen;
    }
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }

    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.thread_name("crvideo-worker");
    if config.worker_threads > 0 {
        builder.worker_threads(config.worker_threads);
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(1, &format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> ExitCode {
    use tokio::signal::unix::{signal, SignalKind};
    // Installed before listening, so a signal right after the "listening" line is not lost.
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(e), _) | (_, Err(e)) => return fail(1, &format!("cannot handle signals: {e}")),
    };

    let server = match Server::start(config).await {
        Ok(server) => server,
        // The database or Redis unreachable, or this node's ID taken: a config problem.
        Err(e) if e.kind() == std::io::ErrorKind::NotConnected => return fail(2, &e.to_string()),
        // Each says what failed (listening, the data dir, the TLS files).
        Err(e) => return fail(1, &e.to_string()),
    };
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "listening on {}", server.local_addr());
        let _ = stdout.flush();
    }

    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    server.shutdown().await;
    ExitCode::SUCCESS
}

fn hash_password() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
        return fail(1, &format!("cannot read the password from stdin: {e}"));
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return fail(
            2,
            "hash-password: empty password (give it as one line on stdin)",
        );
    }
    println!("{}", auth::hash_password(password));
    ExitCode::SUCCESS
}

fn token(tenant: &str, user: &str, ttl: u64, config: Option<PathBuf>) -> ExitCode {
    let Some(path) = config else {
        return fail(
            2,
            "token: --config FILE is required (it holds the token_secret)",
        );
    };
    let config = match Config::load(&path) {
        Ok(config) => config,
        Err(e) => return fail(2, &e.to_string()),
    };
    let Some(t) = config.tenants.iter().find(|t| t.account == tenant) else {
        return fail(
            2,
            &format!("token: no tenant {tenant:?} in {}", path.display()),
        );
    };
    let Some(secret) = t.token_secret() else {
        return fail(2, &format!("token: tenant {tenant:?} has no token_secret"));
    };
    if user.is_empty() || auth::validate_user_id(user).is_err() {
        return fail(2, "token: --user must be a valid, non-empty user ID");
    }
    let expiry = auth::unix_now().saturating_add(ttl);
    println!("{}", auth::mint_token(secret, tenant, user, expiry));
    ExitCode::SUCCESS
}

fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .finish()
        // Even at RUST_LOG=trace: no WebSocket payloads (passwords, tokens) in the log.
        .with(crvideo_server::logging::no_payloads())
        .init();
}

/// Every client is a socket: lift the soft limit on open files to the hard limit, so a
/// server started from a shell with the usual 1024 serves more clients than that.
fn raise_fd_limit() {
    #[cfg(unix)]
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                tracing::warn!("could not raise the open-file limit");
            }
        }
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            tracing::info!("open-file limit: {}", limit.rlim_cur);
        }
    }
}

/// One line on stderr, and the exit code.
fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("crvideo-server: {message}");
    ExitCode::from(code)
}
