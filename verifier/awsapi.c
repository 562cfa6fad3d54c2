/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP calls to AWS endpoints: libcurl with redirects off, bounded time and
 * body, SigV4 computed by libcurl from the credentials (CURLOPT_AWS_SIGV4,
 * the session token as x-amz-security-token), and AWS error responses read
 * into code, message and request id. Nothing here logs: headers carry
 * credentials and no message built here includes one.
 */
#include "awsapi.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "mem.h"

#define TEXT_MAX 400
#define USER_AGENT "pullgate"

struct sink {
    struct pg_awsapi_response *resp;
    int is_over;
};

static void copy_header_value(const char *line, size_t n, size_t name_len, char *dst,
                              size_t dst_len, int cut_at_colon)
{
    const char *v = line + name_len;
    size_t len = n - name_len;

    while (len > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ')) {
        len--;
    }
    if (cut_at_colon) {
        const char *colon = memchr(v, ':', len);

        len = colon != NULL ? (size_t)(colon - v) : len;
    }
    pg_escape(dst, dst_len, v, len);
}

static size_t on_header(char *line, size_t size, size_t count, void *arg)
{
    struct sink *s = arg;
    size_t n = size * count;
    static const char type[] = "x-amzn-errortype:";
    static const char rid[] = "x-amzn-requestid:";

    if (n > sizeof(type) && strncasecmp(line, type, sizeof(type) - 1) == 0) {
        copy_header_value(line, n, sizeof(type) - 1, s->resp->error_type,
                          sizeof(s->resp->error_type), 1);
    } else if (n > sizeof(rid) && strncasecmp(line, rid, sizeof(rid) - 1) == 0) {
        copy_header_value(line, n, sizeof(rid) - 1, s->resp->request_id,
                          sizeof(s->resp->request_id), 0);
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
    struct sink *s = arg;
    struct pg_awsapi_response *r = s->resp;
    size_t n = size * count;
    char *p;

    if (r->len + n > PG_AWSAPI_BODY_MAX) {
        s->is_over = 1;
        return 0;
    }
    p = pg_realloc(r->body, r->len + n + 1);
    if (p == NULL) {
        return 0;
    }
    memcpy(p + r->len, data, n);
    r->len += n;
    p[r->len] = '\0';
    r->body = p;
    return n;
}

static int set_signing(CURL *h, const struct pg_awsapi_request *r, struct curl_slist **hdrs,
                       char *scope, size_t scope_len)
{
    char *token_hdr;
    struct curl_slist *l;
    int bad = 0;

    if (r->creds == NULL) {
        return 0;
    }
    snprintf(scope, scope_len, "aws:amz:%s:%s", r->region, r->service);
    bad |= curl_easy_setopt(h, CURLOPT_AWS_SIGV4, scope) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USERNAME, r->creds->access_key) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PASSWORD, r->creds->secret_key) != CURLE_OK;
    if (bad || r->creds->token[0] == '\0') {
        return bad;
    }
    token_hdr = pg_asprintf("x-amz-security-token: %s", r->creds->token);
    l = token_hdr != NULL ? curl_slist_append(*hdrs, token_hdr) : NULL;
    if (token_hdr != NULL) {
        OPENSSL_cleanse(token_hdr, strlen(token_hdr));
        pg_free(token_hdr);
    }
    if (l == NULL) {
        return 1;
    }
    *hdrs = l;
    return 0;
}

static int set_options(CURL *h, const struct pg_awsapi_request *r, struct sink *s,
                       struct curl_slist *hdrs, char *errbuf)
{
    int bad = 0;

    bad |= curl_easy_setopt(h, CURLOPT_URL, r->url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, s) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, s) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
    bad |= r->is_local && curl_easy_setopt(h, CURLOPT_NOPROXY, "*") != CURLE_OK;
    if (strcmp(r->method, "GET") != 0) {
        bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body != NULL ? r->body : "") != CURLE_OK;
    }
    return bad;
}

static struct curl_slist *make_headers(const struct pg_awsapi_request *r)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
    size_t i;

    for (i = 0; hdrs != NULL && r->headers != NULL && r->headers[i] != NULL; i++) {
        struct curl_slist *l = curl_slist_append(hdrs, r->headers[i]);

        if (l == NULL) {
            curl_slist_free_all(hdrs);
            return NULL;
        }
        hdrs = l;
    }
    return hdrs;
}

/* Header lists may hold a session token: wiped before they are freed. */
static void free_headers(struct curl_slist *hdrs)
{
    struct curl_slist *l;

    for (l = hdrs; l != NULL; l = l->next) {
        OPENSSL_cleanse(l->data, strlen(l->data));
    }
    curl_slist_free_all(hdrs);
}

static enum pg_status transport_error(const struct pg_awsapi_request *r, CURLcode cc,
                                      const struct sink *s, const char *errbuf, struct pg_err *err)
{
    char url[TEXT_MAX];

    pg_escape(url, sizeof(url), r->url, strcspn(r->url, "?"));
    if (s->is_over) {
        return pg_err_set(err, PG_ERR_UPSTREAM, "%s %s: the response is larger than %d bytes",
                          r->method, url, PG_AWSAPI_BODY_MAX);
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        return pg_err_set(err, PG_ERR_TIMEOUT, "%s %s: no answer within %lld ms", r->method, url,
                          (long long)r->timeout_ms);
    }
    return pg_err_set(err, PG_ERR_UPSTREAM, "%s %s: %s", r->method, url,
                      errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
}

enum pg_status pg_awsapi_call(const struct pg_awsapi_request *r, struct pg_awsapi_response *out,
                              struct pg_err *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    char scope[160];
    struct curl_slist *hdrs = NULL;
    struct sink s = {out, 0};
    enum pg_status rc = PG_OK;
    CURL *h = NULL;
    CURLcode cc;

    memset(out, 0, sizeof(*out));
    if (r->timeout_ms <= 0) {
        return pg_err_set(err, PG_ERR_TIMEOUT, "no time left to call %s", r->method);
    }
    h = curl_easy_init();
    hdrs = make_headers(r);
    if (h == NULL || hdrs == NULL || set_signing(h, r, &hdrs, scope, sizeof(scope)) != 0 ||
        set_options(h, r, &s, hdrs, errbuf) != 0) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "cannot prepare an http request to aws");
        goto out;
    }
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        rc = transport_error(r, cc, &s, errbuf, err);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
out:
    if (h != NULL) {
        curl_easy_setopt(h, CURLOPT_PASSWORD, "");
        curl_easy_cleanup(h);
    }
    free_headers(hdrs);
    return rc;
}

void pg_awsapi_response_clear(struct pg_awsapi_response *r)
{
    if (r != NULL) {
        pg_free(r->body);
        memset(r, 0, sizeof(*r));
    }
}

static const char *json_member(const json_t *o, const char *const *names)
{
    for (; *names != NULL; names++) {
        const char *v = json_string_value(json_object_get(o, *names));

        if (v != NULL) {
            return v;
        }
    }
    return NULL;
}

void pg_awsapi_error_text(const struct pg_awsapi_response *r, char *buf, size_t len)
{
    static const char *const code_names[] = {"__type", "code", "Code", NULL};
    static const char *const msg_names[] = {"message", "Message", "errorMessage", NULL};
    json_t *j = r->body != NULL ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    const char *code = r->error_type[0] != '\0' ? r->error_type : json_member(j, code_names);
    const char *msg = json_member(j, msg_names);
    char c[TEXT_MAX];
    char m[TEXT_MAX];

    if (code != NULL && strchr(code, '#') != NULL) {
        code = strchr(code, '#') + 1; /* "namespace#Code" */
    }
    if (msg == NULL && j == NULL && r->body != NULL) {
        msg = r->body;
    }
    snprintf(buf, len, "http %ld, %s: %s%s%s%s", r->status,
             code != NULL ? pg_escape(c, sizeof(c), code, strlen(code)) : "unknown error",
             msg != NULL ? pg_escape(m, sizeof(m), msg, strlen(msg)) : "(no message)",
             r->request_id[0] != '\0' ? " (request id " : "", r->request_id,
             r->request_id[0] != '\0' ? ")" : "");
    json_decref(j);
}

char *pg_awsapi_uri_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = pg_malloc(3 * n + 1);
    size_t o = 0;
    size_t i;

    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}
