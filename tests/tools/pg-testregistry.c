/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg-testregistry: a scriptable registry for tests, plain HTTP on loopback,
 * on libmicrohttpd. It listens on 127.0.0.1 and on 127.0.0.2 (a second
 * host, for cross-host redirects and links), prints "PORT1 PORT2" on stdout
 * and serves until SIGTERM. Every request is appended to a log as one JSON
 * line (listener, method, path, query, authorization, accept, cookie,
 * accept_encoding, body).
 *
 *     pg-testregistry SCRIPT.json LOG
 *
 * The script is {"routes": [ROUTE...]}; the first route that matches wins,
 * anything else is a plain-text 404 as docker-registry sends. A route:
 *   method ("GET"), path (exact), query {k: v} (all must match), listener (1|2)
 *   status (200), headers {name: value}, body | body_file | body_size (N bytes)
 *   mode "endless" (never ends) | "slow" (one byte every slow_ms, body_size bytes)
 *     | "short" (announces body_size bytes in Content-Length, sends half, hangs up)
 *   auth {"basic": "user:pass"} | {"bearer": TOKEN, "realm", "service", "scope"}
 *   token {"token", "field" ("token"), "basic", "refresh_token", "scope", "service"}
 * {{PORT}} and {{PORT2}} in bodies, header values and realms are replaced by
 * the two listening ports. Nothing here is used outside the tests.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>

#define POST_MAX (64u << 10)

struct server {
    json_t *routes;
    FILE *log;
    pthread_mutex_t log_lock;
    unsigned port1;
    unsigned port2;
};

struct listener {
    struct server *srv;
    int id;
};

struct request {
    char *post;
    size_t post_len;
};

struct stream {
    long remaining; /* -1: endless */
    long delay_ms;
};

static char *subst(const struct server *srv, const char *in)
{
    char p1[16];
    char p2[16];
    size_t cap = strlen(in) * 2 + 64;
    char *out = malloc(cap);
    size_t o = 0;

    snprintf(p1, sizeof(p1), "%u", srv->port1);
    snprintf(p2, sizeof(p2), "%u", srv->port2);
    for (const char *s = in; out != NULL && *s != '\0';) {
        const char *rep = NULL;
        size_t skip = 1;

        if (strncmp(s, "{{PORT}}", 8) == 0) {
            rep = p1;
            skip = 8;
        } else if (strncmp(s, "{{PORT2}}", 9) == 0) {
            rep = p2;
            skip = 9;
        }
        if (o + 16 >= cap) {
            char *grown = realloc(out, cap * 2);

            if (grown == NULL) {
                free(out);
                return NULL;
            }
            out = grown;
            cap *= 2;
        }
        if (rep != NULL) {
            o += (size_t)sprintf(out + o, "%s", rep);
        } else {
            out[o++] = *s;
        }
        s += skip;
    }
    if (out != NULL) {
        out[o] = '\0';
    }
    return out;
}

static const char *jstr(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int query_matches(struct MHD_Connection *c, const json_t *query)
{
    const char *key;
    json_t *val;

    json_object_foreach((json_t *)query, key, val)
    {
        const char *got = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);

        if (got == NULL || !json_is_string(val) || strcmp(got, json_string_value(val)) != 0) {
            return 0;
        }
    }
    return 1;
}

static const json_t *find_route(const struct listener *l, struct MHD_Connection *c, const char *url,
                                const char *method)
{
    size_t i;
    json_t *r;

    json_array_foreach(l->srv->routes, i, r)
    {
        const char *m = jstr(r, "method");
        const char *p = jstr(r, "path");
        const json_t *lis = json_object_get(r, "listener");
        const json_t *q = json_object_get(r, "query");

        if (strcmp(m != NULL ? m : "GET", method) != 0 || p == NULL || strcmp(p, url) != 0) {
            continue;
        }
        if (json_is_integer(lis) && json_integer_value(lis) != l->id) {
            continue;
        }
        if (json_is_object(q) && !query_matches(c, q)) {
            continue;
        }
        return r;
    }
    return NULL;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    json_t *q = cls;

    (void)kind;
    json_object_set_new(q, key, json_string(value != NULL ? value : ""));
    return MHD_YES;
}

static void log_request(const struct listener *l, struct MHD_Connection *c, const char *url,
                        const char *method, const struct request *req)
{
    json_t *line = json_object();
    json_t *q = json_object();
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    const char *cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie");
    const char *encoding = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    char *text;

    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, q);
    json_object_set_new(line, "listener", json_integer(l->id));
    json_object_set_new(line, "method", json_string(method));
    json_object_set_new(line, "path", json_string(url));
    json_object_set_new(line, "query", q);
    json_object_set_new(line, "authorization", auth != NULL ? json_string(auth) : json_null());
    json_object_set_new(line, "accept", accept != NULL ? json_string(accept) : json_null());
    json_object_set_new(line, "cookie", cookie != NULL ? json_string(cookie) : json_null());
    json_object_set_new(line, "accept_encoding",
                        encoding != NULL ? json_string(encoding) : json_null());
    json_object_set_new(line, "body",
                        req->post != NULL ? json_stringn(req->post, req->post_len) : json_null());
    text = json_dumps(line, JSON_COMPACT);
    pthread_mutex_lock(&l->srv->log_lock);
    if (text != NULL && l->srv->log != NULL) {
        fprintf(l->srv->log, "%s\n", text);
        fflush(l->srv->log);
    }
    pthread_mutex_unlock(&l->srv->log_lock);
    free(text);
    json_decref(line);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *body,
                                 const char *ctype)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    MHD_add_response_header(resp, "Content-Type", ctype);
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static char *basic_value(const char *userpass)
{
    size_t n = strlen(userpass);
    char *out = malloc(6 + (n + 2) / 3 * 4 + 1);

    if (out != NULL) {
        memcpy(out, "Basic ", 6);
        EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)userpass, (int)n);
    }
    return out;
}

/* 0 when the request carries what auth asks for; else queues a 401 and returns 1. */
static int challenge(const struct server *srv, struct MHD_Connection *c, const json_t *auth,
                     enum MHD_Result *ret)
{
    const char *got = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *basic = jstr(auth, "basic");
    const char *bearer = jstr(auth, "bearer");
    char *want = NULL;
    char *hdr = NULL;
    struct MHD_Response *resp;
    int ok;

    if (basic != NULL) {
        want = basic_value(basic);
    } else if (bearer != NULL && asprintf(&want, "Bearer %s", bearer) < 0) {
        want = NULL;
    }
    ok = want != NULL && got != NULL && strcmp(want, got) == 0;
    free(want);
    if (ok) {
        return 0;
    }
    if (basic != NULL) {
        hdr = strdup("Basic realm=\"pg-test\"");
    } else {
        char *realm = subst(srv, jstr(auth, "realm") != NULL ? jstr(auth, "realm") : "");
        const char *svc = jstr(auth, "service") != NULL ? jstr(auth, "service") : "pg-test";
        const char *scope = jstr(auth, "scope") != NULL ? jstr(auth, "scope") : "";

        if (asprintf(&hdr, "Bearer realm=\"%s\",service=\"%s\",scope=\"%s\"", realm, svc, scope) <
            0) {
            hdr = NULL;
        }
        free(realm);
    }
    resp = MHD_create_response_from_buffer(
        strlen(
            "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}"),
        (void
             *)"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}",
        MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "WWW-Authenticate", hdr != NULL ? hdr : "Basic");
    *ret = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, resp);
    MHD_destroy_response(resp);
    free(hdr);
    return 1;
}

/* The value of key in an application/x-www-form-urlencoded body (no decoding needed here). */
static int form_has(const char *body, const char *key, const char *value)
{
    char *want = NULL;
    int found = 0;

    if (body == NULL || asprintf(&want, "%s=%s", key, value) < 0) {
        return 0;
    }
    for (const char *p = body; p != NULL && !found; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
        size_t n = strcspn(p, "&");

        found = n == strlen(want) && strncmp(p, want, n) == 0;
    }
    free(want);
    return found;
}

static enum MHD_Result serve_token(struct MHD_Connection *c, const json_t *tok, const char *method,
                                   const struct request *req)
{
    const char *basic = jstr(tok, "basic");
    const char *refresh = jstr(tok, "refresh_token");
    const char *scope = jstr(tok, "scope");
    const char *field = jstr(tok, "field") != NULL ? jstr(tok, "field") : "token";
    const char *got = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *got_scope = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "scope");
    char *want = basic != NULL ? basic_value(basic) : NULL;
    char *body = NULL;
    int ok = 1;
    enum MHD_Result ret;

    if (strcmp(method, "POST") == 0) {
        ok = refresh != NULL && form_has(req->post, "grant_type", "refresh_token") &&
             form_has(req->post, "refresh_token", refresh);
    } else {
        ok = refresh == NULL && (basic == NULL || (got != NULL && strcmp(got, want) == 0));
        ok = ok && (scope == NULL || (got_scope != NULL && strcmp(got_scope, scope) == 0));
    }
    free(want);
    if (!ok) {
        return send_text(c, MHD_HTTP_UNAUTHORIZED,
                         "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"bad credentials\"}]}",
                         "application/json");
    }
    if (asprintf(&body, "{\"%s\":\"%s\"}", field, jstr(tok, "token")) < 0) {
        return MHD_NO;
    }
    ret = send_text(c, MHD_HTTP_OK, body, "application/json");
    free(body);
    return ret;
}

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;

    (void)pos;
    if (st->remaining == 0) {
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (st->delay_ms > 0) {
        usleep((useconds_t)st->delay_ms * 1000);
        buf[0] = 'x';
        st->remaining--;
        return 1;
    }
    if (st->remaining > 0 && (size_t)st->remaining < max) {
        max = (size_t)st->remaining;
    }
    if (st->remaining > 0) {
        st->remaining -= (long)max;
    }
    memset(buf, 'x', max);
    return (ssize_t)max;
}

static struct MHD_Response *make_body(const struct server *srv, const json_t *r)
{
    const char *mode = jstr(r, "mode");
    const json_t *size = json_object_get(r, "body_size");
    const char *body = jstr(r, "body");
    const char *file = jstr(r, "body_file");

    if (mode != NULL && strcmp(mode, "short") == 0) {
        struct stream *st = calloc(1, sizeof(*st));

        st->remaining = (long)json_integer_value(size) / 2;
        return MHD_create_response_from_callback((uint64_t)json_integer_value(size), 4096,
                                                 stream_cb, st, free);
    }
    if (mode != NULL) {
        struct stream *st = calloc(1, sizeof(*st));

        st->remaining = strcmp(mode, "endless") == 0 ? -1 : (long)json_integer_value(size);
        st->delay_ms =
            strcmp(mode, "slow") == 0 ? json_integer_value(json_object_get(r, "slow_ms")) : 0;
        return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_cb, st, free);
    }
    if (json_is_integer(size)) {
        size_t n = (size_t)json_integer_value(size);
        char *buf = malloc(n + 1);

        memset(buf, 'x', n);
        return MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_FREE);
    }
    if (file != NULL) {
        FILE *f = fopen(file, "rb");
        char *buf = NULL;
        long n = 0;

        if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
            fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
            fread(buf, 1, (size_t)n, f) == (size_t)n) {
            fclose(f);
            return MHD_create_response_from_buffer((size_t)n, buf, MHD_RESPMEM_MUST_FREE);
        }
        if (f != NULL) {
            fclose(f);
        }
        free(buf);
        return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (body != NULL) {
        char *s = subst(srv, body);

        if (s == NULL) {
            return NULL;
        }
        return MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    }
    return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result serve_route(const struct server *srv, struct MHD_Connection *c,
                                   const json_t *r)
{
    const json_t *status = json_object_get(r, "status");
    const json_t *headers = json_object_get(r, "headers");
    struct MHD_Response *resp = make_body(srv, r);
    const char *key;
    json_t *val;
    enum MHD_Result ret;

    if (resp == NULL) {
        return MHD_NO;
    }
    json_object_foreach((json_t *)headers, key, val)
    {
        char *v = json_is_string(val) ? subst(srv, json_string_value(val)) : NULL;

        if (v != NULL) {
            MHD_add_response_header(resp, key, v);
        }
        free(v);
    }
    ret = MHD_queue_response(
        c, json_is_integer(status) ? (unsigned)json_integer_value(status) : MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct listener *l = cls;
    struct request *req = *con_cls;
    const json_t *route;
    const json_t *auth;
    const json_t *tok;
    enum MHD_Result ret = MHD_YES;

    (void)version;
    if (req == NULL) {
        *con_cls = calloc(1, sizeof(struct request));
        return *con_cls != NULL ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size > 0) {
        if (req->post_len + *upload_data_size <= POST_MAX) {
            req->post = realloc(req->post, req->post_len + *upload_data_size + 1);
            memcpy(req->post + req->post_len, upload_data, *upload_data_size);
            req->post_len += *upload_data_size;
            req->post[req->post_len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    log_request(l, c, url, method, req);
    route = find_route(l, c, url, method);
    if (route == NULL) {
        return send_text(c, MHD_HTTP_NOT_FOUND, "404 page not found\n",
                         "text/plain; charset=utf-8");
    }
    auth = json_object_get(route, "auth");
    tok = json_object_get(route, "token");
    if (json_is_object(auth) && challenge(l->srv, c, auth, &ret)) {
        return ret;
    }
    if (json_is_object(tok)) {
        return serve_token(c, tok, method, req);
    }
    return serve_route(l->srv, c, route);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *req = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (req != NULL) {
        free(req->post);
        free(req);
        *con_cls = NULL;
    }
}

static struct MHD_Daemon *start(struct listener *l, const char *addr)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};

    inet_pton(AF_INET, addr, &sa.sin_addr);
    return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                            NULL, NULL, on_request, l, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
}

static unsigned port_of(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

    return info != NULL ? info->port : 0;
}

int main(int argc, char **argv)
{
    struct server srv = {0};
    struct listener l1 = {&srv, 1};
    struct listener l2 = {&srv, 2};
    struct MHD_Daemon *d1;
    struct MHD_Daemon *d2;
    json_t *script;
    json_error_t jerr;
    sigset_t set;
    int sig;

    if (argc != 3) {
        fprintf(stderr, "usage: pg-testregistry SCRIPT.json LOG\n");
        return 2;
    }
    script = json_load_file(argv[1], 0, &jerr);
    if (script == NULL || !json_is_array(json_object_get(script, "routes"))) {
        fprintf(stderr, "pg-testregistry: bad script %s: %s\n", argv[1], jerr.text);
        return 2;
    }
    srv.routes = json_object_get(script, "routes");
    srv.log = fopen(argv[2], "a");
    pthread_mutex_init(&srv.log_lock, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    d1 = start(&l1, "127.0.0.1");
    d2 = start(&l2, "127.0.0.2");
    if (d1 == NULL || d2 == NULL) {
        fprintf(stderr, "pg-testregistry: cannot listen on loopback\n");
        return 1;
    }
    srv.port1 = port_of(d1);
    srv.port2 = port_of(d2);
    printf("%u %u\n", srv.port1, srv.port2);
    fflush(stdout);
    sigwait(&set, &sig);
    MHD_stop_daemon(d1);
    MHD_stop_daemon(d2);
    if (srv.log != NULL) {
        fclose(srv.log);
    }
    json_decref(script);
    return 0;
}
