/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for wire.c: any bytes as a PullImageRequest. A rewrite must
 * succeed or be refused without crashing, and when both the input and the
 * rewritten request decode, the rewritten one must name exactly the pinned
 * image, so containerd pulls what was verified.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cri_v1.pb-c.h"
#include "mem.h"
#include "wire.h"

#define PINNED                                                                                     \
    "registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Runtime__V1__PullImageRequest *in = runtime__v1__pull_image_request__unpack(NULL, size, data);
    Runtime__V1__PullImageRequest *out = NULL;
    uint8_t *rewritten = NULL;
    size_t len = 0;
    struct pg_err err;

    pg_err_init(&err);
    if (pg_wire_replace_string(data, size, 1, 1, PINNED, &rewritten, &len, &err) == PG_OK) {
        out = runtime__v1__pull_image_request__unpack(NULL, len, rewritten);
        if (in != NULL && out == NULL) {
            abort();
        }
        if (out != NULL && (out->image == NULL || out->image->image == NULL ||
                            strcmp(out->image->image, PINNED) != 0)) {
            abort();
        }
    }
    if (out != NULL) {
        runtime__v1__pull_image_request__free_unpacked(out, NULL);
    }
    if (in != NULL) {
        runtime__v1__pull_image_request__free_unpacked(in, NULL);
    }
    pg_free(rewritten);
    return 0;
}
