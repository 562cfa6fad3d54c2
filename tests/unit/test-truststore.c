/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust store loading: notation's own stores and certificate files, and
 * stores built in temporary directories for what git cannot carry (symlinks,
 * sub-directories, special files) or what needs minted certificates.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "check.h"
#include "mem.h"
#include "status.h"
#include "truststore.h"
#include "types.h"

#define VSTORE "notation-go/verifier/testdata"
#define CORE "notation-core-go/x509/testdata/"

/* Ends the argument list of run_tool and chain_of. */
#define END ((const char *)NULL)

extern char **environ;

static char *tmp;  /* a notation directory of our own */
static char *tool; /* pg-testsign */

static const char *at(const char *rel)
{
    static char slots[8][600];
    static int next;
    char *p = slots[next++ % 8];

    snprintf(p, sizeof(slots[0]), "%s/%s", tmp, rel);
    return p;
}

static int run_tool(const char *first, ...)
{
    const char *argv[24];
    va_list ap;
    pid_t pid;
    int status = -1;
    int n = 0;

    argv[n++] = tool;
    va_start(ap, first);
    for (const char *a = first; a != NULL && n < 22; a = va_arg(ap, const char *)) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    if (posix_spawn(&pid, tool, NULL, NULL, (char *const *)argv, environ) != 0 ||
        waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Loads a store of the vector notation directory; *out_n gets the count on success. */
static enum pg_status load_vector(enum pg_store_type type, const char *name, int *out_n,
                                  struct pg_err *err)
{
    char *dir = pg_check_vector(VSTORE);
    STACK_OF(X509) *certs = NULL;
    enum pg_status rc;

    pg_err_init(err);
    rc = pg_truststore_load(dir, type, name, &certs, err);
    *out_n = rc == PG_OK ? sk_X509_num(certs) : -1;
    sk_X509_pop_free(certs, X509_free);
    pg_free(dir);
    return rc;
}

static enum pg_status load_tmp(enum pg_store_type type, const char *name, struct pg_err *err)
{
    STACK_OF(X509) *certs = NULL;
    enum pg_status rc;

    pg_err_init(err);
    rc = pg_truststore_load(tmp, type, name, &certs, err);
    if (rc == PG_OK) {
        CHECK(certs != NULL && sk_X509_num(certs) > 0);
    }
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

static int parse_count(const char *rel, enum pg_status *out_rc)
{
    char *path = pg_check_vector(rel);
    size_t len = 0;
    unsigned char *data = path == NULL ? NULL : pg_check_read_file(path, &len);
    STACK_OF(X509) *certs = NULL;
    struct pg_err err;
    int n = -1;

    pg_err_init(&err);
    *out_rc = data == NULL ? PG_ERR_IO : pg_truststore_parse_file(data, len, &certs, &err);
    if (*out_rc == PG_OK) {
        n = sk_X509_num(certs);
    }
    sk_X509_pop_free(certs, X509_free);
    pg_free(data);
    pg_free(path);
    return n;
}

static int copy_file(const char *from, const char *to)
{
    size_t len = 0;
    unsigned char *data = pg_check_read_file(from, &len);
    FILE *f = data == NULL ? NULL : fopen(to, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;

    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    pg_free(data);
    return ok ? 0 : -1;
}

static int copy_vector(const char *rel, const char *to)
{
    char *from = pg_check_vector(rel);
    int rc = from == NULL ? -1 : copy_file(from, to);

    pg_free(from);
    return rc;
}

static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;

    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : -1;
}

/* tmp/truststore/x509/<type>/<name>, created empty. */
static const char *new_store(const char *type, const char *name)
{
    char rel[256];

    snprintf(rel, sizeof(rel), "truststore/x509/%s/%s", type, name);
    mkdir(at(rel), 0700);
    return at(rel);
}

/* ------------------------------------------------------------------ vector stores */

static void notation_valid_stores_load(void)
{
    struct pg_err err;
    int n = 0;

    CHECK(load_vector(PG_STORE_CA, "valid-trust-store", &n, &err) == PG_OK && n == 6);
    CHECK(load_vector(PG_STORE_CA, "valid-trust-store-2", &n, &err) == PG_OK && n == 2);
    CHECK(load_vector(PG_STORE_CA, "valid-trust-store-self-signed", &n, &err) == PG_OK && n == 1);
    CHECK(load_vector(PG_STORE_SIGNING_AUTHORITY, "valid-trust-store", &n, &err) == PG_OK &&
          n == 3);
    CHECK(load_vector(PG_STORE_SIGNING_AUTHORITY, "valid-trust-store-2", &n, &err) == PG_OK &&
          n == 2);
    CHECK(load_vector(PG_STORE_TSA, "test-timestamp", &n, &err) == PG_OK && n == 1);
    CHECK(load_vector(PG_STORE_TSA, "test-mismatch", &n, &err) == PG_OK && n == 1);
    if (err.status != PG_OK) {
        fprintf(stderr, "  %s\n", err.msg);
    }
}

static void notation_invalid_stores_fail(void)
{
    struct pg_err err;
    int n = 0;

    CHECK(load_vector(PG_STORE_CA, "trust-store-with-invalid-certs", &n, &err) ==
          PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "\"invalid\"") != NULL);
    CHECK(load_vector(PG_STORE_CA, "trust-store-with-leaf-certs", &n, &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "non-ca.crt") != NULL);
    CHECK(load_vector(PG_STORE_CA, "trust-store-with-leaf-certs-in-single-file", &n, &err) ==
          PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "neither a CA certificate nor self-signed") != NULL);
}

static void notation_tsa_stores_need_roots(void)
{
    struct pg_err err;
    int n = 0;

    CHECK(load_vector(PG_STORE_TSA, "test-nonCA", &n, &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "not a CA") != NULL);
    CHECK(load_vector(PG_STORE_TSA, "test-nonSelfIssued", &n, &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "self-issued") != NULL);
    /* the same non-CA self-signed certificate is fine in a ca store */
    CHECK(load_vector(PG_STORE_TSA, "valid-trust-store", &n, &err) == PG_ERR_TRUSTSTORE);
}

static void missing_store_and_bad_names_fail(void)
{
    static const char *const bad[] = {"", ".", "..", "../ca", "a/b", "a b", "é", "x\n"};
    struct pg_err err;
    size_t i;
    int n = 0;

    CHECK(load_vector(PG_STORE_CA, "no-such-store", &n, &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "does not exist") != NULL);
    CHECK(load_vector(PG_STORE_SIGNING_AUTHORITY, "trust-store-with-leaf-certs", &n, &err) ==
          PG_ERR_TRUSTSTORE);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(load_vector(PG_STORE_CA, bad[i], &n, &err) == PG_ERR_TRUSTSTORE);
        CHECK(strstr(err.msg, "must match") != NULL);
    }
    CHECK(load_vector(PG_STORE_CA, "Valid_name-1.0", &n, &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "does not exist") != NULL);
}

/* ------------------------------------------------------------------ certificate files */

static void notation_certificate_files_parse(void)
{
    enum pg_status rc;

    CHECK(parse_count(CORE "der.der", &rc) == 1 && rc == PG_OK);
    CHECK(parse_count(CORE "multi-der.der", &rc) == 2 && rc == PG_OK);
    CHECK(parse_count(CORE "pem.crt", &rc) == 1 && rc == PG_OK);
    CHECK(parse_count(CORE "multi-pem.crt", &rc) == 2 && rc == PG_OK);
    CHECK(parse_count(CORE "invalid", &rc) == -1 && rc == PG_ERR_PARSE);
}

static void malformed_files_are_refused(void)
{
    static const char not_cert[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    static const char bad_b64[] = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    char *path = pg_check_vector(CORE "der.der");
    size_t len = 0;
    unsigned char *der = path == NULL ? NULL : pg_check_read_file(path, &len);
    unsigned char *big = pg_calloc(1, 2 * 1024 * 1024);
    STACK_OF(X509) *certs = NULL;
    struct pg_err err;

    REQUIRE(der != NULL && big != NULL);
    pg_err_init(&err);
    CHECK(pg_truststore_parse_file(der, 0, &certs, &err) == PG_ERR_PARSE);
    pg_err_init(&err);
    CHECK(pg_truststore_parse_file((const unsigned char *)not_cert, strlen(not_cert), &certs,
                                   &err) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, "PRIVATE KEY") != NULL);
    pg_err_init(&err);
    CHECK(pg_truststore_parse_file((const unsigned char *)bad_b64, strlen(bad_b64), &certs, &err) ==
          PG_ERR_PARSE);
    pg_err_init(&err);
    CHECK(pg_truststore_parse_file(der, len - 1, &certs, &err) == PG_ERR_PARSE);
    memcpy(big, der, len);
    pg_err_init(&err);
    CHECK(pg_truststore_parse_file(big, len + 3, &certs, &err) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, "byte") != NULL);
    pg_err_init(&err);
    CHECK(pg_truststore_parse_file(big, 2 * 1024 * 1024, &certs, &err) == PG_ERR_LIMIT);
    CHECK(certs == NULL);
    pg_free(big);
    pg_free(der);
    pg_free(path);
}

/* ------------------------------------------------------------------ stores on disk */

static void make_tmp_layout(void)
{
    static const char *const dirs[] = {"truststore", "truststore/x509", "truststore/x509/ca",
                                       "truststore/x509/signingAuthority", "truststore/x509/tsa"};
    size_t i;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        REQUIRE(mkdir(at(dirs[i]), 0700) == 0);
    }
    REQUIRE(run_tool("ca", "--out", at("root"), END) == 0);
    REQUIRE(run_tool("cert", "--ca", at("root"), "--out", at("int"), "--ca-cert", END) == 0);
    REQUIRE(run_tool("cert", "--ca", at("int"), "--out", at("leaf"), END) == 0);
    REQUIRE(run_tool("cert", "--self-signed", "--out", at("ssleaf"), END) == 0);
    REQUIRE(run_tool("cert", "--self-signed", "--out", at("ssca"), "--ca-cert", "--subject",
                     "CN=issuer,O=pullgate,ST=WA,C=US", END) == 0);
}

static void any_file_name_is_read(void)
{
    struct pg_err err;

    new_store("ca", "names");
    REQUIRE(copy_file(at("root/cert.pem"), at("truststore/x509/ca/names/root.txt")) == 0);
    REQUIRE(copy_file(at("int/cert.pem"), at("truststore/x509/ca/names/noext")) == 0);
    REQUIRE(copy_file(at("ssleaf/cert.pem"), at("truststore/x509/ca/names/.hidden")) == 0);
    CHECK(load_tmp(PG_STORE_CA, "names", &err) == PG_OK);
}

static void symlinks_are_refused(void)
{
    struct pg_err err;

    new_store("ca", "real");
    REQUIRE(copy_file(at("root/cert.pem"), at("truststore/x509/ca/real/root.pem")) == 0);
    CHECK(load_tmp(PG_STORE_CA, "real", &err) == PG_OK);
    REQUIRE(symlink(at("truststore/x509/ca/real"), at("truststore/x509/ca/linked")) == 0);
    CHECK(load_tmp(PG_STORE_CA, "linked", &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "symbolic") != NULL);
    new_store("ca", "filelink");
    REQUIRE(symlink(at("root/cert.pem"), at("truststore/x509/ca/filelink/root.pem")) == 0);
    CHECK(load_tmp(PG_STORE_CA, "filelink", &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "symbolic link") != NULL);
}

static void sub_directories_and_special_files_are_refused(void)
{
    struct pg_err err;

    new_store("ca", "subdir");
    REQUIRE(copy_file(at("root/cert.pem"), at("truststore/x509/ca/subdir/root.pem")) == 0);
    REQUIRE(mkdir(at("truststore/x509/ca/subdir/more"), 0700) == 0);
    CHECK(load_tmp(PG_STORE_CA, "subdir", &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "sub-directory") != NULL);
    new_store("ca", "fifo");
    REQUIRE(mkfifo(at("truststore/x509/ca/fifo/pipe"), 0600) == 0);
    CHECK(load_tmp(PG_STORE_CA, "fifo", &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "special file") != NULL);
    REQUIRE(write_bytes(at("truststore/x509/ca/plainfile"), "x", 1) == 0);
    CHECK(load_tmp(PG_STORE_CA, "plainfile", &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "not a directory") != NULL);
}

static void empty_stores_and_files_fail(void)
{
    struct pg_err err;

    new_store("ca", "empty");
    CHECK(load_tmp(PG_STORE_CA, "empty", &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "no certificates") != NULL);
    new_store("ca", "emptyfile");
    REQUIRE(copy_file(at("root/cert.pem"), at("truststore/x509/ca/emptyfile/root.pem")) == 0);
    REQUIRE(write_bytes(at("truststore/x509/ca/emptyfile/zero.pem"), "", 0) == 0);
    CHECK(load_tmp(PG_STORE_CA, "emptyfile", &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "zero.pem") != NULL);
}

static void oversized_stores_fail(void)
{
    static unsigned char blob[1024 * 1024 + 1];
    struct pg_err err;
    char rel[128];
    int i;

    new_store("ca", "bigfile");
    memset(blob, 'A', sizeof(blob));
    REQUIRE(write_bytes(at("truststore/x509/ca/bigfile/big.pem"), blob, sizeof(blob)) == 0);
    CHECK(load_tmp(PG_STORE_CA, "bigfile", &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "larger than") != NULL);
    new_store("ca", "manyfiles");
    for (i = 0; i < 257; i++) {
        snprintf(rel, sizeof(rel), "truststore/x509/ca/manyfiles/%03d.pem", i);
        REQUIRE(copy_file(at("root/cert.pem"), at(rel)) == 0);
    }
    CHECK(load_tmp(PG_STORE_CA, "manyfiles", &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "more than") != NULL);
}

static void certificate_kinds_per_store_type(void)
{
    struct pg_err err;

    new_store("ca", "leafonly");
    REQUIRE(copy_file(at("leaf/cert.pem"), at("truststore/x509/ca/leafonly/leaf.pem")) == 0);
    CHECK(load_tmp(PG_STORE_CA, "leafonly", &err) == PG_ERR_TRUSTSTORE);
    CHECK(strstr(err.msg, "pg test leaf") != NULL);
    new_store("ca", "intonly");
    REQUIRE(copy_file(at("int/cert.pem"), at("truststore/x509/ca/intonly/int.pem")) == 0);
    CHECK(load_tmp(PG_STORE_CA, "intonly", &err) == PG_OK);
    new_store("tsa", "root");
    REQUIRE(copy_file(at("root/cert.pem"), at("truststore/x509/tsa/root/root.pem")) == 0);
    CHECK(load_tmp(PG_STORE_TSA, "root", &err) == PG_OK);
    new_store("tsa", "int");
    REQUIRE(copy_file(at("int/cert.pem"), at("truststore/x509/tsa/int/int.pem")) == 0);
    CHECK(load_tmp(PG_STORE_TSA, "int", &err) == PG_ERR_TRUSTSTORE);
    new_store("tsa", "ssleaf");
    REQUIRE(copy_file(at("ssleaf/cert.pem"), at("truststore/x509/tsa/ssleaf/l.pem")) == 0);
    CHECK(load_tmp(PG_STORE_TSA, "ssleaf", &err) == PG_ERR_TRUSTSTORE);
    new_store("signingAuthority", "chain");
    REQUIRE(copy_file(at("int/chain.pem"), at("truststore/x509/signingAuthority/chain/c.pem")) ==
            0);
    CHECK(load_tmp(PG_STORE_SIGNING_AUTHORITY, "chain", &err) == PG_OK);
    new_store("ca", "vector-der");
    REQUIRE(copy_vector(CORE "multi-der.der", at("truststore/x509/ca/vector-der/m.der")) == 0);
    CHECK(load_tmp(PG_STORE_CA, "vector-der", &err) == PG_OK);
}

static void running_out_of_memory_is_an_error(void)
{
    long n;
    int passed = 0;

    for (n = 0; n < 200 && !passed; n++) {
        STACK_OF(X509) *certs = NULL;
        struct pg_err err;
        enum pg_status rc;

        pg_err_init(&err);
        pg_mem_fail_after(n);
        rc = pg_truststore_load(tmp, PG_STORE_CA, "names", &certs, &err);
        pg_mem_fail_after(-1);
        CHECK(rc == PG_OK || rc == PG_ERR_NOMEM);
        CHECK((rc == PG_OK) == (certs != NULL));
        passed = rc == PG_OK;
        sk_X509_pop_free(certs, X509_free);
    }
    CHECK(passed);
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
    PG_RUN("notation's valid stores load with every certificate", notation_valid_stores_load);
    PG_RUN("notation's invalid stores fail as a whole", notation_invalid_stores_fail);
    PG_RUN("tsa stores hold only self-issued, self-signed CA roots",
           notation_tsa_stores_need_roots);
    PG_RUN("a missing store or a bad store name fails", missing_store_and_bad_names_fail);
    PG_RUN("notation's certificate files parse to the right count",
           notation_certificate_files_parse);
    PG_RUN("malformed, truncated and oversized files are refused", malformed_files_are_refused);
    PG_RUN("a notation directory can be built", make_tmp_layout);
    PG_RUN("every file is read whatever its name", any_file_name_is_read);
    PG_RUN("symlinked stores and files are refused", symlinks_are_refused);
    PG_RUN("sub-directories and special files fail the store",
           sub_directories_and_special_files_are_refused);
    PG_RUN("empty stores and empty files fail", empty_stores_and_files_fail);
    PG_RUN("oversized files and too many files fail", oversized_stores_fail);
    PG_RUN("each store type accepts only its kinds of certificate",
           certificate_kinds_per_store_type);
    PG_RUN("running out of memory is an error, never a crash", running_out_of_memory_is_an_error);
    pg_check_rmtree(tmp);
    pg_free(tmp);
    pg_free(tool);
    return pg_check_done();
}
