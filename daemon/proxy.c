/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The generic gRPC relay behind pullgate serve, on the gRPC C core API. It
 * owns the listening socket, the upstream channel, the completion-queue
 * threads, the per-call state machine and the PullImage seam (hooks run on
 * the worker pool of workers.c). Deciding about pulls is left to the hooks.
 *
 * Each completion queue has one thread; a call's two halves (client to proxy,
 * "c2p", and proxy to upstream, "p2s") are bound to the same queue, so every
 * event of a call runs on one thread and call state needs no lock. Hooks run
 * on workers and hand the call back with an empty batch, which posts its tag
 * to the call's queue at once.
 */
#include "proxy.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "log.h"
#include "mem.h"
#include "unixsock.h"
#include "workers.h"

/* Largest message either way. CRI peers use 16 MiB; we leave headroom. */
#define MAX_MESSAGE (64 * 1024 * 1024)
/* Largest header or trailer list either way: grpc-go's default, which
 * kubelet and containerd keep. gRPC core's own 8 KiB would turn a long
 * runtime error message into RESOURCE_EXHAUSTED. */
#define MAX_METADATA (16 * 1024 * 1024)
/* Largest PullImage request: containerd's receive limit, so nothing it would
 * take is refused, and a queue of pulls cannot hold 64 MiB copies each. */
#define PULL_REQUEST_MAX (16 * 1024 * 1024)
#define SOCKET_MODE 0660
#define PULL_V1 "/runtime.v1.ImageService/PullImage"
#define PULL_V1ALPHA2 "/runtime.v1alpha2.ImageService/PullImage"
#define ESC_MAX 256

enum op_kind {
    OP_NEW_CALL,        /* request_call finished */
    OP_C2P_CLOSE,       /* RECV_CLOSE_ON_SERVER */
    OP_C2P_RECV,        /* a client message (or its half-close) */
    OP_C2P_SEND,        /* a message to the client, with headers the first time */
    OP_C2P_STATUS,      /* the final answer to the client */
    OP_P2S_SEND_INITMD, /* the client's metadata to upstream */
    OP_P2S_RECV_INITMD, /* upstream's headers */
    OP_P2S_RECV,        /* an upstream message (or end of stream) */
    OP_P2S_SEND,        /* a message to upstream */
    OP_P2S_CLOSE,       /* half-close to upstream */
    OP_P2S_STATUS,      /* upstream's status and trailers */
    OP_PRE_DONE,        /* the pre-hook finished on a worker */
    OP_POST_DONE,       /* the post-hook finished on a worker */
    OP_COUNT,
    OP_SERVER_DOWN, /* grpc_server_shutdown_and_notify finished */
};

struct call;

struct tag {
    struct call *call;
    enum op_kind kind;
};

struct cq_thread {
    struct pg_proxy *proxy;
    grpc_completion_queue *cq;
    pthread_t thread;
    int started;
    int need_arm; /* arming a request_call failed; retry */
};

struct pg_proxy {
    grpc_server *server;
    grpc_channel *channel;
    struct cq_thread *threads;
    int nthreads;
    struct pg_workers *workers;
    struct pg_pull_hooks hooks;
    int queue_length;
    int drain_timeout_ms;
    struct tag shutdown_tag;
    int grpc_ready;
    atomic_int stopping;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* CLOCK_MONOTONIC */
    int live_calls;         /* under lock */
    int server_down;        /* under lock */
};

struct call {
    struct pg_proxy *proxy;
    struct cq_thread *owner;
    struct tag tags[OP_COUNT];
    int refs; /* one per batch or hook job in flight */
    int accepted;
    grpc_call *c2p;
    grpc_call *p2s;
    grpc_call_details details;
    grpc_metadata_array client_md;
    grpc_metadata_array up_initial_md;
    grpc_metadata_array up_trailing_md;
    grpc_status_code up_status;
    grpc_slice up_details;
    int close_cancelled;       /* RECV_CLOSE_ON_SERVER output */
    atomic_int cancelled;      /* the client is gone */
    grpc_byte_buffer *c2p_msg; /* received from the client, being sent upstream */
    grpc_byte_buffer *p2s_msg; /* received from upstream, being sent to the client */
    unsigned initmd_done : 1;  /* upstream headers received (or failed) */
    unsigned initmd_ok : 1;
    unsigned initmd_sent : 1; /* headers sent to the client */
    unsigned client_busy : 1; /* a c2p send is in flight */
    unsigned upstream_eos : 1;
    unsigned status_received : 1;
    unsigned answered : 1;
    /* PullImage only */
    unsigned is_pull : 1;
    unsigned pull_started : 1;
    unsigned post_submitted : 1;
    unsigned post_done : 1;
    char *method;
    unsigned char *request;
    unsigned char *response;
    grpc_byte_buffer *held; /* upstream's response, kept for the post-hook */
    struct pg_pull_ctx ctx;
    struct pg_pull_decision decision;
    struct pg_pull_outcome outcome;
    struct pg_workers_job post_job;
    int local_code; /* nonzero: answer this instead of upstream's status */
    char local_msg[PG_PULL_MESSAGE_MAX];
};

static void call_cancel_all(struct call *c)
{
    if (c->c2p != NULL) {
        grpc_call_cancel(c->c2p, NULL);
    }
    if (c->p2s != NULL) {
        grpc_call_cancel(c->p2s, NULL);
    }
}

/* Drops the entries gRPC core would refuse to send on (it accepts more from
 * the wire than it sends): an illegal key, or a text value with bytes outside
 * printable ASCII. One such entry would fail the whole batch, and the call
 * with it. The slices stay the receiving call's; only the array shrinks. */
static void drop_unsendable(grpc_metadata_array *md, const char *what)
{
    size_t kept = 0;
    size_t i;

    for (i = 0; i < md->count; i++) {
        grpc_metadata *m = &md->metadata[i];

        if (grpc_header_key_is_legal(m->key) &&
            (grpc_is_binary_header(m->key) || grpc_header_nonbin_value_is_legal(m->value))) {
            md->metadata[kept++] = *m;
            continue;
        }
        if (pg_log_enabled(LOG_DEBUG)) {
            char esc[ESC_MAX];

            pg_log(LOG_DEBUG, "proxy: dropping %s metadata \"%s\" that gRPC cannot send on", what,
                   pg_escape(esc, sizeof(esc), (const char *)GRPC_SLICE_START_PTR(m->key),
                             GRPC_SLICE_LENGTH(m->key)));
        }
    }
    md->count = kept;
}

/* Starts a batch whose completion comes back as `kind`; it holds a reference. */
static int start(struct call *c, grpc_call *on, const grpc_op *ops, size_t n, enum op_kind kind)
{
    grpc_call_error e = grpc_call_start_batch(on, ops, n, &c->tags[kind], NULL);

    if (e != GRPC_CALL_OK) {
        pg_log(LOG_ERR, "proxy: batch %d refused: %s", (int)kind, grpc_call_error_to_string(e));
        call_cancel_all(c);
        return -1;
    }
    c->refs++;
    return 0;
}

static void start_recv(struct call *c, grpc_call *on, grpc_byte_buffer **slot, enum op_kind kind)
{
    grpc_op op = {0};

    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = slot;
    start(c, on, &op, 1, kind);
}

/* Answers the client with a status of our own; no upstream message goes out. */
static void answer_error(struct call *c, grpc_status_code code, const char *message)
{
    grpc_op ops[2];
    grpc_slice details = grpc_slice_from_copied_string(message);
    size_t n = 0;

    memset(ops, 0, sizeof(ops));
    if (!c->initmd_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->initmd_sent = 1;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n].data.send_status_from_server.status_details = &details;
    n++;
    c->answered = 1;
    start(c, c->c2p, ops, n, OP_C2P_STATUS);
    grpc_slice_unref(details);
}

/* Fills op with the upstream headers the client has not had yet, if any. */
static size_t add_initmd(struct call *c, grpc_op *op)
{
    if (c->initmd_sent) {
        return 0;
    }
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    if (c->initmd_ok) {
        op->data.send_initial_metadata.count = c->up_initial_md.count;
        op->data.send_initial_metadata.metadata = c->up_initial_md.metadata;
    }
    c->initmd_sent = 1;
    return 1;
}

/* The final answer: headers if still due, a held pull response, the status. */
static void answer_upstream(struct call *c)
{
    grpc_op ops[3];
    grpc_slice local = grpc_empty_slice();
    size_t n;

    memset(ops, 0, sizeof(ops));
    n = add_initmd(c, &ops[0]);
    if (c->local_code != 0) {
        local = grpc_slice_from_copied_string(c->local_msg);
        ops[n].data.send_status_from_server.status = (grpc_status_code)c->local_code;
        ops[n].data.send_status_from_server.status_details = &local;
    } else {
        if (c->held != NULL) {
            ops[n].op = GRPC_OP_SEND_MESSAGE;
            ops[n++].data.send_message.send_message = c->held;
        }
        ops[n].data.send_status_from_server.status = c->up_status;
        ops[n].data.send_status_from_server.status_details = &c->up_details;
        ops[n].data.send_status_from_server.trailing_metadata_count = c->up_trailing_md.count;
        ops[n].data.send_status_from_server.trailing_metadata = c->up_trailing_md.metadata;
    }
    ops[n++].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    c->answered = 1;
    start(c, c->c2p, ops, n, OP_C2P_STATUS);
    if (c->local_code != 0) {
        grpc_slice_unref(local);
    }
}

static void submit_post(struct call *c);

/* Sends the status once upstream is finished and nothing else is in flight. */
static void maybe_answer(struct call *c)
{
    if (!c->status_received || !c->upstream_eos || c->client_busy || c->answered) {
        return;
    }
    if (c->is_pull && c->proxy->hooks.post != NULL && !c->post_done) {
        if (!c->post_submitted) {
            submit_post(c);
        }
        return;
    }
    answer_upstream(c);
}

/* Creates the upstream call and starts the operations that wait on it. */
static int start_upstream(struct call *c)
{
    grpc_op op;

    c->p2s =
        grpc_channel_create_call(c->proxy->channel, c->c2p, GRPC_PROPAGATE_DEFAULTS, c->owner->cq,
                                 c->details.method, NULL, c->details.deadline, NULL);
    if (c->p2s == NULL) {
        answer_error(c, GRPC_STATUS_UNAVAILABLE, "pullgate: cannot create the upstream call");
        return -1;
    }
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op.data.recv_status_on_client.trailing_metadata = &c->up_trailing_md;
    op.data.recv_status_on_client.status = &c->up_status;
    op.data.recv_status_on_client.status_details = &c->up_details;
    if (start(c, c->p2s, &op, 1, OP_P2S_STATUS) != 0) {
        return -1;
    }
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_INITIAL_METADATA;
    op.data.recv_initial_metadata.recv_initial_metadata = &c->up_initial_md;
    return start(c, c->p2s, &op, 1, OP_P2S_RECV_INITMD);
}

static int send_client_md(struct call *c, grpc_op *op)
{
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    op->data.send_initial_metadata.count = c->client_md.count;
    op->data.send_initial_metadata.metadata = c->client_md.metadata;
    return 1;
}

/* ---- PullImage: the pre-hook ------------------------------------------------ */

/* Copies a received message into one pg_malloc buffer (NUL-terminated). */
static unsigned char *flatten(grpc_byte_buffer *bb, size_t *out_len)
{
    grpc_byte_buffer_reader reader;
    unsigned char *copy;
    grpc_slice all;
    size_t len;

    if (!grpc_byte_buffer_reader_init(&reader, bb)) {
        return NULL;
    }
    all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    len = GRPC_SLICE_LENGTH(all);
    copy = pg_malloc(len + 1);
    if (copy != NULL) {
        memcpy(copy, GRPC_SLICE_START_PTR(all), len);
        copy[len] = '\0';
        *out_len = len;
    }
    grpc_slice_unref(all);
    return copy;
}

static void fill_deadline(struct call *c)
{
    gpr_timespec dl = c->details.deadline;
    struct timespec now;
    int64_t ms;

    if (gpr_time_cmp(dl, gpr_inf_future(dl.clock_type)) == 0) {
        return;
    }
    ms = gpr_time_to_millis(gpr_time_sub(dl, gpr_now(dl.clock_type)));
    if (ms < 0) {
        ms = 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    c->ctx.has_deadline = 1;
    c->ctx.deadline.tv_sec = now.tv_sec + (time_t)(ms / 1000);
    c->ctx.deadline.tv_nsec = now.tv_nsec + (long)(ms % 1000) * 1000000L;
    if (c->ctx.deadline.tv_nsec >= 1000000000L) {
        c->ctx.deadline.tv_sec++;
        c->ctx.deadline.tv_nsec -= 1000000000L;
    }
}

static void run_pre(void *arg)
{
    struct call *c = arg;
    grpc_call_error e;

    if (!atomic_load(&c->cancelled)) {
        c->proxy->hooks.pre(&c->ctx, &c->decision);
    }
    e = grpc_call_start_batch(c->c2p, NULL, 0, &c->tags[OP_PRE_DONE], NULL);
    if (e != GRPC_CALL_OK) {
        /* Cannot happen for an empty batch on a live call; nothing else to do. */
        pg_log(LOG_ERR, "proxy: cannot resume a pull: %s", grpc_call_error_to_string(e));
    }
}

/* Queues the pre-hook on the pool; a full queue is reported to the caller. */
static int submit_pre(struct call *c)
{
    char msg[PG_PULL_MESSAGE_MAX];
    enum pg_status rc;

    c->refs++;
    rc = pg_workers_submit(c->proxy->workers, run_pre, c);
    if (rc == PG_OK) {
        return 0;
    }
    c->refs--;
    snprintf(msg, sizeof(msg),
             "pullgate: too many image pulls at once: the verification queue of %d is full, "
             "retry later",
             c->proxy->queue_length);
    pg_log(LOG_WARNING, "%s", msg);
    c->local_code = GRPC_STATUS_RESOURCE_EXHAUSTED;
    snprintf(c->local_msg, sizeof(c->local_msg), "%s", msg);
    return -1;
}

static void begin_pull(struct call *c)
{
    size_t len = grpc_byte_buffer_length(c->c2p_msg);
    char msg[PG_PULL_MESSAGE_MAX];

    if (len > PULL_REQUEST_MAX) {
        snprintf(msg, sizeof(msg),
                 "pullgate: PullImage request larger than max (%zu vs. %d), which the runtime "
                 "refuses too",
                 len, PULL_REQUEST_MAX);
        pg_log(LOG_WARNING, "%s", msg);
        answer_error(c, GRPC_STATUS_RESOURCE_EXHAUSTED, msg);
        return;
    }
    c->request = flatten(c->c2p_msg, &len);
    if (c->request == NULL || c->method == NULL) {
        answer_error(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "pullgate: out of memory reading a pull");
        return;
    }
    c->ctx.method = c->method;
    c->ctx.api_version = strstr(c->method, "v1alpha2") != NULL ? "v1alpha2" : "v1";
    c->ctx.request = c->request;
    c->ctx.request_len = len;
    c->ctx.cancelled = &c->cancelled;
    c->ctx.user = c->proxy->hooks.user;
    fill_deadline(c);
    if (c->proxy->hooks.pre == NULL) {
        start(c, c->c2p, NULL, 0, OP_PRE_DONE); /* allowed: resume at once */
        return;
    }
    if (submit_pre(c) != 0) {
        answer_error(c, (grpc_status_code)c->local_code, c->local_msg);
    }
}

/* Replaces the received request by the hook's bytes. */
static int use_rewritten(struct call *c)
{
    grpc_slice s;

    if (c->decision.rewritten == NULL) {
        return -1;
    }
    s = grpc_slice_from_copied_buffer((const char *)c->decision.rewritten,
                                      c->decision.rewritten_len);
    grpc_byte_buffer_destroy(c->c2p_msg);
    c->c2p_msg = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return 0;
}

static void deny(struct call *c)
{
    grpc_status_code code = (grpc_status_code)c->decision.grpc_code;

    if (code == GRPC_STATUS_OK || code < 0 || code > GRPC_STATUS_UNAUTHENTICATED) {
        code = GRPC_STATUS_PERMISSION_DENIED;
    }
    c->decision.message[sizeof(c->decision.message) - 1] = '\0';
    answer_error(c, code,
                 c->decision.message[0] != '\0' ? c->decision.message : "pullgate: pull denied");
}

static void on_pre_done(struct call *c)
{
    grpc_op ops[2];

    if (atomic_load(&c->cancelled)) {
        pg_log(LOG_DEBUG, "proxy: pull abandoned by the client before it was forwarded");
        return;
    }
    if (c->decision.verdict == PG_PULL_DENY) {
        deny(c);
        return;
    }
    if (c->decision.verdict == PG_PULL_ALLOW_REWRITTEN && use_rewritten(c) != 0) {
        answer_error(c, GRPC_STATUS_INTERNAL, "pullgate: the pull hook gave no rewritten request");
        return;
    }
    if (start_upstream(c) != 0) {
        return;
    }
    memset(ops, 0, sizeof(ops));
    send_client_md(c, &ops[0]);
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->c2p_msg;
    start(c, c->p2s, ops, 2, OP_P2S_SEND);
}

/* ---- PullImage: the post-hook ----------------------------------------------- */

static void run_post(void *arg)
{
    struct call *c = arg;
    grpc_call_error e;

    if (!atomic_load(&c->cancelled)) {
        c->proxy->hooks.post(&c->ctx, &c->outcome);
    }
    e = grpc_call_start_batch(c->c2p, NULL, 0, &c->tags[OP_POST_DONE], NULL);
    if (e != GRPC_CALL_OK) {
        pg_log(LOG_ERR, "proxy: cannot resume a pull: %s", grpc_call_error_to_string(e));
    }
}

static void submit_post(struct call *c)
{
    size_t len = 0;

    c->post_submitted = 1;
    if (c->held != NULL) {
        c->response = flatten(c->held, &len);
        if (c->response == NULL) {
            c->local_code = GRPC_STATUS_RESOURCE_EXHAUSTED;
            snprintf(c->local_msg, sizeof(c->local_msg), "pullgate: out of memory");
            c->post_done = 1;
            maybe_answer(c);
            return;
        }
    }
    c->outcome.grpc_code = c->up_status;
    c->outcome.details = (const char *)GRPC_SLICE_START_PTR(c->up_details);
    c->outcome.details_len = GRPC_SLICE_LENGTH(c->up_details);
    c->outcome.response = c->response;
    c->outcome.response_len = len;
    c->post_job.fn = run_post;
    c->post_job.arg = c;
    c->refs++;
    if (pg_workers_submit_first(c->proxy->workers, &c->post_job) != PG_OK) {
        c->refs--;
        c->local_code = GRPC_STATUS_UNAVAILABLE;
        snprintf(c->local_msg, sizeof(c->local_msg), "pullgate: shutting down");
        c->post_done = 1;
        maybe_answer(c);
    }
}

static void on_post_done(struct call *c)
{
    c->post_done = 1;
    if (c->up_status == GRPC_STATUS_OK && c->outcome.grpc_code != GRPC_STATUS_OK &&
        c->local_code == 0) {
        c->local_code = c->outcome.grpc_code;
        if (c->local_code < 0 || c->local_code > GRPC_STATUS_UNAUTHENTICATED) {
            c->local_code = GRPC_STATUS_INTERNAL;
        }
        c->outcome.message[sizeof(c->outcome.message) - 1] = '\0';
        snprintf(c->local_msg, sizeof(c->local_msg), "%s",
                 c->outcome.message[0] != '\0'
                     ? c->outcome.message
                     : "pullgate: pull failed after the runtime answered");
    }
    maybe_answer(c);
}

/* ---- the relay -------------------------------------------------------------- */

static void on_c2p_recv(struct call *c, int ok)
{
    grpc_op op;

    if (!ok) {
        return; /* the client call failed; its close reports why */
    }
    if (c->c2p_msg == NULL) {
        if (c->is_pull && !c->pull_started) {
            answer_error(c, GRPC_STATUS_INVALID_ARGUMENT,
                         "pullgate: PullImage call carries no request message");
        } else if (c->p2s != NULL) {
            memset(&op, 0, sizeof(op));
            op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
            start(c, c->p2s, &op, 1, OP_P2S_CLOSE);
        }
        return;
    }
    if (c->is_pull && !c->pull_started) {
        c->pull_started = 1;
        begin_pull(c);
        return;
    }
    if (c->is_pull) {
        /* PullImage is unary: only the message that was verified may reach
         * the runtime. A second one ends the call. */
        grpc_byte_buffer_destroy(c->c2p_msg);
        c->c2p_msg = NULL;
        if (c->local_code == 0) {
            c->local_code = GRPC_STATUS_INVALID_ARGUMENT;
            snprintf(c->local_msg, sizeof(c->local_msg),
                     "pullgate: PullImage carries more than one request message");
        }
        if (c->p2s != NULL) {
            grpc_call_cancel(c->p2s, NULL);
        }
        maybe_answer(c);
        return;
    }
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = c->c2p_msg;
    start(c, c->p2s, &op, 1, OP_P2S_SEND);
}

static void on_p2s_send(struct call *c, int ok)
{
    grpc_byte_buffer_destroy(c->c2p_msg);
    c->c2p_msg = NULL;
    if (ok) {
        start_recv(c, c->c2p, &c->c2p_msg, OP_C2P_RECV);
    }
}

static void on_c2p_close(struct call *c)
{
    if (c->close_cancelled) {
        atomic_store(&c->cancelled, 1);
        if (c->p2s != NULL) {
            grpc_call_cancel(c->p2s, NULL);
        }
    }
}

static void on_p2s_initmd(struct call *c, int ok)
{
    c->initmd_done = 1;
    c->initmd_ok = ok ? 1 : 0;
    drop_unsendable(&c->up_initial_md, "upstream initial");
    if (!ok) {
        c->upstream_eos = 1;
        maybe_answer(c);
        return;
    }
    start_recv(c, c->p2s, &c->p2s_msg, OP_P2S_RECV);
}

/* A pull response waits for the post-hook; only one may come. */
static void hold_response(struct call *c)
{
    if (c->held != NULL) {
        grpc_byte_buffer_destroy(c->p2s_msg);
        c->p2s_msg = NULL;
        c->local_code = GRPC_STATUS_INTERNAL;
        snprintf(c->local_msg, sizeof(c->local_msg),
                 "pullgate: the runtime sent more than one PullImage response");
        grpc_call_cancel(c->p2s, NULL);
        c->upstream_eos = 1;
        maybe_answer(c);
        return;
    }
    c->held = c->p2s_msg;
    c->p2s_msg = NULL;
    start_recv(c, c->p2s, &c->p2s_msg, OP_P2S_RECV);
}

static void on_p2s_recv(struct call *c, int ok)
{
    grpc_op ops[2];
    size_t n;

    if (!ok || c->p2s_msg == NULL) {
        grpc_byte_buffer_destroy(c->p2s_msg);
        c->p2s_msg = NULL;
        c->upstream_eos = 1;
        maybe_answer(c);
        return;
    }
    if (c->is_pull && c->proxy->hooks.post != NULL) {
        hold_response(c);
        return;
    }
    memset(ops, 0, sizeof(ops));
    n = add_initmd(c, &ops[0]);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = c->p2s_msg;
    c->client_busy = 1;
    if (start(c, c->c2p, ops, n, OP_C2P_SEND) != 0) {
        c->client_busy = 0;
    }
}

static void on_c2p_send(struct call *c, int ok)
{
    grpc_byte_buffer_destroy(c->p2s_msg);
    c->p2s_msg = NULL;
    c->client_busy = 0;
    if (ok) {
        start_recv(c, c->p2s, &c->p2s_msg, OP_P2S_RECV);
        return;
    }
    /* The client is gone: stop reading upstream. */
    if (c->p2s != NULL) {
        grpc_call_cancel(c->p2s, NULL);
    }
    c->upstream_eos = 1;
    maybe_answer(c);
}

static void on_p2s_status(struct call *c)
{
    c->status_received = 1;
    drop_unsendable(&c->up_trailing_md, "upstream trailing");
    maybe_answer(c);
}

/* ---- accepting calls -------------------------------------------------------- */

static struct call *call_new(struct cq_thread *t)
{
    struct call *c = pg_calloc(1, sizeof(*c));
    int i;

    if (c == NULL) {
        return NULL;
    }
    c->proxy = t->proxy;
    c->owner = t;
    for (i = 0; i < OP_COUNT; i++) {
        c->tags[i].call = c;
        c->tags[i].kind = (enum op_kind)i;
    }
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->client_md);
    grpc_metadata_array_init(&c->up_initial_md);
    grpc_metadata_array_init(&c->up_trailing_md);
    c->up_details = grpc_empty_slice();
    atomic_init(&c->cancelled, 0);
    return c;
}

static void call_free(struct call *c)
{
    struct pg_proxy *p = c->proxy;

    if (c->ctx.state != NULL && p->hooks.release != NULL) {
        p->hooks.release(&c->ctx);
    }
    grpc_byte_buffer_destroy(c->c2p_msg);
    grpc_byte_buffer_destroy(c->p2s_msg);
    grpc_byte_buffer_destroy(c->held);
    if (c->p2s != NULL) {
        grpc_call_unref(c->p2s);
    }
    if (c->c2p != NULL) {
        grpc_call_unref(c->c2p);
    }
    grpc_metadata_array_destroy(&c->client_md);
    grpc_metadata_array_destroy(&c->up_initial_md);
    grpc_metadata_array_destroy(&c->up_trailing_md);
    grpc_call_details_destroy(&c->details);
    grpc_slice_unref(c->up_details);
    pg_free(c->decision.rewritten);
    pg_free(c->request);
    pg_free(c->response);
    pg_free(c->method);
    if (c->accepted) {
        pthread_mutex_lock(&p->lock);
        p->live_calls--;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
    }
    pg_free(c);
}

/* Keeps one request_call pending on this thread's queue. */
static void arm_request(struct cq_thread *t)
{
    struct pg_proxy *p = t->proxy;
    struct call *c;
    grpc_call_error e;

    t->need_arm = 0;
    if (atomic_load(&p->stopping)) {
        return;
    }
    c = call_new(t);
    if (c == NULL) {
        pg_log(LOG_ERR, "proxy: out of memory accepting a call; retrying");
        t->need_arm = 1;
        return;
    }
    c->refs = 1;
    e = grpc_server_request_call(p->server, &c->c2p, &c->details, &c->client_md, t->cq, t->cq,
                                 &c->tags[OP_NEW_CALL]);
    if (e != GRPC_CALL_OK) {
        pg_log(LOG_ERR, "proxy: cannot wait for calls: %s", grpc_call_error_to_string(e));
        call_free(c);
    }
}

static int is_pull_method(grpc_slice method)
{
    return grpc_slice_str_cmp(method, PULL_V1) == 0 ||
           grpc_slice_str_cmp(method, PULL_V1ALPHA2) == 0;
}

static void on_new_call(struct call *c, int ok)
{
    struct pg_proxy *p = c->proxy;
    struct pg_pull_hooks *h = &p->hooks;
    grpc_op op;

    arm_request(c->owner);
    if (!ok) {
        return; /* the server is shutting down */
    }
    c->accepted = 1;
    if (pg_log_enabled(LOG_DEBUG)) {
        char esc[ESC_MAX];

        pg_log(LOG_DEBUG, "proxy: call \"%s\"",
               pg_escape(esc, sizeof(esc), (const char *)GRPC_SLICE_START_PTR(c->details.method),
                         GRPC_SLICE_LENGTH(c->details.method)));
    }
    pthread_mutex_lock(&p->lock);
    p->live_calls++;
    pthread_mutex_unlock(&p->lock);
    drop_unsendable(&c->client_md, "client");
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    if (start(c, c->c2p, &op, 1, OP_C2P_CLOSE) != 0) {
        return;
    }
    /* containerd's server drops a leading '/' before routing, so a path
     * without one would reach PullImage under a name the hook never sees. */
    if (GRPC_SLICE_LENGTH(c->details.method) == 0 ||
        GRPC_SLICE_START_PTR(c->details.method)[0] != '/') {
        answer_error(c, GRPC_STATUS_UNIMPLEMENTED, "pullgate: method path must start with '/'");
        return;
    }
    if ((h->pre != NULL || h->post != NULL) && is_pull_method(c->details.method)) {
        c->is_pull = 1;
        c->method = pg_strndup((const char *)GRPC_SLICE_START_PTR(c->details.method),
                               GRPC_SLICE_LENGTH(c->details.method));
        start_recv(c, c->c2p, &c->c2p_msg, OP_C2P_RECV);
        return;
    }
    if (start_upstream(c) != 0) {
        return;
    }
    memset(&op, 0, sizeof(op));
    send_client_md(c, &op);
    if (start(c, c->p2s, &op, 1, OP_P2S_SEND_INITMD) == 0) {
        start_recv(c, c->c2p, &c->c2p_msg, OP_C2P_RECV);
    }
}

static void server_down(struct pg_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    p->server_down = 1;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

static void dispatch(struct call *c, enum op_kind kind, int ok)
{
    switch (kind) {
    case OP_NEW_CALL:
        on_new_call(c, ok);
        break;
    case OP_C2P_CLOSE:
        on_c2p_close(c);
        break;
    case OP_C2P_RECV:
        on_c2p_recv(c, ok);
        break;
    case OP_C2P_SEND:
        on_c2p_send(c, ok);
        break;
    case OP_P2S_RECV_INITMD:
        on_p2s_initmd(c, ok);
        break;
    case OP_P2S_RECV:
        on_p2s_recv(c, ok);
        break;
    case OP_P2S_SEND:
        on_p2s_send(c, ok);
        break;
    case OP_P2S_STATUS:
        on_p2s_status(c);
        break;
    case OP_PRE_DONE:
        on_pre_done(c);
        break;
    case OP_POST_DONE:
        on_post_done(c);
        break;
    default: /* sends whose completion needs no action */
        break;
    }
}

static void *cq_main(void *arg)
{
    struct cq_thread *t = arg;
    grpc_event ev;

    for (;;) {
        gpr_timespec wait = t->need_arm ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                                       gpr_time_from_millis(200, GPR_TIMESPAN))
                                        : gpr_inf_future(GPR_CLOCK_MONOTONIC);
        struct tag *tag;

        ev = grpc_completion_queue_next(t->cq, wait, NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) {
            break;
        }
        if (ev.type == GRPC_QUEUE_TIMEOUT) {
            arm_request(t);
            continue;
        }
        tag = ev.tag;
        if (tag->kind == OP_SERVER_DOWN) {
            server_down(t->proxy);
            continue;
        }
        dispatch(tag->call, tag->kind, ev.success);
        if (--tag->call->refs == 0) {
            call_free(tag->call);
        }
    }
    return NULL;
}

/* ---- the socket ------------------------------------------------------------- */

#define SERVER_ARGS 3
#define CHANNEL_ARGS 6

static void fill_args(grpc_arg *args, int with_backoff)
{
    static char k_recv[] = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    static char k_send[] = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    static char k_md[] = GRPC_ARG_MAX_METADATA_SIZE;
    static char k_retries[] = GRPC_ARG_ENABLE_RETRIES;
    static char k_init[] = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
    static char k_max[] = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
    /* Reconnect soon after containerd comes back. Not the "min" backoff:
     * core reads it as the time a connection attempt may take before
     * SETTINGS, and a busy runtime needs more than a fraction of a second. */
    char *keys[] = {k_recv, k_send, k_md, k_retries, k_init, k_max};
    int values[] = {MAX_MESSAGE, MAX_MESSAGE, MAX_METADATA, 0, 100, 1000};
    int i;

    for (i = 0; i < (with_backoff ? CHANNEL_ARGS : SERVER_ARGS); i++) {
        args[i].type = GRPC_ARG_INTEGER;
        args[i].key = keys[i];
        args[i].value.integer = values[i];
    }
}

static enum pg_status open_listener(struct pg_proxy *p, const char *path, struct pg_err *err)
{
    char esc[ESC_MAX];
    grpc_server_credentials *creds;
    grpc_channel_args args;
    static char k_algorithms[] = GRPC_COMPRESSION_CHANNEL_ENABLED_ALGORITHMS_BITSET;
    grpc_arg arg[SERVER_ARGS + 1];
    char *addr;
    mode_t old;
    int port;
    int i;

    pg_escape(esc, sizeof(esc), path, strlen(path));
    fill_args(arg, 0);
    /* Identity only, as containerd (no decompressor installed): core would
     * otherwise inflate a small gzip request up to MAX_MESSAGE before we
     * see it, for a call upstream refuses anyway. */
    arg[SERVER_ARGS].type = GRPC_ARG_INTEGER;
    arg[SERVER_ARGS].key = k_algorithms;
    arg[SERVER_ARGS].value.integer = 1 << GRPC_COMPRESS_NONE;
    args.num_args = SERVER_ARGS + 1;
    args.args = arg;
    p->server = grpc_server_create(&args, NULL);
    for (i = 0; i < p->nthreads; i++) {
        grpc_server_register_completion_queue(p->server, p->threads[i].cq, NULL);
    }
    addr = pg_asprintf("unix:%s", path);
    if (addr == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    }
    creds = grpc_insecure_server_credentials_create();
    old = umask(0117); /* no window where the socket is wider than 0660 */
    port = grpc_server_add_http2_port(p->server, addr, creds);
    umask(old);
    grpc_server_credentials_release(creds);
    pg_free(addr);
    if (port == 0) {
        return pg_err_set(err, PG_ERR_IO, "cannot listen on \"%s\" (does its directory exist?)",
                          esc);
    }
    grpc_server_start(p->server);
    if (chmod(path, SOCKET_MODE) != 0) {
        return pg_err_set(err, PG_ERR_IO, "cannot set mode 0660 on \"%s\": %s", esc,
                          strerror(errno));
    }
    return PG_OK;
}

static enum pg_status open_upstream(struct pg_proxy *p, const char *path, struct pg_err *err)
{
    grpc_channel_credentials *creds;
    grpc_channel_args args;
    grpc_arg arg[CHANNEL_ARGS];
    char *target = pg_asprintf("unix:%s", path);

    if (target == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    }
    fill_args(arg, 1);
    args.num_args = CHANNEL_ARGS;
    args.args = arg;
    creds = grpc_insecure_credentials_create();
    p->channel = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);
    pg_free(target);
    return PG_OK;
}

/* ---- life cycle ------------------------------------------------------------- */

static enum pg_status check_options(const struct pg_proxy_options *o, struct pg_err *err)
{
    if (o->listen_path == NULL || o->upstream_path == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "proxy: listen and upstream paths are needed");
    }
    if (o->cq_threads < 1 || o->cq_threads > 64) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "proxy: %d completion queue threads, want 1-64",
                          o->cq_threads);
    }
    if (o->drain_timeout_ms < 0) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "proxy: negative drain timeout");
    }
    return PG_OK;
}

static enum pg_status proxy_alloc(const struct pg_proxy_options *o, struct pg_proxy **out,
                                  struct pg_err *err)
{
    pthread_condattr_t attr;
    struct pg_proxy *p = pg_calloc(1, sizeof(*p));
    int i;

    if (p == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "proxy: out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->changed, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&p->stopping, 0);
    p->hooks = o->hooks;
    p->queue_length = o->queue_length;
    p->drain_timeout_ms = o->drain_timeout_ms;
    p->shutdown_tag.kind = OP_SERVER_DOWN;
    *out = p;
    grpc_init();
    p->grpc_ready = 1;
    p->threads = pg_calloc((size_t)o->cq_threads, sizeof(*p->threads));
    if (p->threads == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "proxy: out of memory");
    }
    p->nthreads = o->cq_threads;
    for (i = 0; i < p->nthreads; i++) {
        p->threads[i].proxy = p;
        p->threads[i].cq = grpc_completion_queue_create_for_next(NULL);
    }
    return pg_workers_create(o->workers, o->queue_length, &p->workers, err);
}

static enum pg_status start_threads(struct pg_proxy *p, struct pg_err *err)
{
    int i;

    for (i = 0; i < p->nthreads; i++) {
        struct cq_thread *t = &p->threads[i];
        int e;

        arm_request(t);
        e = pthread_create(&t->thread, NULL, cq_main, t);
        if (e != 0) {
            return pg_err_set(err, PG_ERR_INTERNAL, "proxy: cannot start a thread: %s",
                              strerror(e));
        }
        t->started = 1;
    }
    return PG_OK;
}

enum pg_status pg_proxy_start(const struct pg_proxy_options *opts, struct pg_proxy **out_proxy,
                              struct pg_err *err)
{
    struct pg_proxy *p = NULL;
    enum pg_status rc;

    rc = check_options(opts, err);
    if (rc != PG_OK) {
        return rc;
    }
    rc = proxy_alloc(opts, &p, err);
    if (rc == PG_OK) {
        rc = pg_unixsock_clear_stale(opts->listen_path, "listen path", err);
    }
    if (rc == PG_OK) {
        rc = open_upstream(p, opts->upstream_path, err);
    }
    if (rc == PG_OK) {
        rc = open_listener(p, opts->listen_path, err);
    }
    if (rc == PG_OK) {
        rc = start_threads(p, err);
    }
    if (rc != PG_OK) {
        pg_proxy_stop(p);
        return rc;
    }
    pg_log(LOG_DEBUG, "proxy: %d completion queue threads started", p->nthreads);
    *out_proxy = p;
    return PG_OK;
}

int pg_proxy_calls(struct pg_proxy *proxy)
{
    int n;

    pthread_mutex_lock(&proxy->lock);
    n = proxy->live_calls;
    pthread_mutex_unlock(&proxy->lock);
    return n;
}

/* Waits until every call is over and the server reported its shutdown. */
static int wait_idle(struct pg_proxy *p, const struct timespec *until)
{
    int idle;

    pthread_mutex_lock(&p->lock);
    while (!(p->live_calls == 0 && p->server_down)) {
        if (until == NULL) {
            pthread_cond_wait(&p->changed, &p->lock);
        } else if (pthread_cond_timedwait(&p->changed, &p->lock, until) == ETIMEDOUT) {
            break;
        }
    }
    idle = p->live_calls == 0 && p->server_down;
    pthread_mutex_unlock(&p->lock);
    return idle;
}

/* Stops serving: drain, cancel what is left, and wait for the last call. */
static int drain(struct pg_proxy *p)
{
    struct timespec until;
    int left;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += p->drain_timeout_ms / 1000;
    until.tv_nsec += (long)(p->drain_timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    grpc_server_shutdown_and_notify(p->server, p->threads[0].cq, &p->shutdown_tag);
    if (wait_idle(p, &until)) {
        return 0;
    }
    left = pg_proxy_calls(p);
    pg_log(LOG_WARNING, "proxy: cancelling %d call(s) still running after %d ms", left,
           p->drain_timeout_ms);
    grpc_server_cancel_all_calls(p->server);
    wait_idle(p, NULL);
    return left;
}

int pg_proxy_stop(struct pg_proxy *proxy)
{
    int cancelled = 0;
    int i;

    if (proxy == NULL) {
        return 0;
    }
    atomic_store(&proxy->stopping, 1);
    if (proxy->server != NULL) {
        if (proxy->nthreads > 0 && proxy->threads[0].started) {
            cancelled = drain(proxy);
        } else {
            grpc_server_shutdown_and_notify(proxy->server, proxy->threads[0].cq,
                                            &proxy->shutdown_tag);
            grpc_server_cancel_all_calls(proxy->server);
        }
    }
    for (i = 0; i < proxy->nthreads; i++) {
        grpc_completion_queue_shutdown(proxy->threads[i].cq);
    }
    for (i = 0; i < proxy->nthreads; i++) {
        struct cq_thread *t = &proxy->threads[i];

        if (t->started) {
            pthread_join(t->thread, NULL);
        } else {
            /* Never ran: drain it here (pending request_calls, shutdown tag). */
            cq_main(t);
        }
    }
    if (proxy->server != NULL) {
        grpc_server_destroy(proxy->server);
    }
    if (proxy->channel != NULL) {
        grpc_channel_destroy(proxy->channel);
    }
    for (i = 0; i < proxy->nthreads; i++) {
        grpc_completion_queue_destroy(proxy->threads[i].cq);
    }
    pg_workers_free(proxy->workers);
    pg_free(proxy->threads);
    if (proxy->grpc_ready) {
        grpc_shutdown();
    }
    pthread_cond_destroy(&proxy->changed);
    pthread_mutex_destroy(&proxy->lock);
    pg_free(proxy);
    return cancelled;
}
