/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate rules of the Notary Project, applied to a signature's chain as
 * given (leaf first, self-signed root last; no path building): order and
 * issuance, the code-signing and timestamping profiles (key usage, extended
 * key usage, basic constraints, path length), accepted key sizes, no SHA-1.
 * Validity against a time is not part of the chain rules; callers use
 * pg_x509_valid_at where the verification step asks for it.
 */
#ifndef PG_X509CHAIN_H
#define PG_X509CHAIN_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "status.h"

/* Longest chain accepted; notation sets no bound, real chains have 2 to 4 certs. */
#define PG_X509_CHAIN_MAX 10

/* Room for an escaped subject in messages (pg_x509_subject). */
#define PG_X509_SUBJECT_MAX 256

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

/*
 * Checks a code-signing chain (leaf first). PG_ERR_SIG_INTEGRITY on failure,
 * PG_ERR_NOMEM when memory ran out; the message names the certificate by its
 * subject and the rule it breaks.
 */
enum pg_status pg_x509_check_codesigning_chain(STACK_OF(X509) * chain, struct pg_err *err);

/* Checks a timestamping chain (leaf first). PG_ERR_SIG_TIMESTAMP on failure. */
enum pg_status pg_x509_check_timestamping_chain(STACK_OF(X509) * chain, struct pg_err *err);

/* 1 when notBefore <= t <= notAfter; 0 otherwise or when a time is unreadable. */
int pg_x509_valid_at(X509 *cert, time_t t);

/* 1 when cert's signature verifies with its own public key (issuer name not compared). */
int pg_x509_is_signed_by_self(X509 *cert);

/* 1 when the raw issuer name equals the raw subject name of issuer. */
int pg_x509_names_chain(X509 *cert, X509 *issuer);

/* 1 when basicConstraints is present with cA=true. */
int pg_x509_is_ca(X509 *cert);

/*
 * Writes cert's subject (RFC 2253 order, escaped with pg_escape, cut to
 * buf_len) into buf for messages and logs. Returns buf.
 */
char *pg_x509_subject(X509 *cert, char *buf, size_t buf_len);

#endif
