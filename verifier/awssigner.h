/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS Signer verification done in-process: what the AWS Signer notation
 * plugin (com.amazonaws.signer.notation.plugin) does for verify-signature,
 * taking the same request and giving the same response, so sigverify.c
 * treats both alike. Trusted identities are signing-profile ARNs; revocation
 * asks AWS Signer's GetRevocationStatus, signed with SigV4 (awsapi.c) under
 * credentials from awscreds.c, and caches the answers briefly.
 */
#ifndef PG_AWSSIGNER_H
#define PG_AWSSIGNER_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "status.h"
#include "types.h"

#define PG_AWSSIGNER_PLUGIN "com.amazonaws.signer.notation.plugin"
#define PG_AWSSIGNER_PROFILE_ATTR "com.amazonaws.signer.signingProfileVersion"
#define PG_AWSSIGNER_JOB_ATTR "com.amazonaws.signer.signingJob"
#define PG_AWSSIGNER_PLATFORM "Notation-OCI-SHA384-ECDSA"
/* The plugin release whose behaviour the native code follows. */
#define PG_AWSSIGNER_EQUIVALENT_VERSION "1.0.350"
#define PG_AWSSIGNER_DEFAULT_CACHE_S 300
#define PG_AWSSIGNER_CACHE_MAX 256

struct pg_awssigner_options {
    const char *endpoint;               /* NULL or "": https://data-signer.<region>.amazonaws.com */
    int timeout_ms;                     /* the whole revocation check, credentials included */
    int cache_ttl_s;                    /* 0: answers are not cached */
    const struct pg_deadline *deadline; /* may be NULL */
};

/*
 * verify-signature for an AWS Signer signature: request is what
 * pg_plugin_verify_request builds. Request validation failures are
 * PG_ERR_PLUGIN, as the plugin's error exit would be. On success
 * *out_response (the caller's) has verificationResults and
 * processedAttributes; *out_revocation_status tells a failed revocation
 * result apart: PG_ERR_SIG_REVOKED (revoked) or PG_ERR_UPSTREAM (the service
 * could not answer).
 */
enum pg_status pg_awssigner_verify(const json_t *request, const struct pg_awssigner_options *o,
                                   json_t **out_response, enum pg_status *out_revocation_status,
                                   struct pg_err *err);

/*
 * 1 when a trusted identity admits the signing-profile version ARN, as the
 * plugin matches: a signing-profile ARN equals the version ARN without its
 * last segment, a profile-version ARN equals it, case-insensitively. Other
 * identities never match.
 */
int pg_awssigner_identity_matches(const char *identity, const char *profile_version_arn);

/*
 * The certificateHashes of a chain (leaf first): for each certificate the
 * lower-case hex SHA-384 of its TBSCertificate followed by that of its
 * issuer (the root: its own twice). *out_hashes is an array of n strings,
 * freed with pg_awssigner_hashes_free.
 */
enum pg_status pg_awssigner_cert_hashes(STACK_OF(X509) * chain, char ***out_hashes, size_t *out_n,
                                        struct pg_err *err);
void pg_awssigner_hashes_free(char **hashes, size_t n);

/*
 * The GetRevocationStatus query string in SigV4 canonical form (names and
 * values sorted, RFC 3986 encoded). Caller frees with pg_free.
 */
char *pg_awssigner_revocation_query(char *const *hashes, size_t n_hashes, const char *job_arn,
                                    const char *profile_version_arn, const char *timestamp);

/* Forgets every cached revocation answer. */
void pg_awssigner_cache_clear(void);

#endif
