/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCSP (RFC 6960) and CRL (RFC 5280) checks of a certificate chain, with the
 * Notary Project's rules: only http:// services, SHA-1 CertIDs, GET for short
 * requests and POST otherwise, bounded bytes and time, OCSP answers signed by
 * the issuer or by a responder the issuer delegated (id-kp-OCSPSigning
 * required), nextUpdate required and in the future, CRLs signed by the
 * issuer, CRL as the fallback when OCSP gives no answer. HTTP lives in
 * httpget.c; what the result means for a signature is up to the caller.
 */
#include "revocation.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "httpget.h"
#include "jws.h"
#include "log.h"
#include "mem.h"
#include "x509chain.h"

#define URLS_MAX 16         /* URLs of one kind consulted per certificate */
#define URL_SHOWN 160       /* of a URL in a message */
#define FUTURE_SKEW_S 300   /* thisUpdate may be this far ahead of our clock */
#define CRL_REASON_HOLD 6   /* certificateHold */
#define CRL_REASON_REMOVE 8 /* removeFromCRL */

/* One certificate being checked against its issuer. */
struct cert_check {
    X509 *cert;
    X509 *issuer;
    const struct pg_revocation_input *in;
    struct pg_revocation_options opts;
    char subject[PG_X509_SUBJECT_MAX];
    int64_t valid_until; /* earliest nextUpdate used; 0 none */
};

/* A list of URLs read from a certificate; strings owned. */
struct url_list {
    char *v[URLS_MAX];
    size_t n;
};

void pg_revocation_options_init(struct pg_revocation_options *o)
{
    memset(o, 0, sizeof(*o));
    o->ocsp_timeout_ms = PG_REVOCATION_OCSP_TIMEOUT_MS;
    o->ocsp_max_bytes = PG_REVOCATION_OCSP_MAX_BYTES;
    o->crl_timeout_ms = PG_REVOCATION_CRL_TIMEOUT_MS;
    o->crl_max_bytes = PG_REVOCATION_CRL_MAX_BYTES;
    o->tsa_revocation = PG_TSA_REVOCATION_STRICT;
}

const char *pg_revocation_state_name(enum pg_revocation_state s)
{
    switch (s) {
    case PG_REVOCATION_OK:
        return "ok";
    case PG_REVOCATION_NON_REVOKABLE:
        return "non-revokable";
    case PG_REVOCATION_REVOKED:
        return "revoked";
    default:
        return "unknown";
    }
}

/* ---- small helpers ------------------------------------------------------ */

/* The caller's options (NULL: defaults), a zero limit meaning its default. */
static void fill_options(struct pg_revocation_options *o, const struct pg_revocation_options *in)
{
    struct pg_revocation_options d;

    pg_revocation_options_init(&d);
    *o = in != NULL ? *in : d;
    o->ocsp_timeout_ms = o->ocsp_timeout_ms > 0 ? o->ocsp_timeout_ms : d.ocsp_timeout_ms;
    o->ocsp_max_bytes = o->ocsp_max_bytes > 0 ? o->ocsp_max_bytes : d.ocsp_max_bytes;
    o->crl_timeout_ms = o->crl_timeout_ms > 0 ? o->crl_timeout_ms : d.crl_timeout_ms;
    o->crl_max_bytes = o->crl_max_bytes > 0 ? o->crl_max_bytes : d.crl_max_bytes;
}

static void url_list_free(struct url_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        pg_free(l->v[i]);
    }
    l->n = 0;
}

static int url_list_add(struct url_list *l, const char *s, size_t len)
{
    char *u;

    if (l->n == URLS_MAX) {
        return 1; /* further URLs are not consulted */
    }
    u = pg_strndup(s, len);
    if (u == NULL) {
        return 0;
    }
    l->v[l->n++] = u;
    return 1;
}

static int is_http_url(const char *u)
{
    return strncmp(u, "http://", 7) == 0;
}

static const char *show_url(char *buf, size_t len, const char *url)
{
    return pg_escape(buf, len, url, strlen(url));
}

/* Unix seconds of t; 0 with *ok = 0 when unreadable. */
static int64_t asn1_unix(const ASN1_TIME *t, int *ok)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    *ok = t != NULL && ASN1_TIME_to_tm(t, &tm) == 1;
    ERR_clear_error();
    return *ok ? (int64_t)timegm(&tm) : 0;
}

static void note_next_update(struct cert_check *cc, int64_t next)
{
    if (cc->valid_until == 0 || next < cc->valid_until) {
        cc->valid_until = next;
    }
}

/* ---- reading the certificate -------------------------------------------- */

static int ocsp_urls(X509 *x, struct url_list *out)
{
    STACK_OF(OPENSSL_STRING) *s = X509_get1_ocsp(x);
    int ok = 1;
    int i;

    for (i = 0; s != NULL && i < sk_OPENSSL_STRING_num(s) && ok; i++) {
        const char *u = sk_OPENSSL_STRING_value(s, i);

        ok = url_list_add(out, u, strlen(u));
    }
    X509_email_free(s);
    ERR_clear_error();
    return ok;
}

static int add_dp_urls(const DIST_POINT *dp, struct url_list *out)
{
    GENERAL_NAMES *names =
        dp->distpoint != NULL && dp->distpoint->type == 0 ? dp->distpoint->name.fullname : NULL;
    int ok = 1;
    int j;

    for (j = 0; names != NULL && j < sk_GENERAL_NAME_num(names) && ok; j++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, j);

        if (gn->type == GEN_URI) {
            const ASN1_IA5STRING *s = gn->d.uniformResourceIdentifier;

            ok = url_list_add(out, (const char *)ASN1_STRING_get0_data(s),
                              (size_t)ASN1_STRING_length(s));
        }
    }
    return ok;
}

static int crl_urls(X509 *x, struct url_list *out)
{
    CRL_DIST_POINTS *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    int ok = 1;
    int i;

    for (i = 0; dps != NULL && i < sk_DIST_POINT_num(dps) && ok; i++) {
        ok = add_dp_urls(sk_DIST_POINT_value(dps, i), out);
    }
    CRL_DIST_POINTS_free(dps);
    ERR_clear_error();
    return ok;
}

/* ---- OCSP --------------------------------------------------------------- */

/* base + "/" + the request in base64, percent-encoded as a path segment. */
static char *ocsp_get_url(const char *base, const char *b64)
{
    size_t blen = strlen(base);
    size_t n = strlen(b64);
    char *url = pg_malloc(blen + 2 + 3 * n + 1);
    char *p;
    size_t i;

    if (url == NULL) {
        return NULL;
    }
    while (blen > 0 && base[blen - 1] == '/') {
        blen--;
    }
    memcpy(url, base, blen);
    p = url + blen;
    *p++ = '/';
    for (i = 0; i < n; i++) {
        if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=') {
            p += sprintf(p, "%%%02X", (unsigned char)b64[i]);
        } else {
            *p++ = b64[i];
        }
    }
    *p = '\0';
    return url;
}

static enum pg_status ocsp_fetch(const struct cert_check *cc, const char *url,
                                 const unsigned char *der, size_t der_len, struct pg_blob *out,
                                 struct pg_err *err)
{
    struct pg_httpget_request req;
    char *b64 = pg_b64_encode_std(der, der_len);
    char *get_url = NULL;
    enum pg_status rc;

    if (b64 == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory for an ocsp request");
    }
    memset(&req, 0, sizeof(req));
    req.url = url;
    req.timeout_ms = cc->opts.ocsp_timeout_ms;
    req.max_bytes = cc->opts.ocsp_max_bytes;
    req.deadline = cc->in->deadline;
    if (strlen(b64) < PG_REVOCATION_OCSP_GET_MAX) {
        get_url = ocsp_get_url(url, b64);
        req.url = get_url;
    } else {
        req.content_type = "application/ocsp-request";
        req.body = der;
        req.body_len = der_len;
    }
    rc = req.url == NULL ? pg_err_set(err, PG_ERR_NOMEM, "out of memory for an ocsp request")
                         : pg_httpget_fetch(&req, out, err);
    pg_free(get_url);
    pg_free(b64);
    return rc;
}

static int is_delegated_responder(X509 *responder, X509 *issuer)
{
    EVP_PKEY *key = X509_get0_pubkey(issuer);

    return key != NULL && pg_x509_names_chain(responder, issuer) &&
           X509_verify(responder, key) == 1 &&
           (X509_get_extension_flags(responder) & EXFLAG_XKUSAGE) != 0 &&
           (X509_get_extended_key_usage(responder) & XKU_OCSP_SIGN) != 0;
}

/*
 * The response must be signed by the issuer, or by the first embedded
 * certificate when that one was issued by the issuer for OCSP signing and is
 * valid now.
 */
static enum pg_status ocsp_check_signer(const struct cert_check *cc, OCSP_BASICRESP *bs,
                                        struct pg_err *err)
{
    const STACK_OF(X509) *certs = OCSP_resp_get0_certs(bs);
    X509 *signer = cc->issuer;
    X509 *first = sk_X509_num(certs) > 0 ? sk_X509_value(certs, 0) : NULL;
    EVP_PKEY *key;

    if (first != NULL && X509_cmp(first, cc->issuer) != 0) {
        char subject[PG_X509_SUBJECT_MAX];

        pg_x509_subject(first, subject, sizeof(subject));
        if (!is_delegated_responder(first, cc->issuer)) {
            return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                              "ocsp responder certificate %s is not issued by the certificate's "
                              "issuer with extended key usage OCSPSigning",
                              subject);
        }
        if (!pg_x509_valid_at(first, cc->in->now)) {
            return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                              "ocsp responder certificate %s is not valid now", subject);
        }
        signer = first;
    }
    key = X509_get0_pubkey(signer);
    if (key == NULL ||
        ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA), (X509_ALGOR *)OCSP_resp_get0_tbs_sigalg(bs),
                         (ASN1_BIT_STRING *)OCSP_resp_get0_signature(bs),
                         (void *)OCSP_resp_get0_respdata(bs), key) != 1) {
        return pg_err_set_ssl(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                              "ocsp response signature does not verify");
    }
    return PG_OK;
}

static int has_critical_ext(OCSP_SINGLERESP *single)
{
    int i;

    for (i = 0; i < OCSP_SINGLERESP_get_ext_count(single); i++) {
        if (X509_EXTENSION_get_critical(OCSP_SINGLERESP_get_ext(single, i))) {
            return 1;
        }
    }
    return 0;
}

/* 1 when a revocation with this invalidity date leaves signatures made before it intact. */
static int is_invalid_after_signing(const struct cert_check *cc, const ASN1_GENERALIZEDTIME *inv)
{
    int ok = 0;
    int64_t t = inv != NULL ? asn1_unix(inv, &ok) : 0;

    return ok && cc->in->signing_time != 0 && cc->in->signing_time < t;
}

static enum pg_status ocsp_times(struct cert_check *cc, ASN1_GENERALIZEDTIME *this_upd,
                                 ASN1_GENERALIZEDTIME *next_upd, struct pg_err *err)
{
    int ok = 0;
    int64_t next = next_upd != NULL ? asn1_unix(next_upd, &ok) : 0;
    int64_t now = (int64_t)cc->in->now;
    int this_ok = 0;
    int64_t this = asn1_unix(this_upd, &this_ok);

    if (!ok) {
        return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                          "expired ocsp response: it has no nextUpdate");
    }
    if (next < now) {
        char when[32];

        return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                          "expired ocsp response: nextUpdate %s is past",
                          pg_jws_format_time(next, when, sizeof(when)));
    }
    if (!this_ok || this > now + FUTURE_SKEW_S) {
        return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                          "ocsp response thisUpdate is missing or in the future");
    }
    note_next_update(cc, next);
    return PG_OK;
}

static enum pg_status ocsp_single(struct cert_check *cc, OCSP_SINGLERESP *single,
                                  enum pg_revocation_state *out, struct pg_err *err)
{
    ASN1_GENERALIZEDTIME *rev_time = NULL;
    ASN1_GENERALIZEDTIME *this_upd = NULL;
    ASN1_GENERALIZEDTIME *next_upd = NULL;
    ASN1_GENERALIZEDTIME *inv;
    int reason = -1;
    int status = OCSP_single_get0_status(single, &reason, &rev_time, &this_upd, &next_upd);
    enum pg_status rc;

    if (has_critical_ext(single)) {
        return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                          "ocsp response has a critical extension in its answer");
    }
    rc = ocsp_times(cc, this_upd, next_upd, err);
    if (rc != PG_OK) {
        return rc;
    }
    if (status == V_OCSP_CERTSTATUS_GOOD) {
        *out = PG_REVOCATION_OK;
    } else if (status == V_OCSP_CERTSTATUS_REVOKED) {
        inv = OCSP_SINGLERESP_get1_ext_d2i(single, NID_invalidity_date, NULL, NULL);
        *out = is_invalid_after_signing(cc, inv) ? PG_REVOCATION_OK : PG_REVOCATION_REVOKED;
        ASN1_GENERALIZEDTIME_free(inv);
        ERR_clear_error();
    } else {
        *out = PG_REVOCATION_UNKNOWN;
    }
    return PG_OK;
}

static enum pg_status ocsp_parse(struct cert_check *cc, const struct pg_blob *body, OCSP_CERTID *id,
                                 enum pg_revocation_state *out, struct pg_err *err)
{
    const unsigned char *p = body->data;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)body->len);
    OCSP_BASICRESP *bs = NULL;
    enum pg_status rc;
    int idx;

    if (resp == NULL || p != body->data + body->len) {
        rc = pg_err_set_ssl(err, PG_ERR_SIG_REVOCATION_UNKNOWN, "ocsp response is malformed");
        goto out;
    }
    if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        rc = pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN, "ocsp responder answered \"%s\"",
                        OCSP_response_status_str(OCSP_response_status(resp)));
        goto out;
    }
    bs = OCSP_response_get1_basic(resp);
    if (bs == NULL) {
        rc = pg_err_set_ssl(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                            "ocsp response is not a basic response");
        goto out;
    }
    rc = ocsp_check_signer(cc, bs, err);
    if (rc != PG_OK) {
        goto out;
    }
    idx = OCSP_resp_find(bs, id, -1);
    if (idx < 0) {
        rc = pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                        "ocsp response has no answer for this certificate");
        goto out;
    }
    rc = ocsp_single(cc, OCSP_resp_get0(bs, idx), out, err);
out:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return rc;
}

/* One responder: PG_OK with a status (good, revoked or unknown), or why none came. */
static enum pg_status ocsp_query(struct cert_check *cc, const char *url,
                                 enum pg_revocation_state *out, struct pg_err *err)
{
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cc->cert, cc->issuer);
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    unsigned char *der = NULL;
    struct pg_blob body = {NULL, 0};
    int der_len = -1;
    enum pg_status rc;

    if (id != NULL && req != NULL && OCSP_request_add0_id(req, OCSP_CERTID_dup(id)) != NULL) {
        der_len = i2d_OCSP_REQUEST(req, &der);
    }
    if (der_len <= 0) {
        rc = pg_err_set_ssl(err, PG_ERR_NOMEM, "cannot build an ocsp request");
        goto out;
    }
    rc = ocsp_fetch(cc, url, der, (size_t)der_len, &body, err);
    if (rc == PG_OK) {
        rc = ocsp_parse(cc, &body, id, out, err);
    }
out:
    pg_blob_clear(&body);
    OPENSSL_free(der);
    OCSP_REQUEST_free(req);
    OCSP_CERTID_free(id);
    ERR_clear_error();
    return rc;
}

/*
 * Asks each responder in turn until one answers with a status. why gets the
 * reason when none did.
 */
static enum pg_revocation_state ocsp_check(struct cert_check *cc, const struct url_list *urls,
                                           struct pg_err *why)
{
    char shown[URL_SHOWN];
    size_t i;

    for (i = 0; i < urls->n; i++) {
        enum pg_revocation_state st = PG_REVOCATION_UNKNOWN;
        struct pg_err e;

        pg_err_init(&e);
        if (!is_http_url(urls->v[i])) {
            pg_err_set(why, PG_ERR_SIG_REVOCATION_UNKNOWN, "ocsp url \"%s\" is not http://",
                       show_url(shown, sizeof(shown), urls->v[i]));
            continue;
        }
        if (ocsp_query(cc, urls->v[i], &st, &e) == PG_OK) {
            if (st == PG_REVOCATION_UNKNOWN) {
                pg_err_set(why, PG_ERR_SIG_REVOCATION_UNKNOWN,
                           "ocsp responder \"%s\" does not know the certificate",
                           show_url(shown, sizeof(shown), urls->v[i]));
            }
            return st;
        }
        pg_err_set(why, PG_ERR_SIG_REVOCATION_UNKNOWN, "ocsp \"%s\": %s",
                   show_url(shown, sizeof(shown), urls->v[i]), e.msg);
    }
    return PG_REVOCATION_UNKNOWN;
}

/* ---- CRL ---------------------------------------------------------------- */

/*
 * Not yet: delta CRLs are not fetched. A certificate or a base CRL that
 * points to one (Freshest CRL), or a CRL that is itself a delta, makes the
 * status unknown rather than ignoring revocations only the delta lists.
 */
static enum pg_status crl_check_exts(const X509_CRL *crl, struct pg_err *err)
{
    int i;

    for (i = 0; i < X509_CRL_get_ext_count(crl); i++) {
        X509_EXTENSION *ext = X509_CRL_get_ext(crl, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

        if (nid == NID_delta_crl || nid == NID_freshest_crl) {
            return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                              "the crl is or refers to a delta crl, and delta crls are not "
                              "supported yet");
        }
        if (X509_EXTENSION_get_critical(ext) && nid != NID_issuing_distribution_point) {
            char oid[80];

            OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);
            return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                              "the crl has the unknown critical extension %s", oid);
        }
    }
    return PG_OK;
}

static enum pg_status crl_check_times(struct cert_check *cc, const X509_CRL *crl,
                                      struct pg_err *err)
{
    int next_ok = 0;
    int this_ok = 0;
    int64_t next = asn1_unix(X509_CRL_get0_nextUpdate(crl), &next_ok);
    int64_t this = asn1_unix(X509_CRL_get0_lastUpdate(crl), &this_ok);
    int64_t now = (int64_t)cc->in->now;

    if (!next_ok) {
        return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN, "the crl has no nextUpdate");
    }
    if (next < now) {
        char when[32];

        return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                          "the crl is stale: its nextUpdate %s is past",
                          pg_jws_format_time(next, when, sizeof(when)));
    }
    if (!this_ok || this > now + FUTURE_SKEW_S) {
        return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                          "the crl's thisUpdate is missing or in the future");
    }
    note_next_update(cc, next);
    return PG_OK;
}

static enum pg_status crl_validate(struct cert_check *cc, X509_CRL *crl, struct pg_err *err)
{
    EVP_PKEY *key = X509_get0_pubkey(cc->issuer);
    enum pg_status rc;

    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(cc->issuer)) != 0) {
        return pg_err_set(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                          "the crl is not issued by the certificate's issuer");
    }
    if (key == NULL || X509_CRL_verify(crl, key) != 1) {
        return pg_err_set_ssl(err, PG_ERR_SIG_REVOCATION_UNKNOWN,
                              "the crl's signature does not verify with the issuer's key");
    }
    rc = crl_check_exts(crl, err);
    if (rc == PG_OK) {
        rc = crl_check_times(cc, crl, err);
    }
    return rc;
}

static long entry_reason(X509_REVOKED *rev)
{
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
    long r = e != NULL ? ASN1_ENUMERATED_get(e) : -1;

    ASN1_ENUMERATED_free(e);
    return r;
}

/*
 * The certificate's entries: an entry whose invalidity date comes after the
 * signing time does not count; of certificateHold and removeFromCRL entries
 * only the latest counts (a hold revokes, a removal does not); any other
 * entry revokes.
 */
static enum pg_revocation_state crl_lookup(const struct cert_check *cc, X509_CRL *crl)
{
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cc->cert);
    const ASN1_TIME *hold_at = NULL;
    long hold_reason = -1;
    int is_revoked = 0;
    int i;

    for (i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
        X509_REVOKED *rev = sk_X509_REVOKED_value(revoked, i);
        const ASN1_TIME *at = X509_REVOKED_get0_revocationDate(rev);
        ASN1_GENERALIZEDTIME *inv;
        long reason;

        if (ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(rev), serial) != 0) {
            continue;
        }
        reason = entry_reason(rev);
        if (reason == CRL_REASON_HOLD || reason == CRL_REASON_REMOVE) {
            if (hold_at == NULL || ASN1_TIME_compare(at, hold_at) >= 0) {
                hold_at = at;
                hold_reason = reason;
            }
            continue;
        }
        inv = X509_REVOKED_get_ext_d2i(rev, NID_invalidity_date, NULL, NULL);
        is_revoked = is_revoked || !is_invalid_after_signing(cc, inv);
        ASN1_GENERALIZEDTIME_free(inv);
    }
    ERR_clear_error();
    return is_revoked || hold_reason == CRL_REASON_HOLD ? PG_REVOCATION_REVOKED : PG_REVOCATION_OK;
}

static enum pg_status crl_one(struct cert_check *cc, const char *url, enum pg_revocation_state *out,
                              struct pg_err *err)
{
    struct pg_httpget_request req;
    struct pg_blob body = {NULL, 0};
    const unsigned char *p;
    X509_CRL *crl = NULL;
    enum pg_status rc;

    memset(&req, 0, sizeof(req));
    req.url = url;
    req.timeout_ms = cc->opts.crl_timeout_ms;
    req.max_bytes = cc->opts.crl_max_bytes;
    req.deadline = cc->in->deadline;
    rc = pg_httpget_fetch(&req, &body, err);
    if (rc != PG_OK) {
        goto out;
    }
    p = body.data;
    crl = d2i_X509_CRL(NULL, &p, (long)body.len);
    if (crl == NULL || p != body.data + body.len) {
        rc = pg_err_set_ssl(err, PG_ERR_SIG_REVOCATION_UNKNOWN, "the crl is not one der crl");
        goto out;
    }
    rc = crl_validate(cc, crl, err);
    if (rc == PG_OK) {
        *out = crl_lookup(cc, crl);
    }
out:
    X509_CRL_free(crl);
    pg_blob_clear(&body);
    ERR_clear_error();
    return rc;
}

/* Every distribution point is read; any failure leaves the status unknown. */
static enum pg_revocation_state crl_check(struct cert_check *cc, const struct url_list *urls,
                                          struct pg_err *why)
{
    enum pg_revocation_state result = PG_REVOCATION_OK;
    char shown[URL_SHOWN];
    size_t i;

    if (X509_get_ext_by_NID(cc->cert, NID_freshest_crl, -1) >= 0) {
        pg_err_set(why, PG_ERR_SIG_REVOCATION_UNKNOWN,
                   "the certificate names a delta crl (freshest crl), and delta crls are not "
                   "supported yet");
        return PG_REVOCATION_UNKNOWN;
    }
    for (i = 0; i < urls->n; i++) {
        enum pg_revocation_state st = PG_REVOCATION_UNKNOWN;
        struct pg_err e;

        pg_err_init(&e);
        show_url(shown, sizeof(shown), urls->v[i]);
        if (!is_http_url(urls->v[i])) {
            pg_err_set(why, PG_ERR_SIG_REVOCATION_UNKNOWN, "crl url \"%s\" is not http://", shown);
            return PG_REVOCATION_UNKNOWN;
        }
        if (crl_one(cc, urls->v[i], &st, &e) != PG_OK) {
            pg_err_set(why, PG_ERR_SIG_REVOCATION_UNKNOWN, "crl \"%s\": %s", shown, e.msg);
            return PG_REVOCATION_UNKNOWN;
        }
        if (st == PG_REVOCATION_REVOKED) {
            pg_err_set(why, PG_ERR_SIG_REVOKED, "listed in crl \"%s\"", shown);
            result = st;
        }
    }
    return result;
}

/* ---- one certificate, the chain ----------------------------------------- */

static enum pg_revocation_state check_cert(struct cert_check *cc, int is_leaf, struct pg_err *why)
{
    struct url_list ocsp = {{NULL}, 0};
    struct url_list crl = {{NULL}, 0};
    enum pg_revocation_state st = PG_REVOCATION_NON_REVOKABLE;
    struct pg_err ocsp_why;

    pg_err_init(&ocsp_why);
    if (!ocsp_urls(cc->cert, &ocsp) || !crl_urls(cc->cert, &crl)) {
        pg_err_set(why, PG_ERR_NOMEM, "out of memory reading revocation urls");
        st = PG_REVOCATION_UNKNOWN;
        goto out;
    }
    if (ocsp.n > 0) {
        st = ocsp_check(cc, &ocsp, &ocsp_why);
        if (st == PG_REVOCATION_REVOKED) {
            pg_err_set(why, PG_ERR_SIG_REVOKED, "revoked according to ocsp");
        }
    }
    if (ocsp.n > 0 && st == PG_REVOCATION_UNKNOWN && crl.n > 0) {
        pg_log(LOG_DEBUG, "ocsp check of %s failed (%s), falling back to crl", cc->subject,
               ocsp_why.msg);
        st = crl_check(cc, &crl, why);
    } else if (ocsp.n > 0 && st == PG_REVOCATION_UNKNOWN) {
        pg_err_set(why, ocsp_why.status, "%s", ocsp_why.msg);
    } else if (ocsp.n == 0 && crl.n > 0) {
        st = crl_check(cc, &crl, why);
    }
    if (st == PG_REVOCATION_NON_REVOKABLE && !is_leaf) {
        pg_log(LOG_DEBUG, "certificate %s names no ocsp responder and no crl; non-revokable",
               cc->subject);
    }
out:
    url_list_free(&ocsp);
    url_list_free(&crl);
    return st;
}

static enum pg_revocation_state worse(enum pg_revocation_state chain, enum pg_revocation_state cert)
{
    if (chain == PG_REVOCATION_REVOKED || cert == PG_REVOCATION_REVOKED) {
        return PG_REVOCATION_REVOKED;
    }
    if (chain == PG_REVOCATION_UNKNOWN || cert == PG_REVOCATION_UNKNOWN) {
        return PG_REVOCATION_UNKNOWN;
    }
    return PG_REVOCATION_OK;
}

/* Keeps the first revoked certificate's message, else the first unknown one's. */
static void keep_reason(struct pg_err *chain_why, enum pg_revocation_state st,
                        const struct cert_check *cc, const struct pg_err *why)
{
    if (st == PG_REVOCATION_REVOKED && chain_why->status != PG_ERR_SIG_REVOKED) {
        pg_err_clear(chain_why);
        pg_err_set(chain_why, PG_ERR_SIG_REVOKED, "certificate %s is revoked: %s", cc->subject,
                   why->msg);
    } else if (st == PG_REVOCATION_UNKNOWN) {
        pg_err_set(chain_why, PG_ERR_SIG_REVOCATION_UNKNOWN,
                   "revocation status of certificate %s is unknown: %s", cc->subject,
                   why->msg[0] != '\0' ? why->msg : "no answer");
    }
}

enum pg_status pg_revocation_check_chain(const struct pg_revocation_input *in,
                                         struct pg_revocation_result *out, struct pg_err *err)
{
    enum pg_revocation_state chain_st = PG_REVOCATION_OK;
    struct pg_err chain_why;
    int64_t valid_until = 0;
    int n = in != NULL && in->chain != NULL ? sk_X509_num(in->chain) : 0;
    int i;

    if (n <= 0 || out == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "revocation check without a chain");
    }
    pg_err_init(&chain_why);
    for (i = 0; i + 1 < n; i++) {
        struct cert_check cc;
        struct pg_err why;
        enum pg_revocation_state st;

        memset(&cc, 0, sizeof(cc));
        cc.cert = sk_X509_value(in->chain, i);
        cc.issuer = sk_X509_value(in->chain, i + 1);
        cc.in = in;
        fill_options(&cc.opts, in->options);
        pg_x509_subject(cc.cert, cc.subject, sizeof(cc.subject));
        pg_err_init(&why);
        st = check_cert(&cc, i == 0, &why);
        pg_log(LOG_DEBUG, "revocation status of %s: %s%s%s", cc.subject,
               pg_revocation_state_name(st), why.msg[0] != '\0' ? ": " : "", why.msg);
        keep_reason(&chain_why, st, &cc, &why);
        chain_st = worse(chain_st, st);
        if (cc.valid_until != 0 && (valid_until == 0 || cc.valid_until < valid_until)) {
            valid_until = cc.valid_until;
        }
    }
    out->state = chain_st;
    out->valid_until = valid_until;
    if (chain_st == PG_REVOCATION_OK) {
        return PG_OK;
    }
    return pg_err_set(err, chain_why.status, "%s", chain_why.msg);
}
