/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loaded trust configuration: the policy and every store it names,
 * store failures kept for verification time, generations and references.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "mem.h"
#include "trust.h"

#define NG_TRUSTSTORE "notation-go/verifier/testdata/truststore"

static const char ng_a_policy[] =
    "{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"test-statement-name\","
    "\"registryScopes\":[\"registry.acme-rockets.io/software/net-monitor\"],"
    "\"signatureVerification\":{\"level\":\"strict\"},"
    "\"trustStores\":[\"ca:valid-trust-store\",\"signingAuthority:valid-trust-store\"],"
    "\"trustedIdentities\":[\"x509.subject:CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,"
    "C=US\"]}]}";

static const char broken_stores_policy[] =
    "{\"version\":\"1.0\",\"trustPolicies\":["
    "{\"name\":\"good\",\"registryScopes\":[\"r.io/good\"],"
    "\"signatureVerification\":{\"level\":\"strict\"},"
    "\"trustStores\":[\"ca:valid-trust-store\"],\"trustedIdentities\":[\"*\"]},"
    "{\"name\":\"broken\",\"registryScopes\":[\"*\"],"
    "\"signatureVerification\":{\"level\":\"audit\"},"
    "\"trustStores\":[\"ca:valid-trust-store\",\"ca:trust-store-with-invalid-certs\","
    "\"tsa:no-such-store\"],\"trustedIdentities\":[\"*\"]}]}";

/* A notation directory holding policy and a copy of the notation-go trust stores. */
static char *make_notation_dir(const char *policy)
{
    char *src = pg_check_vector(NG_TRUSTSTORE);
    char *dir = pg_check_tmpdir();
    char *cmd = src != NULL && dir != NULL ? pg_asprintf("cp -R %s %s/truststore", src, dir) : NULL;
    char *path = dir != NULL ? pg_asprintf("%s/trustpolicy.json", dir) : NULL;
    FILE *f = NULL;
    int ok = cmd != NULL && path != NULL && system(cmd) == 0;

    if (ok && policy != NULL) {
        f = fopen(path, "w");
        ok = f != NULL && fputs(policy, f) >= 0;
        ok = f != NULL && fclose(f) == 0 && ok;
    }
    pg_free(src);
    pg_free(cmd);
    pg_free(path);
    if (!ok) {
        pg_check_rmtree(dir);
        pg_free(dir);
        return NULL;
    }
    return dir;
}

static void drop_dir(char *dir)
{
    pg_check_rmtree(dir);
    pg_free(dir);
}

static void ng_a_configuration_loads_with_its_stores(void)
{
    char *dir = make_notation_dir(ng_a_policy);
    struct pg_trust *trust = NULL;
    const STACK_OF(X509) *ca = NULL;
    const STACK_OF(X509) *sa = NULL;
    struct pg_err err;

    REQUIRE(dir != NULL);
    pg_err_init(&err);
    REQUIRE(pg_trust_load(dir, &trust, &err) == PG_OK);
    CHECK(strcmp(pg_trust_dir(trust), dir) == 0);
    CHECK(pg_policy_count(pg_trust_policy(trust)) == 1);
    CHECK(pg_trust_store_certs(trust, PG_STORE_CA, "valid-trust-store", &ca, &err) == PG_OK);
    CHECK(ca != NULL && sk_X509_num(ca) >= 3);
    CHECK(pg_trust_store_certs(trust, PG_STORE_SIGNING_AUTHORITY, "valid-trust-store", &sa, &err) ==
          PG_OK);
    CHECK(sa != NULL && sa != ca);
    CHECK(pg_trust_check_stores(trust, &err) == PG_OK);
    pg_trust_unref(trust);
    drop_dir(dir);
}

static void store_failures_are_kept_for_verification(void)
{
    char *dir = make_notation_dir(broken_stores_policy);
    struct pg_trust *trust = NULL;
    const STACK_OF(X509) *certs = NULL;
    const STACK_OF(X509) *again = NULL;
    struct pg_err err;

    REQUIRE(dir != NULL);
    pg_err_init(&err);
    REQUIRE(pg_trust_load(dir, &trust, &err) == PG_OK);
    CHECK(pg_trust_store_certs(trust, PG_STORE_CA, "valid-trust-store", &certs, &err) == PG_OK);
    pg_err_init(&err);
    CHECK(pg_trust_store_certs(trust, PG_STORE_CA, "trust-store-with-invalid-certs", &again,
                               &err) == PG_ERR_TRUSTSTORE);
    CHECK(again == NULL && strstr(err.msg, "trust-store-with-invalid-certs") != NULL);
    pg_err_init(&err);
    CHECK(pg_trust_store_certs(trust, PG_STORE_TSA, "no-such-store", &again, &err) ==
          PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "no-such-store") != NULL);
    pg_err_init(&err);
    CHECK(pg_trust_check_stores(trust, &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "trust policy statement \"broken\" : ") != NULL);
    CHECK(strstr(err.msg, "trust-store-with-invalid-certs") != NULL);
    pg_trust_unref(trust);
    drop_dir(dir);
}

static void a_store_the_policy_does_not_name_is_refused(void)
{
    char *dir = make_notation_dir(ng_a_policy);
    struct pg_trust *trust = NULL;
    const STACK_OF(X509) *certs = NULL;
    struct pg_err err;

    REQUIRE(dir != NULL);
    pg_err_init(&err);
    REQUIRE(pg_trust_load(dir, &trust, &err) == PG_OK);
    /* present on disk, but presence alone confers nothing */
    CHECK(pg_trust_store_certs(trust, PG_STORE_CA, "valid-trust-store-2", &certs, &err) ==
          PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "not named by the trust policy") != NULL && certs == NULL);
    pg_trust_unref(trust);
    drop_dir(dir);
}

static void missing_or_invalid_policy_fails_the_load(void)
{
    char *dir = make_notation_dir(NULL);
    char *bad = make_notation_dir("{\"version\":\"1.0\",\"trustPolicies\":[]}");
    struct pg_trust *trust = NULL;
    struct pg_err err;

    REQUIRE(dir != NULL && bad != NULL);
    pg_err_init(&err);
    CHECK(pg_trust_load(dir, &trust, &err) == PG_ERR_POLICY_MISSING && trust == NULL);
    pg_err_init(&err);
    CHECK(pg_trust_load(bad, &trust, &err) == PG_ERR_POLICY_INVALID && trust == NULL);
    drop_dir(dir);
    drop_dir(bad);
}

static void every_load_gets_a_new_generation(void)
{
    char *dir = make_notation_dir(ng_a_policy);
    struct pg_trust *a = NULL;
    struct pg_trust *b = NULL;
    struct pg_err err;

    REQUIRE(dir != NULL);
    pg_err_init(&err);
    REQUIRE(pg_trust_load(dir, &a, &err) == PG_OK);
    REQUIRE(pg_trust_load(dir, &b, &err) == PG_OK);
    CHECK(pg_trust_generation(a) != 0 && pg_trust_generation(b) > pg_trust_generation(a));
    pg_trust_unref(a);
    pg_trust_unref(b);
    drop_dir(dir);
}

static void *hammer(void *arg)
{
    struct pg_trust *trust = arg;
    int i;

    for (i = 0; i < 20000; i++) {
        pg_trust_unref(pg_trust_ref(trust));
    }
    pg_trust_unref(trust); /* the reference the starter took for this thread */
    return NULL;
}

static void references_are_counted_across_threads(void)
{
    char *dir = make_notation_dir(ng_a_policy);
    struct pg_trust *trust = NULL;
    pthread_t threads[8];
    struct pg_err err;
    int started = 0;
    int i;

    REQUIRE(dir != NULL);
    pg_err_init(&err);
    REQUIRE(pg_trust_load(dir, &trust, &err) == PG_OK);
    for (i = 0; i < 8; i++) {
        if (pthread_create(&threads[i], NULL, hammer, pg_trust_ref(trust)) == 0) {
            started++;
        } else {
            pg_trust_unref(trust);
        }
    }
    CHECK(started == 8);
    for (i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
    /* still ours: the policy is readable before the last reference goes */
    CHECK(pg_policy_count(pg_trust_policy(trust)) == 1);
    pg_trust_unref(trust);
    pg_trust_unref(NULL);
    CHECK(pg_trust_ref(NULL) == NULL);
    drop_dir(dir);
}

static void running_out_of_memory_is_an_error(void)
{
    char *dir = make_notation_dir(broken_stores_policy);
    long n;
    int saw_ok = 0;

    REQUIRE(dir != NULL);
    for (n = 0; n < 2000 && !saw_ok; n++) {
        struct pg_trust *trust = NULL;
        struct pg_err err;
        enum pg_status rc;

        pg_err_init(&err);
        pg_mem_fail_after(n);
        rc = pg_trust_load(dir, &trust, &err);
        pg_mem_fail_after(-1);
        if (rc != PG_OK && rc != PG_ERR_NOMEM) {
            fprintf(stderr, "    after %ld allocations: %s: %s\n", n, pg_status_name(rc), err.msg);
        }
        CHECK(rc == PG_OK || rc == PG_ERR_NOMEM);
        saw_ok = rc == PG_OK;
        if (saw_ok) {
            /* a store failure must not have been mistaken for, or hidden by, memory */
            CHECK(pg_trust_check_stores(trust, &err) == PG_ERR_TRUSTSTORE);
        }
        pg_trust_unref(trust);
    }
    CHECK(saw_ok);
    drop_dir(dir);
}

int main(void)
{
    PG_RUN("the NG-A configuration loads with both its stores",
           ng_a_configuration_loads_with_its_stores);
    PG_RUN("store failures are kept and reported at verification time",
           store_failures_are_kept_for_verification);
    PG_RUN("a store the policy does not name is refused",
           a_store_the_policy_does_not_name_is_refused);
    PG_RUN("a missing or invalid policy fails the load", missing_or_invalid_policy_fails_the_load);
    PG_RUN("every load gets a new generation", every_load_gets_a_new_generation);
    PG_RUN("references are counted across threads", references_are_counted_across_threads);
    PG_RUN("running out of memory while loading is an ordinary error",
           running_out_of_memory_is_an_error);
    return pg_check_done();
}
