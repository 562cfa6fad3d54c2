/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RSASSA-PSS and raw-r||s ECDSA over OpenSSL's EVP interface. Envelope
 * formats decide what is signed; this file only checks the math.
 */
#include "sigcrypto.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "mem.h"

static int is_rsa_spec(enum pg_key_spec spec)
{
    return spec == PG_KEY_RSA_2048 || spec == PG_KEY_RSA_3072 || spec == PG_KEY_RSA_4096;
}

/* Bytes of one ECDSA coordinate for an EC spec. */
static size_t ec_coord_len(enum pg_key_spec spec)
{
    switch (spec) {
    case PG_KEY_EC_256:
        return 32;
    case PG_KEY_EC_384:
        return 48;
    case PG_KEY_EC_521:
        return 66;
    default:
        return 0;
    }
}

static int spec_bits(enum pg_key_spec spec)
{
    static const int bits[] = {2048, 3072, 4096, 256, 384, 521};

    return (int)spec >= 0 && spec <= PG_KEY_EC_521 ? bits[spec] : 0;
}

const EVP_MD *pg_sigcrypto_md(enum pg_key_spec spec)
{
    switch (spec) {
    case PG_KEY_RSA_2048:
    case PG_KEY_EC_256:
        return EVP_sha256();
    case PG_KEY_RSA_3072:
    case PG_KEY_EC_384:
        return EVP_sha384();
    case PG_KEY_RSA_4096:
    case PG_KEY_EC_521:
        return EVP_sha512();
    }
    return NULL;
}

static enum pg_status check_key(EVP_PKEY *key, enum pg_key_spec spec, struct pg_err *err)
{
    int want_type = is_rsa_spec(spec) ? EVP_PKEY_RSA : EVP_PKEY_EC;

    if (key == NULL || pg_sigcrypto_md(spec) == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no key or unknown key spec for signature");
    }
    if (EVP_PKEY_get_base_id(key) != want_type || EVP_PKEY_get_bits(key) != spec_bits(spec)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "signing key does not have the expected type and size (%d bits)",
                          spec_bits(spec));
    }
    return PG_OK;
}

static int set_pss(EVP_PKEY_CTX *pctx, const EVP_MD *md, int saltlen)
{
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) == 1;
}

/* Converts raw r||s (2 * n bytes) to a DER ECDSA-Sig-Value. */
static enum pg_status raw_to_der(const unsigned char *sig, size_t n, unsigned char **out_der,
                                 int *out_len, struct pg_err *err)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)n, NULL);
    BIGNUM *s = BN_bin2bn(sig + n, (int)n, NULL);
    enum pg_status rc = PG_ERR_NOMEM;
    unsigned char *der = NULL;
    int len;

    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        pg_err_set_ssl(err, rc, "out of memory converting an ecdsa signature");
        goto out;
    }
    r = NULL; /* es owns r and s now */
    s = NULL;
    len = i2d_ECDSA_SIG(es, &der);
    if (len <= 0) {
        pg_err_set_ssl(err, rc, "cannot encode an ecdsa signature");
        goto out;
    }
    *out_der = der;
    *out_len = len;
    rc = PG_OK;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return rc;
}

static enum pg_status verify_evp(EVP_PKEY *key, enum pg_key_spec spec, int saltlen,
                                 const unsigned char *msg, size_t msg_len, const unsigned char *sig,
                                 size_t sig_len, struct pg_err *err)
{
    const EVP_MD *md = pg_sigcrypto_md(spec);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    enum pg_status rc = PG_ERR_NOMEM;
    int ok;

    if (ctx == NULL) {
        pg_err_set(err, rc, "out of memory verifying a signature");
        goto out;
    }
    if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key) != 1 ||
        (is_rsa_spec(spec) && !set_pss(pctx, md, saltlen))) {
        rc = pg_err_set_ssl(err, PG_ERR_INTERNAL, "cannot set up signature verification");
        goto out;
    }
    ok = EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len);
    ERR_clear_error();
    if (ok != 1) {
        rc = pg_err_set(err, PG_ERR_SIG_INTEGRITY, "signature does not verify");
        goto out;
    }
    rc = PG_OK;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

enum pg_status pg_sigcrypto_verify(EVP_PKEY *key, enum pg_key_spec spec, enum pg_pss_salt salt,
                                   const unsigned char *msg, size_t msg_len,
                                   const unsigned char *sig, size_t sig_len, struct pg_err *err)
{
    enum pg_status rc = check_key(key, spec, err);
    unsigned char *der = NULL;
    int der_len = 0;
    size_t n = ec_coord_len(spec);
    int saltlen = salt == PG_PSS_SALT_AUTO ? RSA_PSS_SALTLEN_AUTO : RSA_PSS_SALTLEN_DIGEST;

    if (rc != PG_OK) {
        return rc;
    }
    if (is_rsa_spec(spec)) {
        if (sig_len != (size_t)EVP_PKEY_get_size(key)) {
            return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                              "rsa signature is %zu bytes, the key needs %d", sig_len,
                              EVP_PKEY_get_size(key));
        }
        return verify_evp(key, spec, saltlen, msg, msg_len, sig, sig_len, err);
    }
    if (sig_len != 2 * n) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "ecdsa signature is %zu bytes, r||s for this curve is %zu", sig_len,
                          2 * n);
    }
    rc = raw_to_der(sig, n, &der, &der_len, err);
    if (rc == PG_OK) {
        rc = verify_evp(key, spec, saltlen, msg, msg_len, der, (size_t)der_len, err);
    }
    OPENSSL_free(der);
    return rc;
}

/* Converts a DER ECDSA-Sig-Value to raw r||s of 2 * n bytes. */
static enum pg_status der_to_raw(const unsigned char *der, size_t der_len, size_t n,
                                 unsigned char **out_sig, size_t *out_len, struct pg_err *err)
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    unsigned char *raw = NULL;
    enum pg_status rc = PG_ERR_INTERNAL;

    if (es == NULL) {
        pg_err_set_ssl(err, rc, "cannot decode an ecdsa signature");
        goto out;
    }
    raw = pg_malloc(2 * n);
    if (raw == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory converting an ecdsa signature");
        goto out;
    }
    if (BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)n) < 0 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + n, (int)n) < 0) {
        pg_err_set_ssl(err, rc, "ecdsa signature value too large");
        goto out;
    }
    *out_sig = raw;
    *out_len = 2 * n;
    raw = NULL;
    rc = PG_OK;
out:
    pg_free(raw);
    ECDSA_SIG_free(es);
    return rc;
}

static enum pg_status sign_evp(EVP_PKEY *key, enum pg_key_spec spec, const unsigned char *msg,
                               size_t msg_len, unsigned char **out_sig, size_t *out_len,
                               struct pg_err *err)
{
    const EVP_MD *md = pg_sigcrypto_md(spec);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig = NULL;
    size_t len = 0;
    enum pg_status rc = PG_ERR_INTERNAL;

    if (ctx == NULL || EVP_DigestSignInit(ctx, &pctx, md, NULL, key) != 1 ||
        (is_rsa_spec(spec) && !set_pss(pctx, md, RSA_PSS_SALTLEN_DIGEST)) ||
        EVP_DigestSign(ctx, NULL, &len, msg, msg_len) != 1) {
        pg_err_set_ssl(err, rc, "cannot set up signing");
        goto out;
    }
    sig = pg_malloc(len);
    if (sig == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory signing");
        goto out;
    }
    if (EVP_DigestSign(ctx, sig, &len, msg, msg_len) != 1) {
        pg_err_set_ssl(err, rc, "signing failed");
        goto out;
    }
    *out_sig = sig;
    *out_len = len;
    sig = NULL;
    rc = PG_OK;
out:
    pg_free(sig);
    EVP_MD_CTX_free(ctx);
    return rc;
}

enum pg_status pg_sigcrypto_sign(EVP_PKEY *key, enum pg_key_spec spec, const unsigned char *msg,
                                 size_t msg_len, unsigned char **out_sig, size_t *out_sig_len,
                                 struct pg_err *err)
{
    unsigned char *der = NULL;
    size_t der_len = 0;
    enum pg_status rc = check_key(key, spec, err);

    if (rc != PG_OK) {
        return rc;
    }
    if (is_rsa_spec(spec)) {
        return sign_evp(key, spec, msg, msg_len, out_sig, out_sig_len, err);
    }
    rc = sign_evp(key, spec, msg, msg_len, &der, &der_len, err);
    if (rc == PG_OK) {
        rc = der_to_raw(der, der_len, ec_coord_len(spec), out_sig, out_sig_len, err);
    }
    pg_free(der);
    return rc;
}
