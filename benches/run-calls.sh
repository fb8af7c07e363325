#!/usr/bin/env bash
# Call-setup and meeting-create benchmark: crvideo-server vs nats-server request/reply and
# raw SQLite (see docs/BENCHMARKS.md). Builds the release binaries, then runs the load
# generator with its defaults (10,000 sequential calls, 500 pairs x 20 calls, 1,000
# sequential and 5,000 concurrent meeting creates). Extra arguments go to calls_load, e.g.
# `benches/run-calls.sh --pairs 200 --calls-per-pair 50`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo build --release -p crvideo-server -p crvideo-bench

extra=()
if ! command -v nats-server >/dev/null 2>&1; then
    echo "nats-server not found; trying to install it (apt-get install nats-server)" >&2
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 \
        && apt-get update -qq >/dev/null 2>&1 \
        && apt-get install -y -qq nats-server >/dev/null 2>&1 \
        && command -v nats-server >/dev/null 2>&1; then
        echo "installed $(nats-server --version)" >&2
    else
        echo "could not install nats-server: running without the peer (--skip-nats)" >&2
        extra+=(--skip-nats)
    fi
fi

# 500 pairs are 1,000 connections on each side; the bench and the server raise their soft
# open-file limit to the hard one themselves.
hard="$(ulimit -Hn)"
if [ "$hard" != "unlimited" ] && [ "$hard" -lt 1100 ]; then
    echo "warning: hard open-file limit is $hard; 500 pairs need more than 1000" >&2
fi

# The data dirs (server and SQLite peer) go under $TMPDIR (default /tmp): fsync cost
# depends on that filesystem, which the bench prints.
exec "$root/target/release/calls_load" \
    --server-bin "$root/target/release/crvideo-server" "${extra[@]}" "$@"
