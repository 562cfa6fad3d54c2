/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trusted identities: the notary specification's unit examples on the
 * signing-cert.pem and bad-cert.pem vectors, and policy identities matched
 * against vector certificates.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "identity.h"
#include "mem.h"
#include "policy.h"

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

#define SIGNING_CERT "notation-go/verifier/testdata/verifier/signing-cert.pem"
#define BAD_CERT "notation-go/verifier/testdata/verifier/bad-cert.pem"

/* pg_identity_check with a statement holding the given identities. */
static enum pg_status check_ids(const char *cert, const char *const *ids, size_t n,
                                struct pg_err *err)
{
    struct pg_statement st;
    X509 *x = cert != NULL ? load_cert(cert) : NULL;
    enum pg_status rc;

    memset(&st, 0, sizeof(st));
    st.name = "test-statement";
    st.identities = (char **)ids;
    st.n_identities = n;
    pg_err_init(err);
    rc = cert == NULL || x != NULL ? pg_identity_check(&st, x, err) : PG_ERR_IO;
    X509_free(x);
    return rc;
}

#define CHECK_IDS(cert, err, ...)                                                                  \
    check_ids((cert), (const char *const[]){__VA_ARGS__},                                          \
              sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), (err))

static void subset_identity_matches(void)
{
    struct pg_err err;

    CHECK(CHECK_IDS(SIGNING_CERT, &err, "x509.subject:C=US,O=SomeOrg,ST=WA") == PG_OK);
}

static void extra_plugin_identity_does_not_hurt(void)
{
    struct pg_err err;

    CHECK(CHECK_IDS(SIGNING_CERT, &err, "x509.subject:C=US,O=SomeOrg,ST=WA",
                    "nonX509Prefix:my-custom-identity") == PG_OK);
}

static void other_subject_does_not_match(void)
{
    struct pg_err err;

    CHECK(CHECK_IDS(SIGNING_CERT, &err, "x509.subject:C=IND,O=SomeOrg,ST=TS") ==
          PG_ERR_SIG_IDENTITY);
    CHECK(strstr(err.msg, "\"CN=SomeCN,OU=SomeOU,O=SomeOrg,L=Seattle,ST=WA,C=US\" matches none") !=
          NULL);
}

static void only_plugin_identities_fail(void)
{
    struct pg_err err;

    CHECK(CHECK_IDS(SIGNING_CERT, &err, "nonX509Prefix:my-custom-identity") == PG_ERR_SIG_IDENTITY);
    CHECK(strstr(err.msg, "no x509.subject trusted identities") != NULL);
}

static void hex_value_in_policy_fails(void)
{
    struct pg_err err;

    CHECK(CHECK_IDS(SIGNING_CERT, &err, "x509.subject:C=US,O=#SomeOrg,ST=WA") ==
          PG_ERR_SIG_IDENTITY);
}

static void bad_cert_never_matches_x509_identities(void)
{
    struct pg_err err;

    CHECK(CHECK_IDS(BAD_CERT, &err, "x509.subject:C=US,O=SomeOrg,ST=WA") == PG_ERR_SIG_IDENTITY);
    CHECK(strstr(err.msg, "cannot match") != NULL);
    CHECK(CHECK_IDS(BAD_CERT, &err, "*") == PG_OK);
}

static void wildcard_admits_any_signer(void)
{
    struct pg_err err;

    CHECK(CHECK_IDS(SIGNING_CERT, &err, "*") == PG_OK);
    CHECK(CHECK_IDS(NULL, &err, "*") == PG_OK);
}

static void matching_is_case_sensitive_and_needs_every_attribute(void)
{
    struct pg_err err;

    CHECK(CHECK_IDS(SIGNING_CERT, &err, "x509.subject:C=us,O=SomeOrg,ST=WA") ==
          PG_ERR_SIG_IDENTITY);
    CHECK(CHECK_IDS(SIGNING_CERT, &err, "x509.subject:C=US,O=SomeOrg,ST=WA,OU=Other") ==
          PG_ERR_SIG_IDENTITY);
    CHECK(CHECK_IDS(SIGNING_CERT, &err,
                    "x509.subject:C=US,O=SomeOrg,ST=WA,CN=SomeCN,"
                    "OU=SomeOU,L=Seattle") == PG_OK);
    CHECK(CHECK_IDS(SIGNING_CERT, &err, "x509.subject: C=US , S=WA, O=SomeOrg") == PG_OK);
    /* one matching identity among several is enough */
    CHECK(CHECK_IDS(SIGNING_CERT, &err, "x509.subject:C=US,O=Other,ST=WA",
                    "x509.subject:C=US,O=SomeOrg,ST=WA,L=Seattle") == PG_OK);
}

static void policy_identities_match_vector_certificates(void)
{
    static const char doc[] =
        "{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"e2e\",\"registryScopes\":[\"*\"],"
        "\"signatureVerification\":{\"level\":\"strict\"},\"trustStores\":[\"ca:e2e\"],"
        "\"trustedIdentities\":[\"x509.subject: CN=e2e,O=Notary,L=Seattle,ST=WA,C=US\"]}]}";
    X509 *e2e = load_cert("notation/test/e2e/testdata/config/localkeys/e2e.crt");
    X509 *other = load_cert("notation/test/e2e/testdata/config/localkeys/new_e2e.crt");
    struct pg_policy *p = NULL;
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(e2e != NULL && other != NULL);
    REQUIRE(pg_policy_parse(doc, strlen(doc), &p, &err) == PG_OK);
    CHECK(pg_identity_check(pg_policy_statement(p, 0), e2e, &err) == PG_OK);
    pg_policy_free(p);
    X509_free(e2e);
    X509_free(other);
}

static void running_out_of_memory_is_an_error(void)
{
    long n;
    int saw_ok = 0;

    for (n = 0; n < 200 && !saw_ok; n++) {
        struct pg_err err;
        enum pg_status rc;
        X509 *x = load_cert(SIGNING_CERT);
        struct pg_statement st;
        char *ids[] = {"nonX509Prefix:x", "x509.subject:C=US,O=SomeOrg,ST=WA"};

        REQUIRE(x != NULL);
        memset(&st, 0, sizeof(st));
        st.name = "s";
        st.identities = ids;
        st.n_identities = 2;
        pg_err_init(&err);
        pg_mem_fail_after(n);
        rc = pg_identity_check(&st, x, &err);
        pg_mem_fail_after(-1);
        CHECK(rc == PG_OK || rc == PG_ERR_NOMEM);
        saw_ok = rc == PG_OK;
        X509_free(x);
    }
    CHECK(saw_ok);
}

int main(void)
{
    PG_RUN("x509.subject:C=US,O=SomeOrg,ST=WA matches signing-cert.pem", subset_identity_matches);
    PG_RUN("an extra identity with another prefix still matches",
           extra_plugin_identity_does_not_hurt);
    PG_RUN("x509.subject:C=IND,O=SomeOrg,ST=TS does not match", other_subject_does_not_match);
    PG_RUN("only identities with other prefixes fail", only_plugin_identities_fail);
    PG_RUN("a policy value with =# fails", hex_value_in_policy_fails);
    PG_RUN("bad-cert.pem (CN Bad=#CN) matches no x509.subject identity",
           bad_cert_never_matches_x509_identities);
    PG_RUN("the wildcard identity admits any signer", wildcard_admits_any_signer);
    PG_RUN("matching is case-sensitive and needs every attribute of the identity",
           matching_is_case_sensitive_and_needs_every_attribute);
    PG_RUN("a policy identity matches the e2e vector certificate",
           policy_identities_match_vector_certificates);
    PG_RUN("running out of memory is an ordinary error", running_out_of_memory_is_an_error);
    return pg_check_done();
}
