#!/usr/bin/env bash
# Soak run (issue 8): 2,000 clients doing re-logins, presence changes, calls, SendCmd and
# connection resumes at a steady rate against one crvideo-server for a bounded time (1 min
# warm-up + 3 min steady by default); reports reply codes, unexpected errors, p50/p99/max
# latency per operation and the server's RSS series. Exits non-zero on any unexpected error
# or when the server's RSS grew more than 10 % after the warm-up.
#
# Builds the release server and the generator, then runs it; extra arguments go to `soak`,
# e.g. a smoke run: `benches/run-soak.sh --clients 200 --warmup-secs 5 --duration-secs 20`.
# The server's log is kept in target/soak-server.log.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo build --release -p crvideo-server --bin crvideo-server -p crvideo-bench --bin soak

# Every client is a file descriptor in the generator and in the server (which inherits this
# limit and also raises its soft limit to the hard one itself).
hard="$(ulimit -Hn)"
if [ "$hard" != "unlimited" ] && [ "$hard" -lt 2300 ]; then
    echo "warning: hard open-file limit is $hard; 2,000 clients need more than 2,000" >&2
fi
ulimit -n "$hard"

exec "$root/target/release/soak" \
    --server-bin "$root/target/release/crvideo-server" \
    --server-log "$root/target/soak-server.log" "$@"
