/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the metrics (daemon/metrics.c): exact values after known
 * traffic, a well-formed exposition (HELP and TYPE before every family,
 * cumulative buckets, only known label values), the listener rules
 * (loopback or unix socket only), and GET /metrics over TCP and a unix
 * socket, with 404 and 405 for anything else.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "check.h"
#include "mem.h"
#include "metrics.h"
#include "version.h"

/* The value of the sample line that starts with `series ` exactly, or -1. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return -1;
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = strstr(text, line); p != NULL; p = strstr(p + 1, line)) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return 1;
        }
    }
    return 0;
}

static char *render(struct pg_metrics *m)
{
    size_t len = 0;
    char *t = pg_metrics_render(m, &len);

    return t != NULL && strlen(t) == len ? t : NULL;
}

static void counts_known_traffic(void)
{
    struct pg_metrics *m = NULL;
    struct pg_err err;
    char *t;

    pg_err_init(&err);
    REQUIRE(pg_metrics_new(&m, &err) == PG_OK);
    pg_metrics_pull(m, PG_METRICS_ALLOW, PG_OK, 500);                /* le 0.001 */
    pg_metrics_pull(m, PG_METRICS_ALLOW, PG_OK, 1000);               /* le 0.001, on the bound */
    pg_metrics_pull(m, PG_METRICS_DENY, PG_ERR_NO_SIGNATURE, 40000); /* le 0.05 */
    pg_metrics_pull(m, PG_METRICS_WOULD_DENY, PG_ERR_SIG_EXPIRED, 70000000); /* +Inf */
    pg_metrics_pull(m, PG_METRICS_SKIP, PG_OK, 2000);
    pg_metrics_add(m, PG_METRICS_CACHE_HITS, 3);
    pg_metrics_add(m, PG_METRICS_CACHE_MISSES, 2);
    pg_metrics_add(m, PG_METRICS_UPSTREAM_ERRORS, 1);
    pg_metrics_add(m, PG_METRICS_RELOAD_OK, 2);
    pg_metrics_add(m, PG_METRICS_RELOAD_FAILED, 1);
    pg_metrics_set(m, PG_METRICS_CACHE_ENTRIES, 7);
    pg_metrics_set(m, PG_METRICS_POLICY_GENERATION, 4);
    pg_metrics_registry_error(m, PG_ERR_REGISTRY_AUTH);
    pg_metrics_registry_error(m, PG_ERR_REGISTRY_AUTH);
    pg_metrics_registry_error(m, PG_ERR_SIG_EXPIRED); /* not a registry failure */
    t = render(m);
    REQUIRE(t != NULL);
    CHECK(sample(t, "pullgate_pulls_total{outcome=\"allow\",reason=\"ok\"}") == 2);
    CHECK(sample(t, "pullgate_pulls_total{outcome=\"deny\",reason=\"no_signature\"}") == 1);
    CHECK(sample(t, "pullgate_pulls_total{outcome=\"would_deny\",reason=\"signature_expired\"}") ==
          1);
    CHECK(sample(t, "pullgate_pulls_total{outcome=\"skip\",reason=\"ok\"}") == 1);
    CHECK(sample(t, "pullgate_verification_duration_seconds_bucket{le=\"0.001\"}") == 2);
    CHECK(sample(t, "pullgate_verification_duration_seconds_bucket{le=\"0.0025\"}") == 3);
    CHECK(sample(t, "pullgate_verification_duration_seconds_bucket{le=\"0.05\"}") == 4);
    CHECK(sample(t, "pullgate_verification_duration_seconds_bucket{le=\"60\"}") == 4);
    CHECK(sample(t, "pullgate_verification_duration_seconds_bucket{le=\"+Inf\"}") == 5);
    CHECK(sample(t, "pullgate_verification_duration_seconds_count") == 5);
    CHECK(has_line(t, "pullgate_verification_duration_seconds_sum 70.043500"));
    CHECK(sample(t, "pullgate_cache_hits_total") == 3);
    CHECK(sample(t, "pullgate_cache_misses_total") == 2);
    CHECK(sample(t, "pullgate_cache_entries") == 7);
    CHECK(sample(t, "pullgate_upstream_errors_total") == 1);
    CHECK(sample(t, "pullgate_policy_generation") == 4);
    CHECK(sample(t, "pullgate_policy_reload_total{result=\"success\"}") == 2);
    CHECK(sample(t, "pullgate_policy_reload_total{result=\"failure\"}") == 1);
    CHECK(sample(t, "pullgate_registry_errors_total{reason=\"registry_auth_failed\"}") == 2);
    CHECK(strstr(t, "pullgate_registry_errors_total{reason=\"signature_expired\"}") == NULL);
    CHECK(strstr(t, "reason=\"registry_error\"") == NULL); /* never counted, not shown */
    pg_free(t);
    pg_metrics_free(m);
}

/* A metric name: [a-zA-Z_:][a-zA-Z0-9_:]*; returns its length. */
static size_t name_len(const char *p)
{
    size_t n = 0;

    while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == ':') {
        n++;
    }
    return isdigit((unsigned char)p[0]) ? 0 : n;
}

static int label_value_known(const char *v, size_t n)
{
    static const char *const known[] = {"allow",   "skip",    "deny", "would_deny",
                                        "success", "failure", "+Inf"};

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strlen(known[i]) == n && strncmp(v, known[i], n) == 0) {
            return 1;
        }
    }
    for (int s = 0; s < PG_STATUS_COUNT; s++) {
        const char *name = pg_status_name((enum pg_status)s);

        if (strlen(name) == n && strncmp(v, name, n) == 0) {
            return 1;
        }
    }
    if (n == strlen(pg_version()) && strncmp(v, pg_version(), n) == 0) {
        return 1;
    }
    return strspn(v, "0123456789.e-") == n; /* a bucket bound */
}

/* Checks labels `{k="v",...}`; returns the length or 0 if malformed. */
static size_t labels_ok(const char *p)
{
    size_t i = 1;

    if (p[0] != '{') {
        return 0;
    }
    while (p[i] != '}') {
        size_t k = name_len(p + i);
        size_t v0;

        if (k == 0 || p[i + k] != '=' || p[i + k + 1] != '"') {
            return 0;
        }
        i += k + 2;
        v0 = i;
        while (p[i] != '"' && p[i] != '\0' && p[i] != '\n') {
            i += p[i] == '\\' ? 2 : 1;
        }
        if (p[i] != '"' || !label_value_known(p + v0, i - v0)) {
            return 0;
        }
        i++;
        if (p[i] == ',') {
            i++;
        }
    }
    return i + 1;
}

/* Every sample belongs to a family declared by HELP and TYPE before it. */
static int well_formed(const char *t)
{
    char family[128] = "";
    int families = 0;

    for (const char *p = t; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n;

        if (nl == NULL) {
            return 0; /* the last line ends with a newline too */
        }
        if (strncmp(p, "# HELP ", 7) == 0) {
            n = name_len(p + 7);
            snprintf(family, sizeof(family), "%.*s", (int)n, p + 7);
            if (strncmp(nl + 1, "# TYPE ", 7) != 0 || strncmp(nl + 8, family, n) != 0) {
                return 0;
            }
            families++;
        } else if (p[0] != '#') {
            n = name_len(p);
            if (n == 0 || family[0] == '\0' || strncmp(p, family, strlen(family)) != 0) {
                return 0;
            }
            if (p[n] == '{') {
                size_t l = labels_ok(p + n);

                if (l == 0) {
                    return 0;
                }
                n += l;
            }
            if (p[n] != ' ' || !(isdigit((unsigned char)p[n + 1]) || p[n + 1] == '-')) {
                return 0;
            }
        }
        p = nl + 1;
    }
    return families == 11;
}

static void exposition_is_well_formed(void)
{
    struct pg_metrics *m = NULL;
    struct pg_err err;
    char *t;

    pg_err_init(&err);
    REQUIRE(pg_metrics_new(&m, &err) == PG_OK);
    t = render(m);
    REQUIRE(t != NULL);
    CHECK(well_formed(t)); /* empty */
    CHECK(sample(t, "pullgate_pulls_total{outcome=\"allow\",reason=\"ok\"}") == 0);
    pg_free(t);
    for (int s = 0; s < PG_STATUS_COUNT; s++) {
        pg_metrics_pull(m, (enum pg_metrics_outcome)(s % PG_METRICS_OUTCOME_COUNT),
                        (enum pg_status)s, s * 100000);
        pg_metrics_registry_error(m, (enum pg_status)s);
    }
    pg_metrics_pull(m, PG_METRICS_OUTCOME_COUNT, PG_OK, 1); /* out of range: ignored */
    pg_metrics_pull(m, PG_METRICS_DENY, PG_STATUS_COUNT, 1);
    t = render(m);
    REQUIRE(t != NULL);
    CHECK(well_formed(t));
    CHECK(sample(t, "pullgate_verification_duration_seconds_count") == PG_STATUS_COUNT);
    CHECK(has_line(t, "# TYPE pullgate_verification_duration_seconds histogram"));
    CHECK(has_line(t, "# TYPE pullgate_pulls_total counter"));
    CHECK(has_line(t, "# TYPE pullgate_calls_in_flight gauge"));
    CHECK(strstr(t, "pullgate_build_info{version=\"") != NULL);
    pg_free(t);
    pg_metrics_free(m);
}

static void sampler(void *user, struct pg_metrics *m)
{
    (*(int *)user)++;
    pg_metrics_set(m, PG_METRICS_CALLS_IN_FLIGHT, 42);
}

static void sampler_runs_at_each_scrape(void)
{
    struct pg_metrics *m = NULL;
    struct pg_err err;
    int runs = 0;
    char *t;

    pg_err_init(&err);
    REQUIRE(pg_metrics_new(&m, &err) == PG_OK);
    pg_metrics_set_sampler(m, sampler, &runs);
    t = render(m);
    CHECK(t != NULL && sample(t, "pullgate_calls_in_flight") == 42);
    pg_free(t);
    t = render(m);
    pg_free(t);
    CHECK(runs == 2);
    pg_metrics_free(m);
}

static void render_survives_out_of_memory(void)
{
    struct pg_metrics *m = NULL;
    struct pg_err err;
    size_t len;

    pg_err_init(&err);
    REQUIRE(pg_metrics_new(&m, &err) == PG_OK);
    for (long n = 0; n < 3; n++) {
        pg_mem_fail_after(n);
        pg_free(pg_metrics_render(m, &len)); /* NULL or whole; never a crash */
        pg_mem_fail_after(-1);
    }
    pg_metrics_free(m);
}

static void listen_accepts_loopback_only(void)
{
    static const char *const good[] = {"unix:/run/pullgate/metrics.sock", "unix:///tmp/m.sock",
                                       "127.0.0.1:9464", "127.1.2.3:0", "[::1]:9464"};
    static const char *const bad[] = {"0.0.0.0:9464",   "10.0.0.1:9464", "[::]:9464",
                                      "localhost:9464", "9464",          "127.0.0.1:99999",
                                      "127.0.0.1:",     "unix:",         "127.0.0.1:9x",
                                      ":9464",          "[fe80::1]:9464"};
    struct pg_metrics_listen l;
    struct pg_err err;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        pg_err_init(&err);
        CHECK(pg_metrics_parse_listen(good[i], &l, &err) == PG_OK);
    }
    CHECK(pg_metrics_parse_listen("unix:/a.sock", &l, &err) == PG_OK && l.is_unix &&
          strcmp(l.path, "/a.sock") == 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pg_err_init(&err);
        CHECK(pg_metrics_parse_listen(bad[i], &l, &err) == PG_ERR_CONFIG);
        CHECK(strncmp(err.msg, "metrics_listen: ", 16) == 0);
    }
    pg_err_init(&err);
    pg_metrics_parse_listen("0.0.0.0:9464", &l, &err);
    CHECK(strstr(err.msg, "not a loopback address") != NULL);
}

/* ------------------------------------------------------------------ http */

struct body {
    char buf[65536];
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    struct body *b = user;
    size_t len = size * n;

    if (len > sizeof(b->buf) - 1 - b->len) {
        return 0;
    }
    memcpy(b->buf + b->len, p, len);
    b->len += len;
    b->buf[b->len] = '\0';
    return len;
}

/* Returns the HTTP status of method url (over unix_path when not NULL). */
static long http(const char *method, const char *url, const char *unix_path, struct body *b,
                 char *ctype, size_t ctype_len)
{
    CURL *c = curl_easy_init();
    long code = -1;
    char *ct = NULL;

    if (c == NULL) {
        return -1;
    }
    b->len = 0;
    b->buf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    if (unix_path != NULL) {
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        if (ctype != NULL) {
            snprintf(ctype, ctype_len, "%s", ct != NULL ? ct : "");
        }
    }
    curl_easy_cleanup(c);
    return code;
}

static void serves_get_metrics_on_loopback(void)
{
    static struct body b;
    struct pg_metrics *m = NULL;
    struct pg_err err;
    char url[128];
    char ctype[128] = "";

    pg_err_init(&err);
    REQUIRE(pg_metrics_new(&m, &err) == PG_OK);
    REQUIRE(pg_metrics_serve(m, "127.0.0.1:0", &err) == PG_OK);
    REQUIRE(pg_metrics_port(m) != 0);
    pg_metrics_pull(m, PG_METRICS_DENY, PG_ERR_SIG_AUTHENTICITY, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", pg_metrics_port(m));
    CHECK(http("GET", url, NULL, &b, ctype, sizeof(ctype)) == 200);
    CHECK(strcmp(ctype, "text/plain; version=0.0.4; charset=utf-8") == 0);
    CHECK(sample(b.buf, "pullgate_pulls_total{outcome=\"deny\",reason=\"signature_untrusted\"}") ==
          1);
    CHECK(well_formed(b.buf));
    CHECK(http("POST", url, NULL, &b, NULL, 0) == 405);
    CHECK(http("DELETE", url, NULL, &b, NULL, 0) == 405);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", pg_metrics_port(m));
    CHECK(http("GET", url, NULL, &b, NULL, 0) == 404);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics/x", pg_metrics_port(m));
    CHECK(http("GET", url, NULL, &b, NULL, 0) == 404);
    pg_metrics_free(m);
}

static void serves_on_a_unix_socket(void)
{
    static struct body b;
    struct pg_metrics *m = NULL;
    struct pg_metrics *other = NULL;
    struct pg_err err;
    char *dir = pg_check_tmpdir();
    char *path = pg_asprintf("%s/metrics.sock", dir);
    char *listen = pg_asprintf("unix:%s", path);
    struct stat st;

    pg_err_init(&err);
    REQUIRE(pg_metrics_new(&m, &err) == PG_OK);
    REQUIRE(pg_metrics_serve(m, listen, &err) == PG_OK);
    CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0660);
    pg_metrics_add(m, PG_METRICS_CACHE_HITS, 9);
    CHECK(http("GET", "http://localhost/metrics", path, &b, NULL, 0) == 200);
    CHECK(sample(b.buf, "pullgate_cache_hits_total") == 9);
    /* A second server on a socket in use is refused; the first keeps serving. */
    REQUIRE(pg_metrics_new(&other, &err) == PG_OK);
    pg_err_init(&err);
    CHECK(pg_metrics_serve(other, listen, &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "in use") != NULL);
    pg_metrics_free(other);
    CHECK(http("GET", "http://localhost/metrics", path, &b, NULL, 0) == 200);
    pg_metrics_free(m);
    CHECK(stat(path, &st) != 0); /* removed at the end */
    pg_check_rmtree(dir);
    pg_free(dir);
    pg_free(path);
    pg_free(listen);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    PG_RUN("counters, gauges and the histogram read back exactly", counts_known_traffic);
    PG_RUN("the exposition is well-formed with only known label values", exposition_is_well_formed);
    PG_RUN("the sampler refreshes gauges at each scrape", sampler_runs_at_each_scrape);
    PG_RUN("rendering survives running out of memory", render_survives_out_of_memory);
    PG_RUN("metrics_listen accepts loopback and unix sockets only", listen_accepts_loopback_only);
    PG_RUN("GET /metrics is served on loopback; other paths 404, other methods 405",
           serves_get_metrics_on_loopback);
    PG_RUN("metrics are served on a unix socket of mode 0660", serves_on_a_unix_socket);
    curl_global_cleanup();
    return pg_check_done();
}
