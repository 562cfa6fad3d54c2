/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate chain rules against notation's own certificates and against
 * certificates minted by pg-testsign, good and bad; also checks that
 * pg-testsign's JWS envelopes carry signatures OpenSSL verifies and that its
 * signature manifests have the shape notation writes.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "check.h"
#include "mem.h"
#include "status.h"
#include "x509chain.h"

#define ARGS_MAX 40
#define PATH_SLOTS 8

/* Ends the argument list of run_tool and chain_of. */
#define END ((const char *)NULL)

extern char **environ;

static char *tmp;     /* scratch directory for minted material */
static char *tool;    /* pg-testsign */
static int have_root; /* tmp/root and tmp/int were minted */

/* ------------------------------------------------------------------ helpers */

/* tmp/name, from a small ring of buffers so several fit in one call. */
static const char *at(const char *name)
{
    static char slots[PATH_SLOTS][512];
    static int next;
    char *p = slots[next++ % PATH_SLOTS];

    snprintf(p, sizeof(slots[0]), "%s/%s", tmp, name);
    return p;
}

/* Runs pg-testsign with the NULL-terminated arguments; stdout to out_path if given. */
static int run_tool(const char *out_path, const char *first, ...)
{
    const char *argv[ARGS_MAX + 2];
    posix_spawn_file_actions_t fa;
    va_list ap;
    pid_t pid;
    int status = -1;
    int n = 0;

    argv[n++] = tool;
    va_start(ap, first);
    for (const char *a = first; a != NULL && n < ARGS_MAX; a = va_arg(ap, const char *)) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    if (out_path != NULL) {
        posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    }
    if (posix_spawn(&pid, tool, &fa, NULL, (char *const *)argv, environ) != 0 ||
        waitpid(pid, &status, 0) != pid) {
        status = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* PEM certificates, or one DER certificate. */
static void chain_push_file(STACK_OF(X509) * chain, const char *path)
{
    FILE *f = fopen(path, "rb");
    X509 *cert;
    int n = 0;

    while (f != NULL && (cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        sk_X509_push(chain, cert);
        n++;
    }
    if (f != NULL && n == 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (cert = d2i_X509_fp(f, NULL)) != NULL) {
        sk_X509_push(chain, cert);
    }
    ERR_clear_error();
    if (f != NULL) {
        fclose(f);
    }
}

/* The certificates of the NULL-terminated PEM files, in order. */
static STACK_OF(X509) * chain_of(const char *first, ...)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    va_list ap;

    va_start(ap, first);
    for (const char *p = first; p != NULL; p = va_arg(ap, const char *)) {
        chain_push_file(chain, p);
    }
    va_end(ap);
    return chain;
}

static STACK_OF(X509) * vector_chain(const char *rel)
{
    char *path = pg_check_vector(rel);
    STACK_OF(X509) *chain = path == NULL ? NULL : chain_of(path, END);

    pg_free(path);
    return chain;
}

static void chain_free(STACK_OF(X509) * chain)
{
    sk_X509_pop_free(chain, X509_free);
}

/* Code-signing check of dir/chain.pem; the message lands in err. */
static enum pg_status check_dir(const char *dir, struct pg_err *err)
{
    char path[600];
    STACK_OF(X509) * chain;
    enum pg_status rc;

    snprintf(path, sizeof(path), "%s/chain.pem", dir);
    chain = chain_of(path, END);
    pg_err_init(err);
    rc = sk_X509_num(chain) > 0 ? pg_x509_check_codesigning_chain(chain, err) : PG_ERR_IO;
    if (getenv("PG_TEST_VERBOSE") != NULL && rc != PG_OK) {
        fprintf(stderr, "  %s\n", err->msg);
    }
    chain_free(chain);
    return rc;
}

static int codesigning_ok(const char *dir)
{
    struct pg_err err;

    return check_dir(dir, &err) == PG_OK;
}

static int codesigning_refused(const char *dir)
{
    struct pg_err err;

    return check_dir(dir, &err) == PG_ERR_SIG_INTEGRITY && err.msg[0] != '\0';
}

/* A leaf under tmp/int with extra options; returns its directory. */
static const char *leaf(const char *name, const char *o1, const char *o2, const char *o3,
                        const char *o4)
{
    const char *dir = at(name);

    if (run_tool(NULL, "cert", "--ca", at("int"), "--out", dir, "--subject",
                 "CN=leaf,O=pullgate,ST=WA,C=US", o1, o2, o3, o4, END) != 0) {
        return "/nonexistent";
    }
    return dir;
}

/* ------------------------------------------------------------------ vectors */

static void notation_chains_pass(void)
{
    static const char *const rels[] = {
        "notation-core-go/x509/testdata/openssl-minimum-self-signed.pem",
        "notation/test/e2e/testdata/config/localkeys/e2e.crt",
        "notation/test/e2e/testdata/config/crl/certchain_with_crl.pem",
    };
    size_t i;

    for (i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
        STACK_OF(X509) *chain = vector_chain(rels[i]);
        struct pg_err err;

        pg_err_init(&err);
        REQUIRE(chain != NULL && sk_X509_num(chain) > 0);
        CHECK(pg_x509_check_codesigning_chain(chain, &err) == PG_OK);
        if (err.status != PG_OK) {
            fprintf(stderr, "  %s: %s\n", rels[i], err.msg);
        }
        chain_free(chain);
    }
}

/* The x5c chain of a notation envelope vector. */
static STACK_OF(X509) * envelope_chain(const char *rel)
{
    char *path = pg_check_vector(rel);
    json_t *env = path == NULL ? NULL : json_load_file(path, 0, NULL);
    json_t *x5c = json_object_get(json_object_get(env, "header"), "x5c");
    STACK_OF(X509) *chain = sk_X509_new_null();
    size_t i;

    for (i = 0; i < json_array_size(x5c); i++) {
        const char *b64 = json_string_value(json_array_get(x5c, i));
        unsigned char der[8192];
        const unsigned char *p = der;
        int n = b64 == NULL || strlen(b64) > 10000
                    ? -1
                    : EVP_DecodeBlock(der, (const unsigned char *)b64, (int)strlen(b64));
        X509 *cert = n > 0 ? d2i_X509(NULL, &p, n) : NULL;

        if (cert != NULL) {
            sk_X509_push(chain, cert);
        }
    }
    json_decref(env);
    pg_free(path);
    return chain;
}

static void notation_envelope_chains_pass(void)
{
    STACK_OF(X509) *ca = envelope_chain("notation-go/internal/mock/testdata/ca_valid_sig_env.json");
    STACK_OF(X509) *sa = envelope_chain("notation-go/internal/mock/testdata/sa_valid_sig_env.json");
    enum pg_key_spec spec;
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(sk_X509_num(ca) >= 2 && sk_X509_num(sa) >= 2);
    CHECK(pg_x509_check_codesigning_chain(ca, &err) == PG_OK);
    CHECK(pg_x509_check_codesigning_chain(sa, &err) == PG_OK);
    CHECK(pg_x509_key_spec(sk_X509_value(ca, 0), &spec, &err) == PG_OK);
    CHECK(strcmp(pg_x509_jws_alg(spec), "PS384") == 0);
    if (err.status != PG_OK) {
        fprintf(stderr, "  %s\n", err.msg);
    }
    chain_free(ca);
    chain_free(sa);
}

static STACK_OF(X509) * digicert_tsa_chain(void)
{
    STACK_OF(X509) *chain = vector_chain("notation-core-go/x509/testdata/timestamp_leaf.crt");
    STACK_OF(X509) *b = vector_chain("notation-core-go/x509/testdata/timestamp_intermediate.crt");
    STACK_OF(X509) *c = vector_chain("notation-core-go/x509/testdata/timestamp_root.crt");

    while (b != NULL && sk_X509_num(b) > 0) {
        sk_X509_push(chain, sk_X509_shift(b));
    }
    while (c != NULL && sk_X509_num(c) > 0) {
        sk_X509_push(chain, sk_X509_shift(c));
    }
    chain_free(b);
    chain_free(c);
    return chain;
}

static void digicert_tsa_chain_passes_timestamping_rules(void)
{
    STACK_OF(X509) *chain = digicert_tsa_chain();
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(chain != NULL && sk_X509_num(chain) == 3);
    CHECK(pg_x509_check_timestamping_chain(chain, &err) == PG_OK);
    if (err.status != PG_OK) {
        fprintf(stderr, "  %s\n", err.msg);
    }
    chain_free(chain);
}

static void tsa_chain_is_refused_for_code_signing(void)
{
    STACK_OF(X509) *chain = digicert_tsa_chain();
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(chain != NULL && sk_X509_num(chain) == 3);
    CHECK(pg_x509_check_codesigning_chain(chain, &err) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(err.msg, "timeStamping") != NULL);
    CHECK(strstr(err.msg, "DigiCert Timestamp 2023") != NULL);
    chain_free(chain);
}

static void reordered_vector_chain_is_refused(void)
{
    STACK_OF(X509) *chain =
        vector_chain("notation/test/e2e/testdata/config/crl/certchain_with_crl.pem");
    STACK_OF(X509) *rev = sk_X509_new_null();
    struct pg_err err;
    int i;

    REQUIRE(chain != NULL && sk_X509_num(chain) == 3);
    for (i = 2; i >= 0; i--) {
        sk_X509_push(rev, sk_X509_value(chain, i));
    }
    pg_err_init(&err);
    CHECK(pg_x509_check_codesigning_chain(rev, &err) == PG_ERR_SIG_INTEGRITY);
    sk_X509_free(rev);
    /* the leaf and intermediate alone do not end in a root */
    X509_free(sk_X509_pop(chain));
    pg_err_init(&err);
    CHECK(pg_x509_check_codesigning_chain(chain, &err) == PG_ERR_SIG_INTEGRITY);
    chain_free(chain);
}

static void empty_and_overlong_chains_are_refused(void)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    STACK_OF(X509) *one = vector_chain("notation/test/e2e/testdata/config/localkeys/e2e.crt");
    struct pg_err err;
    int i;

    pg_err_init(&err);
    CHECK(pg_x509_check_codesigning_chain(chain, &err) == PG_ERR_SIG_INTEGRITY);
    pg_err_init(&err);
    CHECK(pg_x509_check_codesigning_chain(NULL, &err) == PG_ERR_SIG_INTEGRITY);
    REQUIRE(one != NULL && sk_X509_num(one) == 1);
    for (i = 0; i <= PG_X509_CHAIN_MAX; i++) {
        sk_X509_push(chain, sk_X509_value(one, 0));
    }
    pg_err_init(&err);
    CHECK(pg_x509_check_codesigning_chain(chain, &err) == PG_ERR_SIG_INTEGRITY);
    sk_X509_free(chain);
    chain_free(one);
}

/* ------------------------------------------------------------------ minted chains */

static void mint_root_and_intermediate(void)
{
    REQUIRE(run_tool(NULL, "ca", "--out", at("root"), "--subject",
                     "CN=test root,O=pullgate,ST=WA,C=US", END) == 0);
    REQUIRE(run_tool(NULL, "cert", "--ca", at("root"), "--out", at("int"), "--ca-cert", "--key",
                     "ec384", "--subject", "CN=test int,O=pullgate,ST=WA,C=US", END) == 0);
    have_root = 1;
    CHECK(codesigning_refused(at("root")));
}

static void good_three_cert_chain_passes(void)
{
    REQUIRE(have_root);
    CHECK(codesigning_ok(leaf("good", NULL, NULL, NULL, NULL)));
    CHECK(codesigning_ok(leaf("no-bc", "--no-bc", NULL, NULL, NULL)));
    CHECK(codesigning_ok(leaf("nonrep", "--ku", "digitalSignature,nonRepudiation", NULL, NULL)));
    CHECK(codesigning_ok(leaf("no-eku", "--no-eku", NULL, NULL, NULL)));
    CHECK(
        codesigning_ok(leaf("eku-other", "--eku", "codeSigning,1.3.6.1.4.1.99999.1", NULL, NULL)));
}

static void any_extended_key_usage_is_accepted_as_notation_does(void)
{
    REQUIRE(have_root);
    CHECK(codesigning_ok(leaf("eku-any", "--eku", "anyExtendedKeyUsage", NULL, NULL)));
}

static void every_key_spec_passes_with_its_algorithm(void)
{
    static const char *const specs[][2] = {{"ec256", "ES256"},   {"ec384", "ES384"},
                                           {"ec521", "ES512"},   {"rsa2048", "PS256"},
                                           {"rsa3072", "PS384"}, {"rsa4096", "PS512"}};
    size_t i;

    REQUIRE(have_root);
    for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        const char *dir = leaf(specs[i][0], "--key", specs[i][0], NULL, NULL);
        STACK_OF(X509) * chain;
        char path[600];
        enum pg_key_spec spec;
        struct pg_err err;

        snprintf(path, sizeof(path), "%s/cert.pem", dir);
        chain = chain_of(path, END);
        pg_err_init(&err);
        CHECK(codesigning_ok(dir));
        REQUIRE(sk_X509_num(chain) == 1);
        CHECK(pg_x509_key_spec(sk_X509_value(chain, 0), &spec, &err) == PG_OK &&
              strcmp(pg_x509_jws_alg(spec), specs[i][1]) == 0);
        chain_free(chain);
    }
}

static void odd_keys_are_refused(void)
{
    static const char *const specs[] = {"rsa1024", "rsa2304", "secp256k1", "ed25519"};
    size_t i;

    REQUIRE(have_root);
    for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct pg_err err;

        CHECK(check_dir(leaf(specs[i], "--key", specs[i], NULL, NULL), &err) ==
              PG_ERR_SIG_INTEGRITY);
        CHECK(strstr(err.msg, "not accepted") != NULL);
    }
}

static void leaf_key_usage_rules_are_enforced(void)
{
    static const char *const forbidden[] = {"keyEncipherment", "dataEncipherment", "keyAgreement",
                                            "keyCertSign",     "cRLSign",          "encipherOnly",
                                            "decipherOnly"};
    size_t i;

    REQUIRE(have_root);
    CHECK(codesigning_refused(leaf("ku-noncrit", "--ku-noncritical", NULL, NULL, NULL)));
    CHECK(codesigning_refused(leaf("no-ku", "--no-ku", NULL, NULL, NULL)));
    CHECK(codesigning_refused(leaf("ku-nonrep-only", "--ku", "nonRepudiation", NULL, NULL)));
    for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        char list[128];
        struct pg_err err;

        snprintf(list, sizeof(list), "digitalSignature,%s", forbidden[i]);
        CHECK(check_dir(leaf(forbidden[i], "--ku", list, NULL, NULL), &err) ==
              PG_ERR_SIG_INTEGRITY);
        CHECK(strstr(err.msg, forbidden[i]) != NULL);
    }
}

static void forbidden_extended_key_usages_are_refused(void)
{
    static const char *const ekus[] = {"serverAuth", "clientAuth", "emailProtection",
                                       "timeStamping", "OCSPSigning"};
    size_t i;

    REQUIRE(have_root);
    for (i = 0; i < sizeof(ekus) / sizeof(ekus[0]); i++) {
        char list[128];
        struct pg_err err;

        snprintf(list, sizeof(list), "codeSigning,%s", ekus[i]);
        CHECK(check_dir(leaf(ekus[i], "--eku", list, NULL, NULL), &err) == PG_ERR_SIG_INTEGRITY);
        CHECK(strstr(err.msg, ekus[i]) != NULL);
    }
}

static void ca_flag_on_leaf_is_refused(void)
{
    struct pg_err err;

    REQUIRE(have_root);
    CHECK(check_dir(leaf("leaf-ca", "--ca-cert", "--ku", "digitalSignature", NULL), &err) ==
          PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(err.msg, "CN=leaf") != NULL && strstr(err.msg, "CA") != NULL);
}

/* A leaf under a fresh intermediate made with the given options. */
static int leaf_under_int(const char *name, const char *o1, const char *o2, const char *o3)
{
    char idir[64];
    char ldir[64];

    snprintf(idir, sizeof(idir), "%s-int", name);
    snprintf(ldir, sizeof(ldir), "%s-leaf", name);
    if (run_tool(NULL, "cert", "--ca", at("root"), "--out", at(idir), "--ca-cert", "--subject",
                 "CN=bad int,O=pullgate,ST=WA,C=US", o1, o2, o3, END) != 0 ||
        run_tool(NULL, "cert", "--ca", at(idir), "--out", at(ldir), END) != 0) {
        return -1;
    }
    return codesigning_ok(at(ldir)) ? 1 : 0;
}

static void ca_rules_are_enforced(void)
{
    REQUIRE(have_root);
    CHECK(leaf_under_int("ca-nobc", "--no-bc", NULL, NULL) == 0);
    CHECK(leaf_under_int("ca-kunc", "--ku-noncritical", NULL, NULL) == 0);
    CHECK(leaf_under_int("ca-noku", "--no-ku", NULL, NULL) == 0);
    CHECK(leaf_under_int("ca-ku-ds", "--ku", "digitalSignature,cRLSign", NULL) == 0);
    CHECK(leaf_under_int("ca-ok", NULL, NULL, NULL) == 1);
}

static void path_length_constraint_is_enforced(void)
{
    REQUIRE(have_root);
    /* intermediate at position 1 needs pathlen >= 0 */
    CHECK(leaf_under_int("pl-int0", "--pathlen", "0", NULL) == 1);
    /* a root at position 2 needs pathlen >= 1 */
    REQUIRE(run_tool(NULL, "ca", "--out", at("pl-root0"), "--pathlen", "0", END) == 0);
    REQUIRE(run_tool(NULL, "ca", "--out", at("pl-root1"), "--pathlen", "1", END) == 0);
    REQUIRE(run_tool(NULL, "cert", "--ca", at("pl-root0"), "--out", at("pl-i0"), "--ca-cert",
                     END) == 0);
    REQUIRE(run_tool(NULL, "cert", "--ca", at("pl-root1"), "--out", at("pl-i1"), "--ca-cert",
                     END) == 0);
    REQUIRE(run_tool(NULL, "cert", "--ca", at("pl-i0"), "--out", at("pl-l0"), END) == 0);
    REQUIRE(run_tool(NULL, "cert", "--ca", at("pl-i1"), "--out", at("pl-l1"), END) == 0);
    CHECK(codesigning_refused(at("pl-l0")));
    CHECK(codesigning_ok(at("pl-l1")));
}

static void sha1_signatures_are_refused_everywhere(void)
{
    REQUIRE(have_root);
    CHECK(codesigning_refused(leaf("sha1-leaf", "--sha1", NULL, NULL, NULL)));
    REQUIRE(run_tool(NULL, "cert", "--self-signed", "--out", at("sha1-single"), "--sha1", END) ==
            0);
    CHECK(codesigning_refused(at("sha1-single")));
    REQUIRE(run_tool(NULL, "ca", "--out", at("sha1-root"), "--sha1", END) == 0);
    REQUIRE(run_tool(NULL, "cert", "--ca", at("sha1-root"), "--out", at("sha1-rl"), END) == 0);
    CHECK(codesigning_refused(at("sha1-rl")));
    REQUIRE(run_tool(NULL, "cert", "--self-signed", "--out", at("sha512-single"), "--md", "sha512",
                     END) == 0);
    CHECK(codesigning_ok(at("sha512-single")));
}

static void single_certificate_rules(void)
{
    STACK_OF(X509) * chain;
    struct pg_err err;

    REQUIRE(have_root);
    REQUIRE(run_tool(NULL, "cert", "--self-signed", "--out", at("ss"), END) == 0);
    CHECK(codesigning_ok(at("ss")));
    REQUIRE(run_tool(NULL, "cert", "--self-signed", "--out", at("ss-v1"), "--v1", END) == 0);
    CHECK(codesigning_refused(at("ss-v1")));
    /* a leaf issued by a CA, given alone, is not self-signed */
    chain = chain_of(at("good/cert.pem"), END);
    pg_err_init(&err);
    CHECK(pg_x509_check_codesigning_chain(chain, &err) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(err.msg, "self-signed") != NULL);
    chain_free(chain);
}

static void wrong_order_and_extra_certificates_are_refused(void)
{
    STACK_OF(X509) * c;
    struct pg_err err;

    REQUIRE(have_root);
    c = chain_of(at("good/cert.pem"), at("root/cert.pem"), at("int/cert.pem"), END);
    pg_err_init(&err);
    CHECK(pg_x509_check_codesigning_chain(c, &err) == PG_ERR_SIG_INTEGRITY);
    chain_free(c);
    c = chain_of(at("good/chain.pem"), at("root/cert.pem"), END);
    pg_err_init(&err);
    CHECK(pg_x509_check_codesigning_chain(c, &err) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(err.msg, "test root") != NULL);
    chain_free(c);
    /* a leaf of another intermediate placed above this root */
    c = chain_of(at("good/cert.pem"), at("pl-i1/cert.pem"), at("pl-root1/cert.pem"), END);
    pg_err_init(&err);
    CHECK(pg_x509_check_codesigning_chain(c, &err) == PG_ERR_SIG_INTEGRITY);
    chain_free(c);
    /* a self-signed leaf followed by a root */
    c = chain_of(at("ss/cert.pem"), at("root/cert.pem"), END);
    pg_err_init(&err);
    CHECK(pg_x509_check_codesigning_chain(c, &err) == PG_ERR_SIG_INTEGRITY);
    chain_free(c);
}

static void root_that_is_not_a_ca_is_refused(void)
{
    REQUIRE(run_tool(NULL, "cert", "--self-signed", "--out", at("nonca-root"), "--ku",
                     "digitalSignature,keyCertSign", END) == 0);
    REQUIRE(run_tool(NULL, "cert", "--ca", at("nonca-root"), "--out", at("nonca-leaf"), END) == 0);
    CHECK(codesigning_refused(at("nonca-leaf")));
}

static X509 *first_cert(const char *path)
{
    STACK_OF(X509) *c = chain_of(path, END);
    X509 *cert = sk_X509_num(c) > 0 ? sk_X509_shift(c) : NULL;

    chain_free(c);
    return cert;
}

static void validity_is_checked_only_by_valid_at(void)
{
    X509 *expired;
    X509 *future;
    X509 *fixed;

    REQUIRE(have_root);
    CHECK(codesigning_ok(leaf("expired", "--not-before", "-10d", "--not-after", "-1d")));
    CHECK(codesigning_ok(leaf("future", "--not-before", "+1d", "--days", "30")));
    CHECK(codesigning_ok(leaf("fixed", "--not-before", "2030-01-01T00:00:00Z", "--not-after",
                              "2030-01-02T00:00:00Z")));
    expired = first_cert(at("expired/cert.pem"));
    future = first_cert(at("future/cert.pem"));
    fixed = first_cert(at("fixed/cert.pem"));
    REQUIRE(expired != NULL && future != NULL && fixed != NULL);
    CHECK(!pg_x509_valid_at(expired, time(NULL)));
    CHECK(pg_x509_valid_at(expired, time(NULL) - 5 * 86400));
    CHECK(!pg_x509_valid_at(future, time(NULL)));
    CHECK(pg_x509_valid_at(fixed, 1893456000)); /* 2030-01-01T00:00:00Z, inclusive */
    CHECK(pg_x509_valid_at(fixed, 1893542400)); /* 2030-01-02T00:00:00Z, inclusive */
    CHECK(!pg_x509_valid_at(fixed, 1893456000 - 1));
    CHECK(!pg_x509_valid_at(fixed, 1893542400 + 1));
    CHECK(!pg_x509_valid_at(NULL, 0));
    X509_free(expired);
    X509_free(future);
    X509_free(fixed);
}

static int tsa_leaf_ok(const char *name, const char *o1, const char *o2, const char *o3,
                       const char *o4, const char *o5)
{
    char path[600];
    STACK_OF(X509) * chain;
    struct pg_err err;
    int ok;

    if (run_tool(NULL, "cert", "--ca", at("int"), "--out", at(name), "--subject",
                 "CN=tsa,O=pullgate,ST=WA,C=US", o1, o2, o3, o4, o5, END) != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/chain.pem", at(name));
    chain = chain_of(path, END);
    pg_err_init(&err);
    ok = pg_x509_check_timestamping_chain(chain, &err) == PG_OK;
    if (!ok) {
        CHECK(err.status == PG_ERR_SIG_TIMESTAMP && strstr(err.msg, "timestamping") != NULL);
    }
    chain_free(chain);
    return ok;
}

static void timestamping_leaf_rules_are_enforced(void)
{
    REQUIRE(have_root);
    CHECK(tsa_leaf_ok("tsa-ok", "--eku", "timeStamping", "--eku-critical", NULL, NULL) == 1);
    CHECK(codesigning_refused(at("tsa-ok")));
    /* notation does not ask a TSA leaf for a critical key usage */
    CHECK(tsa_leaf_ok("tsa-kunc", "--eku", "timeStamping", "--eku-critical", "--ku-noncritical",
                      NULL) == 1);
    CHECK(tsa_leaf_ok("tsa-noncrit", "--eku", "timeStamping", NULL, NULL, NULL) == 0);
    CHECK(tsa_leaf_ok("tsa-two", "--eku", "timeStamping,codeSigning", "--eku-critical", NULL,
                      NULL) == 0);
    CHECK(tsa_leaf_ok("tsa-noeku", "--no-eku", NULL, NULL, NULL, NULL) == 0);
    CHECK(tsa_leaf_ok("tsa-noku", "--eku", "timeStamping", "--eku-critical", "--no-ku", NULL) == 0);
    CHECK(tsa_leaf_ok("tsa-kuenc", "--eku", "timeStamping", "--eku-critical", "--ku",
                      "digitalSignature,keyEncipherment") == 0);
    CHECK(tsa_leaf_ok("tsa-ca", "--eku", "timeStamping", "--eku-critical", "--ca-cert", NULL) == 0);
    CHECK(tsa_leaf_ok("tsa-rsa1024", "--eku", "timeStamping", "--eku-critical", "--key",
                      "rsa1024") == 0);
    CHECK(tsa_leaf_ok("tsa-codesign", NULL, NULL, NULL, NULL, NULL) == 0);
}

/* ------------------------------------------------------------------ JWS from pg-testsign */

static unsigned char *b64url_decode(const char *s, size_t *out_len)
{
    size_t len = s == NULL ? 0 : strlen(s);
    char *std = pg_malloc(len + 4);
    unsigned char *out = pg_malloc(len + 4);
    size_t i;
    int n;

    if (std == NULL || out == NULL || len == 0) {
        pg_free(std);
        pg_free(out);
        return NULL;
    }
    for (i = 0; i < len; i++) {
        std[i] = s[i] == '-' ? '+' : (s[i] == '_' ? '/' : s[i]);
    }
    while (i % 4 != 0) {
        std[i++] = '=';
    }
    n = EVP_DecodeBlock(out, (unsigned char *)std, (int)i);
    *out_len = n < 0 ? 0 : (size_t)n - (len % 4 == 2 ? 2 : (len % 4 == 3 ? 1 : 0));
    pg_free(std);
    if (n < 0) {
        pg_free(out);
        return NULL;
    }
    return out;
}

/* DER ECDSA signature from raw r||s. */
static unsigned char *raw_to_der(const unsigned char *raw, size_t len, int *out_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL);
    BIGNUM *s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
    unsigned char *der = NULL;

    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s)) {
        r = s = NULL;
        *out_len = i2d_ECDSA_SIG(sig, &der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return der;
}

/* Verifies the JWS signature of env with OpenSSL alone; 1 when it verifies. */
static int jws_verifies(json_t *env, X509 *leaf_cert, const char *alg)
{
    const char *prot = json_string_value(json_object_get(env, "protected"));
    const char *pay = json_string_value(json_object_get(env, "payload"));
    size_t sig_len = 0;
    unsigned char *sig =
        b64url_decode(json_string_value(json_object_get(env, "signature")), &sig_len);
    char *input = prot && pay ? pg_asprintf("%s.%s", prot, pay) : NULL;
    const char *md = strcmp(alg + 2, "256") == 0
                         ? "SHA256"
                         : (strcmp(alg + 2, "384") == 0 ? "SHA384" : "SHA512");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    int der_len = 0;
    int ok =
        input != NULL && sig != NULL && ctx != NULL &&
        EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, X509_get0_pubkey(leaf_cert), NULL) == 1;

    if (ok && alg[0] == 'P') {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
        der = ok ? sig : NULL;
        der_len = (int)sig_len;
    } else if (ok) {
        ok = (der = raw_to_der(sig, sig_len, &der_len)) != NULL;
    }
    ok = ok &&
         EVP_DigestVerify(ctx, der, (size_t)der_len, (unsigned char *)input, strlen(input)) == 1;
    if (der != sig) {
        OPENSSL_free(der);
    }
    EVP_MD_CTX_free(ctx);
    pg_free(sig);
    pg_free(input);
    ERR_clear_error();
    return ok;
}

static json_t *decoded_member(json_t *env, const char *name)
{
    size_t len = 0;
    unsigned char *raw = b64url_decode(json_string_value(json_object_get(env, name)), &len);
    json_t *j = raw == NULL ? NULL : json_loadb((char *)raw, len, 0, NULL);

    pg_free(raw);
    return j;
}

static const char target_digest[] =
    "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";

/* Signs with dir's key and chain; returns the parsed envelope. */
static json_t *sign_with(const char *dir, const char *out, const char *o1, const char *o2,
                         const char *o3, const char *o4)
{
    char key[600];
    char chain[600];

    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(chain, sizeof(chain), "%s/chain.pem", dir);
    if (run_tool(NULL, "sign", "--key", key, "--chain", chain, "--target-media-type",
                 "application/vnd.oci.image.manifest.v1+json", "--target-digest", target_digest,
                 "--target-size", "517", "--out", out, o1, o2, o3, o4, END) != 0) {
        return NULL;
    }
    return json_load_file(out, 0, NULL);
}

static void jws_from_testsign_verifies_for_every_key_spec(void)
{
    static const char *const specs[] = {"ec256", "ec384", "ec521", "rsa2048", "rsa3072", "rsa4096"};
    size_t i;

    REQUIRE(have_root);
    for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        json_t *env = sign_with(at(specs[i]), at("env.json"), NULL, NULL, NULL, NULL);
        json_t *prot = decoded_member(env, "protected");
        json_t *pay = decoded_member(env, "payload");
        const char *alg = json_string_value(json_object_get(prot, "alg"));
        X509 *cert;
        char path[600];
        enum pg_key_spec spec;
        struct pg_err err;

        snprintf(path, sizeof(path), "%s/cert.pem", at(specs[i]));
        cert = first_cert(path);
        pg_err_init(&err);
        REQUIRE(env != NULL && prot != NULL && pay != NULL && alg != NULL && cert != NULL);
        CHECK(pg_x509_key_spec(cert, &spec, &err) == PG_OK &&
              strcmp(alg, pg_x509_jws_alg(spec)) == 0);
        CHECK(jws_verifies(env, cert, alg));
        CHECK(json_array_size(json_object_get(json_object_get(env, "header"), "x5c")) == 3);
        CHECK(strcmp(json_string_value(json_object_get(prot, "cty")),
                     "application/vnd.cncf.notary.payload.v1+json") == 0);
        CHECK(strcmp(json_string_value(
                         json_object_get(json_object_get(pay, "targetArtifact"), "digest")),
                     target_digest) == 0);
        /* the check can fail: a changed payload no longer verifies */
        json_object_set_new(env, "payload", json_string("eyJ4IjoxfQ"));
        CHECK(!jws_verifies(env, cert, alg));
        json_decref(env);
        json_decref(prot);
        json_decref(pay);
        X509_free(cert);
    }
}

static int crit_has(json_t *prot, const char *name)
{
    json_t *crit = json_object_get(prot, "crit");
    size_t i;

    for (i = 0; i < json_array_size(crit); i++) {
        if (strcmp(json_string_value(json_array_get(crit, i)), name) == 0) {
            return 1;
        }
    }
    return 0;
}

static void aws_shaped_signature_has_the_expected_form(void)
{
    static const char profile[] =
        "com.amazonaws.signer.signingProfileVersion=arn:aws:signer:us-west-2:000000000000:"
        "/signing-profiles/NotaryPluginIntegProfile/OF8IVUsPJq";
    json_t *env;
    json_t *prot;
    X509 *cert;

    REQUIRE(have_root);
    REQUIRE(run_tool(NULL, "cert", "--ca", at("int"), "--out", at("aws-reg"), "--ca-cert", "--key",
                     "ec384", "--subject",
                     "CN=AWS Signer us-west-2 Code Signing CA G1,"
                     "OU=Cryptography,O=AWS,ST=WA,C=US",
                     END) == 0);
    REQUIRE(run_tool(NULL, "cert", "--ca", at("aws-reg"), "--out", at("aws-leaf"), "--key", "ec384",
                     "--days", "3", "--subject",
                     "CN=AWS Signer,OU=AWS Cryptography,O=AWS,L=Seattle,ST=WA,C=US", END) == 0);
    CHECK(codesigning_ok(at("aws-leaf")));
    env = sign_with(at("aws-leaf"), at("aws.json"), "--scheme", "sa", "--attr", profile);
    REQUIRE(env != NULL);
    json_decref(env);
    REQUIRE(
        run_tool(NULL, "sign", "--key", at("aws-leaf/key.pem"), "--chain", at("aws-leaf/chain.pem"),
                 "--target-media-type", "application/x", "--target-digest", target_digest,
                 "--target-size", "1", "--scheme", "sa", "--attr",
                 "io.cncf.notary.verificationPlugin=com.amazonaws.signer.notation.plugin", "--crit",
                 "io.cncf.notary.verificationPlugin", "--attr", profile, "--crit",
                 "com.amazonaws.signer.signingProfileVersion", "--attr",
                 "com.amazonaws.signer.signingJob=arn:aws:signer:us-west-2:000000000000:"
                 "/signing-jobs/97af3947-e7b2-4533-8d9d-6741156f0b79",
                 "--crit", "com.amazonaws.signer.signingJob", "--out", at("aws.json"), END) == 0);
    env = json_load_file(at("aws.json"), 0, NULL);
    prot = decoded_member(env, "protected");
    cert = first_cert(at("aws-leaf/cert.pem"));
    REQUIRE(env != NULL && prot != NULL && cert != NULL);
    CHECK(strcmp(json_string_value(json_object_get(prot, "alg")), "ES384") == 0);
    CHECK(jws_verifies(env, cert, "ES384"));
    CHECK(json_array_size(json_object_get(json_object_get(env, "header"), "x5c")) == 4);
    CHECK(strcmp(json_string_value(json_object_get(prot, "io.cncf.notary.signingScheme")),
                 "notary.x509.signingAuthority") == 0);
    CHECK(json_object_get(prot, "io.cncf.notary.signingTime") == NULL);
    CHECK(json_object_get(prot, "io.cncf.notary.authenticSigningTime") != NULL);
    CHECK(crit_has(prot, "io.cncf.notary.authenticSigningTime") &&
          crit_has(prot, "io.cncf.notary.expiry") &&
          crit_has(prot, "io.cncf.notary.signingScheme") &&
          crit_has(prot, "com.amazonaws.signer.signingJob"));
    json_decref(env);
    json_decref(prot);
    X509_free(cert);
}

static void signature_manifest_has_the_notation_shape(void)
{
    unsigned char *env = NULL;
    unsigned char *printed = NULL;
    unsigned char *text = NULL;
    size_t env_len = 0;
    size_t len = 0;
    unsigned char md[32];
    char hex[65];
    char expect[128];
    json_t *m;
    int i;

    REQUIRE(have_root);
    m = sign_with(at("ec256"), at("m-env.json"), NULL, NULL, NULL, NULL);
    REQUIRE(m != NULL);
    json_decref(m);
    REQUIRE(run_tool(at("m-out.txt"), "manifest", "--envelope", at("m-env.json"),
                     "--subject-media-type", "application/vnd.oci.image.manifest.v1+json",
                     "--subject-digest", target_digest, "--subject-size", "517", "--out",
                     at("m.json"), END) == 0);
    env = pg_check_read_file(at("m-env.json"), &env_len);
    text = pg_check_read_file(at("m.json"), &len);
    printed = pg_check_read_file(at("m-out.txt"), &len);
    REQUIRE(env != NULL && text != NULL && printed != NULL);
    SHA256(text, strlen((char *)text), md);
    for (i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    snprintf(expect, sizeof(expect), "sha256:%s %zu\n", hex, strlen((char *)text));
    CHECK(strcmp((char *)printed, expect) == 0);
    m = json_loads((char *)text, 0, NULL);
    REQUIRE(m != NULL);
    CHECK(json_object_get(m, "artifactType") == NULL);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(m, "config"), "mediaType")),
                 "application/vnd.cncf.notary.signature") == 0);
    CHECK(json_integer_value(json_object_get(json_array_get(json_object_get(m, "layers"), 0),
                                             "size")) == (json_int_t)env_len);
    CHECK(strstr(json_string_value(json_object_get(json_object_get(m, "annotations"),
                                                   "io.cncf.notary.x509chain.thumbprint#S256")),
                 "[\"") != NULL);
    json_decref(m);
    REQUIRE(run_tool(at("m-out.txt"), "manifest", "--envelope", at("m-env.json"),
                     "--subject-media-type", "application/vnd.oci.image.manifest.v1+json",
                     "--subject-digest", target_digest, "--subject-size", "517", "--form",
                     "artifact", "--out", at("m2.json"), END) == 0);
    m = json_load_file(at("m2.json"), 0, NULL);
    CHECK(strcmp(json_string_value(json_object_get(m, "artifactType")),
                 "application/vnd.cncf.notary.signature") == 0);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(m, "config"), "mediaType")),
                 "application/vnd.oci.empty.v1+json") == 0);
    json_decref(m);
    pg_free(env);
    pg_free(text);
    pg_free(printed);
}

int main(void)
{
    const char *build = getenv("PG_BUILD_DIR");

    tmp = pg_check_tmpdir();
    tool = pg_asprintf("%s/tests/pg-testsign", build != NULL ? build : ".");
    if (tmp == NULL || tool == NULL || access(tool, X_OK) != 0) {
        fprintf(stderr, "needs PG_BUILD_DIR with tests/pg-testsign and a temporary directory\n");
        return 1;
    }
    PG_RUN("notation's own signing chains pass", notation_chains_pass);
    PG_RUN("chains of notation envelope vectors pass", notation_envelope_chains_pass);
    PG_RUN("the DigiCert TSA chain passes the timestamping rules",
           digicert_tsa_chain_passes_timestamping_rules);
    PG_RUN("a TSA chain is refused for code signing", tsa_chain_is_refused_for_code_signing);
    PG_RUN("a reordered or rootless chain is refused", reordered_vector_chain_is_refused);
    PG_RUN("empty and overlong chains are refused", empty_and_overlong_chains_are_refused);
    PG_RUN("a CA root alone is refused as a signing chain", mint_root_and_intermediate);
    PG_RUN("good minted chains pass", good_three_cert_chain_passes);
    PG_RUN("anyExtendedKeyUsage on a leaf is accepted as notation does",
           any_extended_key_usage_is_accepted_as_notation_does);
    PG_RUN("each of the six key specs passes and names its algorithm",
           every_key_spec_passes_with_its_algorithm);
    PG_RUN("rsa1024, rsa2304, secp256k1 and ed25519 leaves are refused", odd_keys_are_refused);
    PG_RUN("leaf key usage rules are enforced", leaf_key_usage_rules_are_enforced);
    PG_RUN("forbidden extended key usages are refused", forbidden_extended_key_usages_are_refused);
    PG_RUN("a CA flag on the leaf is refused", ca_flag_on_leaf_is_refused);
    PG_RUN("CA basic constraints and key usage rules are enforced", ca_rules_are_enforced);
    PG_RUN("the path length constraint is enforced", path_length_constraint_is_enforced);
    PG_RUN("SHA-1 signatures are refused anywhere in the chain",
           sha1_signatures_are_refused_everywhere);
    PG_RUN("a single certificate must be a self-signed v3 leaf", single_certificate_rules);
    PG_RUN("wrong order and extra certificates are refused",
           wrong_order_and_extra_certificates_are_refused);
    PG_RUN("a root that is not a CA is refused", root_that_is_not_a_ca_is_refused);
    PG_RUN("validity is left to pg_x509_valid_at, inclusive at both ends",
           validity_is_checked_only_by_valid_at);
    PG_RUN("timestamping leaf rules are enforced", timestamping_leaf_rules_are_enforced);
    PG_RUN("pg-testsign JWS signatures verify with OpenSSL for every key spec",
           jws_from_testsign_verifies_for_every_key_spec);
    PG_RUN("an AWS-shaped signature has the signingAuthority form",
           aws_shaped_signature_has_the_expected_form);
    PG_RUN("pg-testsign writes notation-shaped signature manifests",
           signature_manifest_has_the_notation_shape);
    pg_check_rmtree(tmp);
    pg_free(tmp);
    pg_free(tool);
    return pg_check_done();
}
