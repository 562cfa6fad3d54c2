/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims about the signature primitives: PSS salt handling, raw r||s ECDSA
 * and the key spec each signature is bound to.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "check.h"
#include "mem.h"
#include "sigcrypto.h"

static EVP_PKEY *keys[6];

static EVP_PKEY *key_for(enum pg_key_spec spec)
{
    static const char *const curves[] = {"P-256", "P-384", "P-521"};
    static const size_t rsa_bits[] = {2048, 3072, 4096};

    if (keys[spec] == NULL) {
        keys[spec] = spec <= PG_KEY_RSA_4096
                         ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", rsa_bits[spec])
                         : EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[spec - PG_KEY_EC_256]);
    }
    return keys[spec];
}

static const unsigned char msg[] = "eyJhbGciOiJQUzI1NiJ9.eyJ0YXJnZXRBcnRpZmFjdCI6e319";

static void every_spec_signs_and_verifies(void)
{
    static const size_t ec_len[] = {64, 96, 132};
    int spec;

    for (spec = PG_KEY_RSA_2048; spec <= PG_KEY_EC_521; spec++) {
        EVP_PKEY *key = key_for((enum pg_key_spec)spec);
        unsigned char *sig = NULL;
        size_t len = 0;

        REQUIRE(key != NULL);
        REQUIRE(pg_sigcrypto_sign(key, spec, msg, sizeof(msg) - 1, &sig, &len, NULL) == PG_OK);
        if (spec >= PG_KEY_EC_256) {
            CHECK(len == ec_len[spec - PG_KEY_EC_256]);
        }
        CHECK(pg_sigcrypto_verify(key, spec, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1, sig, len,
                                  NULL) == PG_OK);
        CHECK(pg_sigcrypto_verify(key, spec, PG_PSS_SALT_DIGEST, msg, sizeof(msg) - 1, sig, len,
                                  NULL) == PG_OK);
        sig[len / 2] ^= 0x01;
        CHECK(pg_sigcrypto_verify(key, spec, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1, sig, len,
                                  NULL) == PG_ERR_SIG_INTEGRITY);
        sig[len / 2] ^= 0x01;
        CHECK(pg_sigcrypto_verify(key, spec, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 2, sig, len,
                                  NULL) == PG_ERR_SIG_INTEGRITY);
        pg_free(sig);
    }
}

/* Signs with PSS salt length 0, which JWS accepts and COSE does not. */
static unsigned char *sign_pss_salt0(EVP_PKEY *key, size_t *out_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig = NULL;
    size_t len = 0;

    if (ctx != NULL && EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 0) == 1 &&
        EVP_DigestSign(ctx, NULL, &len, msg, sizeof(msg) - 1) == 1 &&
        (sig = pg_malloc(len)) != NULL &&
        EVP_DigestSign(ctx, sig, &len, msg, sizeof(msg) - 1) == 1) {
        *out_len = len;
    }
    EVP_MD_CTX_free(ctx);
    return sig;
}

static void pss_salt_rules_differ_between_jws_and_cose(void)
{
    EVP_PKEY *key = key_for(PG_KEY_RSA_2048);
    size_t len = 0;
    unsigned char *sig = sign_pss_salt0(key, &len);

    REQUIRE(sig != NULL);
    CHECK(pg_sigcrypto_verify(key, PG_KEY_RSA_2048, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1, sig,
                              len, NULL) == PG_OK);
    CHECK(pg_sigcrypto_verify(key, PG_KEY_RSA_2048, PG_PSS_SALT_DIGEST, msg, sizeof(msg) - 1, sig,
                              len, NULL) == PG_ERR_SIG_INTEGRITY);
    pg_free(sig);
}

static void pkcs1v15_is_not_pss(void)
{
    EVP_PKEY *key = key_for(PG_KEY_RSA_2048);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[512];
    size_t len = sizeof(sig);

    REQUIRE(ctx != NULL);
    REQUIRE(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
            EVP_DigestSign(ctx, sig, &len, msg, sizeof(msg) - 1) == 1);
    CHECK(pg_sigcrypto_verify(key, PG_KEY_RSA_2048, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1, sig,
                              len, NULL) == PG_ERR_SIG_INTEGRITY);
    EVP_MD_CTX_free(ctx);
}

static void ecdsa_needs_raw_fixed_width(void)
{
    EVP_PKEY *key = key_for(PG_KEY_EC_256);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t der_len = sizeof(der);
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    struct pg_err err;

    REQUIRE(ctx != NULL);
    REQUIRE(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
            EVP_DigestSign(ctx, der, &der_len, msg, sizeof(msg) - 1) == 1);
    pg_err_init(&err);
    CHECK(pg_sigcrypto_verify(key, PG_KEY_EC_256, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1, der,
                              der_len, &err) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(err.msg, "r||s") != NULL);
    REQUIRE(pg_sigcrypto_sign(key, PG_KEY_EC_256, msg, sizeof(msg) - 1, &raw, &raw_len, NULL) ==
            PG_OK);
    CHECK(pg_sigcrypto_verify(key, PG_KEY_EC_256, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1, raw,
                              raw_len - 1, NULL) == PG_ERR_SIG_INTEGRITY);
    /* Swapping r and s must not verify. */
    {
        unsigned char swapped[64];

        memcpy(swapped, raw + 32, 32);
        memcpy(swapped + 32, raw, 32);
        CHECK(pg_sigcrypto_verify(key, PG_KEY_EC_256, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1,
                                  swapped, sizeof(swapped), NULL) == PG_ERR_SIG_INTEGRITY);
    }
    pg_free(raw);
    EVP_MD_CTX_free(ctx);
}

static void key_must_match_spec(void)
{
    EVP_PKEY *rsa = key_for(PG_KEY_RSA_2048);
    EVP_PKEY *ec = key_for(PG_KEY_EC_384);
    unsigned char *sig = NULL;
    size_t len = 0;

    REQUIRE(pg_sigcrypto_sign(rsa, PG_KEY_RSA_2048, msg, sizeof(msg) - 1, &sig, &len, NULL) ==
            PG_OK);
    CHECK(pg_sigcrypto_verify(rsa, PG_KEY_RSA_3072, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1, sig,
                              len, NULL) == PG_ERR_SIG_INTEGRITY);
    CHECK(pg_sigcrypto_verify(ec, PG_KEY_RSA_2048, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1, sig, len,
                              NULL) == PG_ERR_SIG_INTEGRITY);
    CHECK(pg_sigcrypto_verify(ec, PG_KEY_EC_256, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1, sig, 64,
                              NULL) == PG_ERR_SIG_INTEGRITY);
    CHECK(pg_sigcrypto_verify(NULL, PG_KEY_EC_256, PG_PSS_SALT_AUTO, msg, sizeof(msg) - 1, sig, 64,
                              NULL) != PG_OK);
    pg_free(sig);
}

int main(void)
{
    size_t i;

    PG_RUN("all six key specs sign and verify; tampering fails", every_spec_signs_and_verifies);
    PG_RUN("jws accepts any pss salt length, cose only the hash length",
           pss_salt_rules_differ_between_jws_and_cose);
    PG_RUN("an rsa pkcs#1 v1.5 signature is not accepted as pss", pkcs1v15_is_not_pss);
    PG_RUN("ecdsa signatures must be raw r||s of the exact width", ecdsa_needs_raw_fixed_width);
    PG_RUN("a signature only verifies under the key spec of its key", key_must_match_spec);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        EVP_PKEY_free(keys[i]);
    }
    return pg_check_done();
}
