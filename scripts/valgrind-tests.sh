#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every unit test executable of a build under valgrind; any error or
# leak fails. Tests labelled valgrind in CTest (daemon runs) go too.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
fail=0
for t in "$build"/tests/test-*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    if ! PG_VECTORS=${PG_VECTORS:-$PWD/tests/vectors} \
        PG_SOURCE_DIR=$PWD PG_BUILD_DIR=$PWD/$build PG_UNDER_VALGRIND=1 \
        valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --track-fds=no "$t" >"$build/valgrind-$name.log" 2>&1; then
        echo "valgrind: $name FAILED (see $build/valgrind-$name.log)"
        tail -40 "$build/valgrind-$name.log"
        fail=1
    else
        echo "valgrind: $name ok"
    fi
done
if ctest --test-dir "$build" -N -L valgrind | grep -q 'Total Tests: [1-9]'; then
    ctest --test-dir "$build" --output-on-failure -L valgrind || fail=1
fi
exit $fail
