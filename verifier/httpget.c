/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded plain-HTTP GET and POST on libcurl for OCSP and CRL fetching: no
 * TLS, no credentials, no cookies, a byte cap enforced while receiving and a
 * time cap that also honours the request's deadline. OCSP and CRL semantics
 * live in revocation.c.
 */
#include "httpget.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "mem.h"

#define URL_SHOWN 200

struct sink {
    struct pg_blob body;
    size_t cap;
    size_t max;
    int is_too_big;
    const struct pg_deadline *deadline;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    size_t n = size * nmemb;

    if (n > s->max - s->body.len) {
        s->is_too_big = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (s->body.len + n > s->cap) {
        size_t cap = s->cap == 0 ? 4096 : s->cap;
        unsigned char *p;

        while (cap < s->body.len + n) {
            cap *= 2;
        }
        cap = cap > s->max ? s->max : cap;
        p = pg_realloc(s->body.data, cap);
        if (p == NULL) {
            return 0;
        }
        s->body.data = p;
        s->cap = cap;
    }
    memcpy(s->body.data + s->body.len, data, n);
    s->body.len += n;
    return n;
}

static int on_progress(void *userp, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const struct sink *s = userp;

    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return pg_deadline_left_ms(s->deadline) == 0; /* non-zero aborts */
}

static long time_allowed(const struct pg_httpget_request *req)
{
    int64_t left = pg_deadline_left_ms(req->deadline);
    long t = req->timeout_ms > 0 ? req->timeout_ms : 1;

    if (left >= 0 && left < t) {
        t = (long)left;
    }
    return t;
}

static int set_options(CURL *h, const struct pg_httpget_request *req, struct sink *s,
                       struct curl_slist *hdrs, long timeout_ms)
{
    int bad = 0;

    bad |= curl_easy_setopt(h, CURLOPT_URL, req->url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)PG_HTTPGET_MAX_REDIRECTS) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_bytes) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "pullgate") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, s) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, s) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
    if (req->body != NULL) {
        bad |=
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body) != CURLE_OK;
    }
    return !bad;
}

static enum pg_status failure(const struct pg_httpget_request *req, const struct sink *s,
                              CURLcode cc, long timeout_ms, struct pg_err *err)
{
    char url[URL_SHOWN];

    pg_escape(url, sizeof(url), req->url, strlen(req->url));
    if (s->is_too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        return pg_err_set(err, PG_ERR_LIMIT, "response from \"%s\" is larger than %zu bytes", url,
                          req->max_bytes);
    }
    if (cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_ABORTED_BY_CALLBACK) {
        return pg_err_set(err, PG_ERR_TIMEOUT, "no response from \"%s\" within %ld ms", url,
                          timeout_ms);
    }
    if (cc == CURLE_OUT_OF_MEMORY || (cc == CURLE_WRITE_ERROR && !s->is_too_big)) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading \"%s\"", url);
    }
    return pg_err_set(err, PG_ERR_IO, "request to \"%s\" failed: %s", url, curl_easy_strerror(cc));
}

static enum pg_status perform(CURL *h, const struct pg_httpget_request *req, struct sink *s,
                              struct pg_err *err)
{
    struct curl_slist *hdrs = NULL;
    struct curl_slist *next;
    long timeout_ms = time_allowed(req);
    long code = 0;
    char *ct = NULL;
    CURLcode cc;

    if (req->body != NULL) {
        ct = pg_asprintf("Content-Type: %s", req->content_type);
        next = ct != NULL ? curl_slist_append(hdrs, ct) : NULL;
        pg_free(ct);
        if (next == NULL) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory for an http request");
        }
        hdrs = next;
    }
    if (!set_options(h, req, s, hdrs, timeout_ms)) {
        curl_slist_free_all(hdrs);
        return pg_err_set(err, PG_ERR_INTERNAL, "cannot set up an http request");
    }
    cc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    if (cc != CURLE_OK) {
        return failure(req, s, cc, timeout_ms, err);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        char url[URL_SHOWN];

        return pg_err_set(err, PG_ERR_IO, "\"%s\" answered http status %ld",
                          pg_escape(url, sizeof(url), req->url, strlen(req->url)), code);
    }
    return PG_OK;
}

enum pg_status pg_httpget_fetch(const struct pg_httpget_request *req, struct pg_blob *out_body,
                                struct pg_err *err)
{
    struct sink s;
    CURL *h = NULL;
    enum pg_status rc;

    memset(&s, 0, sizeof(s));
    if (req == NULL || req->url == NULL || strncasecmp(req->url, "http://", 7) != 0 ||
        (req->body != NULL && req->content_type == NULL)) {
        char url[URL_SHOWN];
        const char *u = req != NULL && req->url != NULL ? req->url : "";

        return pg_err_set(err, PG_ERR_INVALID_ARG, "\"%s\" is not an http:// url",
                          pg_escape(url, sizeof(url), u, strlen(u)));
    }
    if (pg_deadline_left_ms(req->deadline) == 0) {
        return pg_err_set(err, PG_ERR_TIMEOUT, "no time left for a request");
    }
    pthread_once(&curl_once, init_curl);
    h = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
    if (h == NULL) {
        return pg_err_set(err, PG_ERR_INTERNAL, "cannot initialise libcurl");
    }
    s.max = req->max_bytes;
    s.deadline = req->deadline;
    rc = perform(h, req, &s, err);
    curl_easy_cleanup(h);
    if (rc != PG_OK) {
        pg_blob_clear(&s.body);
        return rc;
    }
    *out_body = s.body;
    return PG_OK;
}
