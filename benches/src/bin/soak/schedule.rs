//! Scheduler and sampler.

use super::*;

/// xorshift64*: reproducible choices without a dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// An operation kind, by the weights of `--mix`.
pub(crate) fn pick_kind(rng: &mut Rng, mix: &[u32; OP_KINDS]) -> OpKind {
    let total: u32 = mix.iter().sum();
    let mut r = (rng.next() % total as u64) as u32;
    for kind in OpKind::ALL {
        let w = mix[kind as usize];
        if r < w {
            return kind;
        }
        r -= w;
    }
    unreachable!("r < total")
}

/// Reserves a random idle client for which `fits` holds (a few tries).
pub(crate) fn reserve_random(
    sh: &Shared,
    rng: &mut Rng,
    fits: impl Fn(usize) -> bool,
) -> Option<usize> {
    for _ in 0..32 {
        let i = rng.below(sh.users.len());
        if fits(i) && sh.try_reserve(i) {
            return Some(i);
        }
    }
    None
}

/// Issues operations at `--rate` per second until `until`.
pub(crate) async fn schedule(
    sh: &Shared,
    senders: &[mpsc::Sender<Op>],
    rng: &mut Rng,
    args: &Args,
    until: tokio::time::Instant,
) {
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = sleep_until(until) => return,
        }
        let kind = pick_kind(rng, &args.mix);
        let Some(client) = reserve_random(sh, rng, |_| true) else {
            sh.with_stats(|s| s.skipped += 1);
            continue;
        };
        let peer = if kind.needs_peer() {
            let callee_ok = |j: usize| {
                j != client && !(kind == OpKind::Call && sh.dnd[j].load(Ordering::Relaxed))
            };
            match reserve_random(sh, rng, callee_ok) {
                Some(peer) => Some(peer),
                None => {
                    sh.release(client);
                    sh.with_stats(|s| s.skipped += 1);
                    continue;
                }
            }
        } else {
            None
        };
        if senders[client].try_send(Op { kind, peer }).is_err() {
            sh.error(client, "idle client did not take an operation".into());
            if let Some(peer) = peer {
                sh.release(peer);
            }
        }
    }
}

pub(crate) fn take_sample(sh: &Shared, pid: u32) -> Sample {
    let (done, errors) = sh.totals();
    Sample {
        secs: sh.secs(),
        phase: sh.phase(),
        rss_kib: rss_kib(pid).unwrap_or(0),
        server_cpu: cpu_secs(pid).unwrap_or(0.0),
        done,
        errors,
    }
}

pub(crate) fn print_sample(s: &Sample, previous: Option<&Sample>) {
    let rate = previous
        .filter(|p| s.secs > p.secs)
        .map(|p| (s.done - p.done) as f64 / (s.secs - p.secs))
        .unwrap_or(0.0);
    let cpu = previous
        .filter(|p| s.secs > p.secs)
        .map(|p| 100.0 * (s.server_cpu - p.server_cpu) / (s.secs - p.secs))
        .unwrap_or(0.0);
    println!(
        "[{:7.2}s] {:<7} server RSS {:>8} KiB ({:6.1} MiB), server CPU {:5.1}%, ops done {:>7} ({:6.1}/s), errors {}",
        s.secs,
        PHASE_NAMES[s.phase as usize],
        s.rss_kib,
        s.rss_kib as f64 / 1024.0,
        cpu,
        s.done,
        rate,
        s.errors
    );
}

/// Least-squares slope of RSS over time, KiB per minute.
pub(crate) fn slope_kib_per_min(samples: &[Sample]) -> f64 {
    if samples.len() < 2 {
        return 0.0;
    }
    let n = samples.len() as f64;
    let mx = samples.iter().map(|s| s.secs).sum::<f64>() / n;
    let my = samples.iter().map(|s| s.rss_kib as f64).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for s in samples {
        sxy += (s.secs - mx) * (s.rss_kib as f64 - my);
        sxx += (s.secs - mx) * (s.secs - mx);
    }
    if sxx == 0.0 {
        0.0
    } else {
        sxy / sxx * 60.0
    }
}
