/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for reference.c: any bytes, as a NUL-terminated string, must
 * parse or be refused without crashing, and a parsed reference must parse
 * again to the same normalised string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = pg_strndup((const char *)data, size);
    struct pg_ref *ref = NULL;
    struct pg_ref *again = NULL;
    struct pg_err err;
    char *norm = NULL;
    char *norm2 = NULL;

    if (s == NULL) {
        return 0;
    }
    pg_err_init(&err);
    if (pg_ref_parse(s, &ref, &err) == PG_OK) {
        norm = pg_ref_string(ref);
        pg_err_init(&err);
        if (norm != NULL && pg_ref_parse(norm, &again, &err) == PG_OK) {
            norm2 = pg_ref_string(again);
            if (norm2 != NULL && strcmp(norm, norm2) != 0) {
                abort();
            }
        } else if (norm != NULL) {
            abort();
        }
    }
    pg_free(norm2);
    pg_free(norm);
    pg_ref_free(again);
    pg_ref_free(ref);
    pg_free(s);
    return 0;
}
