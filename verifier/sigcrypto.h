/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The signature primitives of the Notary Project: RSASSA-PSS with MGF1 and
 * ECDSA with raw r||s values, each with the hash its key spec fixes. Which
 * key spec a certificate has is decided in x509chain.c; envelope formats
 * (what bytes are signed) live in jws.c and the COSE parser.
 */
#ifndef PG_SIGCRYPTO_H
#define PG_SIGCRYPTO_H

#include <stddef.h>

#include <openssl/evp.h>

#include "status.h"
#include "x509chain.h"

/* The PSS salt length a verifier accepts. */
enum pg_pss_salt {
    PG_PSS_SALT_AUTO,  /* any salt length (JWS, as golang-jwt verifies) */
    PG_PSS_SALT_DIGEST /* salt length equals the hash length (COSE) */
};

/* The digest a key spec signs with: SHA-256, SHA-384 or SHA-512. */
const EVP_MD *pg_sigcrypto_md(enum pg_key_spec spec);

/*
 * Verifies sig over msg with key, which must have key spec spec (the caller
 * derived spec from the key). RSA: PSS, sig exactly the modulus size. EC:
 * raw r||s, each left-padded to the curve size (64, 96 or 132 bytes in all).
 * PG_ERR_SIG_INTEGRITY when the signature does not verify.
 */
enum pg_status pg_sigcrypto_verify(EVP_PKEY *key, enum pg_key_spec spec, enum pg_pss_salt salt,
                                   const unsigned char *msg, size_t msg_len,
                                   const unsigned char *sig, size_t sig_len, struct pg_err *err);

/*
 * Signs msg the way pg_sigcrypto_verify checks it (PSS salt = hash length,
 * ECDSA raw r||s). For tests and tools that mint envelopes. *out_sig is the
 * caller's (pg_free).
 */
enum pg_status pg_sigcrypto_sign(EVP_PKEY *key, enum pg_key_spec spec, const unsigned char *msg,
                                 size_t msg_len, unsigned char **out_sig, size_t *out_sig_len,
                                 struct pg_err *err);

#endif
