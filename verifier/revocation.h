/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Revocation of a certificate chain as the Notary Project checks it: every
 * certificate except the root, issuer = the next certificate; OCSP when the
 * certificate names a responder, CRL when it names distribution points (also
 * as the fallback when OCSP gives no answer), neither = non-revokable. The
 * chain's structure is checked elsewhere (x509chain.c); what a failure means
 * for the signature is decided by the caller (sigverify.c, timestamp.c).
 */
#ifndef PG_REVOCATION_H
#define PG_REVOCATION_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "status.h"
#include "types.h"

#define PG_REVOCATION_OCSP_TIMEOUT_MS 2000
#define PG_REVOCATION_OCSP_MAX_BYTES 20480
#define PG_REVOCATION_CRL_TIMEOUT_MS 5000
#define PG_REVOCATION_CRL_MAX_BYTES (32u << 20)
#define PG_REVOCATION_OCSP_GET_MAX 255 /* longer encoded requests are POSTed */

/* What a revocation failure of a timestamp authority's chain means. */
enum pg_tsa_revocation {
    PG_TSA_REVOCATION_STRICT,       /* revoked or unknown fail the timestamp (as notation) */
    PG_TSA_REVOCATION_ALLOW_UNKNOWN /* only revoked fails: for nodes without network */
};

struct pg_revocation_options {
    long ocsp_timeout_ms; /* per request; 0: PG_REVOCATION_OCSP_TIMEOUT_MS */
    size_t ocsp_max_bytes;
    long crl_timeout_ms;
    size_t crl_max_bytes;
    enum pg_tsa_revocation tsa_revocation;
};

/* The defaults above, PG_TSA_REVOCATION_STRICT. */
void pg_revocation_options_init(struct pg_revocation_options *o);

enum pg_revocation_state {
    PG_REVOCATION_OK,            /* good, or revoked only after the signing time */
    PG_REVOCATION_NON_REVOKABLE, /* no OCSP responder and no CRL distribution point */
    PG_REVOCATION_UNKNOWN,       /* no usable answer */
    PG_REVOCATION_REVOKED
};

struct pg_revocation_input {
    STACK_OF(X509) * chain; /* leaf first, root last; borrowed */
    time_t now;
    /*
     * The authentic signing time (signing authority scheme), compared with
     * invalidity dates; 0 when there is none.
     */
    int64_t signing_time;
    const struct pg_deadline *deadline;          /* may be NULL */
    const struct pg_revocation_options *options; /* NULL: the defaults */
};

struct pg_revocation_result {
    enum pg_revocation_state state; /* of the chain */
    /*
     * The earliest nextUpdate of the answers used (Unix seconds), after
     * which the result must not be reused; 0 when none was used.
     */
    int64_t valid_until;
};

/*
 * Checks every certificate of in->chain but the root, in order. The chain is
 * revoked when any certificate is, OK when every one is OK or non-revokable,
 * else unknown. Returns PG_OK for OK, PG_ERR_SIG_REVOKED for revoked,
 * PG_ERR_SIG_REVOCATION_UNKNOWN for unknown (err names the certificate and
 * what happened), PG_ERR_INVALID_ARG or PG_ERR_NOMEM; out is filled whenever
 * the chain was examined.
 */
enum pg_status pg_revocation_check_chain(const struct pg_revocation_input *in,
                                         struct pg_revocation_result *out, struct pg_err *err);

/* "ok", "non-revokable", "unknown", "revoked". */
const char *pg_revocation_state_name(enum pg_revocation_state s);

#endif
