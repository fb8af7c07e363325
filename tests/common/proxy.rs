//! A TCP proxy between an SDK and the server that a test can break on purpose: cut every
//! connection (at once, or in the middle of the next chunk from the server), hold the
//! traffic (a silent network), slow it down, refuse new connections, or point at another
//! server.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Control {
    upstream: Mutex<Option<SocketAddr>>,
    /// Both ends of every connection so far (to cut them).
    sockets: Mutex<Vec<TcpStream>>,
    /// Traffic is read but held back while set.
    paused: AtomicBool,
    /// New connections are closed at once while set.
    refusing: AtomicBool,
    /// The next chunk from the server is forwarded only in part, then everything is cut.
    cut_mid_chunk: AtomicBool,
    /// Connections accepted so far.
    accepted: AtomicUsize,
    /// Milliseconds each chunk waits before it is forwarded (a slow network).
    delay_ms: AtomicUsize,
    /// Client sides only are being cut: the server sides stay open (and silent), kept here.
    orphaning: AtomicBool,
    orphans: Mutex<Vec<TcpStream>>,
    /// The client side of every connection so far.
    client_sockets: Mutex<Vec<TcpStream>>,
}

impl Control {
    fn cut_all(&self) {
        for s in self.sockets.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

pub struct Proxy {
    pub addr: SocketAddr,
    control: Arc<Control>,
}

impl Proxy {
    /// A proxy on a free local port forwarding to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let control = Arc::new(Control::default());
        *control.upstream.lock().unwrap() = Some(upstream);
        let c = control.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                c.accepted.fetch_add(1, Ordering::SeqCst);
                if c.refusing.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = c.upstream.lock().unwrap().expect("an upstream");
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                {
                    let mut sockets = c.sockets.lock().unwrap();
                    sockets.push(client.try_clone().unwrap());
                    sockets.push(server.try_clone().unwrap());
                    c.client_sockets
                        .lock()
                        .unwrap()
                        .push(client.try_clone().unwrap());
                }
                let (c1, c2) = (c.clone(), c.clone());
                let (client2, server2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump(client, server, c1, false));
                std::thread::spawn(move || pump(server2, client2, c2, true));
            }
        });
        Proxy { addr, control }
    }

    /// Drops every connection now (both sides see it closed).
    pub fn cut(&self) {
        self.control.cut_all();
    }

    /// Drops the client side of every connection now, keeping the server side open and
    /// silent: the client knows at once, the server only by its heartbeat.
    pub fn cut_client_side(&self) {
        self.control.orphaning.store(true, Ordering::SeqCst);
        for s in self.control.client_sockets.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Forwards part of the next chunk the server sends, then drops every connection: the
    /// client gets a truncated frame.
    pub fn cut_mid_frame(&self) {
        self.control.cut_mid_chunk.store(true, Ordering::SeqCst);
    }

    /// Holds all traffic back (`true`) or lets it flow again.
    pub fn pause(&self, on: bool) {
        self.control.paused.store(on, Ordering::SeqCst);
    }

    /// Closes new connections at once (`true`) or serves them again.
    pub fn refuse(&self, on: bool) {
        self.control.refusing.store(on, Ordering::SeqCst);
    }

    /// New connections are cut normally again (after [`Proxy::cut_client_side`]).
    pub fn stop_orphaning(&self) {
        self.control.orphaning.store(false, Ordering::SeqCst);
    }

    /// Delays every chunk by `ms` milliseconds each way (0: none).
    pub fn delay(&self, ms: usize) {
        self.control.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// New connections go to `upstream` from now on.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.control.upstream.lock().unwrap() = Some(upstream);
    }

    /// Connections accepted so far (refused ones included).
    pub fn accepted(&self) -> usize {
        self.control.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.refuse(true);
        self.cut();
    }
}

/// Copies `from` to `to` until either ends.
fn pump(mut from: TcpStream, mut to: TcpStream, control: Arc<Control>, from_server: bool) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while control.paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let delay = control.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay as u64));
        }
        if from_server && control.cut_mid_chunk.swap(false, Ordering::SeqCst) {
            let _ = to.write_all(&buf[..n.div_ceil(2)]);
            let _ = to.flush();
            control.cut_all();
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    if control.orphaning.load(Ordering::SeqCst) {
        // Only the client side goes; the server side is kept open, unread and unwritten.
        let server_side = if from_server { from } else { to };
        control.orphans.lock().unwrap().push(server_side);
        return;
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
