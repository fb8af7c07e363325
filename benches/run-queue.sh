#!/usr/bin/env bash
# Call-center queue benchmark: 50 agents and 1,000 customers on one queue of crvideo-server,
# with the server's own set_dnd -> user_status event latency as the in-run reference (see
# docs/BENCHMARKS.md). Builds the release binaries, then runs the load generator with its
# defaults (slow: 500 customers one every 20 ms; burst: 1,000 at once; rate: 1,000 at
# 500/s). Extra arguments go to queue_load, e.g. `benches/run-queue.sh --rate 0 --cold`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo build --release -p crvideo-server -p crvideo-bench

# 1,050 client connections plus the server's side of them: the bench and the server raise
# their soft open-file limit to the hard one themselves.
hard="$(ulimit -Hn)"
if [ "$hard" != "unlimited" ] && [ "$hard" -lt 1200 ]; then
    echo "warning: hard open-file limit is $hard; 1,050 connections need more" >&2
fi

exec "$root/target/release/queue_load" \
    --server-bin "$root/target/release/crvideo-server" "$@"
