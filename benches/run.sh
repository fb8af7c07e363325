#!/usr/bin/env bash
# Runs one benchmark (see docs/BENCHMARKS.md): benches/run.sh NAME [ARGS...], NAME one of
#   calls     call setup and meeting creates vs nats-server request/reply and SQLite
#   meeting   one meeting of 100 members: IM fan-out, whiteboard adds, a late joiner's
#             enter (with --mode all unless ARGS say otherwise) vs nats-server fan-out
#   presence  N = 1000 and 10000 users, 100 DND changes vs nats-server
#   cluster-rtt  SendCmd and call setup on one node, within and across nodes of a
#             3-node cluster (on a redis-server it starts) vs nats-server request/reply on
#             one server and across a 3-server cluster
#   queue     call-center queue: 50 agents, 1,000 customers
#   soak      2,000 clients for 1 min warm-up + 3 min steady; exits non-zero on any
#             unexpected error or RSS growth over 10 % (server log: target/soak-server.log)
#   http      a 1 GiB HTTP download through the SDK vs curl -o from the same local
#             server (the work dir is under $TMPDIR unless --work-dir)
#   transfer  SendCmd / SendBuffer / SendFile between two SDK processes vs nats-server and
#             iperf3 (1 GiB transfers; the work dir is under $TMPDIR unless --work-dir)
#   video     H.264 encode/decode per frame vs ffmpeg, and the latency from a sender's
#             picture to 1 and 9 receivers' NotifyVideoData (640x360@15, 1280x720@30);
#             --memory-secs 300 adds a receiver's RSS over 5 minutes (--memory-only: just it)
#   video-relay  10 members each sending 640x360@15: server CPU per forwarded stream, peak
#             RSS and latency vs nats-server relaying the same frames
#   audio     Opus encode/decode per packet vs ffmpeg's libopus, a member hearing 10
#             speakers (CPU share), and mouth-to-ear latency push → speaker side
#   netdisk   net-disk upload and download of 1 GiB (MiB/s, server peak RSS after 64 MiB
#             and 1 GiB) vs curl PUT/GET to nginx on loopback, and md5sum of the file
#   record    the recorder's CPU composing 4 cameras into 720p30 H.264 vs ffmpeg xstack
#             into libx264 (and libopenh264 when the ffmpeg build has it)
#   playback  shared media playback of a 720p30 clip: the player's CPU (decode + encode
#             again + Opus) and each viewer's (decode) vs ffmpeg transcoding and decoding
# It builds the release binaries (the SDK's release profile has LTO), installs the peers it
# needs (nats-server, iperf3) with apt-get when they are missing (or runs without them:
# --skip-nats, --skip-iperf), warns when the hard open-file limit is too low for the
# default connection counts, then runs the load generator with its defaults; ARGS go to it
# and win, e.g. `benches/run.sh calls --pairs 200 --calls-per-pair 50` or
# `benches/run.sh soak --clients 200 --warmup-secs 5 --duration-secs 20`. `--help` lists
# a bench's flags. Client and server share the machine: it should be otherwise idle.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
name="${1:-}"
shift || true
target="${CARGO_TARGET_DIR:-$root/target}/release"

# bench binary, peers, file descriptors needed by the defaults, fixed arguments
case "$name" in
    calls) bin=calls_load peers="nats-server" fds=1100 fixed=() ;;
    meeting) bin=meeting_load peers="nats-server" fds=0 fixed=(--mode all) ;;
    presence) bin=presence_load peers="nats-server" fds=10100 fixed=() ;;
    cluster-rtt) bin=cluster_rtt peers="nats-server redis-server" fds=0 fixed=() ;;
    queue) bin=queue_load peers="" fds=1200 fixed=() ;;
    soak) bin=soak peers="" fds=2300 fixed=(--server-log "$target/../soak-server.log") ;;
    http) bin=http_load peers="curl" fds=0 fixed=() ;;
    transfer) bin=transfer_load peers="nats-server iperf3" fds=0 fixed=() ;;
    video) bin=video_load peers="ffmpeg" fds=0 fixed=() ;;
    video-relay) bin=video_relay peers="nats-server" fds=0 fixed=() ;;
    audio) bin=audio_load peers="ffmpeg" fds=0 fixed=() ;;
    netdisk) bin=netdisk_load peers="nginx curl" fds=0 fixed=() ;;
    record) bin=record_load peers="ffmpeg" fds=0 fixed=() ;;
    playback) bin=playback_load peers="ffmpeg" fds=0 fixed=() ;;
    *)
        sed -n '2,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac

cargo build --release -p crvideo-server --bin crvideo-server -p crvideo-bench --bin "$bin"

install_pkg() { # command
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "$1 not found; trying to install it (apt-get install $1)" >&2
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 \
        && { apt-get install -y -qq "$1" >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$1" >/dev/null 2>&1; }; } \
        && command -v "$1" >/dev/null 2>&1; then
        echo "installed $1" >&2
        return 0
    fi
    echo "could not install $1" >&2
    return 1
}

extra=()
for peer in $peers; do
    case "$peer" in
        nats-server) install_pkg nats-server || { echo "running without the NATS peer" >&2; extra+=(--skip-nats); } ;;
        # Not a peer: the cluster's engine.
        redis-server) install_pkg redis-server || { echo "redis-server is needed" >&2; exit 1; } ;;
        iperf3) install_pkg iperf3 || { echo "running without the iperf3 peer" >&2; extra+=(--skip-iperf); } ;;
        ffmpeg) install_pkg ffmpeg || { echo "running without the ffmpeg peer" >&2; extra+=(--skip-ffmpeg); } ;;
        # netdisk_load compares with nginx + curl (--skip-nginx), http_load with curl alone
        # (--skip-curl).
        nginx) install_pkg nginx || { echo "running without the nginx peer" >&2; extra+=(--skip-nginx); } ;;
        curl)
            if ! install_pkg curl; then
                echo "running without the curl peer" >&2
                case "$name" in
                    netdisk) [[ " ${extra[*]-} " == *" --skip-nginx "* ]] || extra+=(--skip-nginx) ;;
                    *) extra+=(--skip-curl) ;;
                esac
            fi
            ;;
    esac
done

# Every connection is a file descriptor on both sides; the bench and the server raise their
# soft limit to the hard one themselves, so only the hard limit matters.
hard="$(ulimit -Hn)"
if [ "$fds" -gt 0 ] && [ "$hard" != "unlimited" ] && [ "$hard" -lt "$fds" ]; then
    echo "warning: hard open-file limit is $hard; $name's defaults need about $fds" >&2
fi
ulimit -n "$hard"

# The benches that measure the SDK alone (no server) take no --server-bin.
server=(--server-bin "$target/crvideo-server")
case "$name" in record | playback) server=() ;; esac

exec "$target/$bin" "${server[@]}" "${fixed[@]}" "${extra[@]}" "$@"
