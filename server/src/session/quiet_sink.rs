//! A sink wrapper that keeps the writer task asleep unless the sink itself is what it waits
//! for.
//!
//! tokio-tungstenite shares one socket between the read and write halves of a WebSocket:
//! its waker proxies wake *both* the reading and the writing task whenever the socket is
//! readable (and writable). The writer task registered its waker with its last write, so
//! every frame the client sends woke the session's writer too, which found nothing to do.
//! Two tasks woken by one socket event make tokio's multi-threaded scheduler wake a second
//! worker to steal one of them: with two workers a relayed command round trip cost about
//! 3.5 more context switches and 48 µs more at p50 than with one (docs/BENCHMARKS.md, issue
//! 21). Here the sink is polled with a waker of our own that passes a wake on only while
//! an operation of the sink is pending (armed); once it completed, wakes are dropped — the
//! writer then waits on its outbound lanes, which wake it themselves.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use futures_util::Sink;

/// Passes wakes to the task only while armed.
#[derive(Default)]
struct Gate {
    armed: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Gate {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.armed.swap(false, Ordering::AcqRel) {
            self.task.wake();
        }
    }
}

/// `S`, polled through a [`Gate`].
pub(crate) struct QuietSink<S> {
    inner: S,
    gate: Arc<Gate>,
    waker: Waker,
}

impl<S> QuietSink<S> {
    pub(crate) fn new(inner: S) -> QuietSink<S> {
        let gate = Arc::new(Gate::default());
        let waker = Waker::from(gate.clone());
        QuietSink { inner, gate, waker }
    }

    pub(crate) fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Unpin> QuietSink<S> {
    /// Runs one poll of the inner sink with the gate's waker, armed for this task until the
    /// operation completes.
    fn gated<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.gate.task.register(cx.waker());
        self.gate.armed.store(true, Ordering::Release);
        let result = op(
            Pin::new(&mut self.inner),
            &mut Context::from_waker(&self.waker),
        );
        if result.is_ready() {
            self.gate.armed.store(false, Ordering::Release);
        }
        result
    }
}

impl<S: Sink<M> + Unpin, M> Sink<M> for QuietSink<S> {
    type Error = S::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.get_mut().gated(cx, |s, cx| s.poll_ready(cx))
    }

    fn start_send(self: Pin<&mut Self>, item: M) -> Result<(), S::Error> {
        Pin::new(&mut self.get_mut().inner).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.get_mut().gated(cx, |s, cx| s.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.get_mut().gated(cx, |s, cx| s.poll_close(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A sink whose flush is pending until `open`, keeping the last waker it was given.
    #[derive(Default)]
    struct Slow {
        open: bool,
        waker: Option<Waker>,
    }

    impl Sink<u8> for Slow {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, _: u8) -> Result<(), ()> {
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
            let this = self.get_mut();
            this.waker = Some(cx.waker().clone());
            if this.open {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Counts the wakes of the task.
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wakes_pass_while_pending_and_are_dropped_after() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task = Waker::from(count.clone());
        let mut cx = Context::from_waker(&task);
        let mut sink = QuietSink::new(Slow::default());
        assert!(Pin::new(&mut sink).poll_flush(&mut cx).is_pending());
        // The socket became writable: the waiting writer is woken, once.
        let kept = sink.inner.waker.clone().unwrap();
        kept.wake_by_ref();
        kept.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        sink.inner.open = true;
        assert!(Pin::new(&mut sink).poll_flush(&mut cx).is_ready());
        // Done: a wake from the shared socket (a frame read) no longer reaches the writer.
        sink.inner.waker.clone().unwrap().wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // Pending again: wakes pass again.
        sink.inner.open = false;
        assert!(Pin::new(&mut sink).poll_flush(&mut cx).is_pending());
        sink.inner.waker.clone().unwrap().wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }
}
