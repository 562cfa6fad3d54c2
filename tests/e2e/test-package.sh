#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The Debian package: built by CPack from the build tree, inspected with
# dpkg-deb (files where Debian 12 expects them, the configuration a conffile,
# Depends filled by dpkg-shlibdeps, the project's version), extracted with
# dpkg -x into a scratch root whose binary must run. As root, the extracted
# configuration is then laid over /etc, and a fresh /run mounted, in a
# private mount namespace, so `pullgate config check` and `pullgate serve`
# run with exactly the installed defaults, without touching the host.
# `cmake --install` with /usr/local or a scratch prefix (under DESTDIR) writes
# nothing under /etc.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

pg_require_tools cpack dpkg-deb dpkg-shlibdeps "$PG_PULLGATE"
[ -f "$PG_BUILD_DIR/CPackConfig.cmake" ] || pg_skip "no CPackConfig.cmake in $PG_BUILD_DIR"
pg_tmpdir

WANT_VERSION=$("$PG_PULLGATE" version | sed -n 's/^pullgate //p')
(cd "$PG_TMP" && cpack -G DEB --config "$PG_BUILD_DIR/CPackConfig.cmake" -B "$PG_TMP/pkg") \
    >"$PG_TMP/cpack.log" 2>&1 || pg_die "cpack failed"
DEBS=("$PG_TMP"/pkg/pullgate_*.deb)
[ "${#DEBS[@]}" -eq 1 ] && [ -f "${DEBS[0]}" ] || pg_die "cpack made no single pullgate_*.deb"
DEB=${DEBS[0]}
pg_log "built $(basename "$DEB")"
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's#^\./#/#' >"$PG_TMP/files"

has_file()
{
    grep -qxF "$1" "$PG_TMP/files"
}
for f in /usr/bin/pullgate /lib/systemd/system/pullgate.service /etc/pullgate/pullgate.conf \
    /usr/share/doc/pullgate/README.md /usr/share/doc/pullgate/copyright \
    /usr/share/doc/pullgate/systemd.md /usr/share/doc/pullgate/configuration.md \
    /usr/share/doc/pullgate/examples/kubelet-pullgate.conf; do
    pg_check "the package holds $f" has_file "$f"
done

every_doc_shipped()
{
    local d
    for d in "$PG_SOURCE_DIR"/docs/*.md; do
        has_file "/usr/share/doc/pullgate/$(basename "$d")" || { pg_log "missing $d"; return 1; }
    done
}
pg_check "every docs/*.md is shipped" every_doc_shipped

nothing_stray()
{
    ! grep -vE '^/(usr/bin|usr/share/doc/pullgate|lib/systemd/system|etc/pullgate)(/|$)|^/(usr|usr/share|usr/share/doc|lib|lib/systemd|etc)?/?$' \
        "$PG_TMP/files"
}
pg_check "nothing is installed outside the expected directories" nothing_stray

field()
{
    dpkg-deb -f "$DEB" "$1"
}
pg_check "Version is the project version ($WANT_VERSION)" test "$(field Version)" = "$WANT_VERSION"
pg_check "Package is pullgate" test "$(field Package)" = pullgate
# Every library the binary needs comes from a package named in Depends.
depends_filled()
{
    local lib path pkg deps
    deps=$(field Depends)
    [ -n "$deps" ] || return 1
    for lib in $(readelf -d "$PG_PULLGATE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        path=$(ldd "$PG_PULLGATE" | awk -v l="$lib" '$1 == l { print $3 }')
        pkg=$(dpkg -S "$(realpath "$path")" 2>/dev/null | sed -n '1s/:.*//p')
        [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | sed -n '1s/:.*//p')
        if [ -z "$pkg" ] || ! printf '%s\n' "$deps" | grep -qE "(^|, )$pkg( |,|$)"; then
            pg_log "Depends lacks ${pkg:-the package of} $lib: $deps"
            return 1
        fi
    done
}
pg_check "Depends is filled by dpkg-shlibdeps" depends_filled

mkdir -p "$PG_TMP/control"
dpkg-deb -e "$DEB" "$PG_TMP/control" || pg_die "dpkg-deb -e failed"
pg_check "the configuration is a conffile" \
    grep -qxF /etc/pullgate/pullgate.conf "$PG_TMP/control/conffiles"
scripts_ok()
{
    local s
    for s in postinst prerm postrm; do
        [ -x "$PG_TMP/control/$s" ] && sh -n "$PG_TMP/control/$s" || { pg_log "bad $s"; return 1; }
    done
}
pg_check "maintainer scripts are executable and parse" scripts_ok

# The extracted package.
ROOT=$PG_TMP/root
dpkg -x "$DEB" "$ROOT" || pg_die "dpkg -x failed"
pg_check "the extracted binary runs and prints the project version" \
    test "$("$ROOT/usr/bin/pullgate" version)" = "pullgate $WANT_VERSION"
pg_check "the binary is stripped" sh -c "! readelf -S '$ROOT/usr/bin/pullgate' | grep -q debug_info"
pg_check "the unit is the one in systemd/" cmp -s "$ROOT/lib/systemd/system/pullgate.service" \
    "$PG_SOURCE_DIR/systemd/pullgate.service"
pg_check "the configuration is the one in systemd/" cmp -s "$ROOT/etc/pullgate/pullgate.conf" \
    "$PG_SOURCE_DIR/systemd/pullgate.conf"
if command -v systemd-analyze >/dev/null 2>&1; then
    sed "s#/usr/bin/pullgate#$ROOT/usr/bin/pullgate#" "$ROOT/lib/systemd/system/pullgate.service" \
        >"$PG_TMP/pullgate.service"
    pg_check "systemd-analyze verify accepts the installed unit" \
        systemd-analyze verify "$PG_TMP/pullgate.service"
fi

# `cmake --install` with the default prefix /usr/local: the unit goes where
# systemd reads units under /usr/local and runs the binary installed there.
# install_manifest.txt of the build tree is kept as it was.
# prefix_install DESTDIR PREFIX
prefix_install()
{
    local manifest=$PG_BUILD_DIR/install_manifest.txt rc=0 name
    name=$(basename "$1")
    [ -f "$manifest" ] && cp -p "$manifest" "$PG_TMP/manifest.saved"
    DESTDIR=$1 cmake --install "$PG_BUILD_DIR" --prefix "$2" \
        >"$PG_TMP/$name-install.out" 2>&1 || rc=$?
    if [ -f "$PG_TMP/manifest.saved" ]; then
        cp -p "$PG_TMP/manifest.saved" "$manifest"
    else
        rm -f "$manifest"
    fi
    [ "$rc" -eq 0 ] || sed 's/^/    /' "$PG_TMP/$name-install.out" >&2
    return "$rc"
}
local_install()
{
    prefix_install "$PG_TMP/local" /usr/local
}
# nothing_in_etc DESTDIR: the install wrote nothing under DESTDIR/etc.
nothing_in_etc()
{
    [ ! -e "$1/etc" ] || { find "$1/etc" >&2; return 1; }
}
LOCAL_UNIT=$PG_TMP/local/usr/local/lib/systemd/system/pullgate.service
LOCAL_CONF=$PG_TMP/local/usr/local/share/doc/pullgate/pullgate.conf
if command -v cmake >/dev/null 2>&1 && local_install; then
    pg_check "cmake --install with the prefix /usr/local writes nothing under /etc" \
        nothing_in_etc "$PG_TMP/local"
    pg_check "cmake --install puts the configuration in /usr/local/share/doc/pullgate" \
        test -f "$LOCAL_CONF"
    pg_check "the installed configuration differs from systemd/ in its /usr/local paths only" \
        sh -c "sed 's#/usr/local/#/usr/#g' '$LOCAL_CONF' | cmp -s - '$PG_SOURCE_DIR/systemd/pullgate.conf'"
    pg_check "cmake --install puts the binary in /usr/local/bin" \
        test -x "$PG_TMP/local/usr/local/bin/pullgate"
    pg_check "cmake --install puts the unit in /usr/local/lib/systemd/system" test -f "$LOCAL_UNIT"
    pg_check "the installed unit runs /usr/local/bin/pullgate" \
        grep -qxF 'ExecStart=/usr/local/bin/pullgate serve' "$LOCAL_UNIT"
    pg_check "the installed unit names no /usr/bin/pullgate" \
        sh -c "! grep -q '/usr/bin/pullgate\|/usr/share/doc' '$LOCAL_UNIT'"
    pg_check "the installed unit differs from systemd/ in its /usr/local paths only" \
        sh -c "sed 's#/usr/local/#/usr/#g' '$LOCAL_UNIT' | cmp -s - '$PG_SOURCE_DIR/systemd/pullgate.service'"
    if command -v systemd-analyze >/dev/null 2>&1; then
        sed "s#/usr/local/bin/pullgate#$PG_TMP/local/usr/local/bin/pullgate#" "$LOCAL_UNIT" \
            >"$PG_TMP/pullgate-local.service"
        pg_check "systemd-analyze verify accepts the /usr/local unit" \
            systemd-analyze verify "$PG_TMP/pullgate-local.service"
    fi
else
    pg_check "cmake --install with the prefix /usr/local succeeds" false
fi
# Any other prefix but /usr leaves /etc alone as well.
SCRATCH=$PG_TMP/scratch-prefix
if command -v cmake >/dev/null 2>&1 && prefix_install "$PG_TMP/scratch" "$SCRATCH"; then
    pg_check "cmake --install with a scratch prefix writes nothing under /etc" \
        nothing_in_etc "$PG_TMP/scratch"
    pg_check "cmake --install puts the configuration in PREFIX/share/doc/pullgate" \
        test -f "$PG_TMP/scratch$SCRATCH/share/doc/pullgate/pullgate.conf"
    pg_check "cmake --install puts the unit in PREFIX/lib/systemd/system" \
        test -f "$PG_TMP/scratch$SCRATCH/lib/systemd/system/pullgate.service"
else
    pg_check "cmake --install with a scratch prefix succeeds" false
fi

# Installed defaults, in a private mount namespace: the package's /etc/pullgate
# over the host's /etc, a fresh /run with containerd's directory.
installed_defaults()
{
    local ns=$PG_TMP/ns
    mkdir -p "$ns/upper" "$ns/work" || return 1
    cp -R "$ROOT/etc/pullgate" "$ns/upper/" || return 1
    cp -R "$(pg_notation_skip_dir)" "$ns/upper/pullgate/notation" || return 1
    # shellcheck disable=SC2016
    unshare -m --propagation private sh -c '
        set -e
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc
        mount -t tmpfs tmpfs /run
        mkdir -p /run/containerd /run/pullgate
        "$2" config check >"$1/check.out" 2>&1
        "$2" serve >"$1/serve.out" 2>&1 &
        pid=$!
        for i in $(seq 1 100); do
            [ -S /run/pullgate/pullgate.sock ] && break
            sleep 0.1
        done
        [ -S /run/pullgate/pullgate.sock ]
        kill -TERM "$pid"
        wait "$pid"
    ' sh "$ns" "$ROOT/usr/bin/pullgate"
}
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1; then
    pg_check "with the installed defaults, config check passes and serve listens and stops" \
        installed_defaults
    pg_check "config check read /etc/pullgate/pullgate.conf" \
        grep -qxF '# configuration file: /etc/pullgate/pullgate.conf' "$PG_TMP/ns/check.out"
    pg_check "serve listened on the default socket" \
        grep -qF 'listening on /run/pullgate/pullgate.sock' "$PG_TMP/ns/serve.out"
    [ "$PG_FAILS" -eq 0 ] || sed 's/^/    /' "$PG_TMP"/ns/*.out >&2
else
    pg_log "not root or no unshare: the installed defaults are not run"
fi

pg_finish
