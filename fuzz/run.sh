#!/usr/bin/env bash
# Builds every cargo-fuzz target and runs each for a bounded time, one after another:
#
#   fuzz/run.sh [seconds-per-target]    (default 20)
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Each target starts
# from its seeds in fuzz/corpus/<target>/ plus what earlier runs found in
# fuzz/work/corpus/<target>/ (new inputs go there, never into the committed seeds).
# Exits non-zero if any target crashed (a panic, a failed invariant, a sanitizer report,
# a hang of over 10 s); the input that did it is in fuzz/artifacts/<target>/, and
# `cargo +nightly fuzz run <target> <that file>` replays it.
set -euo pipefail

seconds="${1:-20}"
case "$seconds" in
'' | *[!0-9]*)
    echo "usage: $0 [seconds-per-target]" >&2
    exit 2
    ;;
esac
toolchain="${FUZZ_TOOLCHAIN:-nightly}"

cd "$(dirname "$0")/.."
if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
    echo "$0: needs cargo-fuzz and a $toolchain toolchain: cargo install cargo-fuzz" >&2
    exit 2
fi

# One build for all targets (the runs below find it up to date).
cargo "+$toolchain" fuzz build
failed=()
for target in $(cargo "+$toolchain" fuzz list); do
    work="fuzz/work/corpus/$target"
    mkdir -p "$work" "fuzz/artifacts/$target"
    echo "== $target: ${seconds}s"
    if ! cargo "+$toolchain" fuzz run "$target" "$work" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1; then
        failed+=("$target")
    fi
done
if ((${#failed[@]})); then
    echo "fuzz: crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: no crash in $(cargo "+$toolchain" fuzz list | wc -l) targets, ${seconds}s each"
