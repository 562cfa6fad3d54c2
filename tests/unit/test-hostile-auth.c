/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims about credentials under hostile registry replies: a broken token
 * endpoint reply never puts the token's text into an error message.
 */
#include <string.h>

#include "auth.h"
#include "check.h"
#include "mem.h"

#define SECRET "s3cr3t-t0ken-value"

static int parse_fails_quietly(const char *body)
{
    struct pg_err err;
    char *token = NULL;
    enum pg_status rc;

    pg_err_init(&err);
    rc = pg_auth_parse_token((const unsigned char *)body, strlen(body), &token, &err);
    pg_auth_free_secret(token);
    return rc != PG_OK && err.msg[0] != '\0' && strstr(err.msg, "s3cr3t") == NULL;
}

static void broken_token_reply_is_not_echoed(void)
{
    CHECK(parse_fails_quietly("{\"token\":\"" SECRET));
    CHECK(parse_fails_quietly("{\"token\":\"" SECRET "\"x"));
    CHECK(parse_fails_quietly("{\"access_token\":\"" SECRET "\",\"access_token\":\"x\"}"));
    CHECK(parse_fails_quietly("token=" SECRET));
    CHECK(parse_fails_quietly("[\"" SECRET "\"]"));
}

static void good_token_reply_parses(void)
{
    static const char body[] = "{\"token\":\"" SECRET "\"}";
    struct pg_err err;
    char *token = NULL;

    pg_err_init(&err);
    REQUIRE(pg_auth_parse_token((const unsigned char *)body, strlen(body), &token, &err) == PG_OK);
    CHECK(strcmp(token, SECRET) == 0);
    pg_auth_free_secret(token);
}

int main(void)
{
    PG_RUN("a broken token endpoint reply is refused without echoing the token",
           broken_token_reply_is_not_echoed);
    PG_RUN("a well-formed token endpoint reply gives its token", good_token_reply_parses);
    return pg_check_done();
}
