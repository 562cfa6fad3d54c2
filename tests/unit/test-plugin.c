/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims about verification plugins: SemVer precedence, notation-go's mock
 * plugin vectors (NG-A) with a test plugin "plugin-name" 1.0.0, the minimum
 * version vectors, the verify-signature request as notation sends it, what
 * each verdict means under each level, and every way a plugin can
 * misbehave, each failing closed with a message that says so.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "mem.h"
#include "plugin.h"
#include "sig-fixture.h"
#include "sigverify.h"

#define MOCK "notation-go/internal/mock/testdata/"
#define NG_STORE "notation-go/verifier/testdata/truststore/x509/"
#define NG_A_IDENTITY "x509.subject:CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US"
#define NG_A_STORES "\"ca:valid-trust-store\",\"signingAuthority:valid-trust-store\""
#define MOCK_PLUGIN "io.cncf.notary.plugin.unittest.mock"
#define CAP_TI "SIGNATURE_VERIFIER.TRUSTED_IDENTITY"
#define CAP_REV "SIGNATURE_VERIFIER.REVOCATION_CHECK"

static char docker_v2[] = "application/vnd.docker.distribution.manifest.v2+json";
static char ng_a_digest[] =
    "sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e";
static char pv_digest[] = "sha256:fe7e9333395060c2f5e63cf36a38fba10176f183b4163a5794e081a480abba5f";
static const struct pg_descriptor ng_a_target = {docker_v2, ng_a_digest, 528, NULL};
static const struct pg_descriptor pv_target = {docker_v2, pv_digest, 942, NULL};

static char *vec(const char *rel)
{
    return pg_check_vector(rel);
}

/* NG-A stores and the given statement settings, plus plugin "plugin-name". */
static int open_ng_a(struct fixture *fx, const char *sv, const char *behaviour)
{
    char *root = vec(NG_STORE "ca/valid-trust-store/NotationTestRoot.pem");
    int ok = root != NULL && fx_open(fx, sv, NG_A_STORES, "\"" NG_A_IDENTITY "\"") &&
             fx_add_cert(fx, "ca/valid-trust-store", "NotationTestRoot.pem", root) &&
             fx_add_cert(fx, "signingAuthority/valid-trust-store", "NotationTestRoot.pem", root) &&
             fx_load(fx) && (behaviour == NULL || fx_install_plugin(fx, "plugin-name", behaviour));

    pg_free(root);
    return ok;
}

static enum pg_status verify_vector(const struct fixture *fx, const char *rel,
                                    const struct pg_descriptor *target, struct pg_sig_result *res)
{
    char *path = vec(rel);
    enum pg_status st = path != NULL ? fx_verify_file(fx, path, target, res) : PG_ERR_IO;

    pg_free(path);
    return st;
}

static json_t *load_json(const char *path)
{
    return json_load_file(path, 0, NULL);
}

/* ---- SemVer ---------------------------------------------------------------- */

static void semver_validity_follows_semver_2(void)
{
    static const char *const good[] = {"1.0.0",       "0.0.9",
                                       "1.0.0-alpha", "1.0.0-alpha.beta",
                                       "1.0.0-0.3.7", "1.0.0+20130313144700",
                                       "10.20.30",    "1.0.0-x-y-z.--"};
    static const char *const bad[] = {"v1.0.0", "1.0",      "1",         "01.0.0",
                                      "1.0.0-", "1.0.0-01", "1.0.0+",    "1.0.0-a..b",
                                      "",       "1.0.0 ",   "1-pre+meta"};
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CHECK(pg_plugin_semver_is_valid(good[i]));
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(!pg_plugin_semver_is_valid(bad[i]));
    }
}

static void semver_precedence_follows_semver_2(void)
{
    static const char *const order[] = {
        "0.0.9",       "1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta",
        "1.0.0-beta",  "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
        "1.0.0",       "1.0.1",        "1.0.9",         "1.0.10",
        "1.1.0-alpha", "1.2.3",        "10.0.0"};
    size_t n = sizeof(order) / sizeof(order[0]);
    size_t i;

    for (i = 0; i + 1 < n; i++) {
        CHECK(pg_plugin_semver_compare(order[i], order[i + 1]) < 0);
        CHECK(pg_plugin_semver_compare(order[i + 1], order[i]) > 0);
        CHECK(pg_plugin_semver_compare(order[i], order[i]) == 0);
    }
    CHECK(pg_plugin_semver_compare("1.0.0+build.1", "1.0.0+build.2") == 0);
}

/* ---- notation-go's mock vectors --------------------------------------------- */

static void mock_vectors_pass_with_the_mock_plugin(void)
{
    static const char *const envs[] = {MOCK "ca_plugin_sig_env.json",
                                       MOCK "sa_plugin_sig_env.json"};
    static const char *const levels[] = {"strict", "permissive", "audit"};
    size_t i;
    size_t l;

    for (l = 0; l < 3; l++) {
        struct fixture fx;
        char sv[64];

        snprintf(sv, sizeof(sv), "{\"level\":\"%s\"}", levels[l]);
        REQUIRE(open_ng_a(&fx, sv, NULL));
        REQUIRE(fx_install_plugin(&fx, "plugin-name", NULL));
        for (i = 0; i < 2; i++) {
            struct pg_sig_result res;

            CHECK(verify_vector(&fx, envs[i], &ng_a_target, &res) == PG_OK);
            CHECK(res.checks[PG_CHECK_AUTHENTICITY].performed);
            CHECK(res.checks[PG_CHECK_AUTHENTICITY].status == PG_OK);
        }
        fx_close(&fx);
    }
}

/* The request for ca_plugin_sig_env.json, as the test plugin recorded it. */
static json_t *recorded_request(const char *vector, const char *sv, const char *caps)
{
    struct fixture fx;
    struct pg_sig_result res;
    char *rec = NULL;
    char *behaviour = NULL;
    json_t *req = NULL;

    if (!open_ng_a(&fx, sv, NULL)) {
        return NULL;
    }
    rec = pg_asprintf("%s/request.json", fx.dir);
    behaviour = pg_asprintf("caps=%s\nrecord=%s\n", caps, rec);
    if (rec != NULL && behaviour != NULL && fx_install_plugin(&fx, "plugin-name", behaviour) &&
        verify_vector(&fx, vector, &ng_a_target, &res) == PG_OK) {
        req = load_json(rec);
    }
    pg_free(rec);
    pg_free(behaviour);
    fx_close(&fx);
    return req;
}

static const char *str_at(const json_t *root, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(root, a);

    v = b != NULL ? json_object_get(v, b) : v;
    v = c != NULL ? json_object_get(v, c) : v;
    return json_string_value(v);
}

static void request_is_the_one_notation_sends(void)
{
    json_t *req = recorded_request(MOCK "ca_plugin_sig_env.json", "{\"level\":\"strict\"}",
                                   "identity,revocation");
    char *path = vec(MOCK "ca_plugin_sig_env.json");
    json_t *env = path != NULL ? load_json(path) : NULL;
    const json_t *crit = json_object_get(json_object_get(req, "signature"), "criticalAttributes");
    const json_t *ext = json_object_get(crit, "extendedAttributes");
    const json_t *caps =
        json_object_get(json_object_get(req, "trustPolicy"), "signatureVerification");
    const json_t *ids = json_object_get(json_object_get(req, "trustPolicy"), "trustedIdentities");
    const json_t *chain = json_object_get(json_object_get(req, "signature"), "certificateChain");
    const json_t *x5c = json_object_get(json_object_get(env, "header"), "x5c");

    json_t *some_key = json_pack("[s]", "SomeKey");

    REQUIRE(req != NULL && env != NULL && some_key != NULL);
    CHECK(strcmp(str_at(req, "contractVersion", NULL, NULL), "1.0") == 0);
    CHECK(strcmp(json_string_value(json_object_get(crit, "contentType")),
                 "application/vnd.cncf.notary.payload.v1+json") == 0);
    CHECK(strcmp(json_string_value(json_object_get(crit, "signingScheme")), "notary.x509") == 0);
    CHECK(strcmp(json_string_value(json_object_get(crit, "expiry")), "2120-11-09T07:00:00Z") == 0);
    CHECK(json_object_get(crit, "authenticSigningTime") == NULL);
    CHECK(json_object_size(ext) == 1);
    CHECK(strcmp(json_string_value(json_object_get(ext, "SomeKey")), "SomeValue") == 0);
    CHECK(json_equal(json_object_get(json_object_get(req, "signature"), "unprocessedAttributes"),
                     some_key));
    CHECK(json_equal(chain, x5c)); /* standard base64, as in the envelope's x5c */
    CHECK(json_array_size(ids) == 1 &&
          strcmp(json_string_value(json_array_get(ids, 0)), NG_A_IDENTITY) == 0);
    CHECK(json_array_size(caps) == 2);
    CHECK(json_object_get(req, "pluginConfig") == NULL);
    json_decref(some_key);
    json_decref(req);
    json_decref(env);
    pg_free(path);
}

static void sa_request_has_authentic_signing_time(void)
{
    json_t *req =
        recorded_request(MOCK "sa_plugin_sig_env.json", "{\"level\":\"strict\"}", "identity");
    const json_t *crit = json_object_get(json_object_get(req, "signature"), "criticalAttributes");

    REQUIRE(req != NULL);
    CHECK(strcmp(json_string_value(json_object_get(crit, "signingScheme")),
                 "notary.x509.signingAuthority") == 0);
    CHECK(strcmp(json_string_value(json_object_get(crit, "authenticSigningTime")),
                 "2020-11-09T07:00:00Z") == 0);
    json_decref(req);
}

static void skipped_revocation_is_not_requested(void)
{
    json_t *req = recorded_request(MOCK "ca_plugin_sig_env.json",
                                   "{\"level\":\"strict\",\"override\":{\"revocation\":\"skip\"}}",
                                   "identity,revocation");
    const json_t *caps =
        json_object_get(json_object_get(req, "trustPolicy"), "signatureVerification");

    REQUIRE(req != NULL);
    CHECK(json_array_size(caps) == 1);
    CHECK(strcmp(json_string_value(json_array_get(caps, 0)), CAP_TI) == 0);
    json_decref(req);
}

static void plugin_without_remaining_capabilities_is_not_called(void)
{
    struct fixture fx;
    struct pg_sig_result res;
    char *rec = NULL;
    char *behaviour = NULL;

    REQUIRE(open_ng_a(&fx, "{\"level\":\"strict\",\"override\":{\"revocation\":\"skip\"}}", NULL));
    rec = pg_asprintf("%s/request.json", fx.dir);
    behaviour = pg_asprintf("caps=revocation\nrecord=%s\n", rec);
    REQUIRE(fx_install_plugin(&fx, "plugin-name", behaviour));
    /* Our own identity check runs: the NG-A identity admits the chain. */
    CHECK(verify_vector(&fx, MOCK "ca_plugin_sig_env.json", &ng_a_target, &res) == PG_OK);
    CHECK(access(rec, F_OK) != 0);
    pg_free(rec);
    pg_free(behaviour);
    fx_close(&fx);
}

static void minimum_version_vectors_follow_semver_precedence(void)
{
    static const char *const pass[] = {"0.0.9", "1.0.0-alpha", "1.0.0-alpha.beta", "1.0.0"};
    static const char *const fail[] = {"1.0.1", "1.0.9", "1.1.0-alpha", "1.2.3"};
    char *cert = vec(NG_STORE "ca/valid-trust-store/wabbit-networks.io.crt");
    struct fixture fx;
    size_t i;

    REQUIRE(cert != NULL && fx_open(&fx, "{\"level\":\"strict\"}", "\"ca:pv\"", "\"*\"") &&
            fx_add_cert(&fx, "ca/pv", "wabbit-networks.io.crt", cert) && fx_load(&fx) &&
            fx_install_plugin(&fx, MOCK_PLUGIN, NULL));
    for (i = 0; i < 4; i++) {
        struct pg_sig_result res;
        char rel[160];

        snprintf(rel, sizeof(rel), MOCK "ca_compatible_pluginver_sig_env_%s.json", pass[i]);
        CHECK(verify_vector(&fx, rel, &pv_target, &res) == PG_OK);
        snprintf(rel, sizeof(rel), MOCK "ca_incompatible_pluginver_sig_env_%s.json", fail[i]);
        CHECK(verify_vector(&fx, rel, &pv_target, &res) == PG_ERR_PLUGIN);
        CHECK(strstr(res.msg, "has version 1.0.0 but the signature requires version") != NULL);
        CHECK(strstr(res.msg, fail[i]) != NULL);
    }
    pg_free(cert);
    fx_close(&fx);
}

/* ---- verdicts under levels ---------------------------------------------- */

static void failed_identity_is_an_authenticity_failure(void)
{
    struct fixture fx;
    struct pg_sig_result res;

    REQUIRE(open_ng_a(&fx, "{\"level\":\"strict\"}", "fail=identity-false\n"));
    CHECK(verify_vector(&fx, MOCK "ca_plugin_sig_env.json", &ng_a_target, &res) ==
          PG_ERR_SIG_IDENTITY);
    CHECK(strstr(res.msg, "the test plugin says no") != NULL);
    fx_close(&fx);
    REQUIRE(open_ng_a(&fx, "{\"level\":\"audit\"}", "fail=identity-false\n"));
    CHECK(verify_vector(&fx, MOCK "ca_plugin_sig_env.json", &ng_a_target, &res) == PG_OK);
    CHECK(res.checks[PG_CHECK_AUTHENTICITY].status == PG_ERR_SIG_IDENTITY);
    fx_close(&fx);
}

static void failed_revocation_follows_the_level(void)
{
    struct fixture fx;
    struct pg_sig_result res;
    const char *b = "caps=identity,revocation\nfail=revocation-false\n";

    REQUIRE(open_ng_a(&fx, "{\"level\":\"strict\"}", b));
    CHECK(verify_vector(&fx, MOCK "ca_plugin_sig_env.json", &ng_a_target, &res) ==
          PG_ERR_SIG_REVOKED);
    fx_close(&fx);
    REQUIRE(open_ng_a(&fx, "{\"level\":\"permissive\"}", b));
    CHECK(verify_vector(&fx, MOCK "ca_plugin_sig_env.json", &ng_a_target, &res) == PG_OK);
    CHECK(res.checks[PG_CHECK_REVOCATION].performed);
    CHECK(res.checks[PG_CHECK_REVOCATION].status == PG_ERR_SIG_REVOKED);
    fx_close(&fx);
    REQUIRE(open_ng_a(&fx, "{\"level\":\"strict\",\"override\":{\"revocation\":\"skip\"}}", b));
    CHECK(verify_vector(&fx, MOCK "ca_plugin_sig_env.json", &ng_a_target, &res) == PG_OK);
    CHECK(!res.checks[PG_CHECK_REVOCATION].performed);
    fx_close(&fx);
}

/* ---- misbehaving plugins ------------------------------------------------- */

struct misbehaviour {
    const char *behaviour; /* NULL: no plugin installed */
    const char *message;
};

static const struct misbehaviour misbehaviours[] = {
    {NULL, "verification plugin \"plugin-name\" is not installed"},
    {"caps=none\n", "has neither the trusted identity nor the revocation check"},
    {"fail=exit1\n", "failed (exit 1): VALIDATION_ERROR: test plugin refuses"},
    {"fail=exit3\n", "failed (exit 3): something went wrong"},
    {"fail=malformed\n", "wrote no json object"},
    {"fail=oversized\n", "wrote more than 1048576 bytes to stdout"},
    {"fail=hang\n", "verify-signature timed out"},
    {"fail=hang\nfail_on=get-plugin-metadata\n", "get-plugin-metadata timed out"},
    {"fail=wrong-name\n", "calls itself \"other-name\" in its metadata"},
    {"version=v1\n", "which is not a semantic version"},
    {"fail=unprocessed\n", "did not process the signature's attribute \"SomeKey\""},
    {"fail=no-result\n", "gave no result for " CAP_TI},
    {"fail=exit1\nfail_on=get-plugin-metadata\n", "get-plugin-metadata failed (exit 1)"},
};

static void misbehaving_plugins_fail_closed(void)
{
    size_t i;

    for (i = 0; i < sizeof(misbehaviours) / sizeof(misbehaviours[0]); i++) {
        const struct misbehaviour *m = &misbehaviours[i];
        struct fixture fx;
        struct pg_sig_result res;
        int64_t started;

        REQUIRE(open_ng_a(&fx, "{\"level\":\"audit\"}", NULL));
        REQUIRE(m->behaviour == NULL || fx_install_plugin(&fx, "plugin-name", m->behaviour));
        fx.opts.plugin_timeout_ms = 700;
        started = pg_now_ms();
        CHECK(verify_vector(&fx, MOCK "ca_plugin_sig_env.json", &ng_a_target, &res) ==
              PG_ERR_PLUGIN);
        CHECK(pg_now_ms() - started < 5000);
        if (strstr(res.msg, m->message) == NULL) {
            fprintf(stderr, "    behaviour %s: got \"%s\"\n", m->behaviour, res.msg);
            CHECK(strstr(res.msg, m->message) != NULL);
        }
        CHECK(res.checks[PG_CHECK_INTEGRITY].status == PG_ERR_PLUGIN);
        fx_close(&fx);
    }
}

static void unusable_executables_are_refused(void)
{
    struct fixture fx;
    struct pg_sig_result res;
    char *exe = NULL;
    char *moved = NULL;

    REQUIRE(open_ng_a(&fx, "{\"level\":\"strict\"}", ""));
    exe = pg_asprintf("%s/plugins/plugin-name/notation-plugin-name", fx.dir);
    moved = pg_asprintf("%s/plugins/plugin-name/real", fx.dir);
    REQUIRE(exe != NULL && moved != NULL);
    REQUIRE(chmod(exe, 0644) == 0);
    CHECK(verify_vector(&fx, MOCK "ca_plugin_sig_env.json", &ng_a_target, &res) == PG_ERR_PLUGIN);
    CHECK(strstr(res.msg, "is not a regular file with the owner-execute bit") != NULL);
    REQUIRE(chmod(exe, 0755) == 0 && rename(exe, moved) == 0 && symlink(moved, exe) == 0);
    CHECK(verify_vector(&fx, MOCK "ca_plugin_sig_env.json", &ng_a_target, &res) == PG_ERR_PLUGIN);
    CHECK(strstr(res.msg, "is a symbolic link, which is refused") != NULL);
    pg_free(exe);
    pg_free(moved);
    fx_close(&fx);
}

static int env_has(const char *text, const char *line)
{
    size_t n = strlen(line);
    const char *p = text;

    while ((p = strstr(p, line)) != NULL) {
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0')) {
            return 1;
        }
        p += n;
    }
    return 0;
}

static void plugins_get_a_clean_environment(void)
{
    struct fixture fx;
    struct pg_sig_result res;
    char *rec = NULL;
    char *envf = NULL;
    char *behaviour = NULL;
    char *text = NULL;
    size_t len = 0;

    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("PG_TEST_SECRET", "must-not-pass", 1);
    setenv("LD_PRELOAD", "", 1);
    REQUIRE(open_ng_a(&fx, "{\"level\":\"strict\"}", NULL));
    rec = pg_asprintf("%s/request.json", fx.dir);
    envf = pg_asprintf("%s.env", rec);
    behaviour = pg_asprintf("record=%s\n", rec);
    REQUIRE(fx_install_plugin(&fx, "plugin-name", behaviour));
    CHECK(verify_vector(&fx, MOCK "ca_plugin_sig_env.json", &ng_a_target, &res) == PG_OK);
    text = (char *)pg_check_read_file(envf, &len);
    REQUIRE(text != NULL);
    CHECK(env_has(text, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"));
    CHECK(env_has(text, "AWS_ACCESS_KEY_ID=AKIDTEST"));
    CHECK(strstr(text, "PG_TEST_SECRET") == NULL);
    CHECK(strstr(text, "LD_PRELOAD") == NULL);
    CHECK(strstr(text, "PG_VECTORS") == NULL);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("PG_TEST_SECRET");
    unsetenv("LD_PRELOAD");
    pg_free(text);
    pg_free(rec);
    pg_free(envf);
    pg_free(behaviour);
    fx_close(&fx);
}

static void plugin_names_cannot_leave_the_plugins_directory(void)
{
    struct pg_plugin_options o = {"/nonexistent", 1000, "", NULL};
    struct pg_plugin_metadata meta;
    struct pg_err err;

    pg_err_init(&err);
    CHECK(pg_plugin_describe(&o, "../../bin/sh", NULL, &meta, &err) == PG_ERR_PLUGIN);
    CHECK(strstr(err.msg, "is not a usable name") != NULL);
    pg_err_init(&err);
    CHECK(pg_plugin_describe(&o, "..", NULL, &meta, &err) == PG_ERR_PLUGIN);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* a plugin that stops reading must not kill the verifier */
    PG_RUN("semantic versions are valid exactly as semver 2.0 says",
           semver_validity_follows_semver_2);
    PG_RUN("semantic version precedence follows semver 2.0, pre-releases included",
           semver_precedence_follows_semver_2);
    PG_RUN("ca and sa plugin vectors pass with the mock plugin at every level",
           mock_vectors_pass_with_the_mock_plugin);
    PG_RUN("the verify-signature request is the one notation sends",
           request_is_the_one_notation_sends);
    PG_RUN("a signing authority request carries the authentic signing time",
           sa_request_has_authentic_signing_time);
    PG_RUN("revocation skipped by the statement is not requested",
           skipped_revocation_is_not_requested);
    PG_RUN("a plugin left with no capability to ask for is not called",
           plugin_without_remaining_capabilities_is_not_called);
    PG_RUN("minimum plugin version vectors pass or fail by semver precedence",
           minimum_version_vectors_follow_semver_precedence);
    PG_RUN("a failed trusted identity is an authenticity failure, logged under audit",
           failed_identity_is_an_authenticity_failure);
    PG_RUN("a failed plugin revocation check denies at strict, is logged at permissive and is "
           "not asked for when skipped",
           failed_revocation_follows_the_level);
    PG_RUN("missing, incapable, failing, malformed, oversized, hanging, misnamed, unversioned "
           "and careless plugins fail closed",
           misbehaving_plugins_fail_closed);
    PG_RUN("a plugin that is not executable or is a symbolic link is refused",
           unusable_executables_are_refused);
    PG_RUN("plugins get a fixed PATH and only allow-listed variables",
           plugins_get_a_clean_environment);
    PG_RUN("plugin names cannot leave the plugins directory",
           plugin_names_cannot_leave_the_plugins_directory);
    return pg_check_done();
}
