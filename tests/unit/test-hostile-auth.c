/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims about credentials under hostile registry replies: a broken token
 * endpoint reply never puts the token's text into an error message, a
 * token that could break out of its header line is refused, and hostile
 * WWW-Authenticate values parse to a bounded, first-wins challenge.
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

static void token_that_is_not_header_safe_is_refused(void)
{
    static const char *const bodies[] = {
        "{\"token\":\"" SECRET "\\r\\nX-Injected: 1\"}",
        "{\"token\":\"" SECRET "\\n\"}",
        "{\"access_token\":\"" SECRET "\\u0000x\"}",
        "{\"token\":\"" SECRET "\\u007f\"}",
        "{\"token\":\"" SECRET "\\u00e9\"}",
        "{\"token\":\"\",\"access_token\":\"" SECRET "\\t\"}",
    };

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct pg_err err;
        char *token = NULL;

        pg_err_init(&err);
        CHECK(pg_auth_parse_token((const unsigned char *)bodies[i], strlen(bodies[i]), &token,
                                  &err) != PG_OK);
        CHECK(token == NULL);
        CHECK(strstr(err.msg, "s3cr3t") == NULL && strstr(err.msg, "Injected") == NULL);
        pg_auth_free_secret(token);
    }
}

static void hostile_challenges_parse_bounded_and_first_wins(void)
{
    struct pg_auth_challenge ch = {0};
    struct pg_err err;
    char *big = pg_malloc(100000);
    char *hdr;

    memset(big, 'a', 99999);
    big[99999] = '\0';
    hdr = pg_asprintf("Bearer realm=\"%s\"", big);
    pg_err_init(&err);
    CHECK(pg_auth_parse_challenge(hdr, &ch, &err) == PG_ERR_PARSE && ch.realm == NULL);
    pg_free(hdr);
    hdr = pg_asprintf("Bearer realm=%s", big);
    pg_err_init(&err);
    CHECK(pg_auth_parse_challenge(hdr, &ch, &err) == PG_ERR_PARSE && ch.realm == NULL);
    pg_free(hdr);
    pg_free(big);
    pg_err_init(&err);
    REQUIRE(pg_auth_parse_challenge("Bearer realm=\"https://a/t\",realm=\"https://b/t\","
                                    "service=\"s\\\"q\",x=,Basic realm=\"c\"",
                                    &ch, &err) == PG_OK);
    CHECK(ch.scheme == PG_AUTH_BEARER && strcmp(ch.realm, "https://a/t") == 0);
    CHECK(strcmp(ch.service, "s\"q") == 0);
    pg_auth_challenge_clear(&ch);
    REQUIRE(pg_auth_parse_challenge("Bearer realm=\"x\\", &ch, &err) == PG_ERR_PARSE);
    REQUIRE(pg_auth_parse_challenge("Bearerrealm=\"x\"", &ch, &err) == PG_OK);
    CHECK(ch.scheme == PG_AUTH_NONE && ch.realm == NULL);
    REQUIRE(pg_auth_parse_challenge(",,,=,=", &ch, &err) == PG_OK);
    CHECK(ch.realm == NULL);
}

int main(void)
{
    PG_RUN("a broken token endpoint reply is refused without echoing the token",
           broken_token_reply_is_not_echoed);
    PG_RUN("a well-formed token endpoint reply gives its token", good_token_reply_parses);
    PG_RUN("a token that is not header-safe is refused", token_that_is_not_header_safe_is_refused);
    PG_RUN("hostile challenges parse bounded and first wins",
           hostile_challenges_parse_bounded_and_first_wins);
    return pg_check_done();
}
