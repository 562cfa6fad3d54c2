/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Status codes and the error record every fallible function fills. A status
 * doubles as the machine-readable reason in logs and metrics; the record
 * carries the human message. The first failure wins, so the root cause
 * survives the trip up the stack.
 */
#ifndef PG_STATUS_H
#define PG_STATUS_H

#include <stddef.h>

/* X(constant, reason name used in logs and metrics) */
#define PG_STATUS_LIST(X)                                                                          \
    X(PG_OK, "ok")                                                                                 \
    X(PG_ERR_NOMEM, "out_of_memory")                                                               \
    X(PG_ERR_INVALID_ARG, "invalid_argument")                                                      \
    X(PG_ERR_IO, "io_error")                                                                       \
    X(PG_ERR_PARSE, "parse_error")                                                                 \
    X(PG_ERR_LIMIT, "limit_exceeded")                                                              \
    X(PG_ERR_TIMEOUT, "timeout")                                                                   \
    X(PG_ERR_CANCELLED, "cancelled")                                                               \
    X(PG_ERR_REFERENCE, "invalid_reference")                                                       \
    X(PG_ERR_CONFIG, "invalid_config")                                                             \
    X(PG_ERR_REGISTRY, "registry_error")                                                           \
    X(PG_ERR_REGISTRY_AUTH, "registry_auth_failed")                                                \
    X(PG_ERR_NOT_FOUND, "not_found")                                                               \
    X(PG_ERR_TLS, "tls_error")                                                                     \
    X(PG_ERR_POLICY_MISSING, "policy_missing")                                                     \
    X(PG_ERR_POLICY_INVALID, "policy_invalid")                                                     \
    X(PG_ERR_NO_STATEMENT, "no_applicable_policy")                                                 \
    X(PG_ERR_TRUSTSTORE, "truststore_error")                                                       \
    X(PG_ERR_NO_SIGNATURE, "no_signature")                                                         \
    X(PG_ERR_SIG_INTEGRITY, "signature_integrity")                                                 \
    X(PG_ERR_SIG_AUTHENTICITY, "signature_untrusted")                                              \
    X(PG_ERR_SIG_IDENTITY, "signature_identity_untrusted")                                         \
    X(PG_ERR_SIG_EXPIRED, "signature_expired")                                                     \
    X(PG_ERR_SIG_TIMESTAMP, "signature_timestamp")                                                 \
    X(PG_ERR_SIG_REVOKED, "signature_revoked")                                                     \
    X(PG_ERR_SIG_REVOCATION_UNKNOWN, "signature_revocation_unknown")                               \
    X(PG_ERR_SIG_TARGET, "signature_target_mismatch")                                              \
    X(PG_ERR_UNSUPPORTED, "unsupported")                                                           \
    X(PG_ERR_PLUGIN, "plugin_error")                                                               \
    X(PG_ERR_UPSTREAM, "upstream_error")                                                           \
    X(PG_ERR_INTERNAL, "internal_error")

#define PG_STATUS_ENUM(c, n) c,
enum pg_status { PG_STATUS_LIST(PG_STATUS_ENUM) PG_STATUS_COUNT };
#undef PG_STATUS_ENUM

#define PG_ERR_MSG_MAX 1024

struct pg_err {
    enum pg_status status;    /* PG_OK while nothing failed */
    char msg[PG_ERR_MSG_MAX]; /* lower case, no final period */
};

/* The reason name of a status, e.g. "signature_expired". Never NULL. */
const char *pg_status_name(enum pg_status st);

void pg_err_init(struct pg_err *err);

/*
 * Records a failure unless one is already recorded (first cause wins) and
 * returns st, so callers can write `return pg_err_set(err, PG_ERR_X, ...)`.
 * err may be NULL.
 */
enum pg_status pg_err_set(struct pg_err *err, enum pg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like pg_err_set, but appends the OpenSSL error queue (and clears it). */
enum pg_status pg_err_set_ssl(struct pg_err *err, enum pg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Forgets a recorded failure, for callers that handle it and go on. */
void pg_err_clear(struct pg_err *err);

/*
 * Copies an untrusted string into dst for a message or log line: printable
 * ASCII kept, quotes and backslashes escaped, other bytes as \xNN, cut at
 * dst_len with "..." appended. Returns dst.
 */
char *pg_escape(char *dst, size_t dst_len, const char *src, size_t src_len);

#endif
