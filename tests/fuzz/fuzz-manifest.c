/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for registry replies: every input is read as an image index
 * (referrers lists, the tag-schema index), as a signature manifest, as a
 * token-endpoint reply and as a WWW-Authenticate value. Each must be parsed
 * or refused without crashing or leaking.
 */
#include <stdint.h>
#include <stdlib.h>

#include "auth.h"
#include "discover.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pg_descriptor *list = NULL;
    struct pg_descriptor layer = {0};
    struct pg_auth_challenge ch = {0};
    struct pg_err err;
    size_t n = 0;
    char *token = NULL;
    char *s;

    pg_err_init(&err);
    if (pg_discover_parse_index(data, size, &list, &n, &err) == PG_OK) {
        pg_descriptor_list_free(list, n);
    }
    pg_err_init(&err);
    if (pg_discover_parse_signature_manifest(data, size, PG_MT_OCI_MANIFEST, &layer, &err) ==
        PG_OK) {
        pg_descriptor_clear(&layer);
    }
    pg_err_init(&err);
    if (pg_discover_parse_signature_manifest(data, size, PG_MT_OCI_ARTIFACT, &layer, &err) ==
        PG_OK) {
        pg_descriptor_clear(&layer);
    }
    pg_err_init(&err);
    if (pg_auth_parse_token(data, size, &token, &err) == PG_OK) {
        pg_auth_free_secret(token);
    }
    s = pg_strndup((const char *)data, size);
    pg_err_init(&err);
    if (s != NULL && pg_auth_parse_challenge(s, &ch, &err) == PG_OK) {
        pg_auth_challenge_clear(&ch);
    }
    pg_free(s);
    return 0;
}
