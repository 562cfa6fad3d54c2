/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for signature envelopes: the JWS parser, the protected header
 * rules and the strict base64 decoders, on arbitrary bytes. Crypto and trust
 * are left out; they only ever see what the parser accepted.
 */
#include <stddef.h>
#include <stdint.h>

#include "b64.h"
#include "jws.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pg_jws *jws = NULL;
    struct pg_err err;
    enum pg_signing_scheme scheme;
    unsigned char *out = NULL;
    size_t out_len = 0;

    pg_err_init(&err);
    if (pg_jws_parse(data, size, &jws, &err) == PG_OK) {
        pg_err_init(&err);
        (void)pg_jws_check_header(jws, &scheme, &err);
        pg_jws_free(jws);
    }
    if (size < 4096) {
        pg_err_init(&err);
        if (pg_b64_decode_url((const char *)data, size, "fuzz", &out, &out_len, &err) == PG_OK) {
            pg_free(out);
        }
        out = NULL;
        pg_err_init(&err);
        if (pg_b64_decode_std((const char *)data, size, "fuzz", &out, &out_len, &err) == PG_OK) {
            pg_free(out);
        }
    }
    return 0;
}
