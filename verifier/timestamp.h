/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 3161 timestamp countersignatures of notary.x509 signatures: the token
 * (CMS SignedData over a TSTInfo) is parsed, its message imprint compared
 * with the signature bytes, its signer found through ESS
 * signing-certificate-v2 and chained to the statement's tsa trust stores at
 * the timestamp's time, the chain checked against the timestamping profile
 * and for revocation, and the signing chain's validity compared with the
 * timestamp's range. When a timestamp is needed is decided in sigverify.c.
 */
#ifndef PG_TIMESTAMP_H
#define PG_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "revocation.h"
#include "status.h"
#include "trust.h"
#include "types.h"

#define PG_TIMESTAMP_MAX_TOKEN (1u << 20) /* bytes of one token */
#define PG_TIMESTAMP_MAX_SIGNERS 8        /* SignerInfos tried */
#define PG_TIMESTAMP_MAX_CERTS 32         /* certificates inside a token */
#define PG_TIMESTAMP_MAX_ACCURACY_S 86400 /* larger accuracies are refused */

/* A parsed token; see pg_timestamp_parse. */
struct pg_timestamp;

/*
 * Parses token as a CMS SignedData whose encapsulated content is an
 * id-ct-TSTInfo with version 1, a SHA-256/384/512 message imprint, a genTime
 * and a sane accuracy. BER is accepted. PG_ERR_SIG_TIMESTAMP when it is not
 * one. On success *out_ts is the caller's (pg_timestamp_free).
 */
enum pg_status pg_timestamp_parse(const unsigned char *token, size_t len,
                                  struct pg_timestamp **out_ts, struct pg_err *err);

void pg_timestamp_free(struct pg_timestamp *ts);

/* Checks that the message imprint is the hash of data (the primitive signature bytes). */
enum pg_status pg_timestamp_check_imprint(const struct pg_timestamp *ts, const unsigned char *data,
                                          size_t len, struct pg_err *err);

/*
 * Finds the signer (ESS signing-certificate-v2 required, its certHash and
 * IssuerSerial must match), verifies its signature over the token, builds a
 * chain from the token's certificates to one of tsa_certs valid at genTime
 * with the timestamping purpose, and checks that chain with the Notary
 * Project's timestamping rules. The first SignerInfo that passes wins. On
 * success *out_chain (signer first) is the caller's (sk_X509_pop_free).
 */
enum pg_status pg_timestamp_verify_signer(const struct pg_timestamp *ts,
                                          const STACK_OF(X509) * tsa_certs,
                                          STACK_OF(X509) * *out_chain, struct pg_err *err);

/*
 * genTime in Unix microseconds and the accuracy in microseconds (its
 * seconds, millis and micros; else 1 s under the ETSI baseline policy
 * 0.4.0.2023.1.1; else 0).
 */
void pg_timestamp_time(const struct pg_timestamp *ts, int64_t *out_gen_us, int64_t *out_acc_us);

struct pg_timestamp_input {
    const unsigned char *token; /* io.cncf.notary.timestampSignature, decoded */
    size_t token_len;
    const unsigned char *signature; /* the primitive signature bytes it covers */
    size_t signature_len;
    const STACK_OF(X509) * tsa_certs; /* from the statement's tsa stores; borrowed */
    STACK_OF(X509) * signing_chain;   /* each must be valid over the whole range */
    time_t now;
    const struct pg_deadline *deadline;             /* may be NULL */
    const struct pg_revocation_options *revocation; /* NULL: defaults */
};

struct pg_timestamp_result {
    int64_t gen_time_us;
    int64_t accuracy_us;
    int64_t valid_until; /* of the tsa chain's revocation answers; 0 none */
};

/*
 * Every step of timestamp verification: parse, imprint, signer and chain,
 * the signing chain's validity over [genTime - accuracy, genTime + accuracy]
 * and the revocation of the timestamping chain (revoked fails; unknown fails
 * unless the options allow it). PG_ERR_SIG_TIMESTAMP on failure, with the
 * step and the reason in err. out is filled on success.
 */
enum pg_status pg_timestamp_verify(const struct pg_timestamp_input *in,
                                   struct pg_timestamp_result *out, struct pg_err *err);

/*
 * The certificates of every tsa store statement names (borrowed from trust;
 * free the stack only, with sk_X509_free). PG_ERR_TRUSTSTORE when a store
 * failed to load; an empty stack when there are none.
 */
enum pg_status pg_timestamp_tsa_certs(const struct pg_trust *trust,
                                      const struct pg_statement *statement,
                                      STACK_OF(X509) * *out_certs, struct pg_err *err);

#endif
