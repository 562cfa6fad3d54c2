/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI distribution client: one libcurl easy handle per session, redirects
 * followed by hand so credentials stay with the registry's own origin, the
 * WWW-Authenticate dance, limits on bytes, time, redirects and pages, and
 * digests computed over the bytes. Credentials come from auth.c; what the
 * referrers mean for signatures is discover.c's business.
 */
#include "registry.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "auth.h"
#include "jsonutil.h"
#include "log.h"
#include "mem.h"

#define DEFAULT_REQUEST_TIMEOUT_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define ERROR_BODY_MAX (64u << 10)
#define TOKEN_BODY_MAX (1u << 20)
#define HEADER_COUNT_MAX 200
#define SHOWN_MAX 160 /* escaped outside strings in messages */
#define DOCKER_HUB_API "registry-1.docker.io"
#define TAG_MAX 128
#define MANIFEST_ACCEPT                                                                            \
    "Accept: " PG_MT_OCI_MANIFEST ", " PG_MT_OCI_INDEX ", " PG_MT_DOCKER_MANIFEST                  \
    ", " PG_MT_DOCKER_LIST ", " PG_MT_OCI_ARTIFACT

struct pg_registry_client {
    char *ca_file;
    char **plain;
    size_t n_plain;
    long request_timeout_ms;
    long connect_timeout_ms;
    size_t max_manifest;
    size_t max_envelope;
    char *docker_config;
    char *user_agent;
};

struct pg_registry_session {
    struct pg_registry_client *client;
    char *domain;
    char *path;
    char *origin; /* "https://host[:port]": where credentials may go */
    struct pg_credentials creds;
    const struct pg_deadline *deadline;
    char *authorization; /* the header value earned from a challenge */
    CURL *curl;
};

/* One HTTP exchange's reply, with only the headers we use. */
struct http_resp {
    long status;
    char *content_type;
    char *location;
    char *link_next;
    char *www_auth;
    char *filters;
    unsigned char *body;
    size_t len;
    size_t cap;
    size_t max;
    int is_over_limit;
    int is_error_cut;
    int is_header_flood;
    int n_headers;
    const struct pg_deadline *deadline;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void pg_credentials_clear(struct pg_credentials *c)
{
    if (c == NULL) {
        return;
    }
    pg_auth_free_secret(c->username);
    pg_auth_free_secret(c->password);
    pg_auth_free_secret(c->auth);
    pg_auth_free_secret(c->server_address);
    pg_auth_free_secret(c->identity_token);
    pg_auth_free_secret(c->registry_token);
    memset(c, 0, sizeof(*c));
}

void pg_descriptor_list_free(struct pg_descriptor *list, size_t n)
{
    for (size_t i = 0; list != NULL && i < n; i++) {
        pg_descriptor_clear(&list[i]);
    }
    pg_free(list);
}

/* ---- client ---- */

void pg_registry_client_free(struct pg_registry_client *client)
{
    if (client == NULL) {
        return;
    }
    for (size_t i = 0; i < client->n_plain; i++) {
        pg_free(client->plain[i]);
    }
    pg_free(client->plain);
    pg_free(client->ca_file);
    pg_free(client->docker_config);
    pg_free(client->user_agent);
    pg_free(client);
}

static int dup_opt(char **dst, const char *src)
{
    if (src == NULL) {
        return 0;
    }
    *dst = pg_strdup(src);
    return *dst == NULL ? -1 : 0;
}

enum pg_status pg_registry_check_ca_file(const char *ca_file, const char *what, struct pg_err *err)
{
    char esc[SHOWN_MAX];
    X509_STORE *store;
    struct stat st;

    pg_escape(esc, sizeof(esc), ca_file, strlen(ca_file));
    if (stat(ca_file, &st) != 0) {
        return pg_err_set(err, PG_ERR_CONFIG, "%s \"%s\": %s", what, esc, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return pg_err_set(err, PG_ERR_CONFIG, "%s \"%s\" is not a regular file", what, esc);
    }
    store = X509_STORE_new();
    if (store == NULL || X509_STORE_load_file(store, ca_file) != 1) {
        X509_STORE_free(store);
        return pg_err_set_ssl(err, PG_ERR_CONFIG, "%s \"%s\" is not a readable PEM CA bundle", what,
                              esc);
    }
    X509_STORE_free(store);
    return PG_OK;
}

enum pg_status pg_registry_client_new(const struct pg_registry_options *opts,
                                      struct pg_registry_client **out_client, struct pg_err *err)
{
    static const struct pg_registry_options none = {0};
    struct pg_registry_client *c = NULL;
    int bad = 0;

    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK) {
        return pg_err_set(err, PG_ERR_INTERNAL, "curl_global_init failed: %s",
                          curl_easy_strerror(curl_init_rc));
    }
    opts = opts != NULL ? opts : &none;
    c = pg_calloc(1, sizeof(*c));
    if (c == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory creating the registry client");
    }
    c->request_timeout_ms =
        opts->request_timeout_ms > 0 ? opts->request_timeout_ms : DEFAULT_REQUEST_TIMEOUT_MS;
    c->connect_timeout_ms =
        opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    c->max_manifest =
        opts->max_manifest_bytes > 0 ? opts->max_manifest_bytes : PG_REGISTRY_MAX_MANIFEST;
    c->max_envelope =
        opts->max_envelope_bytes > 0 ? opts->max_envelope_bytes : PG_REGISTRY_MAX_ENVELOPE;
    bad |= dup_opt(&c->ca_file, opts->ca_file);
    bad |= dup_opt(&c->docker_config, opts->docker_config);
    bad |= dup_opt(&c->user_agent, opts->user_agent != NULL ? opts->user_agent : "pullgate");
    c->plain = pg_calloc(opts->n_plain_http_hosts + 1, sizeof(char *));
    bad |= c->plain == NULL;
    for (size_t i = 0; c->plain != NULL && i < opts->n_plain_http_hosts; i++) {
        bad |= dup_opt(&c->plain[i], opts->plain_http_hosts[i]);
        c->n_plain += c->plain[i] != NULL;
    }
    if (bad) {
        pg_registry_client_free(c);
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory creating the registry client");
    }
    *out_client = c;
    return PG_OK;
}

static int is_plain_host(const struct pg_registry_client *c, const char *authority)
{
    for (size_t i = 0; i < c->n_plain; i++) {
        if (strcasecmp(c->plain[i], authority) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- URLs ---- */

struct url_parts {
    char scheme[8];
    char authority[300]; /* host[:port] as written */
    char host[270];
    long port;                       /* explicit or the scheme's default */
    char path[1024];                 /* no query, no credentials */
    char shown_authority[SHOWN_MAX]; /* authority and path escaped, for messages */
    char shown_path[SHOWN_MAX];
};

static enum pg_status url_split(const char *url, struct url_parts *u, struct pg_err *err)
{
    CURLU *h = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    char *port = NULL;
    char *path = NULL;
    enum pg_status rc = PG_OK;
    char esc[SHOWN_MAX];

    if (h == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory parsing a URL");
    }
    if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK ||
        strlen(scheme) >= sizeof(u->scheme) || strlen(host) >= sizeof(u->host)) {
        rc = pg_err_set(err, PG_ERR_REGISTRY, "invalid URL \"%s\"",
                        pg_escape(esc, sizeof(esc), url, strcspn(url, "?#")));
        goto out;
    }
    snprintf(u->scheme, sizeof(u->scheme), "%s", scheme);
    snprintf(u->host, sizeof(u->host), "%s", host);
    snprintf(u->path, sizeof(u->path), "%s", path);
    if (curl_url_get(h, CURLUPART_PORT, &port, 0) == CURLUE_OK) {
        snprintf(u->authority, sizeof(u->authority), "%s:%s", host, port);
        u->port = strtol(port, NULL, 10);
    } else {
        snprintf(u->authority, sizeof(u->authority), "%s", host);
        u->port = strcmp(scheme, "https") == 0 ? 443 : 80;
    }
    pg_escape(u->shown_authority, sizeof(u->shown_authority), u->authority, strlen(u->authority));
    pg_escape(u->shown_path, sizeof(u->shown_path), u->path, strlen(u->path));
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(h);
    return rc;
}

static int same_origin(const struct url_parts *a, const struct url_parts *b)
{
    return strcmp(a->scheme, b->scheme) == 0 && strcasecmp(a->host, b->host) == 0 &&
           a->port == b->port;
}

/* https always; http only for hosts configured as plain; nothing else. */
static enum pg_status url_allowed(const struct pg_registry_client *c, const struct url_parts *u,
                                  struct pg_err *err)
{
    if (strcmp(u->scheme, "https") == 0) {
        return PG_OK;
    }
    if (strcmp(u->scheme, "http") == 0) {
        if (is_plain_host(c, u->authority)) {
            return PG_OK;
        }
        return pg_err_set(err, PG_ERR_TLS,
                          "refusing plain http to %s: not a configured plain-http host",
                          u->shown_authority);
    }
    return pg_err_set(err, PG_ERR_REGISTRY, "refusing URL scheme \"%s\" for %s", u->scheme,
                      u->shown_authority);
}

/* Resolves ref (absolute or relative) against base. Caller frees with curl_free. */
static char *url_resolve(const char *base, const char *ref)
{
    CURLU *h = curl_url();
    char *out = NULL;

    if (h != NULL && curl_url_set(h, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_URL, ref, 0) == CURLUE_OK) {
        curl_url_get(h, CURLUPART_URL, &out, 0);
    }
    curl_url_cleanup(h);
    return out;
}

/* ---- one exchange ---- */

static void resp_reset(struct http_resp *r)
{
    pg_free(r->content_type);
    pg_free(r->location);
    pg_free(r->link_next);
    pg_free(r->www_auth);
    pg_free(r->filters);
    pg_free(r->body);
    memset(r, 0, sizeof(*r));
}

static void resp_reset_headers(struct http_resp *r)
{
    pg_free(r->content_type);
    pg_free(r->location);
    pg_free(r->link_next);
    pg_free(r->www_auth);
    pg_free(r->filters);
    r->content_type = r->location = r->link_next = r->www_auth = r->filters = NULL;
    r->n_headers = 0;
}

/* The target of the first `<url>; rel="next"` in a Link value, else NULL. */
static char *link_next(const char *v)
{
    while (v != NULL && (v = strchr(v, '<')) != NULL) {
        const char *close = strchr(v, '>');
        const char *end;

        if (close == NULL) {
            return NULL;
        }
        end = strchr(close, ',');
        if (end == NULL) {
            end = close + strlen(close);
        }
        for (const char *p = close; p + 3 < end; p++) {
            if (strncasecmp(p, "rel", 3) == 0) {
                const char *q = p + 3;

                q += strspn(q, " =\"");
                if ((size_t)(end - q) >= 4 && strncasecmp(q, "next", 4) == 0) {
                    return pg_strndup(v + 1, (size_t)(close - v - 1));
                }
            }
        }
        v = *end == ',' ? end + 1 : NULL;
    }
    return NULL;
}

static int set_header(char **slot, const char *v, size_t n)
{
    if (*slot != NULL) {
        return 0; /* first one wins */
    }
    *slot = pg_strndup(v, n);
    return *slot == NULL ? -1 : 0;
}

static int take_header(struct http_resp *r, const char *name, size_t nlen, const char *v, size_t n)
{
    if (nlen == 12 && strncasecmp(name, "content-type", 12) == 0) {
        return set_header(&r->content_type, v, n);
    }
    if (nlen == 8 && strncasecmp(name, "location", 8) == 0) {
        return set_header(&r->location, v, n);
    }
    if (nlen == 16 && strncasecmp(name, "www-authenticate", 16) == 0) {
        return set_header(&r->www_auth, v, n);
    }
    if (nlen == 19 && strncasecmp(name, "oci-filters-applied", 19) == 0) {
        return set_header(&r->filters, v, n);
    }
    if (nlen == 14 && strncasecmp(name, "content-length", 14) == 0 && r->status / 100 == 2) {
        char num[24];

        snprintf(num, sizeof(num), "%.*s", (int)(n < 20 ? n : 20), v);
        if (n >= 20 || strtoull(num, NULL, 10) > r->max) {
            r->is_over_limit = 1;
            return -1;
        }
        return 0;
    }
    if (nlen == 4 && strncasecmp(name, "link", 4) == 0 && r->link_next == NULL) {
        char *val = pg_strndup(v, n);

        r->link_next = val != NULL ? link_next(val) : NULL;
        pg_free(val);
        return val == NULL ? -1 : 0;
    }
    return 0;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userp)
{
    struct http_resp *r = userp;
    size_t n = size * nitems;
    size_t len = n;
    const char *colon;
    const char *v;

    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) {
        len--;
    }
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', len);

        resp_reset_headers(r);
        r->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
        return n;
    }
    if (++r->n_headers > HEADER_COUNT_MAX) {
        r->is_header_flood = 1;
        return 0;
    }
    colon = memchr(data, ':', len);
    if (colon == NULL) {
        return n;
    }
    v = colon + 1;
    while (v < data + len && (*v == ' ' || *v == '\t')) {
        v++;
    }
    return take_header(r, data, (size_t)(colon - data), v, (size_t)(data + len - v)) == 0 ? n : 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_resp *r = userp;
    size_t n = size * nmemb;
    int is_ok = r->status / 100 == 2;
    size_t limit = is_ok ? r->max : ERROR_BODY_MAX;

    if (n > limit - r->len) {
        if (is_ok) {
            r->is_over_limit = 1;
            return 0;
        }
        n = limit - r->len;
        r->is_error_cut = 1;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap == 0 ? 16384 : r->cap;
        unsigned char *p;

        while (cap < r->len + n) {
            cap *= 2;
        }
        cap = cap > limit ? limit : cap;
        p = pg_realloc(r->body, cap + 1);
        if (p == NULL) {
            return 0;
        }
        r->body = p;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return r->is_error_cut ? 0 : size * nmemb;
}

static int on_progress(void *userp, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const struct http_resp *r = userp;

    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return pg_deadline_left_ms(r->deadline) == 0 ? 1 : 0;
}

static enum pg_status curl_failure(const struct pg_registry_session *s, CURLcode cc,
                                   const struct url_parts *u, struct http_resp *r,
                                   struct pg_err *err)
{
    char raw[sizeof(u->scheme) + sizeof(u->authority) + sizeof(u->path) + 4];
    char where[SHOWN_MAX * 2];
    int is_cancel = s->deadline != NULL && s->deadline->cancelled != NULL &&
                    atomic_load(s->deadline->cancelled);

    snprintf(raw, sizeof(raw), "%s://%s%s", u->scheme, u->authority, u->path);
    pg_escape(where, sizeof(where), raw, strlen(raw));
    if (r->is_over_limit) {
        return pg_err_set(err, PG_ERR_LIMIT, "%s: reply larger than %zu bytes", where, r->max);
    }
    if (r->is_header_flood) {
        return pg_err_set(err, PG_ERR_LIMIT, "%s: reply has more than %d header lines", where,
                          HEADER_COUNT_MAX);
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        return is_cancel ? pg_err_set(err, PG_ERR_CANCELLED, "%s: request cancelled", where)
                         : pg_err_set(err, PG_ERR_TIMEOUT, "%s: deadline reached", where);
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        return pg_err_set(err, PG_ERR_TIMEOUT, "%s: no complete reply in time: %s", where,
                          curl_easy_strerror(cc));
    }
    if (cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION ||
        cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CERTPROBLEM ||
        cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
        return pg_err_set(err, PG_ERR_TLS, "%s: TLS connection failed: %s", where,
                          curl_easy_strerror(cc));
    }
    return pg_err_set(err, PG_ERR_IO, "%s: connection failed: %s", where, curl_easy_strerror(cc));
}

static enum pg_status set_common(struct pg_registry_session *s, struct http_resp *r, long left)
{
    const struct pg_registry_client *c = s->client;
    CURL *h = s->curl;
    long total = c->request_timeout_ms;
    int bad = 0;

    if (left > 0 && left < total) {
        total = left;
    }
    curl_easy_reset(h);
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
    bad |= c->ca_file != NULL && curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, r) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, r) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, r) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
    return bad ? PG_ERR_INTERNAL : PG_OK;
}

struct exchange {
    const char *url;
    const struct url_parts *u;
    const char *authorization; /* full header value or NULL */
    const char *accept;        /* full "Accept: ..." header or NULL */
    const char *post;          /* form body for POST, else GET */
    size_t max;
};

static enum pg_status http_perform(struct pg_registry_session *s, const struct exchange *x,
                                   struct http_resp *r, struct pg_err *err)
{
    struct curl_slist *hdrs = NULL;
    struct curl_slist *tmp;
    char *auth_line = NULL;
    int64_t left = pg_deadline_left_ms(s->deadline);
    enum pg_status rc;
    CURLcode cc;

    resp_reset(r);
    r->max = x->max;
    r->deadline = s->deadline;
    if (left == 0) {
        return curl_failure(s, CURLE_ABORTED_BY_CALLBACK, x->u, r, err);
    }
    rc = set_common(s, r, (long)left);
    if (rc != PG_OK) {
        return pg_err_set(err, rc, "cannot set up a libcurl request");
    }
    if (x->authorization != NULL) {
        auth_line = pg_asprintf("Authorization: %s", x->authorization);
        if (auth_line == NULL) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory building a request");
        }
    }
    tmp = curl_slist_append(hdrs, x->accept != NULL ? x->accept : "Accept: */*");
    hdrs = tmp != NULL ? tmp : hdrs;
    if (tmp != NULL && auth_line != NULL) {
        tmp = curl_slist_append(hdrs, auth_line);
    }
    if (tmp == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory building a request");
        goto out;
    }
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(s->curl, CURLOPT_URL, x->url);
    if (x->post != NULL) {
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, x->post);
    }
    cc = curl_easy_perform(s->curl);
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && r->is_error_cut)) {
        rc = curl_failure(s, cc, x->u, r, err);
        goto out;
    }
    pg_log(LOG_DEBUG, "registry %s %s://%s%s: HTTP %ld, %zu bytes", x->post ? "POST" : "GET",
           x->u->scheme, x->u->shown_authority, x->u->shown_path, r->status, r->len);
out:
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hdrs);
    pg_auth_free_secret(auth_line);
    return rc;
}

/* ---- errors ---- */

/* errors[0].code and .message of an OCI error body, escaped, into code/msg. */
static void oci_error(const struct http_resp *r, char *code, size_t code_len, char *msg,
                      size_t msg_len)
{
    json_t *root = r->len > 0 ? json_loadb((const char *)r->body, r->len, 0, NULL) : NULL;
    const json_t *e0 = json_array_get(json_object_get(root, "errors"), 0);
    const json_t *c = json_object_get(e0, "code");
    const json_t *m = json_object_get(e0, "message");

    code[0] = msg[0] = '\0';
    if (json_is_string(c)) {
        pg_escape(code, code_len, json_string_value(c), json_string_length(c));
    }
    if (json_is_string(m)) {
        pg_escape(msg, msg_len, json_string_value(m), json_string_length(m));
    }
    json_decref(root);
}

/* An unwanted HTTP status as an error; st PG_OK derives the status from the code. */
static enum pg_status fail_as(const struct url_parts *u, const char *method,
                              const struct http_resp *r, enum pg_status st, struct pg_err *err)
{
    char code[64];
    char msg[SHOWN_MAX];

    if (st != PG_OK) {
        /* keep the caller's status */
    } else if (r->status == 404) {
        st = PG_ERR_NOT_FOUND;
    } else if (r->status == 401 || r->status == 403) {
        st = PG_ERR_REGISTRY_AUTH;
    } else {
        st = PG_ERR_REGISTRY;
    }
    oci_error(r, code, sizeof(code), msg, sizeof(msg));
    if (code[0] != '\0' || msg[0] != '\0') {
        return pg_err_set(err, st, "registry %s: %s %s: HTTP %ld: %s \"%s\"", u->shown_authority,
                          method, u->shown_path, r->status, code[0] != '\0' ? code : "error", msg);
    }
    return pg_err_set(err, st, "registry %s: %s %s: HTTP %ld", u->shown_authority, method,
                      u->shown_path, r->status);
}

static enum pg_status fail_status(const struct url_parts *u, const char *method,
                                  const struct http_resp *r, struct pg_err *err)
{
    return fail_as(u, method, r, PG_OK, err);
}

/* ---- authentication ---- */

static char *form_escape(CURL *h, const char *s)
{
    char *e = curl_easy_escape(h, s, 0);
    char *out = e != NULL ? pg_strdup(e) : NULL;

    curl_free(e);
    return out;
}

static char *token_request_body(struct pg_registry_session *s, const char *service,
                                const char *scope)
{
    char *tok = form_escape(s->curl, s->creds.identity_token);
    char *svc = form_escape(s->curl, service);
    char *scp = form_escape(s->curl, scope);
    char *body = NULL;

    if (tok != NULL && svc != NULL && scp != NULL) {
        body = pg_asprintf("grant_type=refresh_token&refresh_token=%s&service=%s&scope=%s"
                           "&client_id=pullgate",
                           tok, svc, scp);
    }
    pg_auth_free_secret(tok);
    pg_free(svc);
    pg_free(scp);
    return body;
}

static char *token_url(struct pg_registry_session *s, const struct pg_auth_challenge *ch,
                       const char *scope)
{
    char *svc = form_escape(s->curl, ch->service != NULL ? ch->service : "");
    char *scp = form_escape(s->curl, scope);
    char *url = NULL;

    if (svc != NULL && scp != NULL) {
        url = pg_asprintf("%s%cservice=%s&scope=%s", ch->realm,
                          strchr(ch->realm, '?') != NULL ? '&' : '?', svc, scp);
    }
    if (s->creds.identity_token != NULL && url != NULL) {
        pg_free(url);
        url = pg_strdup(ch->realm);
    }
    pg_free(svc);
    pg_free(scp);
    return url;
}

static enum pg_status fetch_token(struct pg_registry_session *s, const struct pg_auth_challenge *ch,
                                  struct pg_err *err)
{
    struct http_resp r = {0};
    struct url_parts u;
    struct exchange x = {.max = TOKEN_BODY_MAX, .accept = "Accept: application/json"};
    char *scope = pg_asprintf("repository:%s:pull", s->path);
    char *url = scope != NULL ? token_url(s, ch, scope) : NULL;
    char *basic = NULL;
    char *post = NULL;
    char *token = NULL;
    enum pg_status rc;

    if (url == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory asking for a registry token");
        goto out;
    }
    rc = url_split(url, &u, err);
    if (rc == PG_OK) {
        rc = url_allowed(s->client, &u, err);
    }
    if (rc != PG_OK) {
        goto out;
    }
    if (s->creds.identity_token != NULL) {
        x.post = post = token_request_body(s, ch->service != NULL ? ch->service : "", scope);
    } else if (s->creds.username != NULL) {
        x.authorization = basic = pg_auth_basic_header(s->creds.username, s->creds.password);
    }
    if ((s->creds.identity_token != NULL && post == NULL) ||
        (s->creds.username != NULL && basic == NULL)) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory asking for a registry token");
        goto out;
    }
    x.url = url;
    x.u = &u;
    rc = http_perform(s, &x, &r, err);
    if (rc == PG_OK && r.status != 200) {
        rc = fail_as(&u, x.post != NULL ? "POST" : "GET", &r, PG_ERR_REGISTRY_AUTH, err);
    }
    if (rc == PG_OK) {
        rc = pg_auth_parse_token(r.body, r.len, &token, err);
    }
    if (rc == PG_OK) {
        pg_auth_free_secret(s->authorization);
        s->authorization = pg_asprintf("Bearer %s", token);
        rc = s->authorization != NULL ? PG_OK : pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    }
out:
    pg_auth_free_secret(token);
    pg_auth_free_secret(basic);
    pg_auth_free_secret(post);
    if (r.body != NULL) {
        OPENSSL_cleanse(r.body, r.len);
    }
    resp_reset(&r);
    pg_free(url);
    pg_free(scope);
    return rc;
}

/* Earns s->authorization from a 401's challenge. */
static enum pg_status authenticate(struct pg_registry_session *s, const char *www_auth,
                                   struct pg_err *err)
{
    struct pg_auth_challenge ch = {0};
    enum pg_status rc;

    rc = pg_auth_parse_challenge(www_auth != NULL ? www_auth : "", &ch, err);
    if (rc != PG_OK) {
        return rc;
    }
    if (ch.scheme == PG_AUTH_BASIC && s->creds.username != NULL) {
        pg_auth_free_secret(s->authorization);
        s->authorization = pg_auth_basic_header(s->creds.username, s->creds.password);
        rc = s->authorization != NULL ? PG_OK : pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    } else if (ch.scheme == PG_AUTH_BASIC) {
        rc = pg_err_set(err, PG_ERR_REGISTRY_AUTH,
                        "registry %s asks for a user name and password and none apply", s->domain);
    } else if (ch.scheme == PG_AUTH_BEARER && s->creds.registry_token != NULL) {
        pg_auth_free_secret(s->authorization);
        s->authorization = pg_asprintf("Bearer %s", s->creds.registry_token);
        rc = s->authorization != NULL ? PG_OK : pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    } else if (ch.scheme == PG_AUTH_BEARER && ch.realm != NULL) {
        rc = fetch_token(s, &ch, err);
    } else {
        rc = pg_err_set(err, PG_ERR_REGISTRY_AUTH,
                        "registry %s answered 401 without a usable WWW-Authenticate challenge",
                        s->domain);
    }
    pg_auth_challenge_clear(&ch);
    return rc;
}

/* ---- requests with redirects and authentication ---- */

static int is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Next URL after a redirect, checked; replaces *url. */
static enum pg_status follow(struct pg_registry_session *s, char **url, const char *location,
                             struct url_parts *u, struct pg_err *err)
{
    char *next = url_resolve(*url, location);
    enum pg_status rc;

    if (next == NULL) {
        return pg_err_set(err, PG_ERR_REGISTRY, "registry %s: bad redirect from %s", s->domain,
                          u->shown_path);
    }
    pg_free(*url);
    *url = pg_strdup(next);
    curl_free(next);
    if (*url == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory following a redirect");
    }
    rc = url_split(*url, u, err);
    return rc == PG_OK ? url_allowed(s->client, u, err) : rc;
}

/*
 * GETs url (on the registry's origin), answering one 401 challenge and
 * following redirects; the Authorization header goes only to the origin.
 * r holds the last reply; *out_u describes the URL that gave it.
 */
static enum pg_status get(struct pg_registry_session *s, const char *start, const char *accept,
                          size_t max, struct http_resp *r, struct url_parts *out_u,
                          struct pg_err *err)
{
    struct url_parts origin;
    struct url_parts u;
    char *url = pg_strdup(start);
    int redirects = 0;
    int is_challenged = 0;
    enum pg_status rc;

    if (url == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory building a request");
    }
    rc = url_split(s->origin, &origin, err);
    if (rc == PG_OK) {
        rc = url_split(url, &u, err);
    }
    if (rc == PG_OK) {
        rc = url_allowed(s->client, &u, err);
    }
    while (rc == PG_OK) {
        int is_home = same_origin(&u, &origin);
        struct exchange x = {url, &u, is_home ? s->authorization : NULL, accept, NULL, max};

        rc = http_perform(s, &x, r, err);
        if (rc != PG_OK) {
            break;
        }
        if (r->status == 401 && is_home && !is_challenged) {
            is_challenged = 1;
            rc = authenticate(s, r->www_auth, err);
        } else if (is_redirect(r->status) && r->location != NULL) {
            if (++redirects > PG_REGISTRY_MAX_REDIRECTS) {
                rc = pg_err_set(err, PG_ERR_LIMIT, "registry %s: more than %d redirects", s->domain,
                                PG_REGISTRY_MAX_REDIRECTS);
                break;
            }
            rc = follow(s, &url, r->location, &u, err);
        } else {
            break;
        }
    }
    if (rc == PG_OK && r->status == 401) {
        rc = fail_status(&u, "GET", r, err);
    }
    *out_u = u;
    pg_free(url);
    return rc;
}

/* ---- sessions ---- */

static enum pg_status load_creds(struct pg_registry_session *s, const struct pg_credentials *creds,
                                 struct pg_err *err)
{
    if (creds != NULL) {
        return pg_auth_resolve(creds, s->domain, &s->creds, err);
    }
    if (s->client->docker_config != NULL) {
        return pg_auth_from_docker_config(s->client->docker_config, s->domain, s->deadline,
                                          &s->creds, err);
    }
    return PG_OK;
}

enum pg_status pg_registry_session_new(struct pg_registry_client *client, const struct pg_ref *ref,
                                       const struct pg_credentials *creds,
                                       const struct pg_deadline *deadline,
                                       struct pg_registry_session **out_session, struct pg_err *err)
{
    struct pg_registry_session *s = pg_calloc(1, sizeof(*s));
    const char *host;
    enum pg_status rc;

    if (s == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory creating a registry session");
    }
    s->client = client;
    s->deadline = deadline;
    host = strcmp(ref->domain, PG_REF_DEFAULT_DOMAIN) == 0 ? DOCKER_HUB_API : ref->domain;
    s->domain = pg_strdup(ref->domain);
    s->path = pg_strdup(ref->path);
    s->origin = pg_asprintf("%s://%s", is_plain_host(client, ref->domain) ? "http" : "https", host);
    s->curl = curl_easy_init();
    if (s->domain == NULL || s->path == NULL || s->origin == NULL || s->curl == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory creating a registry session");
        goto out;
    }
    rc = load_creds(s, creds, err);
    if (rc != PG_OK) {
        goto out;
    }
    *out_session = s;
    s = NULL; /* the caller owns it now */
out:
    pg_registry_session_free(s);
    return rc;
}

void pg_registry_session_free(struct pg_registry_session *session)
{
    if (session == NULL) {
        return;
    }
    if (session->curl != NULL) {
        curl_easy_cleanup(session->curl);
    }
    pg_credentials_clear(&session->creds);
    pg_auth_free_secret(session->authorization);
    pg_free(session->domain);
    pg_free(session->path);
    pg_free(session->origin);
    pg_free(session);
}

/* ---- manifests, blobs, referrers ---- */

static const EVP_MD *digest_md(const char *digest)
{
    if (strncmp(digest, "sha256:", 7) == 0) {
        return EVP_sha256();
    }
    if (strncmp(digest, "sha384:", 7) == 0) {
        return EVP_sha384();
    }
    if (strncmp(digest, "sha512:", 7) == 0) {
        return EVP_sha512();
    }
    return NULL;
}

/* "<alg>:<hex>" of data with the algorithm named by like ("sha256:" when NULL). */
static char *compute_digest(const unsigned char *data, size_t len, const char *like)
{
    const EVP_MD *md = digest_md(like != NULL ? like : "sha256:");
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    char *out;

    if (md == NULL || EVP_Digest(data, len, h, &hlen, md, NULL) != 1) {
        return NULL;
    }
    out = pg_malloc(7 + hlen * 2 + 1);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, like != NULL ? like : "sha256:", 7);
    for (unsigned int i = 0; i < hlen; i++) {
        snprintf(out + 7 + i * 2, 3, "%02x", h[i]);
    }
    return out;
}

/* The media type of a Content-Type value, parameters cut, lower case. */
static void media_type_of(const char *ct, char *out, size_t size)
{
    size_t n = ct != NULL ? strcspn(ct, ";") : 0;

    while (n > 0 && isspace((unsigned char)ct[n - 1])) {
        n--;
    }
    if (n >= size) {
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (char)tolower((unsigned char)ct[i]);
    }
    out[n] = '\0';
}

static int is_manifest_type(const char *mt)
{
    return strcmp(mt, PG_MT_OCI_MANIFEST) == 0 || strcmp(mt, PG_MT_OCI_INDEX) == 0 ||
           strcmp(mt, PG_MT_DOCKER_MANIFEST) == 0 || strcmp(mt, PG_MT_DOCKER_LIST) == 0 ||
           strcmp(mt, PG_MT_OCI_ARTIFACT) == 0;
}

static int is_tag_ok(const char *t)
{
    size_t n = strlen(t);

    if (n == 0 || n > TAG_MAX || !(isalnum((unsigned char)t[0]) || t[0] == '_')) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (!isalnum((unsigned char)t[i]) && strchr("_.-", t[i]) == NULL) {
            return 0;
        }
    }
    return 1;
}

/* Checks the bytes of a fetched object against an expected digest. */
static enum pg_status check_digest(const struct http_resp *r, const char *want,
                                   const struct url_parts *u, char **out_digest, struct pg_err *err)
{
    char *got = compute_digest(r->body, r->len, want);

    if (got == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "cannot compute a digest");
    }
    if (want != NULL && strcmp(got, want) != 0) {
        pg_err_set(err, PG_ERR_REGISTRY, "registry %s: %s: content digest %s, expected %s",
                   u->shown_authority, u->shown_path, got, want);
        pg_free(got);
        return PG_ERR_REGISTRY;
    }
    *out_digest = got;
    return PG_OK;
}

static enum pg_status manifest_desc(const struct http_resp *r, const struct url_parts *u,
                                    const char *want, struct pg_descriptor *out, struct pg_err *err)
{
    struct pg_descriptor d = {0};
    char mt[128];
    enum pg_status rc;

    media_type_of(r->content_type, mt, sizeof(mt));
    if (!is_manifest_type(mt)) {
        char esc[SHOWN_MAX];

        pg_escape(esc, sizeof(esc), r->content_type,
                  r->content_type != NULL ? strlen(r->content_type) : 0);
        return pg_err_set(err, PG_ERR_UNSUPPORTED,
                          "registry %s: %s: unsupported manifest content type \"%s\"",
                          u->shown_authority, u->shown_path, esc);
    }
    rc = check_digest(r, want, u, &d.digest, err);
    if (rc != PG_OK) {
        return rc;
    }
    d.media_type = pg_strdup(mt);
    d.size = (int64_t)r->len;
    if (d.media_type == NULL) {
        pg_descriptor_clear(&d);
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    }
    *out = d;
    return PG_OK;
}

enum pg_status pg_registry_get_manifest(struct pg_registry_session *session,
                                        const char *tag_or_digest, struct pg_blob *out_body,
                                        struct pg_descriptor *out_desc, struct pg_err *err)
{
    struct http_resp r = {0};
    struct url_parts u;
    struct pg_descriptor d = {0};
    int is_digest = pg_ref_is_digest(tag_or_digest);
    char *url = NULL;
    enum pg_status rc;

    if (!is_digest && !is_tag_ok(tag_or_digest)) {
        char esc[SHOWN_MAX];

        pg_escape(esc, sizeof(esc), tag_or_digest, strlen(tag_or_digest));
        return pg_err_set(err, PG_ERR_INVALID_ARG, "invalid tag or digest \"%s\"", esc);
    }
    url = pg_asprintf("%s/v2/%s/manifests/%s", session->origin, session->path, tag_or_digest);
    if (url == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    }
    rc = get(session, url, MANIFEST_ACCEPT, session->client->max_manifest, &r, &u, err);
    if (rc == PG_OK && r.status != 200) {
        rc = fail_status(&u, "GET", &r, err);
    }
    if (rc == PG_OK) {
        rc = manifest_desc(&r, &u, is_digest ? tag_or_digest : NULL, &d, err);
    }
    if (rc == PG_OK) {
        out_body->data = r.body;
        out_body->len = r.len;
        r.body = NULL; /* the caller owns the bytes now */
        *out_desc = d;
    }
    resp_reset(&r);
    pg_free(url);
    return rc;
}

enum pg_status pg_registry_get_blob(struct pg_registry_session *session,
                                    const struct pg_descriptor *desc, size_t max,
                                    struct pg_blob *out_body, struct pg_err *err)
{
    struct http_resp r = {0};
    struct url_parts u;
    char *url = NULL;
    char *got = NULL;
    enum pg_status rc;

    if (desc == NULL || !pg_ref_is_digest(desc->digest) || desc->size < 0) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "invalid blob descriptor");
    }
    if (max == 0) {
        max = session->client->max_envelope;
    }
    if ((uint64_t)desc->size > max) {
        return pg_err_set(err, PG_ERR_LIMIT, "blob %s of %lld bytes is over the %zu byte limit",
                          desc->digest, (long long)desc->size, max);
    }
    url = pg_asprintf("%s/v2/%s/blobs/%s", session->origin, session->path, desc->digest);
    if (url == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    }
    rc = get(session, url, NULL, (size_t)desc->size, &r, &u, err);
    if (rc == PG_OK && r.status != 200) {
        rc = fail_status(&u, "GET", &r, err);
    }
    if (rc == PG_OK && r.len != (size_t)desc->size) {
        rc = pg_err_set(err, PG_ERR_REGISTRY, "blob %s: got %zu bytes, expected %lld", desc->digest,
                        r.len, (long long)desc->size);
    }
    if (rc == PG_OK) {
        rc = check_digest(&r, desc->digest, &u, &got, err);
    }
    if (rc == PG_OK) {
        out_body->data = r.body;
        out_body->len = r.len;
        r.body = NULL; /* the caller owns the bytes now */
    }
    pg_free(got);
    resp_reset(&r);
    pg_free(url);
    return rc;
}

/* First-page verdict: PG_ERR_UNSUPPORTED when the registry has no Referrers API. */
static enum pg_status referrers_support(const struct http_resp *r, const struct url_parts *u,
                                        struct pg_err *err)
{
    char mt[128];

    if (r->status == 404) {
        char code[64];
        char msg[8];

        oci_error(r, code, sizeof(code), msg, sizeof(msg));
        if (strcmp(code, "NAME_UNKNOWN") == 0) {
            return fail_status(u, "GET", r, err);
        }
        return PG_ERR_UNSUPPORTED;
    }
    media_type_of(r->content_type, mt, sizeof(mt));
    if (r->status == 200 && strcmp(mt, PG_MT_OCI_INDEX) != 0) {
        return PG_ERR_UNSUPPORTED;
    }
    return PG_OK;
}

struct ref_list {
    struct pg_descriptor *items;
    size_t n;
};

/* Moves the entries of a page that match artifact_type (unless filtered) into acc. */
static enum pg_status take_page(struct ref_list *acc, struct pg_descriptor *page, size_t n,
                                const char *artifact_type, int is_filtered, struct pg_err *err)
{
    struct pg_descriptor *grown;

    if (acc->n + n > PG_JSONUTIL_MAX_ENTRIES) {
        return pg_err_set(err, PG_ERR_LIMIT, "referrers list longer than %d entries",
                          PG_JSONUTIL_MAX_ENTRIES);
    }
    grown = pg_realloc(acc->items, (acc->n + n + 1) * sizeof(*grown));
    if (grown == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading referrers");
    }
    acc->items = grown;
    for (size_t i = 0; i < n; i++) {
        int keep =
            artifact_type == NULL || is_filtered ||
            (page[i].artifact_type != NULL && strcmp(page[i].artifact_type, artifact_type) == 0);

        if (keep) {
            acc->items[acc->n++] = page[i];
            memset(&page[i], 0, sizeof(page[i]));
        }
    }
    return PG_OK;
}

static enum pg_status referrers_page(struct pg_registry_session *s, const char *url, int page_no,
                                     const char *artifact_type, struct ref_list *acc,
                                     char **out_next, struct pg_err *err)
{
    struct http_resp r = {0};
    struct url_parts u;
    struct pg_descriptor *page = NULL;
    size_t n = 0;
    int is_filtered = 0;
    enum pg_status rc;

    rc = get(s, url, "Accept: " PG_MT_OCI_INDEX, s->client->max_manifest, &r, &u, err);
    if (rc == PG_OK && page_no == 0) {
        rc = referrers_support(&r, &u, err);
    }
    if (rc == PG_OK && r.status != 200) {
        rc = fail_status(&u, "GET", &r, err);
    }
    if (rc == PG_OK) {
        rc = pg_jsonutil_index(r.body, r.len, "referrers list", &page, &n, &is_filtered, err);
    }
    if (rc == PG_OK) {
        is_filtered |= r.filters != NULL && pg_jsonutil_list_has(r.filters, "artifactType");
        rc = take_page(acc, page, n, artifact_type, is_filtered, err);
    }
    if (rc == PG_OK && r.link_next != NULL) {
        *out_next = r.link_next;
        r.link_next = NULL;
    }
    pg_descriptor_list_free(page, n);
    resp_reset(&r);
    return rc;
}

/* The next page's URL, resolved against the current one and kept on its origin. */
static enum pg_status next_page_url(const char *cur, const char *link, char **out_url,
                                    struct pg_err *err)
{
    struct url_parts a;
    struct url_parts b;
    char *next = url_resolve(cur, link);
    char esc[SHOWN_MAX];
    enum pg_status rc;

    pg_escape(esc, sizeof(esc), link, strcspn(link, "?#"));
    if (next == NULL) {
        return pg_err_set(err, PG_ERR_REGISTRY, "bad referrers Link \"%s\"", esc);
    }
    rc = url_split(cur, &a, err);
    if (rc == PG_OK) {
        rc = url_split(next, &b, err);
    }
    if (rc == PG_OK && !same_origin(&a, &b)) {
        rc =
            pg_err_set(err, PG_ERR_REGISTRY,
                       "referrers Link \"%s\" leads to another scheme, host or port: refused", esc);
    }
    if (rc == PG_OK) {
        *out_url = pg_strdup(next);
        rc = *out_url != NULL ? PG_OK : pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    }
    curl_free(next);
    return rc;
}

enum pg_status pg_registry_get_referrers(struct pg_registry_session *session, const char *digest,
                                         const char *artifact_type, struct pg_descriptor **out_list,
                                         size_t *out_n, struct pg_err *err)
{
    struct ref_list acc = {0};
    char *at = NULL;
    char *url = NULL;
    enum pg_status rc = PG_OK;
    int page;

    if (!pg_ref_is_digest(digest)) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "invalid subject digest for referrers");
    }
    at = artifact_type != NULL ? form_escape(session->curl, artifact_type) : pg_strdup("");
    url = at == NULL ? NULL
                     : pg_asprintf("%s/v2/%s/referrers/%s%s%s", session->origin, session->path,
                                   digest, at[0] != '\0' ? "?artifactType=" : "", at);
    if (url == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    }
    for (page = 0; rc == PG_OK && url != NULL && page < PG_REGISTRY_MAX_PAGES; page++) {
        char *link = NULL;
        char *next = NULL;

        rc = referrers_page(session, url, page, artifact_type, &acc, &link, err);
        if (rc == PG_OK && link != NULL) {
            rc = next_page_url(url, link, &next, err);
        }
        pg_free(link);
        pg_free(url);
        url = next;
    }
    if (rc == PG_OK && url != NULL) {
        rc = pg_err_set(err, PG_ERR_LIMIT, "referrers of %s span more than %d pages", digest,
                        PG_REGISTRY_MAX_PAGES);
    }
    if (rc == PG_OK) {
        *out_list = acc.items;
        *out_n = acc.n;
        acc.items = NULL;
    }
    pg_descriptor_list_free(acc.items, acc.n);
    pg_free(url);
    pg_free(at);
    return rc;
}
