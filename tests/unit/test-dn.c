/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Distinguished names: RFC 4514 parsing with notation's rules, and
 * certificate subjects rendered and parsed the way notation does it.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "dn.h"
#include "mem.h"

static int value_is(const struct pg_dn *dn, const char *type, const char *value, size_t len)
{
    const struct pg_dn_attr *a = pg_dn_get(dn, type);

    return a != NULL && a->value_len == len && memcmp(a->value, value, len) == 0;
}

#define VALUE_IS(dn, type, lit) value_is((dn), (type), (lit), sizeof(lit) - 1)

/* Parses s, expecting success. */
static int parses(const char *s, struct pg_dn *dn)
{
    struct pg_err err;

    pg_err_init(&err);
    if (pg_dn_parse(s, dn, &err) != PG_OK) {
        fprintf(stderr, "    \"%s\" refused: %s\n", s, err.msg);
        return 0;
    }
    return 1;
}

/* Parses s, expecting the given failure with a message containing why. */
static int refuses(const char *s, enum pg_status st, const char *why)
{
    struct pg_dn dn = {NULL, 0};
    struct pg_err err;
    enum pg_status rc;

    pg_err_init(&err);
    rc = pg_dn_parse(s, &dn, &err);
    if (rc != st || strstr(err.msg, why) == NULL || dn.attrs != NULL) {
        fprintf(stderr, "    \"%s\": got %s: %s; want %s\n", s, pg_status_name(rc), err.msg, why);
        pg_dn_clear(&dn);
        return 0;
    }
    return 1;
}

static void plain_dn_parses_into_a_sorted_map(void)
{
    struct pg_dn dn = {NULL, 0};
    size_t i;

    REQUIRE(parses("CN=e2e,O=Notary,L=Seattle,ST=WA,C=US", &dn));
    CHECK(dn.n == 5);
    CHECK(VALUE_IS(&dn, "CN", "e2e") && VALUE_IS(&dn, "O", "Notary"));
    CHECK(VALUE_IS(&dn, "L", "Seattle") && VALUE_IS(&dn, "ST", "WA") && VALUE_IS(&dn, "C", "US"));
    for (i = 1; i < dn.n; i++) {
        CHECK(strcmp(dn.attrs[i - 1].type, dn.attrs[i].type) < 0);
    }
    pg_dn_clear(&dn);
    CHECK(dn.attrs == NULL && dn.n == 0);
}

static void spaces_and_separators_follow_go_ldap(void)
{
    struct pg_dn dn = {NULL, 0};

    REQUIRE(parses("  C = US ;ST=WA,  O = Acme Rockets  ", &dn));
    CHECK(VALUE_IS(&dn, "C", "US") && VALUE_IS(&dn, "O", "Acme Rockets"));
    pg_dn_clear(&dn);
    /* S is an alias of ST */
    REQUIRE(parses("C=US,S=WA,O=x", &dn));
    CHECK(VALUE_IS(&dn, "ST", "WA") && pg_dn_get(&dn, "S") == NULL);
    pg_dn_clear(&dn);
    /* an empty type before '=' is skipped and the next '=' names the type */
    REQUIRE(parses("=C=US,ST=WA,O=x", &dn));
    CHECK(VALUE_IS(&dn, "C", "US"));
    pg_dn_clear(&dn);
    /* '=' inside a value is part of it */
    REQUIRE(parses("C=US,ST=WA,O=a=b", &dn));
    CHECK(VALUE_IS(&dn, "O", "a=b"));
    pg_dn_clear(&dn);
}

static void escapes_are_decoded(void)
{
    struct pg_dn dn = {NULL, 0};

    REQUIRE(parses("C=US,ST=WA,O=a\\,b\\+c\\;d\\\"e\\<f\\>g\\\\h\\=i\\#j", &dn));
    CHECK(VALUE_IS(&dn, "O", "a,b+c;d\"e<f>g\\h=i#j"));
    pg_dn_clear(&dn);
    REQUIRE(parses("C=US,ST=WA,O=\\41\\c3\\A9,CN=\\ lead,OU=trail\\ ", &dn));
    CHECK(VALUE_IS(&dn, "O", "A\xc3\xa9"));
    CHECK(VALUE_IS(&dn, "CN", " lead") && VALUE_IS(&dn, "OU", "trail "));
    pg_dn_clear(&dn);
    /* a NUL byte from \00 is kept with its length */
    REQUIRE(parses("C=US,ST=WA,O=a\\00b", &dn));
    CHECK(VALUE_IS(&dn, "O", "a\0b"));
    pg_dn_clear(&dn);
    /* an escaped type separator belongs to the type */
    REQUIRE(parses("C=US,ST=WA,O=x,a\\=b=c", &dn));
    CHECK(VALUE_IS(&dn, "a=b", "c"));
    pg_dn_clear(&dn);
}

static void notation_rules_refuse_what_notation_refuses(void)
{
    CHECK(refuses("C=US,ST=WA,O=#0403616263", PG_ERR_PARSE, "\"=#\""));
    CHECK(refuses("CN=Bad=#CN,C=US,ST=WA,O=x", PG_ERR_PARSE, "\"=#\""));
    CHECK(refuses("C=US+ST=WA,O=x", PG_ERR_PARSE, "multi-valued RDN"));
    CHECK(refuses("C=US,ST=WA,O=x,OU=a,OU=b", PG_ERR_PARSE, "repeats the attribute type \"OU\""));
    CHECK(refuses("C=US,ST=WA,S=OR,O=x", PG_ERR_PARSE, "repeats the attribute type \"ST\""));
    CHECK(refuses("ST=WA,O=x", PG_ERR_PARSE, "mandatory attribute \"C\""));
    CHECK(refuses("C=US,O=x", PG_ERR_PARSE, "mandatory attribute \"ST\""));
    CHECK(refuses("C=US,ST=WA", PG_ERR_PARSE, "mandatory attribute \"O\""));
    CHECK(refuses("C=US,ST=WA,O=", PG_ERR_PARSE, "mandatory attribute \"O\""));
    CHECK(refuses("c=US,ST=WA,O=x", PG_ERR_PARSE, "mandatory attribute \"C\""));
    CHECK(refuses("", PG_ERR_PARSE, "mandatory attribute \"C\""));
    CHECK(refuses("   ", PG_ERR_PARSE, "mandatory attribute \"C\""));
}

static void syntax_errors_are_refused(void)
{
    CHECK(refuses("C=US,,ST=WA,O=x", PG_ERR_PARSE, "incomplete type=value pair"));
    CHECK(refuses("C=US,ST=WA,O=x,", PG_ERR_PARSE, "incomplete type=value pair"));
    CHECK(refuses("C=US,ST=WA,O", PG_ERR_PARSE, "incomplete type=value pair"));
    CHECK(refuses("C=US,ST=WA,O=x\\", PG_ERR_PARSE, "unfinished escape"));
    CHECK(refuses("C=US,ST=WA,O=x\\zz", PG_ERR_PARSE, "two hex digits"));
    CHECK(refuses("C=US,ST=WA,O=x\\4", PG_ERR_PARSE, "two hex digits"));
    CHECK(refuses("C=US,ST=WA,O=x\\\xc3\xa9", PG_ERR_PARSE, "two hex digits"));
    CHECK(refuses("\\00=x,C=US,ST=WA,O=x", PG_ERR_PARSE, "NUL byte"));
}

static void a_repeat_after_an_empty_value_is_accepted(void)
{
    struct pg_dn dn = {NULL, 0};

    /* notation only refuses a repeated type when the earlier value was non-empty */
    REQUIRE(parses("C=,C=US,ST=WA,O=x", &dn));
    CHECK(VALUE_IS(&dn, "C", "US") && dn.n == 3);
    pg_dn_clear(&dn);
}

static void attribute_count_is_bounded(void)
{
    char s[2048];
    size_t off = (size_t)snprintf(s, sizeof(s), "C=US,ST=WA,O=x");
    int i;

    for (i = 0; i < PG_DN_MAX_ATTRS; i++) {
        off += (size_t)snprintf(s + off, sizeof(s) - off, ",T%d=v", i);
    }
    CHECK(refuses(s, PG_ERR_LIMIT, "more attributes"));
}

static void subset_compares_bytes_and_treats_missing_as_empty(void)
{
    struct pg_dn small = {NULL, 0};
    struct pg_dn big = {NULL, 0};
    struct pg_dn other = {NULL, 0};
    struct pg_dn empty_l = {NULL, 0};

    REQUIRE(parses("C=US,ST=WA,O=x", &small));
    REQUIRE(parses("CN=n,C=US,ST=WA,O=x,L=Seattle", &big));
    REQUIRE(parses("C=US,ST=WA,O=X", &other));
    REQUIRE(parses("C=US,ST=WA,O=x,L=", &empty_l));
    CHECK(pg_dn_is_subset(&small, &big));
    CHECK(!pg_dn_is_subset(&big, &small));
    CHECK(!pg_dn_is_subset(&other, &big));
    CHECK(pg_dn_is_subset(&small, &small));
    /* "L=" in the identity matches a subject without L, as a Go map lookup does */
    CHECK(pg_dn_is_subset(&empty_l, &small));
    CHECK(!pg_dn_is_subset(&empty_l, &big));
    pg_dn_clear(&small);
    pg_dn_clear(&big);
    pg_dn_clear(&other);
    pg_dn_clear(&empty_l);
}

static X509 *load_cert(const char *rel)
{
    char *path = pg_check_vector(rel);
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

    if (f != NULL) {
        fclose(f);
    }
    pg_free(path);
    return x;
}

static int subject_text_is(X509 *x, const char *want, size_t want_len)
{
    char *text = NULL;
    size_t len = 0;
    struct pg_err err;
    int ok;

    pg_err_init(&err);
    if (pg_dn_cert_subject_text(x, &text, &len, &err) != PG_OK) {
        fprintf(stderr, "    rendering failed: %s\n", err.msg);
        return 0;
    }
    ok = len == want_len && memcmp(text, want, len) == 0;
    if (!ok) {
        fprintf(stderr, "    rendered \"%.*s\"\n", (int)len, text);
    }
    pg_free(text);
    return ok;
}

#define TEXT_IS(x, lit) subject_text_is((x), (lit), sizeof(lit) - 1)

static void vector_certificate_subject_renders_as_go(void)
{
    X509 *x = load_cert("notation-go/verifier/testdata/verifier/signing-cert.pem");
    struct pg_dn dn = {NULL, 0};
    struct pg_err err;

    REQUIRE(x != NULL);
    CHECK(TEXT_IS(x, "CN=SomeCN,OU=SomeOU,O=SomeOrg,L=Seattle,ST=WA,C=US"));
    pg_err_init(&err);
    REQUIRE(pg_dn_from_cert(x, &dn, &err) == PG_OK);
    CHECK(dn.n == 6 && VALUE_IS(&dn, "OU", "SomeOU") && VALUE_IS(&dn, "L", "Seattle"));
    pg_dn_clear(&dn);
    X509_free(x);
}

static void bad_cert_subject_is_unmatchable(void)
{
    X509 *x = load_cert("notation-go/verifier/testdata/verifier/bad-cert.pem");
    struct pg_dn dn = {NULL, 0};
    struct pg_err err;

    REQUIRE(x != NULL);
    pg_err_init(&err);
    CHECK(pg_dn_from_cert(x, &dn, &err) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, "certificate subject") != NULL && strstr(err.msg, "=#") != NULL);
    CHECK(dn.attrs == NULL);
    X509_free(x);
}

/* A certificate whose subject holds the given entries; set -1 starts a new RDN, 0 joins. */
struct entry {
    int nid;
    int type; /* MBSTRING_ASC or a V_ASN1_* string type with raw bytes */
    const char *bytes;
    int len;
    int join;
};

static X509 *make_cert(const struct entry *e, size_t n)
{
    X509 *x = X509_new();
    /* entries go straight into the certificate's own name: no re-encoding */
    X509_NAME *name = x != NULL ? X509_get_subject_name(x) : NULL;
    size_t i;
    int ok = name != NULL;

    for (i = 0; i < n && ok; i++) {
        ok =
            X509_NAME_add_entry_by_NID(name, e[i].nid, e[i].type, (const unsigned char *)e[i].bytes,
                                       e[i].len, -1, e[i].join ? -1 : 0) == 1;
    }
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

#define ASC(nid, s)                                                                                \
    {                                                                                              \
        (nid), MBSTRING_ASC, (s), -1, 0                                                            \
    }
#define BASE ASC(NID_countryName, "US"), ASC(NID_stateOrProvinceName, "WA")

static enum pg_status cert_dn(const struct entry *e, size_t n, struct pg_dn *dn, struct pg_err *err)
{
    X509 *x = make_cert(e, n);
    enum pg_status rc;

    pg_err_init(err);
    rc = x != NULL ? pg_dn_from_cert(x, dn, err) : PG_ERR_INTERNAL;
    X509_free(x);
    return rc;
}

static void unnamed_attribute_makes_subject_unmatchable(void)
{
    const struct entry e[] = {BASE,
                              ASC(NID_organizationName, "Acme"),
                              {NID_pkcs9_emailAddress, MBSTRING_ASC, "a@b.c", -1, 0}};
    X509 *x = make_cert(e, 4);
    struct pg_dn dn = {NULL, 0};
    struct pg_err err;

    REQUIRE(x != NULL);
    /* Go re-encodes the value: '@' is not printable, so a UTF8String */
    CHECK(TEXT_IS(x, "O=Acme,ST=WA,C=US,1.2.840.113549.1.9.1=#0c056140622e63"));
    pg_err_init(&err);
    CHECK(pg_dn_from_cert(x, &dn, &err) == PG_ERR_PARSE && strstr(err.msg, "=#") != NULL);
    X509_free(x);
}

static void repeated_types_make_subject_unmatchable(void)
{
    const struct entry two_ou[] = {BASE, ASC(NID_organizationName, "Acme"),
                                   ASC(NID_organizationalUnitName, "a"),
                                   ASC(NID_organizationalUnitName, "b")};
    struct pg_dn dn = {NULL, 0};
    struct pg_err err;
    X509 *x = make_cert(two_ou, 5);

    REQUIRE(x != NULL);
    CHECK(TEXT_IS(x, "OU=a+OU=b,O=Acme,ST=WA,C=US"));
    X509_free(x);
    CHECK(cert_dn(two_ou, 5, &dn, &err) == PG_ERR_PARSE && strstr(err.msg, "multi-valued") != NULL);
}

static void multi_valued_rdn_in_a_certificate_is_flattened(void)
{
    const struct entry e[] = {
        BASE, ASC(NID_organizationName, "Acme"), {NID_commonName, MBSTRING_ASC, "svc", -1, 1}};
    const struct entry two_cn[] = {BASE, ASC(NID_organizationName, "Acme"),
                                   ASC(NID_commonName, "first"), ASC(NID_commonName, "last")};
    struct pg_dn dn = {NULL, 0};
    struct pg_err err;

    REQUIRE(cert_dn(e, 4, &dn, &err) == PG_OK);
    CHECK(VALUE_IS(&dn, "CN", "svc") && VALUE_IS(&dn, "O", "Acme"));
    pg_dn_clear(&dn);
    /* Go keeps only the last common name */
    REQUIRE(cert_dn(two_cn, 5, &dn, &err) == PG_OK);
    CHECK(VALUE_IS(&dn, "CN", "last"));
    pg_dn_clear(&dn);
}

static void subject_without_mandatory_attributes_is_unmatchable(void)
{
    const struct entry e[] = {ASC(NID_stateOrProvinceName, "WA"),
                              ASC(NID_organizationName, "Acme")};
    struct pg_dn dn = {NULL, 0};
    struct pg_err err;

    CHECK(cert_dn(e, 2, &dn, &err) == PG_ERR_PARSE && strstr(err.msg, "\"C\"") != NULL);
    CHECK(cert_dn(e, 0, &dn, &err) == PG_ERR_PARSE);
}

static void special_characters_survive_rendering(void)
{
    const struct entry e[] = {BASE, ASC(NID_organizationName, "#a, b+c \"q\" <x>;\\ "),
                              ASC(NID_organizationalUnitName, " lead"),
                              ASC(NID_localityName, "x=#y")};
    const struct entry f[] = {BASE, ASC(NID_organizationName, "#a, b+c \"q\" <x>;\\ "),
                              ASC(NID_organizationalUnitName, " lead")};
    struct pg_dn dn = {NULL, 0};
    struct pg_err err;
    X509 *x = make_cert(f, 4);

    REQUIRE(x != NULL);
    CHECK(TEXT_IS(x, "OU=\\ lead,O=\\#a\\, b\\+c \\\"q\\\" \\<x\\>\\;\\\\\\ ,ST=WA,C=US"));
    X509_free(x);
    REQUIRE(cert_dn(f, 4, &dn, &err) == PG_OK);
    CHECK(VALUE_IS(&dn, "O", "#a, b+c \"q\" <x>;\\ ") && VALUE_IS(&dn, "OU", " lead"));
    pg_dn_clear(&dn);
    /* "=#" inside a value is refused as notation refuses it */
    CHECK(cert_dn(e, 5, &dn, &err) == PG_ERR_PARSE);
}

static void string_types_are_read_as_go_reads_them(void)
{
    /* BMPString "Zürich" with a terminating NUL pair, T61String Latin-1 "Zürich" */
    const struct entry bmp[] = {
        BASE, {NID_organizationName, V_ASN1_BMPSTRING, "\0Z\0\xfc\0r\0i\0c\0h\0\0", 14, 0}};
    const struct entry t61[] = {BASE, {NID_organizationName, V_ASN1_T61STRING, "Z\xfcrich", 6, 0}};
    const struct entry bad_utf8[] = {BASE,
                                     {NID_organizationName, V_ASN1_UTF8STRING, "a\xff", 2, 0}};
    const struct entry bad_printable[] = {
        BASE, {NID_organizationName, V_ASN1_PRINTABLESTRING, "a@b", 3, 0}};
    const struct entry universal[] = {
        BASE, {NID_organizationName, V_ASN1_UNIVERSALSTRING, "\0\0\0a", 4, 0}};
    struct pg_dn dn = {NULL, 0};
    struct pg_err err;

    REQUIRE(cert_dn(bmp, 3, &dn, &err) == PG_OK);
    CHECK(VALUE_IS(&dn, "O", "Z\xc3\xbcrich"));
    pg_dn_clear(&dn);
    REQUIRE(cert_dn(t61, 3, &dn, &err) == PG_OK);
    CHECK(VALUE_IS(&dn, "O", "Z\xc3\xbcrich"));
    pg_dn_clear(&dn);
    CHECK(cert_dn(bad_utf8, 3, &dn, &err) == PG_ERR_PARSE);
    CHECK(cert_dn(bad_printable, 3, &dn, &err) == PG_ERR_PARSE);
    CHECK(cert_dn(universal, 3, &dn, &err) == PG_ERR_PARSE);
}

static void running_out_of_memory_is_an_error(void)
{
    X509 *x = load_cert("notation-go/verifier/testdata/verifier/signing-cert.pem");
    long n;
    int saw_ok = 0;

    REQUIRE(x != NULL);
    for (n = 0; n < 200 && !saw_ok; n++) {
        struct pg_dn a = {NULL, 0};
        struct pg_dn b = {NULL, 0};
        struct pg_err err;
        enum pg_status r1;
        enum pg_status r2;

        pg_err_init(&err);
        pg_mem_fail_after(n);
        r1 = pg_dn_parse("CN=a\\,b,O=x,L=y,ST=WA,S=,C=US", &a, &err);
        r2 = pg_dn_from_cert(x, &b, &err);
        pg_mem_fail_after(-1);
        CHECK(r1 == PG_OK || r1 == PG_ERR_NOMEM || r1 == PG_ERR_PARSE);
        CHECK(r2 == PG_OK || r2 == PG_ERR_NOMEM);
        saw_ok = r2 == PG_OK;
        pg_dn_clear(&a);
        pg_dn_clear(&b);
    }
    CHECK(saw_ok);
    X509_free(x);
}

int main(void)
{
    PG_RUN("a plain DN parses into a map sorted by type", plain_dn_parses_into_a_sorted_map);
    PG_RUN("spaces, separators and the S alias follow go-ldap and notation",
           spaces_and_separators_follow_go_ldap);
    PG_RUN("RFC 4514 escapes are decoded", escapes_are_decoded);
    PG_RUN("=#, multi-valued RDNs, repeated types and missing C/ST/O are refused",
           notation_rules_refuse_what_notation_refuses);
    PG_RUN("syntax errors are refused", syntax_errors_are_refused);
    PG_RUN("a repeated type after an empty value is accepted as notation does",
           a_repeat_after_an_empty_value_is_accepted);
    PG_RUN("the number of attributes is bounded", attribute_count_is_bounded);
    PG_RUN("subset compares bytes and reads a missing type as empty",
           subset_compares_bytes_and_treats_missing_as_empty);
    PG_RUN("the signing-cert.pem subject renders as Go renders it",
           vector_certificate_subject_renders_as_go);
    PG_RUN("the bad-cert.pem subject (CN with =#) cannot be matched",
           bad_cert_subject_is_unmatchable);
    PG_RUN("an attribute Go does not name makes the subject unmatchable",
           unnamed_attribute_makes_subject_unmatchable);
    PG_RUN("a repeated OU makes the subject unmatchable", repeated_types_make_subject_unmatchable);
    PG_RUN("a multi-valued RDN in a certificate is flattened; the last CN wins",
           multi_valued_rdn_in_a_certificate_is_flattened);
    PG_RUN("a subject without C, ST or O is unmatchable",
           subject_without_mandatory_attributes_is_unmatchable);
    PG_RUN("special characters survive rendering and parsing",
           special_characters_survive_rendering);
    PG_RUN("BMP, T61, UTF-8 and PrintableString values are read as Go reads them",
           string_types_are_read_as_go_reads_them);
    PG_RUN("running out of memory is an ordinary error", running_out_of_memory_is_an_error);
    return pg_check_done();
}
