/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate rules of the Notary Project, applied to a signature's chain as
 * given (leaf first, self-signed root last; no path building): order and
 * issuance, the code-signing and timestamping profiles (key usage, extended
 * key usage, basic constraints, path length), accepted key sizes, no SHA-1.
 */
#ifndef PG_X509CHAIN_H
#define PG_X509CHAIN_H

#include <openssl/x509.h>

#include "status.h"

/* The six key specs a signing certificate may have; each fixes an algorithm. */
enum pg_key_spec {
    PG_KEY_RSA_2048, /* PS256 */
    PG_KEY_RSA_3072, /* PS384 */
    PG_KEY_RSA_4096, /* PS512 */
    PG_KEY_EC_256,   /* ES256 */
    PG_KEY_EC_384,   /* ES384 */
    PG_KEY_EC_521    /* ES512 */
};

/* The key spec of cert's public key; PG_ERR_SIG_INTEGRITY for any other key. */
enum pg_status pg_x509_key_spec(X509 *cert, enum pg_key_spec *out_spec, struct pg_err *err);

/* "PS256" ... "ES512" for a key spec. */
const char *pg_x509_jws_alg(enum pg_key_spec spec);

/* Checks a code-signing chain (leaf first). PG_ERR_SIG_INTEGRITY on failure. */
enum pg_status pg_x509_check_codesigning_chain(STACK_OF(X509) *chain, struct pg_err *err);

/* Checks a timestamping chain (leaf first). PG_ERR_SIG_TIMESTAMP on failure. */
enum pg_status pg_x509_check_timestamping_chain(STACK_OF(X509) *chain, struct pg_err *err);

/* 1 when notBefore <= t <= notAfter. */
int pg_x509_valid_at(X509 *cert, time_t t);

#endif
