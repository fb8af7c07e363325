//! The event queue between the engine and the app, and the thread that runs callbacks.
//!
//! The engine pushes [`Event`]s in the order things happen; one consumer delivers them to the
//! app's C callbacks: the `crvideo-dispatch` thread in `"thread"` mode, or the app's own
//! thread through `CRVideo_PollEvents` in `"poll"` mode. The queue is unbounded on purpose:
//! a slow callback must never stall networking, and events are never dropped; bulk data is
//! bounded separately by flow control.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

pub use crate::event::Event;

struct Queue {
    events: VecDeque<Event>,
    /// No more events will come; the consumer drains what is left, then stops.
    closed: bool,
    /// Events of tasks whose creating call has not returned yet (see [`Dispatcher::hold`]).
    held: HashMap<String, Vec<Event>>,
}

/// What delivers an event to the app (it calls into C: see `ffi::invoke`).
pub type Sink = Arc<dyn Fn(&Event) + Send + Sync>;

/// The event queue plus where its events go.
pub struct Dispatcher {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Where events go: the app's callbacks (set by `CRVideo_SetCallbacks`); none: dropped.
    sink: Mutex<Option<Sink>>,
    /// Bytes of received data (commands, buffers) queued and not yet handed to the app.
    undelivered_data: AtomicUsize,
    /// Woken when the app has consumed data (see [`Dispatcher::undelivered_data`]).
    pub data_consumed: tokio::sync::Notify,
}

/// Releases a task's held events when dropped (see [`Dispatcher::hold`]).
pub struct Held<'a> {
    dispatcher: &'a Dispatcher,
    task: String,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // Under one lock, so that no newer event of the task can slip in between.
        let mut q = self.dispatcher.queue.lock();
        let parked = q.held.remove(&self.task).unwrap_or_default();
        if q.closed || parked.is_empty() {
            return;
        }
        for event in parked {
            self.dispatcher
                .undelivered_data
                .fetch_add(event.data_len(), Ordering::AcqRel);
            q.events.push_back(event);
        }
        drop(q);
        self.dispatcher.ready.notify_one();
    }
}

thread_local! {
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// True on a thread that is currently running one of the app's callbacks.
pub fn in_callback() -> bool {
    IN_CALLBACK.with(Cell::get)
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher {
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                closed: false,
                held: HashMap::new(),
            }),
            ready: Condvar::new(),
            sink: Mutex::new(None),
            undelivered_data: AtomicUsize::new(0),
            data_consumed: tokio::sync::Notify::new(),
        }
    }
}

impl Dispatcher {
    /// Sets (replaces) where events go; takes effect from the next event.
    pub fn set_sink(&self, sink: Sink) {
        *self.sink.lock() = Some(sink);
    }

    /// Bytes of received data queued for the app and not yet delivered. The engine holds
    /// back flow-control credit while this is high, so a slow app slows its senders down
    /// instead of growing memory.
    pub fn undelivered_data(&self) -> usize {
        self.undelivered_data.load(Ordering::Acquire)
    }

    /// Queues an event for delivery. Ignored once the queue is closed.
    pub fn push(&self, event: Event) {
        if let Event::Batch(events) = event {
            return self.extend(events);
        }
        let mut q = self.queue.lock();
        if q.closed {
            tracing::debug!("event after close dropped");
            return;
        }
        if let Some(parked) = event.outgoing_task().and_then(|t| q.held.get_mut(t)) {
            parked.push(event);
            return;
        }
        self.undelivered_data
            .fetch_add(event.data_len(), Ordering::AcqRel);
        q.events.push_back(event);
        drop(q);
        self.ready.notify_one();
    }

    /// Holds back the events of outgoing transfer task `task` until the returned guard is
    /// dropped: a call that creates a task and takes long before returning its ID (the copy
    /// in `CRVideo_SendBuffer`) must not have the task's callbacks run before the app holds
    /// that ID. Other events flow meanwhile; the task's own keep their order.
    pub fn hold(&self, task: &str) -> Held<'_> {
        self.queue.lock().held.insert(task.to_owned(), Vec::new());
        Held {
            dispatcher: self,
            task: task.to_owned(),
        }
    }

    /// Queues several events, in order.
    pub fn extend(&self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            self.push(event);
        }
    }

    /// Accepts no more events; the consumer still delivers those already queued.
    pub fn close(&self) {
        self.queue.lock().closed = true;
        self.ready.notify_all();
    }

    /// Accepts no more events and forgets those not yet delivered.
    pub fn close_and_discard(&self) {
        let mut q = self.queue.lock();
        q.closed = true;
        for event in q.events.drain(..) {
            self.undelivered_data
                .fetch_sub(event.data_len(), Ordering::AcqRel);
        }
        drop(q);
        self.ready.notify_all();
    }

    /// Runs callbacks until the queue is closed and empty (the dispatch thread's body).
    pub fn run_until_closed(&self) {
        while let Some(event) = self.next_event(None) {
            self.deliver(&event);
        }
    }

    /// Runs the callbacks of pending events, waiting up to `timeout` for the first one.
    /// Returns how many ran.
    pub fn poll(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut ran = 0;
        while let Some(event) = self.next_event(if ran == 0 {
            Some(deadline)
        } else {
            Some(Instant::now())
        }) {
            self.deliver(&event);
            ran += 1;
        }
        ran
    }

    /// The next event, waiting until one comes, the queue closes, or `deadline` passes.
    fn next_event(&self, deadline: Option<Instant>) -> Option<Event> {
        let mut q = self.queue.lock();
        loop {
            if let Some(event) = q.events.pop_front() {
                return Some(event);
            }
            if q.closed {
                return None;
            }
            match deadline {
                None => self.ready.wait(&mut q),
                Some(deadline) => {
                    if self.ready.wait_until(&mut q, deadline).timed_out() && q.events.is_empty() {
                        return None;
                    }
                }
            }
        }
    }

    /// Calls the app's callback for `event`, with no SDK lock held.
    fn deliver(&self, event: &Event) {
        let Some(sink) = self.sink.lock().clone() else {
            self.consumed(event);
            return;
        };
        IN_CALLBACK.with(|c| c.set(true));
        let result = catch_unwind(AssertUnwindSafe(|| sink(event)));
        IN_CALLBACK.with(|c| c.set(false));
        if result.is_err() {
            tracing::error!("panic while delivering an event");
        }
        self.consumed(event);
    }

    fn consumed(&self, event: &Event) {
        let len = event.data_len();
        if len > 0 {
            self.undelivered_data.fetch_sub(len, Ordering::AcqRel);
            self.data_consumed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_queue_drains_then_stops() {
        let d = Dispatcher::default();
        d.push(Event::LineOff { sdk_err: 1 });
        d.push(Event::LineOff { sdk_err: 2 });
        d.close();
        d.push(Event::LineOff { sdk_err: 3 });
        assert_eq!(d.next_event(None), Some(Event::LineOff { sdk_err: 1 }));
        assert_eq!(d.next_event(None), Some(Event::LineOff { sdk_err: 2 }));
        assert_eq!(d.next_event(None), None);
    }

    #[test]
    fn a_held_task_waits_for_its_call_to_return_and_others_flow() {
        let d = Dispatcher::default();
        let rlst = |task: &str, code| Event::SendBufferRlst {
            task_id: task.into(),
            sdk_err: code,
            cookie: String::new(),
        };
        let progress = |task: &str| Event::SendProgress {
            task_id: task.into(),
            sended_len: 1,
            total_len: 2,
            cookie: String::new(),
        };
        let held = d.hold("t1");
        d.push(progress("t1"));
        d.push(rlst("t2", 0));
        d.push(rlst("t1", 7));
        d.close();
        // Only the other task's event is out while t1's call runs...
        assert_eq!(d.next_event(Some(Instant::now())), Some(rlst("t2", 0)));
        assert_eq!(d.next_event(Some(Instant::now())), None);
        // A closed queue takes no more, held events included.
        drop(held);
        assert_eq!(d.next_event(None), None);
        // Open: t1's come when its call returns, in their order.
        let d = Dispatcher::default();
        let held = d.hold("t1");
        d.push(progress("t1"));
        d.push(rlst("t1", 7));
        drop(held);
        assert_eq!(d.next_event(None), Some(progress("t1")));
        assert_eq!(d.next_event(None), Some(rlst("t1", 7)));
        // Released for good: later events go straight through.
        d.push(rlst("t1", 8));
        assert_eq!(d.next_event(None), Some(rlst("t1", 8)));
    }

    #[test]
    fn discard_forgets_pending_events() {
        let d = Dispatcher::default();
        d.push(Event::LineOff { sdk_err: 1 });
        d.close_and_discard();
        assert_eq!(d.next_event(None), None);
    }

    #[test]
    fn poll_times_out_when_idle_and_wakes_on_push() {
        let d = Arc::new(Dispatcher::default());
        assert_eq!(d.poll(Duration::from_millis(10)), 0);
        let d2 = d.clone();
        let t = std::thread::spawn(move || d2.poll(Duration::from_secs(30)));
        d.push(Event::LineOff { sdk_err: 7 });
        assert_eq!(t.join().unwrap(), 1);
    }
}
