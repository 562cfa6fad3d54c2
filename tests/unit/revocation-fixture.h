/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test material for revocation and timestamp claims: certificates minted by
 * pg-testsign, CRLs and OCSP responses signed here with OpenSSL, a loopback
 * HTTP server (libmicrohttpd) that serves them with optional delays, and a
 * notation directory whose single statement trusts given certificates.
 * Header-only (static inline) so test-revocation.c and test-timestamp.c
 * each take what they use.
 */
#ifndef PG_REVOCATION_FIXTURE_H
#define PG_REVOCATION_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "mem.h"
#include "policy.h"
#include "trust.h"

extern char **environ;

#define RF_ARGS_MAX 40
#define RF_ROUTES_MAX 16
#define RF_END ((const char *)NULL) /* ends rf_testsign's arguments */

/* ---- files and processes ----------------------------------------------- */

static inline int rf_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;

    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    return ok;
}

/* $PG_BUILD_DIR/tests/pg-testsign; NULL when PG_BUILD_DIR is unset. */
static inline char *rf_tool_path(void)
{
    const char *build = getenv("PG_BUILD_DIR");

    return build != NULL ? pg_asprintf("%s/tests/pg-testsign", build) : NULL;
}

/* Runs argv (NULL-terminated) with stdout/stderr to /dev/null; returns the exit code. */
static inline int rf_run(const char *const *argv)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = -1;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0 ||
        waitpid(pid, &status, 0) != pid) {
        status = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs pg-testsign with the NULL-terminated arguments; 1 on exit 0. */
static inline int rf_testsign(const char *first, ...)
{
    const char *argv[RF_ARGS_MAX + 2];
    char *tool = rf_tool_path();
    va_list ap;
    int n = 0;
    int ok;

    if (tool == NULL) {
        return 0;
    }
    argv[n++] = tool;
    va_start(ap, first);
    for (const char *a = first; a != NULL && n < RF_ARGS_MAX; a = va_arg(ap, const char *)) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    ok = rf_run(argv) == 0;
    pg_free(tool);
    return ok;
}

static inline EVP_PKEY *rf_load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

    if (f != NULL) {
        fclose(f);
    }
    return k;
}

/* PEM certificates of path, or one DER certificate; NULL when none. */
static inline STACK_OF(X509) * rf_load_certs(const char *path)
{
    STACK_OF(X509) *s = sk_X509_new_null();
    FILE *f = fopen(path, "rb");
    X509 *x;

    while (s != NULL && f != NULL && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        sk_X509_push(s, x);
    }
    if (s != NULL && f != NULL && sk_X509_num(s) == 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (x = d2i_X509_fp(f, NULL)) != NULL) {
        sk_X509_push(s, x);
    }
    ERR_clear_error();
    if (f != NULL) {
        fclose(f);
    }
    if (s != NULL && sk_X509_num(s) == 0) {
        sk_X509_free(s);
        s = NULL;
    }
    return s;
}

static inline X509 *rf_load_cert(const char *path)
{
    STACK_OF(X509) *s = rf_load_certs(path);
    X509 *x = s != NULL ? sk_X509_shift(s) : NULL;

    sk_X509_pop_free(s, X509_free);
    return x;
}

/* ---- CRLs and OCSP responses -------------------------------------------- */

struct rf_crl {
    long last_off; /* lastUpdate = now + last_off seconds */
    long next_off; /* nextUpdate = now + next_off */
    int no_next;
    const ASN1_INTEGER *revoke; /* serial to list, or NULL */
    int reason;                 /* CRLReason, -1 for none */
    long invalid_off;           /* invalidity date = now + invalid_off when non-zero */
    int critical_unknown_ext;
};

static inline void rf_crl_add_entry(X509_CRL *crl, const struct rf_crl *sp)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_TIME *t = X509_gmtime_adj(NULL, -3600);

    X509_REVOKED_set_serialNumber(rev, (ASN1_INTEGER *)sp->revoke);
    X509_REVOKED_set_revocationDate(rev, t);
    if (sp->reason >= 0) {
        ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

        ASN1_ENUMERATED_set(e, sp->reason);
        X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, e, 0, 0);
        ASN1_ENUMERATED_free(e);
    }
    if (sp->invalid_off != 0) {
        ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_adj(NULL, time(NULL), 0, sp->invalid_off);

        X509_REVOKED_add1_ext_i2d(rev, NID_invalidity_date, g, 0, 0);
        ASN1_GENERALIZEDTIME_free(g);
    }
    X509_CRL_add0_revoked(crl, rev);
    ASN1_TIME_free(t);
}

/* A DER CRL issued in issuer's name and signed with key; NULL on failure. */
static inline unsigned char *rf_make_crl(X509 *issuer, EVP_PKEY *key, const struct rf_crl *sp,
                                         size_t *out_len)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = X509_gmtime_adj(NULL, sp->last_off);
    ASN1_TIME *next = X509_gmtime_adj(NULL, sp->next_off);
    unsigned char *der = NULL;
    int len = -1;

    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    X509_CRL_set1_lastUpdate(crl, last);
    if (!sp->no_next) {
        X509_CRL_set1_nextUpdate(crl, next);
    }
    if (sp->revoke != NULL) {
        rf_crl_add_entry(crl, sp);
    }
    if (sp->critical_unknown_ext) {
        ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.55555.1", 1);
        ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
        X509_EXTENSION *ext;

        ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x05\x00", 2);
        ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, v);
        X509_CRL_add_ext(crl, ext, -1);
        X509_EXTENSION_free(ext);
        ASN1_OCTET_STRING_free(v);
        ASN1_OBJECT_free(oid);
    }
    X509_CRL_sort(crl);
    if (X509_CRL_sign(crl, key, EVP_sha256()) > 0) {
        len = i2d_X509_CRL(crl, &der);
    }
    X509_CRL_free(crl);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    *out_len = len > 0 ? (size_t)len : 0;
    return len > 0 ? der : NULL;
}

/*
 * A DER OCSP response about cert, signed by signer (the issuer itself, or a
 * responder embedded as the first certificate). status V_OCSP_CERTSTATUS_*.
 */
static inline unsigned char *rf_make_ocsp(X509 *cert, X509 *issuer, X509 *signer, EVP_PKEY *key,
                                          int status, int no_next, size_t *out_len)
{
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    ASN1_TIME *this_upd = X509_gmtime_adj(NULL, -60);
    ASN1_TIME *next_upd = X509_gmtime_adj(NULL, 3600);
    ASN1_TIME *rev = X509_gmtime_adj(NULL, -3600);
    OCSP_RESPONSE *resp = NULL;
    unsigned char *der = NULL;
    int is_delegated = X509_cmp(signer, issuer) != 0;
    int len = -1;

    OCSP_basic_add1_status(
        bs, id, status, status == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0,
        status == V_OCSP_CERTSTATUS_REVOKED ? rev : NULL, this_upd, no_next ? NULL : next_upd);
    if (OCSP_basic_sign(bs, signer, key, EVP_sha256(), NULL, is_delegated ? 0 : OCSP_NOCERTS) ==
        1) {
        resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    }
    if (resp != NULL) {
        len = i2d_OCSP_RESPONSE(resp, &der);
    }
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(this_upd);
    ASN1_TIME_free(next_upd);
    ASN1_TIME_free(rev);
    *out_len = len > 0 ? (size_t)len : 0;
    return len > 0 ? der : NULL;
}

/* ---- a loopback HTTP server --------------------------------------------- */

struct rf_route {
    char path[128]; /* exact, or a prefix when it ends with '*' */
    unsigned char *body;
    size_t len;
    int delay_ms;
    unsigned status;
};

struct rf_server {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t lock;
    struct rf_route routes[RF_ROUTES_MAX];
    int n_routes;
    int n_requests;
};

static inline int rf_route_matches(const struct rf_route *r, const char *url)
{
    size_t n = strlen(r->path);

    if (n > 0 && r->path[n - 1] == '*') {
        return strncmp(url, r->path, n - 1) == 0;
    }
    return strcmp(url, r->path) == 0;
}

static inline enum MHD_Result rf_answer(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version, const char *upload,
                                        size_t *upload_len, void **state)
{
    struct rf_server *s = cls;
    static int marker;
    struct MHD_Response *resp;
    unsigned char *body = NULL;
    size_t len = 0;
    unsigned status = 404;
    int delay = 0;
    enum MHD_Result ret;
    int i;

    (void)method;
    (void)version;
    (void)upload;
    if (*state == NULL) {
        *state = &marker;
        return MHD_YES;
    }
    if (*upload_len > 0) {
        *upload_len = 0; /* the body of a POST is not needed: answers are prepared */
        return MHD_YES;
    }
    pthread_mutex_lock(&s->lock);
    s->n_requests++;
    for (i = 0; i < s->n_routes; i++) {
        if (rf_route_matches(&s->routes[i], url)) {
            body = pg_malloc(s->routes[i].len + 1);
            len = s->routes[i].len;
            if (body != NULL) {
                memcpy(body, s->routes[i].body, len);
            }
            status = s->routes[i].status;
            delay = s->routes[i].delay_ms;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (delay > 0) {
        usleep((useconds_t)delay * 1000);
    }
    resp = MHD_create_response_from_buffer(body != NULL ? len : 0, body, MHD_RESPMEM_MUST_COPY);
    pg_free(body);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Serves on 127.0.0.1:port (0: any free port); 0 when the port cannot be bound. */
static inline int rf_server_start(struct rf_server *s, unsigned port)
{
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                            (uint16_t)port, NULL, NULL, rf_answer, s, MHD_OPTION_SOCK_ADDR, &addr,
                            MHD_OPTION_END);
    if (s->d == NULL) {
        pthread_mutex_destroy(&s->lock);
        return 0;
    }
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : port;
    return 1;
}

/* Serves body (copied) at path; replaces an earlier route with the same path. */
static inline void rf_server_set(struct rf_server *s, const char *path, const void *body,
                                 size_t len, int delay_ms, unsigned status)
{
    struct rf_route *r = NULL;
    int i;

    pthread_mutex_lock(&s->lock);
    for (i = 0; i < s->n_routes && r == NULL; i++) {
        r = strcmp(s->routes[i].path, path) == 0 ? &s->routes[i] : NULL;
    }
    if (r == NULL && s->n_routes < RF_ROUTES_MAX) {
        r = &s->routes[s->n_routes++];
        snprintf(r->path, sizeof(r->path), "%s", path);
    }
    if (r != NULL) {
        pg_free(r->body);
        r->body = pg_malloc(len + 1);
        if (r->body != NULL && len > 0) {
            memcpy(r->body, body, len);
        }
        r->len = r->body != NULL ? len : 0;
        r->delay_ms = delay_ms;
        r->status = status;
    }
    pthread_mutex_unlock(&s->lock);
}

static inline void rf_server_clear(struct rf_server *s)
{
    int i;

    pthread_mutex_lock(&s->lock);
    for (i = 0; i < s->n_routes; i++) {
        pg_free(s->routes[i].body);
    }
    memset(s->routes, 0, sizeof(s->routes));
    s->n_routes = 0;
    pthread_mutex_unlock(&s->lock);
}

static inline void rf_server_stop(struct rf_server *s)
{
    if (s->d == NULL) {
        return;
    }
    MHD_stop_daemon(s->d);
    s->d = NULL;
    rf_server_clear(s);
    pthread_mutex_destroy(&s->lock);
}

/* ---- a notation directory ----------------------------------------------- */

static inline int rf_mkdirs(const char *path)
{
    char buf[1024];
    size_t i;

    snprintf(buf, sizeof(buf), "%s", path);
    for (i = 1; buf[i] != '\0'; i++) {
        if (buf[i] == '/') {
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                return 0;
            }
            buf[i] = '/';
        }
    }
    return mkdir(buf, 0755) == 0 || errno == EEXIST;
}

/* Copies the file at src into <dir>/truststore/x509/<type>/<store>/<name>. */
static inline int rf_add_store_file(const char *dir, const char *type_store, const char *name,
                                    const char *src)
{
    size_t len = 0;
    unsigned char *data = pg_check_read_file(src, &len);
    char *sdir = pg_asprintf("%s/truststore/x509/%s", dir, type_store);
    char *path = sdir != NULL ? pg_asprintf("%s/%s", sdir, name) : NULL;
    int ok = data != NULL && path != NULL && rf_mkdirs(sdir) && rf_write_file(path, data, len);

    pg_free(data);
    pg_free(sdir);
    pg_free(path);
    return ok;
}

/* Writes a one-statement policy (scope "*", identities "*") into dir. */
static inline int rf_write_policy(const char *dir, const char *sv, const char *stores)
{
    char *text = pg_asprintf("{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"rev\","
                             "\"registryScopes\":[\"*\"],\"signatureVerification\":%s,"
                             "\"trustStores\":[%s],\"trustedIdentities\":[\"*\"]}]}",
                             sv, stores);
    char *path = pg_asprintf("%s/trustpolicy.json", dir);
    int ok = text != NULL && path != NULL && rf_write_file(path, text, strlen(text));

    pg_free(text);
    pg_free(path);
    return ok;
}

static inline struct pg_trust *rf_load_trust(const char *dir)
{
    struct pg_trust *t = NULL;
    struct pg_err err;

    pg_err_init(&err);
    if (pg_trust_load(dir, &t, &err) != PG_OK) {
        fprintf(stderr, "    trust load failed: %s\n", err.msg);
        return NULL;
    }
    return t;
}

#endif
