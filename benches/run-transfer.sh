#!/usr/bin/env bash
# Transparent-channel benchmark: SendCmd round trips and SendBuffer/SendFile throughput
# between two SDK processes through crvideo-server, against nats-server (request/reply and
# publish/subscribe) and iperf3 on loopback (see docs/BENCHMARKS.md). Builds the release
# binaries (the SDK's release profile has LTO), installs nats-server and iperf3 if they are
# missing, then runs the bench with its defaults (10,000 SendCmd of 1 KiB; SendBuffer
# 10 x 100 MiB; 3 x SendBuffer and 3 x SendFile of 1 GiB; the peers). Extra arguments go to
# transfer_load, e.g. `benches/run-transfer.sh --size 268435456 --runs 5`.
#
# The work dir (the 1 GiB source file, the receiver's tmpDir, the server's data dir) is
# under $TMPDIR (default /tmp) unless --work-dir is given; the bench prints its filesystem.
# The machine should be otherwise idle: the summary's "other CPU s" column shows what else
# ran during each phase.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo build --release -p crvideo-server -p crvideo-bench

install_pkg() { # command package
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "$1 not found; trying to install it (apt-get install $2)" >&2
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 \
        && { apt-get install -y -qq "$2" >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$2" >/dev/null 2>&1; }; } \
        && command -v "$1" >/dev/null 2>&1; then
        echo "installed $1" >&2
        return 0
    fi
    echo "could not install $2" >&2
    return 1
}

extra=()
install_pkg nats-server nats-server || { echo "running without the NATS peer" >&2; extra+=(--skip-nats); }
install_pkg iperf3 iperf3 || { echo "running without the iperf3 peer" >&2; extra+=(--skip-iperf); }

exec "$root/target/release/transfer_load" \
    --server-bin "$root/target/release/crvideo-server" "${extra[@]}" "$@"
