//! The speaker side's state, shared by the API calls, the I/O thread filing packets and the
//! speaker clock: the mix of the meeting's members and who takes it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::mixer::{Mixer, TICK};
use super::tap::Tap;

/// The speaker side.
#[derive(Default)]
pub struct Speaker {
    /// The room entry (see `client::rooms::Room::entry`) the mix belongs to.
    pub(super) entry: Option<u64>,
    pub(super) mixer: Mixer,
    /// `CRVideo_SetCustomAudioPlayback(1)`: the app's pulls, not the clock, take the mix.
    pub(super) pull: bool,
    /// Samples of the last tick a pull did not take.
    pub(super) pulled: Vec<i16>,
}

impl Speaker {
    /// The next 10 ms of the speaker stream (silence outside a meeting); see
    /// [`Mixer::tick`].
    pub(super) fn tick(&mut self, now: Instant, lead: Duration) -> [i16; TICK] {
        match self.entry {
            Some(_) => self.mixer.tick(now, lead),
            None => [0; TICK],
        }
    }
}

/// The speaker side's tap, apart from the mix so that writing a file never holds up the
/// I/O thread filing packets.
pub type SpeakerTap = Arc<Mutex<Option<Tap>>>;
