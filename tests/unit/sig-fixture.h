/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test fixture for plugin and AWS Signer claims: a temporary notation
 * directory with one policy statement, trust stores filled from the vectors
 * or from files minted by pg-testsign, test plugins installed by copying
 * pg-testplugin, and one call of pg_sigverify. Header-only (static
 * functions) so each test executable stays one file.
 */
#ifndef PG_SIG_FIXTURE_H
#define PG_SIG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "mem.h"
#include "policy.h"
#include "sigverify.h"
#include "trust.h"

struct fixture {
    char *dir;
    struct pg_trust *trust;
    const struct pg_statement *st;
    struct pg_sigverify_options opts;
};

static inline int fx_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;

    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    return ok;
}

static inline int fx_mkdirs(const char *path)
{
    char buf[1024];
    size_t i;

    snprintf(buf, sizeof(buf), "%s", path);
    for (i = 1; buf[i] != '\0'; i++) {
        if (buf[i] == '/') {
            buf[i] = '\0';
            mkdir(buf, 0755);
            buf[i] = '/';
        }
    }
    return mkdir(buf, 0755) == 0 || access(buf, F_OK) == 0;
}

/* A notation directory whose policy has one statement "test-statement" for "*". */
static inline int fx_open(struct fixture *fx, const char *sv, const char *stores,
                          const char *identities)
{
    char *policy =
        pg_asprintf("{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"test-statement\","
                    "\"registryScopes\":[\"*\"],\"signatureVerification\":%s,\"trustStores\":[%s],"
                    "\"trustedIdentities\":[%s]}]}",
                    sv, stores, identities);
    char *path = NULL;
    int ok;

    memset(fx, 0, sizeof(*fx));
    pg_sigverify_options_init(&fx->opts);
    fx->dir = pg_check_tmpdir();
    path = fx->dir != NULL ? pg_asprintf("%s/trustpolicy.json", fx->dir) : NULL;
    ok = policy != NULL && path != NULL && fx_write(path, policy, strlen(policy));
    pg_free(policy);
    pg_free(path);
    return ok;
}

/* Copies file src into truststore/x509/<store>/<name>. */
static inline int fx_add_cert(const struct fixture *fx, const char *store, const char *name,
                              const char *src)
{
    char *dir = pg_asprintf("%s/truststore/x509/%s", fx->dir, store);
    char *dst = pg_asprintf("%s/%s", dir != NULL ? dir : "", name);
    size_t len = 0;
    unsigned char *data = src != NULL ? pg_check_read_file(src, &len) : NULL;
    int ok =
        dir != NULL && dst != NULL && data != NULL && fx_mkdirs(dir) && fx_write(dst, data, len);

    pg_free(dir);
    pg_free(dst);
    pg_free(data);
    return ok;
}

static inline int fx_load(struct fixture *fx)
{
    struct pg_err err;

    pg_err_init(&err);
    if (pg_trust_load(fx->dir, &fx->trust, &err) != PG_OK) {
        fprintf(stderr, "    trust load failed: %s\n", err.msg);
        return 0;
    }
    fx->st = pg_policy_statement(pg_trust_policy(fx->trust), 0);
    return fx->st != NULL;
}

static inline void fx_close(struct fixture *fx)
{
    if (fx->trust != NULL) {
        pg_trust_unref(fx->trust);
    }
    if (fx->dir != NULL) {
        pg_check_rmtree(fx->dir);
        pg_free(fx->dir);
    }
    memset(fx, 0, sizeof(*fx));
}

/* $PG_BUILD_DIR/tests/<tool>; caller frees. */
static char *fx_tool(const char *tool)
{
    const char *build = getenv("PG_BUILD_DIR");

    return pg_asprintf("%s/tests/%s", build != NULL ? build : ".", tool);
}

/*
 * Copies pg-testplugin to plugins/<name>/notation-<name> and writes its
 * behaviour file (NULL: none).
 */
static inline int fx_install_plugin(const struct fixture *fx, const char *name,
                                    const char *behaviour)
{
    char *src = fx_tool("pg-testplugin");
    char *dir = pg_asprintf("%s/plugins/%s", fx->dir, name);
    char *dst = pg_asprintf("%s/notation-%s", dir != NULL ? dir : "", name);
    char *conf = pg_asprintf("%s/behaviour", dir != NULL ? dir : "");
    size_t len = 0;
    unsigned char *data = src != NULL ? pg_check_read_file(src, &len) : NULL;
    int ok = dir != NULL && dst != NULL && conf != NULL && data != NULL && fx_mkdirs(dir) &&
             fx_write(dst, data, len) && chmod(dst, 0755) == 0;

    if (ok && behaviour != NULL) {
        ok = fx_write(conf, behaviour, strlen(behaviour));
    }
    pg_free(src);
    pg_free(dir);
    pg_free(dst);
    pg_free(conf);
    pg_free(data);
    return ok;
}

static inline enum pg_status fx_verify(const struct fixture *fx, const void *env, size_t len,
                                       const struct pg_descriptor *target,
                                       struct pg_sig_result *res)
{
    struct pg_sigverify_input in;

    memset(&in, 0, sizeof(in));
    in.trust = fx->trust;
    in.statement = fx->st;
    in.envelope_media_type = "application/jose+json";
    in.envelope = env;
    in.envelope_len = len;
    in.target = target;
    in.now = time(NULL);
    in.options = &fx->opts;
    return pg_sigverify(&in, res);
}

static inline enum pg_status fx_verify_file(const struct fixture *fx, const char *path,
                                            const struct pg_descriptor *target,
                                            struct pg_sig_result *res)
{
    size_t len = 0;
    unsigned char *env = pg_check_read_file(path, &len);
    enum pg_status st;

    if (env == NULL) {
        return PG_ERR_IO;
    }
    st = fx_verify(fx, env, len, target, res);
    if (st != PG_OK) {
        fprintf(stderr, "    result: %s: %s\n", pg_status_name(st), res->msg);
    }
    pg_free(env);
    return st;
}

#endif
