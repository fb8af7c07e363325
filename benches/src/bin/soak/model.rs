//! What is measured and counted, and the state the clients, the scheduler and the sampler
//! share.

use super::*;

/// An enum whose variants have names: `ALL` of them in order, `N` of them, `name()`.
macro_rules! named {
    ($(#[$meta:meta])* $enum:ident { $($variant:ident = $name:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum $enum { $($variant),* }

        impl $enum {
            pub const ALL: [$enum; [$($name),*].len()] = [$($enum::$variant),*];
            pub const N: usize = Self::ALL.len();

            pub fn name(self) -> &'static str {
                [$($name),*][self as usize]
            }
        }
    };
}

named! {
    /// Operations the scheduler issues.
    OpKind {
        Relogin = "relogin", Presence = "presence", Call = "call", Cmd = "cmd", Resume = "resume",
    }
}

named! {
    /// What a latency sample or a reply code belongs to: a request (request → its reply), or
    /// a composite step (see [`Timed::describe`]).
    Timed {
        Hello = "hello", Login = "login", EnableResume = "enable_resume",
        SubscribeStatus = "subscribe_status", Logout = "logout", Relogin = "relogin",
        SetDnd = "set_dnd", SetDndAcrossResume = "set_dnd_across_resume", Call = "call",
        CallSetup = "call_setup", AcceptCall = "accept_call", HangupCall = "hangup_call",
        SendCmd = "send_cmd", Resume = "resume",
    }
}

impl Timed {
    /// What its latency is: from what to what.
    pub fn describe(self) -> &'static str {
        match self {
            Timed::Login => "TCP connect to login reply (WebSocket handshake, hello, login)",
            Timed::Relogin => "logout sent to logged in again (resume enabled, subscribed)",
            Timed::CallSetup => "call sent to call_accepted at the caller (callee accepts)",
            Timed::SendCmd => "command sent to its reply (after the target's cmd_ack)",
            Timed::Resume => "connection dropped to resume reply on a new one (with hello)",
            Timed::SetDndAcrossResume => {
                "set_dnd just before the drop to its reply after the resume"
            }
            _ => "request to reply",
        }
    }
}

named! {
    Phase {
        Setup = "setup", Warmup = "warm-up", Steady = "steady", Drain = "drain",
        Teardown = "teardown",
    }
}

/// Counts: unexpected errors, and scheduler ticks that found no idle client (or peer).
pub const ERRORS: &str = "unexpected errors";
pub const SKIPPED: &str = "ticks skipped (no idle client)";

#[derive(Default)]
pub struct PhaseStats {
    pub latencies: [Vec<Duration>; Timed::N],
    /// Named counts: operations issued, done and failed, reply codes, events received,
    /// unexpected errors, ...
    pub counts: BTreeMap<String, u64>,
}

impl PhaseStats {
    pub fn add(&mut self, key: String, n: u64) {
        *self.counts.entry(key).or_default() += n;
    }

    /// The sum of the counts whose names end with `suffix`.
    pub fn sum(&self, suffix: &str) -> u64 {
        let named = self.counts.iter().filter(|(key, _)| key.ends_with(suffix));
        named.map(|(_, n)| n).sum()
    }
}

#[derive(Default)]
pub struct Stats {
    pub phases: [PhaseStats; Phase::N],
    /// Unexpected errors so far, and the first lines of them, to repeat in the report.
    pub errors: usize,
    pub first_errors: Vec<String>,
}

/// One reading of the server process, with the operations done and the unexpected errors
/// so far.
#[derive(Clone, Copy)]
pub struct Sample {
    pub secs: f64,
    pub phase: Phase,
    pub rss_kib: u64,
    pub server_cpu: f64,
    pub done: u64,
    pub errors: u64,
}

/// A client's state: idle, in an operation (as its initiator or peer), or without a session.
pub const FREE: u8 = 0;
pub const BUSY: u8 = 1;
pub const DEAD: u8 = 2;

/// State shared by the clients, the scheduler and the sampler.
pub struct Shared {
    pub args: Args,
    pub addr: SocketAddr,
    pub t0: Instant,
    pub users: Vec<String>,
    /// Per client: FREE, BUSY or DEAD.
    pub state: Vec<AtomicU8>,
    /// Per client: DND is on (calls avoid such callees: they would be refused as busy).
    pub dnd: Vec<AtomicBool>,
    pub phase: AtomicU8,
    pub stats: Mutex<Stats>,
    pub cmd_payload: Vec<u8>,
}

impl Shared {
    pub fn phase(&self) -> Phase {
        Phase::ALL[self.phase.load(Relaxed) as usize]
    }

    pub fn secs(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    /// `f` on the statistics of `phase` (by default the current one).
    pub fn stats<R>(&self, phase: Option<Phase>, f: impl FnOnce(&mut PhaseStats) -> R) -> R {
        let phase = phase.unwrap_or_else(|| self.phase());
        f(&mut self.stats.lock().unwrap().phases[phase as usize])
    }

    /// One more of `key` in the current phase.
    pub fn count(&self, key: String) {
        self.stats(None, |s| s.add(key, 1));
    }

    pub fn record(&self, what: Timed, took: Duration) {
        self.stats(None, |s| s.latencies[what as usize].push(took));
    }

    /// An unexpected outcome: counted, and printed (up to `--max-error-lines`).
    pub fn error(&self, client: usize, what: String) {
        let (phase, secs, user) = (self.phase(), self.secs(), &self.users[client]);
        let line = format!(
            "[{secs:7.2}s {}] client {client} ({user}): {what}",
            phase.name()
        );
        let mut stats = self.stats.lock().unwrap();
        stats.phases[phase as usize].add(ERRORS.into(), 1);
        stats.errors += 1;
        if stats.errors <= 20 {
            stats.first_errors.push(line.clone());
        }
        let (n, max) = (stats.errors, self.args.max_error_lines);
        drop(stats);
        if n <= max {
            eprintln!("soak: error {line}");
        } else if n == max + 1 {
            eprintln!("soak: (further errors are counted, not printed)");
        }
    }

    /// Moves `client` from state `from` to `to`, if it is in `from`.
    pub fn switch(&self, client: usize, from: u8, to: u8) -> bool {
        let state = &self.state[client];
        state.compare_exchange(from, to, AcqRel, Relaxed).is_ok()
    }

    pub fn release(&self, client: usize) {
        self.switch(client, BUSY, FREE);
    }

    pub fn count_state(&self, wanted: u8) -> usize {
        let states = self.state.iter().map(|s| s.load(Relaxed));
        states.filter(|&s| s == wanted).count()
    }
}
