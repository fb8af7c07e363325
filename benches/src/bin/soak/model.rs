//! What is measured and counted, and the state the clients, the scheduler and the sampler
//! share.

use super::*;

/// An enum whose variants have names: `ALL` of them in order, `N` of them, `name()`.
macro_rules! named {
    ($(#[$meta:meta])* $enum:ident { $($variant:ident = $name:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub(crate) enum $enum { $($variant),* }

        impl $enum {
            pub(crate) const ALL: [$enum; [$($name),*].len()] = [$($enum::$variant),*];
            pub(crate) const N: usize = Self::ALL.len();

            pub(crate) fn name(self) -> &'static str {
                [$($name),*][self as usize]
            }
        }
    };
}

named! {
    /// Operations the scheduler issues.
    OpKind { Relogin = "relogin", Presence = "presence", Call = "call", Cmd = "cmd", Resume = "resume" }
}

named! {
    /// What a latency sample or a reply code belongs to: a request (request → its reply), or
    /// a composite step (see [`Timed::describe`]).
    Timed {
        Hello = "hello",
        Login = "login",
        EnableResume = "enable_resume",
        SubscribeStatus = "subscribe_status",
        Logout = "logout",
        Relogin = "relogin",
        SetDnd = "set_dnd",
        SetDndAcrossResume = "set_dnd_across_resume",
        Call = "call",
        CallSetup = "call_setup",
        AcceptCall = "accept_call",
        HangupCall = "hangup_call",
        SendCmd = "send_cmd",
        Resume = "resume",
    }
}

impl Timed {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Timed::Login => "TCP connect to login reply (WebSocket handshake, hello, login)",
            Timed::Relogin => "logout sent to logged in again (resume enabled, subscribed)",
            Timed::CallSetup => "call sent to call_accepted at the caller (callee accepts)",
            Timed::SendCmd => "command sent to its reply (after the target's cmd_ack)",
            Timed::Resume => "connection dropped to resume reply on a new one (with hello)",
            Timed::SetDndAcrossResume => {
                "set_dnd sent just before the drop to its reply after the resume"
            }
            _ => "request to reply",
        }
    }
}

named! {
    /// Events (and commands) the clients count.
    Seen { UserStatus = "user_status", CallIn = "call_in", CallAccepted = "call_accepted",
           CallHungup = "call_hungup", CmdIn = "command in" }
}

named! {
    Phase { Setup = "setup", Warmup = "warm-up", Steady = "steady", Drain = "drain", Teardown = "teardown" }
}

#[derive(Default)]
pub(crate) struct PhaseStats {
    pub(crate) latencies: [Vec<Duration>; Timed::N],
    /// (what, reply code) → count.
    pub(crate) codes: BTreeMap<(Timed, i32), u64>,
    pub(crate) seen: [u64; Seen::N],
    pub(crate) issued: [u64; OpKind::N],
    pub(crate) done: [u64; OpKind::N],
    pub(crate) failed: [u64; OpKind::N],
    /// Ticks when no idle client (or peer) was found.
    pub(crate) skipped: u64,
    pub(crate) errors: u64,
    /// Text frames a client sent again after a resume (the server had not got them), and
    /// the resumes that sent any.
    pub(crate) resent_by_clients: u64,
    pub(crate) resumes_resending: u64,
}

#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) phases: [PhaseStats; Phase::N],
    /// The first error lines, to repeat in the report.
    pub(crate) first_errors: Vec<String>,
}

/// One reading of the server process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) secs: f64,
    pub(crate) phase: Phase,
    pub(crate) rss_kib: u64,
    pub(crate) server_cpu: f64,
    /// Operations finished so far (all phases) and unexpected errors so far.
    pub(crate) done: u64,
    pub(crate) errors: u64,
}

/// A client's state: idle, in an operation (as its initiator or peer), or without a session.
pub(crate) const FREE: u8 = 0;
pub(crate) const BUSY: u8 = 1;
pub(crate) const DEAD: u8 = 2;

/// State shared by the clients, the scheduler and the sampler.
pub(crate) struct Shared {
    pub(crate) args: Args,
    pub(crate) addr: SocketAddr,
    pub(crate) t0: Instant,
    pub(crate) users: Vec<String>,
    /// Per client: FREE, BUSY or DEAD.
    pub(crate) state: Vec<AtomicU8>,
    /// Per client: DND is on (calls avoid such callees: they would be refused as busy).
    pub(crate) dnd: Vec<AtomicBool>,
    pub(crate) phase: AtomicU8,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) cmd_payload: Vec<u8>,
    pub(crate) printed_errors: AtomicUsize,
}

impl Shared {
    pub(crate) fn phase(&self) -> Phase {
        Phase::ALL[self.phase.load(Ordering::Relaxed) as usize]
    }

    pub(crate) fn secs(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    /// `f` on the statistics of the current phase.
    pub(crate) fn stats<R>(&self, f: impl FnOnce(&mut PhaseStats) -> R) -> R {
        self.stats_in(self.phase(), f)
    }

    pub(crate) fn stats_in<R>(&self, phase: Phase, f: impl FnOnce(&mut PhaseStats) -> R) -> R {
        f(&mut self.stats.lock().unwrap().phases[phase as usize])
    }

    /// An unexpected outcome: counted, and printed (up to `--max-error-lines`).
    pub(crate) fn error(&self, client: usize, what: String) {
        let phase = self.phase();
        let (secs, user) = (self.secs(), &self.users[client]);
        let line = format!(
            "[{secs:7.2}s {}] client {client} ({user}): {what}",
            phase.name()
        );
        {
            let mut stats = self.stats.lock().unwrap();
            stats.phases[phase as usize].errors += 1;
            if stats.first_errors.len() < 20 {
                stats.first_errors.push(line.clone());
            }
        }
        let (n, max) = (
            self.printed_errors.fetch_add(1, Ordering::Relaxed),
            self.args.max_error_lines,
        );
        if n < max {
            eprintln!("soak: error {line}");
        } else if n == max {
            eprintln!("soak: (further errors are counted, not printed)");
        }
    }

    pub(crate) fn record(&self, what: Timed, took: Duration) {
        self.stats(|s| s.latencies[what as usize].push(took));
    }

    /// Moves `client` from state `from` to `to`, if it is in `from`.
    pub(crate) fn switch(&self, client: usize, from: u8, to: u8) -> bool {
        let state = &self.state[client];
        state
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    pub(crate) fn release(&self, client: usize) {
        self.switch(client, BUSY, FREE);
    }

    pub(crate) fn count_state(&self, wanted: u8) -> usize {
        self.state
            .iter()
            .filter(|s| s.load(Ordering::Relaxed) == wanted)
            .count()
    }
}
