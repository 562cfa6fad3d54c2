/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verification cache: remembers decisions by (trust generation,
 * repository, manifest digest), bounded in entries and bytes with LRU
 * eviction, and runs concurrent verifications of one key once (single
 * flight). What may be remembered and for how long is decided here; the
 * verification itself and the resolving of tags to digests are the caller's.
 */
#ifndef PG_CACHE_H
#define PG_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "types.h"

#define PG_CACHE_DEFAULT_MAX_ENTRIES 4096
#define PG_CACHE_DEFAULT_MAX_BYTES (16 * 1024 * 1024)
#define PG_CACHE_DEFAULT_TTL_MS (10 * 60 * 1000)
#define PG_CACHE_DEFAULT_NEGATIVE_TTL_MS 5000

struct pg_cache_limits {
    size_t max_entries;      /* 0: the cache is off (nothing kept, no single flight) */
    size_t max_bytes;        /* memory of the kept entries, keys and messages included */
    int64_t ttl_ms;          /* longest life of an allowed entry */
    int64_t negative_ttl_ms; /* life of a refusal; 0: refusals are not kept */
    /* Clocks, for tests; NULL: CLOCK_MONOTONIC ms and time(NULL). */
    int64_t (*now_ms)(void);
    int64_t (*wall_s)(void);
};

/* A remembered decision, or one to remember. */
struct pg_cache_answer {
    int is_allowed;
    enum pg_status reason;        /* PG_OK when allowed */
    int64_t valid_until;          /* unix seconds; 0: no bound (allowed answers) */
    char message[PG_ERR_MSG_MAX]; /* the refusal's message; empty when allowed */
};

struct pg_cache_stats {
    size_t entries; /* kept answers */
    size_t bytes;
    size_t pending; /* verifications running as leaders */
    uint64_t hits;
    uint64_t misses;
    uint64_t evictions;
};

struct pg_cache;
struct pg_cache_flight;

/* Caller frees with pg_cache_free. */
enum pg_status pg_cache_new(const struct pg_cache_limits *limits, struct pg_cache **out_cache,
                            struct pg_err *err);
void pg_cache_free(struct pg_cache *cache);

/* New limits apply at once; entries beyond them are evicted. */
void pg_cache_set_limits(struct pg_cache *cache, const struct pg_cache_limits *limits);

/*
 * Makes generation the only one served: entries of any other are dropped, and
 * lookups and answers under another generation bypass the cache from now on.
 */
void pg_cache_set_generation(struct pg_cache *cache, uint64_t generation);

/*
 * Looks the key up. Three endings:
 *  - PG_OK, *out_is_hit 1: *out_answer holds the remembered decision;
 *  - PG_OK, *out_is_hit 0: the caller verifies. When *out_flight is not NULL
 *    the caller leads the flight of this key and must end it with
 *    pg_cache_finish; other lookups of the key wait for it meanwhile;
 *  - PG_ERR_TIMEOUT or PG_ERR_CANCELLED (err filled): deadline (may be NULL)
 *    ran out while waiting for another lookup's verification.
 */
enum pg_status pg_cache_lookup(struct pg_cache *cache, uint64_t generation, const char *repository,
                               const char *digest, const struct pg_deadline *deadline,
                               int *out_is_hit, struct pg_cache_answer *out_answer,
                               struct pg_cache_flight **out_flight, struct pg_err *err);

/*
 * Ends a flight with the verification's answer, or NULL when there is none
 * (out of memory). The answer is kept if it may be: an allowed one until the
 * earliest of its valid_until and the ttl, a definite refusal for the negative
 * ttl, a transient failure (registry, time, cancellation, memory) never.
 * Waiting lookups wake up either way. flight may be NULL.
 */
void pg_cache_finish(struct pg_cache *cache, struct pg_cache_flight *flight,
                     const struct pg_cache_answer *answer);

/* 1 when a refusal for this reason may be remembered for the negative ttl. */
int pg_cache_is_definite(enum pg_status reason);

void pg_cache_get_stats(struct pg_cache *cache, struct pg_cache_stats *out_stats);

#endif
