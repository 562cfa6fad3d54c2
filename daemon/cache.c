/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verification cache: a chained hash table of flights keyed by (trust
 * generation, repository, digest) and an LRU list of the kept answers, all
 * behind one mutex. A flight is pending while its leader verifies; other
 * lookups of the key wait on a condition variable, each with its own
 * deadline, and then read the kept answer or lead a new flight. How a
 * decision is reached is the verifier's business; enforce.c drives this.
 */
#include "cache.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mem.h"

#define INITIAL_BUCKETS 64
#define WAIT_SLICE_MS 50 /* a waiter polls its cancelled flag this often */

/* One key: a running verification (pending), then its kept answer. */
struct pg_cache_flight {
    struct pg_cache_flight *hnext; /* hash chain */
    struct pg_cache_flight *prev;  /* LRU list, most recent first; kept only */
    struct pg_cache_flight *next;
    uint64_t hash;
    uint64_t generation;
    char *repository; /* one allocation: repository NUL digest NUL */
    const char *digest;
    int is_pending;
    int is_allowed;
    enum pg_status reason;
    int64_t valid_until;
    int64_t expires_ms;
    char *message; /* refusals only */
    size_t bytes;
};

struct pg_cache {
    pthread_mutex_t lock;
    pthread_cond_t done; /* a flight ended or the generation changed */
    struct pg_cache_limits limits;
    uint64_t generation;
    struct pg_cache_flight **buckets;
    size_t n_buckets; /* a power of two */
    size_t n_flights; /* in the table, pending included */
    struct pg_cache_flight *lru_head;
    struct pg_cache_flight *lru_tail;
    size_t n_kept;
    size_t bytes;
    size_t n_pending;
    uint64_t hits;
    uint64_t misses;
    uint64_t evictions;
};

static int64_t mono_now_ms(const struct pg_cache *c)
{
    return c->limits.now_ms != NULL ? c->limits.now_ms() : pg_now_ms();
}

static int64_t wall_now_s(const struct pg_cache *c)
{
    return c->limits.wall_s != NULL ? c->limits.wall_s() : (int64_t)time(NULL);
}

static uint64_t hash_key(uint64_t generation, const char *repository, const char *digest)
{
    uint64_t h = 1469598103934665603ULL;
    const char *parts[2] = {repository, digest};

    for (int i = 0; i < 8; i++) {
        h = (h ^ ((generation >> (8 * i)) & 0xff)) * 1099511628211ULL;
    }
    for (int p = 0; p < 2; p++) {
        for (const char *s = parts[p]; *s != '\0'; s++) {
            h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        }
        h = (h ^ 0xff) * 1099511628211ULL; /* a separator no name contains */
    }
    return h;
}

static struct pg_cache_flight *find(const struct pg_cache *c, uint64_t hash, uint64_t generation,
                                    const char *repository, const char *digest)
{
    struct pg_cache_flight *f = c->buckets[hash & (c->n_buckets - 1)];

    for (; f != NULL; f = f->hnext) {
        if (f->hash == hash && f->generation == generation &&
            strcmp(f->repository, repository) == 0 && strcmp(f->digest, digest) == 0) {
            return f;
        }
    }
    return NULL;
}

static void lru_unlink(struct pg_cache *c, struct pg_cache_flight *f)
{
    if (f->prev != NULL) {
        f->prev->next = f->next;
    } else {
        c->lru_head = f->next;
    }
    if (f->next != NULL) {
        f->next->prev = f->prev;
    } else {
        c->lru_tail = f->prev;
    }
    f->prev = NULL;
    f->next = NULL;
}

static void lru_push_front(struct pg_cache *c, struct pg_cache_flight *f)
{
    f->prev = NULL;
    f->next = c->lru_head;
    if (c->lru_head != NULL) {
        c->lru_head->prev = f;
    } else {
        c->lru_tail = f;
    }
    c->lru_head = f;
}

static void flight_free(struct pg_cache_flight *f)
{
    pg_free(f->repository);
    pg_free(f->message);
    pg_free(f);
}

/* Unlinks f from the table (and the LRU list when kept) and frees it. */
static void drop(struct pg_cache *c, struct pg_cache_flight *f)
{
    struct pg_cache_flight **pp = &c->buckets[f->hash & (c->n_buckets - 1)];

    while (*pp != f) {
        pp = &(*pp)->hnext;
    }
    *pp = f->hnext;
    c->n_flights--;
    if (f->is_pending) {
        c->n_pending--;
    } else {
        lru_unlink(c, f);
        c->n_kept--;
        c->bytes -= f->bytes;
    }
    flight_free(f);
}

static void evict_to_fit(struct pg_cache *c)
{
    while (c->lru_tail != NULL &&
           (c->n_kept > c->limits.max_entries || c->bytes > c->limits.max_bytes)) {
        drop(c, c->lru_tail);
        c->evictions++;
    }
}

/* Doubles the bucket array when the table gets full; keeps it on failure. */
static void maybe_grow(struct pg_cache *c)
{
    size_t n = c->n_buckets * 2;
    struct pg_cache_flight **b;

    if (c->n_flights < c->n_buckets) {
        return;
    }
    b = pg_calloc(n, sizeof(*b));
    if (b == NULL) {
        return; /* longer chains, still correct */
    }
    for (size_t i = 0; i < c->n_buckets; i++) {
        struct pg_cache_flight *f = c->buckets[i];

        while (f != NULL) {
            struct pg_cache_flight *next = f->hnext;

            f->hnext = b[f->hash & (n - 1)];
            b[f->hash & (n - 1)] = f;
            f = next;
        }
    }
    pg_free(c->buckets);
    c->buckets = b;
    c->n_buckets = n;
}

/* A new pending flight, or NULL when memory runs out. */
static struct pg_cache_flight *add_pending(struct pg_cache *c, uint64_t hash, uint64_t generation,
                                           const char *repository, const char *digest)
{
    size_t rlen = strlen(repository);
    size_t dlen = strlen(digest);
    struct pg_cache_flight *f = pg_calloc(1, sizeof(*f));

    if (f == NULL) {
        return NULL;
    }
    f->repository = pg_malloc(rlen + dlen + 2);
    if (f->repository == NULL) {
        pg_free(f);
        return NULL;
    }
    memcpy(f->repository, repository, rlen + 1);
    memcpy(f->repository + rlen + 1, digest, dlen + 1);
    f->digest = f->repository + rlen + 1;
    f->hash = hash;
    f->generation = generation;
    f->is_pending = 1;
    maybe_grow(c);
    f->hnext = c->buckets[hash & (c->n_buckets - 1)];
    c->buckets[hash & (c->n_buckets - 1)] = f;
    c->n_flights++;
    c->n_pending++;
    return f;
}

static int is_fresh(const struct pg_cache *c, const struct pg_cache_flight *f)
{
    if (mono_now_ms(c) >= f->expires_ms) {
        return 0;
    }
    return f->valid_until == 0 || wall_now_s(c) < f->valid_until;
}

static void copy_answer(const struct pg_cache_flight *f, struct pg_cache_answer *out)
{
    out->is_allowed = f->is_allowed;
    out->reason = f->reason;
    out->valid_until = f->valid_until;
    snprintf(out->message, sizeof(out->message), "%s", f->message != NULL ? f->message : "");
}

/* Waits a little for a flight to end: PG_OK, or the deadline's status. */
static enum pg_status wait_slice(struct pg_cache *c, const struct pg_deadline *dl,
                                 struct pg_err *err)
{
    int64_t left = dl != NULL ? pg_deadline_left_ms(dl) : -1;
    int64_t slice = WAIT_SLICE_MS;
    struct timespec ts;

    if (dl != NULL && dl->cancelled != NULL && atomic_load(dl->cancelled)) {
        return pg_err_set(err, PG_ERR_CANCELLED,
                          "cancelled while waiting for the same image's verification");
    }
    if (left == 0) {
        return pg_err_set(err, PG_ERR_TIMEOUT,
                          "timed out waiting for the same image's verification");
    }
    if (left > 0 && left < slice) {
        slice = left;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += slice / 1000;
    ts.tv_nsec += (long)(slice % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->done, &c->lock, &ts);
    return PG_OK;
}

static int64_t expiry_of(const struct pg_cache *c, const struct pg_cache_answer *a)
{
    int64_t now = mono_now_ms(c);
    int64_t at;

    if (!a->is_allowed) {
        if (!pg_cache_is_definite(a->reason) || c->limits.negative_ttl_ms <= 0) {
            return 0;
        }
        return now + c->limits.negative_ttl_ms;
    }
    if (c->limits.ttl_ms <= 0) {
        return 0;
    }
    at = now + c->limits.ttl_ms;
    if (a->valid_until != 0) {
        int64_t wall = wall_now_s(c);

        if (a->valid_until <= wall) {
            return 0; /* already stale: a logged check failed, or a clock moved */
        }
        if ((a->valid_until - wall) < (at - now) / 1000) {
            at = now + (a->valid_until - wall) * 1000;
        }
    }
    return at;
}

/* Turns pending f into a kept answer; 0 when it is not to be kept. */
static int keep(struct pg_cache *c, struct pg_cache_flight *f, const struct pg_cache_answer *a)
{
    int64_t expires = expiry_of(c, a);

    if (expires == 0 || f->generation != c->generation || c->limits.max_entries == 0) {
        return 0;
    }
    if (!a->is_allowed) {
        f->message = pg_strdup(a->message);
        if (f->message == NULL) {
            return 0;
        }
    }
    f->is_pending = 0;
    c->n_pending--;
    f->is_allowed = a->is_allowed;
    f->reason = a->is_allowed ? PG_OK : a->reason;
    f->valid_until = a->is_allowed ? a->valid_until : 0;
    f->expires_ms = expires;
    f->bytes = sizeof(*f) + strlen(f->repository) + strlen(f->digest) + 2 +
               (f->message != NULL ? strlen(f->message) + 1 : 0);
    c->n_kept++;
    c->bytes += f->bytes;
    lru_push_front(c, f);
    evict_to_fit(c);
    return 1;
}

int pg_cache_is_definite(enum pg_status reason)
{
    switch (reason) {
    case PG_ERR_NO_SIGNATURE:
    case PG_ERR_SIG_INTEGRITY:
    case PG_ERR_SIG_AUTHENTICITY:
    case PG_ERR_SIG_IDENTITY:
    case PG_ERR_SIG_EXPIRED:
    case PG_ERR_SIG_TIMESTAMP:
    case PG_ERR_SIG_REVOKED:
    case PG_ERR_SIG_TARGET:
    case PG_ERR_TRUSTSTORE:
    case PG_ERR_UNSUPPORTED:
    case PG_ERR_PARSE:
    case PG_ERR_LIMIT:
        return 1;
    default:
        return 0; /* registry, network, time, cancellation, memory: try again */
    }
}

enum pg_status pg_cache_new(const struct pg_cache_limits *limits, struct pg_cache **out_cache,
                            struct pg_err *err)
{
    struct pg_cache *c = pg_calloc(1, sizeof(*c));
    pthread_condattr_t attr;

    if (c == NULL || (c->buckets = pg_calloc(INITIAL_BUCKETS, sizeof(*c->buckets))) == NULL) {
        pg_free(c);
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory creating the verification cache");
    }
    c->n_buckets = INITIAL_BUCKETS;
    c->limits = *limits;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->done, &attr);
    pthread_condattr_destroy(&attr);
    *out_cache = c;
    return PG_OK;
}

void pg_cache_free(struct pg_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n_buckets; i++) {
        while (c->buckets[i] != NULL) {
            struct pg_cache_flight *f = c->buckets[i];

            c->buckets[i] = f->hnext;
            flight_free(f);
        }
    }
    pg_free(c->buckets);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
    pg_free(c);
}

void pg_cache_set_limits(struct pg_cache *c, const struct pg_cache_limits *limits)
{
    pthread_mutex_lock(&c->lock);
    c->limits = *limits;
    evict_to_fit(c);
    pthread_mutex_unlock(&c->lock);
}

void pg_cache_set_generation(struct pg_cache *c, uint64_t generation)
{
    pthread_mutex_lock(&c->lock);
    c->generation = generation;
    for (size_t i = 0; i < c->n_buckets; i++) {
        struct pg_cache_flight *f = c->buckets[i];

        while (f != NULL) {
            struct pg_cache_flight *next = f->hnext;

            if (f->generation != generation && !f->is_pending) {
                drop(c, f);
            }
            f = next;
        }
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
}

enum pg_status pg_cache_lookup(struct pg_cache *c, uint64_t generation, const char *repository,
                               const char *digest, const struct pg_deadline *deadline,
                               int *out_is_hit, struct pg_cache_answer *out_answer,
                               struct pg_cache_flight **out_flight, struct pg_err *err)
{
    uint64_t hash = hash_key(generation, repository, digest);
    struct pg_cache_flight *f;
    enum pg_status rc = PG_OK;

    *out_is_hit = 0;
    *out_flight = NULL;
    pthread_mutex_lock(&c->lock);
    while (c->limits.max_entries > 0 && generation == c->generation && generation != 0) {
        f = find(c, hash, generation, repository, digest);
        if (f != NULL && !f->is_pending && !is_fresh(c, f)) {
            drop(c, f);
            f = NULL;
        }
        if (f == NULL) {
            *out_flight = add_pending(c, hash, generation, repository, digest);
            break;
        }
        if (!f->is_pending) {
            copy_answer(f, out_answer);
            lru_unlink(c, f);
            lru_push_front(c, f);
            c->hits++;
            *out_is_hit = 1;
            goto out;
        }
        rc = wait_slice(c, deadline, err);
        if (rc != PG_OK) {
            goto out;
        }
    }
    c->misses++;
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void pg_cache_finish(struct pg_cache *c, struct pg_cache_flight *f,
                     const struct pg_cache_answer *answer)
{
    if (f == NULL) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    if (answer == NULL || !keep(c, f, answer)) {
        drop(c, f);
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
}

void pg_cache_get_stats(struct pg_cache *c, struct pg_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    out->entries = c->n_kept;
    out->bytes = c->bytes;
    out->pending = c->n_pending;
    out->hits = c->hits;
    out->misses = c->misses;
    out->evictions = c->evictions;
    pthread_mutex_unlock(&c->lock);
}
