/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One signature, verified as notation verifies it: integrity of the envelope
 * and its chain, authenticity against the trust stores, trusted identity,
 * expiry, authentic timestamp, revocation, and the payload's binding to the
 * target descriptor, each governed by the statement's level. No network
 * access happens here except what revocation and plugins need.
 */
#ifndef PG_SIGVERIFY_H
#define PG_SIGVERIFY_H

#include <stdint.h>
#include <time.h>

#include "status.h"
#include "trust.h"
#include "types.h"

#define PG_CHECK_MSG_MAX 512

struct pg_check_result {
    enum pg_action action; /* what the statement asks for this check */
    int performed;         /* 0 when skipped */
    enum pg_status status; /* PG_OK passed; otherwise why it failed */
    char msg[PG_CHECK_MSG_MAX];
};

struct pg_sig_result {
    enum pg_status status; /* PG_OK: the signature is accepted */
    char msg[PG_ERR_MSG_MAX];
    struct pg_check_result checks[PG_CHECK_COUNT];
    char signing_scheme[64];
    char leaf_subject[256]; /* for messages; escaped */
    /* Unix seconds after which this result must not be reused (0: none). */
    int64_t valid_until;
};

struct pg_sigverify_input {
    const struct pg_trust *trust;
    const struct pg_statement *statement;
    const char *envelope_media_type; /* application/jose+json or application/cose */
    const unsigned char *envelope;
    size_t envelope_len;
    const struct pg_descriptor *target; /* the manifest being verified */
    time_t now;
    const struct pg_deadline *deadline; /* may be NULL */
};

/*
 * Verifies one signature and fills out (always, even on failure). Returns
 * out->status. "log" outcomes are logged at warning with the check, the
 * action and the reason.
 */
enum pg_status pg_sigverify(const struct pg_sigverify_input *in, struct pg_sig_result *out);

#endif
