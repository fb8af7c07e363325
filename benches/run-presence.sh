#!/usr/bin/env bash
# Presence load benchmark: crvideo-server vs nats-server (see docs/BENCHMARKS.md).
# Builds the release binaries, then runs the load generator with its defaults
# (N = 1000 and 10000 users, 100 DND changes). Extra arguments go to presence_load,
# e.g. `benches/run-presence.sh --users 2000 --in-flight 100`.
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

# Each connection is a file descriptor on both sides; the bench and the server raise their
# soft limit to the hard one themselves, so only the hard limit matters here.
hard="$(ulimit -Hn)"
if [ "$hard" != "unlimited" ] && [ "$hard" -lt 10100 ]; then
    echo "warning: hard open-file limit is $hard; 10000 users need more than 10000" >&2
fi

exec "$root/target/release/presence_load" \
    --server-bin "$root/target/release/crvideo-server" "${extra[@]}" "$@"
