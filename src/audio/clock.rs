//! The speaker clock: one thread while in a meeting that, every 10 ms, takes the next
//! 10 ms of the mix (to the speaker tap; unless the app pulls the mix itself) and reports
//! the members' speaking levels that changed.
//!
//! Ticks are at absolute times (start + n × 10 ms), so the stream keeps real time however
//! long a tick took; after a stall of the whole process longer than [`MAX_LAG`] the clock
//! starts again from now rather than catching up in a burst.
//! A talk-spurt starts within a piece, at its own sample (see `jitter`), so the ticks never
//! move: the stream is exactly real time.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crvideo_proto::MEDIA_OPEN;
use parking_lot::Mutex;

use super::level::Levels;
use super::speaker::{Speaker, SpeakerTap};
use crate::client::rooms::SharedRoomCache;
use crate::dispatch::{Dispatcher, Event};

/// The clock's period.
pub const PERIOD: Duration = Duration::from_millis(10);
/// Behind by more than this, the clock skips ahead instead of catching up.
const MAX_LAG: Duration = Duration::from_millis(200);

/// What the clock works on.
pub struct Parts {
    pub events: Arc<Dispatcher>,
    pub rooms: SharedRoomCache,
    pub speaker: Arc<Mutex<Speaker>>,
    pub tap: SpeakerTap,
    pub levels: Arc<Mutex<Levels>>,
    pub record_feed: super::record_feed::SharedFeed,
}

/// The running clock; dropping it stops and joins the thread.
pub struct Clock {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Clock {
    pub fn start(parts: Parts) -> Result<Clock, String> {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("crvideo-audio".into())
            .spawn(move || run(parts, stopped))
            .map_err(|e| format!("cannot start the speaker clock: {e}"))?;
        Ok(Clock {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Clock {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(parts: Parts, stopped: mpsc::Receiver<()>) {
    let mut next = Instant::now();
    loop {
        tick(&parts, next);
        next += PERIOD;
        let now = Instant::now();
        if now > next + MAX_LAG {
            next = now;
        }
        match stopped.recv_timeout(next.saturating_duration_since(now)) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Dropped (or a message): stop.
            _ => return,
        }
    }
}

/// One period: the mix (when the clock takes it) and the levels.
fn tick(parts: &Parts, now: Instant) {
    let members: Vec<(String, bool)> = {
        let rooms = parts.rooms.lock();
        let members = rooms.room.as_ref().map(|r| r.members.as_slice());
        (members.unwrap_or_default().iter())
            .map(|m| (m.user_id.clone(), m.audio_status == MEDIA_OPEN))
            .collect()
    };
    let pcm = {
        let mut speaker = parts.speaker.lock();
        // A member gone takes its jitter buffer along.
        (speaker.mixer.speakers).retain(|k, _| members.iter().any(|(m, _)| *m == k.user_id));
        (!speaker.pull).then(|| speaker.tick(now, Duration::ZERO))
    };
    if let Some(pcm) = pcm {
        if let Some(tap) = parts.tap.lock().as_mut() {
            tap.feed(&pcm);
        }
        if let Some(feed) = parts.record_feed.lock().as_mut() {
            feed.add_others(&pcm);
        }
    }
    let members: Vec<(&str, bool)> = members.iter().map(|(u, o)| (u.as_str(), *o)).collect();
    let reports = parts.levels.lock().review(&members, now);
    for (user_id, old, new) in reports {
        parts.events.push(Event::MicEnergyUpdate {
            user_id,
            old_level: i32::from(old),
            new_level: i32::from(new),
        });
    }
}
