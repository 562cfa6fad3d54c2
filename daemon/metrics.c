/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics: atomic counters and a latency histogram, rendered in the
 * Prometheus text exposition format (version 0.0.4) and served by
 * libmicrohttpd on GET /metrics. Every label value comes from a fixed set:
 * outcome names, pg_status reason names, the build's version. Deciding what
 * to count is left to enforce.c and cmd_serve.c.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "mem.h"
#include "unixsock.h"
#include "version.h"

#define ESC_MAX 128
#define CONNECTION_LIMIT 16
#define CONNECTION_TIMEOUT_S 10
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Histogram upper bounds in microseconds, 1 ms to 60 s; +Inf follows. */
static const int64_t bucket_us[] = {1000,    2500,    5000,     10000,    25000,
                                    50000,   100000,  250000,   500000,   1000000,
                                    2500000, 5000000, 10000000, 30000000, 60000000};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

static const char *const outcome_names[PG_METRICS_OUTCOME_COUNT] = {"allow", "skip", "deny",
                                                                    "would_deny"};

struct pg_metrics {
    atomic_uint_fast64_t pulls[PG_METRICS_OUTCOME_COUNT][PG_STATUS_COUNT];
    atomic_uint_fast64_t buckets[N_BUCKETS + 1]; /* not cumulative; last is +Inf */
    atomic_uint_fast64_t sum_us;
    atomic_uint_fast64_t registry_errors[PG_STATUS_COUNT];
    atomic_uint_fast64_t counters[PG_METRICS_COUNTER_COUNT];
    atomic_int_fast64_t gauges[PG_METRICS_GAUGE_COUNT];
    void (*sample)(void *user, struct pg_metrics *m);
    void *sample_user;
    struct MHD_Daemon *httpd;
    char *unix_path; /* removed at the end when we created it */
    unsigned port;
};

/* A growing text buffer; `failed` records running out of memory. */
struct text {
    char *p;
    size_t len;
    size_t cap;
    int failed;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;

    for (int round = 0; round < 2 && !t->failed; round++) {
        int n;

        va_start(ap, fmt);
        n = vsnprintf(t->p != NULL ? t->p + t->len : NULL, t->p != NULL ? t->cap - t->len : 0, fmt,
                      ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
        } else if (t->p != NULL && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        } else {
            size_t cap = (t->cap + (size_t)n + 1) * 2;
            char *grown = pg_realloc(t->p, cap);

            if (grown == NULL) {
                t->failed = 1;
                return;
            }
            t->p = grown;
            t->cap = cap;
        }
    }
}

/* A label value as the exposition format wants it: \\, \" and \n escaped. */
static void label_escape(char *dst, size_t dst_len, const char *src)
{
    size_t o = 0;

    for (; *src != '\0' && o + 3 < dst_len; src++) {
        if (*src == '\\' || *src == '"') {
            dst[o++] = '\\';
            dst[o++] = *src;
        } else if (*src == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else {
            dst[o++] = *src;
        }
    }
    dst[o] = '\0';
}

static void head(struct text *t, const char *name, const char *type, const char *help)
{
    text_add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int is_registry_reason(enum pg_status reason)
{
    return reason == PG_ERR_REGISTRY || reason == PG_ERR_REGISTRY_AUTH || reason == PG_ERR_TLS ||
           reason == PG_ERR_NOT_FOUND || reason == PG_ERR_TIMEOUT;
}

static void render_pulls(struct pg_metrics *m, struct text *t)
{
    head(t, "pullgate_pulls_total", "counter",
         "PullImage decisions by outcome (allow, skip, deny, would_deny in dry-run) and reason.");
    for (int o = 0; o < PG_METRICS_OUTCOME_COUNT; o++) {
        for (int r = 0; r < PG_STATUS_COUNT; r++) {
            uint64_t v = atomic_load(&m->pulls[o][r]);

            if (v != 0 || (o == PG_METRICS_ALLOW && r == PG_OK)) {
                text_add(t, "pullgate_pulls_total{outcome=\"%s\",reason=\"%s\"} %llu\n",
                         outcome_names[o], pg_status_name((enum pg_status)r),
                         (unsigned long long)v);
            }
        }
    }
}

static void render_histogram(struct pg_metrics *m, struct text *t)
{
    const char *name = "pullgate_verification_duration_seconds";
    uint64_t cum = 0;
    uint64_t sum_us = atomic_load(&m->sum_us);

    head(t, name, "histogram", "Time from a pull reaching the policy to its decision.");
    for (size_t i = 0; i < N_BUCKETS; i++) {
        cum += atomic_load(&m->buckets[i]);
        text_add(t, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bucket_us[i] / 1e6,
                 (unsigned long long)cum);
    }
    cum += atomic_load(&m->buckets[N_BUCKETS]);
    text_add(t, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    text_add(t, "%s_sum %llu.%06llu\n", name, (unsigned long long)(sum_us / 1000000),
             (unsigned long long)(sum_us % 1000000));
    text_add(t, "%s_count %llu\n", name, (unsigned long long)cum);
}

static void render_counter(struct pg_metrics *m, struct text *t, const char *name,
                           enum pg_metrics_counter c, const char *help)
{
    head(t, name, "counter", help);
    text_add(t, "%s %llu\n", name, (unsigned long long)atomic_load(&m->counters[c]));
}

static void render_gauge(struct pg_metrics *m, struct text *t, const char *name,
                         enum pg_metrics_gauge g, const char *help)
{
    head(t, name, "gauge", help);
    text_add(t, "%s %lld\n", name, (long long)atomic_load(&m->gauges[g]));
}

static void render_rest(struct pg_metrics *m, struct text *t)
{
    char version[ESC_MAX];

    render_counter(m, t, "pullgate_cache_hits_total", PG_METRICS_CACHE_HITS,
                   "Verifications answered from the verification cache.");
    render_counter(m, t, "pullgate_cache_misses_total", PG_METRICS_CACHE_MISSES,
                   "Verifications the verification cache could not answer.");
    render_gauge(m, t, "pullgate_cache_entries", PG_METRICS_CACHE_ENTRIES,
                 "Decisions held in the verification cache.");
    head(t, "pullgate_registry_errors_total", "counter",
         "Pulls refused because a registry could not be used, by reason.");
    for (int r = 0; r < PG_STATUS_COUNT; r++) {
        uint64_t v = atomic_load(&m->registry_errors[r]);

        if (v != 0) {
            text_add(t, "pullgate_registry_errors_total{reason=\"%s\"} %llu\n",
                     pg_status_name((enum pg_status)r), (unsigned long long)v);
        }
    }
    render_counter(m, t, "pullgate_upstream_errors_total", PG_METRICS_UPSTREAM_ERRORS,
                   "Forwarded pulls the runtime answered with an error.");
    render_gauge(m, t, "pullgate_calls_in_flight", PG_METRICS_CALLS_IN_FLIGHT,
                 "CRI calls being relayed right now.");
    render_gauge(m, t, "pullgate_policy_generation", PG_METRICS_POLICY_GENERATION,
                 "Generation of the trust policy in use; 0 while none is loaded.");
    head(t, "pullgate_policy_reload_total", "counter", "Reloads on SIGHUP by result.");
    text_add(t, "pullgate_policy_reload_total{result=\"success\"} %llu\n",
             (unsigned long long)atomic_load(&m->counters[PG_METRICS_RELOAD_OK]));
    text_add(t, "pullgate_policy_reload_total{result=\"failure\"} %llu\n",
             (unsigned long long)atomic_load(&m->counters[PG_METRICS_RELOAD_FAILED]));
    head(t, "pullgate_build_info", "gauge", "The running build; the value is always 1.");
    label_escape(version, sizeof(version), pg_version());
    text_add(t, "pullgate_build_info{version=\"%s\"} 1\n", version);
}

char *pg_metrics_render(struct pg_metrics *m, size_t *out_len)
{
    struct text t = {0};

    if (m->sample != NULL) {
        m->sample(m->sample_user, m);
    }
    render_pulls(m, &t);
    render_histogram(m, &t);
    render_rest(m, &t);
    if (t.failed || t.p == NULL) {
        pg_free(t.p);
        return NULL;
    }
    *out_len = t.len;
    return t.p;
}

void pg_metrics_pull(struct pg_metrics *m, enum pg_metrics_outcome outcome, enum pg_status reason,
                     int64_t duration_us)
{
    size_t i = 0;

    if (m == NULL || (int)outcome < 0 || outcome >= PG_METRICS_OUTCOME_COUNT || (int)reason < 0 ||
        reason >= PG_STATUS_COUNT) {
        return;
    }
    atomic_fetch_add_explicit(&m->pulls[outcome][reason], 1, memory_order_relaxed);
    if (duration_us < 0) {
        duration_us = 0;
    }
    while (i < N_BUCKETS && duration_us > bucket_us[i]) {
        i++;
    }
    atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, (uint64_t)duration_us, memory_order_relaxed);
}

void pg_metrics_add(struct pg_metrics *m, enum pg_metrics_counter counter, uint64_t n)
{
    if (m != NULL && (int)counter >= 0 && counter < PG_METRICS_COUNTER_COUNT) {
        atomic_fetch_add_explicit(&m->counters[counter], n, memory_order_relaxed);
    }
}

void pg_metrics_set(struct pg_metrics *m, enum pg_metrics_gauge gauge, int64_t value)
{
    if (m != NULL && (int)gauge >= 0 && gauge < PG_METRICS_GAUGE_COUNT) {
        atomic_store_explicit(&m->gauges[gauge], value, memory_order_relaxed);
    }
}

void pg_metrics_registry_error(struct pg_metrics *m, enum pg_status reason)
{
    if (m != NULL && is_registry_reason(reason)) {
        atomic_fetch_add_explicit(&m->registry_errors[reason], 1, memory_order_relaxed);
    }
}

void pg_metrics_set_sampler(struct pg_metrics *m, void (*sample)(void *user, struct pg_metrics *m),
                            void *user)
{
    m->sample = sample;
    m->sample_user = user;
}

/* ------------------------------------------------------------------ listen */

static enum pg_status parse_port(const char *s, const char *text, in_port_t *out,
                                 struct pg_err *err)
{
    unsigned long v = 0;
    size_t i;

    for (i = 0; i < 6 && s[i] != '\0'; i++) {
        if (!isdigit((unsigned char)s[i])) {
            break;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (i == 0 || s[i] != '\0' || v > 65535) {
        char esc[ESC_MAX];

        return pg_err_set(err, PG_ERR_CONFIG, "metrics_listen: \"%s\" has no port from 0 to 65535",
                          pg_escape(esc, sizeof(esc), text, strlen(text)));
    }
    *out = htons((in_port_t)v);
    return PG_OK;
}

static enum pg_status parse_unix(const char *text, const char *path, struct pg_metrics_listen *out,
                                 struct pg_err *err)
{
    size_t n = strlen(path);

    for (size_t i = 0; i < n; i++) {
        if (iscntrl((unsigned char)path[i])) {
            n = 0;
            break;
        }
    }
    if (n == 0 || n >= sizeof(out->path)) {
        char esc[ESC_MAX];

        return pg_err_set(err, PG_ERR_CONFIG,
                          "metrics_listen: \"%s\" is not a usable unix socket path (empty, control "
                          "characters, or longer than %zu bytes)",
                          pg_escape(esc, sizeof(esc), text, strlen(text)), sizeof(out->path) - 1);
    }
    out->is_unix = 1;
    memcpy(out->path, path, n + 1);
    return PG_OK;
}

static enum pg_status parse_inet(const char *text, struct pg_metrics_listen *out,
                                 struct pg_err *err)
{
    char esc[ESC_MAX];
    char host[64];
    const char *colon = strrchr(text, ':');
    size_t hlen = colon != NULL ? (size_t)(colon - text) : 0;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->addr;
    in_port_t port = 0;

    if (colon == NULL || hlen == 0 || hlen >= sizeof(host)) {
        return pg_err_set(err, PG_ERR_CONFIG,
                          "metrics_listen: \"%s\" is not unix:PATH, 127.0.0.1:PORT or [::1]:PORT",
                          pg_escape(esc, sizeof(esc), text, strlen(text)));
    }
    if (parse_port(colon + 1, text, &port, err) != PG_OK) {
        return err->status;
    }
    memcpy(host, text, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1 &&
            IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = port;
            out->addr_len = sizeof(*v6);
            return PG_OK;
        }
    } else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1 &&
               (ntohl(v4->sin_addr.s_addr) >> 24) == 127) {
        v4->sin_family = AF_INET;
        v4->sin_port = port;
        out->addr_len = sizeof(*v4);
        return PG_OK;
    }
    return pg_err_set(err, PG_ERR_CONFIG,
                      "metrics_listen: \"%s\" is not a loopback address (127.0.0.0/8 or [::1]); "
                      "metrics are served on loopback or a unix socket only",
                      pg_escape(esc, sizeof(esc), text, strlen(text)));
}

enum pg_status pg_metrics_parse_listen(const char *text, struct pg_metrics_listen *out,
                                       struct pg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(text, "unix://", 7) == 0) {
        return parse_unix(text, text + 7, out, err);
    }
    if (strncmp(text, "unix:", 5) == 0) {
        return parse_unix(text, text + 5, out, err);
    }
    return parse_inet(text, out, err);
}

/* ------------------------------------------------------------------ http */

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned code, const char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result r;

    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
    }
    r = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **con_cls)
{
    struct pg_metrics *m = cls;
    struct MHD_Response *resp;
    enum MHD_Result r;
    size_t len = 0;
    char *body;

    (void)version;
    (void)upload;
    (void)upload_len;
    (void)con_cls;
    if (strcmp(url, "/metrics") != 0) {
        return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found: only /metrics is served\n");
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    body = pg_metrics_render(m, &len);
    if (body == NULL) {
        return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    resp = MHD_create_response_from_buffer_with_free_callback(len, body, pg_free);
    if (resp == NULL) {
        pg_free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", CONTENT_TYPE);
    r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum pg_status listen_unix(const char *path, int *out_fd, struct pg_err *err)
{
    char esc[ESC_MAX];
    struct sockaddr_un sa;
    mode_t old_mask;
    int fd;
    int rc;

    if (pg_unixsock_clear_stale(path, "metrics socket", err) != PG_OK) {
        return err->status;
    }
    pg_escape(esc, sizeof(esc), path, strlen(path));
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return pg_err_set(err, PG_ERR_IO, "socket: %s", strerror(errno));
    }
    old_mask = umask(0117);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_mask);
    if (rc != 0 || chmod(path, 0660) != 0 || listen(fd, CONNECTION_LIMIT) != 0) {
        pg_err_set(err, PG_ERR_IO, "cannot serve metrics on \"%s\": %s", esc, strerror(errno));
        close(fd);
        return err->status;
    }
    *out_fd = fd;
    return PG_OK;
}

static enum pg_status start_httpd(struct pg_metrics *m, const struct pg_metrics_listen *l, int fd,
                                  struct pg_err *err)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    const union MHD_DaemonInfo *info;

    if (fd >= 0) {
        m->httpd = MHD_start_daemon(flags, 0, NULL, NULL, handle, m, MHD_OPTION_LISTEN_SOCKET, fd,
                                    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                                    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                                    MHD_OPTION_END);
    } else {
        flags |= l->addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0;
        m->httpd = MHD_start_daemon(flags, 0, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR,
                                    (const struct sockaddr *)&l->addr, MHD_OPTION_CONNECTION_LIMIT,
                                    (unsigned)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
                                    (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    }
    if (m->httpd == NULL) {
        return pg_err_set(err, PG_ERR_IO, "cannot start the metrics server (address in use?)");
    }
    info = MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info != NULL ? info->port : 0;
    return PG_OK;
}

enum pg_status pg_metrics_serve(struct pg_metrics *m, const char *listen, struct pg_err *err)
{
    struct pg_metrics_listen l;
    int fd = -1;

    if (listen == NULL || listen[0] == '\0') {
        return PG_OK;
    }
    if (pg_metrics_parse_listen(listen, &l, err) != PG_OK) {
        return err->status;
    }
    if (l.is_unix) {
        if (listen_unix(l.path, &fd, err) != PG_OK) {
            return err->status;
        }
        m->unix_path = pg_strdup(l.path);
    }
    if (start_httpd(m, &l, fd, err) != PG_OK) {
        if (fd >= 0) {
            close(fd);
            unlink(l.path);
        }
        pg_free(m->unix_path);
        m->unix_path = NULL;
        return err->status;
    }
    return PG_OK;
}

unsigned pg_metrics_port(const struct pg_metrics *m)
{
    return m != NULL ? m->port : 0;
}

enum pg_status pg_metrics_new(struct pg_metrics **out, struct pg_err *err)
{
    struct pg_metrics *m = pg_calloc(1, sizeof(*m));

    if (m == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory creating the metrics");
    }
    *out = m;
    return PG_OK;
}

void pg_metrics_stop(struct pg_metrics *m)
{
    if (m == NULL) {
        return;
    }
    if (m->httpd != NULL) {
        MHD_stop_daemon(m->httpd); /* closes the listening socket too */
        m->httpd = NULL;
    }
    if (m->unix_path != NULL) {
        unlink(m->unix_path);
        pg_free(m->unix_path);
        m->unix_path = NULL;
    }
}

void pg_metrics_free(struct pg_metrics *m)
{
    pg_metrics_stop(m);
    pg_free(m);
}
