/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for COSE envelopes: the CBOR scan, libcbor decoding, the
 * header maps and the protected header rules on arbitrary bytes, and the
 * Sig_structure built from what the parser accepted. Crypto and trust are
 * left out; they only ever see what the parser accepted.
 */
#include <stddef.h>
#include <stdint.h>

#include "cose.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pg_cose *cose = NULL;
    struct pg_err err;
    enum pg_signing_scheme scheme;

    pg_err_init(&err);
    if (pg_cose_parse(data, size, &cose, &err) == PG_OK) {
        const struct pg_jws *v = pg_cose_view(cose);
        unsigned char *tbs = NULL;
        size_t len = 0;

        pg_err_init(&err);
        (void)pg_cose_check_header(cose, &scheme, &err);
        if (pg_cose_to_be_signed(v->protected_raw.data, v->protected_raw.len, v->payload.data,
                                 v->payload.len, &tbs, &len, NULL) == PG_OK) {
            pg_free(tbs);
        }
        pg_cose_free(cose);
    }
    return 0;
}
