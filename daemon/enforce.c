/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PullImage policy behind the proxy's hooks: decode the request, verify
 * the image under the current trust generation, log one decision line, then
 * forward the pull pinned to the verified digest or refuse it. After an
 * allowed pull, the original tag is recorded in containerd. Verification
 * itself is the verifier's; forwarding is the proxy's.
 */
#include "enforce.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/status.h>
#include <openssl/crypto.h>

#include "cri_v1.pb-c.h"
#include "ctrimages.h"
#include "log.h"
#include "mem.h"
#include "reference.h"
#include "trust.h"
#include "verify.h"
#include "wire.h"

#define DENY_PREFIX "SignatureValidationFailed: "
#define RETRY_LOAD_MS 1000
#define TAG_TIMEOUT_MS 30000
#define LOG_VALUE_MAX 512

struct pg_enforcer {
    pthread_mutex_t lock;
    struct pg_trust *trust; /* current generation; NULL while none loads */
    struct pg_err load_err; /* why, when trust is NULL */
    int64_t last_load_ms;
    char *notation_dir;
    char *namespace;
    struct pg_registry_client *client;
    grpc_channel *containerd;
    long verify_timeout_ms;
    size_t max_signatures;
    enum pg_mode mode;
};

/* What the post-hook needs of an allowed, pinned pull. */
struct pull_state {
    char *pinned;   /* repository@digest as forwarded */
    char *tag_name; /* repository:tag to record, NULL when pulled by digest */
};

/* The fields of a PullImageRequest the policy reads. */
struct pull_req {
    char *image;
    char *pod; /* namespace/name from the sandbox config, for the log */
    struct pg_credentials creds;
    int has_creds;
};

const char *pg_mode_name(enum pg_mode mode)
{
    return mode == PG_MODE_DRY_RUN ? "dry-run" : "enforce";
}

static char *dup_nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? pg_strdup(s) : NULL;
}

static void pull_req_clear(struct pull_req *r)
{
    pg_free(r->image);
    pg_free(r->pod);
    pg_credentials_clear(&r->creds);
    memset(r, 0, sizeof(*r));
}

static enum pg_status decode_request(const unsigned char *msg, size_t len, struct pull_req *out,
                                     struct pg_err *err)
{
    Runtime__V1__PullImageRequest *req;
    Runtime__V1__AuthConfig *a;

    /* runtime.v1 and runtime.v1alpha2 share this message's wire format. */
    req = runtime__v1__pull_image_request__unpack(NULL, len, msg);
    if (req == NULL) {
        return pg_err_set(err, PG_ERR_PARSE, "malformed PullImageRequest of %zu bytes", len);
    }
    if (req->image == NULL || req->image->image == NULL || req->image->image[0] == '\0') {
        runtime__v1__pull_image_request__free_unpacked(req, NULL);
        return pg_err_set(err, PG_ERR_REFERENCE, "PullImageRequest names no image");
    }
    out->image = pg_strdup(req->image->image);
    a = req->auth;
    if (a != NULL) {
        out->has_creds = 1;
        out->creds.username = dup_nonempty(a->username);
        out->creds.password = dup_nonempty(a->password);
        out->creds.auth = dup_nonempty(a->auth);
        out->creds.server_address = dup_nonempty(a->server_address);
        out->creds.identity_token = dup_nonempty(a->identity_token);
        out->creds.registry_token = dup_nonempty(a->registry_token);
        /* The decoded copy of the secrets goes too. */
        if (a->password != NULL) {
            OPENSSL_cleanse(a->password, strlen(a->password));
        }
        if (a->auth != NULL) {
            OPENSSL_cleanse(a->auth, strlen(a->auth));
        }
        if (a->identity_token != NULL) {
            OPENSSL_cleanse(a->identity_token, strlen(a->identity_token));
        }
        if (a->registry_token != NULL) {
            OPENSSL_cleanse(a->registry_token, strlen(a->registry_token));
        }
    }
    if (req->sandbox_config != NULL && req->sandbox_config->metadata != NULL) {
        out->pod = pg_asprintf("%s/%s", req->sandbox_config->metadata->namespace_,
                               req->sandbox_config->metadata->name);
    }
    runtime__v1__pull_image_request__free_unpacked(req, NULL);
    if (out->image == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory decoding PullImageRequest");
    }
    return PG_OK;
}

/* The current trust generation, loading it again if none is loaded. */
static struct pg_trust *current_trust(struct pg_enforcer *e, struct pg_err *err)
{
    struct pg_trust *t = NULL;
    struct pg_trust *loaded = NULL;
    struct pg_err lerr;

    pthread_mutex_lock(&e->lock);
    if (e->trust == NULL && pg_now_ms() - e->last_load_ms >= RETRY_LOAD_MS) {
        pg_err_init(&lerr);
        e->last_load_ms = pg_now_ms();
        if (pg_trust_load(e->notation_dir, &loaded, &lerr) == PG_OK) {
            e->trust = loaded;
            pg_log(LOG_NOTICE, "trust policy loaded from %s", e->notation_dir);
        } else {
            e->load_err = lerr;
        }
    }
    if (e->trust != NULL) {
        t = pg_trust_ref(e->trust);
    } else {
        pg_err_set(err, e->load_err.status, "trust policy could not be loaded: %s",
                   e->load_err.msg);
    }
    pthread_mutex_unlock(&e->lock);
    return t;
}

static void log_decision(const struct pg_enforcer *e, const struct pull_req *r,
                         const struct pg_decision *d, const char *outcome)
{
    char image[LOG_VALUE_MAX], msg[LOG_VALUE_MAX], pod[LOG_VALUE_MAX], stmt[LOG_VALUE_MAX];
    char line[4 * LOG_VALUE_MAX + 256];
    char f[8][LOG_VALUE_MAX + 32];
    const char *fields[9];
    const char *digest = d->digest != NULL ? d->digest : "";
    int prio = d->outcome == PG_OUTCOME_DENY ? LOG_WARNING : LOG_INFO;

    pg_escape(image, sizeof(image), d->image, strlen(d->image));
    pg_escape(msg, sizeof(msg), d->message, strlen(d->message));
    pg_escape(pod, sizeof(pod), r->pod != NULL ? r->pod : "", r->pod != NULL ? strlen(r->pod) : 0);
    pg_escape(stmt, sizeof(stmt), d->statement != NULL ? d->statement : "",
              d->statement != NULL ? strlen(d->statement) : 0);
    snprintf(line, sizeof(line),
             "decision=%s image=\"%s\" digest=%s reason=%s policy=\"%s\" mode=%s "
             "ms=%lld "
             "pod=\"%s\" message=\"%s\"",
             outcome, image, digest[0] != '\0' ? digest : "-", pg_status_name(d->reason), stmt,
             pg_mode_name(e->mode), (long long)d->duration_ms, pod, msg);
    snprintf(f[0], sizeof(f[0]), "PULLGATE_DECISION=%s", outcome);
    snprintf(f[1], sizeof(f[1]), "PULLGATE_IMAGE=%s", image);
    snprintf(f[2], sizeof(f[2]), "PULLGATE_DIGEST=%s", digest);
    snprintf(f[3], sizeof(f[3]), "PULLGATE_REASON=%s", pg_status_name(d->reason));
    snprintf(f[4], sizeof(f[4]), "PULLGATE_POLICY=%s", stmt);
    snprintf(f[5], sizeof(f[5]), "PULLGATE_MODE=%s", pg_mode_name(e->mode));
    snprintf(f[6], sizeof(f[6]), "PULLGATE_DURATION_MS=%lld", (long long)d->duration_ms);
    snprintf(f[7], sizeof(f[7]), "PULLGATE_MESSAGE=%s", msg);
    for (int i = 0; i < 8; i++) {
        fields[i] = f[i];
    }
    fields[8] = NULL;
    pg_log_fields(prio, line, fields);
}

/* A decision for a failure before the verifier could run. */
static struct pg_decision *early_decision(const char *image, const struct pg_err *err)
{
    struct pg_decision *d = pg_calloc(1, sizeof(*d));

    if (d == NULL) {
        return NULL;
    }
    d->outcome = PG_OUTCOME_DENY;
    d->reason = err->status != PG_OK ? err->status : PG_ERR_INTERNAL;
    d->image = pg_strdup(image != NULL ? image : "");
    d->message = pg_strdup(err->msg);
    if (d->image == NULL || d->message == NULL) {
        pg_decision_free(d);
        return NULL;
    }
    return d;
}

/* The client's message: the prefix kubelet users look for, the reason name
 * (the same as in the decision line and the docs), then the detail. */
static void deny(struct pg_pull_decision *out, int code, enum pg_status reason, const char *why)
{
    int n;

    out->verdict = PG_PULL_DENY;
    out->grpc_code = code;
    /* A detail too long for the message is cut; the decision line has it. */
    n = snprintf(out->message, sizeof(out->message), DENY_PREFIX "%s: %s", pg_status_name(reason),
                 why);
    if (n < 0) {
        snprintf(out->message, sizeof(out->message), DENY_PREFIX "%s", pg_status_name(reason));
    }
}

/* The verification's time budget: pullgate's own bound, or the client's if
 * sooner. */
static void make_deadline(const struct pg_enforcer *e, const struct pg_pull_ctx *ctx,
                          struct pg_deadline *dl)
{
    dl->at_ms = pg_now_ms() + e->verify_timeout_ms;
    dl->cancelled = ctx->cancelled;
    if (ctx->has_deadline) {
        int64_t client = (int64_t)ctx->deadline.tv_sec * 1000 + ctx->deadline.tv_nsec / 1000000;

        if (client < dl->at_ms) {
            dl->at_ms = client;
        }
    }
}

static struct pull_state *make_state(const struct pg_decision *d)
{
    struct pull_state *s = pg_calloc(1, sizeof(*s));
    struct pg_ref *ref = NULL;
    struct pg_err err;

    if (s == NULL) {
        return NULL;
    }
    s->pinned = pg_strdup(d->pinned);
    pg_err_init(&err);
    if (pg_ref_parse(d->image, &ref, &err) == PG_OK && ref->digest == NULL) {
        s->tag_name = pg_ref_string(ref);
    }
    pg_ref_free(ref);
    return s;
}

/* Turns an allowed decision into a forwarded, digest-pinned request. */
static void forward_pinned(struct pg_pull_ctx *ctx, const struct pg_decision *d,
                           struct pg_pull_decision *out)
{
    struct pg_err err;
    struct pull_state *s;

    pg_err_init(&err);
    if (pg_wire_replace_string(ctx->request, ctx->request_len, 1, 1, d->pinned, &out->rewritten,
                               &out->rewritten_len, &err) != PG_OK) {
        deny(out, GRPC_STATUS_INVALID_ARGUMENT, err.status, err.msg);
        return;
    }
    s = make_state(d);
    if (s == NULL || s->pinned == NULL) {
        pg_free(out->rewritten);
        out->rewritten = NULL;
        deny(out, GRPC_STATUS_RESOURCE_EXHAUSTED, PG_ERR_NOMEM, "out of memory");
        if (s != NULL) {
            pg_free(s->tag_name);
            pg_free(s);
        }
        return;
    }
    ctx->state = s;
    out->verdict = PG_PULL_ALLOW_REWRITTEN;
}

static void pre_hook(struct pg_pull_ctx *ctx, struct pg_pull_decision *out)
{
    struct pg_enforcer *e = ctx->user;
    struct pull_req r = {0};
    struct pg_trust *trust = NULL;
    struct pg_decision *d = NULL;
    struct pg_deadline dl;
    struct pg_verify_request vr = {0};
    struct pg_err err;

    pg_err_init(&err);
    make_deadline(e, ctx, &dl);
    if (decode_request(ctx->request, ctx->request_len, &r, &err) == PG_OK) {
        trust = current_trust(e, &err);
    }
    if (trust != NULL) {
        vr.image = r.image;
        vr.creds = r.has_creds ? &r.creds : NULL;
        vr.deadline = &dl;
        vr.max_signatures = e->max_signatures;
        pg_verify_image(trust, e->client, &vr, &d);
    } else {
        d = early_decision(r.image, &err);
    }
    if (d == NULL) {
        deny(out, GRPC_STATUS_RESOURCE_EXHAUSTED, PG_ERR_NOMEM, "out of memory while verifying");
        goto out;
    }
    log_decision(e, &r, d, pg_outcome_name(d->outcome));
    if (d->outcome == PG_OUTCOME_DENY && e->mode == PG_MODE_ENFORCE) {
        deny(out,
             d->reason == PG_ERR_PARSE ? GRPC_STATUS_INVALID_ARGUMENT
                                       : GRPC_STATUS_PERMISSION_DENIED,
             d->reason, d->message);
    } else if (d->outcome == PG_OUTCOME_ALLOW && e->mode == PG_MODE_ENFORCE) {
        forward_pinned(ctx, d, out);
    } else {
        out->verdict = PG_PULL_ALLOW;
    }
out:
    pg_decision_free(d);
    pg_trust_unref(trust);
    pull_req_clear(&r);
}

static void post_hook(struct pg_pull_ctx *ctx, struct pg_pull_outcome *outcome)
{
    struct pg_enforcer *e = ctx->user;
    struct pull_state *s = ctx->state;
    struct pg_err err;

    if (s == NULL || s->tag_name == NULL || outcome->grpc_code != GRPC_STATUS_OK) {
        return;
    }
    pg_err_init(&err);
    if (pg_ctrimages_tag(e->containerd, e->namespace, s->pinned, s->tag_name,
                         pg_now_ms() + TAG_TIMEOUT_MS, &err) != PG_OK) {
        /* The verified image is on the node; only its tag is missing, so
         * kubelet will ask again and the pull is repeated. */
        pg_log(LOG_WARNING, "pulled %s but could not tag it %s: %s", s->pinned, s->tag_name,
               err.msg);
    }
}

static void release_hook(struct pg_pull_ctx *ctx)
{
    struct pull_state *s = ctx->state;

    if (s != NULL) {
        pg_free(s->pinned);
        pg_free(s->tag_name);
        pg_free(s);
        ctx->state = NULL;
    }
}

void pg_enforce_hooks(struct pg_enforcer *e, struct pg_pull_hooks *out)
{
    out->pre = pre_hook;
    out->post = post_hook;
    out->release = release_hook;
    out->user = e;
}

enum pg_status pg_enforce_reload(struct pg_enforcer *e, struct pg_err *err)
{
    struct pg_trust *loaded = NULL;
    struct pg_trust *old;
    enum pg_status rc;

    rc = pg_trust_load(e->notation_dir, &loaded, err);
    if (rc != PG_OK) {
        return rc;
    }
    pthread_mutex_lock(&e->lock);
    old = e->trust;
    e->trust = loaded;
    pthread_mutex_unlock(&e->lock);
    pg_trust_unref(old);
    return PG_OK;
}

static grpc_channel *open_containerd(const char *path)
{
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    char *target = pg_asprintf("unix:%s", path);
    grpc_channel *ch = NULL;

    if (target != NULL && creds != NULL) {
        ch = grpc_channel_create(target, creds, NULL);
    }
    if (creds != NULL) {
        grpc_channel_credentials_release(creds);
    }
    pg_free(target);
    return ch;
}

enum pg_status pg_enforce_new(const struct pg_enforce_options *opts, struct pg_enforcer **out,
                              struct pg_err *err)
{
    struct pg_enforcer *e = pg_calloc(1, sizeof(*e));
    struct pg_err lerr;
    enum pg_status rc;

    if (e == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory creating the enforcer");
    }
    pthread_mutex_init(&e->lock, NULL);
    grpc_init();
    e->notation_dir = pg_strdup(opts->notation_dir);
    e->namespace = pg_strdup(opts->containerd_namespace != NULL ? opts->containerd_namespace
                                                                : PG_CRI_NAMESPACE);
    e->verify_timeout_ms = opts->verify_timeout_ms > 0 ? opts->verify_timeout_ms : 60000;
    e->max_signatures = opts->max_signatures;
    e->mode = opts->mode;
    if (e->notation_dir == NULL || e->namespace == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory creating the enforcer");
        goto fail;
    }
    rc = pg_registry_client_new(&opts->registry, &e->client, err);
    if (rc != PG_OK) {
        goto fail;
    }
    e->containerd = open_containerd(opts->upstream_path);
    if (e->containerd == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "cannot create a channel to %s", opts->upstream_path);
        goto fail;
    }
    pg_err_init(&lerr);
    e->last_load_ms = pg_now_ms();
    if (pg_trust_load(e->notation_dir, &e->trust, &lerr) != PG_OK) {
        e->load_err = lerr;
        pg_log(LOG_ERR, "trust policy not loaded, every pull is refused until it loads: %s",
               lerr.msg);
    }
    *out = e;
    return PG_OK;
fail:
    pg_enforce_free(e);
    return rc;
}

void pg_enforce_free(struct pg_enforcer *e)
{
    if (e == NULL) {
        return;
    }
    pg_trust_unref(e->trust);
    pg_registry_client_free(e->client);
    if (e->containerd != NULL) {
        grpc_channel_destroy(e->containerd);
    }
    pg_free(e->notation_dir);
    pg_free(e->namespace);
    pthread_mutex_destroy(&e->lock);
    pg_free(e);
    grpc_shutdown();
}
