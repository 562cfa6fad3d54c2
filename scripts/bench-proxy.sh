#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs bench/bench-proxy against a real containerd with and without pullgate
# in front: starts docker-registry, containerd and `pullgate serve` through
# tests/e2e/lib.sh (root only), pushes and pulls a small image, then times
# ImageStatus both ways. Arguments go to bench-proxy (e.g. --duration-ms).
#
#   sudo PG_BUILD_DIR=build scripts/bench-proxy.sh [--duration-ms 3000]
set -u
PG_SOURCE_DIR=${PG_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/e2e/lib.sh
. "$PG_SOURCE_DIR/tests/e2e/lib.sh"

BENCH=${PG_BENCH:-$PG_BUILD_DIR/bench/bench-proxy}
pg_require containerd docker-registry curl "$PG_CRI" "$PG_PUSH" "$BENCH"
pg_pullgate_has_serve || pg_skip "$PG_PULLGATE has no working serve command"
pg_tmpdir
pg_start_registry
pg_start_containerd
pg_start_pullgate --log-level warning --notation-dir "$(pg_notation_skip_dir)" \
    --plain-http "$PG_REGISTRY"

IMAGE=$PG_REGISTRY/bench/hello:v1
pg_push_image bench/hello:v1 >/dev/null ||
    pg_die "cannot push $IMAGE"
"$PG_CRI" --socket "$PG_CONTAINERD_SOCK" --timeout 60000 pull "$IMAGE" >/dev/null ||
    pg_die "cannot pull $IMAGE"

pg_log "containerd $(containerd --version | awk '{print $3}'), $(nproc) cpus"
"$BENCH" --direct "$PG_CONTAINERD_SOCK" --proxy "$PG_PROXY_SOCK" --image "$IMAGE" \
    --pid "$PG_PULLGATE_PID" "$@"
rc=$?
[ "$rc" -eq 3 ] && PG_QUIET_EXIT=1 # a goal missed: a result, not a failure
pg_pid_alive "$PG_PULLGATE_PID" || pg_die "pullgate died during the benchmark"
exit "$rc"
