#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, as CI runs it: installs what it needs, then builds and
# runs every test three ways (plain, AddressSanitizer+UndefinedBehaviorSanitizer,
# valgrind), checks formatting, and runs each fuzz target briefly.
#
#   scripts/test.sh            everything
#   scripts/test.sh --quick    the plain build and its tests only
# Any other argument is a usage error (exit 2).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { printf 'usage: %s [--quick]\n' "$0"; }

quick=0
case "$#:${1:-}" in
0:) ;;
1:--quick) quick=1 ;;
1:-h | 1:--help)
    usage
    exit 0
    ;;
*)
    usage >&2
    exit 2
    ;;
esac
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${PG_FUZZ_SECONDS:-20}

step() { printf '\n==> %s\n' "$*"; }

step "installing packages"
./scripts/install-deps.sh

step "plain build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" -LE 'valgrind'
[ "$quick" -eq 1 ] && exit 0

step "formatting"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

step "AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
cmake -S . -B build-asan -DPG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE 'valgrind'
unset ASAN_OPTIONS UBSAN_OPTIONS

step "valgrind"
./scripts/valgrind-tests.sh build

step "fuzz targets, ${fuzz_seconds}s each"
./scripts/fuzz.sh "$fuzz_seconds"

step "all tests passed"
