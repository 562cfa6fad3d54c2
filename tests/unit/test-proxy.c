/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the CRI proxy (daemon/proxy.c) and of pullgate serve: an
 * in-process fake upstream on a unix socket, the proxy in front of it
 * (in-process, or as a `pullgate serve` subprocess for the signal test), and
 * a small synchronous gRPC client driving calls through it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include <curl/curl.h>

#include "check.h"
#include "cri_v1.pb-c.h"
#include "mem.h"
#include "proxy.h"

#define MIB (1024 * 1024)
#define MAX_MSGS 8
#define MAX_HANDLERS 256
#define LONG_TEXT (12 * 1024) /* over gRPC core's default 8 KiB of metadata */

/* ---- small helpers ---------------------------------------------------------- */

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Timing bounds stretch under valgrind, which slows everything down. */
static long slack(long ms)
{
    return getenv("PG_UNDER_VALGRIND") != NULL ? ms * 10 : ms;
}

/* Waits up to ms for *flag to become nonzero. */
static int wait_flag(atomic_int *flag, long ms)
{
    long end = now_ms() + ms;

    while (!atomic_load(flag) && now_ms() < end) {
        sleep_ms(10);
    }
    return atomic_load(flag);
}

static unsigned char *flatten(grpc_byte_buffer *bb, size_t *out_len)
{
    grpc_byte_buffer_reader reader;
    unsigned char *copy;
    grpc_slice all;

    if (!grpc_byte_buffer_reader_init(&reader, bb)) {
        return NULL;
    }
    all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    *out_len = GRPC_SLICE_LENGTH(all);
    copy = pg_malloc(*out_len + 1);
    memcpy(copy, GRPC_SLICE_START_PTR(all), *out_len);
    copy[*out_len] = '\0';
    grpc_slice_unref(all);
    return copy;
}

static grpc_byte_buffer *buffer_of(const void *data, size_t len)
{
    grpc_slice s = grpc_slice_from_copied_buffer(data, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

    grpc_slice_unref(s);
    return bb;
}

static const grpc_slice *md_find(const grpc_metadata_array *md, const char *key)
{
    size_t i;

    for (i = 0; i < md->count; i++) {
        if (grpc_slice_str_cmp(md->metadata[i].key, key) == 0) {
            return &md->metadata[i].value;
        }
    }
    return NULL;
}

static int slice_is(const grpc_slice *s, const void *data, size_t len)
{
    return s != NULL && GRPC_SLICE_LENGTH(*s) == len &&
           memcmp(GRPC_SLICE_START_PTR(*s), data, len) == 0;
}

#define NARGS 5

/* Message limits of 64 MiB, metadata of 16 MiB (grpc-go's default, as in
 * kubelet and containerd) and a short reconnect backoff. */
static void fill_args(grpc_arg *args)
{
    static char k_recv[] = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    static char k_send[] = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    static char k_init[] = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
    static char k_max[] = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
    static char k_md[] = GRPC_ARG_MAX_METADATA_SIZE;
    char *keys[] = {k_recv, k_send, k_init, k_max, k_md};
    int values[] = {64 * MIB, 64 * MIB, 100, 500, 16 * MIB};
    int i;

    for (i = 0; i < NARGS; i++) {
        args[i].type = GRPC_ARG_INTEGER;
        args[i].key = keys[i];
        args[i].value.integer = values[i];
    }
}

/* ---- the fake upstream ------------------------------------------------------ */

struct fake {
    char *path;
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_t handlers[MAX_HANDLERS];
    int nhandlers;
    atomic_int stopping;
    /* what the tests look at */
    atomic_int hang_started;
    atomic_int hang_cancelled;
    atomic_int pulls;
    atomic_int extra_pull_messages; /* request messages after a pull's first */
    unsigned char *last_request;    /* under lock */
    size_t last_request_len;
    char last_client_md[64];
};

struct fake_call {
    struct fake *fake;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_completion_queue *cq;
};

static struct fake g_fake;
static int g_shutdown_tag;

static int pluck(grpc_completion_queue *cq, void *tag)
{
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static int run_batch(struct fake_call *fc, grpc_op *ops, size_t n, void *tag)
{
    if (grpc_call_start_batch(fc->call, ops, n, tag, NULL) != GRPC_CALL_OK) {
        return 0;
    }
    return pluck(fc->cq, tag);
}

static void record_request(struct fake_call *fc, grpc_byte_buffer *bb)
{
    struct fake *f = fc->fake;
    const grpc_slice *md = md_find(&fc->md, "x-client-md");
    size_t len = 0;
    unsigned char *data = flatten(bb, &len);

    pthread_mutex_lock(&f->lock);
    pg_free(f->last_request);
    f->last_request = data;
    f->last_request_len = len;
    f->last_client_md[0] = '\0';
    if (md != NULL && GRPC_SLICE_LENGTH(*md) < sizeof(f->last_client_md)) {
        memcpy(f->last_client_md, GRPC_SLICE_START_PTR(*md), GRPC_SLICE_LENGTH(*md));
        f->last_client_md[GRPC_SLICE_LENGTH(*md)] = '\0';
    }
    pthread_mutex_unlock(&f->lock);
}

/* Unary answer: headers, one message, OK with a trailer. */
static void reply(struct fake_call *fc, grpc_byte_buffer *msg)
{
    grpc_metadata initial[2];
    grpc_metadata trailer;
    const grpc_slice *client = md_find(&fc->md, "x-client-md");
    grpc_slice details = grpc_slice_from_static_string("");
    grpc_op ops[3];

    memset(initial, 0, sizeof(initial));
    memset(&trailer, 0, sizeof(trailer));
    memset(ops, 0, sizeof(ops));
    initial[0].key = grpc_slice_from_static_string("x-up-initial");
    initial[0].value = grpc_slice_from_static_string("hello");
    initial[1].key = grpc_slice_from_static_string("x-echo-client");
    initial[1].value = client != NULL ? *client : grpc_slice_from_static_string("none");
    trailer.key = grpc_slice_from_static_string("x-up-trailer");
    trailer.value = grpc_slice_from_static_string("bye");
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = 2;
    ops[0].data.send_initial_metadata.metadata = initial;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = msg;
    ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
    ops[2].data.send_status_from_server.status_details = &details;
    ops[2].data.send_status_from_server.trailing_metadata_count = 1;
    ops[2].data.send_status_from_server.trailing_metadata = &trailer;
    run_batch(fc, ops, 3, (void *)2);
    grpc_byte_buffer_destroy(msg);
}

static void reply_stream(struct fake_call *fc)
{
    grpc_slice details = grpc_slice_from_static_string("");
    grpc_op op;
    char text[16];
    int i;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_INITIAL_METADATA;
    run_batch(fc, &op, 1, (void *)3);
    for (i = 0; i < 5; i++) {
        grpc_byte_buffer *bb;

        snprintf(text, sizeof(text), "msg-%d", i);
        bb = buffer_of(text, strlen(text));
        memset(&op, 0, sizeof(op));
        op.op = GRPC_OP_SEND_MESSAGE;
        op.data.send_message.send_message = bb;
        run_batch(fc, &op, 1, (void *)4);
        grpc_byte_buffer_destroy(bb);
    }
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op.data.send_status_from_server.status = GRPC_STATUS_OK;
    op.data.send_status_from_server.status_details = &details;
    run_batch(fc, &op, 1, (void *)5);
}

static const unsigned char k_details_bin[] = {0x08, 0x05, 0x12, 0x00, 0xff, 0x80, 0x01};

/* Trailers-only failure: status, binary details and a text trailer, no headers. */
static void reply_failure(struct fake_call *fc, grpc_status_code code, const char *message)
{
    grpc_metadata trailers[2];
    grpc_slice details = grpc_slice_from_copied_string(message);
    grpc_op ops[2];

    memset(trailers, 0, sizeof(trailers));
    memset(ops, 0, sizeof(ops));
    trailers[0].key = grpc_slice_from_static_string("grpc-status-details-bin");
    trailers[0].value = grpc_slice_from_static_buffer(k_details_bin, sizeof(k_details_bin));
    trailers[1].key = grpc_slice_from_static_string("x-why");
    trailers[1].value = grpc_slice_from_static_string("because");
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[1].data.send_status_from_server.status = code;
    ops[1].data.send_status_from_server.status_details = &details;
    ops[1].data.send_status_from_server.trailing_metadata_count = 2;
    ops[1].data.send_status_from_server.trailing_metadata = trailers;
    run_batch(fc, ops, 2, (void *)6);
    grpc_slice_unref(details);
}

static grpc_byte_buffer *pull_response(void)
{
    Runtime__V1__PullImageResponse resp = RUNTIME__V1__PULL_IMAGE_RESPONSE__INIT;
    unsigned char buf[64];
    size_t n;

    resp.image_ref = (char *)"sha256:feed";
    n = runtime__v1__pull_image_response__pack(&resp, buf);
    return buffer_of(buf, n);
}

/* containerd's gRPC server (grpc-go) drops one leading '/' before routing,
 * so "runtime.v1.ImageService/PullImage" reaches PullImage too. */
static int routes_to_pull(grpc_slice method)
{
    const char *p = (const char *)GRPC_SLICE_START_PTR(method);
    size_t n = GRPC_SLICE_LENGTH(method);
    static const char *const names[] = {"runtime.v1.ImageService/PullImage",
                                        "runtime.v1alpha2.ImageService/PullImage"};

    if (n > 0 && p[0] == '/') {
        p++;
        n--;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (n == strlen(names[i]) && memcmp(p, names[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

static void handle(struct fake_call *fc, grpc_byte_buffer *req)
{
    struct fake *f = fc->fake;
    grpc_slice method = fc->details.method;

    if (grpc_slice_str_cmp(method, "/test.Echo/Unary") == 0) {
        reply(fc, grpc_byte_buffer_copy(req));
    } else if (grpc_slice_str_cmp(method, "/test.Echo/Big") == 0) {
        unsigned char *big = pg_malloc(6 * MIB);

        memset(big, 'b', 6 * MIB);
        reply(fc, buffer_of(big, 6 * MIB));
        pg_free(big);
    } else if (grpc_slice_str_cmp(method, "/test.Echo/Stream") == 0) {
        reply_stream(fc);
    } else if (grpc_slice_str_cmp(method, "/test.Echo/Fail") == 0) {
        reply_failure(fc, GRPC_STATUS_NOT_FOUND, "no such thing");
    } else if (grpc_slice_str_cmp(method, "/test.Echo/LongFail") == 0) {
        char *text = pg_malloc(LONG_TEXT + 1);

        memset(text, 'e', LONG_TEXT);
        text[LONG_TEXT] = '\0';
        reply_failure(fc, GRPC_STATUS_NOT_FOUND, text);
        pg_free(text);
    } else if (grpc_slice_str_cmp(method, "/test.Echo/Slow") == 0) {
        sleep_ms(800);
        reply(fc, grpc_byte_buffer_copy(req));
    } else if (grpc_slice_str_cmp(method, "/test.Echo/Hang") == 0) {
        atomic_store(&f->hang_started, 1);
    } else if (routes_to_pull(method)) {
        grpc_byte_buffer *more = NULL;
        grpc_op op;

        memset(&op, 0, sizeof(op));
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &more;
        if (run_batch(fc, &op, 1, (void *)8) && more != NULL) {
            atomic_fetch_add(&f->extra_pull_messages, 1);
            grpc_byte_buffer_destroy(more);
        }
        atomic_fetch_add(&f->pulls, 1);
        reply(fc, pull_response());
    } else {
        reply_failure(fc, GRPC_STATUS_UNIMPLEMENTED, "unknown method");
    }
}

static void *fake_call_main(void *arg)
{
    struct fake_call *fc = arg;
    grpc_byte_buffer *req = NULL;
    int cancelled = 0;
    grpc_op op;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &cancelled;
    grpc_call_start_batch(fc->call, &op, 1, (void *)1, NULL);
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &req;
    if (run_batch(fc, &op, 1, (void *)7) && req != NULL) {
        record_request(fc, req);
        handle(fc, req);
    }
    pluck(fc->cq, (void *)1);
    if (cancelled && grpc_slice_str_cmp(fc->details.method, "/test.Echo/Hang") == 0) {
        atomic_store(&fc->fake->hang_cancelled, 1);
    }
    grpc_byte_buffer_destroy(req);
    grpc_call_unref(fc->call);
    grpc_completion_queue_shutdown(fc->cq);
    grpc_completion_queue_destroy(fc->cq);
    grpc_metadata_array_destroy(&fc->md);
    grpc_call_details_destroy(&fc->details);
    pg_free(fc);
    return NULL;
}

static struct fake_call *fake_arm(struct fake *f)
{
    struct fake_call *fc = pg_calloc(1, sizeof(*fc));

    fc->fake = f;
    fc->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_call_details_init(&fc->details);
    grpc_metadata_array_init(&fc->md);
    grpc_server_request_call(f->server, &fc->call, &fc->details, &fc->md, fc->cq, f->cq, fc);
    return fc;
}

static void fake_call_drop(struct fake_call *fc)
{
    grpc_completion_queue_shutdown(fc->cq);
    grpc_completion_queue_destroy(fc->cq);
    grpc_metadata_array_destroy(&fc->md);
    grpc_call_details_destroy(&fc->details);
    pg_free(fc);
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    grpc_event ev;

    fake_arm(f);
    for (;;) {
        ev = grpc_completion_queue_next(f->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) {
            break;
        }
        if (ev.tag == &g_shutdown_tag) {
            grpc_completion_queue_shutdown(f->cq);
            continue;
        }
        if (!ev.success || atomic_load(&f->stopping) || f->nhandlers == MAX_HANDLERS) {
            if (ev.success) {
                grpc_call_cancel(((struct fake_call *)ev.tag)->call, NULL);
                grpc_call_unref(((struct fake_call *)ev.tag)->call);
            }
            fake_call_drop(ev.tag);
            continue;
        }
        pthread_create(&f->handlers[f->nhandlers++], NULL, fake_call_main, ev.tag);
        fake_arm(f);
    }
    return NULL;
}

static void fake_start(struct fake *f)
{
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    grpc_channel_args args;
    grpc_arg arg[NARGS];
    char *addr = pg_asprintf("unix:%s", f->path);

    fill_args(arg);
    args.num_args = NARGS;
    args.args = arg;
    f->nhandlers = 0;
    atomic_store(&f->stopping, 0);
    f->server = grpc_server_create(&args, NULL);
    f->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(f->server, f->cq, NULL);
    grpc_server_add_http2_port(f->server, addr, creds);
    grpc_server_credentials_release(creds);
    pg_free(addr);
    grpc_server_start(f->server);
    pthread_create(&f->thread, NULL, fake_main, f);
}

static void fake_stop(struct fake *f)
{
    int i;

    atomic_store(&f->stopping, 1);
    grpc_server_shutdown_and_notify(f->server, f->cq, &g_shutdown_tag);
    grpc_server_cancel_all_calls(f->server);
    pthread_join(f->thread, NULL);
    for (i = 0; i < f->nhandlers; i++) {
        pthread_join(f->handlers[i], NULL);
    }
    grpc_server_destroy(f->server);
    grpc_completion_queue_destroy(f->cq);
    f->server = NULL;
}

static void fake_reset(struct fake *f)
{
    atomic_store(&f->hang_started, 0);
    atomic_store(&f->hang_cancelled, 0);
    atomic_store(&f->pulls, 0);
    pthread_mutex_lock(&f->lock);
    pg_free(f->last_request);
    f->last_request = NULL;
    f->last_request_len = 0;
    f->last_client_md[0] = '\0';
    pthread_mutex_unlock(&f->lock);
}

static int fake_last_request_is(struct fake *f, const void *data, size_t len)
{
    int same;

    pthread_mutex_lock(&f->lock);
    same = f->last_request != NULL && f->last_request_len == len &&
           memcmp(f->last_request, data, len) == 0;
    pthread_mutex_unlock(&f->lock);
    return same;
}

/* ---- the test client -------------------------------------------------------- */

struct rpc {
    grpc_call *call;
    grpc_completion_queue *cq;
    grpc_metadata_array initial;
    grpc_metadata_array trailing;
    grpc_status_code status;
    grpc_slice details;
    unsigned char *msgs[MAX_MSGS];
    size_t lens[MAX_MSGS];
    int nmsgs;
};

static grpc_channel *g_client;

static grpc_channel *client_open(const char *path)
{
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel_args args;
    grpc_arg arg[NARGS];
    char *target = pg_asprintf("unix:%s", path);
    grpc_channel *ch;

    fill_args(arg);
    args.num_args = NARGS;
    args.args = arg;
    ch = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);
    pg_free(target);
    return ch;
}

/* Starts a call sending one message; deadline_ms 0 means none. */
static void rpc_start(struct rpc *r, const char *method, const void *req, size_t len,
                      const grpc_metadata *md, size_t nmd, long deadline_ms)
{
    grpc_slice m = grpc_slice_from_static_string(method);
    gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_REALTIME);
    grpc_byte_buffer *bb = buffer_of(req, len);
    grpc_op ops[3];

    memset(r, 0, sizeof(*r));
    if (deadline_ms > 0) {
        deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                gpr_time_from_millis(deadline_ms, GPR_TIMESPAN));
    }
    r->cq = grpc_completion_queue_create_for_pluck(NULL);
    r->call = grpc_channel_create_call(g_client, NULL, GRPC_PROPAGATE_DEFAULTS, r->cq, m, NULL,
                                       deadline, NULL);
    grpc_metadata_array_init(&r->initial);
    grpc_metadata_array_init(&r->trailing);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &r->trailing;
    ops[0].data.recv_status_on_client.status = &r->status;
    ops[0].data.recv_status_on_client.status_details = &r->details;
    grpc_call_start_batch(r->call, ops, 1, (void *)1, NULL);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = nmd;
    ops[0].data.send_initial_metadata.metadata = (grpc_metadata *)md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    grpc_call_start_batch(r->call, ops, 3, (void *)2, NULL);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[0].data.recv_initial_metadata.recv_initial_metadata = &r->initial;
    grpc_call_start_batch(r->call, ops, 1, (void *)3, NULL);
    grpc_byte_buffer_destroy(bb);
}

/* Reads every message and the status. */
static void rpc_finish(struct rpc *r)
{
    grpc_op op;

    pluck(r->cq, (void *)2);
    pluck(r->cq, (void *)3);
    for (;;) {
        grpc_byte_buffer *bb = NULL;

        memset(&op, 0, sizeof(op));
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &bb;
        grpc_call_start_batch(r->call, &op, 1, (void *)4, NULL);
        if (!pluck(r->cq, (void *)4) || bb == NULL) {
            break;
        }
        if (r->nmsgs < MAX_MSGS) {
            r->msgs[r->nmsgs] = flatten(bb, &r->lens[r->nmsgs]);
            r->nmsgs++;
        }
        grpc_byte_buffer_destroy(bb);
    }
    pluck(r->cq, (void *)1);
}

static void rpc_free(struct rpc *r)
{
    int i;

    for (i = 0; i < r->nmsgs; i++) {
        pg_free(r->msgs[i]);
    }
    grpc_metadata_array_destroy(&r->initial);
    grpc_metadata_array_destroy(&r->trailing);
    grpc_slice_unref(r->details);
    grpc_call_unref(r->call);
    grpc_completion_queue_shutdown(r->cq);
    grpc_completion_queue_destroy(r->cq);
}

static void rpc_call(struct rpc *r, const char *method, const void *req, size_t len,
                     long deadline_ms)
{
    rpc_start(r, method, req, len, NULL, 0, deadline_ms);
    rpc_finish(r);
}

static int details_are(const struct rpc *r, const char *text)
{
    return slice_is(&r->details, text, strlen(text));
}

/* ---- the pull hooks used by the tests --------------------------------------- */

enum hook_mode { HOOK_ALLOW, HOOK_SLOW, HOOK_DENY, HOOK_REWRITE, HOOK_BLOCK };

static struct {
    enum hook_mode mode;
    int post_fails;
    atomic_int entered;
    atomic_int saw_cancel;
    atomic_int released;
    atomic_int post_calls;
    char api_version[16];
    int request_intact;
    int user_ok;
    unsigned char rewritten[256];
    size_t rewritten_len;
} g_hook;

static const unsigned char *g_pull_req;
static size_t g_pull_req_len;

static void wait_released_or_cancelled(const struct pg_pull_ctx *ctx, long max_ms)
{
    long end = now_ms() + max_ms;

    while (now_ms() < end && !atomic_load(&g_hook.released)) {
        if (atomic_load(ctx->cancelled)) {
            atomic_store(&g_hook.saw_cancel, 1);
            return;
        }
        sleep_ms(5);
    }
}

static void test_pre(struct pg_pull_ctx *ctx, struct pg_pull_decision *d)
{
    atomic_fetch_add(&g_hook.entered, 1);
    snprintf(g_hook.api_version, sizeof(g_hook.api_version), "%s", ctx->api_version);
    g_hook.request_intact =
        ctx->request_len == g_pull_req_len && memcmp(ctx->request, g_pull_req, g_pull_req_len) == 0;
    g_hook.user_ok = ctx->user == &g_hook;
    switch (g_hook.mode) {
    case HOOK_SLOW:
        wait_released_or_cancelled(ctx, 1500);
        break;
    case HOOK_BLOCK:
        wait_released_or_cancelled(ctx, 20000);
        break;
    case HOOK_DENY:
        d->verdict = PG_PULL_DENY;
        d->grpc_code = GRPC_STATUS_PERMISSION_DENIED;
        snprintf(d->message, sizeof(d->message), "SignatureValidationFailed: image is not signed");
        break;
    case HOOK_REWRITE:
        d->verdict = PG_PULL_ALLOW_REWRITTEN;
        d->rewritten = pg_malloc(g_hook.rewritten_len);
        memcpy(d->rewritten, g_hook.rewritten, g_hook.rewritten_len);
        d->rewritten_len = g_hook.rewritten_len;
        break;
    default:
        break;
    }
    ctx->state = pg_strdup("per-pull state");
}

static void test_post(struct pg_pull_ctx *ctx, struct pg_pull_outcome *o)
{
    atomic_fetch_add(&g_hook.post_calls, 1);
    if (ctx->state == NULL || strcmp(ctx->state, "per-pull state") != 0) {
        return; /* the test sees post_fails ignored and fails */
    }
    if (g_hook.post_fails && o->grpc_code == GRPC_STATUS_OK && o->response != NULL) {
        o->grpc_code = GRPC_STATUS_FAILED_PRECONDITION;
        snprintf(o->message, sizeof(o->message), "could not record tag");
    }
}

static void test_release(struct pg_pull_ctx *ctx)
{
    pg_free(ctx->state);
    ctx->state = NULL;
}

/* ---- fixture ---------------------------------------------------------------- */

static char *g_dir;
static char *g_proxy_path;
static struct pg_proxy *g_proxy;
static unsigned char *g_pull_bytes;

static void hook_reset(enum hook_mode mode)
{
    memset(&g_hook, 0, sizeof(g_hook));
    g_hook.mode = mode;
}

/* Starts a proxy in front of the fake; hooks when with_hooks. */
static enum pg_status proxy_up(int with_hooks, int workers, int queue)
{
    struct pg_proxy_options o;
    struct pg_err err;
    enum pg_status rc;

    memset(&o, 0, sizeof(o));
    o.listen_path = g_proxy_path;
    o.upstream_path = g_fake.path;
    o.cq_threads = 2;
    o.workers = workers;
    o.queue_length = queue;
    o.drain_timeout_ms = 2000;
    if (with_hooks) {
        o.hooks.pre = test_pre;
        o.hooks.post = test_post;
        o.hooks.release = test_release;
        o.hooks.user = &g_hook;
    }
    pg_err_init(&err);
    rc = pg_proxy_start(&o, &g_proxy, &err);
    if (rc != PG_OK) {
        fprintf(stderr, "    proxy start: %s\n", err.msg);
        return rc;
    }
    g_client = client_open(g_proxy_path);
    return PG_OK;
}

static void proxy_down(void)
{
    if (g_client != NULL) {
        grpc_channel_destroy(g_client);
        g_client = NULL;
    }
    pg_proxy_stop(g_proxy);
    g_proxy = NULL;
    fake_reset(&g_fake);
}

/* A PullImageRequest for image, packed into g_pull_bytes. */
static size_t make_pull(const char *image)
{
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    Runtime__V1__PodSandboxConfig sandbox = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    Runtime__V1__PodSandboxMetadata meta = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
    size_t n;

    spec.image = (char *)image;
    meta.name = (char *)"web";
    meta.namespace_ = (char *)"default";
    sandbox.metadata = &meta;
    req.image = &spec;
    req.sandbox_config = &sandbox;
    n = runtime__v1__pull_image_request__get_packed_size(&req);
    pg_free(g_pull_bytes);
    g_pull_bytes = pg_malloc(n + 1);
    runtime__v1__pull_image_request__pack(&req, g_pull_bytes);
    g_pull_req = g_pull_bytes;
    g_pull_req_len = n;
    return n;
}

static int response_is_feed(const struct rpc *r)
{
    Runtime__V1__PullImageResponse *resp;
    int ok;

    if (r->nmsgs != 1) {
        return 0;
    }
    resp = runtime__v1__pull_image_response__unpack(NULL, r->lens[0], r->msgs[0]);
    ok = resp != NULL && strcmp(resp->image_ref, "sha256:feed") == 0;
    runtime__v1__pull_image_response__free_unpacked(resp, NULL);
    return ok;
}

/* ---- relay tests ------------------------------------------------------------ */

static void unary_bytes_unchanged(void)
{
    unsigned char req[1000];
    struct rpc r;
    size_t i;

    for (i = 0; i < sizeof(req); i++) {
        req[i] = (unsigned char)(i * 7 % 256);
    }
    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    rpc_call(&r, "/test.Echo/Unary", req, sizeof(req), slack(5000));
    CHECK(r.status == GRPC_STATUS_OK);
    CHECK(r.nmsgs == 1 && r.lens[0] == sizeof(req) && memcmp(r.msgs[0], req, sizeof(req)) == 0);
    CHECK(fake_last_request_is(&g_fake, req, sizeof(req)));
    rpc_free(&r);
    proxy_down();
}

static void metadata_both_ways(void)
{
    grpc_metadata md[2];
    static const unsigned char bin[] = {0, 1, 2, 0xff};
    struct rpc r;

    memset(md, 0, sizeof(md));
    md[0].key = grpc_slice_from_static_string("x-client-md");
    md[0].value = grpc_slice_from_static_string("from-the-client");
    md[1].key = grpc_slice_from_static_string("x-blob-bin");
    md[1].value = grpc_slice_from_static_buffer(bin, sizeof(bin));
    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    rpc_start(&r, "/test.Echo/Unary", "x", 1, md, 2, 5000);
    rpc_finish(&r);
    CHECK(r.status == GRPC_STATUS_OK);
    pthread_mutex_lock(&g_fake.lock);
    CHECK(strcmp(g_fake.last_client_md, "from-the-client") == 0);
    pthread_mutex_unlock(&g_fake.lock);
    CHECK(slice_is(md_find(&r.initial, "x-up-initial"), "hello", 5));
    CHECK(slice_is(md_find(&r.initial, "x-echo-client"), "from-the-client", 15));
    CHECK(slice_is(md_find(&r.trailing, "x-up-trailer"), "bye", 3));
    rpc_free(&r);
    proxy_down();
}

/* What a raw HTTP/2 client got back: the body and the grpc-status line. */
struct raw_answer {
    char status[32];
    char message[256];
    size_t body_len;
};

static size_t raw_header(char *data, size_t size, size_t n, void *arg)
{
    struct raw_answer *a = arg;
    size_t len = size * n;

    if (len > 13 && strncmp(data, "grpc-status: ", 13) == 0 && len - 13 < sizeof(a->status)) {
        memcpy(a->status, data + 13, len - 13);
        a->status[strcspn(a->status, "\r\n")] = '\0';
    }
    if (len > 14 && strncmp(data, "grpc-message: ", 14) == 0 && len - 14 < sizeof(a->message)) {
        memcpy(a->message, data + 14, len - 14);
        a->message[strcspn(a->message, "\r\n")] = '\0';
    }
    return len;
}

static size_t raw_body(char *data, size_t size, size_t n, void *arg)
{
    struct raw_answer *a = arg;

    (void)data;
    a->body_len += size * n;
    return size * n;
}

static const char k_ping_frame[] = {0, 0, 0, 0, 4, 'p', 'i', 'n', 'g'};

/* A unary call on the proxy's socket by libcurl, which sends header bytes
 * that a gRPC core client would refuse to send; frame is the whole body. */
static int raw_call(const char *method, const char *extra_header, const char *frame,
                    size_t frame_len, struct raw_answer *a)
{
    struct curl_slist *h = NULL;
    char *url = pg_asprintf("http://localhost%s", method);
    CURL *curl = curl_easy_init();
    CURLcode rc;

    memset(a, 0, sizeof(*a));
    h = curl_slist_append(h, "content-type: application/grpc");
    h = curl_slist_append(h, "te: trailers");
    h = curl_slist_append(h, "x-client-md: kept");
    h = curl_slist_append(h, extra_header);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, g_proxy_path);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, frame);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)frame_len);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, raw_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, raw_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, slack(5000));
    rc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    curl_slist_free_all(h);
    pg_free(url);
    return rc == CURLE_OK ? 0 : -1;
}

static void unsendable_metadata_is_dropped(void)
{
    struct raw_answer a;

    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    /* gRPC core accepts this header from the wire but will not send it on. */
    CHECK(raw_call("/test.Echo/Unary", "x-weird: a\200b", k_ping_frame, sizeof(k_ping_frame), &a) ==
          0);
    CHECK(strcmp(a.status, "0") == 0);
    CHECK(a.body_len == 9);
    pthread_mutex_lock(&g_fake.lock);
    CHECK(strcmp(g_fake.last_client_md, "kept") == 0);
    pthread_mutex_unlock(&g_fake.lock);
    proxy_down();
}

/* containerd installs no decompressor and answers UNIMPLEMENTED; the proxy
 * must not inflate what upstream would refuse (a small request can inflate
 * to the 64 MiB limit). */
static void compressed_request_refused(void)
{
    /* "ping", gzip-compressed, in a frame with the compressed flag. */
    static const char frame[] = {1,    0,    0,    0,    24,   0x1f, 0x8b, 0x08, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x02, 0x03, 0x2b, 0xc8, 0xcc, 0x4b, 0x07,
                                 0x00, 0xfd, 0x3d, 0xd5, 0x25, 0x04, 0x00, 0x00, 0x00};
    struct raw_answer a;

    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    fake_reset(&g_fake);
    CHECK(raw_call("/test.Echo/Unary", "grpc-encoding: gzip", frame, sizeof(frame), &a) == 0);
    CHECK(strcmp(a.status, "12") == 0);
    CHECK(a.body_len == 0);
    CHECK(!fake_last_request_is(&g_fake, "ping", 4));
    /* Uncompressed calls are unaffected. */
    CHECK(raw_call("/test.Echo/Unary", "x-plain: yes", k_ping_frame, sizeof(k_ping_frame), &a) ==
          0);
    CHECK(strcmp(a.status, "0") == 0);
    CHECK(fake_last_request_is(&g_fake, "ping", 4));
    if (pg_check_failed_now()) {
        fprintf(stderr, "    the plain call answered grpc-status \"%s\": %s\n", a.status,
                a.message);
    }
    proxy_down();
}

static void large_messages_pass(void)
{
    unsigned char *req = pg_malloc(16 * MIB);
    struct rpc r;

    memset(req, 'r', 16 * MIB);
    req[12345] = 'X';
    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    rpc_call(&r, "/test.Echo/Big", "x", 1, slack(10000));
    CHECK(r.status == GRPC_STATUS_OK);
    CHECK(r.nmsgs == 1 && r.lens[0] == 6 * MIB && r.msgs[0][6 * MIB - 1] == 'b');
    rpc_free(&r);
    rpc_call(&r, "/test.Echo/Unary", req, 16 * MIB, slack(10000));
    CHECK(r.status == GRPC_STATUS_OK);
    CHECK(r.nmsgs == 1 && r.lens[0] == 16 * MIB && memcmp(r.msgs[0], req, 16 * MIB) == 0);
    CHECK(fake_last_request_is(&g_fake, req, 16 * MIB));
    rpc_free(&r);
    pg_free(req);
    proxy_down();
}

static void server_stream_in_order(void)
{
    struct rpc r;
    char want[16];
    int i;

    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    rpc_call(&r, "/test.Echo/Stream", "x", 1, slack(5000));
    CHECK(r.status == GRPC_STATUS_OK);
    CHECK(r.nmsgs == 5);
    for (i = 0; i < r.nmsgs; i++) {
        snprintf(want, sizeof(want), "msg-%d", i);
        CHECK(r.lens[i] == strlen(want) && memcmp(r.msgs[i], want, r.lens[i]) == 0);
    }
    rpc_free(&r);
    proxy_down();
}

static void trailers_only_error_kept(void)
{
    struct rpc r;

    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    rpc_call(&r, "/test.Echo/Fail", "x", 1, slack(5000));
    CHECK(r.status == GRPC_STATUS_NOT_FOUND);
    CHECK(details_are(&r, "no such thing"));
    CHECK(r.nmsgs == 0);
    CHECK(slice_is(md_find(&r.trailing, "grpc-status-details-bin"), k_details_bin,
                   sizeof(k_details_bin)));
    CHECK(slice_is(md_find(&r.trailing, "x-why"), "because", 7));
    rpc_free(&r);
    /* An unknown method is relayed too, and answered by upstream. */
    rpc_call(&r, "/runtime.v1.RuntimeService/SomethingNew", "x", 1, slack(5000));
    CHECK(r.status == GRPC_STATUS_UNIMPLEMENTED);
    CHECK(details_are(&r, "unknown method"));
    rpc_free(&r);
    proxy_down();
}

static void long_metadata_passes(void)
{
    grpc_metadata md;
    char *big = pg_malloc(LONG_TEXT);
    struct rpc r;

    memset(big, 'm', LONG_TEXT);
    memset(&md, 0, sizeof(md));
    md.key = grpc_slice_from_static_string("x-big");
    md.value = grpc_slice_from_static_buffer(big, LONG_TEXT);
    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    /* A long error message from upstream (a runtime error chain, say). */
    rpc_call(&r, "/test.Echo/LongFail", "x", 1, slack(5000));
    CHECK(r.status == GRPC_STATUS_NOT_FOUND);
    CHECK(GRPC_SLICE_LENGTH(r.details) == LONG_TEXT);
    rpc_free(&r);
    /* Long client metadata on the way up. */
    rpc_start(&r, "/test.Echo/Unary", "x", 1, &md, 1, 5000);
    rpc_finish(&r);
    CHECK(r.status == GRPC_STATUS_OK);
    rpc_free(&r);
    proxy_down();
    pg_free(big);
}

static void deadline_reaches_upstream(void)
{
    struct rpc r;
    long t0 = now_ms();

    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    rpc_call(&r, "/test.Echo/Hang", "x", 1, 500);
    CHECK(r.status == GRPC_STATUS_DEADLINE_EXCEEDED);
    CHECK(now_ms() - t0 < slack(3000));
    CHECK(wait_flag(&g_fake.hang_cancelled, slack(3000)));
    rpc_free(&r);
    proxy_down();
}

static void cancel_reaches_upstream(void)
{
    struct rpc r;

    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    rpc_start(&r, "/test.Echo/Hang", "x", 1, NULL, 0, 0);
    CHECK(wait_flag(&g_fake.hang_started, slack(3000)));
    grpc_call_cancel(r.call, NULL);
    rpc_finish(&r);
    CHECK(r.status == GRPC_STATUS_CANCELLED);
    CHECK(wait_flag(&g_fake.hang_cancelled, slack(3000)));
    rpc_free(&r);
    proxy_down();
}

static void upstream_restart_recovers(void)
{
    struct rpc r;
    long end;
    int ok = 0;

    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    fake_stop(&g_fake);
    rpc_call(&r, "/test.Echo/Unary", "x", 1, slack(5000));
    CHECK(r.status == GRPC_STATUS_UNAVAILABLE);
    rpc_free(&r);
    fake_start(&g_fake);
    end = now_ms() + slack(5000);
    while (!ok && now_ms() < end) {
        rpc_call(&r, "/test.Echo/Unary", "again", 5, 2000);
        ok = r.status == GRPC_STATUS_OK && r.nmsgs == 1 && r.lens[0] == 5;
        rpc_free(&r);
        if (!ok) {
            sleep_ms(50);
        }
    }
    CHECK(ok);
    proxy_down();
}

/* ---- PullImage seam tests --------------------------------------------------- */

static void slow_hook_does_not_stall(void)
{
    struct rpc pull;
    struct rpc other;
    size_t n = make_pull("registry.example/app:1");
    long t0;

    hook_reset(HOOK_SLOW);
    REQUIRE(proxy_up(1, 2, 4) == PG_OK);
    rpc_start(&pull, "/runtime.v1.ImageService/PullImage", g_pull_bytes, n, NULL, 0, 0);
    CHECK(wait_flag(&g_hook.entered, slack(3000)));
    t0 = now_ms();
    rpc_call(&other, "/test.Echo/Unary", "quick", 5, slack(5000));
    CHECK(other.status == GRPC_STATUS_OK);
    CHECK(now_ms() - t0 < slack(500));
    CHECK(atomic_load(&g_fake.pulls) == 0); /* the pull still waits for its hook */
    rpc_free(&other);
    rpc_finish(&pull);
    CHECK(pull.status == GRPC_STATUS_OK);
    CHECK(response_is_feed(&pull));
    CHECK(atomic_load(&g_fake.pulls) == 1);
    CHECK(fake_last_request_is(&g_fake, g_pull_bytes, n));
    CHECK(g_hook.request_intact && g_hook.user_ok);
    CHECK(strcmp(g_hook.api_version, "v1") == 0);
    CHECK(atomic_load(&g_hook.post_calls) == 1);
    rpc_free(&pull);
    proxy_down();
}

static void denied_pull_never_forwarded(void)
{
    struct rpc r;
    size_t n = make_pull("registry.example/unsigned:1");

    hook_reset(HOOK_DENY);
    REQUIRE(proxy_up(1, 2, 4) == PG_OK);
    rpc_call(&r, "/runtime.v1.ImageService/PullImage", g_pull_bytes, n, slack(5000));
    CHECK(r.status == GRPC_STATUS_PERMISSION_DENIED);
    CHECK(details_are(&r, "SignatureValidationFailed: image is not signed"));
    CHECK(r.nmsgs == 0);
    CHECK(atomic_load(&g_fake.pulls) == 0);
    CHECK(atomic_load(&g_hook.post_calls) == 0);
    rpc_free(&r);
    proxy_down();
}

/* containerd refuses a request over 16 MiB; one that size must not be held
 * and copied while it waits for a hook thread: a queue of them would take
 * gigabytes. */
static void oversized_pull_refused_before_the_hook(void)
{
    size_t n = make_pull("registry.example/signed:1");
    size_t pad = 16 * MIB;
    unsigned char *big = pg_malloc(n + 16 + pad);
    size_t len = n;
    size_t v = pad;
    struct rpc r;

    /* The request, then an unknown field 99 of 16 MiB, which protobuf keeps. */
    memcpy(big, g_pull_bytes, n);
    big[len++] = 0x9a; /* field 99, length-delimited */
    big[len++] = 0x06;
    do {
        big[len++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    memset(big + len, 'p', pad);
    len += pad;
    hook_reset(HOOK_ALLOW);
    REQUIRE(proxy_up(1, 2, 4) == PG_OK);
    rpc_call(&r, "/runtime.v1.ImageService/PullImage", big, len, slack(10000));
    CHECK(r.status == GRPC_STATUS_RESOURCE_EXHAUSTED);
    CHECK(atomic_load(&g_hook.entered) == 0);
    CHECK(atomic_load(&g_fake.pulls) == 0);
    rpc_free(&r);
    /* The same request without the padding still goes through. */
    rpc_call(&r, "/runtime.v1.ImageService/PullImage", g_pull_bytes, n, slack(5000));
    CHECK(r.status == GRPC_STATUS_OK);
    rpc_free(&r);
    proxy_down();
    pg_free(big);
}

/* A path upstream routes to PullImage must never bypass the hook. */
static void pull_aliases_never_bypass_the_hook(void)
{
    static const char *const paths[] = {"runtime.v1.ImageService/PullImage",
                                        "runtime.v1alpha2.ImageService/PullImage"};
    size_t n = make_pull("registry.example/unsigned:1");

    hook_reset(HOOK_DENY);
    REQUIRE(proxy_up(1, 2, 4) == PG_OK);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct rpc r;

        rpc_call(&r, paths[i], g_pull_bytes, n, slack(5000));
        CHECK(r.status != GRPC_STATUS_OK);
        CHECK(r.nmsgs == 0);
        rpc_free(&r);
    }
    CHECK(atomic_load(&g_fake.pulls) == 0);
    proxy_down();
}

/* Two framed copies of the pull request, sent as one unary call. */
static void second_pull_message_never_forwarded(void)
{
    size_t n = make_pull("registry.example/app:2");
    char *frames = pg_malloc(2 * (n + 5));
    struct raw_answer a;

    for (int i = 0; i < 2; i++) {
        char *f = frames + (size_t)i * (n + 5);

        f[0] = 0;
        f[1] = (char)((n >> 24) & 0xff);
        f[2] = (char)((n >> 16) & 0xff);
        f[3] = (char)((n >> 8) & 0xff);
        f[4] = (char)(n & 0xff);
        memcpy(f + 5, g_pull_bytes, n);
    }
    hook_reset(HOOK_ALLOW);
    REQUIRE(proxy_up(1, 2, 4) == PG_OK);
    CHECK(raw_call("/runtime.v1.ImageService/PullImage", "x-test: two", frames, 2 * (n + 5), &a) ==
          0);
    CHECK(strcmp(a.status, "3") == 0); /* INVALID_ARGUMENT */
    CHECK(atomic_load(&g_fake.extra_pull_messages) == 0);
    pg_free(frames);
    proxy_down();
}

static void rewritten_pull_forwards_new_bytes(void)
{
    struct rpc r;
    size_t n;

    n = make_pull("registry.example/app@sha256:0123");
    hook_reset(HOOK_REWRITE);
    memcpy(g_hook.rewritten, g_pull_bytes, n);
    g_hook.rewritten_len = n;
    n = make_pull("registry.example/app:1");
    REQUIRE(proxy_up(1, 2, 4) == PG_OK);
    rpc_call(&r, "/runtime.v1alpha2.ImageService/PullImage", g_pull_bytes, n, slack(5000));
    CHECK(r.status == GRPC_STATUS_OK);
    CHECK(response_is_feed(&r));
    CHECK(strcmp(g_hook.api_version, "v1alpha2") == 0);
    CHECK(atomic_load(&g_fake.pulls) == 1);
    CHECK(fake_last_request_is(&g_fake, g_hook.rewritten, g_hook.rewritten_len));
    rpc_free(&r);
    proxy_down();
}

static void post_hook_can_fail_pull(void)
{
    struct rpc r;
    size_t n = make_pull("registry.example/app:2");

    hook_reset(HOOK_ALLOW);
    g_hook.post_fails = 1;
    REQUIRE(proxy_up(1, 2, 4) == PG_OK);
    rpc_call(&r, "/runtime.v1.ImageService/PullImage", g_pull_bytes, n, slack(5000));
    CHECK(atomic_load(&g_fake.pulls) == 1);
    CHECK(r.status == GRPC_STATUS_FAILED_PRECONDITION);
    CHECK(details_are(&r, "could not record tag"));
    CHECK(r.nmsgs == 0);
    rpc_free(&r);
    proxy_down();
}

static void cancelled_pull_never_forwarded(void)
{
    struct rpc r;
    size_t n = make_pull("registry.example/app:3");

    hook_reset(HOOK_BLOCK);
    REQUIRE(proxy_up(1, 2, 4) == PG_OK);
    rpc_start(&r, "/runtime.v1.ImageService/PullImage", g_pull_bytes, n, NULL, 0, 0);
    CHECK(wait_flag(&g_hook.entered, slack(3000)));
    grpc_call_cancel(r.call, NULL);
    rpc_finish(&r);
    CHECK(r.status == GRPC_STATUS_CANCELLED);
    CHECK(wait_flag(&g_hook.saw_cancel, slack(3000)));
    sleep_ms(100);
    CHECK(atomic_load(&g_fake.pulls) == 0);
    rpc_free(&r);
    proxy_down();
}

static void full_queue_is_resource_exhausted(void)
{
    struct rpc running;
    struct rpc queued;
    struct rpc refused;
    size_t n = make_pull("registry.example/app:4");

    hook_reset(HOOK_BLOCK);
    REQUIRE(proxy_up(1, 1, 1) == PG_OK);
    rpc_start(&running, "/runtime.v1.ImageService/PullImage", g_pull_bytes, n, NULL, 0, 0);
    CHECK(wait_flag(&g_hook.entered, slack(3000)));
    rpc_start(&queued, "/runtime.v1.ImageService/PullImage", g_pull_bytes, n, NULL, 0, 0);
    sleep_ms(slack(200)); /* let it reach the queue */
    rpc_call(&refused, "/runtime.v1.ImageService/PullImage", g_pull_bytes, n, slack(5000));
    CHECK(refused.status == GRPC_STATUS_RESOURCE_EXHAUSTED);
    CHECK(strstr((const char *)GRPC_SLICE_START_PTR(refused.details), "queue of 1 is full") !=
          NULL);
    atomic_store(&g_hook.released, 1);
    rpc_finish(&running);
    rpc_finish(&queued);
    CHECK(running.status == GRPC_STATUS_OK && queued.status == GRPC_STATUS_OK);
    CHECK(atomic_load(&g_fake.pulls) == 2);
    rpc_free(&running);
    rpc_free(&queued);
    rpc_free(&refused);
    proxy_down();
}

/* ---- socket tests ----------------------------------------------------------- */

static void make_stale_socket(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd); /* the file stays, nobody listens */
}

static void socket_mode_and_stale_file(void)
{
    struct pg_proxy *second = NULL;
    struct pg_proxy_options o;
    struct pg_err err;
    struct stat st;
    struct rpc r;

    make_stale_socket(g_proxy_path);
    REQUIRE(stat(g_proxy_path, &st) == 0 && S_ISSOCK(st.st_mode));
    REQUIRE(proxy_up(0, 1, 1) == PG_OK);
    REQUIRE(stat(g_proxy_path, &st) == 0);
    CHECK((st.st_mode & 07777) == 0660);
    rpc_call(&r, "/test.Echo/Unary", "x", 1, slack(5000));
    CHECK(r.status == GRPC_STATUS_OK);
    rpc_free(&r);
    /* A socket somebody serves is not taken over. */
    memset(&o, 0, sizeof(o));
    o.listen_path = g_proxy_path;
    o.upstream_path = g_fake.path;
    o.cq_threads = 1;
    o.workers = 1;
    o.queue_length = 1;
    pg_err_init(&err);
    CHECK(pg_proxy_start(&o, &second, &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "in use") != NULL);
    proxy_down();
}

/* A listen path in a missing directory is refused before gRPC tries to bind it. */
static void missing_listen_directory_is_named(void)
{
    struct pg_proxy *p = NULL;
    struct pg_proxy_options o;
    struct pg_err err;
    char *path = pg_asprintf("%s/no-such-dir/proxy.sock", g_dir);

    memset(&o, 0, sizeof(o));
    o.listen_path = path;
    o.upstream_path = g_fake.path;
    o.cq_threads = 1;
    o.workers = 1;
    o.queue_length = 1;
    pg_err_init(&err);
    CHECK(pg_proxy_start(&o, &p, &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "no-such-dir/proxy.sock\": its directory does not exist") != NULL);
    CHECK(p == NULL);
    pg_free(path);
}

/* ---- pullgate serve as a process -------------------------------------------- */

/* $PG_BUILD_DIR/pullgate, else the pullgate beside tests/ of this binary. */
static char *pullgate_path(void)
{
    const char *build = getenv("PG_BUILD_DIR");
    char self[4096];
    ssize_t n;
    char *slash;

    if (build != NULL) {
        return pg_asprintf("%s/pullgate", build);
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        return pg_strdup("pullgate");
    }
    self[n] = '\0';
    slash = strrchr(self, '/'); /* .../tests/test-proxy */
    if (slash != NULL) {
        *slash = '\0';
        slash = strrchr(self, '/');
    }
    if (slash != NULL) {
        *slash = '\0';
    }
    return pg_asprintf("%s/pullgate", self);
}

static pid_t spawn_serve(const char *config)
{
    char *exe = pullgate_path();
    char *argv[16];
    int n = 0;
    pid_t pid;

    if (getenv("PG_TEST_VALGRIND") != NULL) {
        argv[n++] = (char *)"valgrind";
        argv[n++] = (char *)"--quiet";
        argv[n++] = (char *)"--leak-check=full";
        argv[n++] = (char *)"--errors-for-leak-kinds=definite,indirect";
        argv[n++] = (char *)"--show-leak-kinds=definite,indirect";
        argv[n++] = (char *)"--error-exitcode=99";
    }
    argv[n++] = exe;
    argv[n++] = (char *)"serve";
    argv[n++] = (char *)"--config";
    argv[n++] = (char *)config;
    argv[n++] = (char *)"--listen";
    argv[n++] = g_proxy_path;
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    pg_free(exe);
    return pid;
}

static int wait_serving(pid_t pid, long ms)
{
    long end = now_ms() + ms;
    struct rpc r;
    int ok = 0;

    while (!ok && now_ms() < end && waitpid(pid, NULL, WNOHANG) == 0) {
        if (access(g_proxy_path, F_OK) == 0) {
            rpc_call(&r, "/test.Echo/Unary", "up?", 3, 1000);
            ok = r.status == GRPC_STATUS_OK;
            rpc_free(&r);
        }
        if (!ok) {
            sleep_ms(50);
        }
    }
    return ok;
}

static int wait_exit(pid_t pid, long ms, int *out_status)
{
    long end = now_ms() + ms;
    pid_t got = 0;

    while ((got = waitpid(pid, out_status, WNOHANG)) == 0 && now_ms() < end) {
        sleep_ms(20);
    }
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, out_status, 0);
        return 0;
    }
    return 1;
}

static void sigterm_drains_and_exits(void)
{
    char *config = pg_asprintf("%s/pullgate.conf", g_dir);
    char *text = pg_asprintf("# test configuration\nupstream = %s\ncq_threads = 3\n"
                             "drain_timeout_ms = %ld\nlog_level = warning\n",
                             g_fake.path, slack(1500));
    FILE *f = fopen(config, "w");
    struct rpc slow;
    struct rpc hang;
    int status = -1;
    pid_t pid;

    fputs(text, f);
    fclose(f);
    pid = spawn_serve(config);
    g_client = client_open(g_proxy_path);
    if (!wait_serving(pid, slack(5000) + 20000)) {
        CHECK(!"pullgate serve answers on its socket");
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        goto out;
    }
    rpc_start(&slow, "/test.Echo/Slow", "slow", 4, NULL, 0, 0);
    rpc_start(&hang, "/test.Echo/Hang", "x", 1, NULL, 0, 0);
    CHECK(wait_flag(&g_fake.hang_started, slack(3000)));
    CHECK(kill(pid, SIGTERM) == 0);
    rpc_finish(&slow);
    CHECK(slow.status == GRPC_STATUS_OK); /* in flight: drained, not cut */
    CHECK(slow.nmsgs == 1 && slow.lens[0] == 4);
    rpc_finish(&hang);
    CHECK(hang.status != GRPC_STATUS_OK); /* outlived the grace: cancelled */
    CHECK(wait_flag(&g_fake.hang_cancelled, slack(5000)));
    CHECK(wait_exit(pid, slack(5000) + 10000, &status));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "    pullgate serve ended with status 0x%x\n", (unsigned)status);
    }
    rpc_free(&slow);
    rpc_free(&hang);
out:
    grpc_channel_destroy(g_client);
    g_client = NULL;
    fake_reset(&g_fake);
    pg_free(text);
    pg_free(config);
}

int main(int argc, char **argv)
{
    int only_serve = argc > 1 && strcmp(argv[1], "--serve-only") == 0;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    grpc_init();
    g_dir = pg_check_tmpdir();
    g_proxy_path = pg_asprintf("%s/proxy.sock", g_dir);
    g_fake.path = pg_asprintf("%s/upstream.sock", g_dir);
    pthread_mutex_init(&g_fake.lock, NULL);
    fake_start(&g_fake);
    if (!only_serve) {
        PG_RUN("unary call bytes arrive and return unchanged", unary_bytes_unchanged);
        PG_RUN("metadata travels both ways", metadata_both_ways);
        PG_RUN("client metadata gRPC cannot send on is dropped, the call kept",
               unsendable_metadata_is_dropped);
        PG_RUN("a compressed request is UNIMPLEMENTED, as containerd answers it",
               compressed_request_refused);
        PG_RUN("a 6 MiB reply and a 16 MiB request pass", large_messages_pass);
        PG_RUN("a server stream arrives whole and in order", server_stream_in_order);
        PG_RUN("a trailers-only error keeps code, message and trailers", trailers_only_error_kept);
        PG_RUN("metadata and error messages over 8 KiB pass both ways", long_metadata_passes);
        PG_RUN("a client deadline ends a hanging call upstream too", deadline_reaches_upstream);
        PG_RUN("client cancellation reaches upstream", cancel_reaches_upstream);
        PG_RUN("upstream down is UNAVAILABLE and the proxy recovers by itself",
               upstream_restart_recovers);
        PG_RUN("a slow pull hook does not stall other calls", slow_hook_does_not_stall);
        PG_RUN("a denied pull never reaches upstream", denied_pull_never_forwarded);
        PG_RUN("a pull request over 16 MiB is refused before the hook",
               oversized_pull_refused_before_the_hook);
        PG_RUN("a pull path without its leading slash never bypasses the hook",
               pull_aliases_never_bypass_the_hook);
        PG_RUN("a rewritten pull forwards the new bytes", rewritten_pull_forwards_new_bytes);
        PG_RUN("a second PullImage request message is refused, never forwarded",
               second_pull_message_never_forwarded);
        PG_RUN("the post-hook can turn a pulled image into an error", post_hook_can_fail_pull);
        PG_RUN("a pull cancelled during its hook is never forwarded",
               cancelled_pull_never_forwarded);
        PG_RUN("a full hook queue answers RESOURCE_EXHAUSTED", full_queue_is_resource_exhausted);
        PG_RUN("the socket is 0660, a stale one is replaced, a live one kept",
               socket_mode_and_stale_file);
        PG_RUN("a listen path in a missing directory is named", missing_listen_directory_is_named);
    }
    PG_RUN("pullgate serve drains on SIGTERM and exits 0", sigterm_drains_and_exits);
    fake_stop(&g_fake);
    fake_reset(&g_fake);
    pthread_mutex_destroy(&g_fake.lock);
    pg_free(g_pull_bytes);
    pg_check_rmtree(g_dir);
    pg_free(g_fake.path);
    pg_free(g_proxy_path);
    pg_free(g_dir);
    grpc_shutdown();
    rc = pg_check_done();
    return rc;
}
