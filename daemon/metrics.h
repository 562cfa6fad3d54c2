/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's metrics: counters, gauges and one histogram kept with atomics,
 * written in the Prometheus text exposition format, and served on GET
 * /metrics by libmicrohttpd on a unix socket or a loopback TCP address.
 * Label values come only from fixed sets (outcomes, reason names), never
 * from requests. What is counted, and when, is the callers' business.
 */
#ifndef PG_METRICS_H
#define PG_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "status.h"

/* The outcome label of pullgate_pulls_total. */
enum pg_metrics_outcome {
    PG_METRICS_ALLOW,
    PG_METRICS_SKIP,
    PG_METRICS_DENY,
    PG_METRICS_WOULD_DENY, /* refused in dry-run mode and forwarded anyway */
    PG_METRICS_OUTCOME_COUNT
};

enum pg_metrics_counter {
    PG_METRICS_CACHE_HITS,
    PG_METRICS_CACHE_MISSES,
    PG_METRICS_UPSTREAM_ERRORS,
    PG_METRICS_RELOAD_OK,
    PG_METRICS_RELOAD_FAILED,
    PG_METRICS_COUNTER_COUNT
};

enum pg_metrics_gauge {
    PG_METRICS_CACHE_ENTRIES,
    PG_METRICS_CALLS_IN_FLIGHT,
    PG_METRICS_POLICY_GENERATION,
    PG_METRICS_GAUGE_COUNT
};

/* A parsed metrics_listen value. */
struct pg_metrics_listen {
    int is_unix;
    char path[108];               /* is_unix */
    struct sockaddr_storage addr; /* !is_unix: a loopback address */
    socklen_t addr_len;
};

struct pg_metrics;

/*
 * Parses "unix:PATH" (or "unix://PATH"), "127.0.0.1:PORT" (any 127/8
 * address) or "[::1]:PORT". Any other address is refused: the metrics carry
 * no secrets but are not meant for the network.
 */
enum pg_status pg_metrics_parse_listen(const char *text, struct pg_metrics_listen *out,
                                       struct pg_err *err);

/* Caller frees with pg_metrics_free. */
enum pg_status pg_metrics_new(struct pg_metrics **out_metrics, struct pg_err *err);

/*
 * Called at each scrape, before the text is written, to refresh gauges that
 * are cheaper to read than to track (calls in flight, cache entries).
 */
void pg_metrics_set_sampler(struct pg_metrics *m, void (*sample)(void *user, struct pg_metrics *m),
                            void *user);

/*
 * Serves GET /metrics on listen (NULL or "": not at all). A unix socket is
 * created with mode 0660, replacing a stale one. Stops with pg_metrics_free.
 */
enum pg_status pg_metrics_serve(struct pg_metrics *m, const char *listen, struct pg_err *err);

/* The TCP port being served (for listeners on port 0), or 0. */
unsigned pg_metrics_port(const struct pg_metrics *m);

/* Stops serving (the counters stay usable); done by pg_metrics_free too. */
void pg_metrics_stop(struct pg_metrics *m);

void pg_metrics_free(struct pg_metrics *m);

/* Every function below accepts m == NULL and then does nothing. */
void pg_metrics_pull(struct pg_metrics *m, enum pg_metrics_outcome outcome, enum pg_status reason,
                     int64_t duration_us);
void pg_metrics_add(struct pg_metrics *m, enum pg_metrics_counter counter, uint64_t n);
void pg_metrics_set(struct pg_metrics *m, enum pg_metrics_gauge gauge, int64_t value);
/* Counts a registry failure when reason is one (registry, auth, TLS, not found, timeout). */
void pg_metrics_registry_error(struct pg_metrics *m, enum pg_status reason);

/*
 * The exposition text, NUL-terminated, from pg_malloc (caller frees);
 * NULL when memory runs out. Runs the sampler first.
 */
char *pg_metrics_render(struct pg_metrics *m, size_t *out_len);

#endif
