/* SPDX-License-Identifier: Apache-2.0 */
/*
 * COSE signature envelopes (application/cose) of the Notary Project: a
 * COSE_Sign1_Tagged message parsed as notation reads it, its protected
 * header rules and the check of the signature over the Sig_structure. The
 * parsed envelope is also presented as a struct pg_jws (pg_cose_view), so
 * what the signature means for trust is decided once, in sigverify.c.
 */
#ifndef PG_COSE_H
#define PG_COSE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "jws.h"
#include "status.h"
#include "x509chain.h"

#define PG_COSE_MEDIA_TYPE "application/cose"
#define PG_COSE_MAX_ENVELOPE ((size_t)PG_JWS_MAX_ENVELOPE)
#define PG_COSE_MAX_DEPTH 16   /* nesting of arrays, maps and tags */
#define PG_COSE_MAX_ITEMS 4096 /* data items in one envelope */
#define PG_COSE_MAX_CHAIN PG_X509_CHAIN_MAX
#define PG_COSE_MAX_HEADER_MEMBERS PG_JWS_MAX_HEADER_MEMBERS
#define PG_COSE_MAX_CRIT PG_JWS_MAX_CRIT

/* Header labels of RFC 9052 / RFC 9360 with a meaning here. */
#define PG_COSE_LABEL_ALG 1
#define PG_COSE_LABEL_CRIT 2
#define PG_COSE_LABEL_CTY 3
#define PG_COSE_LABEL_X5CHAIN 33

struct pg_cose;

/*
 * Parses a COSE_Sign1_Tagged envelope: tag 18 and an array of four
 * (protected bstr holding a map, unprotected map, embedded payload bstr,
 * signature bstr), definite lengths, no duplicate map keys, valid UTF-8,
 * header labels int or tstr, crit only protected and naming present
 * labels, times as tag 1 epochs, x5chain an unprotected array of bstr.
 * Header rules are checked separately (pg_cose_check_header).
 * PG_ERR_SIG_INTEGRITY for malformed input. On success *out_cose is the
 * caller's (pg_cose_free).
 */
enum pg_status pg_cose_parse(const unsigned char *envelope, size_t len, struct pg_cose **out_cose,
                             struct pg_err *err);

void pg_cose_free(struct pg_cose *cose);

/*
 * The envelope as a parsed JWS, owned by cose and valid as long as it: alg
 * as the JWS name of the COSE algorithm, cty, scheme, the time of the
 * signing scheme (the other one is ignored, as notation does), expiry,
 * text-labelled extended attributes with values converted to JSON, crit's
 * text entries, payload, signature, x5c from x5chain, timestamp and signing
 * agent. protected_raw holds the protected bytes as received;
 * protected_b64 and payload_b64 are NULL. Never pass it to pg_jws_free.
 */
struct pg_jws *pg_cose_view(struct pg_cose *cose);

/*
 * The protected header rules: alg one of the six, content type the text
 * string of the Notary payload, a known signing scheme with its time, crit
 * listing the scheme, the expiry when present and the authentic signing
 * time for signingAuthority, expiry strictly after the signing time.
 * PG_ERR_SIG_INTEGRITY on failure; PG_ERR_UNSUPPORTED for a critical
 * integer label nothing here understands.
 */
enum pg_status pg_cose_check_header(const struct pg_cose *cose, enum pg_signing_scheme *out_scheme,
                                    struct pg_err *err);

/*
 * Checks that alg is the algorithm spec fixes and that the signature
 * verifies over ["Signature1", protected, h'', payload] with key
 * (RSASSA-PSS with salt length = hash length, or raw r||s ECDSA).
 * PG_ERR_SIG_INTEGRITY on failure.
 */
enum pg_status pg_cose_verify_signature(const struct pg_cose *cose, EVP_PKEY *key,
                                        enum pg_key_spec spec, struct pg_err *err);

/*
 * The Sig_structure bytes that are signed. *out_tbs is the caller's
 * (pg_free). For signers and tests.
 */
enum pg_status pg_cose_to_be_signed(const unsigned char *protected_raw, size_t protected_len,
                                    const unsigned char *payload, size_t payload_len,
                                    unsigned char **out_tbs, size_t *out_len, struct pg_err *err);

/* The COSE algorithm (-37 ... -36) of a key spec. */
int64_t pg_cose_alg(enum pg_key_spec spec);

#endif
