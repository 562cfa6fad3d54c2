/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-proxy: what pullgate costs on the calls kubelet makes most. It sends
 * ImageStatus side by side to containerd directly and through pullgate, at
 * concurrency 1 and 16 (one thread and one channel per client), and prints
 * p50/p99 latency, calls per second and pullgate's resident memory (VmRSS,
 * idle and under load) against the goals: p50 ratio <= 1.10, throughput
 * ratio >= 0.90, idle RSS <= 12 MiB. scripts/bench-proxy.sh starts the
 * components; this program only takes their sockets. Not part of CTest.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "cri_test_v1.pb-c.h"
#include "mem.h"

#define MAX_THREADS 64
#define MAX_SAMPLES_PER_THREAD 400000
#define GOAL_P50_RATIO 1.10
#define GOAL_TPUT_RATIO 0.90
#define GOAL_RSS_IDLE_MIB 12.0

struct bench_opts {
    const char *direct;
    const char *proxy;
    const char *image;
    const char *api;
    long pid;
    long duration_ms;
    long warmup_ms;
    int rounds;
    int is_shared_channel;
    int conc[4];
    int n_conc;
};

/* One client thread: its channel, its queue, its latencies. */
struct client {
    pthread_t thread;
    grpc_channel *ch;
    int is_own_channel;
    const char *path;
    const uint8_t *req;
    size_t req_len;
    int64_t warm_until_ns;
    int64_t stop_ns;
    uint32_t *lat_us;
    size_t n;
    size_t errors;
};

/* The merged result of one target at one concurrency. */
struct result {
    double p50_us;
    double p99_us;
    double cps;
    size_t calls;
    size_t errors;
};

/* Samples pullgate's VmRSS while a load runs. */
struct rss_sampler {
    pthread_t thread;
    long pid;
    volatile int stop;
    long max_kib;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A "<field>: N kB" line of /proc/<pid>/<file> in KiB, or -1. */
static long read_proc_kib(long pid, const char *file, const char *field)
{
    char path[64], line[256];
    size_t flen = strlen(field);
    long kib = -1;

    snprintf(path, sizeof(path), "/proc/%ld/%s", pid, file);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            kib = strtol(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

static long read_status_kib(long pid, const char *field)
{
    return read_proc_kib(pid, "status", field);
}

static long read_rss_kib(long pid)
{
    return read_status_kib(pid, "VmRSS");
}

static void *rss_loop(void *arg)
{
    struct rss_sampler *s = arg;

    while (!s->stop) {
        long kib = read_rss_kib(s->pid);
        if (kib > s->max_kib) {
            s->max_kib = kib;
        }
        usleep(20000);
    }
    return NULL;
}

static grpc_channel *open_channel(const char *socket)
{
    char target[512];
    grpc_arg args[2];
    grpc_channel_args ch_args = {2, args};

    snprintf(target, sizeof(target), "unix:%s", socket);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_ENABLE_RETRIES;
    args[0].value.integer = 0;
    /* Separate channels must not share one subchannel, or threads would
     * multiplex over a single connection. */
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
    args[1].value.integer = 1;
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, creds, &ch_args);
    grpc_channel_credentials_release(creds);
    return ch;
}

/* One unary call in a single batch; 0 when it ended with OK. */
static int unary(struct client *c, grpc_completion_queue *cq)
{
    grpc_op ops[6];
    grpc_metadata_array md, trailers;
    grpc_byte_buffer *resp = NULL;
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_slice req_slice = grpc_slice_from_static_buffer(c->req, c->req_len);
    grpc_byte_buffer *req = grpc_raw_byte_buffer_create(&req_slice, 1);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(10, GPR_TIMESPAN));
    grpc_call *call =
        grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                 grpc_slice_from_static_string(c->path), NULL, deadline, NULL);
    int ok = 0;

    grpc_metadata_array_init(&md);
    grpc_metadata_array_init(&trailers);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailers;
    ops[5].data.recv_status_on_client.status = &code;
    ops[5].data.recv_status_on_client.status_details = &details;
    if (call != NULL && grpc_call_start_batch(call, ops, 6, c, NULL) == GRPC_CALL_OK) {
        grpc_event ev =
            grpc_completion_queue_pluck(cq, c, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        ok = ev.type == GRPC_OP_COMPLETE && ev.success && code == GRPC_STATUS_OK && resp;
    }
    if (call != NULL) {
        grpc_call_unref(call);
    }
    grpc_byte_buffer_destroy(resp);
    grpc_byte_buffer_destroy(req);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&md);
    grpc_metadata_array_destroy(&trailers);
    return ok ? 0 : -1;
}

static void *client_loop(void *arg)
{
    struct client *c = arg;
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);

    for (;;) {
        int64_t t0 = now_ns();
        if (t0 >= c->stop_ns) {
            break;
        }
        int rc = unary(c, cq);
        int64_t t1 = now_ns();
        if (t0 < c->warm_until_ns) {
            continue;
        }
        if (rc != 0) {
            c->errors++;
        } else if (c->n < MAX_SAMPLES_PER_THREAD) {
            c->lat_us[c->n++] = (uint32_t)((t1 - t0) / 1000);
        }
    }
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const uint32_t *sorted, size_t n, double q)
{
    if (n == 0) {
        return 0;
    }
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return sorted[i];
}

/* Adds the latencies of the clients to all (grown as needed). */
static int merge(struct client *cl, int n, uint32_t **all, size_t *n_all, struct result *r)
{
    size_t total = *n_all;

    for (int i = 0; i < n; i++) {
        total += cl[i].n;
        r->errors += cl[i].errors;
    }
    uint32_t *p = pg_realloc(*all, (total ? total : 1) * sizeof(*p));
    if (p == NULL) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        memcpy(p + *n_all, cl[i].lat_us, cl[i].n * sizeof(*p));
        *n_all += cl[i].n;
    }
    *all = p;
    return 0;
}

static void free_clients(struct client *cl, int n)
{
    for (int i = 0; i < n; i++) {
        if (cl[i].ch != NULL && cl[i].is_own_channel) {
            grpc_channel_destroy(cl[i].ch);
        }
        pg_free(cl[i].lat_us);
    }
}

/* One timed load of `conc` clients on one socket; latencies into all. */
static int run_load(const struct bench_opts *o, const char *sock, int conc, const char *path,
                    const uint8_t *req, size_t req_len, uint32_t **all, size_t *n_all,
                    struct result *r)
{
    struct client cl[MAX_THREADS];
    grpc_channel *shared = o->is_shared_channel ? open_channel(sock) : NULL;
    int64_t start = now_ns() + 50000000;
    int rc = -1, started = 0;

    memset(cl, 0, sizeof(cl));
    for (int i = 0; i < conc; i++) {
        cl[i] = (struct client){.path = path, .req = req, .req_len = req_len};
        cl[i].is_own_channel = shared == NULL;
        cl[i].ch = shared ? shared : open_channel(sock);
        cl[i].warm_until_ns = start + o->warmup_ms * 1000000;
        cl[i].stop_ns = cl[i].warm_until_ns + o->duration_ms * 1000000;
        cl[i].lat_us = pg_malloc(MAX_SAMPLES_PER_THREAD * sizeof(uint32_t));
        if (cl[i].ch == NULL || cl[i].lat_us == NULL) {
            goto out;
        }
    }
    for (; started < conc; started++) {
        if (pthread_create(&cl[started].thread, NULL, client_loop, &cl[started]) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    for (int i = 0; i < started; i++) {
        pthread_join(cl[i].thread, NULL);
    }
    if (rc == 0) {
        rc = merge(cl, conc, all, n_all, r);
    }
    free_clients(cl, conc);
    if (shared != NULL) {
        grpc_channel_destroy(shared);
    }
    return rc;
}

static void finish_result(uint32_t *all, size_t n, double seconds, struct result *r)
{
    qsort(all, n, sizeof(*all), cmp_u32);
    r->calls = n;
    r->p50_us = percentile(all, n, 0.50);
    r->p99_us = percentile(all, n, 0.99);
    r->cps = seconds > 0 ? (double)n / seconds : 0;
}

/* Alternates direct and proxy runs, `rounds` times each, so drift in the
 * machine's load hits both sides alike. */
static int measure(const struct bench_opts *o, int conc, const char *path, const uint8_t *req,
                   size_t req_len, struct result out[2])
{
    const char *socks[2] = {o->direct, o->proxy};
    uint32_t *all[2] = {NULL, NULL};
    size_t n[2] = {0, 0};
    int rc = 0;

    memset(out, 0, 2 * sizeof(*out));
    for (int round = 0; round < o->rounds && rc == 0; round++) {
        for (int t = 0; t < 2 && rc == 0; t++) {
            rc = run_load(o, socks[t], conc, path, req, req_len, &all[t], &n[t], &out[t]);
        }
    }
    for (int t = 0; t < 2; t++) {
        if (rc == 0) {
            finish_result(all[t], n[t], o->rounds * o->duration_ms / 1000.0, &out[t]);
        }
        pg_free(all[t]);
    }
    return rc;
}

static const char *verdict(int is_met)
{
    return is_met ? "met" : "MISSED";
}

static void print_rows(int conc, const struct result r[2])
{
    printf("c=%-3d p50 latency (us)   %12.0f %12.0f %8.2f\n", conc, r[0].p50_us, r[1].p50_us,
           r[0].p50_us > 0 ? r[1].p50_us / r[0].p50_us : 0);
    printf("c=%-3d p99 latency (us)   %12.0f %12.0f %8.2f\n", conc, r[0].p99_us, r[1].p99_us,
           r[0].p99_us > 0 ? r[1].p99_us / r[0].p99_us : 0);
    printf("c=%-3d calls per second   %12.0f %12.0f %8.2f\n", conc, r[0].cps, r[1].cps,
           r[0].cps > 0 ? r[1].cps / r[0].cps : 0);
    printf("c=%-3d calls / errors     %5zu/%-6zu %5zu/%-6zu\n", conc, r[0].calls, r[0].errors,
           r[1].calls, r[1].errors);
}

static int print_goals(const struct result res[][2], const struct bench_opts *o, long idle_kib,
                       long load_kib)
{
    int all_met = 1;

    printf("\ngoals:\n");
    for (int i = 0; i < o->n_conc; i++) {
        const struct result *r = res[i];
        double p50 = r[0].p50_us > 0 ? r[1].p50_us / r[0].p50_us : 0;
        double tput = r[0].cps > 0 ? r[1].cps / r[0].cps : 0;
        printf("  c=%-3d p50 ratio %.2f (goal <= %.2f) %s; throughput ratio %.2f (goal >= %.2f)"
               " %s\n",
               o->conc[i], p50, GOAL_P50_RATIO, verdict(p50 <= GOAL_P50_RATIO), tput,
               GOAL_TPUT_RATIO, verdict(tput >= GOAL_TPUT_RATIO));
        all_met &= p50 <= GOAL_P50_RATIO && tput >= GOAL_TPUT_RATIO && !r[0].errors && !r[1].errors;
    }
    if (idle_kib >= 0) {
        double mib = idle_kib / 1024.0;
        printf("  pullgate RSS idle %.1f MiB (after one call; goal <= %.1f) %s; under load "
               "%.1f MiB (peak)\n",
               mib, GOAL_RSS_IDLE_MIB, verdict(mib <= GOAL_RSS_IDLE_MIB), load_kib / 1024.0);
        all_met &= mib <= GOAL_RSS_IDLE_MIB;
    } else {
        printf("  pullgate RSS: not measured (no --pid)\n");
    }
    return all_met;
}

static int encode_request(const char *image, uint8_t **out_buf, size_t *out_len)
{
    Pgtest__Cri__ImageStatusRequest r = PGTEST__CRI__IMAGE_STATUS_REQUEST__INIT;
    Pgtest__Cri__ImageSpec spec = PGTEST__CRI__IMAGE_SPEC__INIT;

    spec.image = (char *)image;
    r.image = &spec;
    size_t n = protobuf_c_message_get_packed_size(&r.base);
    uint8_t *buf = pg_malloc(n);
    if (buf == NULL) {
        return -1;
    }
    protobuf_c_message_pack(&r.base, buf);
    *out_buf = buf;
    *out_len = n;
    return 0;
}

/* Checks that both sides answer the call before timing it. */
static int probe(const struct bench_opts *o, const char *path, const uint8_t *req, size_t len)
{
    const char *socks[2] = {o->direct, o->proxy};

    for (int t = 0; t < 2; t++) {
        struct client c = {.path = path, .req = req, .req_len = len};
        grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
        c.ch = open_channel(socks[t]);
        int rc = c.ch ? unary(&c, cq) : -1;
        if (c.ch != NULL) {
            grpc_channel_destroy(c.ch);
        }
        grpc_completion_queue_shutdown(cq);
        grpc_completion_queue_destroy(cq);
        if (rc != 0) {
            fprintf(stderr, "bench-proxy: %s on %s failed\n", path, socks[t]);
            return -1;
        }
    }
    return 0;
}

static int run(const struct bench_opts *o)
{
    char path[128];
    uint8_t *req = NULL;
    size_t req_len = 0;
    struct result res[4][2];
    struct rss_sampler rs = {.pid = o->pid, .max_kib = -1};
    long fresh_kib = o->pid > 0 ? read_rss_kib(o->pid) : -1;
    long idle_kib = -1;
    int rc = 1;

    snprintf(path, sizeof(path), "/runtime.%s.ImageService/ImageStatus", o->api);
    if (encode_request(o->image, &req, &req_len) != 0 || probe(o, path, req, req_len) != 0) {
        goto out;
    }
    idle_kib = o->pid > 0 ? read_rss_kib(o->pid) : -1;
    if (o->pid > 0) {
        pthread_create(&rs.thread, NULL, rss_loop, &rs);
    }
    for (int i = 0; i < o->n_conc; i++) {
        if (measure(o, o->conc[i], path, req, req_len, res[i]) != 0) {
            fprintf(stderr, "bench-proxy: load at concurrency %d failed\n", o->conc[i]);
            goto out_rss;
        }
    }
    rc = 0;
out_rss:
    if (o->pid > 0) {
        rs.stop = 1;
        pthread_join(rs.thread, NULL);
    }
    if (rc == 0) {
        printf("ImageStatus %s, %ld ms x %d rounds per cell, %s\n\n", o->image, o->duration_ms,
               o->rounds, o->is_shared_channel ? "one shared channel" : "one channel per thread");
        printf("                            %12s %12s %8s\n", "direct", "pullgate", "ratio");
        for (int i = 0; i < o->n_conc; i++) {
            print_rows(o->conc[i], res[i]);
        }
        if (o->pid > 0) {
            printf("pullgate RSS: %.1f MiB before any call, %.1f MiB idle after the load"
                   " (anonymous %.1f MiB, file-backed %.1f MiB)\n",
                   fresh_kib / 1024.0, read_rss_kib(o->pid) / 1024.0,
                   read_status_kib(o->pid, "RssAnon") / 1024.0,
                   read_status_kib(o->pid, "RssFile") / 1024.0);
            /* RSS counts every shared library page pullgate touched; PSS
             * shares them out among the processes mapping them, and the
             * private pages are what pullgate alone costs. */
            printf("pullgate PSS %.1f MiB, private %.1f MiB (RSS less the shared library pages)\n",
                   read_proc_kib(o->pid, "smaps_rollup", "Pss") / 1024.0,
                   (read_proc_kib(o->pid, "smaps_rollup", "Private_Clean") +
                    read_proc_kib(o->pid, "smaps_rollup", "Private_Dirty")) /
                       1024.0);
        }
        rc = print_goals((const struct result(*)[2])res, o, idle_kib, rs.max_kib) ? 0 : 3;
    }
out:
    pg_free(req);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: bench-proxy --direct SOCK --proxy SOCK --image REF [--pid PID]\n"
                 "                   [--duration-ms MS] [--warmup-ms MS] [--rounds N]\n"
                 "                   [--api v1|v1alpha2] [--shared-channel]\n"
                 "Exit 0 when every goal is met, 3 when one is missed, 1 on error.\n");
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(struct bench_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n = 0;
        if (strcmp(a, "--shared-channel") == 0) {
            o->is_shared_channel = 1;
            continue;
        }
        if (v == NULL) {
            return -1;
        }
        i++;
        if (strcmp(a, "--direct") == 0) {
            o->direct = v;
        } else if (strcmp(a, "--proxy") == 0) {
            o->proxy = v;
        } else if (strcmp(a, "--image") == 0) {
            o->image = v;
        } else if (strcmp(a, "--api") == 0) {
            o->api = v;
        } else if (strcmp(a, "--pid") == 0 && parse_num(v, 1, 1L << 30, &n) == 0) {
            o->pid = n;
        } else if (strcmp(a, "--duration-ms") == 0 && parse_num(v, 100, 600000, &n) == 0) {
            o->duration_ms = n;
        } else if (strcmp(a, "--warmup-ms") == 0 && parse_num(v, 0, 60000, &n) == 0) {
            o->warmup_ms = n;
        } else if (strcmp(a, "--rounds") == 0 && parse_num(v, 1, 20, &n) == 0) {
            o->rounds = (int)n;
        } else {
            return -1;
        }
    }
    return o->direct && o->proxy && o->image ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct bench_opts o = {.api = "v1",
                           .duration_ms = 2000,
                           .warmup_ms = 300,
                           .rounds = 2,
                           .conc = {1, 16},
                           .n_conc = 2};

    if (parse_args(&o, argc, argv) != 0) {
        usage(stderr);
        return 2;
    }
    grpc_init();
    int rc = run(&o);
    grpc_shutdown();
    return rc;
}
