/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims about the strict base64 codecs used for envelope members.
 */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "check.h"
#include "mem.h"

static int url_decodes_to(const char *in, const char *want)
{
    unsigned char *out = NULL;
    size_t len = 0;
    struct pg_err err;
    int ok;

    pg_err_init(&err);
    if (pg_b64_decode_url(in, strlen(in), "test", &out, &len, &err) != PG_OK) {
        return 0;
    }
    ok = len == strlen(want) && memcmp(out, want, len) == 0;
    pg_free(out);
    return ok;
}

static int std_decodes_to(const char *in, const char *want)
{
    unsigned char *out = NULL;
    size_t len = 0;
    struct pg_err err;
    int ok;

    pg_err_init(&err);
    if (pg_b64_decode_std(in, strlen(in), "test", &out, &len, &err) != PG_OK) {
        return 0;
    }
    ok = len == strlen(want) && memcmp(out, want, len) == 0;
    pg_free(out);
    return ok;
}

static enum pg_status url_status(const char *in, struct pg_err *err)
{
    unsigned char *out = NULL;
    size_t len = 0;
    enum pg_status st;

    pg_err_init(err);
    st = pg_b64_decode_url(in, strlen(in), "payload", &out, &len, err);
    pg_free(out);
    return st;
}

static enum pg_status std_status(const char *in)
{
    unsigned char *out = NULL;
    size_t len = 0;
    struct pg_err err;
    enum pg_status st;

    pg_err_init(&err);
    st = pg_b64_decode_std(in, strlen(in), "x5c[0]", &out, &len, &err);
    pg_free(out);
    return st;
}

static void url_decodes_unpadded(void)
{
    CHECK(url_decodes_to("", ""));
    CHECK(url_decodes_to("aGVsbG8", "hello"));
    CHECK(url_decodes_to("aGVsbG8h", "hello!"));
    CHECK(url_decodes_to("aGk", "hi"));
    CHECK(url_decodes_to("-_-_", "\xfb\xff\xbf"));
}

static void url_rejects_padding(void)
{
    struct pg_err err;

    CHECK(url_status("aGVsbG8=", &err) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, "payload at input byte 7") != NULL);
    CHECK(url_status("aGk=", &err) == PG_ERR_PARSE);
    CHECK(url_status("aGVsbG8h=", &err) == PG_ERR_PARSE);
}

static void url_rejects_other_alphabets(void)
{
    struct pg_err err;

    CHECK(url_status("+/+/", &err) == PG_ERR_PARSE);
    CHECK(url_status("aGVs bG8", &err) == PG_ERR_PARSE);
    CHECK(url_status("aGVs\nbG8", &err) == PG_ERR_PARSE);
    CHECK(url_status("aGVsb", &err) == PG_ERR_PARSE); /* 5 chars: impossible length */
}

static void url_rejects_nonzero_trailing_bits(void)
{
    struct pg_err err;

    CHECK(url_status("aGVsbG9", &err) == PG_ERR_PARSE); /* "hello" is aGVsbG8 */
    CHECK(url_status("aGl", &err) == PG_ERR_PARSE);     /* "hi" is aGk */
}

static void std_needs_exact_padding(void)
{
    CHECK(std_decodes_to("aGVsbG8=", "hello"));
    CHECK(std_decodes_to("aGk=", "hi"));
    CHECK(std_decodes_to("aGk/", "hi?"));
    CHECK(std_decodes_to("", ""));
    CHECK(std_status("aGVsbG8") == PG_ERR_PARSE);
    CHECK(std_status("aGk") == PG_ERR_PARSE);
    CHECK(std_status("aG==") == PG_ERR_PARSE); /* non-zero trailing bits */
    CHECK(std_status("a===") == PG_ERR_PARSE);
    CHECK(std_status("====") == PG_ERR_PARSE);
    CHECK(std_status("aG=k") == PG_ERR_PARSE);
    CHECK(std_status("aGk=aGk=") == PG_ERR_PARSE); /* padding in the middle */
    CHECK(std_status("aGk-") == PG_ERR_PARSE);     /* url alphabet */
}

static void round_trips_every_length(void)
{
    unsigned char data[70];
    size_t n;
    size_t i;

    for (i = 0; i < sizeof(data); i++) {
        data[i] = (unsigned char)(i * 37 + 11);
    }
    for (n = 0; n <= sizeof(data); n++) {
        char *u = pg_b64_encode_url(data, n);
        char *s = pg_b64_encode_std(data, n);
        unsigned char *out = NULL;
        size_t len = 0;

        REQUIRE(u != NULL && s != NULL);
        CHECK(strchr(u, '=') == NULL);
        CHECK(strlen(s) % 4 == 0);
        CHECK(pg_b64_decode_url(u, strlen(u), "u", &out, &len, NULL) == PG_OK && len == n &&
              memcmp(out, data, n) == 0);
        pg_free(out);
        out = NULL;
        CHECK(pg_b64_decode_std(s, strlen(s), "s", &out, &len, NULL) == PG_OK && len == n &&
              memcmp(out, data, n) == 0);
        pg_free(out);
        pg_free(u);
        pg_free(s);
    }
}

static void out_of_memory_is_an_error(void)
{
    unsigned char *out = NULL;
    size_t len = 0;
    struct pg_err err;

    pg_err_init(&err);
    pg_mem_fail_after(0);
    CHECK(pg_b64_decode_url("aGVsbG8", 7, "x", &out, &len, &err) == PG_ERR_NOMEM);
    CHECK(pg_b64_encode_std((const unsigned char *)"x", 1) == NULL);
    pg_mem_fail_after(-1);
    CHECK(out == NULL);
}

int main(void)
{
    PG_RUN("base64url decodes unpadded input", url_decodes_unpadded);
    PG_RUN("base64url with padding is rejected and the byte is named", url_rejects_padding);
    PG_RUN("base64url rejects the standard alphabet, spaces and bad lengths",
           url_rejects_other_alphabets);
    PG_RUN("non-canonical trailing bits are rejected", url_rejects_nonzero_trailing_bits);
    PG_RUN("standard base64 needs exact padding", std_needs_exact_padding);
    PG_RUN("both encodings round-trip every length", round_trips_every_length);
    PG_RUN("out of memory is an ordinary error", out_of_memory_is_an_error);
    return pg_check_done();
}
