/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the pull policy (daemon/enforce.c) with the real verifier: the
 * PullImage pre-hook is called directly with packed requests, against
 * pg-testregistry serving an image signed by pg-testsign material. Covers
 * the verification cache on the pull path (hits skip signature requests,
 * refusals are kept briefly, each pull resolves with its own credentials),
 * reloads (a new generation, a broken policy refused while pulls go on),
 * dry-run, and the metrics the hooks move.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "cri_v1.pb-c.h"
#include "enforce.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "registry-fixture.h"

#define MT_SIG "application/vnd.cncf.notary.signature"
#define CONFIG_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

static struct fixture g_fx;
static char *g_tmp;
static char *g_tool;
static char *g_digest; /* the signed image's manifest digest */
static char *g_good;   /* notation dirs: strict for app and priv */
static char *g_skip;   /* level skip for everything */
static char *g_broken; /* a trust policy that does not parse */
static struct pg_metrics *g_metrics;
static struct pg_enforcer *g_enf;
static struct pg_pull_hooks g_hooks;
static int g_negative_ttl_ms = 300;

static char *path_of(const char *name)
{
    return pg_asprintf("%s/%s", g_tmp, name);
}

static int write_text(const char *name, const char *text)
{
    char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    int ok = f != NULL && fputs(text, f) >= 0;

    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    pg_free(p);
    return ok ? 0 : -1;
}

/* Runs pg-testsign with args; its stdout into out_name when not NULL. */
static int testsign(const char *args, const char *out_name)
{
    char *out = out_name != NULL ? path_of(out_name) : pg_strdup("/dev/null");
    char *cmd = pg_asprintf("cd '%s' && '%s' %s >'%s'", g_tmp, g_tool, args, out);
    int rc = system(cmd);

    pg_free(cmd);
    pg_free(out);
    return rc == 0 ? 0 : -1;
}

/* "sha256:<hex> <size>" printed by pg-testsign, read back. */
static int read_digest(const char *name, char *digest, size_t len, long *size)
{
    char *p = path_of(name);
    FILE *f = fopen(p, "r");
    char d[80];
    int ok;

    ok = f != NULL && fscanf(f, "%79s %ld", d, size) == 2 && strlen(d) < len;
    if (ok) {
        memcpy(digest, d, strlen(d) + 1);
    }
    if (f != NULL) {
        fclose(f);
    }
    pg_free(p);
    return ok ? 0 : -1;
}

static json_t *file_route(const char *path, const char *ctype, const char *file, const char *auth)
{
    json_t *r = fx_route(path, 200, ctype, NULL);
    char *p = path_of(file);

    json_object_set_new(r, "body_file", json_string(p));
    if (auth != NULL) {
        json_object_set_new(r, "auth", json_pack("{s:s}", "basic", auth));
    }
    pg_free(p);
    return r;
}

/* Routes for repo: tag v1 (signed), tag unsigned, the referrers and the signature. */
static void add_repo(json_t *routes, const char *repo, const char *referrers, const char *sig,
                     const char *env, const char *auth)
{
    char p[256];

    snprintf(p, sizeof(p), "/v2/%s/manifests/v1", repo);
    json_array_append_new(routes, file_route(p, PG_MT_OCI_MANIFEST, "image.json", auth));
    snprintf(p, sizeof(p), "/v2/%s/manifests/%s", repo, g_digest);
    json_array_append_new(routes, file_route(p, PG_MT_OCI_MANIFEST, "image.json", auth));
    snprintf(p, sizeof(p), "/v2/%s/manifests/unsigned", repo);
    json_array_append_new(routes, file_route(p, PG_MT_OCI_MANIFEST, "unsigned.json", auth));
    snprintf(p, sizeof(p), "/v2/%s/referrers/%s", repo, g_digest);
    json_array_append_new(routes, file_route(p, PG_MT_OCI_INDEX, referrers, auth));
    snprintf(p, sizeof(p), "/v2/%s/manifests/%s", repo, sig);
    json_array_append_new(routes, file_route(p, PG_MT_OCI_MANIFEST, "sigmanifest.json", auth));
    snprintf(p, sizeof(p), "/v2/%s/blobs/%s", repo, env);
    json_array_append_new(routes, file_route(p, "application/octet-stream", "envelope.jws", auth));
}

static int make_notation_dir(const char *name, const char *policy, char **out)
{
    char *cmd = pg_asprintf("mkdir -p '%s/%s/truststore/x509/ca/test' && "
                            "cp '%s/ca/cert.pem' '%s/%s/truststore/x509/ca/test/ca.pem'",
                            g_tmp, name, g_tmp, g_tmp, name);
    char *file = pg_asprintf("%s/trustpolicy.json", name);
    int rc = system(cmd);

    pg_free(cmd);
    if (rc == 0) {
        rc = write_text(file, policy);
    }
    pg_free(file);
    *out = path_of(name);
    return rc == 0 ? 0 : -1;
}

static int make_policies(void)
{
    char policy[1024];

    snprintf(policy, sizeof(policy),
             "{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"test\","
             "\"registryScopes\":[\"%s/app\",\"%s/priv\",\"%s/gone\"],"
             "\"signatureVerification\":{\"level\":\"strict\"},"
             "\"trustStores\":[\"ca:test\"],\"trustedIdentities\":[\"*\"]}]}",
             g_fx.host1, g_fx.host1, g_fx.host1);
    if (make_notation_dir("good", policy, &g_good) != 0) {
        return -1;
    }
    if (make_notation_dir("skip",
                          "{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"all\","
                          "\"registryScopes\":[\"*\"],"
                          "\"signatureVerification\":{\"level\":\"skip\"}}]}",
                          &g_skip) != 0) {
        return -1;
    }
    return make_notation_dir("broken", "{\"version\":\"1.0\",\"trustPolicies\":[", &g_broken);
}

/* Keys, the image, its signature, the registry and the trust policies. */
static int setup(void)
{
    char sig[80];
    char env[80];
    char cmd[1024];
    long sig_size = 0;
    long env_size = 0;
    long size = 0;
    json_t *routes = json_array();
    const char *image = "{\"schemaVersion\":2,\"mediaType\":\"" PG_MT_OCI_MANIFEST "\","
                        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                        "\"digest\":\"" CONFIG_DIGEST "\",\"size\":2},\"layers\":[]}";
    char digest[80];

    if (write_text("image.json", image) != 0 ||
        write_text("unsigned.json",
                   "{\"schemaVersion\":2,\"mediaType\":\"" PG_MT_OCI_MANIFEST
                   "\",\"config\":{\"mediaType\":\"application/vnd.oci.image."
                   "config.v1+json\",\"digest\":\"" CONFIG_DIGEST
                   "\",\"size\":2},\"layers\":[],\"annotations\":{\"a\":\"b\"}}") != 0 ||
        testsign("ca --out ca", NULL) != 0 || testsign("cert --ca ca --out leaf", NULL) != 0 ||
        testsign("digest image.json", "image.digest") != 0 ||
        read_digest("image.digest", digest, sizeof(digest), &size) != 0) {
        return -1;
    }
    g_digest = pg_strdup(digest);
    snprintf(cmd, sizeof(cmd),
             "sign --key leaf/key.pem --chain leaf/chain.pem --target-media-type %s "
             "--target-digest %s --target-size %ld --out envelope.jws",
             PG_MT_OCI_MANIFEST, g_digest, size);
    if (testsign(cmd, NULL) != 0 || testsign("digest envelope.jws", "env.digest") != 0 ||
        read_digest("env.digest", env, sizeof(env), &env_size) != 0) {
        return -1;
    }
    snprintf(cmd, sizeof(cmd),
             "manifest --envelope envelope.jws --subject-media-type %s --subject-digest %s "
             "--subject-size %ld --out sigmanifest.json",
             PG_MT_OCI_MANIFEST, g_digest, size);
    if (testsign(cmd, "sig.digest") != 0 ||
        read_digest("sig.digest", sig, sizeof(sig), &sig_size) != 0) {
        return -1;
    }
    snprintf(cmd, sizeof(cmd),
             "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":\"%s\","
             "\"digest\":\"%s\",\"size\":%ld,\"artifactType\":\"%s\"}]}",
             PG_MT_OCI_INDEX, PG_MT_OCI_MANIFEST, sig, sig_size, MT_SIG);
    if (write_text("referrers.json", cmd) != 0) {
        return -1;
    }
    /* gone: a first signature whose manifest the registry does not have */
    snprintf(cmd, sizeof(cmd),
             "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":\"%s\","
             "\"digest\":\"sha256:%064d\",\"size\":300,\"artifactType\":\"%s\"},"
             "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%ld,\"artifactType\":\"%s\"}]}",
             PG_MT_OCI_INDEX, PG_MT_OCI_MANIFEST, 0, MT_SIG, PG_MT_OCI_MANIFEST, sig, sig_size,
             MT_SIG);
    if (write_text("referrers-gone.json", cmd) != 0) {
        return -1;
    }
    add_repo(routes, "app", "referrers.json", sig, env, NULL);
    add_repo(routes, "priv", "referrers.json", sig, env, "user:pass");
    add_repo(routes, "gone", "referrers-gone.json", sig, env, NULL);
    if (fx_start(&g_fx, routes) != 0) {
        return -1;
    }
    return make_policies();
}

static void options(struct pg_enforce_options *o, const char *dir, enum pg_mode mode)
{
    static const char *hosts[1];

    hosts[0] = g_fx.host1;
    memset(o, 0, sizeof(*o));
    o->notation_dir = dir;
    o->upstream_path = "/nonexistent/containerd.sock"; /* only the post-hook would use it */
    o->registry.plain_http_hosts = hosts;
    o->registry.n_plain_http_hosts = 1;
    o->registry.request_timeout_ms = 5000;
    o->verify_timeout_ms = 10000;
    o->mode = mode;
    o->cache.max_entries = 64;
    o->cache.max_bytes = 1 << 20;
    o->cache.ttl_ms = 600000;
    o->cache.negative_ttl_ms = g_negative_ttl_ms;
    o->metrics = g_metrics;
}

/* A fresh enforcer and metrics for each test. */
static int begin(const char *dir, enum pg_mode mode)
{
    struct pg_enforce_options o;
    struct pg_err err;

    pg_err_init(&err);
    if (pg_metrics_new(&g_metrics, &err) != PG_OK) {
        return -1;
    }
    options(&o, dir, mode);
    if (pg_enforce_new(&o, &g_enf, &err) != PG_OK) {
        fprintf(stderr, "    enforcer: %s\n", err.msg);
        return -1;
    }
    pg_enforce_hooks(g_enf, &g_hooks);
    if (truncate(g_fx.log, 0) != 0) {
        return -1;
    }
    return 0;
}

static void end(void)
{
    pg_enforce_free(g_enf);
    pg_metrics_free(g_metrics);
    g_enf = NULL;
    g_metrics = NULL;
}

struct pull {
    enum pg_pull_verdict verdict;
    char message[PG_PULL_MESSAGE_MAX];
    char image[256]; /* as forwarded when rewritten */
};

/* Runs the pre-hook on the PullImageRequest bytes buf. */
static struct pull pull_bytes(const unsigned char *buf, size_t n)
{
    struct pg_pull_decision d;
    struct pg_pull_ctx ctx;
    atomic_int cancelled = 0;
    struct pull res;

    memset(&ctx, 0, sizeof(ctx));
    memset(&d, 0, sizeof(d));
    memset(&res, 0, sizeof(res));
    ctx.method = "/runtime.v1.ImageService/PullImage";
    ctx.api_version = "v1";
    ctx.request = buf;
    ctx.request_len = n;
    ctx.cancelled = &cancelled;
    ctx.user = g_hooks.user;
    g_hooks.pre(&ctx, &d);
    res.verdict = d.verdict;
    snprintf(res.message, sizeof(res.message), "%s", d.message);
    if (d.rewritten != NULL) {
        Runtime__V1__PullImageRequest *rw =
            runtime__v1__pull_image_request__unpack(NULL, d.rewritten_len, d.rewritten);

        if (rw != NULL && rw->image != NULL) {
            snprintf(res.image, sizeof(res.image), "%s", rw->image->image);
        }
        runtime__v1__pull_image_request__free_unpacked(rw, NULL);
        pg_free(d.rewritten);
    }
    if (ctx.state != NULL) {
        g_hooks.release(&ctx);
    }
    return res;
}

/* Runs the pre-hook on a PullImage for image, with basic credentials if user. */
static struct pull pull(const char *repo_tag, const char *user, const char *pass)
{
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    Runtime__V1__AuthConfig auth = RUNTIME__V1__AUTH_CONFIG__INIT;
    char image[256];
    unsigned char buf[1024];

    snprintf(image, sizeof(image), "%s/%s", g_fx.host1, repo_tag);
    spec.image = image;
    req.image = &spec;
    if (user != NULL) {
        auth.username = (char *)user;
        auth.password = (char *)pass;
        req.auth = &auth;
    }
    return pull_bytes(buf, runtime__v1__pull_image_request__pack(&req, buf));
}

/* Requests the registry saw whose path contains part. */
static int requests(const char *part)
{
    json_t *all = fx_requests(&g_fx);
    size_t i;
    json_t *r;
    int n = 0;

    json_array_foreach(all, i, r)
    {
        const char *p = json_string_value(json_object_get(r, "path"));

        if (p != NULL && strstr(p, part) != NULL) {
            n++;
        }
    }
    json_decref(all);
    return n;
}

static double metric(const char *series)
{
    size_t len = 0;
    char *t = pg_metrics_render(g_metrics, &len);
    size_t n = strlen(series);
    double v = -1;

    for (const char *p = t; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    pg_free(t);
    return v;
}

static int is_pinned(const struct pull *p, const char *repo)
{
    char want[256];

    snprintf(want, sizeof(want), "%s/%s@%s", g_fx.host1, repo, g_digest);
    return p->verdict == PG_PULL_ALLOW_REWRITTEN && strcmp(p->image, want) == 0;
}

static void signed_image_is_allowed_then_cached(void)
{
    struct pull p;

    REQUIRE(begin(g_good, PG_MODE_ENFORCE) == 0);
    p = pull("app:v1", NULL, NULL);
    CHECK(is_pinned(&p, "app"));
    CHECK(requests("/blobs/") == 1 && requests("/referrers/") == 1);
    p = pull("app:v1", NULL, NULL);
    CHECK(is_pinned(&p, "app"));
    CHECK(requests("/manifests/v1") == 2); /* the tag is resolved every time */
    CHECK(requests("/blobs/") == 1 && requests("/referrers/") == 1);
    p = pull("app@", NULL, NULL); /* malformed: refused before the registry */
    CHECK(p.verdict == PG_PULL_DENY);
    CHECK(metric("pullgate_cache_hits_total") == 1);
    CHECK(metric("pullgate_cache_misses_total") == 1);
    CHECK(metric("pullgate_pulls_total{outcome=\"allow\",reason=\"ok\"}") == 2);
    CHECK(metric("pullgate_pulls_total{outcome=\"deny\",reason=\"invalid_reference\"}") == 1);
    CHECK(metric("pullgate_verification_duration_seconds_count") == 3);
    end();
}

/* A PullImageRequest whose ImageSpec.image is the n bytes of image, NULs kept. */
static size_t raw_request(unsigned char *buf, const char *image, size_t n, int times)
{
    size_t o = 0;

    buf[o++] = 0x0a; /* field 1, ImageSpec */
    buf[o++] = (unsigned char)((n + 2) * (size_t)times);
    for (int i = 0; i < times; i++) {
        buf[o++] = 0x0a; /* field 1, image */
        buf[o++] = (unsigned char)n;
        memcpy(buf + o, image, n);
        o += n;
    }
    return o;
}

static void image_names_with_nul_or_twice_are_refused(void)
{
    unsigned char buf[512];
    char image[200];
    struct pull p;
    int n;

    REQUIRE(begin(g_good, PG_MODE_ENFORCE) == 0);
    n = snprintf(image, sizeof(image), "%s/app:v1", g_fx.host1);
    REQUIRE(n > 0 && n < 100);
    p = pull_bytes(buf, raw_request(buf, image, (size_t)n, 1));
    CHECK(is_pinned(&p, "app")); /* the raw form itself is accepted */
    memcpy(image + n, "\0/../x", 7);
    p = pull_bytes(buf, raw_request(buf, image, (size_t)n + 7, 1));
    CHECK(p.verdict == PG_PULL_DENY && strstr(p.message, "NUL") != NULL);
    p = pull_bytes(buf, raw_request(buf, image, (size_t)n, 2));
    CHECK(p.verdict == PG_PULL_DENY && strstr(p.message, "more than once") != NULL);
    end();
}

static void refusal_is_remembered_briefly(void)
{
    struct pull p;

    REQUIRE(begin(g_good, PG_MODE_ENFORCE) == 0);
    p = pull("app:unsigned", NULL, NULL);
    CHECK(p.verdict == PG_PULL_DENY);
    CHECK(strstr(p.message, "SignatureValidationFailed: no_signature") == p.message);
    CHECK(requests("/referrers/") == 1);
    p = pull("app:unsigned", NULL, NULL);
    CHECK(p.verdict == PG_PULL_DENY);
    CHECK(strstr(p.message, "no_signature") != NULL);
    CHECK(requests("/referrers/") == 1); /* answered from the cache */
    usleep((useconds_t)(g_negative_ttl_ms + 100) * 1000);
    p = pull("app:unsigned", NULL, NULL);
    CHECK(p.verdict == PG_PULL_DENY);
    CHECK(requests("/referrers/") == 2); /* looked again: a signature may have come */
    CHECK(metric("pullgate_pulls_total{outcome=\"deny\",reason=\"no_signature\"}") == 3);
    CHECK(metric("pullgate_cache_hits_total") == 1);
    end();
}

/* notation stops at a signature it cannot retrieve; a valid one after it is not looked at. */
static void unretrievable_signature_stops_verification(void)
{
    struct pull p;

    REQUIRE(begin(g_good, PG_MODE_ENFORCE) == 0);
    p = pull("gone:v1", NULL, NULL);
    CHECK(p.verdict == PG_PULL_DENY);
    CHECK(strstr(p.message, "cannot be retrieved") != NULL);
    CHECK(requests("/v2/gone/blobs/") == 0);
    end();
}

static void each_pull_resolves_with_its_own_credentials(void)
{
    struct pull p;

    REQUIRE(begin(g_good, PG_MODE_ENFORCE) == 0);
    p = pull("priv:v1", "user", "pass");
    CHECK(is_pinned(&p, "priv"));
    p = pull("priv:v1", NULL, NULL); /* same digest is cached, but this pod may not read it */
    CHECK(p.verdict == PG_PULL_DENY);
    CHECK(strstr(p.message, "registry_auth_failed") != NULL);
    p = pull("priv:v1", "user", "wrong");
    CHECK(p.verdict == PG_PULL_DENY);
    p = pull("priv:v1", "user", "pass");
    CHECK(is_pinned(&p, "priv"));
    CHECK(requests("/blobs/") == 1);
    CHECK(metric("pullgate_cache_hits_total") == 1);
    CHECK(metric("pullgate_registry_errors_total{reason=\"registry_auth_failed\"}") == 2);
    end();
}

struct puller {
    atomic_int *stop;
    int allowed;
    int other;
};

static void *pull_loop(void *arg)
{
    struct puller *pl = arg;

    do {
        struct pull p = pull("app:v1", NULL, NULL);

        if (is_pinned(&p, "app")) {
            pl->allowed++;
        } else {
            pl->other++;
        }
    } while (!atomic_load(pl->stop));
    return NULL;
}

static void concurrent_pulls_verify_once(void)
{
    pthread_t th[8];
    struct puller pl[8];
    atomic_int stop = 1; /* one pull each */
    int allowed = 0;

    REQUIRE(begin(g_good, PG_MODE_ENFORCE) == 0);
    memset(pl, 0, sizeof(pl));
    for (int i = 0; i < 8; i++) {
        pl[i].stop = &stop;
        pthread_create(&th[i], NULL, pull_loop, &pl[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        allowed += pl[i].allowed;
    }
    CHECK(allowed == 8);
    CHECK(requests("/manifests/v1") == 8);
    CHECK(requests("/blobs/") == 1); /* one verification */
    CHECK(metric("pullgate_cache_misses_total") == 1);
    CHECK(metric("pullgate_cache_hits_total") == 7);
    end();
}

static void reload_swaps_generation_and_refuses_broken_policy(void)
{
    struct pg_enforce_options o;
    struct pg_err err;
    struct pull p;
    uint64_t gen;

    REQUIRE(begin(g_good, PG_MODE_ENFORCE) == 0);
    p = pull("app:v1", NULL, NULL);
    CHECK(is_pinned(&p, "app"));
    gen = pg_enforce_generation(g_enf);
    CHECK(gen != 0 && metric("pullgate_policy_generation") == (double)gen);
    options(&o, g_broken, PG_MODE_ENFORCE);
    pg_err_init(&err);
    CHECK(pg_enforce_reload(g_enf, &o, &err) == PG_ERR_POLICY_INVALID);
    CHECK(strstr(err.msg, "trustpolicy.json") != NULL);
    CHECK(pg_enforce_generation(g_enf) == gen);
    p = pull("app:v1", NULL, NULL); /* still deciding, from the cache of the running policy */
    CHECK(is_pinned(&p, "app"));
    CHECK(requests("/blobs/") == 1);
    options(&o, g_good, PG_MODE_ENFORCE);
    pg_err_init(&err);
    CHECK(pg_enforce_reload(g_enf, &o, &err) == PG_OK);
    CHECK(pg_enforce_generation(g_enf) > gen);
    CHECK(metric("pullgate_policy_generation") == (double)pg_enforce_generation(g_enf));
    p = pull("app:v1", NULL, NULL); /* a new generation verifies again */
    CHECK(is_pinned(&p, "app"));
    CHECK(requests("/blobs/") == 2);
    options(&o, g_skip, PG_MODE_ENFORCE);
    CHECK(pg_enforce_reload(g_enf, &o, &err) == PG_OK);
    p = pull("app:unsigned", NULL, NULL);
    CHECK(p.verdict == PG_PULL_ALLOW);
    CHECK(metric("pullgate_pulls_total{outcome=\"skip\",reason=\"ok\"}") == 1);
    end();
}

static void reloads_under_load_keep_deciding(void)
{
    pthread_t th[4];
    struct puller pl[4];
    atomic_int stop = 0;
    struct pg_enforce_options good;
    struct pg_enforce_options broken;
    struct pg_err err;
    int refused = 0;
    int allowed = 0;
    int other = 0;

    REQUIRE(begin(g_good, PG_MODE_ENFORCE) == 0);
    options(&good, g_good, PG_MODE_ENFORCE);
    options(&broken, g_broken, PG_MODE_ENFORCE);
    memset(pl, 0, sizeof(pl));
    for (int i = 0; i < 4; i++) {
        pl[i].stop = &stop;
        pthread_create(&th[i], NULL, pull_loop, &pl[i]);
    }
    for (int i = 0; i < 20; i++) {
        pg_err_init(&err);
        if (pg_enforce_reload(g_enf, i % 2 == 0 ? &broken : &good, &err) != PG_OK) {
            refused++;
        }
        usleep(20 * 1000);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        allowed += pl[i].allowed;
        other += pl[i].other;
    }
    CHECK(refused == 10);
    CHECK(allowed >= 4 && other == 0);
    /* Calls that began under an old generation verify without the cache, so
     * there is no exact count; but the cache keeps answering between reloads. */
    CHECK(requests("/blobs/") >= 1 && requests("/blobs/") < allowed);
    end();
}

static void dry_run_forwards_and_counts_would_deny(void)
{
    struct pull p;

    REQUIRE(begin(g_good, PG_MODE_DRY_RUN) == 0);
    p = pull("app:unsigned", NULL, NULL);
    CHECK(p.verdict == PG_PULL_ALLOW); /* forwarded unchanged */
    p = pull("app:v1", NULL, NULL);
    CHECK(p.verdict == PG_PULL_ALLOW); /* dry-run never rewrites */
    CHECK(metric("pullgate_pulls_total{outcome=\"would_deny\",reason=\"no_signature\"}") == 1);
    CHECK(metric("pullgate_pulls_total{outcome=\"allow\",reason=\"ok\"}") == 1);
    CHECK(metric("pullgate_pulls_total{outcome=\"deny\",reason=\"no_signature\"}") == -1);
    end();
}

static void missing_policy_refuses_until_reload(void)
{
    struct pg_enforce_options o;
    struct pg_err err;
    char *none = path_of("none");
    struct pull p;

    REQUIRE(begin(none, PG_MODE_ENFORCE) == 0);
    CHECK(pg_enforce_generation(g_enf) == 0 && metric("pullgate_policy_generation") == 0);
    p = pull("app:v1", NULL, NULL);
    CHECK(p.verdict == PG_PULL_DENY && strstr(p.message, "policy_missing") != NULL);
    options(&o, g_good, PG_MODE_ENFORCE);
    pg_err_init(&err);
    CHECK(pg_enforce_reload(g_enf, &o, &err) == PG_OK);
    p = pull("app:v1", NULL, NULL);
    CHECK(is_pinned(&p, "app"));
    end();
    pg_free(none);
}

int main(void)
{
    const char *build = getenv("PG_BUILD_DIR");
    int rc;

    pg_log_set_level(LOG_ERR);
    g_tmp = pg_check_tmpdir();
    g_tool = pg_asprintf("%s/tests/pg-testsign", build != NULL ? build : ".");
    if (g_tmp == NULL || g_tool == NULL || access(g_tool, X_OK) != 0 || setup() != 0) {
        fprintf(stderr, "needs PG_BUILD_DIR with tests/pg-testsign and pg-testregistry\n");
        return 1;
    }
    PG_RUN("a signed image is allowed, pinned, and then answered from the cache",
           signed_image_is_allowed_then_cached);
    PG_RUN("a refusal is remembered only for the negative ttl", refusal_is_remembered_briefly);
    PG_RUN("an image name with a NUL byte, or given twice, is refused",
           image_names_with_nul_or_twice_are_refused);
    PG_RUN("a signature that cannot be retrieved stops verification, as in notation",
           unretrievable_signature_stops_verification);
    PG_RUN("each pull resolves the tag with its own credentials before the cache",
           each_pull_resolves_with_its_own_credentials);
    PG_RUN("concurrent pulls of one image verify it once", concurrent_pulls_verify_once);
    PG_RUN("reload swaps the generation; a broken policy is refused and the old one decides",
           reload_swaps_generation_and_refuses_broken_policy);
    PG_RUN("pulls keep getting decisions during good and broken reloads",
           reloads_under_load_keep_deciding);
    PG_RUN("dry-run forwards refused pulls and counts them as would_deny",
           dry_run_forwards_and_counts_would_deny);
    PG_RUN("a missing policy refuses pulls until a reload loads one",
           missing_policy_refuses_until_reload);
    fx_stop(&g_fx);
    rc = pg_check_done();
    pg_check_rmtree(g_tmp);
    pg_free(g_tmp);
    pg_free(g_tool);
    pg_free(g_digest);
    pg_free(g_good);
    pg_free(g_skip);
    pg_free(g_broken);
    return rc;
}
