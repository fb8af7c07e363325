//! Cluster round trips: a 1 KiB SendCmd (sent → the sender has its answer, which follows the
//! target's acknowledgement) and a call's setup (call sent → CallAccepted) between two raw
//! clients, on a single node, on one node of a three-node cluster, and across two of its
//! nodes; against nats-server request/reply with the same payload on one server and across
//! a three-server cluster (routes on loopback). Each server is its own process, on one
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
}

fn main() {
    run_load_generator("cluster_rtt", run(Args::parse()));
}

struct Measured {
    cmd: Latency,
    call: Latency,
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
    let same = measure(&args, nodes[0].addr, nodes[0].addr, "same").await?;
    let cross = measure(&args, nodes[0].addr, nodes[1].addr, "cross").await;
    let mut cross = cross.map(Some);
    for node in nodes {
        cross = node.finish(cross).map(|c| c.or(None));
    }
    let cross = cross?.ok_or("no cross-node figures")?;
    rows.push(row("crvideo cluster, same node", &same));
    rows.push(row("crvideo cluster, across nodes", &cross));

    let mut nats_rows = Vec::new();
    if !args.nats.skip_nats {
        let dir = TempDir::new("cluster-rtt-nats")?;
        let server = Server::nats(&args.nats.nats_bin, dir.path(), &[])?;
        let one = nats_rtt(&args, server.addr, server.addr).await;
        let one = server.finish(one)?;
        nats_rows.push(Row::new("nats-server, one server").ms("request/reply ", &one, 3));
        let across = nats_cluster(&args).await?;
        nats_rows.push(Row::new("nats-server, across a 3-server cluster").ms(
            "request/reply ",
            &across,
            3,
        ));
        rows.extend(nats_rows.iter().cloned());
        summary_heading();
        table("placement", &rows);
        println!("\nRatios:\n");
        let ratios = [
            Row::new("crvideo across nodes / same node")
                .col("p50", ratio2(cross.cmd.p50_ms, same.cmd.p50_ms))
                .col("p99", ratio2(cross.cmd.p99_ms, same.cmd.p99_ms))
                .col("call p50", ratio2(cross.call.p50_ms, same.call.p50_ms)),
            Row::new("crvideo across nodes / nats across servers")
                .col("p50", ratio2(cross.cmd.p50_ms, across.p50_ms))
                .col("p99", ratio2(cross.cmd.p99_ms, across.p99_ms)),
            Row::new("nats across servers / one server")
                .col("p50", ratio2(across.p50_ms, one.p50_ms))
                .col("p99", ratio2(across.p99_ms, one.p99_ms)),
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
        .ms("SendCmd ", &m.cmd, 3)
        .ms("call setup ", &m.call, 3)
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
    Ok(Measured {
        cmd: Latency::of(&cmd),
        call: Latency::of(&call),
    })
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
async fn nats_cluster(args: &Args) -> BenchResult<Latency> {
    let dir = TempDir::new("cluster-rtt-nats-cluster")?;
    let servers = start_nats_cluster(&args.nats.nats_bin, dir.path(), 3)?;
    let result = nats_rtt(args, servers[0].addr, servers[1].addr).await;
    let mut result = result.map(Some);
    for server in servers {
        result = server.finish(result);
    }
    result.map(|r| r.expect("kept"))
}
