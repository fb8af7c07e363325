#!/usr/bin/env bash
# A call-center queue: one agent and two customers (examples-c/queue_demo.c) against a local
# crvideo-server whose config has a queue. Exits 0 when the agent served both.
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts what it builds (CARGO_TARGET_DIR, relative to the repository, if set).
build="${CARGO_TARGET_DIR:-target}/debug"

cargo build --workspace --quiet
out=target/queue-demo
mkdir -p "$out"
cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude examples-c/queue_demo.c \
   -L"$build" -Wl,-rpath,"$(cd "$build" && pwd)" -lcrvideosdk -lpthread -o "$out/queue_demo"
cat > "$out/server.toml" <<'TOML'
listen = "127.0.0.1:0"
call_timeout_secs = 30
[[tenants]]
account = "demo"
password = "demo123"
[[tenants.queues]]
id = 1
name = "support"
desc = "Help desk"
prio = 1
TOML
data_dir=$(mktemp -d)
"$build/crvideo-server" --config "$out/server.toml" --data-dir "$data_dir" \
    > "$out/server.out" 2> "$out/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data_dir"' EXIT
for _ in $(seq 100); do
    grep -q '^listening on ' "$out/server.out" 2>/dev/null && break
    sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$out/server.out")
[ -n "$addr" ] || { cat "$out/server.log"; exit 1; }

"$out/queue_demo" "$addr" carol customer 1 & carol=$!
"$out/queue_demo" "$addr" dave customer 1 & dave=$!
"$out/queue_demo" "$addr" agent1 agent 1 2 & agent=$!
status=0
for p in $carol $dave $agent; do wait "$p" || status=1; done
[ "$status" = 0 ] && echo "queue demo: the agent served both customers" || echo "queue demo: FAILED"
exit "$status"
