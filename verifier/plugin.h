/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Notary Project verification plugins: finding the executable, running it
 * without a shell under a clean environment with bounded time and output,
 * get-plugin-metadata with its checks, SemVer precedence for the minimum
 * version, the verify-signature request exactly as notation builds it, and
 * the checks on its response. What a plugin's answer means for a signature
 * is decided in sigverify.c.
 */
#ifndef PG_PLUGIN_H
#define PG_PLUGIN_H

#include <stddef.h>

#include <jansson.h>

#include "jws.h"
#include "status.h"
#include "types.h"

#define PG_PLUGIN_DEFAULT_TIMEOUT_MS 10000
#define PG_PLUGIN_OUTPUT_MAX (1024 * 1024) /* stdout and stderr, each */
#define PG_PLUGIN_ENV_MAX 1024             /* the allow-list, as text */
#define PG_PLUGIN_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

/* Variables passed to plugins when the settings name none. */
#define PG_PLUGIN_DEFAULT_ENV                                                                      \
    "AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,AWS_REGION,AWS_DEFAULT_REGION,"     \
    "AWS_PROFILE,AWS_CONFIG_FILE,AWS_SHARED_CREDENTIALS_FILE,AWS_WEB_IDENTITY_TOKEN_FILE,"         \
    "AWS_ROLE_ARN,AWS_ROLE_SESSION_NAME,AWS_STS_REGIONAL_ENDPOINTS,AWS_ENDPOINT_URL_STS,"          \
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,AWS_CONTAINER_CREDENTIALS_FULL_URI,"                   \
    "AWS_CONTAINER_AUTHORIZATION_TOKEN,AWS_EC2_METADATA_DISABLED,"                                 \
    "AWS_EC2_METADATA_SERVICE_ENDPOINT,HTTPS_PROXY,HTTP_PROXY,NO_PROXY,https_proxy,http_proxy,"    \
    "no_proxy,SSL_CERT_FILE,SSL_CERT_DIR"

#define PG_PLUGIN_CAP_IDENTITY "SIGNATURE_VERIFIER.TRUSTED_IDENTITY"
#define PG_PLUGIN_CAP_REVOCATION "SIGNATURE_VERIFIER.REVOCATION_CHECK"

/* How plugins run. Strings are borrowed. */
struct pg_plugin_options {
    const char *plugins_dir;            /* <plugins_dir>/<name>/notation-<name> */
    int timeout_ms;                     /* per command; 0: the default */
    const char *env_allow;              /* comma-separated names passed through */
    const struct pg_deadline *deadline; /* may be NULL; the earlier bound wins */
};

/* What get-plugin-metadata said, after the checks. */
struct pg_plugin_metadata {
    char version[64];
    int has_identity;   /* SIGNATURE_VERIFIER.TRUSTED_IDENTITY */
    int has_revocation; /* SIGNATURE_VERIFIER.REVOCATION_CHECK */
};

/*
 * Runs `notation-<name> <command>` with request (may be NULL: "{}") on stdin
 * and parses stdout as a JSON object into *out_response (the caller's). A
 * missing or unusable executable, a non-zero exit (with the errorCode and
 * errorMessage of the stderr JSON), a timeout, oversized or malformed output
 * are PG_ERR_PLUGIN, or PG_ERR_TIMEOUT / PG_ERR_CANCELLED when the request's
 * deadline ran out.
 */
enum pg_status pg_plugin_run(const struct pg_plugin_options *o, const char *name,
                             const char *command, const json_t *request, json_t **out_response,
                             struct pg_err *err);

/*
 * get-plugin-metadata and its checks: every member present, name equal to
 * name, contract version 1.0 supported, version SemVer and not below
 * min_version (may be NULL), at least one verifier capability.
 */
enum pg_status pg_plugin_describe(const struct pg_plugin_options *o, const char *name,
                                  const char *min_version, struct pg_plugin_metadata *out_meta,
                                  struct pg_err *err);

/* 1 when s is a SemVer 2.0 version (no leading "v"). */
int pg_plugin_semver_is_valid(const char *s);

/* SemVer precedence of two valid versions: <0, 0, >0 (build metadata ignored). */
int pg_plugin_semver_compare(const char *a, const char *b);

/* The signature and statement a verify-signature request describes. */
struct pg_plugin_sig {
    const struct pg_jws *jws;
    const char *scheme; /* notary.x509 or notary.x509.signingAuthority */
    const struct pg_statement *statement;
    int want_identity;
    int want_revocation;
};

/*
 * The verify-signature request as notation sends it (contract 1.0): the
 * content type, scheme, expiry (zero time when absent), authentic signing
 * time (signing authority only) and every extended attribute but the two
 * plugin ones, each also listed as unprocessed; the chain in standard
 * base64; the statement's identities verbatim and the capabilities asked
 * for. *out_request is the caller's.
 */
enum pg_status pg_plugin_verify_request(const struct pg_plugin_sig *sig, json_t **out_request,
                                        struct pg_err *err);

/* A checked verify-signature response. */
struct pg_plugin_verdict {
    int identity;   /* -1 not asked, 0 failed, 1 passed */
    int revocation; /* likewise */
    char identity_reason[256];
    char revocation_reason[512];
};

/*
 * Checks a response against its request: a result for every capability
 * asked for, every forwarded attribute among processedAttributes.
 * PG_ERR_PLUGIN naming plugin when it falls short.
 */
enum pg_status pg_plugin_check_response(const char *plugin, const json_t *request,
                                        const json_t *response, struct pg_plugin_verdict *out,
                                        struct pg_err *err);

#endif
