/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg-fakeaws: a loopback stand-in for the AWS endpoints pullgate calls, for
 * tests: AWS Signer's GetRevocationStatus (GET /revocations), STS
 * AssumeRoleWithWebIdentity (POST /) and IMDSv2 (PUT /latest/api/token,
 * GET /latest/meta-data/iam/security-credentials/[role]). It checks SigV4
 * signatures itself with the test key it is given (and the temporary keys it
 * hands out itself), answers as the mode file
 * says and logs every request as one JSON line.
 *
 *   pg-fakeaws --port-file F --log F [--mode-file F] [--access-key K --secret S]
 *
 * Modes (the mode file's first word, read per request; default ok): ok,
 * revoked, denied, cross-partition, hang. A request with a bad signature
 * gets 403 InvalidSignatureException whatever the mode.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define PARAMS_MAX 64
#define TEXT_MAX 4096

static const char *log_path;
static const char *mode_path;
static const char *access_key = "";
static const char *secret_key = "";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

struct req {
    char *uri; /* raw, with the query */
    char *body;
    size_t body_len;
    int is_started; /* the headers were seen; body and end follow */
};

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void read_mode(char *mode, size_t len)
{
    FILE *f = mode_path != NULL ? fopen(mode_path, "r") : NULL;

    snprintf(mode, len, "ok");
    if (f != NULL) {
        if (fscanf(f, "%63s", mode) != 1) {
            snprintf(mode, len, "ok");
        }
        fclose(f);
    }
}

/* ---- SigV4, computed independently of libcurl --------------------------------- */

static int unhex(char c)
{
    return c >= '0' && c <= '9'                 ? c - '0'
           : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10
                                                : -1;
}

static void url_decode(const char *s, size_t n, char *out, size_t out_len)
{
    size_t o = 0;
    size_t i;

    for (i = 0; i < n && o + 1 < out_len; i++) {
        if (s[i] == '%' && i + 2 < n + 0 && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
            out[o++] = (char)(unhex(s[i + 1]) * 16 + unhex(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = '\0';
}

static void aws_encode(const char *s, char *out, size_t out_len)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0' && o + 4 < out_len; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = digits[ch >> 4];
            out[o++] = digits[ch & 15];
        }
    }
    out[o] = '\0';
}

struct param {
    char name[256];
    char value[1024];
    char canon[1400];
};

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const struct param *)a)->canon, ((const struct param *)b)->canon);
}

/* Parses and canonicalises a raw query string into params (sorted). */
static size_t parse_query(const char *q, struct param *ps)
{
    size_t n = 0;

    while (q != NULL && *q != '\0' && n < PARAMS_MAX) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        char ename[512];
        char evalue[3100];

        url_decode(q, eq != NULL ? (size_t)(eq - q) : len, ps[n].name, sizeof(ps[n].name));
        url_decode(eq != NULL ? eq + 1 : q + len, eq != NULL ? len - (size_t)(eq - q) - 1 : 0,
                   ps[n].value, sizeof(ps[n].value));
        aws_encode(ps[n].name, ename, sizeof(ename));
        aws_encode(ps[n].value, evalue, sizeof(evalue));
        snprintf(ps[n].canon, sizeof(ps[n].canon), "%s=%s", ename, evalue);
        n++;
        q += len + (q[len] == '&');
    }
    qsort(ps, n, sizeof(*ps), cmp_param);
    return n;
}

static void hmac(const void *key, size_t key_len, const char *data, unsigned char out[32])
{
    unsigned int len = 32;

    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, strlen(data), out, &len);
}

/* The secret of the access key a credential names: the configured one, or those we hand out. */
static const char *secret_for(const char *cred)
{
    size_t n = strcspn(cred, "/");

    if (n == strlen(access_key) && strncmp(cred, access_key, n) == 0) {
        return secret_key;
    }
    if (n == 11 && strncmp(cred, "ASIAFAKESTS", n) == 0) {
        return "sts-secret";
    }
    if (n == 12 && strncmp(cred, "ASIAFAKEIMDS", n) == 0) {
        return "imds-secret";
    }
    return "\x01unknown";
}

/* The signing key: HMAC of "AWS4"+secret over date, region, service, "aws4_request". */
static void derive_key(const char *key, const char *scope, unsigned char k[32])
{
    unsigned char tmp[32];
    char part[64];
    const char *p = scope;
    int step;

    for (step = 0; step < 4; step++) {
        size_t len = strcspn(p, "/");

        snprintf(part, sizeof(part), "%.*s", (int)len, p);
        if (step == 0) {
            hmac(key, strlen(key), part, tmp);
        } else {
            hmac(k, 32, part, tmp);
        }
        memcpy(k, tmp, 32);
        p += len + (p[len] == '/');
    }
}

/* Pulls "Credential=", "SignedHeaders=" and "Signature=" out of an Authorization header. */
static int auth_field(const char *auth, const char *name, char *out, size_t len)
{
    const char *p = strstr(auth, name);
    size_t n;

    if (p == NULL) {
        return 0;
    }
    p += strlen(name);
    n = strcspn(p, ", ");
    snprintf(out, len, "%.*s", (int)n, p);
    return 1;
}

static int signature_is_valid(struct MHD_Connection *con, const char *method, const char *path,
                              const struct param *ps, size_t n, const char *auth)
{
    char cred[512], signed_hdrs[512], sig[128], scope[512], canon[TEXT_MAX * 4] = "";
    char body_hash[65], creq_hash[65], to_sign[2048], want[65], key[256];
    const char *date = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "x-amz-date");
    unsigned char md[32], k[32];
    char *h;
    char *save = NULL;
    size_t i;

    if (!auth_field(auth, "Credential=", cred, sizeof(cred)) ||
        !auth_field(auth, "SignedHeaders=", signed_hdrs, sizeof(signed_hdrs)) ||
        !auth_field(auth, "Signature=", sig, sizeof(sig)) || date == NULL ||
        strchr(cred, '/') == NULL) {
        return 0;
    }
    snprintf(scope, sizeof(scope), "%s", strchr(cred, '/') + 1);
    snprintf(canon, sizeof(canon), "%s\n%s\n", method, path);
    for (i = 0; i < n; i++) {
        snprintf(canon + strlen(canon), sizeof(canon) - strlen(canon), "%s%s", i ? "&" : "",
                 ps[i].canon);
    }
    strcat(canon, "\n");
    for (h = strtok_r(signed_hdrs, ";", &save); h != NULL; h = strtok_r(NULL, ";", &save)) {
        const char *v = MHD_lookup_connection_value(con, MHD_HEADER_KIND, h);

        snprintf(canon + strlen(canon), sizeof(canon) - strlen(canon), "%s:%s\n", h,
                 v != NULL ? v : "");
    }
    auth_field(auth, "SignedHeaders=", signed_hdrs, sizeof(signed_hdrs));
    SHA256((const unsigned char *)"", 0, md);
    hex(md, 32, body_hash);
    snprintf(canon + strlen(canon), sizeof(canon) - strlen(canon), "\n%s\n%s", signed_hdrs,
             body_hash);
    SHA256((const unsigned char *)canon, strlen(canon), md);
    hex(md, 32, creq_hash);
    snprintf(to_sign, sizeof(to_sign), "AWS4-HMAC-SHA256\n%s\n%s\n%s", date, scope, creq_hash);
    snprintf(key, sizeof(key), "AWS4%s", secret_for(cred));
    derive_key(key, scope, k);
    hmac(k, 32, to_sign, md);
    hex(md, 32, want);
    return strcmp(want, sig) == 0;
}

/* ---- answers ------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *con, unsigned int status, const char *type,
                             const char *error_type, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "x-amzn-RequestId", "fake-request-1");
    if (error_type != NULL) {
        MHD_add_response_header(r, "x-amzn-ErrorType", error_type);
    }
    rc = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return rc;
}

static const char *param(const struct param *ps, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(ps[i].name, name) == 0) {
            return ps[i].value;
        }
    }
    return "";
}

static enum MHD_Result revocations(struct MHD_Connection *con, const char *mode,
                                   const struct param *ps, size_t n, int is_signed)
{
    if (!is_signed) {
        return reply(con, 403, "application/json", "InvalidSignatureException:",
                     "{\"message\":\"The request signature we calculated does not match the "
                     "signature you provided.\"}");
    }
    if (strcmp(mode, "hang") == 0) {
        sleep(30);
    }
    if (strcmp(mode, "denied") == 0) {
        return reply(con, 403, "application/json",
                     "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral/",
                     "{\"message\":\"User: arn:aws:iam::111122223333:user/node is not authorized "
                     "to perform: signer:GetRevocationStatus\"}");
    }
    if (strcmp(mode, "cross-partition") == 0) {
        return reply(con, 400, "application/json", "ValidationException:",
                     "{\"message\":\"The profile version ARN belongs to another partition than "
                     "this endpoint\"}");
    }
    if (strcmp(mode, "revoked") == 0) {
        char body[2048];

        snprintf(body, sizeof(body), "{\"revokedEntities\":[\"%s\"]}", param(ps, n, "jobArn"));
        return reply(con, 200, "application/json", NULL, body);
    }
    return reply(con, 200, "application/json", NULL, "{\"revokedEntities\":[]}");
}

static enum MHD_Result sts(struct MHD_Connection *con)
{
    char body[2048];
    char expiry[32];
    time_t later = time(NULL) + 3600;

    strftime(expiry, sizeof(expiry), "%Y-%m-%dT%H:%M:%SZ", gmtime(&later));
    snprintf(body, sizeof(body),
             "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
             "<AccessKeyId>ASIAFAKESTS</AccessKeyId><SecretAccessKey>sts-secret</SecretAccessKey>"
             "<SessionToken>sts-session-token</SessionToken><Expiration>%s</Expiration>"
             "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
             expiry);
    return reply(con, 200, "text/xml", NULL, body);
}

static enum MHD_Result imds(struct MHD_Connection *con, const char *method, const char *path)
{
    const char *token =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-aws-ec2-metadata-token");
    char body[1024];
    char expiry[32];
    time_t later = time(NULL) + 3600;

    if (strcmp(method, "PUT") == 0 && strcmp(path, "/latest/api/token") == 0) {
        return reply(con, 200, "text/plain", NULL, "imds-session-token");
    }
    if (token == NULL || strcmp(token, "imds-session-token") != 0) {
        return reply(con, 401, "text/plain", NULL, "");
    }
    if (strcmp(path, "/latest/meta-data/iam/security-credentials/") == 0) {
        return reply(con, 200, "text/plain", NULL, "node-role\n");
    }
    strftime(expiry, sizeof(expiry), "%Y-%m-%dT%H:%M:%SZ", gmtime(&later));
    snprintf(body, sizeof(body),
             "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAFAKEIMDS\",\"SecretAccessKey\":"
             "\"imds-secret\",\"Token\":\"imds-credential-token\",\"Expiration\":\"%s\"}",
             expiry);
    return reply(con, 200, "application/json", NULL, body);
}

static void log_request(const char *method, const char *path, const struct param *ps, size_t n,
                        struct MHD_Connection *con, int is_signed, const char *body)
{
    const char *auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    const char *token = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "x-amz-security-token");
    json_t *query = json_object();
    json_t *line;
    FILE *f;
    size_t i;

    for (i = 0; i < n; i++) {
        json_t *list = json_object_get(query, ps[i].name);

        if (list == NULL) {
            list = json_array();
            json_object_set_new(query, ps[i].name, list);
        }
        json_array_append_new(list, json_string(ps[i].value));
    }
    line = json_pack("{s:s,s:s,s:o,s:s?,s:s?,s:b,s:s?}", "method", method, "path", path, "query",
                     query, "authorization", auth, "security_token", token, "signature_valid",
                     is_signed, "body", body);
    pthread_mutex_lock(&log_lock);
    f = fopen(log_path, "a");
    if (f != NULL && line != NULL) {
        json_dumpf(line, f, JSON_COMPACT);
        fputc('\n', f);
        fclose(f);
    }
    pthread_mutex_unlock(&log_lock);
    json_decref(line);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_len, void **req_cls)
{
    struct req *r = *req_cls;
    struct param ps[PARAMS_MAX];
    const char *auth;
    const char *q;
    char mode[64];
    size_t n;
    int is_signed;

    (void)cls;
    (void)version;
    if (!r->is_started) {
        r->is_started = 1;
        return MHD_YES;
    }
    if (*data_len > 0) {
        char *b = realloc(r->body, r->body_len + *data_len + 1);

        if (b == NULL) {
            return MHD_NO;
        }
        memcpy(b + r->body_len, data, *data_len);
        r->body = b;
        r->body_len += *data_len;
        r->body[r->body_len] = '\0';
        *data_len = 0;
        return MHD_YES;
    }
    q = strchr(r->uri, '?');
    n = parse_query(q != NULL ? q + 1 : NULL, ps);
    auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    is_signed = auth != NULL && strncmp(auth, "AWS4-HMAC-SHA256 ", 17) == 0 &&
                signature_is_valid(con, method, url, ps, n, auth);
    log_request(method, url, ps, n, con, is_signed, r->body);
    read_mode(mode, sizeof(mode));
    if (strcmp(url, "/revocations") == 0 && strcmp(method, "GET") == 0) {
        return revocations(con, mode, ps, n, is_signed);
    }
    if (strcmp(url, "/") == 0 && strcmp(method, "POST") == 0 && r->body != NULL &&
        strstr(r->body, "Action=AssumeRoleWithWebIdentity") != NULL) {
        return sts(con);
    }
    if (strncmp(url, "/latest/", 8) == 0) {
        return imds(con, method, url);
    }
    return reply(con, 404, "application/json", "UnknownOperationException:", "{}");
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct req *r = calloc(1, sizeof(*r));

    (void)cls;
    (void)con;
    if (r != NULL) {
        r->uri = strdup(uri);
    }
    return r;
}

static void on_done(void *cls, struct MHD_Connection *con, void **req_cls,
                    enum MHD_RequestTerminationCode code)
{
    struct req *r = *req_cls;

    (void)cls;
    (void)con;
    (void)code;
    if (r != NULL) {
        free(r->uri);
        free(r->body);
        free(r);
    }
    *req_cls = NULL;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    struct sockaddr_in sa;
    FILE *f;
    int i;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port-file") == 0) {
            port_file = argv[i + 1];
        } else if (strcmp(argv[i], "--log") == 0) {
            log_path = argv[i + 1];
        } else if (strcmp(argv[i], "--mode-file") == 0) {
            mode_path = argv[i + 1];
        } else if (strcmp(argv[i], "--access-key") == 0) {
            access_key = argv[i + 1];
        } else if (strcmp(argv[i], "--secret") == 0) {
            secret_key = argv[i + 1];
        }
    }
    if (port_file == NULL || log_path == NULL) {
        fprintf(stderr, "usage: pg-fakeaws --port-file F --log F [--mode-file F] "
                        "[--access-key K --secret S]\n");
        return 2;
    }
    d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    info = d != NULL ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (info == NULL) {
        fprintf(stderr, "pg-fakeaws: cannot listen\n");
        return 1;
    }
    f = fopen(port_file, "w");
    if (f == NULL) {
        return 1;
    }
    fprintf(f, "%u\n", (unsigned)info->port);
    fclose(f);
    for (;;) {
        pause();
    }
}
