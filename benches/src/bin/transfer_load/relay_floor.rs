//! The floor peer: what any relayed transfer costs on this machine with no protocol at all.
//!
//! Three threads of this process copy `size` bytes sender → relay → receiver over two
//! loopback TCP connections in 256 KiB reads and writes (the chunk size of the SDK), with no
//! framing, no hashing, no flow control and no events. Two variants:
//! - **file**: the sender reads a file, the receiver writes a new file next to it (SendFile's
//!   disk work);
//! - **buffer**: the sender writes from memory, the receiver assembles into a fresh `Vec`
//!   (SendBuffer's memory work; the sender's copy of the app's buffer is not included).
//!
//! Timed from the sender's first byte until the receiver holds the last. crvideo's
//! SendFile/SendBuffer do all of this plus WebSocket framing, BLAKE3 on both ends, credit
//! and two SDK processes; so this is an upper bound for them, not a competitor.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Instant;

const BLOCK: usize = 256 * 1024;

/// One relayed copy of `size` bytes; seconds. `file`: Some((source, destination)).
pub fn relay_once(size: u64, file: Option<(&Path, &Path)>) -> Result<f64, String> {
    let receiver = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let relay = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let receiver_addr = receiver.local_addr().map_err(|e| e.to_string())?;
    let relay_addr = relay.local_addr().map_err(|e| e.to_string())?;
    let destination = file.map(|(_, d)| d.to_owned());
    let receiving = std::thread::spawn(move || -> Result<(), String> {
        let (mut conn, _) = receiver.accept().map_err(|e| e.to_string())?;
        let mut block = vec![0u8; BLOCK];
        match destination {
            Some(path) => {
                let mut out = File::create(&path).map_err(|e| e.to_string())?;
                copy_all(&mut conn, &mut block, |b| out.write_all(b))?;
            }
            None => {
                let mut assembled = Vec::with_capacity(size as usize);
                copy_all(&mut conn, &mut block, |b| {
                    assembled.extend_from_slice(b);
                    Ok(())
                })?;
                if assembled.len() as u64 != size {
                    return Err(format!("received {} of {size} bytes", assembled.len()));
                }
            }
        }
        Ok(())
    });
    let relaying = std::thread::spawn(move || -> Result<(), String> {
        let (mut from, _) = relay.accept().map_err(|e| e.to_string())?;
        let mut to = TcpStream::connect(receiver_addr).map_err(|e| e.to_string())?;
        let mut block = vec![0u8; BLOCK];
        copy_all(&mut from, &mut block, |b| to.write_all(b))
    });
    let start = Instant::now();
    let mut conn = TcpStream::connect(relay_addr).map_err(|e| e.to_string())?;
    let mut block = vec![0u8; BLOCK];
    match file {
        Some((source, _)) => {
            let mut input = File::open(source).map_err(|e| e.to_string())?;
            copy_all(&mut input, &mut block, |b| conn.write_all(b))?;
        }
        None => {
            crate::fill_pseudo_random(&mut block, 7);
            let mut left = size;
            while left > 0 {
                let n = left.min(BLOCK as u64) as usize;
                conn.write_all(&block[..n]).map_err(|e| e.to_string())?;
                left -= n as u64;
            }
        }
    }
    drop(conn);
    relaying.join().map_err(|_| "relay thread panicked")??;
    receiving.join().map_err(|_| "receiver thread panicked")??;
    Ok(start.elapsed().as_secs_f64())
}

/// Reads `from` to its end in blocks, handing each to `sink`.
fn copy_all(
    from: &mut impl Read,
    block: &mut [u8],
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<(), String> {
    loop {
        match from.read(block) {
            Ok(0) => return Ok(()),
            Ok(n) => sink(&block[..n]).map_err(|e| e.to_string())?,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}
