#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang and runs each for a short time,
# starting from its seeds. A crash input is kept under tests/fuzz/regress/
# so CTest replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
jobs=$(nproc 2>/dev/null || echo 2)
CC=clang cmake -S . -B build-fuzz -DPG_FUZZ=ON -DPG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$jobs"
fail=0
for t in build-fuzz/tests/fuzz-*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    corpus=build-fuzz/corpus/$name
    mkdir -p "$corpus" tests/fuzz/regress
    seeds=tests/fuzz/seeds/$name
    [ -d "$seeds" ] || seeds=
    echo "fuzz: $name for ${seconds}s"
    if ! "$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix=tests/fuzz/regress/"$name"- "$corpus" $seeds >"build-fuzz/$name.log" 2>&1; then
        echo "fuzz: $name found a crash:"
        tail -30 "build-fuzz/$name.log"
        fail=1
    fi
done
exit $fail
