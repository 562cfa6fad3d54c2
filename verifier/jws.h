/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JWS signature envelopes (application/jose+json) of the Notary Project:
 * the flattened JSON serialization parsed into its parts, the protected
 * header rules (signing scheme, crit, times, content type), and the check of
 * the signature value against the signing certificate's key. What the
 * signature means for trust is decided in sigverify.c.
 */
#ifndef PG_JWS_H
#define PG_JWS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "status.h"
#include "types.h"
#include "x509chain.h"

#define PG_JWS_MEDIA_TYPE "application/jose+json"
#define PG_JWS_PAYLOAD_TYPE "application/vnd.cncf.notary.payload.v1+json"
#define PG_JWS_MAX_ENVELOPE (32u * 1024 * 1024) /* as notation caps envelope blobs */
#define PG_JWS_MAX_CHAIN PG_X509_CHAIN_MAX      /* certificates in x5c */
#define PG_JWS_MAX_HEADER_MEMBERS 128
#define PG_JWS_MAX_CRIT 64

/* Protected header names with a meaning of their own. */
#define PG_JWS_SCHEME "io.cncf.notary.signingScheme"
#define PG_JWS_SIGNING_TIME "io.cncf.notary.signingTime"
#define PG_JWS_AUTHENTIC_TIME "io.cncf.notary.authenticSigningTime"
#define PG_JWS_EXPIRY "io.cncf.notary.expiry"
#define PG_JWS_PLUGIN "io.cncf.notary.verificationPlugin"
#define PG_JWS_PLUGIN_MIN_VERSION "io.cncf.notary.verificationPluginMinVersion"

enum pg_signing_scheme {
    PG_SCHEME_X509,             /* "notary.x509" */
    PG_SCHEME_SIGNING_AUTHORITY /* "notary.x509.signingAuthority" */
};

/* An RFC 3339 time from the protected header, in UTC. */
struct pg_jws_time {
    int is_present;
    int64_t sec; /* Unix seconds */
    int32_t nsec;
};

/* Go's zero time, 0001-01-01T00:00:00Z, in Unix seconds. */
#define PG_JWS_ZERO_TIME_SEC (-62135596800LL)

/*
 * Whether t is present and not Go's zero time: notation reads a signing
 * time or expiry of 0001-01-01T00:00:00Z as absent (time.Time.IsZero).
 */
int pg_jws_time_is_set(const struct pg_jws_time *t);

/*
 * The signing time of scheme (signingTime, or authenticSigningTime for
 * signingAuthority) must be set: PG_ERR_SIG_INTEGRITY when it is the zero
 * time. Shared by the JWS and COSE parsers.
 */
enum pg_status pg_jws_check_signed_at(enum pg_signing_scheme scheme,
                                      const struct pg_jws_time *signed_at, struct pg_err *err);

/* A protected header member that is not one of the seven system names. */
struct pg_jws_attr {
    const char *name; /* borrowed from pg_jws.header */
    json_t *value;    /* borrowed from pg_jws.header */
    int is_critical;  /* listed in crit */
};

/* A parsed envelope. Borrowed pointers live as long as the struct. */
struct pg_jws {
    /* Exactly as in the envelope; the signing input is protected "." payload. */
    char *protected_b64;
    char *payload_b64;

    /* The protected header, decoded; string members borrowed from header. */
    struct pg_blob protected_raw;
    json_t *header;
    const char *alg; /* NULL when absent, likewise below */
    const char *cty;
    const char *scheme; /* the signingScheme value */
    const char **crit;
    size_t n_crit;
    struct pg_jws_time signing_time;
    struct pg_jws_time authentic_signing_time;
    struct pg_jws_time expiry;
    struct pg_jws_attr *ext;
    size_t n_ext;

    struct pg_blob payload;   /* the payload bytes, not yet interpreted */
    struct pg_blob signature; /* the signature value */

    /* Unprotected header: x5c as DER, leaf first (never empty). */
    struct pg_blob *x5c;
    size_t n_x5c;
    struct pg_blob timestamp; /* io.cncf.notary.timestampSignature; len 0 when absent */
    char *signing_agent;      /* io.cncf.notary.signingAgent; NULL when absent */
};

/*
 * Parses a flattened JWS JSON envelope: exact-case member names, duplicate
 * names rejected, unknown members ignored, base64url without padding for
 * payload/protected/signature, padded base64 for x5c and the timestamp, a
 * JSON object as protected header whose known members have the right types
 * and valid RFC 3339 times. Header rules are checked separately
 * (pg_jws_check_header). PG_ERR_SIG_INTEGRITY for malformed input. On
 * success *out_jws is the caller's (pg_jws_free).
 */
enum pg_status pg_jws_parse(const unsigned char *envelope, size_t len, struct pg_jws **out_jws,
                            struct pg_err *err);

void pg_jws_free(struct pg_jws *jws);

/*
 * The protected header rules of the Notary Project: alg one of the six,
 * cty the payload type, a known signing scheme with its time attribute and
 * without the other one, crit non-empty holding the names the scheme
 * requires and otherwise only present extended attributes (no duplicates),
 * expiry strictly after the signing time. PG_ERR_SIG_INTEGRITY on failure.
 */
enum pg_status pg_jws_check_header(const struct pg_jws *jws, enum pg_signing_scheme *out_scheme,
                                   struct pg_err *err);

/*
 * Checks that alg is the algorithm spec fixes and that the signature value
 * verifies over the signing input with key (RSASSA-PSS with any salt length,
 * or raw r||s ECDSA). PG_ERR_SIG_INTEGRITY on failure.
 */
enum pg_status pg_jws_verify_signature(const struct pg_jws *jws, EVP_PKEY *key,
                                       enum pg_key_spec spec, struct pg_err *err);

/* The extended attribute name, or NULL. */
const struct pg_jws_attr *pg_jws_find_attr(const struct pg_jws *jws, const char *name);

/*
 * Parses an RFC 3339 date-time: 'T' and 'Z' upper case, optional fraction,
 * 'Z' or a numeric offset. PG_ERR_PARSE when s is not one.
 */
enum pg_status pg_jws_parse_time(const char *s, struct pg_jws_time *out_time);

/* Formats Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 32 bytes). */
char *pg_jws_format_time(int64_t sec, char *buf, size_t len);

/* "notary.x509" or "notary.x509.signingAuthority". */
const char *pg_jws_scheme_name(enum pg_signing_scheme scheme);

#endif
