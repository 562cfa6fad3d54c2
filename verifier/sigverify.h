/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One signature, verified as notation verifies it: integrity of the envelope
 * and its chain, authenticity against the trust stores, trusted identity,
 * expiry, authentic timestamp, revocation, and the payload's binding to the
 * target descriptor, each governed by the statement's level. No network
 * access happens here except what revocation and plugins need. A signature
 * naming a verification plugin runs it (plugin.c), or for AWS Signer its
 * native equivalent (awssigner.c) when so configured.
 *
 * Envelopes are parsed by jws.c and cose.c, RFC 3161 timestamps verified in
 * timestamp.c, OCSP and CRL checked in revocation.c.
 */
#ifndef PG_SIGVERIFY_H
#define PG_SIGVERIFY_H

#include <stdint.h>
#include <time.h>

#include "revocation.h"
#include "status.h"
#include "trust.h"
#include "types.h"

#define PG_CHECK_MSG_MAX 512
#define PG_SIGVERIFY_PATH_MAX 1024

/* How signatures naming com.amazonaws.signer.notation.plugin are verified. */
enum pg_aws_signer_mode {
    PG_AWS_SIGNER_NATIVE, /* in-process (awssigner.c); no plugin binary needed */
    PG_AWS_SIGNER_PLUGIN, /* run the installed plugin like any other */
    PG_AWS_SIGNER_OFF     /* refuse them */
};

/* Settings for plugins and AWS Signer; plain arrays so a copy is a memcpy. */
struct pg_sigverify_options {
    char plugins_dir[PG_SIGVERIFY_PATH_MAX]; /* "": <notation dir>/plugins */
    int plugin_timeout_ms;                   /* per plugin command and AWS check */
    char plugin_env[1024];                   /* variables passed to plugins, comma-separated */
    enum pg_aws_signer_mode aws_signer;
    char aws_signer_endpoint[512];           /* "": https://data-signer.<region>.amazonaws.com */
    int aws_signer_cache_ttl_s;              /* 0: revocation answers are not cached */
    struct pg_revocation_options revocation; /* OCSP/CRL limits; tsa chain revocation */
};

/* The defaults: plugins under the notation directory, 10 s, native AWS Signer. */
void pg_sigverify_options_init(struct pg_sigverify_options *o);

struct pg_check_result {
    enum pg_action action; /* what the statement asks for this check */
    int performed;         /* 0 when skipped or not reached */
    enum pg_status status; /* PG_OK passed; otherwise why it failed */
    char msg[PG_CHECK_MSG_MAX];
};

/*
 * status is the first enforced failure: a check's status (integrity failures
 * are always enforced, unknown critical attributes and plugins are reported
 * under integrity), or PG_ERR_SIG_TARGET when the payload names another
 * manifest. Authenticity failures are PG_ERR_SIG_AUTHENTICITY,
 * PG_ERR_SIG_IDENTITY or PG_ERR_TRUSTSTORE (a store failed to load).
 */
struct pg_sig_result {
    enum pg_status status; /* PG_OK: the signature is accepted */
    char msg[PG_ERR_MSG_MAX];
    struct pg_check_result checks[PG_CHECK_COUNT];
    char signing_scheme[64];
    char leaf_subject[256]; /* for messages; escaped */
    /*
     * Unix seconds after which this result must not be reused (0: none): the
     * earliest of the expiry attribute and, for notary.x509 signatures, the
     * chain's earliest notAfter. In the past when a logged check failed.
     */
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
    const struct pg_deadline *deadline;         /* may be NULL */
    const struct pg_sigverify_options *options; /* NULL: the defaults */
};

/*
 * Verifies one signature and fills out (always, even on failure). Returns
 * out->status. "log" outcomes are logged at warning with the check, the
 * action and the reason.
 */
enum pg_status pg_sigverify(const struct pg_sigverify_input *in, struct pg_sig_result *out);

#endif
