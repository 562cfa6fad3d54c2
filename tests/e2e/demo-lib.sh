# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Publishing signed and unsigned images to the docker-registry of lib.sh, and
# writing the notation directories that trust them. Shared by the demo
# (scripts/demo.sh), the enforcement tests (tests/e2e/test-enforce.sh), the
# `pullgate verify` tests and the pull benchmark. Source lib.sh first.
#
# docker-registry has no Referrers API, so a signature is published as notation
# does for such registries: the envelope blob, a signature manifest (legacy
# form: config media type application/vnd.cncf.notary.signature, one layer,
# subject = the signed manifest) and an OCI index tagged sha256-<hex> of the
# subject, listing every signature manifest of that subject.
#
# Only shell, curl, openssl and base64 are needed: no jq or python.

PG_TESTSIGN=${PG_TESTSIGN:-$PG_BUILD_DIR/tests/pg-testsign}
PG_ALPINE_LAYOUT=$PG_VECTORS/notation-go/internal/testdata/oci-layout
PG_ALPINE_SIG=$PG_VECTORS/notation-go/internal/testdata/jws_signature.sig
PG_ALPINE_DIGEST=sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0

PG_MT_OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
PG_MT_OCI_INDEX=application/vnd.oci.image.index.v1+json
PG_MT_ALL_MANIFESTS="$PG_MT_OCI_MANIFEST, $PG_MT_OCI_INDEX, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json"

# Skips unless the notation-go vectors the demo publishes are present.
pg_require_alpine()
{
    if [ ! -f "$PG_ALPINE_LAYOUT/index.json" ] || [ ! -f "$PG_ALPINE_SIG" ]; then
        pg_skip "no notation-go test data under $PG_VECTORS"
    fi
}

# pg_manifest_get REPO REF: prints the manifest body as the registry stores it.
pg_manifest_get()
{
    curl -fsS -H "Accept: $PG_MT_ALL_MANIFESTS" "http://$PG_REGISTRY/v2/$1/manifests/$2"
}

# pg_manifest_media_type REPO REF: prints the manifest's Content-Type.
pg_manifest_media_type()
{
    curl -fsS -o /dev/null -w '%{content_type}' -H "Accept: $PG_MT_ALL_MANIFESTS" \
        "http://$PG_REGISTRY/v2/$1/manifests/$2"
}

# pg_manifest_size REPO REF: prints the manifest's size in bytes.
pg_manifest_size()
{
    local body
    body=$(pg_manifest_get "$1" "$2" | wc -c) || return 1
    echo $((body))
}

# pg_retag REPO FROM TO: points tag TO of REPO at the manifest FROM names.
pg_retag()
{
    local f=$PG_TMP/retag.$$.$RANDOM mt
    mt=$(pg_manifest_media_type "$1" "$2") || return 1
    pg_manifest_get "$1" "$2" >"$f" || return 1
    "$PG_PUSH" --registry "$PG_REGISTRY" manifest "$1" "$3" "$f" "$mt" >/dev/null
    local rc=$?
    rm -f "$f"
    return "$rc"
}

# pg_attach_signature REPO SUBJECT_DIGEST ENVELOPE: publishes ENVELOPE (a JWS
# file) as a signature of REPO@SUBJECT_DIGEST and refreshes the subject's
# sha256-<hex> index with every signature attached to it so far. Prints the
# signature manifest's digest.
pg_attach_signature()
{
    local repo=$1 subject=$2 env=$3 mt size dir sig out
    dir=$PG_TMP/signatures/${repo//\//_}
    mkdir -p "$dir" || return 1
    mt=$(pg_manifest_media_type "$repo" "$subject") || return 1
    size=$(pg_manifest_size "$repo" "$subject") || return 1
    printf '{}' >"$dir/empty.json"
    "$PG_PUSH" --registry "$PG_REGISTRY" blob "$repo" "$dir/empty.json" >/dev/null || return 1
    "$PG_PUSH" --registry "$PG_REGISTRY" blob "$repo" "$env" >/dev/null || return 1
    out=$("$PG_TESTSIGN" manifest --envelope "$env" --subject-media-type "$mt" \
        --subject-digest "$subject" --subject-size "$size" --out "$dir/sig.json") || return 1
    sig=${out%% *}
    "$PG_PUSH" --registry "$PG_REGISTRY" manifest "$repo" "$sig" "$dir/sig.json" \
        "$PG_MT_OCI_MANIFEST" >/dev/null || return 1
    echo "$sig" >>"$dir/${subject/:/-}"
    # shellcheck disable=SC2046 # one digest per line, no spaces
    "$PG_PUSH" --registry "$PG_REGISTRY" index "$repo" "${subject/:/-}" \
        $(cat "$dir/${subject/:/-}") >/dev/null || return 1
    echo "$sig"
}

# pg_envelope_cert ENVELOPE OUT.pem: writes the first x5c certificate of a JWS
# envelope (the signing certificate) as PEM.
pg_envelope_cert()
{
    local b64
    b64=$(tr -d ' \n\r\t' <"$1" | sed -n 's/.*"x5c":\["\([A-Za-z0-9+\/=]*\)".*/\1/p')
    [ -n "$b64" ] || return 1
    printf '%s' "$b64" | base64 -d | openssl x509 -inform DER -out "$2"
}

# pg_cert_subject CERT.pem: prints the subject as an x509.subject identity
# (RFC 4514 order, as notation writes it).
pg_cert_subject()
{
    openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'
}

# pg_publish_alpine REPO:TAG: the alpine image of the notation-go layout with
# its real notation signature. Prints the manifest digest ($PG_ALPINE_DIGEST).
pg_publish_alpine()
{
    local repo=${1%:*} digest
    digest=$("$PG_PUSH" --registry "$PG_REGISTRY" layout "$1" "$PG_ALPINE_LAYOUT") || return 1
    if [ "$digest" != "$PG_ALPINE_DIGEST" ]; then
        echo "pushed $1 as $digest, not $PG_ALPINE_DIGEST" >&2
        return 1
    fi
    pg_attach_signature "$repo" "$digest" "$PG_ALPINE_SIG" >/dev/null || return 1
    echo "$digest"
}

# pg_make_ca DIR [SUBJECT]: a root CA and a code signing leaf under DIR
# (DIR/root, DIR/leaf) made by pg-testsign.
pg_make_ca()
{
    local dir=$1 subject=${2:-CN=pg demo signer,O=pullgate,ST=WA,C=US}
    mkdir -p "$dir" || return 1
    "$PG_TESTSIGN" ca --out "$dir/root" --subject "CN=${dir##*/} root,O=pullgate,ST=WA,C=US" \
        >/dev/null || return 1
    "$PG_TESTSIGN" cert --ca "$dir/root" --out "$dir/leaf" --subject "$subject" >/dev/null
}

# pg_sign CADIR REPO DIGEST: signs REPO@DIGEST with the leaf of CADIR and
# attaches the signature. Prints the signature manifest's digest.
pg_sign()
{
    local ca=$1 repo=$2 digest=$3 mt size env
    mt=$(pg_manifest_media_type "$repo" "$digest") || return 1
    size=$(pg_manifest_size "$repo" "$digest") || return 1
    env=$PG_TMP/env.$$.$RANDOM.jws
    "$PG_TESTSIGN" sign --key "$ca/leaf/key.pem" --chain "$ca/leaf/chain.pem" \
        --target-media-type "$mt" --target-digest "$digest" --target-size "$size" \
        --out "$env" >/dev/null || return 1
    pg_attach_signature "$repo" "$digest" "$env"
}

# pg_publish_small REPO:TAG NAME [CADIR]: a one-file image (its content names
# NAME, so each is distinct), signed by the leaf of CADIR when given. Prints
# the manifest digest.
pg_publish_small()
{
    local digest
    digest=$("$PG_PUSH" --registry "$PG_REGISTRY" image "$1" --file "hello=$2" \
        --file "etc/pullgate-demo=$2") || return 1
    if [ -n "${3:-}" ]; then
        pg_sign "$3" "${1%:*}" "$digest" >/dev/null || return 1
    fi
    echo "$digest"
}

# pg_trust_store NOTATION_DIR NAME CERT.pem...: a ca trust store NAME.
pg_trust_store()
{
    local dir=$1/truststore/x509/ca/$2 cert
    shift 2
    mkdir -p "$dir" || return 1
    for cert in "$@"; do
        cp "$cert" "$dir/" || return 1
    done
}

# pg_trust_policy NOTATION_DIR STATEMENTS: writes trustpolicy.json with the
# given JSON statements (comma separated objects).
pg_trust_policy()
{
    mkdir -p "$1" || return 1
    printf '{\n  "version": "1.0",\n  "trustPolicies": [\n%s\n  ]\n}\n' "$2" \
        >"$1/trustpolicy.json"
}

# pg_statement NAME SCOPES STORES IDENTITIES [LEVEL]: one trust policy
# statement; SCOPES, STORES and IDENTITIES are JSON array bodies.
pg_statement()
{
    printf '    {"name": "%s", "registryScopes": [%s],\n' "$1" "$2"
    printf '     "signatureVerification": {"level": "%s"},\n' "${5:-strict}"
    printf '     "trustStores": [%s], "trustedIdentities": [%s]}' "$3" "$4"
}

# pg_skip_statement NAME SCOPES: a statement at level skip.
pg_skip_statement()
{
    printf '    {"name": "%s", "registryScopes": [%s],\n' "$1" "$2"
    printf '     "signatureVerification": {"level": "skip"}}'
}

# pg_demo_notation DIR: the demo's notation configuration: a ca trust store
# "demo" holding the signing certificate of the alpine signature (taken from
# the envelope's x5c), and one strict statement for every repository that
# trusts that certificate's subject. Prints the subject.
pg_demo_notation()
{
    local dir=$1 subject
    mkdir -p "$dir" || return 1
    pg_envelope_cert "$PG_ALPINE_SIG" "$dir/alpine.pem" || return 1
    subject=$(pg_cert_subject "$dir/alpine.pem") || return 1
    pg_trust_store "$dir" demo "$dir/alpine.pem" || return 1
    rm -f "$dir/alpine.pem"
    pg_trust_policy "$dir" "$(pg_statement demo '"*"' '"ca:demo"' "\"x509.subject:$subject\"")" ||
        return 1
    echo "$subject"
}

# pg_start_auth_registry USER PASSWORD: a second docker-registry over the same
# storage as $PG_REGISTRY that asks for basic auth (htpasswd). Images pushed
# to $PG_REGISTRY appear in it. Sets PG_AUTH_REGISTRY (host:port).
pg_start_auth_registry()
{
    local dir=$PG_TMP/registry-auth port
    port=$(pg_free_port)
    mkdir -p "$dir" || return 1
    # docker-registry wants bcrypt; libc's crypt() (through perl) makes it.
    perl -e 'my @c = ("a".."z", "A".."Z", "0".."9", ".", "/");
        my $salt = join("", map { $c[rand @c] } 1..22);
        print "$ARGV[0]:", crypt($ARGV[1], "\$2b\$05\$$salt"), "\n"' "$1" "$2" \
        >"$dir/htpasswd" || return 1
    grep -qF "$1:\$2b\$05\$" "$dir/htpasswd" || pg_skip "this libc's crypt() makes no bcrypt"
    cat >"$dir/config.yml" <<CFG
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $PG_TMP/registry/data
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: pullgate-e2e
    path: $dir/htpasswd
CFG
    pg_spawn registry-auth docker-registry serve "$dir/config.yml"
    PG_AUTH_REGISTRY=127.0.0.1:$port
    pg_wait_proc "$PG_LAST_PID" 30 "docker-registry with auth on $PG_AUTH_REGISTRY" \
        curl -fsS -o /dev/null -u "$1:$2" "http://$PG_AUTH_REGISTRY/v2/"
    pg_log "registry with basic auth at $PG_AUTH_REGISTRY"
}
