/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The single verification entry point shared by `pullgate verify` and the
 * daemon: reference -> statement -> digest -> signatures -> decision.
 */
#ifndef PG_VERIFY_H
#define PG_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"
#include "sigverify.h"
#include "status.h"
#include "trust.h"

#define PG_DEFAULT_MAX_SIGNATURES 100

enum pg_outcome {
    PG_OUTCOME_ALLOW, /* a signature passed: pull repository@digest */
    PG_OUTCOME_SKIP,  /* the statement's level is skip: pull unchanged */
    PG_OUTCOME_DENY   /* refused; reason and message say why */
};

struct pg_decision;

/*
 * on_resolved runs once the manifest digest is resolved (with the request's own
 * credentials) and before any signature is looked for, with the decision so
 * far (repository, statement, digest set). It lets a caller answer from a
 * cache. Return PG_OK with *out_is_decided 0 to go on verifying; PG_OK with
 * *out_is_decided 1 to allow as if a signature had passed, valid until
 * *out_valid_until (unix seconds, 0: no bound); or an error, filling err,
 * to deny with it.
 */
struct pg_verify_request {
    const char *image;                  /* as the client wrote it */
    const struct pg_credentials *creds; /* may be NULL */
    const struct pg_deadline *deadline; /* may be NULL */
    size_t max_signatures;              /* 0: PG_DEFAULT_MAX_SIGNATURES */
    /* Plugins, AWS Signer and revocation; NULL: the defaults. */
    const struct pg_sigverify_options *sig_options;
    enum pg_status (*on_resolved)(void *user, const struct pg_decision *so_far, int *out_is_decided,
                                  int64_t *out_valid_until, struct pg_err *err); /* may be NULL */
    void *on_resolved_user;
};

struct pg_decision {
    enum pg_outcome outcome;
    enum pg_status reason; /* PG_OK when allowed */
    char *message;         /* why, for people; never NULL after pg_verify_image */
    char *image;           /* as requested */
    char *reference;       /* normalised */
    char *repository;      /* domain/path */
    char *statement;       /* policy statement name, or NULL */
    char *digest;          /* resolved manifest digest, or NULL */
    char *media_type;      /* resolved manifest media type, or NULL */
    int64_t size;
    char *pinned;               /* repository@digest when allowed, else NULL */
    struct pg_sig_result *sigs; /* each signature tried, in order */
    size_t n_sigs;
    int64_t valid_until; /* unix seconds; 0: no bound */
    int64_t duration_ms;
};

/*
 * Decides on req->image. Always fills *out_decision (caller frees with
 * pg_decision_free) unless memory runs out; returns the decision's reason.
 * Any error on the way denies.
 */
enum pg_status pg_verify_image(const struct pg_trust *trust, struct pg_registry_client *client,
                               const struct pg_verify_request *req,
                               struct pg_decision **out_decision);

void pg_decision_free(struct pg_decision *decision);

const char *pg_outcome_name(enum pg_outcome outcome); /* "allow", "skip", "deny" */

#endif
