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
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/status.h>
#include <openssl/crypto.h>

#include "cache.h"
#include "cri_v1.pb-c.h"
#include "ctrimages.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "reference.h"
#include "trust.h"
#include "verify.h"
#include "wire.h"

#define DENY_PREFIX "SignatureValidationFailed: "
#define RETRY_LOAD_MS 1000
#define TAG_TIMEOUT_MS 30000
#define LOG_VALUE_MAX 512
#define LOG_MESSAGE_MAX (2 * PG_ERR_MSG_MAX) /* a whole message, escaped */

/*
 * Everything a pull is decided under: trust, registry client and settings,
 * swapped whole by a reload. A pull holds a reference from its pre-hook to
 * its release, so it ends under the generation it started with. Immutable,
 * except that trust goes once from NULL to loaded, under the enforcer's lock.
 */
struct generation {
    atomic_size_t refs;
    struct pg_trust *trust; /* NULL while the policy does not load */
    struct pg_err load_err; /* why, when trust is NULL */
    int64_t last_load_ms;
    char *notation_dir;
    char *namespace;
    struct pg_registry_client *client;
    long verify_timeout_ms;
    size_t max_signatures;
    enum pg_mode mode;
    struct pg_sigverify_options sig;
};

struct pg_enforcer {
    pthread_mutex_t lock;
    struct generation *gen; /* the current one */
    struct pg_cache *cache;
    struct pg_metrics *metrics; /* borrowed; may be NULL */
    grpc_channel *containerd;
};

/* What the post-hook needs of an allowed, pinned pull. */
struct pull_state {
    char *pinned;   /* repository@digest as forwarded */
    char *tag_name; /* repository:tag to record, NULL when pulled by digest */
    struct generation *gen;
};

/* A verification's view of the cache, for the verifier's on_resolved hook. */
struct lookup {
    struct pg_enforcer *e;
    uint64_t generation;
    const struct pg_deadline *deadline;
    struct pg_cache_flight *flight; /* led by this pull; finished after verifying */
    int is_hit;
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
    const uint8_t *raw_image = NULL;
    size_t raw_len = 0;

    enum pg_status rc;

    /* runtime.v1 and runtime.v1alpha2 share this message's wire format. */
    req = runtime__v1__pull_image_request__unpack(NULL, len, msg);
    if (req == NULL) {
        return pg_err_set(err, PG_ERR_PARSE, "malformed PullImageRequest of %zu bytes", len);
    }
    /* The image exactly once, as the rewrite reads it, and no NUL in it:
     * a C string would end there and name another image than the bytes. */
    rc = pg_wire_find_string(msg, len, 1, 1, &raw_image, &raw_len, err);
    if (rc != PG_OK) {
        runtime__v1__pull_image_request__free_unpacked(req, NULL);
        return rc;
    }
    if (req->image == NULL || req->image->image == NULL || req->image->image[0] == '\0') {
        runtime__v1__pull_image_request__free_unpacked(req, NULL);
        return pg_err_set(err, PG_ERR_REFERENCE, "PullImageRequest names no image");
    }
    if (raw_image == NULL || strlen(req->image->image) != raw_len) {
        runtime__v1__pull_image_request__free_unpacked(req, NULL);
        return pg_err_set(err, PG_ERR_REFERENCE, "image name in PullImageRequest has a NUL byte");
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

static struct generation *gen_ref(struct generation *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

static void gen_unref(struct generation *g)
{
    if (g == NULL || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    pg_trust_unref(g->trust);
    pg_registry_client_free(g->client);
    pg_free(g->notation_dir);
    pg_free(g->namespace);
    pg_free(g);
}

/* Makes generation the cache's and the metrics' one; under e->lock. */
static void publish_generation(struct pg_enforcer *e, const struct generation *g)
{
    uint64_t n = pg_trust_generation(g->trust);

    pg_cache_set_generation(e->cache, n);
    pg_metrics_set(e->metrics, PG_METRICS_POLICY_GENERATION, (int64_t)n);
}

/*
 * The current generation (a reference for the caller) and its trust (another
 * one, or NULL with terr filled), loading the policy again if none loaded.
 */
static struct generation *current(struct pg_enforcer *e, struct pg_trust **out_trust,
                                  struct pg_err *terr)
{
    struct generation *g;
    struct pg_trust *loaded = NULL;
    struct pg_err lerr;

    pthread_mutex_lock(&e->lock);
    g = gen_ref(e->gen);
    if (g->trust == NULL && pg_now_ms() - g->last_load_ms >= RETRY_LOAD_MS) {
        pg_err_init(&lerr);
        g->last_load_ms = pg_now_ms();
        if (pg_trust_load(g->notation_dir, &loaded, &lerr) == PG_OK) {
            g->trust = loaded;
            publish_generation(e, g);
            pg_log(LOG_NOTICE, "trust policy loaded from %s", g->notation_dir);
        } else {
            g->load_err = lerr;
        }
    }
    *out_trust = pg_trust_ref(g->trust);
    if (g->trust == NULL) {
        pg_err_set(terr, g->load_err.status, "trust policy could not be loaded: %s",
                   g->load_err.msg);
    }
    pthread_mutex_unlock(&e->lock);
    return g;
}

static void log_decision(const struct generation *e, const struct pull_req *r,
                         const struct pg_decision *d, const char *outcome, int is_cached)
{
    char image[LOG_VALUE_MAX], msg[LOG_MESSAGE_MAX], pod[LOG_VALUE_MAX], stmt[LOG_VALUE_MAX];
    char line[3 * LOG_VALUE_MAX + LOG_MESSAGE_MAX + 256];
    char f[9][LOG_MESSAGE_MAX + 32];
    const char *fields[10];
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
    snprintf(f[8], sizeof(f[8]), "PULLGATE_CACHE=%s", is_cached ? "hit" : "miss");
    for (int i = 0; i < 9; i++) {
        fields[i] = f[i];
    }
    fields[9] = NULL;
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
static void make_deadline(const struct generation *e, const struct pg_pull_ctx *ctx,
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

static struct pull_state *make_state(const struct pg_decision *d, struct generation *g)
{
    struct pull_state *s = pg_calloc(1, sizeof(*s));
    struct pg_ref *ref = NULL;
    struct pg_err err;

    if (s == NULL) {
        return NULL;
    }
    s->pinned = pg_strdup(d->pinned);
    s->gen = gen_ref(g);
    pg_err_init(&err);
    if (pg_ref_parse(d->image, &ref, &err) == PG_OK && ref->digest == NULL) {
        s->tag_name = pg_ref_string(ref);
    }
    pg_ref_free(ref);
    return s;
}

/* Turns an allowed decision into a forwarded, digest-pinned request. */
static void forward_pinned(struct pg_pull_ctx *ctx, struct generation *g,
                           const struct pg_decision *d, struct pg_pull_decision *out)
{
    struct pg_err err;
    struct pull_state *s;

    pg_err_init(&err);
    if (pg_wire_replace_string(ctx->request, ctx->request_len, 1, 1, d->pinned, &out->rewritten,
                               &out->rewritten_len, &err) != PG_OK) {
        deny(out, GRPC_STATUS_INVALID_ARGUMENT, err.status, err.msg);
        return;
    }
    s = make_state(d, g);
    if (s == NULL || s->pinned == NULL) {
        pg_free(out->rewritten);
        out->rewritten = NULL;
        deny(out, GRPC_STATUS_RESOURCE_EXHAUSTED, PG_ERR_NOMEM, "out of memory");
        if (s != NULL) {
            gen_unref(s->gen);
            pg_free(s->tag_name);
            pg_free(s);
        }
        return;
    }
    ctx->state = s;
    out->verdict = PG_PULL_ALLOW_REWRITTEN;
}

/* The verifier's on_resolved hook: answer from the cache, or lead the flight. */
static enum pg_status on_resolved(void *user, const struct pg_decision *so_far, int *out_is_decided,
                                  int64_t *out_valid_until, struct pg_err *err)
{
    struct lookup *l = user;
    struct pg_cache_answer a;
    enum pg_status rc;

    rc = pg_cache_lookup(l->e->cache, l->generation, so_far->repository, so_far->digest,
                         l->deadline, &l->is_hit, &a, &l->flight, err);
    if (rc != PG_OK) {
        return rc;
    }
    pg_metrics_add(l->e->metrics, l->is_hit ? PG_METRICS_CACHE_HITS : PG_METRICS_CACHE_MISSES, 1);
    *out_is_decided = l->is_hit;
    if (l->is_hit && !a.is_allowed) {
        return pg_err_set(err, a.reason, "%s", a.message);
    }
    *out_valid_until = a.valid_until;
    return PG_OK;
}

/* Ends the flight this pull led, if any, with its decision (NULL: none). */
static void finish_flight(struct pg_enforcer *e, struct lookup *l, const struct pg_decision *d)
{
    struct pg_cache_answer a;

    if (l->flight == NULL) {
        return;
    }
    memset(&a, 0, sizeof(a));
    if (d != NULL) {
        a.is_allowed = d->outcome == PG_OUTCOME_ALLOW;
        a.reason = d->reason;
        a.valid_until = d->valid_until;
        snprintf(a.message, sizeof(a.message), "%s", a.is_allowed ? "" : d->message);
    }
    pg_cache_finish(e->cache, l->flight, d != NULL ? &a : NULL);
    l->flight = NULL;
}

static struct pg_decision *verify(struct pg_enforcer *e, const struct generation *g,
                                  const struct pg_trust *trust, const struct pull_req *r,
                                  const struct pg_deadline *dl, struct lookup *l)
{
    struct pg_verify_request vr = {0};
    struct pg_decision *d = NULL;

    l->e = e;
    l->generation = pg_trust_generation(trust);
    l->deadline = dl;
    vr.image = r->image;
    vr.creds = r->has_creds ? &r->creds : NULL;
    vr.deadline = dl;
    vr.max_signatures = g->max_signatures;
    vr.sig_options = &g->sig;
    vr.on_resolved = on_resolved;
    vr.on_resolved_user = l;
    pg_verify_image(trust, g->client, &vr, &d);
    finish_flight(e, l, d);
    return d;
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void count_pull(struct pg_enforcer *e, const struct generation *g,
                       const struct pg_decision *d, int64_t t0_us)
{
    enum pg_metrics_outcome o = PG_METRICS_DENY;
    enum pg_status reason = d != NULL ? d->reason : PG_ERR_NOMEM;

    if (d != NULL && d->outcome == PG_OUTCOME_ALLOW) {
        o = PG_METRICS_ALLOW;
    } else if (d != NULL && d->outcome == PG_OUTCOME_SKIP) {
        o = PG_METRICS_SKIP;
    } else if (g->mode == PG_MODE_DRY_RUN) {
        o = PG_METRICS_WOULD_DENY;
    }
    pg_metrics_pull(e->metrics, o, reason, now_us() - t0_us);
    pg_metrics_registry_error(e->metrics, reason);
}

static void pre_hook(struct pg_pull_ctx *ctx, struct pg_pull_decision *out)
{
    struct pg_enforcer *e = ctx->user;
    int64_t t0 = now_us();
    struct pull_req r = {0};
    struct pg_trust *trust = NULL;
    struct generation *g;
    struct pg_decision *d = NULL;
    struct lookup l = {0};
    struct pg_deadline dl;
    struct pg_err err;
    struct pg_err terr;

    pg_err_init(&err);
    pg_err_init(&terr);
    g = current(e, &trust, &terr);
    make_deadline(g, ctx, &dl);
    if (decode_request(ctx->request, ctx->request_len, &r, &err) != PG_OK) {
        d = early_decision(r.image, &err);
    } else if (trust == NULL) {
        d = early_decision(r.image, &terr);
    } else {
        d = verify(e, g, trust, &r, &dl, &l);
    }
    count_pull(e, g, d, t0);
    if (d == NULL) {
        deny(out, GRPC_STATUS_RESOURCE_EXHAUSTED, PG_ERR_NOMEM, "out of memory while verifying");
        goto out;
    }
    log_decision(g, &r, d, pg_outcome_name(d->outcome), l.is_hit);
    if (d->outcome == PG_OUTCOME_DENY && g->mode == PG_MODE_ENFORCE) {
        deny(out,
             d->reason == PG_ERR_PARSE ? GRPC_STATUS_INVALID_ARGUMENT
                                       : GRPC_STATUS_PERMISSION_DENIED,
             d->reason, d->message);
    } else if (d->outcome == PG_OUTCOME_ALLOW && g->mode == PG_MODE_ENFORCE) {
        forward_pinned(ctx, g, d, out);
    } else {
        out->verdict = PG_PULL_ALLOW;
    }
out:
    pg_decision_free(d);
    pg_trust_unref(trust);
    gen_unref(g);
    pull_req_clear(&r);
}

static void post_hook(struct pg_pull_ctx *ctx, struct pg_pull_outcome *outcome)
{
    struct pg_enforcer *e = ctx->user;
    struct pull_state *s = ctx->state;
    struct pg_err err;

    if (outcome->grpc_code != GRPC_STATUS_OK) {
        pg_metrics_add(e->metrics, PG_METRICS_UPSTREAM_ERRORS, 1);
    }
    if (s != NULL && outcome->grpc_code != GRPC_STATUS_OK) {
        char details[LOG_VALUE_MAX];

        /* The decision line said allow; say that the runtime then failed. */
        pg_escape(details, sizeof(details), outcome->details, outcome->details_len);
        pg_log(LOG_WARNING, "pull of verified %s failed in the runtime: code %d: %s", s->pinned,
               outcome->grpc_code, details);
    }
    if (s == NULL || s->tag_name == NULL || outcome->grpc_code != GRPC_STATUS_OK) {
        return;
    }
    pg_err_init(&err);
    if (pg_ctrimages_tag(e->containerd, s->gen->namespace, s->pinned, s->tag_name,
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
        gen_unref(s->gen);
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

/*
 * A generation from opts. With must_load, a policy that does not load fails
 * it; without, the generation keeps the error and loads again on use.
 */
static enum pg_status gen_new(const struct pg_enforce_options *opts, int must_load,
                              struct generation **out, struct pg_err *err)
{
    struct generation *g = pg_calloc(1, sizeof(*g));
    enum pg_status rc;

    if (g == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory creating the enforcer");
    }
    atomic_init(&g->refs, 1);
    g->notation_dir = pg_strdup(opts->notation_dir);
    g->namespace = pg_strdup(opts->containerd_namespace != NULL ? opts->containerd_namespace
                                                                : PG_CRI_NAMESPACE);
    g->verify_timeout_ms = opts->verify_timeout_ms > 0 ? opts->verify_timeout_ms : 60000;
    g->max_signatures = opts->max_signatures;
    g->mode = opts->mode;
    if (opts->sig != NULL) {
        g->sig = *opts->sig;
    } else {
        pg_sigverify_options_init(&g->sig);
    }
    if (g->notation_dir == NULL || g->namespace == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory creating the enforcer");
        goto fail;
    }
    rc = pg_registry_client_new(&opts->registry, &g->client, err);
    if (rc != PG_OK) {
        goto fail;
    }
    pg_err_init(&g->load_err);
    g->last_load_ms = pg_now_ms();
    rc = pg_trust_load(g->notation_dir, &g->trust, &g->load_err);
    if (rc != PG_OK && must_load) {
        pg_err_set(err, rc, "%s", g->load_err.msg);
        goto fail;
    }
    *out = g;
    return PG_OK;
fail:
    gen_unref(g);
    return rc;
}

enum pg_status pg_enforce_reload(struct pg_enforcer *e, const struct pg_enforce_options *opts,
                                 struct pg_err *err)
{
    struct generation *g = NULL;
    struct generation *old;
    enum pg_status rc;

    rc = gen_new(opts, 1, &g, err);
    if (rc != PG_OK) {
        return rc;
    }
    pg_cache_set_limits(e->cache, &opts->cache);
    pthread_mutex_lock(&e->lock);
    old = e->gen;
    e->gen = g;
    publish_generation(e, g);
    pthread_mutex_unlock(&e->lock);
    gen_unref(old); /* freed when the last pull under it ends */
    return PG_OK;
}

void pg_enforce_get_cache_stats(struct pg_enforcer *e, struct pg_cache_stats *out_stats)
{
    pg_cache_get_stats(e->cache, out_stats);
}

uint64_t pg_enforce_generation(struct pg_enforcer *e)
{
    uint64_t n;

    pthread_mutex_lock(&e->lock);
    n = pg_trust_generation(e->gen->trust);
    pthread_mutex_unlock(&e->lock);
    return n;
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
    enum pg_status rc;

    if (e == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory creating the enforcer");
    }
    pthread_mutex_init(&e->lock, NULL);
    grpc_init();
    e->metrics = opts->metrics;
    rc = pg_cache_new(&opts->cache, &e->cache, err);
    if (rc == PG_OK) {
        rc = gen_new(opts, 0, &e->gen, err);
    }
    if (rc != PG_OK) {
        goto fail;
    }
    e->containerd = open_containerd(opts->upstream_path);
    if (e->containerd == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "cannot create a channel to %s", opts->upstream_path);
        goto fail;
    }
    if (e->gen->trust == NULL) {
        pg_log(LOG_ERR, "trust policy not loaded, every pull is refused until it loads: %s",
               e->gen->load_err.msg);
    }
    publish_generation(e, e->gen);
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
    gen_unref(e->gen);
    pg_cache_free(e->cache);
    if (e->containerd != NULL) {
        grpc_channel_destroy(e->containerd);
    }
    pthread_mutex_destroy(&e->lock);
    pg_free(e);
    grpc_shutdown();
}
