#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# pullgate is a transparent CRI proxy: every call made through it gives the
# same answer as the same call made to containerd directly. Starts a real
# docker-registry, a real containerd and `pullgate serve`, pushes two small
# images and the alpine image of the notation-go layout, and compares, call
# by call, the rendering of pg-cri against both sockets. Only the ImageFsInfo
# timestamp is normalised.

# The check functions are called through pg_check, out of shellcheck's sight.
# shellcheck disable=SC2317
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

pg_require containerd docker-registry curl diff "$PG_CRI" "$PG_PUSH"
pg_pullgate_has_serve || pg_skip "$PG_PULLGATE has no working serve command"
pg_tmpdir
pg_start_registry
pg_start_containerd
# A trust policy of level skip: pulls go through unverified and unchanged,
# so only the relay itself is under test here.
pg_start_pullgate --log-level debug --notation-dir "$(pg_notation_skip_dir)" \
    --plain-http "$PG_REGISTRY"

export PG_REGISTRY
R=$PG_REGISTRY
ONE=$R/test/one:v1
TWO=$R/test/two:v1
SECRET=pg-e2e-secret-$RANDOM$RANDOM
mkdir -p "$PG_TMP/cmp"

D1=$(pg_push_image test/one:v1 --file hello="one" --file etc/one.txt="first image") ||
    pg_die "cannot push test/one:v1"
pg_push_image test/two:v1 --docker --file hello="two" >/dev/null ||
    pg_die "cannot push test/two:v1"
ALPINE=$(pg_push_alpine test/alpine:v2) || pg_die "cannot push the alpine layout"

# Runs pg-cri on one socket; stdout, then the exit code, with volatile
# fields normalised.
cri_out()
{
    local sock=$1
    shift
    "$PG_CRI" --socket "$sock" --timeout 20000 "$@" 2>&1
    echo "exit=$?"
}

normalise()
{
    sed -E 's/"timestamp": [0-9]+/"timestamp": T/'
}

# same NAME ARGS...: the call gives the same answer direct and through
# pullgate. A value that changes on its own between two direct calls
# (usage counters) gets up to three tries; a real difference fails them all.
same()
{
    local name=$1 f=$PG_TMP/cmp/$1 _
    shift
    for _ in 1 2 3; do
        cri_out "$PG_CONTAINERD_SOCK" "$@" | normalise >"$f.direct"
        cri_out "$PG_PROXY_SOCK" "$@" | normalise >"$f.proxy"
        cri_out "$PG_CONTAINERD_SOCK" "$@" | normalise >"$f.direct2"
        if cmp -s "$f.direct" "$f.proxy" || cmp -s "$f.direct2" "$f.proxy"; then
            return 0
        fi
        cmp -s "$f.direct" "$f.direct2" && break
    done
    diff -u "$f.direct" "$f.proxy" >&2
    return 1
}

# expect NAME PATTERN: the last proxied answer of NAME matches PATTERN.
expect()
{
    grep -qE -- "$2" "$PG_TMP/cmp/$1.proxy" || {
        pg_log "$1 answered:"
        cat "$PG_TMP/cmp/$1.proxy" >&2
        false
    }
}

via_proxy_ok()
{
    "$PG_CRI" --socket "$PG_PROXY_SOCK" --timeout 60000 "$@" >/dev/null
}

direct_has_image()
{
    "$PG_CRI" --socket "$PG_CONTAINERD_SOCK" inspecti "$1" | grep -q '"id": "sha256:'
}

# Version, both API versions.
pg_check "Version v1 is the same through pullgate" same version-v1 --api v1 version
pg_check "Version v1 names the v1 API" expect version-v1 '"runtime_api_version": "v1"'
pg_check "Version v1alpha2 is the same through pullgate" \
    same version-v1alpha2 --api v1alpha2 version
pg_check "Version v1alpha2 names the v1alpha2 API" \
    expect version-v1alpha2 '"runtime_api_version": "v1alpha2"'

# Image calls before anything is pulled.
pg_check "ListImages of an empty store is the same" same images-empty images
pg_check "ImageFsInfo is the same (timestamp aside)" same fsinfo imagefsinfo
pg_check "ImageFsInfo v1alpha2 is the same" same fsinfo-v1alpha2 --api v1alpha2 imagefsinfo
pg_check "ImageStatus of an absent image is the same" same status-absent inspecti "$ONE"
pg_check "ImageStatus of an absent image has no image" expect status-absent '"image": null'

# PullImage: through pullgate first, then the same call directly.
pg_check "PullImage through pullgate succeeds" via_proxy_ok pull "$ONE"
pg_check "the image pulled through pullgate is in containerd" direct_has_image "$ONE"
pg_check "PullImage answers the same (image_ref)" same pull-one pull "$ONE"
pg_check "PullImage answers the config digest" expect pull-one '"image_ref": "sha256:[0-9a-f]{64}"'
pg_check "PullImage by digest is the same" same pull-digest pull "$R/test/one@$D1"
pg_check "PullImage with credentials is the same" same pull-auth pull "$TWO" \
    --auth-user pguser --auth-pass "$SECRET" --server-address "http://$R"
pg_check "PullImage of a missing tag fails the same way" same pull-missing pull "$R/test/one:nope"
pg_check "PullImage of a missing tag is NOT_FOUND" expect pull-missing '^code=5 '
pg_check "PullImage v1alpha2 is the same" same pull-v1alpha2 --api v1alpha2 pull "$ONE"
pg_check "PullImage of a real alpine image by digest is the same" \
    same pull-alpine pull "$R/test/alpine@$ALPINE"

# Listing and status of pulled images.
pg_check "ListImages is the same" same images images
pg_check "ListImages lists both images" expect images "test/two:v1"
pg_check "ListImages with a filter is the same" same images-filter images --filter "$ONE"
pg_check "ListImages v1alpha2 is the same" same images-v1alpha2 --api v1alpha2 images
pg_check "ImageStatus is the same" same status-one inspecti "$ONE"
pg_check "ImageStatus carries the manifest digest" expect status-one "test/one@$D1"
pg_check "ImageStatus verbose is the same" same status-verbose inspecti "$ONE" --verbose
pg_check "ImageStatus verbose carries the image info" expect status-verbose '"info": "\{'
pg_check "ImageStatus v1alpha2 is the same" same status-v1alpha2 --api v1alpha2 inspecti "$TWO"
pg_check "ImageFsInfo after pulls is the same" same fsinfo-after imagefsinfo

# RemoveImage through pullgate, then the same call directly.
no_image_direct()
{
    ! direct_has_image "$1"
}
pg_check "RemoveImage through pullgate succeeds" via_proxy_ok rmi "$TWO"
pg_check "the image removed through pullgate is gone" no_image_direct "$TWO"
pg_check "RemoveImage of an absent image is the same" same rmi-absent rmi "$TWO"
pg_check "RemoveImage v1alpha2 is the same" same rmi-v1alpha2 --api v1alpha2 rmi "$ONE"
pg_check "ListImages after removal is the same" same images-after images

# RuntimeService calls that need no running container.
pg_check "Status is the same" same rt-status status
pg_check "Status verbose is the same" same rt-status-verbose status --verbose
pg_check "ListPodSandbox is the same" same pods pods
pg_check "ListContainers is the same" same ps ps
pg_check "ListContainerStats is the same" same stats stats
pg_check "ContainerStats of a missing container fails the same way" same stat-missing stat nope
pg_check "ContainerStats of a missing container is NOT_FOUND" expect stat-missing '^code=5 '
pg_check "RuntimeConfig (unknown to containerd 1.6) fails the same way" same rtconfig runtimeconfig
pg_check "GetContainerEvents (a stream) gives the same status" \
    same events events --timeout 5000
pg_check "GetContainerEvents is UNIMPLEMENTED in containerd 1.6" expect events '^code=12 '
pg_check "GetContainerEvents v1alpha2 gives the same status" \
    same events-v1alpha2 --api v1alpha2 events --timeout 5000

# The daemon survived all of it, never logged the password, stops cleanly.
no_secret_in_log()
{
    ! grep -qF -- "$SECRET" "$PG_TMP/pullgate.log"
}
stops_cleanly()
{
    local i
    kill -TERM "$PG_PULLGATE_PID" || return 1
    for ((i = 0; i < 150; i++)); do
        pg_pid_alive "$PG_PULLGATE_PID" || break
        sleep 0.1
    done
    ! pg_pid_alive "$PG_PULLGATE_PID" && wait "$PG_PULLGATE_PID"
}
pg_check "pullgate is still running" pg_pid_alive "$PG_PULLGATE_PID"
pg_check "the registry password never reaches pullgate's log" no_secret_in_log
pg_check "pullgate exits 0 on SIGTERM" stops_cleanly
pg_finish
