/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AWS credential chain, in the SDKs' order: AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN); the profile AWS_PROFILE
 * (else "default") of AWS_SHARED_CREDENTIALS_FILE (else
 * ~/.aws/credentials); web identity, AWS_WEB_IDENTITY_TOKEN_FILE with
 * AWS_ROLE_ARN exchanged at STS (AWS_ENDPOINT_URL_STS overrides the
 * regional endpoint); and IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT
 * overrides 169.254.169.254, AWS_EC2_METADATA_DISABLED=true skips it).
 * Secrets are wiped after use and never written into a message.
 */
#include "awscreds.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "awsapi.h"
#include "jws.h"
#include "mem.h"

#define FILE_MAX (64 * 1024)
#define REASON_MAX 300
#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_TIMEOUT_MS 1000
#define REFRESH_MARGIN_S 300
#define SESSION_NAME "pullgate"

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pg_aws_creds cached;

void pg_awscreds_wipe(struct pg_aws_creds *c)
{
    if (c != NULL) {
        OPENSSL_cleanse(c, sizeof(*c));
    }
}

void pg_awscreds_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    pg_awscreds_wipe(&cached);
    pthread_mutex_unlock(&cache_lock);
}

static int set_creds(struct pg_aws_creds *c, const char *key, const char *secret, const char *token,
                     const char *source)
{
    memset(c, 0, sizeof(*c));
    if (key == NULL || secret == NULL || key[0] == '\0' || secret[0] == '\0' ||
        strlen(key) >= sizeof(c->access_key) || strlen(secret) >= sizeof(c->secret_key) ||
        (token != NULL && strlen(token) >= sizeof(c->token))) {
        return 0;
    }
    snprintf(c->access_key, sizeof(c->access_key), "%s", key);
    snprintf(c->secret_key, sizeof(c->secret_key), "%s", secret);
    snprintf(c->token, sizeof(c->token), "%s", token != NULL ? token : "");
    snprintf(c->source, sizeof(c->source), "%s", source);
    return 1;
}

/* ---- environment and shared file ----------------------------------------- */

static int from_env(struct pg_aws_creds *out, char *why, size_t why_len)
{
    const char *key = getenv("AWS_ACCESS_KEY_ID");
    const char *secret = getenv("AWS_SECRET_ACCESS_KEY");

    if (key == NULL || secret == NULL) {
        snprintf(why, why_len, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set");
        return 0;
    }
    if (!set_creds(out, key, secret, getenv("AWS_SESSION_TOKEN"), "environment")) {
        snprintf(why, why_len, "AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is empty or too long");
        return 0;
    }
    return 1;
}

static char *read_small_file(const char *path, char *why, size_t why_len)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t n = 0;

    if (f == NULL) {
        snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = pg_malloc(FILE_MAX + 1);
    if (buf != NULL) {
        n = fread(buf, 1, FILE_MAX + 1, f);
        buf[n > FILE_MAX ? FILE_MAX : n] = '\0';
    }
    fclose(f);
    if (buf == NULL || n > FILE_MAX) {
        snprintf(why, why_len, "%s is %s", path,
                 buf == NULL ? "unreadable (out of memory)" : "larger than 64 KiB");
        if (buf != NULL) {
            OPENSSL_cleanse(buf, FILE_MAX);
        }
        pg_free(buf);
        return NULL;
    }
    return buf;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) {
        *--end = '\0';
    }
    return s;
}

/* Points vals[i] at the value of keys[i] in section profile of an INI text (edited in place). */
static void ini_scan(char *text, const char *profile, const char *const *keys, const char **vals,
                     size_t n)
{
    char *save = NULL;
    char *line;
    int in_profile = 0;
    size_t i;

    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *l = trim(line);
        char *eq = strchr(l, '=');

        if (l[0] == '[' && strchr(l, ']') != NULL) {
            *strchr(l, ']') = '\0';
            in_profile = strcmp(trim(l + 1), profile) == 0;
            continue;
        }
        if (!in_profile || eq == NULL) {
            continue;
        }
        *eq = '\0';
        for (i = 0; i < n; i++) {
            if (strcmp(trim(l), keys[i]) == 0) {
                vals[i] = trim(eq + 1);
            }
        }
    }
}

static int from_shared_file(struct pg_aws_creds *out, char *why, size_t why_len)
{
    static const char *const keys[] = {"aws_access_key_id", "aws_secret_access_key",
                                       "aws_session_token"};
    const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
    const char *home = getenv("HOME");
    const char *profile = getenv("AWS_PROFILE");
    const char *vals[3] = {NULL, NULL, NULL};
    char path[1024];
    char *text;
    int ok;

    if (file == NULL && home == NULL) {
        snprintf(why, why_len, "neither AWS_SHARED_CREDENTIALS_FILE nor HOME is set");
        return 0;
    }
    snprintf(path, sizeof(path), "%s%s", file != NULL ? file : home,
             file != NULL ? "" : "/.aws/credentials");
    profile = profile != NULL && profile[0] != '\0' ? profile : "default";
    text = read_small_file(path, why, why_len);
    if (text == NULL) {
        return 0;
    }
    ini_scan(text, profile, keys, vals, 3);
    ok = set_creds(out, vals[0], vals[1], vals[2], "shared-file");
    if (!ok) {
        snprintf(why, why_len,
                 "%s has no usable aws_access_key_id and aws_secret_access_key in "
                 "profile \"%.64s\"",
                 path, profile);
    }
    OPENSSL_cleanse(text, FILE_MAX);
    pg_free(text);
    return ok;
}

/* ---- web identity and instance metadata ---------------------------------- */

/* The text between <tag> and </tag>, copied to dst; 0 when absent or too long. */
static int xml_text(const char *body, const char *tag, char *dst, size_t dst_len)
{
    char open[64];
    char close[64];
    const char *a;
    const char *b;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    a = body != NULL ? strstr(body, open) : NULL;
    b = a != NULL ? strstr(a, close) : NULL;
    if (b == NULL || (size_t)(b - a - strlen(open)) >= dst_len) {
        return 0;
    }
    a += strlen(open);
    memcpy(dst, a, (size_t)(b - a));
    dst[b - a] = '\0';
    return 1;
}

static int64_t parse_expiry(const char *s)
{
    struct pg_jws_time t;

    return s != NULL && pg_jws_parse_time(s, &t) == PG_OK ? t.sec : 0;
}

static char *sts_body(const char *role, const char *token)
{
    const char *session = getenv("AWS_ROLE_SESSION_NAME");
    char *r = pg_awsapi_uri_encode(role);
    char *s = pg_awsapi_uri_encode(session != NULL && session[0] ? session : SESSION_NAME);
    char *t = pg_awsapi_uri_encode(token);
    char *body = NULL;

    if (r != NULL && s != NULL && t != NULL) {
        body = pg_asprintf("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=%s"
                           "&RoleSessionName=%s&WebIdentityToken=%s",
                           r, s, t);
    }
    if (t != NULL) {
        OPENSSL_cleanse(t, strlen(t));
    }
    pg_free(r);
    pg_free(s);
    pg_free(t);
    return body;
}

static int sts_answer(const struct pg_awsapi_response *resp, struct pg_aws_creds *out, char *why,
                      size_t why_len)
{
    struct pg_aws_creds c;
    char expiration[64] = "";
    int ok;

    memset(&c, 0, sizeof(c));
    if (resp->status != 200) {
        char code[128] = "";
        char msg[256] = "";

        xml_text(resp->body, "Code", code, sizeof(code));
        xml_text(resp->body, "Message", msg, sizeof(msg));
        snprintf(why, why_len, "sts answered http %ld, %s: %s", resp->status,
                 code[0] ? code : "unknown error", msg[0] ? msg : "(no message)");
        return 0;
    }
    ok = xml_text(resp->body, "AccessKeyId", c.access_key, sizeof(c.access_key)) &&
         xml_text(resp->body, "SecretAccessKey", c.secret_key, sizeof(c.secret_key)) &&
         xml_text(resp->body, "SessionToken", c.token, sizeof(c.token));
    xml_text(resp->body, "Expiration", expiration, sizeof(expiration));
    if (ok) {
        ok = set_creds(out, c.access_key, c.secret_key, c.token, "web-identity");
        out->expires = parse_expiry(expiration);
    }
    if (!ok) {
        snprintf(why, why_len, "sts answered without usable credentials");
    }
    pg_awscreds_wipe(&c);
    return ok;
}

static int from_web_identity(const char *region, int64_t timeout_ms, struct pg_aws_creds *out,
                             char *why, size_t why_len)
{
    const char *file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *role = getenv("AWS_ROLE_ARN");
    const char *endpoint = getenv("AWS_ENDPOINT_URL_STS");
    static const char *const hdrs[] = {"Content-Type: application/x-www-form-urlencoded",
                                       "Accept: text/xml", NULL};
    struct pg_awsapi_request req;
    struct pg_awsapi_response resp;
    struct pg_err err;
    char url[512];
    char *token = NULL;
    char *body = NULL;
    int ok = 0;

    if (file == NULL || role == NULL) {
        snprintf(why, why_len, "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not both set");
        return 0;
    }
    token = read_small_file(file, why, why_len);
    body = token != NULL ? sts_body(role, trim(token)) : NULL;
    if (endpoint != NULL && endpoint[0] != '\0') {
        snprintf(url, sizeof(url), "%s/", endpoint);
    } else {
        /* The China regions (aws-cn) have their own domain. */
        snprintf(url, sizeof(url), "https://sts.%s.%s/", region,
                 strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com");
    }
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method = "POST";
    req.url = url;
    req.headers = hdrs;
    req.body = body;
    req.timeout_ms = timeout_ms;
    pg_err_init(&err);
    if (body != NULL && pg_awsapi_call(&req, &resp, &err) == PG_OK) {
        ok = sts_answer(&resp, out, why, why_len);
    } else if (body != NULL) {
        snprintf(why, why_len, "sts: %s", err.msg);
    }
    if (token != NULL) {
        OPENSSL_cleanse(token, FILE_MAX);
    }
    if (body != NULL) {
        OPENSSL_cleanse(body, strlen(body));
    }
    pg_free(token);
    pg_free(body);
    if (resp.body != NULL) {
        OPENSSL_cleanse(resp.body, resp.len);
    }
    pg_awsapi_response_clear(&resp);
    return ok;
}

/* One IMDS call before end_ms; the body is the caller's (pg_free, wiped first). */
static char *imds_call(const char *method, const char *path, const char *header, int64_t end_ms,
                       char *why, size_t why_len)
{
    int64_t timeout_ms = end_ms - pg_now_ms();

    const char *endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *hdrs[] = {header, NULL};
    struct pg_awsapi_request req;
    struct pg_awsapi_response resp;
    struct pg_err err;
    char url[512];
    char *body = NULL;

    memset(&resp, 0, sizeof(resp));
    snprintf(url, sizeof(url), "%s%s", endpoint != NULL && endpoint[0] ? endpoint : IMDS_DEFAULT,
             path);
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.url = url;
    req.headers = hdrs;
    req.timeout_ms = timeout_ms < IMDS_TIMEOUT_MS ? timeout_ms : IMDS_TIMEOUT_MS;
    req.is_local = 1;
    pg_err_init(&err);
    if (pg_awsapi_call(&req, &resp, &err) != PG_OK) {
        snprintf(why, why_len, "instance metadata: %s", err.msg);
    } else if (resp.status != 200 || resp.body == NULL) {
        snprintf(why, why_len, "instance metadata: %s %s answered http %ld", method, path,
                 resp.status);
    } else {
        body = resp.body;
        resp.body = NULL;
    }
    pg_awsapi_response_clear(&resp);
    return body;
}

static void wipe_free(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        pg_free(s);
    }
}

static int imds_credentials(const char *json, struct pg_aws_creds *out, char *why, size_t why_len)
{
    json_t *j = json_loads(json, 0, NULL);
    int ok = set_creds(out, json_string_value(json_object_get(j, "AccessKeyId")),
                       json_string_value(json_object_get(j, "SecretAccessKey")),
                       json_string_value(json_object_get(j, "Token")), "imds");

    if (ok) {
        out->expires = parse_expiry(json_string_value(json_object_get(j, "Expiration")));
    } else {
        snprintf(why, why_len, "instance metadata gave no usable role credentials");
    }
    json_decref(j); /* Not yet: jansson frees its copies of the secrets unwiped. */
    return ok;
}

static int from_imds(int64_t end_ms, struct pg_aws_creds *out, char *why, size_t why_len)
{
    const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
    char *token = NULL;
    char *role = NULL;
    char *creds = NULL;
    char *hdr = NULL;
    char *path = NULL;
    int ok = 0;

    if (disabled != NULL && strcasecmp(disabled, "true") == 0) {
        snprintf(why, why_len, "AWS_EC2_METADATA_DISABLED is true");
        return 0;
    }
    token = imds_call("PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 21600",
                      end_ms, why, why_len);
    hdr = token != NULL ? pg_asprintf("X-aws-ec2-metadata-token: %s", trim(token)) : NULL;
    role = hdr != NULL ? imds_call("GET", "/latest/meta-data/iam/security-credentials/", hdr,
                                   end_ms, why, why_len)
                       : NULL;
    if (role != NULL) {
        role[strcspn(role, "\r\n")] = '\0';
        path = role[0] != '\0' && strchr(role, '/') == NULL
                   ? pg_asprintf("/latest/meta-data/iam/security-credentials/%s", role)
                   : NULL;
        if (path == NULL) {
            snprintf(why, why_len, "instance metadata names no usable role");
        }
    }
    creds = path != NULL ? imds_call("GET", path, hdr, end_ms, why, why_len) : NULL;
    ok = creds != NULL && imds_credentials(creds, out, why, why_len);
    wipe_free(token);
    wipe_free(hdr);
    wipe_free(creds);
    pg_free(role);
    pg_free(path);
    return ok;
}

/* ---- the chain ----------------------------------------------------------- */

static int take_cached(struct pg_aws_creds *out)
{
    int ok;

    pthread_mutex_lock(&cache_lock);
    ok = cached.access_key[0] != '\0' &&
         (cached.expires == 0 || cached.expires > (int64_t)time(NULL) + REFRESH_MARGIN_S);
    if (ok) {
        *out = cached;
    }
    pthread_mutex_unlock(&cache_lock);
    return ok;
}

static void keep(const struct pg_aws_creds *c)
{
    pthread_mutex_lock(&cache_lock);
    cached = *c;
    pthread_mutex_unlock(&cache_lock);
}

enum pg_status pg_awscreds_get(const char *region, const struct pg_deadline *deadline,
                               int64_t timeout_ms, struct pg_aws_creds *out, struct pg_err *err)
{
    char why[4][REASON_MAX];
    int64_t left = pg_deadline_left_ms(deadline);
    int64_t end_ms;

    memset(why, 0, sizeof(why));
    if (left >= 0 && left < timeout_ms) {
        timeout_ms = left;
    }
    end_ms = pg_now_ms() + timeout_ms; /* web identity and instance metadata share it */
    if (from_env(out, why[0], sizeof(why[0])) || from_shared_file(out, why[1], sizeof(why[1]))) {
        return PG_OK;
    }
    if (take_cached(out)) {
        return PG_OK;
    }
    if (from_web_identity(region, timeout_ms, out, why[2], sizeof(why[2])) ||
        from_imds(end_ms, out, why[3], sizeof(why[3]))) {
        keep(out);
        return PG_OK;
    }
    return pg_err_set(err, PG_ERR_UPSTREAM,
                      "no aws credentials: environment: %s; shared credentials file: %s; web "
                      "identity: %s; %s",
                      why[0], why[1], why[2], why[3]);
}
