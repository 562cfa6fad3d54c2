/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 3161 timestamp tokens as the Notary Project verifies them (§13 of our
 * digest): CMS and TSTInfo parsing, message imprint, the signer named by ESS
 * signing-certificate-v2 (v1 is not accepted), chain building to the tsa
 * trust stores at genTime, the timestamping certificate profile
 * (x509chain.c), accuracy, the signing chain's validity over the range, and
 * the timestamping chain's revocation (revocation.c).
 */
#include "timestamp.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "jws.h"
#include "log.h"
#include "mem.h"
#include "x509chain.h"

#define ETSI_BASELINE_POLICY "0.4.0.2023.1.1"
#define US_PER_S 1000000LL

/*
 * ESS signing-certificate-v2 (RFC 5035), declared here because OpenSSL keeps
 * its own ESS structures private. Names follow OpenSSL's ASN.1 macros.
 */
typedef struct {
    GENERAL_NAMES *issuer;
    ASN1_INTEGER *serial;
} PG_ISSUER_SERIAL;

typedef struct {
    X509_ALGOR *hash_alg; /* absent: SHA-256 */
    ASN1_OCTET_STRING *hash;
    PG_ISSUER_SERIAL *issuer_serial; /* optional */
} PG_ESS_CERT_ID_V2;

typedef struct {
    OPENSSL_STACK *certs;           /* of PG_ESS_CERT_ID_V2 */
    STACK_OF(ASN1_TYPE) * policies; /* read, not used */
} PG_ESS_SIGNING_CERT_V2;

struct pg_timestamp {
    CMS_ContentInfo *cms;
    TS_TST_INFO *tst;
    STACK_OF(X509) * certs; /* inside the token */
    int64_t gen_us;
    int64_t acc_us;
};

/* clang-format off */
ASN1_SEQUENCE(PG_ISSUER_SERIAL) = {
    ASN1_SEQUENCE_OF(PG_ISSUER_SERIAL, issuer, GENERAL_NAME),
    ASN1_SIMPLE(PG_ISSUER_SERIAL, serial, ASN1_INTEGER),
    /* cppcheck-suppress unknownMacro */
} static_ASN1_SEQUENCE_END(PG_ISSUER_SERIAL);

ASN1_SEQUENCE(PG_ESS_CERT_ID_V2) = {
    ASN1_OPT(PG_ESS_CERT_ID_V2, hash_alg, X509_ALGOR),
    ASN1_SIMPLE(PG_ESS_CERT_ID_V2, hash, ASN1_OCTET_STRING),
    ASN1_OPT(PG_ESS_CERT_ID_V2, issuer_serial, PG_ISSUER_SERIAL),
    /* cppcheck-suppress unknownMacro */
} static_ASN1_SEQUENCE_END(PG_ESS_CERT_ID_V2);

ASN1_SEQUENCE(PG_ESS_SIGNING_CERT_V2) = {
    ASN1_SEQUENCE_OF(PG_ESS_SIGNING_CERT_V2, certs, PG_ESS_CERT_ID_V2),
    ASN1_SEQUENCE_OF_OPT(PG_ESS_SIGNING_CERT_V2, policies, ASN1_ANY),
    /* cppcheck-suppress unknownMacro */
} static_ASN1_SEQUENCE_END(PG_ESS_SIGNING_CERT_V2);
/* clang-format on */

/* ---- parsing ------------------------------------------------------------ */

void pg_timestamp_free(struct pg_timestamp *ts)
{
    if (ts == NULL) {
        return;
    }
    CMS_ContentInfo_free(ts->cms);
    TS_TST_INFO_free(ts->tst);
    sk_X509_pop_free(ts->certs, X509_free);
    pg_free(ts);
}

/* GeneralizedTime "YYYYMMDDHHMMSS[.f+]Z" to Unix microseconds. */
static int gen_time_us(const ASN1_GENERALIZEDTIME *t, int64_t *out)
{
    const char *s = (const char *)ASN1_STRING_get0_data(t);
    int len = ASN1_STRING_length(t);
    int64_t frac = 0;
    int64_t scale = US_PER_S;
    struct tm tm;
    int i = 14;

    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(t, &tm) != 1 || len < 15) {
        return 0;
    }
    if (s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            scale /= 10;
            frac += (s[i] - '0') * scale; /* digits past microseconds add 0 */
        }
    }
    if (i != len - 1 || s[i] != 'Z') {
        return 0;
    }
    *out = (int64_t)timegm(&tm) * US_PER_S + frac;
    return 1;
}

static int64_t int_field(const ASN1_INTEGER *v, int64_t max, int *ok)
{
    int64_t x = 0;

    if (v == NULL) {
        return 0;
    }
    if (ASN1_INTEGER_get_int64(&x, v) != 1 || x < 0 || x > max) {
        *ok = 0;
    }
    return x;
}

static enum pg_status read_accuracy(struct pg_timestamp *ts, struct pg_err *err)
{
    const TS_ACCURACY *a = TS_TST_INFO_get_accuracy(ts->tst);
    ASN1_OBJECT *etsi = NULL;
    int ok = 1;

    if (a != NULL) {
        int64_t s = int_field(TS_ACCURACY_get_seconds(a), PG_TIMESTAMP_MAX_ACCURACY_S, &ok);
        int64_t ms = int_field(TS_ACCURACY_get_millis(a), 999, &ok);
        int64_t us = int_field(TS_ACCURACY_get_micros(a), 999, &ok);
        if (!ok) {
            return pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                              "timestamp accuracy is negative, out of range or above %d s",
                              PG_TIMESTAMP_MAX_ACCURACY_S);
        }
        ts->acc_us = s * US_PER_S + ms * 1000 + us;
    }
    if (ts->acc_us == 0) {
        etsi = OBJ_txt2obj(ETSI_BASELINE_POLICY, 1);
        if (etsi != NULL && OBJ_cmp(TS_TST_INFO_get_policy_id(ts->tst), etsi) == 0) {
            ts->acc_us = US_PER_S;
        }
        ASN1_OBJECT_free(etsi);
    }
    return PG_OK;
}

static int imprint_md_nid(const TS_MSG_IMPRINT *mi)
{
    const ASN1_OBJECT *obj = NULL;
    int ptype = V_ASN1_UNDEF;
    int nid;

    X509_ALGOR_get0(&obj, &ptype, NULL, TS_MSG_IMPRINT_get_algo((TS_MSG_IMPRINT *)mi));
    nid = OBJ_obj2nid(obj);
    if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL) {
        return NID_undef;
    }
    return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512 ? nid : NID_undef;
}

static enum pg_status read_tst_info(struct pg_timestamp *ts, struct pg_err *err)
{
    ASN1_OCTET_STRING **content = CMS_get0_content(ts->cms);
    const unsigned char *p;
    TS_MSG_IMPRINT *mi;
    long len;

    if (content == NULL || *content == NULL) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP, "timestamp token has no encapsulated tstinfo");
    }
    p = ASN1_STRING_get0_data(*content);
    len = ASN1_STRING_length(*content);
    ts->tst = d2i_TS_TST_INFO(NULL, &p, len);
    if (ts->tst == NULL || p != ASN1_STRING_get0_data(*content) + len) {
        return pg_err_set_ssl(err, PG_ERR_SIG_TIMESTAMP, "timestamp token's tstinfo is malformed");
    }
    if (TS_TST_INFO_get_version(ts->tst) != 1) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP, "timestamp tstinfo version %ld is not 1",
                          TS_TST_INFO_get_version(ts->tst));
    }
    mi = TS_TST_INFO_get_msg_imprint(ts->tst);
    if (imprint_md_nid(mi) == NID_undef) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                          "timestamp message imprint hash is not sha-256, sha-384 or sha-512");
    }
    if (!gen_time_us(TS_TST_INFO_get_time(ts->tst), &ts->gen_us)) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP, "timestamp genTime is malformed");
    }
    return read_accuracy(ts, err);
}

enum pg_status pg_timestamp_parse(const unsigned char *token, size_t len,
                                  struct pg_timestamp **out_ts, struct pg_err *err)
{
    struct pg_timestamp *ts = NULL;
    const unsigned char *p = token;
    enum pg_status rc;

    if (token == NULL || len == 0 || len > PG_TIMESTAMP_MAX_TOKEN) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                          "timestamp token is empty or larger than %u bytes",
                          PG_TIMESTAMP_MAX_TOKEN);
    }
    ts = pg_calloc(1, sizeof(*ts));
    if (ts == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory for a timestamp token");
    }
    ts->cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (ts->cms == NULL || p != token + len ||
        OBJ_obj2nid(CMS_get0_type(ts->cms)) != NID_pkcs7_signed) {
        rc = pg_err_set_ssl(err, PG_ERR_SIG_TIMESTAMP,
                            "timestamp token is not a cms signeddata structure");
        goto out;
    }
    if (OBJ_obj2nid(CMS_get0_eContentType(ts->cms)) != NID_id_smime_ct_TSTInfo) {
        rc = pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                        "timestamp token's content type is not id-ct-TSTInfo");
        goto out;
    }
    rc = read_tst_info(ts, err);
    if (rc != PG_OK) {
        goto out;
    }
    ts->certs = CMS_get1_certs(ts->cms);
    *out_ts = ts;
    ts = NULL;
out:
    pg_timestamp_free(ts);
    ERR_clear_error();
    return rc;
}

void pg_timestamp_time(const struct pg_timestamp *ts, int64_t *out_gen_us, int64_t *out_acc_us)
{
    *out_gen_us = ts->gen_us;
    *out_acc_us = ts->acc_us;
}

enum pg_status pg_timestamp_check_imprint(const struct pg_timestamp *ts, const unsigned char *data,
                                          size_t len, struct pg_err *err)
{
    TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(ts->tst);
    const ASN1_OCTET_STRING *want = TS_MSG_IMPRINT_get_msg(mi);
    const EVP_MD *md = EVP_get_digestbynid(imprint_md_nid(mi));
    unsigned char got[EVP_MAX_MD_SIZE];
    unsigned int got_len = 0;

    if (md == NULL || EVP_Digest(data, len, got, &got_len, md, NULL) != 1) {
        return pg_err_set_ssl(err, PG_ERR_SIG_TIMESTAMP, "cannot hash the timestamped signature");
    }
    if ((int)got_len != ASN1_STRING_length(want) ||
        memcmp(got, ASN1_STRING_get0_data(want), got_len) != 0) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                          "timestamp message imprint does not match the signature");
    }
    return PG_OK;
}

/* ---- the signer ---------------------------------------------------------- */

static PG_ESS_SIGNING_CERT_V2 *read_ess_v2(CMS_SignerInfo *si, struct pg_err *err)
{
    ASN1_STRING *seq = CMS_signed_get0_data_by_OBJ(
        si, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2), -3, V_ASN1_SEQUENCE);
    const unsigned char *p;
    PG_ESS_SIGNING_CERT_V2 *ess;

    if (seq == NULL) {
        pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                   "timestamp signer has no single signing-certificate-v2 attribute");
        return NULL;
    }
    p = ASN1_STRING_get0_data(seq);
    ess = (PG_ESS_SIGNING_CERT_V2 *)ASN1_item_d2i(NULL, &p, ASN1_STRING_length(seq),
                                                  ASN1_ITEM_rptr(PG_ESS_SIGNING_CERT_V2));
    if (ess == NULL || OPENSSL_sk_num(ess->certs) < 1) {
        ASN1_item_free((ASN1_VALUE *)ess, ASN1_ITEM_rptr(PG_ESS_SIGNING_CERT_V2));
        pg_err_set_ssl(err, PG_ERR_SIG_TIMESTAMP,
                       "timestamp signing-certificate-v2 attribute is malformed or empty");
        return NULL;
    }
    return ess;
}

static const EVP_MD *cert_id_md(const PG_ESS_CERT_ID_V2 *id)
{
    int nid = NID_sha256;

    if (id->hash_alg != NULL) {
        const ASN1_OBJECT *obj = NULL;

        X509_ALGOR_get0(&obj, NULL, NULL, id->hash_alg);
        nid = OBJ_obj2nid(obj);
    }
    if (nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512) {
        return NULL;
    }
    return EVP_get_digestbynid(nid);
}

static int issuer_serial_matches(const PG_ISSUER_SERIAL *is, X509 *cert)
{
    int i;

    if (ASN1_INTEGER_cmp(is->serial, X509_get0_serialNumber(cert)) != 0) {
        return 0;
    }
    for (i = 0; i < sk_GENERAL_NAME_num(is->issuer); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(is->issuer, i);

        if (gn->type == GEN_DIRNAME &&
            X509_NAME_cmp(gn->d.directoryName, X509_get_issuer_name(cert)) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The token certificate the ESS id names (and the SignerInfo's sid when it has no IssuerSerial). */
static X509 *find_signer_cert(const struct pg_timestamp *ts, CMS_SignerInfo *si,
                              const PG_ESS_CERT_ID_V2 *id)
{
    const EVP_MD *md = cert_id_md(id);
    int i;

    for (i = 0; md != NULL && i < sk_X509_num(ts->certs); i++) {
        X509 *x = sk_X509_value(ts->certs, i);
        unsigned char h[EVP_MAX_MD_SIZE];
        unsigned int hlen = 0;

        if (X509_digest(x, md, h, &hlen) != 1 || (int)hlen != ASN1_STRING_length(id->hash) ||
            memcmp(h, ASN1_STRING_get0_data(id->hash), hlen) != 0) {
            continue;
        }
        if (id->issuer_serial != NULL ? issuer_serial_matches(id->issuer_serial, x)
                                      : CMS_SignerInfo_cert_cmp(si, x) == 0) {
            return x;
        }
    }
    return NULL;
}

/* messageDigest and contentType attributes against the encapsulated TSTInfo. */
static enum pg_status check_signed_attrs(const struct pg_timestamp *ts, CMS_SignerInfo *si,
                                         struct pg_err *err)
{
    ASN1_OCTET_STRING **content = CMS_get0_content(ts->cms);
    ASN1_OCTET_STRING *md_attr = CMS_signed_get0_data_by_OBJ(
        si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING);
    ASN1_OBJECT *ct_attr =
        CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT);
    X509_ALGOR *dig_alg = NULL;
    const ASN1_OBJECT *dig_obj = NULL;
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    const EVP_MD *md;

    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig_alg, NULL);
    X509_ALGOR_get0(&dig_obj, NULL, NULL, dig_alg);
    md = EVP_get_digestbyobj(dig_obj);
    if (md_attr == NULL || ct_attr == NULL || OBJ_obj2nid(ct_attr) != NID_id_smime_ct_TSTInfo) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                          "timestamp signer lacks a single messageDigest or a tstinfo "
                          "contentType attribute");
    }
    if (md == NULL || EVP_MD_get_size(md) < 32 ||
        EVP_Digest(ASN1_STRING_get0_data(*content), (size_t)ASN1_STRING_length(*content), h, &hlen,
                   md, NULL) != 1 ||
        (int)hlen != ASN1_STRING_length(md_attr) ||
        memcmp(h, ASN1_STRING_get0_data(md_attr), hlen) != 0) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                          "timestamp signer's messageDigest does not match the tstinfo");
    }
    return PG_OK;
}

/* The signer's certificate when the SignerInfo's signature verifies. */
static enum pg_status verify_signer_info(const struct pg_timestamp *ts, CMS_SignerInfo *si,
                                         X509 **out_signer, struct pg_err *err)
{
    PG_ESS_SIGNING_CERT_V2 *ess = read_ess_v2(si, err);
    X509 *signer;
    enum pg_status rc = PG_ERR_SIG_TIMESTAMP;

    if (ess == NULL) {
        return PG_ERR_SIG_TIMESTAMP;
    }
    signer = find_signer_cert(ts, si, (const PG_ESS_CERT_ID_V2 *)OPENSSL_sk_value(ess->certs, 0));
    if (signer == NULL) {
        pg_err_set(err, rc, "timestamp signing certificate not found in the token");
        goto out;
    }
    rc = check_signed_attrs(ts, si, err);
    if (rc != PG_OK) {
        goto out;
    }
    CMS_SignerInfo_set1_signer_cert(si, signer);
    if (CMS_SignerInfo_verify(si) != 1) {
        rc = pg_err_set_ssl(err, PG_ERR_SIG_TIMESTAMP, "timestamp signature does not verify");
        goto out;
    }
    *out_signer = signer;
    rc = PG_OK;
out:
    ASN1_item_free((ASN1_VALUE *)ess, ASN1_ITEM_rptr(PG_ESS_SIGNING_CERT_V2));
    ERR_clear_error();
    return rc;
}

static X509_STORE *anchor_store(const STACK_OF(X509) * tsa_certs, time_t at)
{
    X509_STORE *store = X509_STORE_new();
    X509_VERIFY_PARAM *param = X509_VERIFY_PARAM_new();
    int ok = store != NULL && param != NULL;
    int i;

    for (i = 0; ok && i < sk_X509_num(tsa_certs); i++) {
        ok = X509_STORE_add_cert(store, sk_X509_value(tsa_certs, i)) == 1;
    }
    if (ok) {
        X509_VERIFY_PARAM_set_time(param, at);
        ok = X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN) == 1 &&
             X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_TIMESTAMP_SIGN) == 1 &&
             X509_STORE_set1_param(store, param) == 1;
    }
    X509_VERIFY_PARAM_free(param);
    if (!ok) {
        X509_STORE_free(store);
        return NULL;
    }
    return store;
}

/* A chain from signer through the token's certificates to a tsa anchor, valid at genTime. */
static enum pg_status build_chain(const struct pg_timestamp *ts, X509 *signer,
                                  const STACK_OF(X509) * tsa_certs, STACK_OF(X509) * *out_chain,
                                  struct pg_err *err)
{
    X509_STORE *store = anchor_store(tsa_certs, (time_t)(ts->gen_us / US_PER_S));
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    char subject[PG_X509_SUBJECT_MAX];
    enum pg_status rc = PG_OK;

    if (store == NULL || ctx == NULL || X509_STORE_CTX_init(ctx, store, signer, ts->certs) != 1) {
        rc = pg_err_set_ssl(err, PG_ERR_NOMEM, "cannot set up timestamp chain building");
        goto out;
    }
    if (X509_verify_cert(ctx) != 1) {
        rc = pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                        "timestamp signer %s does not chain to the tsa trust store at the "
                        "timestamp's time: %s",
                        pg_x509_subject(signer, subject, sizeof(subject)),
                        X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
    *out_chain = X509_STORE_CTX_get1_chain(ctx);
    if (*out_chain == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory for the timestamp chain");
    }
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}

static enum pg_status try_signer(const struct pg_timestamp *ts, CMS_SignerInfo *si,
                                 const STACK_OF(X509) * tsa_certs, STACK_OF(X509) * *out_chain,
                                 struct pg_err *err)
{
    STACK_OF(X509) *chain = NULL;
    X509 *signer = NULL;
    enum pg_status rc = verify_signer_info(ts, si, &signer, err);

    if (rc == PG_OK) {
        rc = build_chain(ts, signer, tsa_certs, &chain, err);
    }
    if (rc == PG_OK) {
        rc = pg_x509_check_timestamping_chain(chain, err);
    }
    if (rc != PG_OK) {
        sk_X509_pop_free(chain, X509_free);
        return rc;
    }
    *out_chain = chain;
    return PG_OK;
}

enum pg_status pg_timestamp_verify_signer(const struct pg_timestamp *ts,
                                          const STACK_OF(X509) * tsa_certs,
                                          STACK_OF(X509) * *out_chain, struct pg_err *err)
{
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(ts->cms);
    struct pg_err first;
    int n = sk_CMS_SignerInfo_num(sis);
    int i;

    if (sk_X509_num(tsa_certs) <= 0) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                          "no tsa trust store certificates to verify the timestamp with");
    }
    if (sk_X509_num(ts->certs) <= 0 || sk_X509_num(ts->certs) > PG_TIMESTAMP_MAX_CERTS) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                          "timestamp signing certificate not found: the token holds %d "
                          "certificates",
                          sk_X509_num(ts->certs));
    }
    if (n <= 0 || n > PG_TIMESTAMP_MAX_SIGNERS) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP, "timestamp token has %d signers", n);
    }
    pg_err_init(&first);
    for (i = 0; i < n; i++) {
        if (try_signer(ts, sk_CMS_SignerInfo_value(sis, i), tsa_certs, out_chain, &first) ==
            PG_OK) {
            return PG_OK;
        }
    }
    return pg_err_set(err, first.status, "%s", first.msg);
}

/* ---- putting it together ------------------------------------------------ */

static int64_t cert_time_us(const ASN1_TIME *t, int *ok)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    *ok = t != NULL && ASN1_TIME_to_tm(t, &tm) == 1;
    return *ok ? (int64_t)timegm(&tm) * US_PER_S : 0;
}

static enum pg_status check_coverage(STACK_OF(X509) * chain, int64_t lo, int64_t hi,
                                     struct pg_err *err)
{
    char subject[PG_X509_SUBJECT_MAX];
    char a[32];
    char b[32];
    int i;

    for (i = 0; i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        int ok_nb = 0;
        int ok_na = 0;
        int64_t nb = cert_time_us(X509_get0_notBefore(x), &ok_nb);
        int64_t na = cert_time_us(X509_get0_notAfter(x), &ok_na);

        if (!ok_nb || !ok_na || nb > lo || hi > na) {
            ERR_clear_error();
            return pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                              "certificate %s of the signature's chain is not valid over the "
                              "whole timestamp range %s to %s",
                              pg_x509_subject(x, subject, sizeof(subject)),
                              pg_jws_format_time(lo / US_PER_S, a, sizeof(a)),
                              pg_jws_format_time((hi + US_PER_S - 1) / US_PER_S, b, sizeof(b)));
        }
    }
    return PG_OK;
}

static enum pg_status check_tsa_revocation(const struct pg_timestamp_input *in,
                                           STACK_OF(X509) * tsa_chain,
                                           struct pg_timestamp_result *out, struct pg_err *err)
{
    struct pg_revocation_input ri;
    struct pg_revocation_result rr;
    struct pg_err why;
    enum pg_status rc;

    memset(&ri, 0, sizeof(ri));
    ri.chain = tsa_chain;
    ri.now = in->now;
    ri.deadline = in->deadline;
    ri.options = in->revocation;
    pg_err_init(&why);
    rc = pg_revocation_check_chain(&ri, &rr, &why);
    out->valid_until = rc == PG_OK ? rr.valid_until : 0;
    if (rc == PG_ERR_SIG_REVOCATION_UNKNOWN && in->revocation != NULL &&
        in->revocation->tsa_revocation == PG_TSA_REVOCATION_ALLOW_UNKNOWN) {
        pg_log(LOG_DEBUG, "timestamp chain revocation unknown, allowed by configuration: %s",
               why.msg);
        return PG_OK;
    }
    if (rc != PG_OK) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP, "timestamp authority chain: %s", why.msg);
    }
    return PG_OK;
}

enum pg_status pg_timestamp_verify(const struct pg_timestamp_input *in,
                                   struct pg_timestamp_result *out, struct pg_err *err)
{
    struct pg_timestamp *ts = NULL;
    STACK_OF(X509) *tsa_chain = NULL;
    struct pg_timestamp_result res;
    enum pg_status rc;

    memset(&res, 0, sizeof(res));
    rc = pg_timestamp_parse(in->token, in->token_len, &ts, err);
    if (rc == PG_OK) {
        rc = pg_timestamp_check_imprint(ts, in->signature, in->signature_len, err);
    }
    if (rc == PG_OK) {
        rc = pg_timestamp_verify_signer(ts, in->tsa_certs, &tsa_chain, err);
    }
    if (rc == PG_OK) {
        pg_timestamp_time(ts, &res.gen_time_us, &res.accuracy_us);
        rc = check_coverage(in->signing_chain, res.gen_time_us - res.accuracy_us,
                            res.gen_time_us + res.accuracy_us, err);
    }
    if (rc == PG_OK) {
        rc = check_tsa_revocation(in, tsa_chain, &res, err);
    }
    if (rc == PG_OK && out != NULL) {
        *out = res;
    }
    sk_X509_pop_free(tsa_chain, X509_free);
    pg_timestamp_free(ts);
    return rc;
}

enum pg_status pg_timestamp_tsa_certs(const struct pg_trust *trust,
                                      const struct pg_statement *statement,
                                      STACK_OF(X509) * *out_certs, struct pg_err *err)
{
    STACK_OF(X509) *all = sk_X509_new_null();
    size_t i;
    int j;

    if (all == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory for tsa certificates");
    }
    for (i = 0; i < statement->n_stores; i++) {
        const STACK_OF(X509) *certs = NULL;
        enum pg_status rc;

        if (statement->stores[i].type != PG_STORE_TSA) {
            continue;
        }
        rc = pg_trust_store_certs(trust, PG_STORE_TSA, statement->stores[i].name, &certs, err);
        for (j = 0; rc == PG_OK && j < sk_X509_num(certs); j++) {
            if (sk_X509_push(all, sk_X509_value(certs, j)) <= 0) {
                rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory for tsa certificates");
            }
        }
        if (rc != PG_OK) {
            sk_X509_free(all);
            return rc;
        }
    }
    *out_certs = all;
    return PG_OK;
}
