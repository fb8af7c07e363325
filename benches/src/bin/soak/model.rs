//! What is measured and counted.

use super::*;

/// Operations the scheduler issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    Relogin,
    Presence,
    Call,
    Cmd,
    Resume,
}
pub(crate) const OP_KINDS: usize = 5;

impl OpKind {
    pub(crate) const ALL: [OpKind; OP_KINDS] = [
        OpKind::Relogin,
        OpKind::Presence,
        OpKind::Call,
        OpKind::Cmd,
        OpKind::Resume,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            OpKind::Relogin => "relogin",
            OpKind::Presence => "presence",
            OpKind::Call => "call",
            OpKind::Cmd => "cmd",
            OpKind::Resume => "resume",
        }
    }

    pub(crate) fn needs_peer(self) -> bool {
        matches!(self, OpKind::Call | OpKind::Cmd)
    }
}

/// What a latency sample or a reply code belongs to: a request (request → its reply), or a
/// composite step (named in [`Timed::describe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timed {
    Hello,
    Login,
    EnableResume,
    SubscribeStatus,
    Logout,
    Relogin,
    SetDnd,
    SetDndAcrossResume,
    Call,
    CallSetup,
    AcceptCall,
    HangupCall,
    SendCmd,
    Resume,
}
pub(crate) const TIMED: usize = 14;

impl Timed {
    pub(crate) const ALL: [Timed; TIMED] = [
        Timed::Hello,
        Timed::Login,
        Timed::EnableResume,
        Timed::SubscribeStatus,
        Timed::Logout,
        Timed::Relogin,
        Timed::SetDnd,
        Timed::SetDndAcrossResume,
        Timed::Call,
        Timed::CallSetup,
        Timed::AcceptCall,
        Timed::HangupCall,
        Timed::SendCmd,
        Timed::Resume,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Timed::Hello => "hello",
            Timed::Login => "login",
            Timed::EnableResume => "enable_resume",
            Timed::SubscribeStatus => "subscribe_status",
            Timed::Logout => "logout",
            Timed::Relogin => "relogin",
            Timed::SetDnd => "set_dnd",
            Timed::SetDndAcrossResume => "set_dnd_across_resume",
            Timed::Call => "call",
            Timed::CallSetup => "call_setup",
            Timed::AcceptCall => "accept_call",
            Timed::HangupCall => "hangup_call",
            Timed::SendCmd => "send_cmd",
            Timed::Resume => "resume",
        }
    }

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

/// Events the clients count.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seen {
    UserStatus,
    CallIn,
    CallAccepted,
    CallHungup,
    CmdIn,
}
pub(crate) const SEEN: usize = 5;
pub(crate) const SEEN_NAMES: [&str; SEEN] = [
    "user_status",
    "call_in",
    "call_accepted",
    "call_hungup",
    "command in",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Setup,
    Warmup,
    Steady,
    Drain,
    Teardown,
}
pub(crate) const PHASES: usize = 5;
pub(crate) const PHASE_NAMES: [&str; PHASES] = ["setup", "warm-up", "steady", "drain", "teardown"];

impl Phase {
    pub(crate) fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Setup,
            1 => Phase::Warmup,
            2 => Phase::Steady,
            3 => Phase::Drain,
            _ => Phase::Teardown,
        }
    }
}

#[derive(Default)]
pub(crate) struct PhaseStats {
    pub(crate) latencies: Vec<Vec<Duration>>,
    /// (what, reply code) → count.
    pub(crate) codes: BTreeMap<(Timed, i32), u64>,
    pub(crate) seen: [u64; SEEN],
    pub(crate) issued: [u64; OP_KINDS],
    pub(crate) done: [u64; OP_KINDS],
    pub(crate) failed: [u64; OP_KINDS],
    /// Ticks when no idle client (or peer) was found.
    pub(crate) skipped: u64,
    pub(crate) errors: u64,
    /// Text frames a client sent again after a resume (the server had not got them), and
    /// the resumes that sent any.
    pub(crate) resent_by_clients: u64,
    pub(crate) resumes_resending: u64,
}

impl PhaseStats {
    pub(crate) fn new() -> PhaseStats {
        PhaseStats {
            latencies: vec![Vec::new(); TIMED],
            ..Default::default()
        }
    }
}

pub(crate) struct Stats {
    pub(crate) phases: Vec<PhaseStats>,
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

pub(crate) const FREE: u8 = 0;
pub(crate) const BUSY: u8 = 1;
pub(crate) const DEAD: u8 = 2;

/// State shared by the clients, the scheduler and the sampler.
pub(crate) struct Shared {
    pub(crate) addr: SocketAddr,
    pub(crate) t0: Instant,
    pub(crate) users: Vec<String>,
    /// Per client: FREE, BUSY (in an operation, as its initiator or peer) or DEAD.
    pub(crate) state: Vec<AtomicU8>,
    /// Per client: DND is on (calls avoid such callees: they would be refused as busy).
    pub(crate) dnd: Vec<AtomicBool>,
    pub(crate) phase: AtomicU8,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) cmd_payload: Vec<u8>,
    pub(crate) max_error_lines: usize,
    pub(crate) printed_errors: AtomicUsize,
    /// The server's heartbeat period (clients ping at the same period).
    pub(crate) heartbeat_ms: u64,
}

impl Shared {
    pub(crate) fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    pub(crate) fn secs(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    pub(crate) fn with_stats<R>(&self, f: impl FnOnce(&mut PhaseStats) -> R) -> R {
        self.with_stats_in(self.phase(), f)
    }

    pub(crate) fn with_stats_in<R>(&self, phase: Phase, f: impl FnOnce(&mut PhaseStats) -> R) -> R {
        f(&mut self.stats.lock().unwrap().phases[phase as usize])
    }

    /// An unexpected outcome: counted, and printed (up to `--max-error-lines`).
    pub(crate) fn error(&self, client: usize, what: String) {
        let phase = self.phase();
        let line = format!(
            "[{:7.2}s {}] client {client} ({}): {what}",
            self.secs(),
            PHASE_NAMES[phase as usize],
            self.users[client]
        );
        {
            let mut stats = self.stats.lock().unwrap();
            stats.phases[phase as usize].errors += 1;
            if stats.first_errors.len() < 20 {
                stats.first_errors.push(line.clone());
            }
        }
        let n = self.printed_errors.fetch_add(1, Ordering::Relaxed);
        if n < self.max_error_lines {
            eprintln!("soak: error {line}");
        } else if n == self.max_error_lines {
            eprintln!("soak: (further errors are counted, not printed)");
        }
    }

    pub(crate) fn record(&self, what: Timed, took: Duration) {
        self.with_stats(|s| s.latencies[what as usize].push(took));
    }

    pub(crate) fn record_code(&self, what: Timed, code: i32) {
        self.with_stats(|s| *s.codes.entry((what, code)).or_default() += 1);
    }

    pub(crate) fn seen(&self, what: Seen) {
        self.with_stats(|s| s.seen[what as usize] += 1);
    }

    pub(crate) fn try_reserve(&self, client: usize) -> bool {
        self.state[client]
            .compare_exchange(FREE, BUSY, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    pub(crate) fn release(&self, client: usize) {
        let _ =
            self.state[client].compare_exchange(BUSY, FREE, Ordering::AcqRel, Ordering::Relaxed);
    }

    pub(crate) fn mark_dead(&self, client: usize) {
        self.state[client].store(DEAD, Ordering::Release);
    }

    pub(crate) fn count_state(&self, wanted: u8) -> usize {
        self.state
            .iter()
            .filter(|s| s.load(Ordering::Relaxed) == wanted)
            .count()
    }

    pub(crate) fn totals(&self) -> (u64, u64) {
        let stats = self.stats.lock().unwrap();
        stats.phases.iter().fold((0, 0), |(d, e), p| {
            (d + p.done.iter().sum::<u64>(), e + p.errors)
        })
    }
}
