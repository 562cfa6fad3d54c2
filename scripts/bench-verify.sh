#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Verification benchmark: starts docker-registry on loopback, publishes the
# alpine image with its real notation signature, and runs bench/bench-verify
# (first verification and repeated ones, network and cryptography apart).
#
#   scripts/bench-verify.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
./scripts/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target bench-verify pg-push pg-testsign >/dev/null

export PG_BUILD_DIR=$PWD/build-bench PG_SOURCE_DIR=$PWD PG_VECTORS=$PWD/tests/vectors
# shellcheck source=../tests/e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=../tests/e2e/demo-lib.sh
. tests/e2e/demo-lib.sh
pg_require_tools docker-registry openssl curl
pg_require_alpine
pg_tmpdir
pg_start_registry
pg_publish_alpine bench/alpine:signed >/dev/null
nd=$PG_TMP/notation
pg_envelope_cert "$PG_ALPINE_SIG" "$PG_TMP/signer.pem"
pg_trust_store "$nd" bench "$PG_TMP/signer.pem"
pg_trust_policy "$nd" "$(pg_statement bench '"*"' '"ca:bench"' '"*"')"
"$PG_BUILD_DIR/bench/bench-verify" --notation-dir "$nd" --plain-http "$PG_REGISTRY" \
    --runs "$runs" "$PG_REGISTRY/bench/alpine:signed"
