# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Shared harness for the end-to-end tests, the benchmark driver and the demo:
# a temporary directory removed on exit, a real docker-registry and a real
# containerd (root only) on loopback, and `pullgate serve` in front of
# containerd. Every process started here is killed on exit, also when the
# caller fails. The tests themselves live in tests/e2e/test-*.sh.
#
# Environment read: PG_BUILD_DIR (build tree, default ./build), PG_SOURCE_DIR,
# PG_VECTORS, PG_KEEP_TMP=1 (keep the temporary directory for debugging).
# On a failing exit the last lines of every log are printed, unless the
# caller set PG_QUIET_EXIT=1 (an exit code that is a result, not a failure).

PG_SKIP_CODE=77
PG_SOURCE_DIR=${PG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PG_BUILD_DIR=${PG_BUILD_DIR:-$PG_SOURCE_DIR/build}
PG_VECTORS=${PG_VECTORS:-$PG_SOURCE_DIR/tests/vectors}
PG_PULLGATE=${PG_PULLGATE:-$PG_BUILD_DIR/pullgate}
PG_CRI=${PG_CRI:-$PG_BUILD_DIR/tests/pg-cri}
PG_PUSH=${PG_PUSH:-$PG_BUILD_DIR/tests/pg-push}
PG_TMP=
PG_PIDS=()
PG_FAILS=0

pg_log()
{
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

pg_die()
{
    pg_log "FAIL: $*"
    exit 1
}

# Ends the test as skipped (CTest SKIP_RETURN_CODE 77).
pg_skip()
{
    pg_log "SKIP: $*"
    exit "$PG_SKIP_CODE"
}

# Skips unless the named programs (names on PATH or paths) exist.
pg_require_tools()
{
    local prog
    for prog in "$@"; do
        if ! command -v "$prog" >/dev/null 2>&1 && [ ! -x "$prog" ]; then
            pg_skip "$prog is not installed or not built"
        fi
    done
}

# Skips unless we are root and the named programs exist.
pg_require()
{
    if [ "$(id -u)" -ne 0 ]; then
        pg_skip "needs root (containerd runs as root in its own directories)"
    fi
    pg_require_tools "$@"
}

# Prints the log files of every started process, cut to their last lines.
pg_dump_logs()
{
    local f
    [ -n "$PG_TMP" ] || return 0
    for f in "$PG_TMP"/*.log; do
        [ -f "$f" ] || continue
        printf '%s\n' "---- last lines of $(basename "$f")" >&2
        tail -n 25 "$f" >&2
    done
}

# Stops every process started by pg_spawn: TERM to its process group, then
# KILL after five seconds; then removes the temporary directory.
pg_cleanup()
{
    local rc=$? pid i
    trap - EXIT INT TERM
    if [ "$rc" -ne 0 ] && [ "$rc" -ne "$PG_SKIP_CODE" ] && [ "${PG_QUIET_EXIT:-0}" != 1 ]; then
        pg_dump_logs
    fi
    for pid in "${PG_PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    done
    for ((i = 0; i < 50; i++)); do
        local alive=0
        for pid in "${PG_PIDS[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then
                alive=1
            fi
        done
        [ "$alive" -eq 1 ] || break
        sleep 0.1
    done
    for pid in "${PG_PIDS[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    PG_PIDS=()
    if [ -n "$PG_TMP" ] && [ -d "$PG_TMP" ]; then
        # containerd may leave mounts behind (shm, netns) if it died early.
        findmnt -rn -o TARGET | grep -F "$PG_TMP/" | sort -r |
            while read -r m; do umount -l "$m" 2>/dev/null; done
        if [ "${PG_KEEP_TMP:-0}" = 1 ]; then
            pg_log "kept $PG_TMP"
        else
            rm -rf "$PG_TMP"
        fi
    fi
    exit "$rc"
}

# Creates $PG_TMP and arms the cleanup trap.
pg_tmpdir()
{
    PG_TMP=$(mktemp -d /tmp/pg-e2e.XXXXXX) || pg_die "cannot create a temporary directory"
    chmod 755 "$PG_TMP"
    trap pg_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# pg_spawn NAME CMD...: runs CMD in the background in its own session, output
# to $PG_TMP/NAME.log. Sets PG_LAST_PID.
pg_spawn()
{
    local name=$1
    shift
    setsid "$@" >"$PG_TMP/$name.log" 2>&1 </dev/null &
    PG_LAST_PID=$!
    PG_PIDS+=("$PG_LAST_PID")
}

# pg_wait_until SECONDS DESCRIPTION CMD...: polls CMD every 0.1 s.
pg_wait_until()
{
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    pg_die "timed out after ${secs}s waiting for $what"
}

# pg_wait_proc PID SECONDS DESCRIPTION CMD...: like pg_wait_until, but gives
# up at once when process PID has exited.
pg_wait_proc()
{
    local pid=$1 secs=$2 what=$3 i
    shift 3
    for ((i = 0; i < secs * 10; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        pg_pid_alive "$pid" || pg_die "$what: the process exited"
        sleep 0.1
    done
    pg_die "timed out after ${secs}s waiting for $what"
}

# Prints a TCP port on 127.0.0.1 that nothing listens on. The ports lie below
# Linux's ephemeral range (32768 and up): a port there may be the local end of
# some outgoing connection, which no probe sees but which makes bind() fail.
pg_free_port()
{
    local port i
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    pg_die "no free port found"
}

# Succeeds while process PID runs (a zombie counts as gone).
pg_pid_alive()
{
    local st
    st=$(sed -E 's/.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# Starts docker-registry; sets PG_REGISTRY (host:port) and PG_REGISTRY_PID.
pg_start_registry()
{
    local port dir=$PG_TMP/registry
    port=$(pg_free_port)
    mkdir -p "$dir/data"
    cat >"$dir/config.yml" <<CFG
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
CFG
    pg_spawn registry docker-registry serve "$dir/config.yml"
    PG_REGISTRY_PID=$PG_LAST_PID
    PG_REGISTRY=127.0.0.1:$port
    pg_wait_proc "$PG_REGISTRY_PID" 30 "docker-registry on $PG_REGISTRY" \
        curl -fsS -o /dev/null "http://$PG_REGISTRY/v2/"
    pg_log "registry at $PG_REGISTRY"
}

# Writes the hosts.toml that sends pulls for host:port to plain http.
pg_containerd_host()
{
    local host=$1 dir=$PG_TMP/containerd/certs.d/$1
    mkdir -p "$dir"
    cat >"$dir/hosts.toml" <<CFG
server = "http://$host"

[host."http://$host"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
CFG
}

# Answers 0 once the CRI socket serves Version.
pg_cri_ready()
{
    local sock=$1
    [ -S "$sock" ] || return 1
    if [ -x "$PG_CRI" ]; then
        "$PG_CRI" --socket "$sock" --timeout 1000 version >/dev/null 2>&1
    fi
}

pg_containerd_config()
{
    local dir=$1
    cat <<CFG
version = 2
root = "$dir/root"
state = "$dir/state"
temp = "$dir/tmp"
plugin_dir = ""
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.overlayfs",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.grpc.v1.introspection",
]

[grpc]
  address = "$dir/containerd.sock"

[ttrpc]
  address = "$dir/containerd.sock.ttrpc"

[debug]
  level = "info"

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$dir/cni/bin"
    conf_dir = "$dir/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$dir/certs.d"
CFG
}

# Starts containerd with everything under $PG_TMP/containerd; pulls from
# $PG_REGISTRY go over plain http. Sets PG_CONTAINERD_SOCK, PG_CONTAINERD_PID.
pg_start_containerd()
{
    local dir=$PG_TMP/containerd
    mkdir -p "$dir/root" "$dir/state" "$dir/tmp" "$dir/certs.d" \
        "$dir/cni/bin" "$dir/cni/net.d"
    pg_containerd_config "$dir" >"$dir/config.toml"
    if [ -n "${PG_REGISTRY:-}" ]; then
        pg_containerd_host "$PG_REGISTRY"
    fi
    PG_CONTAINERD_SOCK=$dir/containerd.sock
    pg_spawn containerd containerd --config "$dir/config.toml"
    PG_CONTAINERD_PID=$PG_LAST_PID
    pg_wait_proc "$PG_CONTAINERD_PID" 60 "containerd CRI on $PG_CONTAINERD_SOCK" \
        pg_cri_ready "$PG_CONTAINERD_SOCK"
    pg_log "containerd at $PG_CONTAINERD_SOCK"
}

# Succeeds when the pullgate binary has a working serve command.
pg_pullgate_has_serve()
{
    [ -x "$PG_PULLGATE" ] || return 1
    "$PG_PULLGATE" serve --help >/dev/null 2>&1
}

# Writes a notation directory whose trust policy skips verification for every
# repository, so pullgate forwards pulls unchanged; prints its path. For tests
# of the proxy itself, not of verification.
pg_notation_skip_dir()
{
    local dir=$PG_TMP/notation-skip
    mkdir -p "$dir"
    cat >"$dir/trustpolicy.json" <<'CFG'
{
  "version": "1.0",
  "trustPolicies": [
    {
      "name": "e2e-skip-all",
      "registryScopes": ["*"],
      "signatureVerification": {"level": "skip"}
    }
  ]
}
CFG
    echo "$dir"
}

# pg_start_pullgate [EXTRA ARGS...]: starts pullgate serve in front of
# containerd. $PG_PULLGATE_ARGS (split on spaces) comes before the extra args.
# Sets PG_PROXY_SOCK and PG_PULLGATE_PID.
pg_start_pullgate()
{
    local -a env_args
    read -r -a env_args <<<"${PG_PULLGATE_ARGS:-}"
    PG_PROXY_SOCK=$PG_TMP/pullgate.sock
    pg_spawn pullgate "$PG_PULLGATE" serve --listen "$PG_PROXY_SOCK" \
        --upstream "$PG_CONTAINERD_SOCK" "${env_args[@]}" "$@"
    PG_PULLGATE_PID=$PG_LAST_PID
    pg_wait_proc "$PG_PULLGATE_PID" 30 "pullgate on $PG_PROXY_SOCK" \
        pg_cri_ready "$PG_PROXY_SOCK"
    pg_log "pullgate at $PG_PROXY_SOCK (pid $PG_PULLGATE_PID)"
}

# pg_push_image REPO:TAG [pg-push image options]: builds and pushes a small
# image to $PG_REGISTRY; prints its manifest digest.
pg_push_image()
{
    "$PG_PUSH" --registry "$PG_REGISTRY" image "$@"
}

# pg_push_alpine REPO:TAG: pushes the alpine image of the notation-go test
# layout (manifest sha256:19dbd2e4...) to $PG_REGISTRY; prints its digest.
pg_push_alpine()
{
    local dir=$PG_VECTORS/notation-go/internal/testdata/oci-layout
    [ -f "$dir/index.json" ] || pg_skip "no notation-go oci-layout under $PG_VECTORS"
    "$PG_PUSH" --registry "$PG_REGISTRY" layout "$1" "$dir"
}

# pg_check NAME CMD...: runs one check, counts a failure instead of exiting.
pg_check()
{
    local name=$1
    shift
    if "$@"; then
        pg_log "ok   - $name"
    else
        pg_log "FAIL - $name"
        PG_FAILS=$((PG_FAILS + 1))
    fi
}

# Exits with the verdict of the pg_check calls so far.
pg_finish()
{
    if [ "$PG_FAILS" -ne 0 ]; then
        pg_die "$PG_FAILS check(s) failed"
    fi
    pg_log "all checks passed"
    exit 0
}
