/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims about the JWS envelope parser and the protected header rules, on
 * notation's own vectors and on envelopes built here.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "b64.h"
#include "check.h"
#include "jws.h"
#include "mem.h"
#include "x509chain.h"

#define MOCK "notation-go/internal/mock/testdata/"
#define PAYLOAD                                                                                    \
    "{\"targetArtifact\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","           \
    "\"digest\":\"sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0\","      \
    "\"size\":481}}"
#define CTY "\"cty\":\"application/vnd.cncf.notary.payload.v1+json\""
#define X509_SCHEME "\"io.cncf.notary.signingScheme\":\"notary.x509\""
#define SA_SCHEME "\"io.cncf.notary.signingScheme\":\"notary.x509.signingAuthority\""
#define ST "\"io.cncf.notary.signingTime\":\"2022-04-06T07:01:20Z\""
#define AST "\"io.cncf.notary.authenticSigningTime\":\"2022-04-06T07:01:20Z\""
#define EXP "\"io.cncf.notary.expiry\":\"2022-10-06T07:01:20Z\""
#define CRIT_S "\"crit\":[\"io.cncf.notary.signingScheme\"]"
#define CRIT_SE "\"crit\":[\"io.cncf.notary.signingScheme\",\"io.cncf.notary.expiry\"]"
#define CRIT_SA                                                                                    \
    "\"crit\":[\"io.cncf.notary.signingScheme\",\"io.cncf.notary.authenticSigningTime\"]"

static unsigned char *read_vector(const char *rel, size_t *out_len)
{
    char *path = pg_check_vector(rel);
    unsigned char *data = path != NULL ? pg_check_read_file(path, out_len) : NULL;

    pg_free(path);
    return data;
}

static enum pg_status parse_vector(const char *rel, struct pg_jws **out, struct pg_err *err)
{
    size_t len = 0;
    unsigned char *data = read_vector(rel, &len);
    enum pg_status st;

    pg_err_init(err);
    if (data == NULL) {
        return PG_ERR_IO;
    }
    st = pg_jws_parse(data, len, out, err);
    pg_free(data);
    return st;
}

/* {"payload":..,"protected":..,"header":header,"signature":"AAAA"} with base64url encoding. */
static char *make_envelope(const char *protected_json, const char *header)
{
    char *p = pg_b64_encode_url((const unsigned char *)protected_json, strlen(protected_json));
    char *q = pg_b64_encode_url((const unsigned char *)PAYLOAD, strlen(PAYLOAD));
    char *env = pg_asprintf("{\"payload\":\"%s\",\"protected\":\"%s\",\"header\":%s,"
                            "\"signature\":\"AAAA\"}",
                            q, p, header != NULL ? header : "{\"x5c\":[\"MIIB\"]}");

    pg_free(p);
    pg_free(q);
    return env;
}

static enum pg_status parse_text(const char *env, struct pg_jws **out, struct pg_err *err)
{
    pg_err_init(err);
    return pg_jws_parse((const unsigned char *)env, strlen(env), out, err);
}

/* Parses an envelope with this protected header and checks the header rules. */
static enum pg_status header_status(const char *protected_json, enum pg_signing_scheme *scheme,
                                    struct pg_err *err)
{
    char *env = make_envelope(protected_json, NULL);
    struct pg_jws *jws = NULL;
    enum pg_signing_scheme s = PG_SCHEME_X509;
    enum pg_status st;

    st = parse_text(env, &jws, err);
    if (st == PG_OK) {
        st = pg_jws_check_header(jws, &s, err);
    }
    if (scheme != NULL) {
        *scheme = s;
    }
    pg_jws_free(jws);
    pg_free(env);
    return st;
}

static void ca_vector_parses(void)
{
    struct pg_jws *jws = NULL;
    struct pg_err err;
    enum pg_signing_scheme scheme = PG_SCHEME_SIGNING_AUTHORITY;

    REQUIRE(parse_vector(MOCK "ca_valid_sig_env.json", &jws, &err) == PG_OK);
    CHECK(strcmp(jws->alg, "PS384") == 0);
    CHECK(strcmp(jws->scheme, "notary.x509") == 0);
    CHECK(jws->n_crit == 2);
    CHECK(jws->n_ext == 0);
    CHECK(jws->n_x5c == 2);
    CHECK(jws->signature.len == 384);
    CHECK(jws->signing_time.is_present && jws->signing_time.sec == 1604905200);
    CHECK(jws->expiry.is_present && !jws->authentic_signing_time.is_present);
    CHECK(jws->payload.len > 0 && memcmp(jws->payload.data, "{\"targetArtifact\"", 17) == 0);
    /* The vector spells io.cncf.notary.SigningAgent; exact-case matching ignores it. */
    CHECK(jws->signing_agent == NULL);
    CHECK(jws->timestamp.len == 0);
    CHECK(pg_jws_check_header(jws, &scheme, &err) == PG_OK);
    CHECK(scheme == PG_SCHEME_X509);
    pg_jws_free(jws);
}

static void sa_vector_parses(void)
{
    struct pg_jws *jws = NULL;
    struct pg_err err;
    enum pg_signing_scheme scheme = PG_SCHEME_X509;

    REQUIRE(parse_vector(MOCK "sa_valid_sig_env.json", &jws, &err) == PG_OK);
    CHECK(jws->authentic_signing_time.is_present && !jws->signing_time.is_present);
    CHECK(pg_jws_check_header(jws, &scheme, &err) == PG_OK);
    CHECK(scheme == PG_SCHEME_SIGNING_AUTHORITY);
    pg_jws_free(jws);
}

static enum pg_status verify_with_leaf(const struct pg_jws *jws, struct pg_err *err)
{
    const unsigned char *p = jws->x5c[0].data;
    X509 *leaf = d2i_X509(NULL, &p, (long)jws->x5c[0].len);
    enum pg_key_spec spec = PG_KEY_RSA_2048;
    enum pg_status st = PG_ERR_PARSE;

    if (leaf != NULL && pg_x509_key_spec(leaf, &spec, err) == PG_OK) {
        st = pg_jws_verify_signature(jws, X509_get0_pubkey(leaf), spec, err);
    }
    X509_free(leaf);
    return st;
}

static void vector_signatures_verify(void)
{
    static const char *const names[] = {
        MOCK "ca_valid_sig_env.json", MOCK "sa_valid_sig_env.json", MOCK "ca_expired_sig_env.json",
        MOCK "ca_plugin_sig_env.json", "notation-go/internal/testdata/jws_signature.sig"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct pg_jws *jws = NULL;
        struct pg_err err;

        REQUIRE(parse_vector(names[i], &jws, &err) == PG_OK);
        CHECK(verify_with_leaf(jws, &err) == PG_OK);
        jws->signature.data[7] ^= 0x20;
        CHECK(verify_with_leaf(jws, &err) == PG_ERR_SIG_INTEGRITY);
        pg_jws_free(jws);
    }
}

static void numeric_offset_time_is_read(void)
{
    struct pg_jws *jws = NULL;
    struct pg_err err;

    REQUIRE(parse_vector("notation-go/internal/testdata/jws_signature.sig", &jws, &err) == PG_OK);
    /* 2023-03-14T16:10:02+08:00 is 2023-03-14T08:10:02Z. */
    CHECK(jws->signing_time.sec == 1678781402);
    CHECK(jws->signing_agent != NULL);
    pg_jws_free(jws);
}

static void padded_payload_is_rejected(void)
{
    struct pg_jws *jws = NULL;
    struct pg_err err;

    CHECK(parse_vector(MOCK "ca_invalid_sig_env.json", &jws, &err) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(err.msg, "illegal base64 data in payload at input byte 242") != NULL);
    CHECK(parse_vector(MOCK "sa_invalid_sig_env.json", &jws, &err) == PG_ERR_SIG_INTEGRITY);
    CHECK(jws == NULL);
}

static void malformed_vector_is_rejected(void)
{
    struct pg_jws *jws = NULL;
    struct pg_err err;

    CHECK(parse_vector("notation/test/e2e/testdata/signatures/malformed.jws.sig", &jws, &err) ==
          PG_ERR_SIG_INTEGRITY);
    CHECK(jws == NULL);
}

static void good_headers_pass(void)
{
    enum pg_signing_scheme scheme = PG_SCHEME_X509;
    struct pg_err err;

    CHECK(header_status("{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST "," CRIT_S "}", &scheme,
                        &err) == PG_OK);
    CHECK(scheme == PG_SCHEME_X509);
    CHECK(header_status("{\"alg\":\"ES384\"," CTY "," SA_SCHEME "," AST "," CRIT_SA "}", &scheme,
                        &err) == PG_OK);
    CHECK(scheme == PG_SCHEME_SIGNING_AUTHORITY);
    CHECK(header_status("{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST "," EXP "," CRIT_SE "}",
                        NULL, &err) == PG_OK);
    /* Fractions and offsets are accepted; a present extended attribute may be critical. */
    CHECK(header_status("{\"alg\":\"PS256\"," CTY "," X509_SCHEME
                        ",\"io.cncf.notary.signingTime\":\"2022-04-06T07:01:20.123+02:00\","
                        "\"x\":1,\"crit\":[\"io.cncf.notary.signingScheme\",\"x\"]}",
                        NULL, &err) == PG_OK);
    /* Go's zero time as expiry means none: it need not be critical nor after the signing time. */
    CHECK(header_status("{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST
                        ",\"io.cncf.notary.expiry\":\"0001-01-01T00:00:00Z\"," CRIT_S "}",
                        NULL, &err) == PG_OK);
}

struct bad_header {
    const char *json;
    const char *why;
};

static const struct bad_header bad_headers[] = {
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST
     ",\"crit\":[\"io.cncf.notary.signingScheme\",\"io.cncf.notary.signingTime\"]}",
     "crit lists"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST
     ",\"crit\":[\"io.cncf.notary.signingScheme\",\"alg\"]}",
     "crit lists"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST
     ",\"crit\":[\"io.cncf.notary.signingScheme\",\"io.cncf.notary.signingScheme\"]}",
     "twice"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST
     ",\"crit\":[\"io.cncf.notary.signingScheme\",\"absent\"]}",
     "crit lists"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST ",\"crit\":[]}", "crit"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST "}", "crit"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST "," EXP "," CRIT_S "}", "must be critical"},
    {"{\"alg\":\"PS256\"," CTY "," SA_SCHEME "," AST "," CRIT_S "}", "must be critical"},
    {"{\"alg\":\"PS256\"," X509_SCHEME "," ST "," CRIT_S "}", "no cty"},
    {"{\"alg\":\"PS256\",\"cty\":\"application/json\"," X509_SCHEME "," ST "," CRIT_S "}",
     "content type"},
    {"{\"alg\":\"PS256\"," CTY ",\"io.cncf.notary.signingScheme\":\"notary.x509.other\"," ST
     "," CRIT_S "}",
     "not supported"},
    {"{\"alg\":\"PS256\"," CTY "," ST "," CRIT_S "}", "no io.cncf.notary.signingScheme"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST "," AST "," CRIT_S "}", "not allowed"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," CRIT_S "}", "requires"},
    {"{\"alg\":\"PS256\"," CTY "," SA_SCHEME "," AST "," ST "," CRIT_SA "}", "not allowed"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME ",\"io.cncf.notary.signingTime\":"
     "\"2022-10-06T07:01:20Z\"," EXP "," CRIT_SE "}",
     "not after"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME ",\"io.cncf.notary.signingTime\":"
     "\"2023-01-01T00:00:00Z\"," EXP "," CRIT_SE "}",
     "not after"},
    {"{\"alg\":\"RS256\"," CTY "," X509_SCHEME "," ST "," CRIT_S "}", "not allowed"},
    {"{\"alg\":\"none\"," CTY "," X509_SCHEME "," ST "," CRIT_S "}", "not allowed"},
    {"{" CTY "," X509_SCHEME "," ST "," CRIT_S "}", "no alg"},
    /* Go's zero time is no signing time for notation, also written with an offset */
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME
     ",\"io.cncf.notary.signingTime\":\"0001-01-01T00:00:00Z\"," CRIT_S "}",
     "zero time"},
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME
     ",\"io.cncf.notary.signingTime\":\"0001-01-01T01:00:00+01:00\"," CRIT_S "}",
     "zero time"},
    {"{\"alg\":\"ES384\"," CTY "," SA_SCHEME
     ",\"io.cncf.notary.authenticSigningTime\":\"0001-01-01T00:00:00Z\"," CRIT_SA "}",
     "zero time"},
    /* a zero expiry is no expiry, so crit may not list it */
    {"{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST
     ",\"io.cncf.notary.expiry\":\"0001-01-01T00:00:00Z\"," CRIT_SE "}",
     "crit lists"},
};

static void bad_headers_fail(void)
{
    size_t i;

    for (i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
        struct pg_err err;
        enum pg_status st = header_status(bad_headers[i].json, NULL, &err);

        CHECK(st == PG_ERR_SIG_INTEGRITY);
        if (strstr(err.msg, bad_headers[i].why) == NULL) {
            fprintf(stderr, "    header %zu: unexpected message: %s\n", i, err.msg);
            CHECK(strstr(err.msg, bad_headers[i].why) != NULL);
        }
    }
}

static const char *const malformed_headers[] = {
    "{\"alg\":\"PS256\",\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST "," CRIT_S "}",
    "{\"alg\":256," CTY "," X509_SCHEME "," ST "," CRIT_S "}",
    "{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST ",\"crit\":[\"io.cncf.notary.signingScheme\","
    "7]}",
    "{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST ",\"crit\":\"io.cncf.notary.signingScheme\"}",
    "{\"alg\":\"PS256\"," CTY "," X509_SCHEME ",\"io.cncf.notary.signingTime\":null," CRIT_S "}",
    "{\"alg\":\"PS256\"," CTY "," X509_SCHEME ",\"io.cncf.notary.signingTime\":1649228480," CRIT_S
    "}",
    "[\"alg\"]",
    "{\"alg\":\"PS256\"",
    "",
};

static void malformed_headers_fail_to_parse(void)
{
    size_t i;

    for (i = 0; i < sizeof(malformed_headers) / sizeof(malformed_headers[0]); i++) {
        char *env = make_envelope(malformed_headers[i], NULL);
        struct pg_jws *jws = NULL;
        struct pg_err err;

        CHECK(parse_text(env, &jws, &err) == PG_ERR_SIG_INTEGRITY);
        CHECK(jws == NULL);
        pg_free(env);
    }
}

static const char *const bad_times[] = {
    "2022-04-06t07:01:20Z",     "2022-04-06T07:01:20z",      "2022-04-06 07:01:20Z",
    "2022-04-06T07:01:20",      "2021-02-29T00:00:00Z",      "2022-04-06T24:00:00Z",
    "2022-04-06T07:60:00Z",     "2022-04-06T07:01:60Z",      "2022-13-06T07:01:20Z",
    "2022-04-06T07:01:20+0200", "2022-04-06T07:01:20+24:00", "2022-4-06T07:01:20Z",
    "2022-04-06T07:01:20.Z",    "2022-04-06T07:01:20ZZ",     "",
};

static void times_follow_rfc3339(void)
{
    struct pg_jws_time t;
    size_t i;

    CHECK(pg_jws_parse_time("1970-01-01T00:00:00Z", &t) == PG_OK && t.sec == 0);
    CHECK(pg_jws_parse_time("2024-02-29T23:59:59Z", &t) == PG_OK && t.sec == 1709251199);
    CHECK(pg_jws_parse_time("2022-04-06T07:01:20.5-01:30", &t) == PG_OK &&
          t.sec == 1649228480 + 5400 && t.nsec == 500000000);
    CHECK(pg_jws_parse_time("2022-04-06T07:01:20.1234567891Z", &t) == PG_OK && t.nsec == 123456789);
    CHECK(pg_jws_parse_time("2120-11-09T07:00:00Z", &t) == PG_OK && t.sec == 4760578800);
    for (i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
        if (pg_jws_parse_time(bad_times[i], &t) != PG_ERR_PARSE) {
            fprintf(stderr, "    accepted bad time %s\n", bad_times[i]);
            CHECK(0);
        }
    }
}

static void envelope_structure_is_strict(void)
{
    static const char *const prot = "{\"alg\":\"PS256\"}";
    char *p = pg_b64_encode_url((const unsigned char *)prot, strlen(prot));
    char *cases[9];
    size_t i;

    cases[0] = pg_asprintf("{\"payload\":\"e30\",\"protected\":\"%s\",\"signature\":\"AAAA\"}", p);
    cases[1] = pg_asprintf("{\"payload\":\"e30\",\"protected\":\"%s\",\"header\":{\"x5c\":[]},"
                           "\"signature\":\"AAAA\"}",
                           p);
    cases[2] = pg_asprintf("{\"payload\":\"e30\",\"protected\":\"%s\",\"header\":{\"x5c\":"
                           "[\"MII\"]},\"signature\":\"AAAA\"}",
                           p);
    cases[3] = pg_asprintf("{\"Payload\":\"e30\",\"protected\":\"%s\",\"header\":{\"x5c\":"
                           "[\"MIIB\"]},\"signature\":\"AAAA\"}",
                           p);
    cases[4] = pg_asprintf("{\"payload\":\"e30\",\"protected\":\"%s=\",\"header\":{\"x5c\":"
                           "[\"MIIB\"]},\"signature\":\"AAAA\"}",
                           p);
    cases[5] = pg_asprintf("{\"payload\":\"e30\",\"protected\":\"%s\",\"header\":{\"x5c\":"
                           "[\"MIIB\"]},\"signature\":\"AA+A\"}",
                           p);
    cases[6] = pg_asprintf("{\"payload\":\"e30\",\"protected\":\"%s\",\"header\":{\"x5c\":"
                           "[\"MIIB\"]},\"signature\":\"AAAA\"} x",
                           p);
    cases[7] = pg_asprintf("{\"payload\":\"e30\",\"payload\":\"e30\",\"protected\":\"%s\","
                           "\"header\":{\"x5c\":[\"MIIB\"]},\"signature\":\"AAAA\"}",
                           p);
    cases[8] = pg_asprintf("{\"payload\":\"e30\",\"protected\":\"%s\",\"header\":{\"x5c\":"
                           "[\"MIIB\"],\"io.cncf.notary.timestampSignature\":7},"
                           "\"signature\":\"AAAA\"}",
                           p);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pg_jws *jws = NULL;
        struct pg_err err;

        REQUIRE(cases[i] != NULL);
        if (parse_text(cases[i], &jws, &err) != PG_ERR_SIG_INTEGRITY) {
            fprintf(stderr, "    accepted envelope %zu\n", i);
            CHECK(0);
        }
        pg_jws_free(jws);
        pg_free(cases[i]);
    }
    pg_free(p);
}

static void unknown_members_are_ignored(void)
{
    static const char *const prot =
        "{\"alg\":\"PS256\"," CTY "," X509_SCHEME "," ST "," CRIT_S ",\"extra\":[1]}";
    char *p = pg_b64_encode_url((const unsigned char *)prot, strlen(prot));
    char *env = pg_asprintf("{\"payload\":\"e30\",\"protected\":\"%s\",\"header\":{\"x5c\":"
                            "[\"MIIB\"],\"io.cncf.notary.signingAgent\":\"notation/1.0\","
                            "\"io.cncf.notary.timestampSignature\":\"aGk=\",\"whatever\":{}},"
                            "\"signature\":\"AAAA\",\"signatures\":[]}",
                            p);
    struct pg_jws *jws = NULL;
    struct pg_err err;
    const struct pg_jws_attr *extra;

    REQUIRE(env != NULL);
    REQUIRE(parse_text(env, &jws, &err) == PG_OK);
    CHECK(strcmp(jws->signing_agent, "notation/1.0") == 0);
    CHECK(jws->timestamp.len == 2 && memcmp(jws->timestamp.data, "hi", 2) == 0);
    CHECK(jws->payload.len == 2 && memcmp(jws->payload.data, "{}", 2) == 0);
    extra = pg_jws_find_attr(jws, "extra");
    CHECK(extra != NULL && !extra->is_critical && json_is_array(extra->value));
    CHECK(jws->n_ext == 1);
    pg_jws_free(jws);
    pg_free(env);
    pg_free(p);
}

static void truncated_envelopes_never_crash(void)
{
    size_t len = 0;
    unsigned char *data = read_vector(MOCK "sa_plugin_sig_env.json", &len);
    size_t n;

    REQUIRE(data != NULL);
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' ')) {
        len--; /* the envelope ends at its closing brace */
    }
    for (n = 0; n < len; n++) {
        struct pg_jws *jws = NULL;
        struct pg_err err;

        pg_err_init(&err);
        CHECK(pg_jws_parse(data, n, &jws, &err) != PG_OK);
        CHECK(jws == NULL && err.msg[0] != '\0');
    }
    pg_free(data);
}

static void out_of_memory_never_crashes(void)
{
    size_t len = 0;
    unsigned char *data = read_vector(MOCK "ca_plugin_sig_env.json", &len);
    long n;
    int saw_ok = 0;

    REQUIRE(data != NULL);
    for (n = 0; n < 64 && !saw_ok; n++) {
        struct pg_jws *jws = NULL;
        struct pg_err err;
        enum pg_status st;

        pg_err_init(&err);
        pg_mem_fail_after(n);
        st = pg_jws_parse(data, len, &jws, &err);
        pg_mem_fail_after(-1);
        CHECK(st == PG_OK || st == PG_ERR_NOMEM);
        saw_ok = st == PG_OK;
        pg_jws_free(jws);
    }
    CHECK(saw_ok);
    pg_free(data);
}

int main(void)
{
    PG_RUN("the x509 mock vector parses into its parts", ca_vector_parses);
    PG_RUN("the signing authority mock vector parses", sa_vector_parses);
    PG_RUN("vector signatures verify with their leaf keys; a flipped bit does not",
           vector_signatures_verify);
    PG_RUN("a signing time with a numeric offset is converted to utc", numeric_offset_time_is_read);
    PG_RUN("padding on the payload is an integrity failure at byte 242",
           padded_payload_is_rejected);
    PG_RUN("the malformed e2e envelope is rejected", malformed_vector_is_rejected);
    PG_RUN("well-formed protected headers pass the rules", good_headers_pass);
    PG_RUN("protected headers that break a rule fail with the rule named", bad_headers_fail);
    PG_RUN("duplicate keys and wrong member types fail parsing", malformed_headers_fail_to_parse);
    PG_RUN("times follow rfc 3339 exactly", times_follow_rfc3339);
    PG_RUN("missing members, bad base64 and trailing data fail parsing",
           envelope_structure_is_strict);
    PG_RUN("unknown members are ignored; known unprotected ones are read",
           unknown_members_are_ignored);
    PG_RUN("every truncation of an envelope fails cleanly", truncated_envelopes_never_crash);
    PG_RUN("running out of memory while parsing is an ordinary error", out_of_memory_never_crashes);
    return pg_check_done();
}
