//! Cluster round trips: a 1 KiB SendCmd (sent → the sender has its answer, which follows the
//! target's acknowledgement), a call's setup (call sent → CallAccepted) and one transfer's
//! throughput between raw clients, on a single node, on one node of a three-node cluster,
//! and across two of its nodes; against nats-server request/reply with the same payload and
//! pub/sub of 512 KiB messages, on one server and across a three-server cluster (routes on
//! loopback). Each server is its own process, on one
//! redis-server started here. See docs/BENCHMARKS.md.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use crvideo_bench::report::{ratio2, summary_heading, table, Latency, Row};
use crvideo_bench::{
    blocking, login, machine, nats, positive, run_load_generator, start_nats_cluster, BenchResult,
    NatsArgs, Server, ServerArgs, TempDir,
};
use crvideo_proto::data::{decode_data, encode_command, DataFrame};
use crvideo_proto::{ErrorCode, Event, Request, ServerFrame};
use crvideo_testkit::engines::Redis;
use crvideo_testkit::{Conn, Incoming};
use tokio::task::JoinHandle;

/// Longest wait for one answer.
const STEP: Duration = Duration::from_secs(10);
const PAYLOAD: usize = 1024;

/// Round trips within and across cluster nodes, against nats-server (see
/// docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    nats: NatsArgs,
    /// SendCmd round trips per placement (after 200 not counted).
    #[arg(long, default_value = "3000", value_parser = positive)]
    rounds: usize,
    /// Calls set up and hung up per placement.
    #[arg(long, default_value = "500", value_parser = positive)]
    calls: usize,
    /// MiB relayed in one transfer per placement (NATS: published in 512 KiB messages).
    #[arg(long, default_value = "512", value_parser = positive)]
    bulk_mib: usize,
}

fn main() {
    run_load_generator("cluster_rtt", run(Args::parse()));
}

struct Measured {
    cmd: Latency,
    call: Latency,
    /// A transfer's MiB/s, offer to result.
    bulk: f64,
}

async fn run(args: Args) -> BenchResult<()> {
    args.server.check()?;
    println!(
        "machine: {}; {} SendCmd round trips of {PAYLOAD} bytes and {} call setups per placement",
        machine(),
        args.rounds,
        args.calls
    );
    let redis = blocking(Redis::start);
    let mut rows = Vec::new();

    let dir = TempDir::new("cluster-rtt-single")?;
    let single = Server::crvideo(
        &args.server.server_bin,
        dir.path(),
        "heartbeat_ms = 5000",
        "",
    )?;
    let measured = measure(&args, single.addr, single.addr, "single").await;
    let single_node = single.finish(measured)?;
    rows.push(row("crvideo, one node (no cluster)", &single_node));

    let dirs = (0..3)
        .map(|i| TempDir::new(&format!("cluster-rtt-n{i}")))
        .collect::<BenchResult<Vec<_>>>()?;
    let mut nodes = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let config = format!(
            "heartbeat_ms = 5000\n[cluster]\nredis_url = \"{}\"\nnode_id = \"n{i}\"",
            redis.url()
        );
        nodes.push(Server::crvideo(
            &args.server.server_bin,
            dir.path(),
            &config,
            "",
        )?);
    }
    let measured = async {
        let same = measure(&args, nodes[0].addr, nodes[0].addr, "same").await?;
        let cross = measure(&args, nodes[0].addr, nodes[1].addr, "cross").await?;
        Ok((same, cross))
    };
    let measured = measured.await;
    let (same, cross) = Server::finish_all(nodes, measured)?;
    rows.push(row("crvideo cluster, same node", &same));
    rows.push(row("crvideo cluster, across nodes", &cross));

    let mut nats_rows = Vec::new();
    if !args.nats.skip_nats {
        let dir = TempDir::new("cluster-rtt-nats")?;
        let server = Server::nats(&args.nats.nats_bin, dir.path(), &[])?;
        let addr = server.addr;
        let one = async {
            let rtt = nats_rtt(&args, addr, addr).await?;
            Ok((rtt, nats_bulk(&args, addr, addr).await?))
        };
        let one = one.await;
        let (one, one_bulk) = server.finish(one)?;
        nats_rows.push(nats_row("nats-server, one server", &one, one_bulk));
        let (across, across_bulk) = nats_cluster(&args).await?;
        nats_rows.push(nats_row(
            "nats-server, across a 3-server cluster",
            &across,
            across_bulk,
        ));
        rows.extend(nats_rows.iter().cloned());
        summary_heading();
        println!("round trip: a 1 KiB SendCmd (crvideo) or request/reply (NATS); bulk: one {} MiB transfer (crvideo) or pub/sub of 512 KiB messages (NATS)\n", args.bulk_mib);
        table("placement", &rows);
        println!("\nRatios:\n");
        let ratios = [
            Row::new("crvideo across nodes / same node")
                .col("p50", ratio2(cross.cmd.p50_ms, same.cmd.p50_ms))
                .col("p99", ratio2(cross.cmd.p99_ms, same.cmd.p99_ms))
                .col("call p50", ratio2(cross.call.p50_ms, same.call.p50_ms))
                .col("bulk", ratio2(cross.bulk, same.bulk)),
            Row::new("crvideo across nodes / nats across servers")
                .col("p50", ratio2(cross.cmd.p50_ms, across.p50_ms))
                .col("p99", ratio2(cross.cmd.p99_ms, across.p99_ms))
                .col("call p50", "–")
                .col("bulk", ratio2(cross.bulk, across_bulk)),
            Row::new("nats across servers / one server")
                .col("p50", ratio2(across.p50_ms, one.p50_ms))
                .col("p99", ratio2(across.p99_ms, one.p99_ms))
                .col("call p50", "–")
                .col("bulk", ratio2(across_bulk, one_bulk)),
        ];
        table("ratio", &ratios);
    } else {
        summary_heading();
        table("placement", &rows);
    }
    let ratio = cross.cmd.p50_ms / same.cmd.p50_ms;
    let verdict = if ratio <= 2.0 { "met" } else { "MISSED" };
    println!(
        "\nTarget (issue 22): cross-node SendCmd p50 <= 2 x same-node: {ratio:.2} ({verdict})"
    );
    drop(redis);
    Ok(())
}

fn row(label: &str, m: &Measured) -> Row {
    Row::new(label)
        .ms("round trip ", &m.cmd, 3)
        .ms("call setup ", &m.call, 3)
        .col("bulk MiB/s", format!("{:.0}", m.bulk))
}

/// A NATS row with the columns of [`row`] (no calls).
fn nats_row(label: &str, rtt: &Latency, bulk: f64) -> Row {
    Row::new(label)
        .ms("round trip ", rtt, 3)
        .col("call setup p50 ms", "–")
        .col("call setup p99 ms", "–")
        .col("call setup max ms", "–")
        .col("bulk MiB/s", format!("{bulk:.0}"))
}

/// Amy on `a`, ben on `b`: SendCmd round trips, then call setups.
async fn measure(args: &Args, a: SocketAddr, b: SocketAddr, tag: &str) -> BenchResult<Measured> {
    let (amy_id, ben_id) = (format!("amy-{tag}"), format!("ben-{tag}"));
    let agent = "crvideo-bench/cluster_rtt";
    let mut amy = login(a, &amy_id, agent, STEP).await?;
    let ben = login(b, &ben_id, agent, STEP).await?;
    let ben_task: JoinHandle<BenchResult<()>> = tokio::spawn(answer(ben));
    let payload = vec![0x5a; PAYLOAD];

    // Until ben is known where amy is (another node learns of a login from Redis).
    let known_by = Instant::now() + STEP;
    loop {
        match cmd_rtt(&mut amy, &ben_id, &payload).await? {
            Ok(_) => break,
            Err(code) if code == ErrorCode::SendDataTargetInvalid as i32 => {}
            Err(code) => return Err(format!("SendCmd failed: code {code}")),
        }
        if Instant::now() > known_by {
            return Err(format!("{ben_id} never became reachable from {a}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..200 {
        cmd_rtt(&mut amy, &ben_id, &payload).await?.map_err(code)?;
    }
    let mut cmd = Vec::with_capacity(args.rounds);
    for _ in 0..args.rounds {
        cmd.push(cmd_rtt(&mut amy, &ben_id, &payload).await?.map_err(code)?);
    }
    let mut call = Vec::with_capacity(args.calls);
    for i in 0..args.calls {
        let call_id = format!("{tag}-{i}");
        let t0 = Instant::now();
        let id = amy
            .send_request(Request::Call {
                call_id: call_id.clone(),
                callee: ben_id.clone(),
                meet_obj: String::new(),
                usr_ext_dat: String::new(),
            })
            .await?;
        loop {
            match amy.next_frame(STEP).await? {
                ServerFrame::Reply(r) if r.re == id && r.code != 0 => {
                    return Err(format!("call {call_id}: code {}", r.code))
                }
                ServerFrame::Event(Event::CallAccepted { call_id: c, .. }) if c == call_id => break,
                _ => {}
            }
        }
        call.push(t0.elapsed());
        let hangup = Request::HangupCall {
            call_id,
            usr_ext_dat: String::new(),
        };
        amy.request_ok(hangup, STEP).await?;
    }
    ben_task.abort();
    let bulk = transfer_rate(args, a, b, tag).await?;
    Ok(Measured {
        cmd: Latency::of(&cmd),
        call: Latency::of(&call),
        bulk,
    })
}

/// Bytes of one chunk, and the receiver's credit window.
const CHUNK: usize = 256 * 1024;
const WINDOW: u64 = 8 << 20;

/// One transfer of `--bulk-mib` MiB from a user on `a` to one on `b` (raw clients: the
/// receiver grants credit as chunks arrive and completes at the end): MiB/s from the offer
/// to the sender's result.
async fn transfer_rate(args: &Args, a: SocketAddr, b: SocketAddr, tag: &str) -> BenchResult<f64> {
    let (from, to) = (format!("src-{tag}"), format!("dst-{tag}"));
    let agent = "crvideo-bench/cluster_rtt";
    let mut sender = login(a, &from, agent, STEP).await?;
    let receiver = login(b, &to, agent, STEP).await?;
    let total = (args.bulk_mib as u64) << 20;
    let receiving = tokio::spawn(receive(receiver, total));
    let id = format!("bulk-{tag}");
    let offer = || Request::TransferOffer {
        transfer_id: id.clone(),
        target: to.clone(),
        kind: crvideo_proto::TransferKind::Buffer,
        name: String::new(),
        total,
    };
    // Until the receiver is known where the sender is.
    let known_by = Instant::now() + STEP;
    let t0 = loop {
        let t0 = Instant::now();
        let re = sender.send_request(offer()).await?;
        let reply = loop {
            match sender.next_frame(STEP).await? {
                ServerFrame::Reply(r) if r.re == re => break r,
                _ => {}
            }
        };
        match reply.code {
            0 => break t0,
            code if code == ErrorCode::SendDataTargetInvalid as i32
                && Instant::now() < known_by =>
            {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            code => return Err(format!("transfer offer: code {code}")),
        }
    };
    let chunk = vec![0xa5u8; CHUNK];
    let (mut sent, mut allowed) = (0u64, 0u64);
    while sent < total {
        while sent >= allowed {
            match sender.next_frame(STEP).await? {
                ServerFrame::Event(Event::TransferCredit { bytes, .. }) => allowed += bytes,
                ServerFrame::Event(Event::TransferResult { code, .. }) => {
                    return Err(format!("transfer ended early: code {code}"))
                }
                _ => {}
            }
        }
        let n = (CHUNK as u64).min(total - sent) as usize;
        let frame = crvideo_proto::data::encode_chunk(&id, sent, &chunk[..n]);
        sender
            .try_send(tokio_tungstenite::tungstenite::Message::binary(frame))
            .await?;
        sent += n as u64;
    }
    let end =
        serde_json::json!({"id": 0, "op": "transfer_end", "transfer_id": id, "digest": "bench"});
    sender.send_value(&end).await?;
    loop {
        if let ServerFrame::Event(Event::TransferResult { code, .. }) =
            sender.next_frame(STEP).await?
        {
            if code != 0 {
                return Err(format!("transfer failed: code {code}"));
            }
            break;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    receiving.await.map_err(|e| e.to_string())??;
    Ok(total as f64 / (1 << 20) as f64 / secs)
}

/// The receiving side: credit in windows, count the bytes, complete at the end.
async fn receive(mut conn: Conn, total: u64) -> BenchResult<()> {
    let deadline = || tokio::time::Instant::now() + STEP;
    let (mut id, mut received, mut granted) = (String::new(), 0u64, 0u64);
    loop {
        match conn
            .next_incoming(deadline(), STEP)
            .await
            .map_err(|e| e.to_string())?
        {
            Incoming::Frame(ServerFrame::Event(Event::TransferOffered { transfer_id, .. })) => {
                id = transfer_id;
                granted = WINDOW;
                let credit = serde_json::json!({"id": 0, "op": "transfer_credit",
                    "transfer_id": id, "bytes": WINDOW, "received": 0});
                conn.send_value(&credit).await?;
            }
            Incoming::Binary(frame) => {
                if let Ok(DataFrame::Chunk { payload, .. }) = decode_data(&frame) {
                    received += payload.len() as u64;
                    if granted < total && granted - received < WINDOW / 2 {
                        let more = WINDOW / 2;
                        granted += more;
                        let credit = serde_json::json!({"id": 0, "op": "transfer_credit",
                            "transfer_id": id, "bytes": more, "received": received});
                        conn.send_value(&credit).await?;
                    }
                }
            }
            Incoming::Frame(ServerFrame::Event(Event::TransferEnd { .. })) => {
                if received != total {
                    return Err(format!("received {received} of {total} bytes"));
                }
                let complete = Request::TransferComplete {
                    transfer_id: id.clone(),
                };
                conn.request_ok(complete, STEP).await?;
                return Ok(());
            }
            Incoming::Frame(_) => {}
        }
    }
}

/// NATS: `--bulk-mib` MiB in 512 KiB messages from a publisher on `a` to a subscriber on
/// `b`, MiB/s from the first publish to the last message's arrival.
async fn nats_bulk(args: &Args, a: SocketAddr, b: SocketAddr) -> BenchResult<f64> {
    const MESSAGE: usize = 512 * 1024;
    let publisher = nats::connect(a, STEP).await?;
    let subscriber = nats::connect(b, STEP).await?;
    let mut messages = nats::subscribe(&subscriber, "bulk", STEP).await?;
    // Until the subscription reached the publisher's server.
    let known_by = Instant::now() + STEP;
    loop {
        nats::publish(&publisher, "bulk", None, Bytes::from_static(b"probe")).await?;
        if nats::next(&mut messages, Duration::from_millis(200))
            .await
            .is_ok()
        {
            break;
        }
        if Instant::now() > known_by {
            return Err("the NATS subscriber never heard the publisher".into());
        }
    }
    // Late probes out of the way.
    while nats::next(&mut messages, Duration::from_millis(200))
        .await
        .is_ok()
    {}
    let count = (args.bulk_mib << 20) / MESSAGE;
    let body = Bytes::from(vec![0xa5u8; MESSAGE]);
    let t0 = Instant::now();
    let receiving = tokio::spawn(async move {
        for _ in 0..count {
            nats::next(&mut messages, STEP).await?;
        }
        Ok::<_, String>(())
    });
    for _ in 0..count {
        nats::publish(&publisher, "bulk", None, body.clone()).await?;
    }
    nats::flush(&publisher, STEP).await?;
    receiving.await.map_err(|e| e.to_string())??;
    Ok((count * MESSAGE) as f64 / (1 << 20) as f64 / t0.elapsed().as_secs_f64())
}

fn code(code: i32) -> String {
    format!("SendCmd failed: code {code}")
}

/// One SendCmd from `conn` to `target`: its round trip, or the refusal's code.
async fn cmd_rtt(
    conn: &mut Conn,
    target: &str,
    payload: &[u8],
) -> BenchResult<Result<Duration, i32>> {
    let id = conn.next_id();
    let t0 = Instant::now();
    conn.try_send(tokio_tungstenite::tungstenite::Message::binary(
        encode_command(id, target, payload),
    ))
    .await?;
    loop {
        match conn.next_frame(STEP).await? {
            ServerFrame::Reply(r) if r.re == id => {
                return Ok(match r.code {
                    0 => Ok(t0.elapsed()),
                    code => Err(code),
                })
            }
            _ => continue,
        }
    }
}

/// Ben: acknowledges every command and accepts every call, until aborted.
async fn answer(mut ben: Conn) -> BenchResult<()> {
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(3600);
    loop {
        let incoming = ben
            .next_incoming(deadline(), STEP)
            .await
            .map_err(|e| e.to_string())?;
        match incoming {
            Incoming::Binary(frame) => {
                if let Ok(DataFrame::Command { id, .. }) = decode_data(&frame) {
                    ben.send_request(Request::CmdAck { relay_id: id }).await?;
                }
            }
            Incoming::Frame(ServerFrame::Event(Event::CallIn { call_id, .. })) => {
                ben.send_request(Request::AcceptCall {
                    call_id,
                    meet_obj: String::new(),
                    usr_ext_dat: String::new(),
                })
                .await?;
            }
            Incoming::Frame(_) => {}
        }
    }
}

/// nats request/reply of [`PAYLOAD`] bytes: requester on `a`, responder on `b`.
async fn nats_rtt(args: &Args, a: SocketAddr, b: SocketAddr) -> BenchResult<Latency> {
    let requester = nats::connect(a, STEP).await?;
    let responder = nats::connect(b, STEP).await?;
    let mut requests = nats::subscribe(&responder, "rtt", STEP).await?;
    let echo = tokio::spawn(async move {
        while let Ok(msg) = nats::next(&mut requests, Duration::from_secs(3600)).await {
            if let Some(reply) = msg.reply {
                let _ = nats::publish(&responder, reply.as_str(), None, msg.payload).await;
            }
        }
    });
    let inbox = "_INBOX.rtt";
    let mut replies = nats::subscribe(&requester, inbox, STEP).await?;
    let body = Bytes::from(vec![0x5a; PAYLOAD]);
    // Until the responder's interest reached the requester's server (routes gossip it).
    let known_by = Instant::now() + STEP;
    loop {
        nats::publish(&requester, "rtt", Some(inbox), body.clone()).await?;
        if nats::next(&mut replies, Duration::from_millis(200))
            .await
            .is_ok()
        {
            break;
        }
        if Instant::now() > known_by {
            return Err("the NATS responder never answered".into());
        }
    }
    let mut samples = Vec::with_capacity(args.rounds);
    for n in 0..args.rounds + 200 {
        let t0 = Instant::now();
        nats::publish(&requester, "rtt", Some(inbox), body.clone()).await?;
        nats::next(&mut replies, STEP).await?;
        if n >= 200 {
            samples.push(t0.elapsed());
        }
    }
    echo.abort();
    Ok(Latency::of(&samples))
}

/// Three nats-servers routed to each other on loopback; the request crosses two of them.
async fn nats_cluster(args: &Args) -> BenchResult<(Latency, f64)> {
    let dir = TempDir::new("cluster-rtt-nats-cluster")?;
    let servers = start_nats_cluster(&args.nats.nats_bin, dir.path(), 3)?;
    let result = async {
        let rtt = nats_rtt(args, servers[0].addr, servers[1].addr).await?;
        Ok((
            rtt,
            nats_bulk(args, servers[0].addr, servers[1].addr).await?,
        ))
    };
    let result = result.await;
    Server::finish_all(servers, result)
}
