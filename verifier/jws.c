/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JWS envelopes: JSON parsing with jansson, base64 decoding, the protected
 * header rules and the signature check. Certificates stay DER here; chain
 * rules live in x509chain.c, trust decisions in sigverify.c.
 */
#include "jws.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "mem.h"
#include "sigcrypto.h"

#define NAME_ESC_MAX 96

static const char *const algs[] = {"PS256", "PS384", "PS512", "ES256", "ES384", "ES512"};

/* ---- RFC 3339 times ---------------------------------------------------- */

/* Reads exactly n digits into *out; 0 when they are not all digits. */
static int read_digits(const char *s, size_t n, int *out)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;
    int64_t doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parses ".ddd" at *s if present; advances *s. */
static void read_fraction(const char **s, int32_t *out_nsec)
{
    const char *p = *s;
    int32_t nsec = 0;
    int n = 0;

    if (p[0] != '.' || p[1] < '0' || p[1] > '9') {
        return;
    }
    for (p++; *p >= '0' && *p <= '9'; p++, n++) {
        if (n < 9) {
            nsec = nsec * 10 + (*p - '0');
        }
    }
    for (; n < 9; n++) {
        nsec *= 10;
    }
    *out_nsec = nsec;
    *s = p;
}

/* Parses "Z" or "+hh:mm" / "-hh:mm" into seconds east of UTC. */
static int read_offset(const char *s, int *out_off)
{
    int hh;
    int mm;

    if (strcmp(s, "Z") == 0) {
        *out_off = 0;
        return 1;
    }
    if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' ||
        !read_digits(s + 1, 2, &hh) || !read_digits(s + 4, 2, &mm) || hh > 23 || mm > 59) {
        return 0;
    }
    *out_off = (s[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    return 1;
}

struct civil {
    int y;
    int mo;
    int d;
    int h;
    int mi;
    int sec;
};

/* Reads "YYYY-MM-DDTHH:MM:SS" and checks each field's range. */
static int read_civil(const char *s, struct civil *c)
{
    if (strnlen(s, 20) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':') {
        return 0;
    }
    return read_digits(s, 4, &c->y) && read_digits(s + 5, 2, &c->mo) &&
           read_digits(s + 8, 2, &c->d) && read_digits(s + 11, 2, &c->h) &&
           read_digits(s + 14, 2, &c->mi) && read_digits(s + 17, 2, &c->sec) && c->mo >= 1 &&
           c->mo <= 12 && c->d >= 1 && c->d <= days_in_month(c->y, c->mo) && c->h <= 23 &&
           c->mi <= 59 && c->sec <= 59;
}

enum pg_status pg_jws_parse_time(const char *s, struct pg_jws_time *out_time)
{
    struct civil c;
    int off = 0;
    int32_t nsec = 0;
    const char *rest;

    if (s == NULL || !read_civil(s, &c)) {
        return PG_ERR_PARSE;
    }
    rest = s + 19;
    read_fraction(&rest, &nsec);
    if (!read_offset(rest, &off)) {
        return PG_ERR_PARSE;
    }
    out_time->is_present = 1;
    out_time->sec = days_from_civil(c.y, c.mo, c.d) * 86400 + (int64_t)c.h * 3600 +
                    (int64_t)c.mi * 60 + c.sec - off;
    out_time->nsec = nsec;
    return PG_OK;
}

char *pg_jws_format_time(int64_t sec, char *buf, size_t len)
{
    time_t t = (time_t)sec;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, len, "@%lld", (long long)sec);
    }
    return buf;
}

int pg_jws_time_is_set(const struct pg_jws_time *t)
{
    return t->is_present && !(t->sec == PG_JWS_ZERO_TIME_SEC && t->nsec == 0);
}

enum pg_status pg_jws_check_signed_at(enum pg_signing_scheme scheme,
                                      const struct pg_jws_time *signed_at, struct pg_err *err)
{
    if (pg_jws_time_is_set(signed_at)) {
        return PG_OK;
    }
    return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                      "%s is the zero time 0001-01-01T00:00:00Z, which notation reads as no "
                      "signing time",
                      scheme == PG_SCHEME_SIGNING_AUTHORITY ? PG_JWS_AUTHENTIC_TIME
                                                            : PG_JWS_SIGNING_TIME);
}

/* 1 when a is strictly after b. */
static int time_after(const struct pg_jws_time *a, const struct pg_jws_time *b)
{
    return a->sec > b->sec || (a->sec == b->sec && a->nsec > b->nsec);
}

const char *pg_jws_scheme_name(enum pg_signing_scheme scheme)
{
    return scheme == PG_SCHEME_SIGNING_AUTHORITY ? "notary.x509.signingAuthority" : "notary.x509";
}

/* ---- parsing ------------------------------------------------------------ */

static char *esc(char *buf, size_t len, const char *s)
{
    return pg_escape(buf, len, s, strlen(s));
}

/* Decodes base64 (url unpadded or std padded) into out; errors become integrity failures. */
static enum pg_status decode_into(const char *text, size_t len, int is_url, const char *what,
                                  struct pg_blob *out, struct pg_err *err)
{
    struct pg_err local;
    enum pg_status st;

    pg_err_init(&local);
    if (is_url) {
        st = pg_b64_decode_url(text, len, what, &out->data, &out->len, &local);
    } else {
        st = pg_b64_decode_std(text, len, what, &out->data, &out->len, &local);
    }
    if (st != PG_OK) {
        return pg_err_set(err, st == PG_ERR_NOMEM ? st : PG_ERR_SIG_INTEGRITY, "%s", local.msg);
    }
    return PG_OK;
}

/* A required base64url string member of the envelope; keeps its text when out_text. */
static enum pg_status read_b64url_member(json_t *root, const char *name, char **out_text,
                                         struct pg_blob *out, struct pg_err *err)
{
    json_t *v = json_object_get(root, name);
    const char *text;
    size_t len;

    if (!json_is_string(v)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "jws envelope %s is %s", name,
                          v == NULL ? "missing" : "not a string");
    }
    text = json_string_value(v);
    len = json_string_length(v);
    if (out_text != NULL) {
        *out_text = pg_strndup(text, len);
        if (*out_text == NULL) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory copying jws %s", name);
        }
    }
    return decode_into(text, len, 1, name, out, err);
}

static enum pg_status read_x5c(struct pg_jws *jws, json_t *x5c, struct pg_err *err)
{
    size_t i;

    if (!json_is_array(x5c) || json_array_size(x5c) == 0) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "jws certificate chain x5c is missing, empty or not an array");
    }
    if (json_array_size(x5c) > PG_JWS_MAX_CHAIN) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "jws x5c holds %zu certificates, limit %d",
                          json_array_size(x5c), PG_JWS_MAX_CHAIN);
    }
    jws->x5c = pg_calloc(json_array_size(x5c), sizeof(*jws->x5c));
    if (jws->x5c == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading x5c");
    }
    for (i = 0; i < json_array_size(x5c); i++) {
        json_t *v = json_array_get(x5c, i);
        enum pg_status rc;
        char what[32];

        snprintf(what, sizeof(what), "x5c[%zu]", i);
        if (!json_is_string(v)) {
            return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "jws %s is not a string", what);
        }
        rc = decode_into(json_string_value(v), json_string_length(v), 0, what, &jws->x5c[i], err);
        if (rc != PG_OK) {
            return rc;
        }
        jws->n_x5c++;
    }
    return PG_OK;
}

/* The unprotected header: x5c, timestamp, signing agent; other members ignored. */
static enum pg_status read_unprotected(struct pg_jws *jws, json_t *hdr, struct pg_err *err)
{
    json_t *ts;
    json_t *agent;
    enum pg_status rc;

    if (!json_is_object(hdr)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "jws envelope header is missing or not an object");
    }
    rc = read_x5c(jws, json_object_get(hdr, "x5c"), err);
    if (rc != PG_OK) {
        return rc;
    }
    ts = json_object_get(hdr, "io.cncf.notary.timestampSignature");
    if (ts != NULL && !json_is_string(ts)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "jws io.cncf.notary.timestampSignature is not a string");
    }
    if (ts != NULL) {
        rc = decode_into(json_string_value(ts), json_string_length(ts), 0,
                         "io.cncf.notary.timestampSignature", &jws->timestamp, err);
        if (rc != PG_OK) {
            return rc;
        }
    }
    agent = json_object_get(hdr, "io.cncf.notary.signingAgent");
    if (agent != NULL && !json_is_string(agent)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "jws io.cncf.notary.signingAgent is not a string");
    }
    if (agent != NULL) {
        jws->signing_agent = pg_strndup(json_string_value(agent), json_string_length(agent));
        if (jws->signing_agent == NULL) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading signing agent");
        }
    }
    return PG_OK;
}

static enum pg_status read_crit(struct pg_jws *jws, json_t *crit, struct pg_err *err)
{
    size_t i;

    if (!json_is_array(crit)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "protected header crit is not an array");
    }
    if (json_array_size(crit) > PG_JWS_MAX_CRIT) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "protected header crit has %zu entries, "
                          "limit %d",
                          json_array_size(crit), PG_JWS_MAX_CRIT);
    }
    jws->crit = pg_calloc(json_array_size(crit) + 1, sizeof(*jws->crit));
    if (jws->crit == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading crit");
    }
    for (i = 0; i < json_array_size(crit); i++) {
        json_t *v = json_array_get(crit, i);

        if (!json_is_string(v)) {
            return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                              "protected header crit[%zu] is not a string", i);
        }
        jws->crit[jws->n_crit++] = json_string_value(v);
    }
    return PG_OK;
}

static enum pg_status read_time(const char *name, json_t *v, struct pg_jws_time *out,
                                struct pg_err *err)
{
    if (!json_is_string(v)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "protected header %s is not a string", name);
    }
    if (pg_jws_parse_time(json_string_value(v), out) != PG_OK) {
        char buf[NAME_ESC_MAX];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "protected header %s \"%s\" is not an rfc 3339 time", name,
                          esc(buf, sizeof(buf), json_string_value(v)));
    }
    return PG_OK;
}

static enum pg_status read_string(const char *name, json_t *v, const char **out, struct pg_err *err)
{
    if (!json_is_string(v)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "protected header %s is not a string", name);
    }
    *out = json_string_value(v);
    return PG_OK;
}

/* One protected member with a meaning of its own; 0 in *out_is_known otherwise. */
static enum pg_status read_known(struct pg_jws *jws, const char *key, json_t *v, int *out_is_known,
                                 struct pg_err *err)
{
    *out_is_known = 1;
    if (strcmp(key, "alg") == 0) {
        return read_string(key, v, &jws->alg, err);
    }
    if (strcmp(key, "cty") == 0) {
        return read_string(key, v, &jws->cty, err);
    }
    if (strcmp(key, PG_JWS_SCHEME) == 0) {
        return read_string(key, v, &jws->scheme, err);
    }
    if (strcmp(key, "crit") == 0) {
        return read_crit(jws, v, err);
    }
    if (strcmp(key, PG_JWS_SIGNING_TIME) == 0) {
        return read_time(key, v, &jws->signing_time, err);
    }
    if (strcmp(key, PG_JWS_AUTHENTIC_TIME) == 0) {
        return read_time(key, v, &jws->authentic_signing_time, err);
    }
    if (strcmp(key, PG_JWS_EXPIRY) == 0) {
        return read_time(key, v, &jws->expiry, err);
    }
    *out_is_known = 0;
    return PG_OK;
}

static int crit_lists(const struct pg_jws *jws, const char *name)
{
    size_t i;

    for (i = 0; i < jws->n_crit; i++) {
        if (strcmp(jws->crit[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

static enum pg_status read_protected_members(struct pg_jws *jws, struct pg_err *err)
{
    const char *key;
    json_t *v;
    size_t i;

    jws->ext = pg_calloc(json_object_size(jws->header) + 1, sizeof(*jws->ext));
    if (jws->ext == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading the protected header");
    }
    json_object_foreach(jws->header, key, v)
    {
        int is_known = 0;
        enum pg_status rc = read_known(jws, key, v, &is_known, err);

        if (rc != PG_OK) {
            return rc;
        }
        if (!is_known) {
            jws->ext[jws->n_ext].name = key;
            jws->ext[jws->n_ext++].value = v;
        }
    }
    for (i = 0; i < jws->n_ext; i++) {
        jws->ext[i].is_critical = crit_lists(jws, jws->ext[i].name);
    }
    return PG_OK;
}

static enum pg_status load_json(const unsigned char *data, size_t len, const char *what,
                                json_t **out_json, struct pg_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL) {
        char buf[160];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "%s is not valid json: %s at byte %d", what,
                          esc(buf, sizeof(buf), jerr.text), jerr.position);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "%s is not a json object", what);
    }
    *out_json = root;
    return PG_OK;
}

static enum pg_status read_protected(struct pg_jws *jws, struct pg_err *err)
{
    enum pg_status rc = load_json(jws->protected_raw.data, jws->protected_raw.len,
                                  "jws protected header", &jws->header, err);

    if (rc != PG_OK) {
        return rc;
    }
    if (json_object_size(jws->header) > PG_JWS_MAX_HEADER_MEMBERS) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "jws protected header has %zu members, "
                          "limit %d",
                          json_object_size(jws->header), PG_JWS_MAX_HEADER_MEMBERS);
    }
    return read_protected_members(jws, err);
}

static enum pg_status parse_root(struct pg_jws *jws, json_t *root, struct pg_err *err)
{
    enum pg_status rc;

    rc = read_b64url_member(root, "protected", &jws->protected_b64, &jws->protected_raw, err);
    if (rc == PG_OK) {
        rc = read_b64url_member(root, "payload", &jws->payload_b64, &jws->payload, err);
    }
    if (rc == PG_OK) {
        rc = read_b64url_member(root, "signature", NULL, &jws->signature, err);
    }
    if (rc == PG_OK) {
        rc = read_unprotected(jws, json_object_get(root, "header"), err);
    }
    if (rc == PG_OK) {
        rc = read_protected(jws, err);
    }
    return rc;
}

enum pg_status pg_jws_parse(const unsigned char *envelope, size_t len, struct pg_jws **out_jws,
                            struct pg_err *err)
{
    json_t *root = NULL;
    struct pg_jws *jws = NULL;
    enum pg_status rc;

    if (envelope == NULL || len > PG_JWS_MAX_ENVELOPE) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "jws envelope is missing or larger than %u bytes", PG_JWS_MAX_ENVELOPE);
    }
    rc = load_json(envelope, len, "jws envelope", &root, err);
    if (rc != PG_OK) {
        return rc;
    }
    jws = pg_calloc(1, sizeof(*jws));
    if (jws == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory parsing a jws envelope");
        goto out;
    }
    rc = parse_root(jws, root, err);
    if (rc != PG_OK) {
        goto out;
    }
    *out_jws = jws;
    jws = NULL; /* the caller owns it now */
out:
    pg_jws_free(jws);
    json_decref(root);
    return rc;
}

void pg_jws_free(struct pg_jws *jws)
{
    size_t i;

    if (jws == NULL) {
        return;
    }
    pg_free(jws->protected_b64);
    pg_free(jws->payload_b64);
    pg_blob_clear(&jws->protected_raw);
    json_decref(jws->header);
    pg_free(jws->crit);
    pg_free(jws->ext);
    pg_blob_clear(&jws->payload);
    pg_blob_clear(&jws->signature);
    for (i = 0; i < jws->n_x5c; i++) {
        pg_blob_clear(&jws->x5c[i]);
    }
    pg_free(jws->x5c);
    pg_blob_clear(&jws->timestamp);
    pg_free(jws->signing_agent);
    pg_free(jws);
}

const struct pg_jws_attr *pg_jws_find_attr(const struct pg_jws *jws, const char *name)
{
    size_t i;

    for (i = 0; i < jws->n_ext; i++) {
        if (strcmp(jws->ext[i].name, name) == 0) {
            return &jws->ext[i];
        }
    }
    return NULL;
}

/* ---- header rules -------------------------------------------------------- */

static int is_allowed_alg(const char *alg)
{
    size_t i;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(alg, algs[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static enum pg_status check_alg_cty(const struct pg_jws *jws, struct pg_err *err)
{
    char buf[NAME_ESC_MAX];

    if (jws->alg == NULL) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "protected header has no alg");
    }
    if (!is_allowed_alg(jws->alg)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "signature algorithm \"%s\" is not allowed",
                          esc(buf, sizeof(buf), jws->alg));
    }
    if (jws->cty == NULL) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "protected header has no cty");
    }
    if (strcmp(jws->cty, PG_JWS_PAYLOAD_TYPE) != 0) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "payload content type \"%s\" is not " PG_JWS_PAYLOAD_TYPE,
                          esc(buf, sizeof(buf), jws->cty));
    }
    return PG_OK;
}

static enum pg_status check_scheme(const struct pg_jws *jws, enum pg_signing_scheme *out,
                                   struct pg_err *err)
{
    int is_sa;

    if (jws->scheme == NULL) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "protected header has no " PG_JWS_SCHEME);
    }
    if (strcmp(jws->scheme, "notary.x509") != 0 &&
        strcmp(jws->scheme, "notary.x509.signingAuthority") != 0) {
        char buf[NAME_ESC_MAX];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "signing scheme \"%s\" is not supported",
                          esc(buf, sizeof(buf), jws->scheme));
    }
    is_sa = strcmp(jws->scheme, "notary.x509.signingAuthority") == 0;
    if (is_sa ? jws->signing_time.is_present : jws->authentic_signing_time.is_present) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "%s is not allowed with signing scheme %s",
                          is_sa ? PG_JWS_SIGNING_TIME : PG_JWS_AUTHENTIC_TIME, jws->scheme);
    }
    if (is_sa ? !jws->authentic_signing_time.is_present : !jws->signing_time.is_present) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "signing scheme %s requires %s", jws->scheme,
                          is_sa ? PG_JWS_AUTHENTIC_TIME : PG_JWS_SIGNING_TIME);
    }
    *out = is_sa ? PG_SCHEME_SIGNING_AUTHORITY : PG_SCHEME_X509;
    return PG_OK;
}

/* Is crit entry name allowed: a name the scheme requires or a present extended attribute. */
static int crit_entry_allowed(const struct pg_jws *jws, const char *name,
                              enum pg_signing_scheme scheme)
{
    if (strcmp(name, PG_JWS_SCHEME) == 0) {
        return 1;
    }
    if (strcmp(name, PG_JWS_EXPIRY) == 0) {
        return pg_jws_time_is_set(&jws->expiry); /* a zero expiry counts as absent */
    }
    if (strcmp(name, PG_JWS_AUTHENTIC_TIME) == 0) {
        return scheme == PG_SCHEME_SIGNING_AUTHORITY;
    }
    return pg_jws_find_attr(jws, name) != NULL;
}

static enum pg_status check_crit(const struct pg_jws *jws, enum pg_signing_scheme scheme,
                                 struct pg_err *err)
{
    char buf[NAME_ESC_MAX];
    size_t i;
    size_t j;

    if (jws->n_crit == 0) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "protected header crit is missing or empty");
    }
    for (i = 0; i < jws->n_crit; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(jws->crit[i], jws->crit[j]) == 0) {
                return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "crit lists \"%s\" twice",
                                  esc(buf, sizeof(buf), jws->crit[i]));
            }
        }
        if (!crit_entry_allowed(jws, jws->crit[i], scheme)) {
            return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                              "crit lists \"%s\", which is not a present extended attribute "
                              "nor a name the signing scheme requires",
                              esc(buf, sizeof(buf), jws->crit[i]));
        }
    }
    if (!crit_lists(jws, PG_JWS_SCHEME) ||
        (pg_jws_time_is_set(&jws->expiry) && !crit_lists(jws, PG_JWS_EXPIRY)) ||
        (scheme == PG_SCHEME_SIGNING_AUTHORITY && !crit_lists(jws, PG_JWS_AUTHENTIC_TIME))) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "crit does not list every attribute that must be critical (" PG_JWS_SCHEME
                          "%s%s)",
                          pg_jws_time_is_set(&jws->expiry) ? ", " PG_JWS_EXPIRY : "",
                          scheme == PG_SCHEME_SIGNING_AUTHORITY ? ", " PG_JWS_AUTHENTIC_TIME : "");
    }
    return PG_OK;
}

enum pg_status pg_jws_check_header(const struct pg_jws *jws, enum pg_signing_scheme *out_scheme,
                                   struct pg_err *err)
{
    enum pg_signing_scheme scheme = PG_SCHEME_X509;
    const struct pg_jws_time *signed_at;
    enum pg_status rc;

    rc = check_alg_cty(jws, err);
    if (rc == PG_OK) {
        rc = check_scheme(jws, &scheme, err);
    }
    if (rc == PG_OK) {
        rc = check_crit(jws, scheme, err);
    }
    if (rc != PG_OK) {
        return rc;
    }
    signed_at =
        scheme == PG_SCHEME_SIGNING_AUTHORITY ? &jws->authentic_signing_time : &jws->signing_time;
    rc = pg_jws_check_signed_at(scheme, signed_at, err);
    if (rc != PG_OK) {
        return rc;
    }
    if (pg_jws_time_is_set(&jws->expiry) && !time_after(&jws->expiry, signed_at)) {
        char a[32];
        char b[32];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "expiry %s is not after the signing time %s",
                          pg_jws_format_time(jws->expiry.sec, a, sizeof(a)),
                          pg_jws_format_time(signed_at->sec, b, sizeof(b)));
    }
    *out_scheme = scheme;
    return PG_OK;
}

/* ---- signature ----------------------------------------------------------- */

enum pg_status pg_jws_verify_signature(const struct pg_jws *jws, EVP_PKEY *key,
                                       enum pg_key_spec spec, struct pg_err *err)
{
    const char *want = pg_x509_jws_alg(spec);
    size_t plen = strlen(jws->protected_b64);
    size_t len = plen + 1 + strlen(jws->payload_b64);
    unsigned char *input = NULL;
    enum pg_status rc;

    if (jws->alg == NULL || want == NULL || strcmp(jws->alg, want) != 0) {
        char buf[NAME_ESC_MAX];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "signature algorithm \"%s\" does not match the signing certificate's "
                          "key, which requires %s",
                          esc(buf, sizeof(buf), jws->alg != NULL ? jws->alg : ""),
                          want != NULL ? want : "an unknown algorithm");
    }
    input = pg_malloc(len + 1);
    if (input == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory building the jws signing input");
    }
    memcpy(input, jws->protected_b64, plen);
    input[plen] = '.';
    memcpy(input + plen + 1, jws->payload_b64, len - plen - 1);
    rc = pg_sigcrypto_verify(key, spec, PG_PSS_SALT_AUTO, input, len, jws->signature.data,
                             jws->signature.len, err);
    pg_free(input);
    return rc;
}
