/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for truststore.c's certificate file parser: any bytes must parse
 * to at least one certificate or be refused with a message, never crash. What
 * parses is then run through the chain rules of x509chain.c as both a signing
 * and a timestamping chain, and through the trust store certificate checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "status.h"
#include "truststore.h"
#include "x509chain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(STACK_OF(X509) * certs)
{
    char subject[PG_X509_SUBJECT_MAX];
    struct pg_err err;
    enum pg_key_spec spec;
    int i;

    pg_err_init(&err);
    if (pg_x509_check_codesigning_chain(certs, &err) != PG_OK && err.msg[0] == '\0') {
        abort();
    }
    pg_err_init(&err);
    if (pg_x509_check_timestamping_chain(certs, &err) != PG_OK && err.msg[0] == '\0') {
        abort();
    }
    for (i = 0; i < sk_X509_num(certs); i++) {
        X509 *cert = sk_X509_value(certs, i);

        pg_x509_subject(cert, subject, sizeof(subject));
        (void)pg_x509_is_ca(cert);
        (void)pg_x509_is_signed_by_self(cert);
        (void)pg_x509_names_chain(cert, cert);
        (void)pg_x509_valid_at(cert, 0);
        pg_err_init(&err);
        (void)pg_x509_key_spec(cert, &spec, &err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    STACK_OF(X509) *certs = NULL;
    struct pg_err err;

    pg_err_init(&err);
    if (pg_truststore_parse_file(data, size, &certs, &err) == PG_OK) {
        if (certs == NULL || sk_X509_num(certs) < 1) {
            abort();
        }
        exercise(certs);
    } else if (certs != NULL || err.msg[0] == '\0') {
        abort();
    }
    sk_X509_pop_free(certs, X509_free);
    return 0;
}
