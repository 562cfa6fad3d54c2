/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verification entry point: turns an image reference into a decision by
 * walking reference -> policy statement -> manifest digest -> signatures.
 * Each step's rules live in its own module; this file only orders them,
 * enforces the request's time budget and writes the decision.
 */
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "discover.h"
#include "log.h"
#include "mem.h"
#include "policy.h"
#include "reference.h"

#define MESSAGE_MAX 4096

/* A growing, bounded message: the reasons of every signature tried. */
struct msgbuf {
    char text[MESSAGE_MAX];
    size_t len;
};

static void msg_add(struct msgbuf *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void msg_add(struct msgbuf *m, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (m->len >= sizeof(m->text) - 1) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(m->text + m->len, sizeof(m->text) - m->len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        m->len += (size_t)n;
        if (m->len >= sizeof(m->text)) {
            m->len = sizeof(m->text) - 1;
            memcpy(m->text + m->len - 3, "...", 3);
        }
    }
}

const char *pg_outcome_name(enum pg_outcome outcome)
{
    switch (outcome) {
    case PG_OUTCOME_ALLOW:
        return "allow";
    case PG_OUTCOME_SKIP:
        return "skip";
    case PG_OUTCOME_DENY:
        return "deny";
    }
    return "deny";
}

void pg_decision_free(struct pg_decision *d)
{
    if (d == NULL) {
        return;
    }
    pg_free(d->message);
    pg_free(d->image);
    pg_free(d->reference);
    pg_free(d->repository);
    pg_free(d->statement);
    pg_free(d->digest);
    pg_free(d->media_type);
    pg_free(d->pinned);
    pg_free(d->sigs);
    pg_free(d);
}

/* Stops the walk when the request's time is up or its client went away. */
static enum pg_status check_deadline(const struct pg_verify_request *req, const char *step,
                                     struct pg_err *err)
{
    const struct pg_deadline *dl = req->deadline;

    if (dl == NULL) {
        return PG_OK;
    }
    if (dl->cancelled != NULL && atomic_load(dl->cancelled)) {
        return pg_err_set(err, PG_ERR_CANCELLED, "verification cancelled by the client before %s",
                          step);
    }
    if (pg_deadline_left_ms(dl) == 0) {
        return pg_err_set(err, PG_ERR_TIMEOUT, "verification timed out before %s", step);
    }
    return PG_OK;
}

static enum pg_status resolve_target(struct pg_registry_session *session, const struct pg_ref *ref,
                                     struct pg_decision *d, struct pg_descriptor *target,
                                     struct pg_err *err)
{
    struct pg_blob body = {0};
    const char *which = ref->digest != NULL ? ref->digest : ref->tag;
    enum pg_status rc;

    rc = pg_registry_get_manifest(session, which, &body, target, err);
    pg_blob_clear(&body);
    if (rc != PG_OK) {
        return rc;
    }
    d->digest = pg_strdup(target->digest);
    d->media_type = pg_strdup(target->media_type);
    d->size = target->size;
    if (d->digest == NULL || d->media_type == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory recording the resolved digest");
    }
    return PG_OK;
}

/*
 * Fetches and verifies one signature manifest into *res. A signature that
 * cannot be retrieved (its manifest or envelope unfetchable or not of the
 * signature form) returns its status: notation stops there and verifies no
 * further signature.
 */
static enum pg_status try_signature(const struct pg_trust *trust, const struct pg_statement *st,
                                    struct pg_registry_session *session,
                                    const struct pg_descriptor *sig,
                                    const struct pg_descriptor *target,
                                    const struct pg_verify_request *req, struct pg_sig_result *res)
{
    struct pg_blob env = {0};
    char *env_type = NULL;
    struct pg_err err;
    struct pg_sigverify_input in;
    enum pg_status rc;

    pg_err_init(&err);
    memset(res, 0, sizeof(*res));
    rc = pg_discover_fetch_envelope(session, sig, &env, &env_type, &err);
    if (rc != PG_OK) {
        res->status = rc;
        snprintf(res->msg, sizeof(res->msg), "%s", err.msg);
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.trust = trust;
    in.statement = st;
    in.envelope_media_type = env_type;
    in.envelope = env.data;
    in.envelope_len = env.len;
    in.target = target;
    in.now = time(NULL);
    in.deadline = req->deadline;
    in.options = req->sig_options;
    pg_sigverify(&in, res);
out:
    pg_blob_clear(&env);
    pg_free(env_type);
    return rc;
}

static enum pg_status verify_signatures(const struct pg_trust *trust, const struct pg_statement *st,
                                        struct pg_registry_session *session,
                                        const struct pg_descriptor *target,
                                        const struct pg_verify_request *req, struct pg_decision *d,
                                        struct pg_err *err)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    size_t max = req->max_signatures != 0 ? req->max_signatures : PG_DEFAULT_MAX_SIGNATURES;
    struct msgbuf m = {.len = 0};
    enum pg_status first = PG_OK;
    enum pg_status rc;

    rc = pg_discover_signatures(session, target, max, &list, &n, err);
    if (rc != PG_OK) {
        goto out;
    }
    if (n == 0) {
        rc = pg_err_set(err, PG_ERR_NO_SIGNATURE, "no signature is associated with %s@%s",
                        d->repository, target->digest);
        goto out;
    }
    d->sigs = pg_calloc(n, sizeof(*d->sigs));
    if (d->sigs == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory for %zu signature results", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct pg_sig_result *res = &d->sigs[i];

        rc = check_deadline(req, "checking the next signature", err);
        if (rc != PG_OK) {
            goto out;
        }
        rc = try_signature(trust, st, session, &list[i], target, req, res);
        d->n_sigs++;
        if (rc != PG_OK) {
            rc = pg_err_set(err, rc,
                            "signature %s of %s@%s cannot be retrieved, so no further signature "
                            "is verified (as notation): %s",
                            list[i].digest, d->repository, target->digest, res->msg);
            goto out;
        }
        if (res->status == PG_OK) {
            d->valid_until = res->valid_until;
            rc = PG_OK;
            goto out;
        }
        if (first == PG_OK) {
            first = res->status;
        }
        msg_add(&m, "%ssignature %s: %s", i == 0 ? "" : "; ", list[i].digest, res->msg);
    }
    rc = pg_err_set(err, first,
                    "no valid signature for %s@%s under trust policy statement \"%s\": %s",
                    d->repository, target->digest, st->name, m.text);
out:
    pg_descriptor_list_free(list, n);
    return rc;
}

/* Lets the caller decide from the resolved digest (a cache) before discovery. */
static enum pg_status consult_resolved(const struct pg_verify_request *req, struct pg_decision *d,
                                       int *out_is_decided, struct pg_err *err)
{
    int is_decided = 0;
    int64_t valid_until = 0;
    enum pg_status rc;

    if (req->on_resolved == NULL) {
        *out_is_decided = 0;
        return PG_OK;
    }
    rc = req->on_resolved(req->on_resolved_user, d, &is_decided, &valid_until, err);
    if (rc != PG_OK) {
        return err->status != PG_OK ? err->status : rc;
    }
    if (is_decided) {
        d->valid_until = valid_until;
    }
    *out_is_decided = is_decided;
    return PG_OK;
}

/* The walk itself; fills d and returns the reason (PG_OK when allowed). */
static enum pg_status decide(const struct pg_trust *trust, struct pg_registry_client *client,
                             const struct pg_verify_request *req, struct pg_decision *d,
                             struct pg_err *err)
{
    struct pg_ref *ref = NULL;
    struct pg_registry_session *session = NULL;
    struct pg_descriptor target = {0};
    const struct pg_statement *st;
    int is_decided = 0;
    enum pg_status rc;

    rc = pg_ref_parse(req->image, &ref, err);
    if (rc != PG_OK) {
        goto out;
    }
    d->reference = pg_ref_string(ref);
    d->repository = pg_ref_repository(ref);
    if (d->reference == NULL || d->repository == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory normalising the reference");
        goto out;
    }
    st = pg_policy_select(pg_trust_policy(trust), d->repository, err);
    if (st == NULL) {
        rc = err->status != PG_OK ? err->status : PG_ERR_NO_STATEMENT;
        goto out;
    }
    d->statement = pg_strdup(st->name);
    if (st->level == PG_LEVEL_SKIP) {
        d->outcome = PG_OUTCOME_SKIP;
        rc = PG_OK;
        goto out;
    }
    rc = check_deadline(req, "contacting the registry", err);
    if (rc == PG_OK) {
        rc = pg_registry_session_new(client, ref, req->creds, req->deadline, &session, err);
    }
    if (rc == PG_OK) {
        rc = resolve_target(session, ref, d, &target, err);
    }
    if (rc == PG_OK) {
        rc = consult_resolved(req, d, &is_decided, err);
    }
    if (rc == PG_OK && !is_decided) {
        rc = verify_signatures(trust, st, session, &target, req, d, err);
    }
    if (rc == PG_OK) {
        d->outcome = PG_OUTCOME_ALLOW;
        d->pinned = pg_ref_with_digest(ref, target.digest);
        if (d->pinned == NULL) {
            rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory pinning the reference");
        }
    }
out:
    pg_descriptor_clear(&target);
    pg_registry_session_free(session);
    pg_ref_free(ref);
    return rc;
}

static char *allow_message(const struct pg_decision *d)
{
    if (d->outcome == PG_OUTCOME_SKIP) {
        return pg_asprintf("trust policy statement \"%s\" has level skip: signatures not verified",
                           d->statement != NULL ? d->statement : "");
    }
    return pg_asprintf("signature verified under trust policy statement \"%s\"",
                       d->statement != NULL ? d->statement : "");
}

enum pg_status pg_verify_image(const struct pg_trust *trust, struct pg_registry_client *client,
                               const struct pg_verify_request *req,
                               struct pg_decision **out_decision)
{
    struct pg_decision *d;
    struct pg_err err;
    int64_t t0 = pg_now_ms();
    enum pg_status rc;

    pg_err_init(&err);
    d = pg_calloc(1, sizeof(*d));
    if (d == NULL) {
        return PG_ERR_NOMEM;
    }
    d->outcome = PG_OUTCOME_DENY;
    d->image = pg_strdup(req->image != NULL ? req->image : "");
    if (req->image == NULL || trust == NULL || client == NULL) {
        rc = pg_err_set(&err, PG_ERR_INVALID_ARG,
                        "verification needs an image, a trust "
                        "configuration and a registry client");
    } else {
        rc = decide(trust, client, req, d, &err);
    }
    if (rc != PG_OK) {
        d->outcome = PG_OUTCOME_DENY;
        pg_free(d->pinned);
        d->pinned = NULL;
        if (err.status == PG_OK) {
            pg_err_set(&err, rc, "verification failed: %s", pg_status_name(rc));
        }
        d->message = pg_strdup(err.msg);
    } else {
        d->message = allow_message(d);
    }
    d->reason = rc;
    d->duration_ms = pg_now_ms() - t0;
    if (d->message == NULL || d->image == NULL) {
        pg_decision_free(d);
        return PG_ERR_NOMEM;
    }
    *out_decision = d;
    return rc;
}
