#!/usr/bin/env bash
# Meeting-room benchmark: IM fan-out in one meeting of 100 members on crvideo-server, with
# nats-server publish fan-out to as many subscribers as the in-run peer (see
# docs/BENCHMARKS.md). Builds the release binaries, then runs the load generator with its
# defaults (100 members, 1,000 messages one at a time). Extra arguments go to meeting_load,
# e.g. `benches/run-meeting.sh --members 500 --skip-nats`.
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

exec "$root/target/release/meeting_load" \
    --server-bin "$root/target/release/crvideo-server" "${extra[@]}" "$@"
