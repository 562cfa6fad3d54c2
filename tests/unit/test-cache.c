/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the verification cache (daemon/cache.c): bounds in entries and
 * bytes with LRU eviction, expiry by valid_until, ttl and negative ttl,
 * transient failures never kept, generations, single flight under
 * concurrent lookups with the followers' own deadlines, and out of memory.
 * Clocks are the test's own so expiry needs no sleeping.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "check.h"
#include "mem.h"

#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define REPO "reg.example/team/app"
#define WALL0 1800000000LL

static _Atomic int64_t g_mono = 1000;
static _Atomic int64_t g_wall = WALL0;

static int64_t fake_mono(void)
{
    return atomic_load(&g_mono);
}

static int64_t fake_wall(void)
{
    return atomic_load(&g_wall);
}

static struct pg_cache_limits limits(size_t entries, size_t bytes)
{
    struct pg_cache_limits l = {
        .max_entries = entries,
        .max_bytes = bytes,
        .ttl_ms = 600000,
        .negative_ttl_ms = 5000,
        .now_ms = fake_mono,
        .wall_s = fake_wall,
    };

    atomic_store(&g_mono, 1000);
    atomic_store(&g_wall, WALL0);
    return l;
}

static struct pg_cache *make(size_t entries, size_t bytes)
{
    struct pg_cache_limits l = limits(entries, bytes);
    struct pg_cache *c = NULL;
    struct pg_err err;

    pg_err_init(&err);
    if (pg_cache_new(&l, &c, &err) != PG_OK) {
        return NULL;
    }
    pg_cache_set_generation(c, 1);
    return c;
}

static struct pg_cache_answer allowed(int64_t valid_until)
{
    struct pg_cache_answer a;

    memset(&a, 0, sizeof(a));
    a.is_allowed = 1;
    a.valid_until = valid_until;
    return a;
}

static struct pg_cache_answer refused(enum pg_status why, const char *msg)
{
    struct pg_cache_answer a;

    memset(&a, 0, sizeof(a));
    a.reason = why;
    snprintf(a.message, sizeof(a.message), "%s", msg);
    return a;
}

/* Looks up (gen, repo, digest); on a miss, finishes the flight with answer. */
static int lookup_or_put(struct pg_cache *c, uint64_t gen, const char *repo, const char *digest,
                         const struct pg_cache_answer *answer, struct pg_cache_answer *out)
{
    struct pg_cache_flight *f = NULL;
    struct pg_err err;
    int is_hit = 0;

    pg_err_init(&err);
    if (pg_cache_lookup(c, gen, repo, digest, NULL, &is_hit, out, &f, &err) != PG_OK) {
        return -1;
    }
    if (!is_hit) {
        pg_cache_finish(c, f, answer);
    }
    return is_hit;
}

static int is_hit(struct pg_cache *c, uint64_t gen, const char *repo, const char *digest)
{
    struct pg_cache_answer out;
    struct pg_cache_answer none = refused(PG_ERR_REGISTRY, "registry down");

    return lookup_or_put(c, gen, repo, digest, &none, &out) == 1;
}

static void allowed_answer_is_remembered(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = allowed(WALL0 + 3600);
    struct pg_cache_answer out;
    struct pg_cache_stats st;

    REQUIRE(c != NULL);
    CHECK(lookup_or_put(c, 1, REPO, DIGEST_A, &a, &out) == 0);
    memset(&out, 0, sizeof(out));
    CHECK(lookup_or_put(c, 1, REPO, DIGEST_A, &a, &out) == 1);
    CHECK(out.is_allowed == 1 && out.reason == PG_OK && out.valid_until == WALL0 + 3600);
    CHECK(!is_hit(c, 1, REPO, DIGEST_B));
    CHECK(!is_hit(c, 1, "reg.example/other", DIGEST_A));
    pg_cache_get_stats(c, &st);
    CHECK(st.entries == 1 && st.hits == 1 && st.misses == 3 && st.pending == 0);
    pg_cache_free(c);
}

static void entries_are_bounded_lru(void)
{
    struct pg_cache *c = make(3, 1 << 20);
    struct pg_cache_answer a = allowed(0);
    struct pg_cache_answer out;
    struct pg_cache_stats st;
    char repo[64];

    REQUIRE(c != NULL);
    for (int i = 0; i < 3; i++) {
        snprintf(repo, sizeof(repo), "reg.example/r%d", i);
        CHECK(lookup_or_put(c, 1, repo, DIGEST_A, &a, &out) == 0);
    }
    CHECK(is_hit(c, 1, "reg.example/r0", DIGEST_A)); /* r0 is now the most recent */
    CHECK(lookup_or_put(c, 1, "reg.example/r3", DIGEST_A, &a, &out) == 0);
    pg_cache_get_stats(c, &st);
    CHECK(st.entries == 3 && st.evictions == 1);
    CHECK(!is_hit(c, 1, "reg.example/r1", DIGEST_A)); /* the least recent went */
    CHECK(is_hit(c, 1, "reg.example/r0", DIGEST_A));
    CHECK(is_hit(c, 1, "reg.example/r3", DIGEST_A));
    pg_cache_free(c);
}

static void bytes_are_bounded(void)
{
    struct pg_cache *c = make(1000, 1 << 20);
    struct pg_cache_answer a = allowed(0);
    struct pg_cache_answer out;
    struct pg_cache_stats st;
    size_t one;
    char repo[64];

    /* Learn what one entry costs with a generous bound, then allow 2.5 of them. */
    REQUIRE(c != NULL);
    CHECK(lookup_or_put(c, 1, "reg.example/r0", DIGEST_A, &a, &out) == 0);
    pg_cache_get_stats(c, &st);
    one = st.bytes;
    CHECK(one > strlen("reg.example/r0") + strlen(DIGEST_A));
    pg_cache_free(c);
    c = make(1000, one * 5 / 2);
    REQUIRE(c != NULL);
    for (int i = 0; i < 10; i++) {
        snprintf(repo, sizeof(repo), "reg.example/r%d", i);
        CHECK(lookup_or_put(c, 1, repo, DIGEST_A, &a, &out) == 0);
        pg_cache_get_stats(c, &st);
        CHECK(st.bytes <= one * 5 / 2);
    }
    CHECK(st.entries == 2 && st.evictions == 8);
    CHECK(is_hit(c, 1, "reg.example/r9", DIGEST_A) && is_hit(c, 1, "reg.example/r8", DIGEST_A));
    CHECK(!is_hit(c, 1, "reg.example/r7", DIGEST_A));
    pg_cache_free(c);
}

static void shrinking_limits_evicts(void)
{
    struct pg_cache *c = make(10, 1 << 20);
    struct pg_cache_limits l = limits(2, 1 << 20);
    struct pg_cache_answer a = allowed(0);
    struct pg_cache_answer out;
    struct pg_cache_stats st;
    char repo[64];

    REQUIRE(c != NULL);
    for (int i = 0; i < 5; i++) {
        snprintf(repo, sizeof(repo), "reg.example/r%d", i);
        lookup_or_put(c, 1, repo, DIGEST_A, &a, &out);
    }
    pg_cache_set_limits(c, &l);
    pg_cache_get_stats(c, &st);
    CHECK(st.entries == 2);
    l.max_entries = 0; /* off */
    pg_cache_set_limits(c, &l);
    pg_cache_get_stats(c, &st);
    CHECK(st.entries == 0);
    CHECK(lookup_or_put(c, 1, REPO, DIGEST_A, &a, &out) == 0);
    CHECK(!is_hit(c, 1, REPO, DIGEST_A));
    pg_cache_free(c);
}

static void valid_until_ends_an_entry(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = allowed(WALL0 + 30);
    struct pg_cache_answer out;

    REQUIRE(c != NULL);
    lookup_or_put(c, 1, REPO, DIGEST_A, &a, &out);
    atomic_fetch_add(&g_wall, 29);
    CHECK(is_hit(c, 1, REPO, DIGEST_A));
    atomic_fetch_add(&g_wall, 1);
    CHECK(!is_hit(c, 1, REPO, DIGEST_A));
    /* The monotonic bound holds too when the wall clock is set back. */
    a = allowed(fake_wall() + 30);
    lookup_or_put(c, 1, REPO, DIGEST_B, &a, &out);
    atomic_fetch_sub(&g_wall, 1000);
    atomic_fetch_add(&g_mono, 30000);
    CHECK(!is_hit(c, 1, REPO, DIGEST_B));
    pg_cache_free(c);
}

static void stale_valid_until_is_not_kept(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = allowed(WALL0 - 1); /* a logged check failed */
    struct pg_cache_answer out;

    REQUIRE(c != NULL);
    CHECK(lookup_or_put(c, 1, REPO, DIGEST_A, &a, &out) == 0);
    CHECK(!is_hit(c, 1, REPO, DIGEST_A));
    pg_cache_free(c);
}

static void ttl_ends_an_entry(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = allowed(WALL0 + 86400);
    struct pg_cache_answer out;

    REQUIRE(c != NULL);
    lookup_or_put(c, 1, REPO, DIGEST_A, &a, &out);
    atomic_fetch_add(&g_mono, 600000 - 1);
    CHECK(is_hit(c, 1, REPO, DIGEST_A));
    atomic_fetch_add(&g_mono, 1);
    CHECK(!is_hit(c, 1, REPO, DIGEST_A));
    pg_cache_free(c);
}

static void refusal_is_kept_briefly(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = refused(PG_ERR_NO_SIGNATURE, "no signature is associated");
    struct pg_cache_answer out;

    REQUIRE(c != NULL);
    lookup_or_put(c, 1, REPO, DIGEST_A, &a, &out);
    memset(&out, 0, sizeof(out));
    atomic_fetch_add(&g_mono, 4999);
    CHECK(lookup_or_put(c, 1, REPO, DIGEST_A, &a, &out) == 1);
    CHECK(out.is_allowed == 0 && out.reason == PG_ERR_NO_SIGNATURE);
    CHECK(strcmp(out.message, "no signature is associated") == 0);
    atomic_fetch_add(&g_mono, 1);
    CHECK(!is_hit(c, 1, REPO, DIGEST_A)); /* signed meanwhile: the next retry verifies */
    pg_cache_free(c);
}

static void transient_failures_are_not_kept(void)
{
    static const enum pg_status transient[] = {
        PG_ERR_REGISTRY, PG_ERR_REGISTRY_AUTH, PG_ERR_TIMEOUT, PG_ERR_CANCELLED, PG_ERR_TLS,
        PG_ERR_NOMEM,    PG_ERR_NOT_FOUND,     PG_ERR_IO,      PG_ERR_INTERNAL,
    };
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer out;

    REQUIRE(c != NULL);
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
        struct pg_cache_answer a = refused(transient[i], "transient");

        CHECK(lookup_or_put(c, 1, REPO, DIGEST_A, &a, &out) == 0);
        CHECK(!is_hit(c, 1, REPO, DIGEST_A));
    }
    CHECK(lookup_or_put(c, 1, REPO, DIGEST_A, NULL, &out) == 0); /* no answer at all */
    CHECK(!is_hit(c, 1, REPO, DIGEST_A));
    pg_cache_free(c);
}

static void new_generation_drops_entries(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = allowed(0);
    struct pg_cache_answer out;
    struct pg_cache_flight *f = NULL;
    struct pg_cache_stats st;
    struct pg_err err;
    int hit = 0;

    REQUIRE(c != NULL);
    lookup_or_put(c, 1, REPO, DIGEST_A, &a, &out);
    CHECK(is_hit(c, 1, REPO, DIGEST_A));
    /* A verification under generation 1 is running when generation 2 comes. */
    pg_err_init(&err);
    CHECK(pg_cache_lookup(c, 1, REPO, DIGEST_B, NULL, &hit, &out, &f, &err) == PG_OK && !hit);
    CHECK(f != NULL);
    pg_cache_set_generation(c, 2);
    pg_cache_get_stats(c, &st);
    CHECK(st.entries == 0 && st.pending == 1);
    pg_cache_finish(c, f, &a); /* its answer is not kept */
    pg_cache_get_stats(c, &st);
    CHECK(st.entries == 0 && st.pending == 0);
    CHECK(!is_hit(c, 2, REPO, DIGEST_A));
    CHECK(!is_hit(c, 1, REPO, DIGEST_A));
    lookup_or_put(c, 2, REPO, DIGEST_A, &a, &out);
    CHECK(is_hit(c, 2, REPO, DIGEST_A));
    CHECK(!is_hit(c, 1, REPO, DIGEST_A)); /* old calls bypass the cache */
    pg_cache_free(c);
}

/* ------------------------------------------------------------ single flight */

struct racer {
    struct pg_cache *cache;
    const struct pg_cache_answer *answer;
    atomic_int *verifications;
    atomic_int *go;
    int64_t deadline_ms; /* 0: none */
    atomic_int cancelled;
    int is_hit;
    enum pg_status rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct pg_cache_answer out;
    struct pg_cache_flight *f = NULL;
    struct pg_deadline dl = {.at_ms = r->deadline_ms, .cancelled = &r->cancelled};
    struct pg_err err;

    while (!atomic_load(r->go)) {
        usleep(100);
    }
    pg_err_init(&err);
    r->rc = pg_cache_lookup(r->cache, 1, REPO, DIGEST_A, &dl, &r->is_hit, &out, &f, &err);
    if (r->rc == PG_OK && !r->is_hit) {
        atomic_fetch_add(r->verifications, 1);
        usleep(200 * 1000); /* the verification */
        pg_cache_finish(r->cache, f, r->answer);
    }
    return NULL;
}

static int run_racers(struct pg_cache *c, const struct pg_cache_answer *a, int n, struct racer *rs)
{
    pthread_t th[32];
    atomic_int verifications = 0;
    atomic_int go = 0;

    for (int i = 0; i < n; i++) {
        rs[i].cache = c;
        rs[i].answer = a;
        rs[i].verifications = &verifications;
        rs[i].go = &go;
        pthread_create(&th[i], NULL, race, &rs[i]);
    }
    atomic_store(&go, 1);
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
    }
    return atomic_load(&verifications);
}

static void concurrent_lookups_verify_once(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = allowed(0);
    struct racer rs[16];
    int hits = 0;

    REQUIRE(c != NULL);
    memset(rs, 0, sizeof(rs));
    CHECK(run_racers(c, &a, 16, rs) == 1);
    for (int i = 0; i < 16; i++) {
        CHECK(rs[i].rc == PG_OK);
        hits += rs[i].is_hit;
    }
    CHECK(hits == 15);
    pg_cache_free(c);
}

static void concurrent_refusals_verify_once(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = refused(PG_ERR_SIG_AUTHENTICITY, "untrusted");
    struct racer rs[8];

    REQUIRE(c != NULL);
    memset(rs, 0, sizeof(rs));
    CHECK(run_racers(c, &a, 8, rs) == 1);
    pg_cache_free(c);
}

static void transient_failure_lets_followers_retry(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = refused(PG_ERR_REGISTRY, "registry down");
    struct racer rs[4];
    int n;

    REQUIRE(c != NULL);
    memset(rs, 0, sizeof(rs));
    n = run_racers(c, &a, 4, rs); /* nobody rides on a failure: each verifies */
    CHECK(n == 4);
    pg_cache_free(c);
}

static void follower_keeps_its_own_deadline(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = allowed(0);
    struct pg_cache_answer out;
    struct pg_cache_flight *lead = NULL;
    struct pg_cache_flight *f = NULL;
    struct pg_deadline dl = {.at_ms = pg_now_ms() + 100, .cancelled = NULL};
    atomic_int cancelled = 1;
    struct pg_err err;
    int64_t t0;
    int hit = 0;

    REQUIRE(c != NULL);
    pg_err_init(&err);
    REQUIRE(pg_cache_lookup(c, 1, REPO, DIGEST_A, NULL, &hit, &out, &lead, &err) == PG_OK);
    REQUIRE(lead != NULL);
    t0 = pg_now_ms();
    CHECK(pg_cache_lookup(c, 1, REPO, DIGEST_A, &dl, &hit, &out, &f, &err) == PG_ERR_TIMEOUT);
    CHECK(pg_now_ms() - t0 >= 90 && pg_now_ms() - t0 < 2000);
    CHECK(f == NULL && strstr(err.msg, "timed out") != NULL);
    pg_err_init(&err);
    dl.at_ms = 0;
    dl.cancelled = &cancelled;
    CHECK(pg_cache_lookup(c, 1, REPO, DIGEST_A, &dl, &hit, &out, &f, &err) == PG_ERR_CANCELLED);
    pg_cache_finish(c, lead, &a);
    CHECK(is_hit(c, 1, REPO, DIGEST_A));
    pg_cache_free(c);
}

static void out_of_memory_is_a_plain_miss(void)
{
    struct pg_cache *c = make(16, 1 << 20);
    struct pg_cache_answer a = refused(PG_ERR_SIG_EXPIRED, "expired");
    struct pg_cache_answer out;
    struct pg_cache_flight *f = NULL;
    struct pg_err err;
    int hit = 1;

    REQUIRE(c != NULL);
    pg_err_init(&err);
    for (long n = 0; n < 4; n++) {
        pg_mem_fail_after(n);
        CHECK(pg_cache_lookup(c, 1, REPO, DIGEST_A, NULL, &hit, &out, &f, &err) == PG_OK);
        CHECK(hit == 0);
        pg_cache_finish(c, f, &a); /* keeping may fail too: then nothing is kept */
        pg_mem_fail_after(-1);
        f = NULL;
        if (is_hit(c, 1, REPO, DIGEST_A)) {
            break;
        }
    }
    pg_mem_fail_after(-1);
    CHECK(is_hit(c, 1, REPO, DIGEST_A));
    pg_cache_free(c);
}

int main(void)
{
    PG_RUN("an allowed answer is remembered per repository and digest",
           allowed_answer_is_remembered);
    PG_RUN("entries are bounded, least recently used evicted first", entries_are_bounded_lru);
    PG_RUN("memory is bounded by cache_max_bytes", bytes_are_bounded);
    PG_RUN("lower limits evict at once; zero entries turns the cache off", shrinking_limits_evicts);
    PG_RUN("an allowed entry ends at the decision's valid_until", valid_until_ends_an_entry);
    PG_RUN("an answer already past valid_until is not kept", stale_valid_until_is_not_kept);
    PG_RUN("an allowed entry ends after cache_ttl_ms", ttl_ends_an_entry);
    PG_RUN("a refusal is kept only for cache_negative_ttl_ms", refusal_is_kept_briefly);
    PG_RUN("transient failures are never kept", transient_failures_are_not_kept);
    PG_RUN("a new generation drops old entries and old answers", new_generation_drops_entries);
    PG_RUN("concurrent lookups of one key verify once", concurrent_lookups_verify_once);
    PG_RUN("concurrent lookups share a definite refusal", concurrent_refusals_verify_once);
    PG_RUN("after a transient failure followers verify themselves",
           transient_failure_lets_followers_retry);
    PG_RUN("a waiting lookup keeps its own deadline and cancel flag",
           follower_keeps_its_own_deadline);
    PG_RUN("out of memory is a plain miss", out_of_memory_is_a_plain_miss);
    return pg_check_done();
}
