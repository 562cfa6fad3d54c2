#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs bench/bench-cache against a real docker-registry on loopback: pushes a
# small image, signs it with pg-testsign material, writes a strict trust
# policy for it, then times the PullImage pre-hook cold and warm, the cache
# lookup alone, and the memory after many calls. Arguments go to bench-cache
# (--runs N, --calls N). Use a release build.
#
#   PG_BUILD_DIR=build-release bench/bench-cache.sh [--calls 100000]
set -u
PG_SOURCE_DIR=${PG_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/e2e/lib.sh
. "$PG_SOURCE_DIR/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/demo-lib.sh
. "$PG_SOURCE_DIR/tests/e2e/demo-lib.sh"

BENCH=${PG_BENCH:-$PG_BUILD_DIR/bench/bench-cache}
pg_require_tools docker-registry curl "$PG_PUSH" "$PG_TESTSIGN" "$BENCH"
pg_tmpdir
pg_start_registry
pg_make_ca "$PG_TMP/ca" || pg_die "cannot make signing keys"
pg_publish_small bench/app:v1 bench "$PG_TMP/ca" >/dev/null || pg_die "cannot publish the image"
nd=$PG_TMP/notation
pg_trust_store "$nd" bench "$PG_TMP/ca/root/cert.pem" || pg_die "cannot write the trust store"
pg_trust_policy "$nd" "$(pg_statement bench "\"$PG_REGISTRY/bench/app\"" '"ca:bench"' '"*"')" ||
    pg_die "cannot write the trust policy"
"$BENCH" --notation-dir "$nd" --plain-http "$PG_REGISTRY" "$@" "$PG_REGISTRY/bench/app:v1"
rc=$?
[ "$rc" -eq 3 ] && PG_QUIET_EXIT=1 # a goal missed: a result, not a failure
exit "$rc"
