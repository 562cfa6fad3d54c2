/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS Signer's verify-signature, in-process: the request checks the AWS
 * plugin makes, trusted identities as signing-profile ARNs, and revocation
 * by GetRevocationStatus on the AWS Signer data plane, signed with SigV4,
 * with answers cached briefly. The response has the plugin's shape;
 * sigverify.c applies the statement's levels to it. HTTP is in awsapi.c,
 * credentials in awscreds.c.
 */
#include "awssigner.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "awsapi.h"
#include "awscreds.h"
#include "b64.h"
#include "jws.h"
#include "log.h"
#include "mem.h"
#include "plugin.h"

#define SA_SCHEME "notary.x509.signingAuthority"
#define ZERO_TIME "0001-01-01T00:00:00Z"
#define PROFILES "/signing-profiles/"
#define REASON_MAX 512
#define TEXT_MAX 300
#define MAX_CHAIN 16

/* ---- identities ---------------------------------------------------------- */

/* The resource of an AWS Signer ARN ("arn:<partition>:signer:<region>:<account>:<resource>"). */
static const char *signer_resource(const char *arn)
{
    const char *p = arn;
    int i;

    if (strncmp(arn, "arn:", 4) != 0) {
        return NULL;
    }
    for (i = 0; i < 5; i++) {
        p = strchr(p, ':');
        if (p == NULL) {
            return NULL;
        }
        p++;
        if (i == 1 && strncmp(p, "signer:", 7) != 0) {
            return NULL;
        }
    }
    return p;
}

static size_t count_char(const char *s, char ch)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += *s == ch;
    }
    return n;
}

int pg_awssigner_identity_matches(const char *identity, const char *profile_version_arn)
{
    const char *res = identity != NULL ? signer_resource(identity) : NULL;
    const char *last;
    size_t slashes;

    if (res == NULL || profile_version_arn == NULL ||
        strncmp(res, PROFILES, strlen(PROFILES)) != 0) {
        return 0;
    }
    slashes = count_char(res, '/');
    if (slashes == 3) { /* "/signing-profiles/<name>/<version>" */
        return strcasecmp(identity, profile_version_arn) == 0;
    }
    last = strrchr(profile_version_arn, '/');
    return slashes == 2 && last != NULL &&
           strlen(identity) == (size_t)(last - profile_version_arn) &&
           strncasecmp(identity, profile_version_arn, strlen(identity)) == 0;
}

/* ---- request validation -------------------------------------------------- */

struct areq {
    const json_t *crit;
    const char *profile; /* signingProfileVersion; NULL unless a string */
    const char *job;     /* signingJob; likewise */
    const char *signing_time;
    const json_t *identities;
    const json_t *chain;
    int want_identity;
    int want_revocation;
};

static enum pg_status invalid(struct pg_err *err, const char *what)
{
    return pg_err_set(err, PG_ERR_PLUGIN, "aws signer verification: %s", what);
}

static enum pg_status read_caps(const json_t *caps, struct areq *a, struct pg_err *err)
{
    size_t i;
    json_t *v;

    json_array_foreach(caps, i, v)
    {
        const char *cap = json_string_value(v);

        if (cap != NULL && strcmp(cap, PG_PLUGIN_CAP_IDENTITY) == 0) {
            a->want_identity = 1;
        } else if (cap != NULL && strcmp(cap, PG_PLUGIN_CAP_REVOCATION) == 0) {
            a->want_revocation = 1;
        } else {
            return invalid(err, "a capability other than trusted identity and revocation check "
                                "was requested");
        }
    }
    return PG_OK;
}

static enum pg_status read_request(const json_t *req, struct areq *a, struct pg_err *err)
{
    const json_t *sig = json_object_get(req, "signature");
    const json_t *tp = json_object_get(req, "trustPolicy");
    const json_t *ext;
    const char *scheme;
    size_t i;
    json_t *v;

    memset(a, 0, sizeof(*a));
    a->crit = json_object_get(sig, "criticalAttributes");
    ext = json_object_get(a->crit, "extendedAttributes");
    scheme = json_string_value(json_object_get(a->crit, "signingScheme"));
    a->signing_time = json_string_value(json_object_get(a->crit, "authenticSigningTime"));
    a->profile = json_string_value(json_object_get(ext, PG_AWSSIGNER_PROFILE_ATTR));
    a->job = json_string_value(json_object_get(ext, PG_AWSSIGNER_JOB_ATTR));
    a->identities = json_object_get(tp, "trustedIdentities");
    a->chain = json_object_get(sig, "certificateChain");
    if (!json_is_string(json_object_get(req, "contractVersion")) ||
        strcmp(json_string_value(json_object_get(req, "contractVersion")), "1.0") != 0) {
        return invalid(err, "contract version is not 1.0");
    }
    json_array_foreach(a->identities, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), "*") == 0) {
            return invalid(err, "the wildcard \"*\" is not a supported trusted identity");
        }
    }
    if (scheme == NULL || strcasecmp(scheme, SA_SCHEME) != 0) {
        return invalid(err, "the signing scheme is not " SA_SCHEME);
    }
    if (a->signing_time == NULL || strcmp(a->signing_time, ZERO_TIME) == 0) {
        return invalid(err, "the signature has no authentic signing time");
    }
    return read_caps(json_object_get(tp, "signatureVerification"), a, err);
}

/* ---- trusted identity ---------------------------------------------------- */

static enum pg_status check_identity(const struct areq *a, json_t *results, struct pg_err *err)
{
    json_t *r;
    size_t i;
    json_t *v;
    int ok = 0;

    if (a->profile == NULL) {
        return invalid(err, PG_AWSSIGNER_PROFILE_ATTR " is missing or not a string");
    }
    json_array_foreach(a->identities, i, v)
    {
        ok = ok || pg_awssigner_identity_matches(json_string_value(v), a->profile);
    }
    r = ok ? json_pack("{s:b}", "success", 1)
           : json_pack("{s:b,s:s}", "success", 0, "reason",
                       "Signature publisher doesn't match any trusted identities.");
    if (r == NULL || json_object_set_new(results, PG_PLUGIN_CAP_IDENTITY, r) != 0) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory answering aws signer verification");
    }
    return PG_OK;
}

/* ---- certificate hashes and the query ------------------------------------ */

static enum pg_status tbs_hash(X509 *x, char out[97], struct pg_err *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char *der = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int len = i2d_re_X509_tbs(x, &der);
    unsigned int i;

    if (len <= 0 || EVP_Digest(der, (size_t)len, md, &md_len, EVP_sha384(), NULL) != 1) {
        OPENSSL_free(der);
        return pg_err_set_ssl(err, PG_ERR_INTERNAL, "cannot hash a certificate's tbs");
    }
    OPENSSL_free(der);
    for (i = 0; i < md_len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * md_len] = '\0';
    return PG_OK;
}

void pg_awssigner_hashes_free(char **hashes, size_t n)
{
    size_t i;

    for (i = 0; hashes != NULL && i < n; i++) {
        pg_free(hashes[i]);
    }
    pg_free(hashes);
}

enum pg_status pg_awssigner_cert_hashes(STACK_OF(X509) * chain, char ***out_hashes, size_t *out_n,
                                        struct pg_err *err)
{
    size_t n = (size_t)sk_X509_num(chain);
    char(*tbs)[97] = pg_calloc(n + 1, sizeof(*tbs));
    char **hashes = pg_calloc(n + 1, sizeof(*hashes));
    enum pg_status rc = tbs == NULL || hashes == NULL
                            ? pg_err_set(err, PG_ERR_NOMEM, "out of memory hashing certificates")
                            : PG_OK;
    size_t i;

    for (i = 0; rc == PG_OK && i < n; i++) {
        rc = tbs_hash(sk_X509_value(chain, (int)i), tbs[i], err);
    }
    for (i = 0; rc == PG_OK && i < n; i++) {
        hashes[i] = pg_asprintf("%s%s", tbs[i], tbs[i + 1 < n ? i + 1 : i]);
        if (hashes[i] == NULL) {
            rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory hashing certificates");
        }
    }
    pg_free(tbs);
    if (rc != PG_OK) {
        pg_awssigner_hashes_free(hashes, n);
        return rc;
    }
    *out_hashes = hashes;
    *out_n = n;
    return PG_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends "&name=value" (value encoded) to *q; frees the old string. */
static int add_param(char **q, const char *name, const char *value)
{
    char *enc = pg_awsapi_uri_encode(value);
    char *next = enc != NULL ? pg_asprintf("%s%s%s=%s", *q, (*q)[0] ? "&" : "", name, enc) : NULL;

    pg_free(enc);
    pg_free(*q);
    *q = next;
    return next != NULL;
}

/*
 * Names are already in order; the repeated certificateHashes values are
 * sorted, as SigV4's canonical query demands (the service treats them as a
 * set).
 */
char *pg_awssigner_revocation_query(char *const *hashes, size_t n_hashes, const char *job_arn,
                                    const char *profile_version_arn, const char *timestamp)
{
    char **sorted = pg_calloc(n_hashes + 1, sizeof(*sorted));
    char *q = pg_strdup("");
    int ok = sorted != NULL && q != NULL;
    size_t i;

    if (ok) {
        memcpy(sorted, hashes, n_hashes * sizeof(*sorted));
        qsort(sorted, n_hashes, sizeof(*sorted), cmp_str);
    }
    for (i = 0; ok && i < n_hashes; i++) {
        ok = add_param(&q, "certificateHashes", sorted[i]);
    }
    ok = ok && add_param(&q, "jobArn", job_arn);
    ok = ok && add_param(&q, "platformId", PG_AWSSIGNER_PLATFORM);
    ok = ok && add_param(&q, "profileVersionArn", profile_version_arn);
    ok = ok && add_param(&q, "signatureTimestamp", timestamp);
    pg_free(sorted);
    if (!ok) {
        pg_free(q);
        return NULL;
    }
    return q;
}

/* The chain of the request, decoded. */
static enum pg_status decode_chain(const json_t *chain, STACK_OF(X509) * *out, struct pg_err *err)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    enum pg_status rc = sk != NULL ? PG_OK : pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    size_t i;
    json_t *v;

    if (rc == PG_OK && (json_array_size(chain) == 0 || json_array_size(chain) > MAX_CHAIN)) {
        rc = invalid(err, "the certificate chain is empty or too long");
    }
    json_array_foreach(chain, i, v)
    {
        unsigned char *der = NULL;
        size_t len = 0;
        const unsigned char *p;
        X509 *x = NULL;

        if (rc != PG_OK) {
            break;
        }
        rc = pg_b64_decode_std(json_string_value(v) != NULL ? json_string_value(v) : "",
                               json_string_length(v), "certificateChain", &der, &len, err);
        p = der;
        x = rc == PG_OK ? d2i_X509(NULL, &p, (long)len) : NULL;
        if (rc == PG_OK && (x == NULL || sk_X509_push(sk, x) <= 0)) {
            X509_free(x);
            rc = invalid(err, "a certificate of the chain cannot be read");
        }
        pg_free(der);
    }
    if (rc != PG_OK) {
        sk_X509_pop_free(sk, X509_free);
        return rc;
    }
    *out = sk;
    return PG_OK;
}

/* The signing time as the AWS SDK writes a query timestamp: UTC, milliseconds at most. */
static enum pg_status sdk_time(const char *rfc3339, char *buf, size_t len, struct pg_err *err)
{
    struct pg_jws_time t;
    char base[32];
    int ms;

    if (pg_jws_parse_time(rfc3339, &t) != PG_OK) {
        return invalid(err, "the authentic signing time is not an rfc 3339 time");
    }
    pg_jws_format_time(t.sec, base, sizeof(base));
    ms = t.nsec / 1000000;
    if (ms == 0) {
        snprintf(buf, len, "%s", base);
        return PG_OK;
    }
    base[strlen(base) - 1] = '\0';
    snprintf(buf, len, "%s.%03d", base, ms);
    while (buf[strlen(buf) - 1] == '0') {
        buf[strlen(buf) - 1] = '\0';
    }
    snprintf(buf + strlen(buf), len - strlen(buf), "Z");
    return PG_OK;
}

/* ---- the revocation cache ------------------------------------------------ */

struct cache_entry {
    char *key;
    int64_t expires;
    int is_revoked;
    char reason[REASON_MAX];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[PG_AWSSIGNER_CACHE_MAX];

void pg_awssigner_cache_clear(void)
{
    size_t i;

    pthread_mutex_lock(&cache_lock);
    for (i = 0; i < PG_AWSSIGNER_CACHE_MAX; i++) {
        pg_free(cache[i].key);
        memset(&cache[i], 0, sizeof(cache[i]));
    }
    pthread_mutex_unlock(&cache_lock);
}

static int cache_get(const char *key, int *out_revoked, char *reason, size_t reason_len)
{
    int64_t now = (int64_t)time(NULL);
    int found = 0;
    size_t i;

    pthread_mutex_lock(&cache_lock);
    for (i = 0; i < PG_AWSSIGNER_CACHE_MAX && !found; i++) {
        if (cache[i].key != NULL && cache[i].expires > now && strcmp(cache[i].key, key) == 0) {
            *out_revoked = cache[i].is_revoked;
            snprintf(reason, reason_len, "%s", cache[i].reason);
            found = 1;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

/* Takes the slot of the same key, else an expired or empty one, else the oldest. */
static void cache_put(const char *key, int ttl_s, int is_revoked, const char *reason)
{
    int64_t now = (int64_t)time(NULL);
    char *copy = pg_strdup(key);
    size_t pick = 0;
    size_t i;

    if (copy == NULL || ttl_s <= 0) {
        pg_free(copy);
        return;
    }
    pthread_mutex_lock(&cache_lock);
    for (i = 0; i < PG_AWSSIGNER_CACHE_MAX; i++) {
        if (cache[i].key == NULL || cache[i].expires <= now || strcmp(cache[i].key, key) == 0) {
            pick = i;
            break;
        }
        if (cache[i].expires < cache[pick].expires) {
            pick = i;
        }
    }
    pg_free(cache[pick].key);
    cache[pick].key = copy;
    cache[pick].expires = now + ttl_s;
    cache[pick].is_revoked = is_revoked;
    snprintf(cache[pick].reason, sizeof(cache[pick].reason), "%s", reason);
    pthread_mutex_unlock(&cache_lock);
}

/* ---- GetRevocationStatus ------------------------------------------------- */

/* Field i (0-based) of an ARN into buf; 0 when it is not [a-z0-9-]{1,63}. */
static int arn_field(const char *arn, int field, char *buf, size_t len)
{
    const char *p = arn;
    size_t n;
    size_t i;
    int f;

    for (f = 0; f < field && p != NULL; f++) {
        p = strchr(p, ':');
        p = p != NULL ? p + 1 : NULL;
    }
    if (p == NULL) {
        return 0;
    }
    n = strcspn(p, ":");
    for (i = 0; i < n; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-')) {
            return 0;
        }
    }
    if (n == 0 || n >= len || n > 63) {
        return 0;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 1;
}

static enum pg_status answer_revoked(const struct pg_awsapi_response *resp, int *out_revoked,
                                     char *reason, size_t reason_len, struct pg_err *err)
{
    json_t *j = json_loadb(resp->body != NULL ? resp->body : "", resp->len, 0, NULL);
    const json_t *ents = json_object_get(j, "revokedEntities");
    size_t i;
    json_t *v;

    if (!json_is_object(j) || (ents != NULL && !json_is_array(ents))) {
        json_decref(j);
        return pg_err_set(err, PG_ERR_UPSTREAM,
                          "aws signer GetRevocationStatus answered http "
                          "200 without a revokedEntities list");
    }
    *out_revoked = json_array_size(ents) > 0;
    snprintf(reason, reason_len, "%s", *out_revoked ? "revoked by aws signer:" : "");
    json_array_foreach(ents, i, v)
    {
        char esc[TEXT_MAX];
        const char *s = json_is_string(v) ? json_string_value(v) : "(not a string)";
        size_t used = strlen(reason);

        snprintf(reason + used, reason_len - used, " %s",
                 pg_escape(esc, sizeof(esc), s, strlen(s)));
    }
    json_decref(j);
    return PG_OK;
}

static enum pg_status ask_aws(const struct pg_awssigner_options *o, const char *arn,
                              const char *query, int *out_revoked, char *reason, size_t reason_len,
                              struct pg_err *err)
{
    static const char *const hdrs[] = {"Accept: application/json", NULL};
    int64_t end = pg_now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : PG_PLUGIN_DEFAULT_TIMEOUT_MS);
    int64_t left = pg_deadline_left_ms(o->deadline);
    struct pg_awsapi_response resp;
    struct pg_awsapi_request req;
    struct pg_aws_creds creds;
    char region[64];
    char partition[64];
    char *url = NULL;
    enum pg_status rc;

    if (left >= 0 && pg_now_ms() + left < end) {
        end = pg_now_ms() + left;
    }
    if (!arn_field(arn, 1, partition, sizeof(partition)) ||
        !arn_field(arn, 3, region, sizeof(region))) {
        return invalid(err, "the signing profile arn names no partition and region");
    }
    memset(&resp, 0, sizeof(resp));
    rc = pg_awscreds_get(region, o->deadline, end - pg_now_ms(), &creds, err);
    if (rc == PG_OK && o->endpoint != NULL && o->endpoint[0] != '\0') {
        url = pg_asprintf("%s/revocations?%s", o->endpoint, query);
    } else if (rc == PG_OK) {
        url = pg_asprintf("https://data-signer.%s.%s/revocations?%s", region,
                          strcmp(partition, "aws-cn") == 0 ? "amazonaws.com.cn" : "amazonaws.com",
                          query);
    }
    if (rc == PG_OK && url == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory calling aws signer");
    }
    if (rc == PG_OK) {
        memset(&req, 0, sizeof(req));
        req.method = "GET";
        req.url = url;
        req.headers = hdrs;
        req.creds = &creds;
        req.region = region;
        req.service = "signer";
        req.timeout_ms = end - pg_now_ms();
        rc = pg_awsapi_call(&req, &resp, err);
    }
    if (rc == PG_OK && resp.status != 200) {
        char text[REASON_MAX];

        pg_awsapi_error_text(&resp, text, sizeof(text));
        rc = pg_err_set(err, PG_ERR_UPSTREAM, "aws signer GetRevocationStatus failed: %s", text);
    }
    if (rc == PG_OK) {
        rc = answer_revoked(&resp, out_revoked, reason, reason_len, err);
    }
    pg_awscreds_wipe(&creds);
    pg_awsapi_response_clear(&resp);
    pg_free(url);
    return rc;
}

static char *cache_key(const struct areq *a, const char *query)
{
    return pg_asprintf("%s\n%s\n%s", a->job, a->profile, query);
}

/* The revocation result; a service failure is a failed result, not an error. */
static enum pg_status check_revocation(const struct areq *a, const struct pg_awssigner_options *o,
                                       json_t *results, enum pg_status *out_status,
                                       struct pg_err *err)
{
    STACK_OF(X509) *chain = NULL;
    char **hashes = NULL;
    size_t n = 0;
    char when[48];
    char reason[REASON_MAX] = "";
    char *query = NULL;
    char *key = NULL;
    int is_revoked = 0;
    struct pg_err call_err;
    enum pg_status rc;
    json_t *r;

    if (a->profile == NULL || a->job == NULL) {
        return invalid(err, PG_AWSSIGNER_PROFILE_ATTR " or " PG_AWSSIGNER_JOB_ATTR
                                                      " is missing or not a string");
    }
    rc = decode_chain(a->chain, &chain, err);
    if (rc == PG_OK) {
        rc = pg_awssigner_cert_hashes(chain, &hashes, &n, err);
    }
    if (rc == PG_OK) {
        rc = sdk_time(a->signing_time, when, sizeof(when), err);
    }
    if (rc == PG_OK) {
        query = pg_awssigner_revocation_query(hashes, n, a->job, a->profile, when);
        key = query != NULL ? cache_key(a, query) : NULL;
        rc = key == NULL ? pg_err_set(err, PG_ERR_NOMEM, "out of memory") : PG_OK;
    }
    if (rc != PG_OK) {
        goto out;
    }
    *out_status = PG_ERR_SIG_REVOKED;
    if (!cache_get(key, &is_revoked, reason, sizeof(reason))) {
        pg_err_init(&call_err);
        if (ask_aws(o, a->profile, query, &is_revoked, reason, sizeof(reason), &call_err) ==
            PG_OK) {
            cache_put(key, o->cache_ttl_s, is_revoked, reason);
        } else {
            pg_log(LOG_DEBUG, "aws signer revocation check: %s", call_err.msg);
            snprintf(reason, sizeof(reason), "%s", call_err.msg);
            is_revoked = 1;
            *out_status = PG_ERR_UPSTREAM;
        }
    }
    r = is_revoked ? json_pack("{s:b,s:s}", "success", 0, "reason", reason)
                   : json_pack("{s:b}", "success", 1);
    if (r == NULL || json_object_set_new(results, PG_PLUGIN_CAP_REVOCATION, r) != 0) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory answering aws signer verification");
    }
out:
    sk_X509_pop_free(chain, X509_free);
    pg_awssigner_hashes_free(hashes, n);
    pg_free(query);
    pg_free(key);
    return rc;
}

enum pg_status pg_awssigner_verify(const json_t *request, const struct pg_awssigner_options *o,
                                   json_t **out_response, enum pg_status *out_revocation_status,
                                   struct pg_err *err)
{
    json_t *resp = json_pack("{s:{},s:[s,s]}", "verificationResults", "processedAttributes",
                             PG_AWSSIGNER_PROFILE_ATTR, PG_AWSSIGNER_JOB_ATTR);
    json_t *results = json_object_get(resp, "verificationResults");
    enum pg_status status = PG_ERR_SIG_REVOKED;
    struct areq a;
    enum pg_status rc;

    memset(&a, 0, sizeof(a));
    rc = resp == NULL ? pg_err_set(err, PG_ERR_NOMEM, "out of memory") : PG_OK;
    if (rc == PG_OK) {
        rc = read_request(request, &a, err);
    }
    if (rc == PG_OK && a.want_identity) {
        rc = check_identity(&a, results, err);
    }
    if (rc == PG_OK && a.want_revocation) {
        rc = check_revocation(&a, o, results, &status, err);
    }
    if (rc != PG_OK) {
        json_decref(resp);
        return rc;
    }
    *out_response = resp;
    *out_revocation_status = status;
    return PG_OK;
}
