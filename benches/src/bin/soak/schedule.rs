//! The scheduler of the operations, and the samples of the server.

use super::*;

/// xorshift64*: reproducible choices without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    /// An operation kind, by the weights of `--mix`.
    fn pick(&mut self, mix: &[u32; OpKind::N]) -> OpKind {
        let mut r = self.below(mix.iter().sum::<u32>() as u64) as u32;
        for kind in OpKind::ALL {
            if r < mix[kind as usize] {
                return kind;
            }
            r -= mix[kind as usize];
        }
        unreachable!("r < the sum of the weights")
    }

    /// Reserves a random idle client for which `fits` holds (a few tries).
    fn reserve(&mut self, sh: &Shared, fits: impl Fn(usize) -> bool) -> Option<usize> {
        let mut tries = (0..32).map(|_| self.below(sh.users.len() as u64) as usize);
        tries.find(|&i| fits(i) && sh.switch(i, FREE, BUSY))
    }
}

/// Issues operations at `--rate` per second until `until`, each of a kind chosen by the
/// `--mix` weights, on a random idle client (and peer: a call's callee is not in DND).
pub async fn schedule(sh: &Shared, to: &[mpsc::Sender<Op>], rng: &mut Rng, until: Instant) {
    let mix = &sh.args.mix;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / sh.args.rate));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = sleep_until(until.into()) => return,
        }
        let kind = rng.pick(mix);
        let Some(client) = rng.reserve(sh, |_| true) else {
            sh.count(SKIPPED.into());
            continue;
        };
        let callee = |j: usize| j != client && !(kind == OpKind::Call && sh.dnd[j].load(Relaxed));
        let needs_peer = matches!(kind, OpKind::Call | OpKind::Cmd);
        let peer = needs_peer.then(|| rng.reserve(sh, callee)).flatten();
        if needs_peer && peer.is_none() {
            sh.release(client);
            sh.count(SKIPPED.into());
        } else if to[client].try_send(Op { kind, peer }).is_err() {
            sh.error(client, "idle client did not take an operation".into());
            if let Some(peer) = peer {
                sh.release(peer);
            }
        }
    }
}

pub fn take_sample(sh: &Shared, pid: u32) -> Sample {
    let stats = sh.stats.lock().unwrap();
    let done = stats.phases.iter().map(|p| p.sum(": done")).sum();
    let errors = stats.phases.iter().map(|p| p.sum(ERRORS)).sum();
    let (secs, phase) = (sh.secs(), sh.phase());
    let (rss_kib, server_cpu) = (rss_kib(pid).unwrap_or(0), cpu_secs(pid).unwrap_or(0.0));
    Sample {
        secs,
        phase,
        rss_kib,
        server_cpu,
        done,
        errors,
    }
}

pub fn print_sample(s: &Sample, previous: Option<&Sample>) {
    let (rate, cpu) = previous
        .filter(|p| s.secs > p.secs)
        .map_or((0.0, 0.0), |p| {
            let dt = s.secs - p.secs;
            (
                (s.done - p.done) as f64 / dt,
                100.0 * (s.server_cpu - p.server_cpu) / dt,
            )
        });
    let (rss, mib, phase) = (s.rss_kib, s.rss_kib as f64 / 1024.0, s.phase.name());
    println!(
        "[{:7.2}s] {phase:<7} server RSS {rss:>8} KiB ({mib:6.1} MiB), server CPU {cpu:5.1}%, \
         ops done {:>7} ({rate:6.1}/s), errors {}",
        s.secs, s.done, s.errors
    );
}

/// Least-squares slope of RSS over time, KiB per minute.
pub fn slope_kib_per_min(samples: &[Sample]) -> f64 {
    let n = samples.len() as f64;
    let mx = samples.iter().map(|s| s.secs).sum::<f64>() / n;
    let my = samples.iter().map(|s| s.rss_kib as f64).sum::<f64>() / n;
    let dx = |s: &Sample| s.secs - mx;
    let sxy: f64 = samples
        .iter()
        .map(|s| dx(s) * (s.rss_kib as f64 - my))
        .sum();
    let sxx: f64 = samples.iter().map(|s| dx(s) * dx(s)).sum();
    match samples.len() < 2 || sxx == 0.0 {
        true => 0.0,
        false => sxy / sxx * 60.0,
    }
}
