#!/usr/bin/env bash
# The README's demo: builds everything, starts crvideo-server with its built-in defaults on
# a free local port, and runs the C demo for two users (alice and bob) side by side.
# Exits 0 when both demos succeed.
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts what it builds (CARGO_TARGET_DIR, relative to the repository, if set).
build="${CARGO_TARGET_DIR:-target}/debug"

cargo build --workspace --quiet
out=target/demo
mkdir -p "$out"
cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude examples-c/demo.c \
   -L"$build" -Wl,-rpath,"$(cd "$build" && pwd)" -lcrvideosdk -lpthread -o "$out/demo"

data_dir=$(mktemp -d)
# A line left by an earlier run must not be taken for this server's (the redirection below
# happens in the background, possibly after the first look).
rm -f "$out/server.out" "$out/server.log"
"$build/crvideo-server" --listen 127.0.0.1:0 --data-dir "$data_dir" \
    > "$out/server.out" 2> "$out/server.log" &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$data_dir"
}
trap cleanup EXIT

for _ in $(seq 100); do
    grep -q '^listening on ' "$out/server.out" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$out/server.log"; exit 1; }
    sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$out/server.out")
[ -n "$addr" ] || { echo "server did not start:"; cat "$out/server.log"; exit 1; }
echo "crvideo-server listening on $addr (log: $out/server.log)"

rm -rf "$out/inbox-alice" "$out/inbox-bob"
mkdir -p "$out/inbox-alice" "$out/inbox-bob"
"$out/demo" "$addr" alice bob caller "$out/inbox-alice" & alice=$!
"$out/demo" "$addr" bob alice callee "$out/inbox-bob" & bob=$!
status=0
wait "$alice" || status=1
wait "$bob" || status=1
[ "$status" = 0 ] && echo "demo: both users done" || echo "demo: FAILED"
exit "$status"
