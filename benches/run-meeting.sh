#!/usr/bin/env bash
# Meeting-room benchmarks in one meeting of 100 members on crvideo-server (see
# docs/BENCHMARKS.md): IM fan-out, with nats-server publish fan-out to as many subscribers as
# the in-run peer; whiteboard element adds by 10 drawing members, with nats-server carrying
# the same strokes from 10 publishers to 100 subscribers; and a late joiner's enter latency
# into a board of 10,000 elements. Builds the release binaries, then runs the load generator
# with `--mode all` and its defaults (100 members; 1,000 messages one at a time; 10 drawers
# with 16 unacknowledged adds each for 2 s + 10 s; 100 enter/exit cycles per phase). Extra
# arguments go to meeting_load and win over those, e.g. `benches/run-meeting.sh --mode im`
# (the IM measurement alone), `--mode board --skip-nats`, `--members 500`.
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
    --server-bin "$root/target/release/crvideo-server" --mode all "${extra[@]}" "$@"
