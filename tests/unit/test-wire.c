/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for the wire-level rewrite of PullImageRequest.image.image.
 */
#include <string.h>

#include "check.h"
#include "cri_v1.pb-c.h"
#include "mem.h"
#include "wire.h"

static uint8_t *pack_request(const char *image, const char *user, size_t *out_len)
{
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    Runtime__V1__AuthConfig auth = RUNTIME__V1__AUTH_CONFIG__INIT;
    uint8_t *buf;

    spec.image = (char *)image;
    spec.runtime_handler = (char *)"runc";
    req.image = &spec;
    if (user != NULL) {
        auth.username = (char *)user;
        auth.password = (char *)"secret";
        req.auth = &auth;
    }
    *out_len = runtime__v1__pull_image_request__get_packed_size(&req);
    buf = pg_malloc(*out_len);
    runtime__v1__pull_image_request__pack(&req, buf);
    return buf;
}

static void rewrite_keeps_other_fields(void)
{
    size_t len = 0;
    size_t out_len = 0;
    uint8_t *in = pack_request("docker.io/library/alpine:3.19", "bob", &len);
    uint8_t *out = NULL;
    struct pg_err err;
    Runtime__V1__PullImageRequest *req;

    pg_err_init(&err);
    REQUIRE(pg_wire_replace_string(in, len, 1, 1, "docker.io/library/alpine@sha256:ab", &out,
                                   &out_len, &err) == PG_OK);
    req = runtime__v1__pull_image_request__unpack(NULL, out_len, out);
    REQUIRE(req != NULL);
    CHECK(strcmp(req->image->image, "docker.io/library/alpine@sha256:ab") == 0);
    CHECK(strcmp(req->image->runtime_handler, "runc") == 0);
    CHECK(req->auth != NULL && strcmp(req->auth->username, "bob") == 0);
    runtime__v1__pull_image_request__free_unpacked(req, NULL);
    pg_free(in);
    pg_free(out);
}

static void rewrite_keeps_unknown_fields(void)
{
    size_t len = 0;
    size_t out_len = 0;
    uint8_t *base = pack_request("a:1", NULL, &len);
    /* Append an unknown field 99 (varint 7) after the known ones. */
    uint8_t *in = pg_malloc(len + 3);
    uint8_t *out = NULL;
    struct pg_err err;

    memcpy(in, base, len);
    in[len] = (uint8_t)((99 << 3) & 0x7f) | 0x80;
    in[len + 1] = (uint8_t)(99 >> 4);
    in[len + 2] = 7;
    pg_err_init(&err);
    REQUIRE(pg_wire_replace_string(in, len + 3, 1, 1, "b@sha256:cd", &out, &out_len, &err) ==
            PG_OK);
    CHECK(out_len >= 3 && memcmp(out + out_len - 3, in + len, 3) == 0);
    pg_free(base);
    pg_free(in);
    pg_free(out);
}

static void duplicate_image_spec_is_refused(void)
{
    size_t len = 0;
    size_t out_len = 0;
    uint8_t *one = pack_request("a:1", NULL, &len);
    uint8_t *two = pg_malloc(2 * len);
    uint8_t *out = NULL;
    struct pg_err err;

    memcpy(two, one, len);
    memcpy(two + len, one, len);
    pg_err_init(&err);
    CHECK(pg_wire_replace_string(two, 2 * len, 1, 1, "x@sha256:00", &out, &out_len, &err) ==
          PG_ERR_PARSE);
    CHECK(out == NULL);
    pg_free(one);
    pg_free(two);
}

static void truncated_message_is_refused(void)
{
    size_t len = 0;
    size_t out_len = 0;
    uint8_t *in = pack_request("docker.io/library/alpine:3.19", "bob", &len);
    uint8_t *out = NULL;
    struct pg_err err;

    pg_err_init(&err);
    CHECK(pg_wire_replace_string(in, len - 3, 1, 1, "x@sha256:00", &out, &out_len, &err) ==
          PG_ERR_PARSE);
    CHECK(out == NULL);
    pg_free(in);
}

static void missing_image_spec_is_created(void)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    struct pg_err err;
    Runtime__V1__PullImageRequest *req;

    pg_err_init(&err);
    REQUIRE(pg_wire_replace_string((const uint8_t *)"", 0, 1, 1, "x@sha256:00", &out, &out_len,
                                   &err) == PG_OK);
    req = runtime__v1__pull_image_request__unpack(NULL, out_len, out);
    REQUIRE(req != NULL);
    CHECK(req->image != NULL && strcmp(req->image->image, "x@sha256:00") == 0);
    runtime__v1__pull_image_request__free_unpacked(req, NULL);
    pg_free(out);
}

int main(void)
{
    PG_RUN("rewriting the image keeps auth and other spec fields", rewrite_keeps_other_fields);
    PG_RUN("rewriting the image keeps unknown fields byte for byte", rewrite_keeps_unknown_fields);
    PG_RUN("a request with two image specs is refused", duplicate_image_spec_is_refused);
    PG_RUN("a truncated request is refused", truncated_message_is_refused);
    PG_RUN("a request without an image spec gets one", missing_image_spec_is_created);
    return pg_check_done();
}
