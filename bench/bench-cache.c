/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-cache: what the verification cache saves and costs. Runs the
 * PullImage pre-hook in process against a real registry: cold (a reload
 * before each pull empties the cache) and warm (repeated pulls answered from
 * the cache; the tag is still resolved each time), the cache lookup alone,
 * and resident memory idle and after many calls, side by side with the goals.
 *
 *   bench-cache --notation-dir DIR --plain-http HOST[:PORT] [--runs N]
 *               [--calls N] IMAGE
 *
 * bench/bench-cache.sh prepares a registry, a signed image and a policy.
 * Exit code: 0 when the goals are met, 3 when one is missed, 1 on an error.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "cri_v1.pb-c.h"
#include "enforce.h"
#include "log.h"
#include "mem.h"

#define GOAL_LOOKUP_US 100.0 /* the cache path itself: under 0.1 ms */
#define GOAL_RSS_GROWTH_KIB (4 * 1024)
#define LOOKUP_ENTRIES 4096
#define MAX_RUNS 100000

struct opts {
    const char *notation_dir;
    const char *plain_http;
    const char *image;
    int runs;
    int calls;
};

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[(int)((n - 1) * p)];
}

/* One pre-hook call on a PullImage for image; returns its verdict. */
static int pull(const struct pg_pull_hooks *h, const char *image)
{
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    struct pg_pull_decision d;
    struct pg_pull_ctx ctx;
    atomic_int cancelled = 0;
    unsigned char buf[1024];

    spec.image = (char *)image;
    req.image = &spec;
    memset(&ctx, 0, sizeof(ctx));
    memset(&d, 0, sizeof(d));
    ctx.method = "/runtime.v1.ImageService/PullImage";
    ctx.api_version = "v1";
    ctx.request = buf;
    ctx.request_len = runtime__v1__pull_image_request__pack(&req, buf);
    ctx.cancelled = &cancelled;
    ctx.user = h->user;
    h->pre(&ctx, &d);
    pg_free(d.rewritten);
    if (ctx.state != NULL) {
        h->release(&ctx);
    }
    return d.verdict;
}

static void enforce_options(const struct opts *o, const char *const *hosts,
                            struct pg_enforce_options *eo)
{
    memset(eo, 0, sizeof(*eo));
    eo->notation_dir = o->notation_dir;
    eo->upstream_path = "/nonexistent/containerd.sock";
    eo->registry.plain_http_hosts = hosts;
    eo->registry.n_plain_http_hosts = 1;
    eo->verify_timeout_ms = 30000;
    eo->mode = PG_MODE_ENFORCE;
    eo->cache.max_entries = PG_CACHE_DEFAULT_MAX_ENTRIES;
    eo->cache.max_bytes = PG_CACHE_DEFAULT_MAX_BYTES;
    eo->cache.ttl_ms = PG_CACHE_DEFAULT_TTL_MS;
    eo->cache.negative_ttl_ms = PG_CACHE_DEFAULT_NEGATIVE_TTL_MS;
}

/* p50 and p99 of the pre-hook, cold (reload first) or warm. */
static int time_hook(struct pg_enforcer *e, const struct pg_enforce_options *eo,
                     const struct opts *o, int cold, double out[2])
{
    struct pg_pull_hooks h;
    double *t = pg_calloc((size_t)o->runs, sizeof(*t));
    struct pg_err err;

    if (t == NULL) {
        return -1;
    }
    pg_enforce_hooks(e, &h);
    for (int i = 0; i < o->runs; i++) {
        double t0;

        pg_err_init(&err);
        if (cold && pg_enforce_reload(e, eo, &err) != PG_OK) {
            fprintf(stderr, "bench-cache: reload: %s\n", err.msg);
            pg_free(t);
            return -1;
        }
        t0 = now_us();
        if (pull(&h, o->image) != PG_PULL_ALLOW_REWRITTEN) {
            fprintf(stderr, "bench-cache: %s was not allowed (see the decision line)\n", o->image);
            pg_free(t);
            return -1;
        }
        t[i] = now_us() - t0;
    }
    out[0] = pct(t, o->runs, 0.50);
    out[1] = pct(t, o->runs, 0.99);
    pg_free(t);
    return 0;
}

/* p50 and p99 of a cache hit among LOOKUP_ENTRIES entries. */
static int time_lookup(int runs, double out[2])
{
    struct pg_cache_limits l = {
        LOOKUP_ENTRIES, PG_CACHE_DEFAULT_MAX_BYTES, PG_CACHE_DEFAULT_TTL_MS, 5000, NULL, NULL};
    struct pg_cache_answer a = {.is_allowed = 1};
    struct pg_cache_answer got;
    struct pg_cache *c = NULL;
    struct pg_cache_flight *f = NULL;
    double *t = pg_calloc((size_t)runs, sizeof(*t));
    char repo[64];
    struct pg_err err;
    int hit = 0;

    pg_err_init(&err);
    if (t == NULL || pg_cache_new(&l, &c, &err) != PG_OK) {
        pg_free(t);
        return -1;
    }
    pg_cache_set_generation(c, 1);
    for (int i = 0; i < LOOKUP_ENTRIES; i++) {
        snprintf(repo, sizeof(repo), "registry.example/team/app%d", i);
        pg_cache_lookup(c, 1, repo, "sha256:0123456789abcdef", NULL, &hit, &got, &f, &err);
        pg_cache_finish(c, f, &a);
    }
    for (int i = 0; i < runs; i++) {
        double t0;

        snprintf(repo, sizeof(repo), "registry.example/team/app%d", i % LOOKUP_ENTRIES);
        t0 = now_us();
        pg_cache_lookup(c, 1, repo, "sha256:0123456789abcdef", NULL, &hit, &got, &f, &err);
        t[i] = now_us() - t0;
    }
    out[0] = pct(t, runs, 0.50);
    out[1] = pct(t, runs, 0.99);
    pg_free(t);
    pg_cache_free(c);
    return hit ? 0 : -1;
}

static int parse(int argc, char **argv, struct opts *o)
{
    o->runs = 50;
    o->calls = 100000;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(argv[i], "--notation-dir") == 0 && v != NULL) {
            o->notation_dir = argv[++i];
        } else if (strcmp(argv[i], "--plain-http") == 0 && v != NULL) {
            o->plain_http = argv[++i];
        } else if (strcmp(argv[i], "--runs") == 0 && v != NULL) {
            o->runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--calls") == 0 && v != NULL) {
            o->calls = atoi(argv[++i]);
        } else if (argv[i][0] != '-' && o->image == NULL) {
            o->image = argv[i];
        } else {
            return -1;
        }
    }
    return o->notation_dir != NULL && o->plain_http != NULL && o->image != NULL && o->runs > 0 &&
                   o->runs <= MAX_RUNS && o->calls > 0
               ? 0
               : -1;
}

/* The 100,000 calls, warm; returns the RSS afterwards. */
static long many_calls(struct pg_enforcer *e, const struct opts *o)
{
    struct pg_pull_hooks h;

    pg_enforce_hooks(e, &h);
    for (int i = 0; i < o->calls; i++) {
        pull(&h, o->image);
    }
    return rss_kib();
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    struct pg_enforce_options eo;
    struct pg_enforcer *e = NULL;
    const char *hosts[1];
    double cold[2], warm[2], look[2];
    long idle;
    long busy;
    struct pg_err err;
    int missed = 0;

    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: bench-cache --notation-dir DIR --plain-http HOST[:PORT] "
                        "[--runs N] [--calls N] IMAGE\n");
        return 1;
    }
    pg_log_set_level(LOG_ERR);
    hosts[0] = o.plain_http;
    enforce_options(&o, hosts, &eo);
    pg_err_init(&err);
    if (pg_enforce_new(&eo, &e, &err) != PG_OK) {
        fprintf(stderr, "bench-cache: %s\n", err.msg);
        return 1;
    }
    if (time_hook(e, &eo, &o, 1, cold) != 0 || time_lookup(1000000, look) != 0) {
        pg_enforce_free(e);
        return 1;
    }
    idle = rss_kib();
    if (time_hook(e, &eo, &o, 0, warm) != 0) {
        pg_enforce_free(e);
        return 1;
    }
    busy = many_calls(e, &o);
    pg_enforce_free(e);
    missed |= look[1] >= GOAL_LOOKUP_US;
    missed |= busy - idle > GOAL_RSS_GROWTH_KIB;
    printf("%-44s %12s %12s %14s\n", "measure", "p50", "p99", "goal");
    printf("%-44s %10.1f us %9.1f us %14s\n", "pre-hook, cold cache (resolve + verify)", cold[0],
           cold[1], "-");
    printf("%-44s %10.1f us %9.1f us %14s\n", "pre-hook, warm cache (resolve + cache)", warm[0],
           warm[1], "-");
    printf("%-44s %10.1f us %9.1f us %14s\n", "saved by the cache per repeated pull",
           cold[0] - warm[0], cold[1] - warm[1], "-");
    printf("%-44s %10.2f us %9.2f us %11.0f us\n", "cache path itself (lookup hit, 4096 entries)",
           look[0], look[1], GOAL_LOOKUP_US);
    printf("%-44s %12ld KiB\n", "RSS idle (enforcer loaded, cache warm)", idle);
    printf("%-44s %12ld KiB %27s\n", "RSS after the calls below", busy, "-");
    printf("%-44s %12ld KiB %22d KiB\n", "RSS growth after calls", busy - idle,
           GOAL_RSS_GROWTH_KIB);
    printf("calls: %d warm pre-hook calls on %s\n", o.calls, o.image);
    printf("%s\n", missed ? "a goal was missed" : "every goal met");
    return missed ? 3 : 0;
}
