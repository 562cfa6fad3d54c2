/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate chain rules of the Notary Project: the chain is taken as given
 * (leaf first, self-signed root last), each certificate must be issued by the
 * next, and the leaf and CA profiles for code signing and timestamping are
 * enforced the way notation does, with SHA-1 and MD5 refused everywhere.
 * Trust (is the root in a store?) and validity against a time are decided by
 * the caller; revocation lives elsewhere.
 */
#include "x509chain.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

/* Key usage bit positions (RFC 5280 4.2.1.3). */
enum ku_bit {
    KUB_DIGITAL_SIGNATURE,
    KUB_NON_REPUDIATION,
    KUB_KEY_ENCIPHERMENT,
    KUB_DATA_ENCIPHERMENT,
    KUB_KEY_AGREEMENT,
    KUB_KEY_CERT_SIGN,
    KUB_CRL_SIGN,
    KUB_ENCIPHER_ONLY,
    KUB_DECIPHER_ONLY,
    KUB_COUNT
};

static const char *const ku_names[KUB_COUNT] = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
    "keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly"};

/* Bits a signing or timestamping leaf must not have. */
#define LEAF_FORBIDDEN_KU                                                                          \
    ((1u << KUB_KEY_ENCIPHERMENT) | (1u << KUB_DATA_ENCIPHERMENT) | (1u << KUB_KEY_AGREEMENT) |    \
     (1u << KUB_KEY_CERT_SIGN) | (1u << KUB_CRL_SIGN) | (1u << KUB_ENCIPHER_ONLY) |                \
     (1u << KUB_DECIPHER_ONLY))

/* More extensions than this make a certificate suspect; real ones carry about ten. */
#define EXT_MAX 64

/* Extended key usages a code-signing leaf must not carry. */
static const struct {
    int nid;
    const char *name;
} forbidden_ekus[] = {
    {NID_server_auth, "serverAuth"},        {NID_client_auth, "clientAuth"},
    {NID_email_protect, "emailProtection"}, {NID_time_stamp, "timeStamping"},
    {NID_OCSP_sign, "OCSPSigning"},
};

enum profile { PROFILE_CODESIGNING, PROFILE_TIMESTAMPING };

/* One chain check: what is being checked and where failures go. */
struct ctx {
    enum profile profile;
    enum pg_status fail; /* status for a broken rule */
    struct pg_err *err;
    STACK_OF(X509) * chain;
    int n;
};

/* The three extensions the rules read, decoded once per certificate. */
struct exts {
    int bc_present;
    int is_ca;
    long pathlen; /* -1 when absent */
    int ku_present;
    int ku_critical;
    unsigned ku; /* bit (1 << enum ku_bit) */
    int eku_present;
    int eku_critical;
    int eku_count;
    int eku_only_timestamping; /* exactly one usage, id-kp-timeStamping */
    const char *eku_forbidden; /* first forbidden code-signing usage, or NULL */
};

static enum pg_status rule_fail(const struct ctx *c, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum pg_status rule_fail(const struct ctx *c, int i, const char *fmt, ...)
{
    char rule[512];
    char subject[PG_X509_SUBJECT_MAX];
    va_list ap;

    ERR_clear_error();
    if (c->err == NULL || c->err->status != PG_OK) {
        return c->fail;
    }
    va_start(ap, fmt);
    vsnprintf(rule, sizeof(rule), fmt, ap);
    va_end(ap);
    pg_x509_subject(sk_X509_value(c->chain, i), subject, sizeof(subject));
    return pg_err_set(c->err, c->fail, "%s certificate %d \"%s\": %s",
                      c->profile == PROFILE_CODESIGNING ? "signing chain" : "timestamping chain", i,
                      subject, rule);
}

static int has_duplicate_extension(X509 *cert)
{
    int n = X509_get_ext_count(cert);
    int a;
    int b;

    for (a = 0; a < n; a++) {
        const ASN1_OBJECT *oa = X509_EXTENSION_get_object(X509_get_ext(cert, a));

        for (b = a + 1; b < n; b++) {
            if (OBJ_cmp(oa, X509_EXTENSION_get_object(X509_get_ext(cert, b))) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* The signature algorithm of cert: SHA-2 with RSA, RSA-PSS or ECDSA, or Ed25519. */
static enum pg_status check_signature_alg(const struct ctx *c, int i, X509 *cert)
{
    int md = NID_undef;
    int pk = NID_undef;
    int secbits = -1;
    uint32_t flags = 0;

    if (!X509_get_signature_info(cert, &md, &pk, &secbits, &flags)) {
        return rule_fail(c, i, "signature algorithm is unknown");
    }
    if (pk == NID_ED25519) {
        return PG_OK;
    }
    if (md == NID_sha1 || md == NID_md5 || md == NID_md5_sha1) {
        return rule_fail(c, i, "signature uses %s, which is not accepted", OBJ_nid2sn(md));
    }
    if (md != NID_sha256 && md != NID_sha384 && md != NID_sha512) {
        return rule_fail(c, i, "signature hash %s is not one of SHA-256, SHA-384, SHA-512",
                         md == NID_undef ? "(none)" : OBJ_nid2sn(md));
    }
    if (pk != NID_rsaEncryption && pk != NID_rsassaPss && pk != NID_X9_62_id_ecPublicKey) {
        return rule_fail(c, i, "signature algorithm is not RSA, RSA-PSS or ECDSA");
    }
    return PG_OK;
}

/* Version 3, decodable extensions, none twice, an accepted signature algorithm. */
static enum pg_status check_form(const struct ctx *c, int i, X509 *cert)
{
    if (X509_get_version(cert) != X509_VERSION_3) {
        return rule_fail(c, i, "certificate is version %ld, only version 3 is accepted",
                         X509_get_version(cert) + 1);
    }
    if (X509_get_ext_count(cert) > EXT_MAX) {
        return rule_fail(c, i, "certificate has more than %d extensions", EXT_MAX);
    }
    if (has_duplicate_extension(cert)) {
        return rule_fail(c, i, "an extension appears more than once");
    }
    if ((X509_get_extension_flags(cert) & EXFLAG_INVALID) != 0) {
        return rule_fail(c, i, "an extension is malformed");
    }
    return check_signature_alg(c, i, cert);
}

static int verifies_with(X509 *cert, X509 *signer)
{
    EVP_PKEY *key = X509_get0_pubkey(signer);
    int ok = key != NULL && X509_verify(cert, key) == 1;

    ERR_clear_error();
    return ok;
}

/* Key usage flags of cert for the "issued by" check; -1 when the extension is absent. */
static long key_usage_or_absent(X509 *cert)
{
    if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) == 0) {
        return -1;
    }
    return (long)X509_get_key_usage(cert);
}

/* Order and issuance: self-signed single cert or root, each other cert issued by the next. */
static enum pg_status check_structure(const struct ctx *c, int i, X509 *cert)
{
    int is_self_signed = pg_x509_is_signed_by_self(cert) && pg_x509_names_chain(cert, cert);
    X509 *next;
    long next_ku;

    if (c->n == 1 || i == c->n - 1) {
        if (!is_self_signed) {
            return rule_fail(c, i,
                             "the %s must be self-signed (signature verifies with its own "
                             "key and issuer equals subject), and it is not",
                             c->n == 1 ? "only certificate" : "last certificate");
        }
        return PG_OK;
    }
    if (is_self_signed) {
        return rule_fail(c, i, "certificate is self-signed, only the last one of the chain may be");
    }
    next = sk_X509_value(c->chain, i + 1);
    if (!pg_x509_names_chain(cert, next)) {
        return rule_fail(c, i, "issuer name differs from the subject of the next certificate");
    }
    if (!verifies_with(cert, next)) {
        return rule_fail(c, i, "signature does not verify with the key of the next certificate");
    }
    next_ku = key_usage_or_absent(next);
    if (!pg_x509_is_ca(next) || (next_ku >= 0 && (next_ku & KU_KEY_CERT_SIGN) == 0)) {
        return rule_fail(c, i,
                         "issued by the next certificate, which is not a CA allowed to "
                         "sign certificates");
    }
    return PG_OK;
}

static enum pg_status read_basic_constraints(const struct ctx *c, int i, X509 *cert, struct exts *e)
{
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
    enum pg_status rc = PG_OK;
    int64_t v = 0;

    if (bc == NULL) {
        return crit == -1 ? PG_OK : rule_fail(c, i, "basic constraints extension is malformed");
    }
    e->bc_present = 1;
    e->is_ca = bc->ca != 0;
    if (bc->pathlen != NULL) {
        if (!ASN1_INTEGER_get_int64(&v, bc->pathlen) || v < 0) {
            rc = rule_fail(c, i, "basic constraints path length is malformed");
        } else {
            e->pathlen = v > INT_MAX ? INT_MAX : (long)v;
        }
    }
    BASIC_CONSTRAINTS_free(bc);
    return rc;
}

static enum pg_status read_key_usage(const struct ctx *c, int i, X509 *cert, struct exts *e)
{
    int crit = -1;
    ASN1_BIT_STRING *ku = X509_get_ext_d2i(cert, NID_key_usage, &crit, NULL);
    int b;

    if (ku == NULL) {
        return crit == -1 ? PG_OK : rule_fail(c, i, "key usage extension is malformed");
    }
    e->ku_present = 1;
    e->ku_critical = crit == 1;
    for (b = 0; b < KUB_COUNT; b++) {
        if (ASN1_BIT_STRING_get_bit(ku, b)) {
            e->ku |= 1u << b;
        }
    }
    ASN1_BIT_STRING_free(ku);
    return PG_OK;
}

static enum pg_status read_ext_key_usage(const struct ctx *c, int i, X509 *cert, struct exts *e)
{
    int crit = -1;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL);
    size_t k;
    int j;

    if (eku == NULL) {
        return crit == -1 ? PG_OK : rule_fail(c, i, "extended key usage extension is malformed");
    }
    e->eku_present = 1;
    e->eku_critical = crit == 1;
    e->eku_count = sk_ASN1_OBJECT_num(eku);
    for (j = 0; j < e->eku_count; j++) {
        int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, j));

        for (k = 0; k < sizeof(forbidden_ekus) / sizeof(forbidden_ekus[0]); k++) {
            if (nid == forbidden_ekus[k].nid && e->eku_forbidden == NULL) {
                e->eku_forbidden = forbidden_ekus[k].name;
            }
        }
    }
    e->eku_only_timestamping =
        e->eku_count == 1 && OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_time_stamp;
    EXTENDED_KEY_USAGE_free(eku);
    return PG_OK;
}

static enum pg_status read_exts(const struct ctx *c, int i, X509 *cert, struct exts *e)
{
    enum pg_status rc;

    memset(e, 0, sizeof(*e));
    e->pathlen = -1;
    rc = read_basic_constraints(c, i, cert, e);
    if (rc == PG_OK) {
        rc = read_key_usage(c, i, cert, e);
    }
    if (rc == PG_OK) {
        rc = read_ext_key_usage(c, i, cert, e);
    }
    return rc;
}

static enum pg_status check_leaf_key_usage(const struct ctx *c, const struct exts *e)
{
    unsigned bad = e->ku & LEAF_FORBIDDEN_KU;
    int b;

    if (!e->ku_present) {
        return rule_fail(c, 0, "key usage extension must be present");
    }
    if (c->profile == PROFILE_CODESIGNING && !e->ku_critical) {
        return rule_fail(c, 0, "key usage extension must be critical");
    }
    if ((e->ku & (1u << KUB_DIGITAL_SIGNATURE)) == 0) {
        return rule_fail(c, 0, "key usage must include digitalSignature");
    }
    for (b = 0; b < KUB_COUNT; b++) {
        if ((bad & (1u << b)) != 0) {
            return rule_fail(c, 0, "key usage must not include %s", ku_names[b]);
        }
    }
    return PG_OK;
}

static enum pg_status check_leaf_ext_key_usage(const struct ctx *c, const struct exts *e)
{
    if (c->profile == PROFILE_CODESIGNING) {
        /* anyExtendedKeyUsage is accepted, as notation accepts it. */
        if (e->eku_forbidden != NULL) {
            return rule_fail(c, 0, "extended key usage must not include %s", e->eku_forbidden);
        }
        return PG_OK;
    }
    if (!e->eku_present || !e->eku_only_timestamping) {
        return rule_fail(c, 0, "extended key usage must be present and be timeStamping only");
    }
    if (!e->eku_critical) {
        return rule_fail(c, 0, "extended key usage extension must be critical");
    }
    return PG_OK;
}

static enum pg_status check_leaf(const struct ctx *c, X509 *cert, const struct exts *e)
{
    enum pg_key_spec spec;
    struct pg_err kerr;
    enum pg_status rc;

    if (e->bc_present && e->is_ca) {
        return rule_fail(c, 0, "leaf certificate must not be a CA (basic constraints cA=true)");
    }
    rc = check_leaf_key_usage(c, e);
    if (rc == PG_OK) {
        rc = check_leaf_ext_key_usage(c, e);
    }
    if (rc != PG_OK) {
        return rc;
    }
    pg_err_init(&kerr);
    if (pg_x509_key_spec(cert, &spec, &kerr) != PG_OK) {
        return rule_fail(c, 0, "%s", kerr.msg);
    }
    return PG_OK;
}

static enum pg_status check_ca(const struct ctx *c, int i, const struct exts *e)
{
    if (!e->bc_present || !e->is_ca) {
        return rule_fail(c, i, "CA certificate must have basic constraints with cA=true");
    }
    if (e->pathlen >= 0 && e->pathlen < i - 1) {
        return rule_fail(c, i, "path length constraint %ld allows fewer than the %d CAs below it",
                         e->pathlen, i - 1);
    }
    if (!e->ku_present) {
        return rule_fail(c, i, "key usage extension must be present");
    }
    /* Timestamping chains: notation does not ask for a critical key usage on CAs. */
    if (c->profile == PROFILE_CODESIGNING && !e->ku_critical) {
        return rule_fail(c, i, "key usage extension must be critical");
    }
    if ((e->ku & (1u << KUB_KEY_CERT_SIGN)) == 0) {
        return rule_fail(c, i, "key usage must include keyCertSign");
    }
    return PG_OK;
}

static enum pg_status check_cert(const struct ctx *c, int i)
{
    X509 *cert = sk_X509_value(c->chain, i);
    struct exts e;
    enum pg_status rc;

    if (cert == NULL) {
        return pg_err_set(c->err, c->fail, "certificate chain has an empty entry at %d", i);
    }
    rc = check_form(c, i, cert);
    if (rc == PG_OK) {
        rc = check_structure(c, i, cert);
    }
    if (rc == PG_OK) {
        rc = read_exts(c, i, cert, &e);
    }
    if (rc == PG_OK) {
        rc = i == 0 ? check_leaf(c, cert, &e) : check_ca(c, i, &e);
    }
    return rc;
}

static enum pg_status check_chain(STACK_OF(X509) * chain, enum profile profile, enum pg_status fail,
                                  struct pg_err *err)
{
    struct ctx c = {profile, fail, err, chain, chain == NULL ? 0 : sk_X509_num(chain)};
    enum pg_status rc = PG_OK;
    int i;

    if (c.n < 1) {
        return pg_err_set(err, fail, "certificate chain is empty");
    }
    if (c.n > PG_X509_CHAIN_MAX) {
        return pg_err_set(err, fail, "certificate chain has %d certificates, more than %d", c.n,
                          PG_X509_CHAIN_MAX);
    }
    for (i = 0; i < c.n && rc == PG_OK; i++) {
        rc = check_cert(&c, i);
    }
    ERR_clear_error();
    return rc;
}

enum pg_status pg_x509_key_spec(X509 *cert, enum pg_key_spec *out_spec, struct pg_err *err)
{
    EVP_PKEY *key = cert == NULL ? NULL : X509_get0_pubkey(cert);
    char group[64] = "";
    size_t group_len = 0;
    int bits;

    if (key == NULL) {
        ERR_clear_error();
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "public key cannot be read");
    }
    bits = EVP_PKEY_get_bits(key);
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        if (bits == 2048 || bits == 3072 || bits == 4096) {
            *out_spec =
                bits == 2048 ? PG_KEY_RSA_2048 : (bits == 3072 ? PG_KEY_RSA_3072 : PG_KEY_RSA_4096);
            return PG_OK;
        }
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "rsa key of %d bits is not accepted (2048, 3072 or 4096)", bits);
    }
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
        EVP_PKEY_get_group_name(key, group, sizeof(group), &group_len) == 1) {
        int nid = OBJ_sn2nid(group);

        if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1) {
            *out_spec = nid == NID_X9_62_prime256v1
                            ? PG_KEY_EC_256
                            : (nid == NID_secp384r1 ? PG_KEY_EC_384 : PG_KEY_EC_521);
            return PG_OK;
        }
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "ec key on curve %.63s is not accepted (P-256, P-384 or P-521)", group);
    }
    ERR_clear_error();
    return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                      "public key type is not accepted (rsa or ec with a named curve)");
}

const char *pg_x509_jws_alg(enum pg_key_spec spec)
{
    switch (spec) {
    case PG_KEY_RSA_2048:
        return "PS256";
    case PG_KEY_RSA_3072:
        return "PS384";
    case PG_KEY_RSA_4096:
        return "PS512";
    case PG_KEY_EC_256:
        return "ES256";
    case PG_KEY_EC_384:
        return "ES384";
    case PG_KEY_EC_521:
        return "ES512";
    }
    return "";
}

enum pg_status pg_x509_check_codesigning_chain(STACK_OF(X509) * chain, struct pg_err *err)
{
    return check_chain(chain, PROFILE_CODESIGNING, PG_ERR_SIG_INTEGRITY, err);
}

enum pg_status pg_x509_check_timestamping_chain(STACK_OF(X509) * chain, struct pg_err *err)
{
    return check_chain(chain, PROFILE_TIMESTAMPING, PG_ERR_SIG_TIMESTAMP, err);
}

int pg_x509_valid_at(X509 *cert, time_t t)
{
    const ASN1_TIME *not_before = cert == NULL ? NULL : X509_get0_notBefore(cert);
    const ASN1_TIME *not_after = cert == NULL ? NULL : X509_get0_notAfter(cert);
    int before;
    int after;

    if (not_before == NULL || not_after == NULL) {
        return 0;
    }
    before = ASN1_TIME_cmp_time_t(not_before, t); /* -1: not_before < t, -2: error */
    after = ASN1_TIME_cmp_time_t(not_after, t);
    ERR_clear_error();
    return before != -2 && after != -2 && before <= 0 && after >= 0;
}

int pg_x509_is_signed_by_self(X509 *cert)
{
    return cert != NULL && verifies_with(cert, cert);
}

int pg_x509_names_chain(X509 *cert, X509 *issuer)
{
    const unsigned char *a = NULL;
    const unsigned char *b = NULL;
    size_t a_len = 0;
    size_t b_len = 0;

    if (cert == NULL || issuer == NULL ||
        !X509_NAME_get0_der(X509_get_issuer_name(cert), &a, &a_len) ||
        !X509_NAME_get0_der(X509_get_subject_name(issuer), &b, &b_len)) {
        ERR_clear_error();
        return 0;
    }
    return a_len == b_len && memcmp(a, b, a_len) == 0;
}

int pg_x509_is_ca(X509 *cert)
{
    int crit = -1;
    BASIC_CONSTRAINTS *bc =
        cert == NULL ? NULL : X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
    int is_ca = bc != NULL && bc->ca != 0;

    BASIC_CONSTRAINTS_free(bc);
    ERR_clear_error();
    return is_ca;
}

char *pg_x509_subject(X509 *cert, char *buf, size_t buf_len)
{
    BIO *bio = NULL;
    char *data = NULL;
    long len;

    if (buf_len == 0) {
        return buf;
    }
    snprintf(buf, buf_len, "%s", "(unreadable subject)");
    if (cert == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        goto out;
    }
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
                           XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        goto out;
    }
    len = BIO_get_mem_data(bio, &data);
    if (len >= 0) {
        pg_escape(buf, buf_len, data, (size_t)len);
    }
out:
    BIO_free(bio);
    ERR_clear_error();
    return buf;
}
