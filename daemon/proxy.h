/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The transparent CRI proxy: a generic gRPC relay from a unix socket we serve
 * to the runtime's socket. Every method, known or not, unary or streaming, is
 * relayed as raw bytes with its metadata, status, deadline and cancellation.
 * PullImage on runtime.v1 and runtime.v1alpha2 is the one exception: it goes
 * through the pull hooks below before and after the runtime sees it. What the
 * hooks decide is not the proxy's business; without hooks every pull is
 * allowed. How it works: docs/proxy.md.
 */
#ifndef PG_PROXY_H
#define PG_PROXY_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "status.h"

/* Longest message a hook can put in a status, bytes with the NUL. */
#define PG_PULL_MESSAGE_MAX 1024

/*
 * What a hook learns about one PullImage call. It lives from the first
 * request message until the call is over, and only one hook runs on it at a
 * time, so a hook may keep per-pull data in `state` (see pg_pull_hooks).
 */
struct pg_pull_ctx {
    const char *method;           /* "/runtime.v1.ImageService/PullImage" */
    const char *api_version;      /* "v1" or "v1alpha2" */
    const unsigned char *request; /* the client's request message, as received */
    size_t request_len;
    /*
     * Becomes 1 when the client cancels, its deadline passes or the proxy
     * shuts down. A hook doing slow work polls it and gives up; its result
     * is then dropped and nothing is sent upstream.
     */
    const atomic_int *cancelled;
    int has_deadline;         /* 0: the client set no deadline */
    struct timespec deadline; /* CLOCK_MONOTONIC, when has_deadline */
    void *user;               /* pg_pull_hooks.user */
    void *state;              /* the hooks' own per-pull data, NULL at first */
};

enum pg_pull_verdict {
    PG_PULL_ALLOW,           /* forward the request bytes as received */
    PG_PULL_ALLOW_REWRITTEN, /* forward `rewritten` instead */
    PG_PULL_DENY,            /* answer grpc_code + message; the runtime never hears of it */
};

/* The pre-hook's answer; zeroed (ALLOW) before the hook runs. */
struct pg_pull_decision {
    enum pg_pull_verdict verdict;
    /* ALLOW_REWRITTEN: a whole PullImageRequest, from pg_malloc; the proxy frees it. */
    unsigned char *rewritten;
    size_t rewritten_len;
    /* DENY: a grpc_status_code other than 0 (0 becomes PERMISSION_DENIED). */
    int grpc_code;
    char message[PG_PULL_MESSAGE_MAX];
};

/*
 * The runtime's answer to a forwarded pull, given to the post-hook. The hook
 * may turn an OK answer into a failure by setting grpc_code to an error and
 * writing message; the response message is then dropped. Any other change
 * is ignored: the proxy never turns a failure into success.
 */
struct pg_pull_outcome {
    int grpc_code;       /* in: the runtime's status; out: see above */
    const char *details; /* the runtime's status message, not NUL-terminated */
    size_t details_len;
    const unsigned char *response; /* the PullImageResponse, NULL if none came */
    size_t response_len;
    char message[PG_PULL_MESSAGE_MAX]; /* out: the message for a replaced status */
};

/*
 * The seam where the pull policy plugs in. Both hooks run on a worker thread
 * of the proxy's bounded pool, never on a completion-queue thread, so they
 * may block (bounded by ctx->deadline and ctx->cancelled). Every member may
 * be NULL: no pre-hook allows, no post-hook passes the answer on.
 */
struct pg_pull_hooks {
    void (*pre)(struct pg_pull_ctx *ctx, struct pg_pull_decision *decision);
    /* Runs once the runtime answered; the client's answer waits for it. */
    void (*post)(struct pg_pull_ctx *ctx, struct pg_pull_outcome *outcome);
    /* Runs when the call is over if ctx->state is not NULL, to free it. */
    void (*release)(struct pg_pull_ctx *ctx);
    void *user; /* handed to every hook as ctx->user */
};

struct pg_proxy_options {
    const char *listen_path;   /* the socket we create (mode 0660) */
    const char *upstream_path; /* the runtime's socket */
    int cq_threads;            /* completion queues, one thread each (1..64) */
    int workers;               /* hook threads (1..256) */
    int queue_length;          /* pulls waiting for a hook thread (1..65536) */
    int drain_timeout_ms;      /* grace for in-flight calls in pg_proxy_stop */
    struct pg_pull_hooks hooks;
};

struct pg_proxy;

/*
 * Creates the socket (replacing a stale one, refusing one that is in use or
 * not a socket), connects lazily to the upstream and starts serving. The
 * caller owns *out_proxy and ends it with pg_proxy_stop.
 */
enum pg_status pg_proxy_start(const struct pg_proxy_options *opts, struct pg_proxy **out_proxy,
                              struct pg_err *err);

/* Calls in flight right now, for logs and tests. */
int pg_proxy_calls(struct pg_proxy *proxy);

/*
 * Stops accepting calls, lets the calls in flight finish for up to
 * drain_timeout_ms, cancels the rest, then frees everything. Returns the
 * number of calls it had to cancel. NULL is fine.
 */
int pg_proxy_stop(struct pg_proxy *proxy);

#endif
