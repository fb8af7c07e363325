//! The floor peer: what any relayed transfer costs on this machine with no protocol at all.
//! Three threads copy `size` bytes sender → relay → receiver over two loopback TCP
//! connections in 256 KiB reads and writes (the SDK's chunk size), with no framing, hashing,
//! flow control or events: file → new file next to it (SendFile's disk work), or memory →
//! fresh `Vec` (SendBuffer's receiving work). Timed from the sender's first byte until the
//! receiver holds the last: an upper bound for SendFile/SendBuffer, not a competitor.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Instant;

const BLOCK: usize = 256 * 1024;

/// One relayed copy of `size` bytes; seconds. `file`: Some((source, destination)).
pub fn relay_once(size: u64, file: Option<(&Path, &Path)>) -> Result<f64, String> {
    let e = |e: std::io::Error| e.to_string();
    let (receiver, relay) = (
        TcpListener::bind("127.0.0.1:0"),
        TcpListener::bind("127.0.0.1:0"),
    );
    let (receiver, relay) = (receiver.map_err(e)?, relay.map_err(e)?);
    let (receiver_addr, relay_addr) = (
        receiver.local_addr().map_err(e)?,
        relay.local_addr().map_err(e)?,
    );
    let destination = file.map(|(_, d)| d.to_owned());
    let receiving = std::thread::spawn(move || -> Result<(), String> {
        let (mut conn, _) = receiver.accept().map_err(e)?;
        let Some(path) = destination else {
            let mut assembled = Vec::with_capacity(size as usize);
            copy_all(&mut conn, |b| {
                assembled.extend_from_slice(b);
                Ok(())
            })?;
            return match assembled.len() as u64 == size {
                true => Ok(()),
                false => Err(format!("received {} of {size} bytes", assembled.len())),
            };
        };
        let mut out = File::create(&path).map_err(e)?;
        copy_all(&mut conn, |b| out.write_all(b))
    });
    let relaying = std::thread::spawn(move || -> Result<(), String> {
        let (mut from, _) = relay.accept().map_err(e)?;
        let mut to = TcpStream::connect(receiver_addr).map_err(e)?;
        copy_all(&mut from, |b| to.write_all(b))
    });
    let start = Instant::now();
    let mut conn = TcpStream::connect(relay_addr).map_err(e)?;
    match file {
        Some((source, _)) => copy_all(&mut File::open(source).map_err(e)?, |b| conn.write_all(b))?,
        None => {
            let mut block = vec![0u8; BLOCK];
            crate::fill_pseudo_random(&mut block, 7);
            let mut left = size;
            while left > 0 {
                let n = left.min(BLOCK as u64) as usize;
                conn.write_all(&block[..n]).map_err(e)?;
                left -= n as u64;
            }
        }
    }
    drop(conn);
    relaying.join().map_err(|_| "relay thread panicked")??;
    receiving.join().map_err(|_| "receiver thread panicked")??;
    Ok(start.elapsed().as_secs_f64())
}

/// Reads `from` to its end in blocks of [`BLOCK`], handing each to `sink`.
fn copy_all(
    from: &mut impl Read,
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<(), String> {
    let mut block = vec![0u8; BLOCK];
    loop {
        match from.read(&mut block) {
            Ok(0) => return Ok(()),
            Ok(n) => sink(&block[..n]).map_err(|e| e.to_string())?,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}
