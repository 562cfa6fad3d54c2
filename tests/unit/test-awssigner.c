/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims about native AWS Signer verification: AWS-shaped signatures minted
 * by pg-testsign (ES384, a 4-certificate chain under a test root in a
 * signingAuthority store, the two com.amazonaws.signer attributes) under the
 * policy AWS documents; signing-profile ARN matching as the AWS plugin
 * does; GetRevocationStatus against pg-fakeaws, which checks the SigV4
 * signature itself, answering not revoked, revoked, access denied, a
 * validation error, or nothing; each level's effect; the credential chain.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "awscreds.h"
#include "awssigner.h"
#include "check.h"
#include "mem.h"
#include "sig-fixture.h"
#include "sigverify.h"

#define ACCOUNT "111122223333"
#define PROFILE_ARN "arn:aws:signer:us-east-1:" ACCOUNT ":/signing-profiles/onprem"
#define VERSION_ARN PROFILE_ARN "/AbCdEf1234"
#define JOB_ARN                                                                                    \
    "arn:aws:signer:us-east-1:" ACCOUNT ":/signing-jobs/0f4a2b1c-1111-2222-3333-444455556666"
#define AWS_STORES "\"signingAuthority:aws-signer-ts\""
#define STRICT "{\"level\":\"strict\"}"
#define TEST_KEY "AKIDPULLGATETEST"
#define TEST_SECRET "pg/test+secret=value"
#define TEST_TOKEN "pg-session-token"

extern char **environ;

static char oci_manifest[] = "application/vnd.oci.image.manifest.v1+json";
static char target_digest[] =
    "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";
static const struct pg_descriptor target = {oci_manifest, target_digest, 517, NULL};

static char *work;      /* minted material */
static char *good_env;  /* the AWS-shaped envelope */
static char *extra_env; /* the same with an attribute nobody processes */
static char *root_pem;  /* the test root */
static char *chain_pem; /* leaf first */
static char *fake_log;
static char *fake_mode;
static pid_t fake_pid = -1;
static char fake_url[64];

/* ---- running tools ---------------------------------------------------------- */

static int run(char *const argv[])
{
    pid_t pid;
    int status = 0;

    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0 ||
        waitpid(pid, &status, 0) != pid) {
        return 0;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Runs pg-testsign with the NULL-terminated arguments. */
static int testsign(const char *first, ...)
{
    char *tool = fx_tool("pg-testsign");
    char *argv[24];
    int n = 0;
    const char *a;
    va_list ap;
    int ok;

    argv[n++] = tool;
    va_start(ap, first);
    for (a = first; a != NULL && n < 23; a = va_arg(ap, const char *)) {
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n] = NULL;
    ok = tool != NULL && run(argv);
    pg_free(tool);
    return ok;
}

static char *in_work(const char *name)
{
    return pg_asprintf("%s/%s", work, name);
}

#define SUBJ(cn) "CN=" cn ",OU=Cryptography,O=AWS,ST=WA,C=US"

static int mint_chain(void)
{
    char *root = in_work("root");
    char *inter = in_work("int");
    char *reg = in_work("reg");
    char *leaf = in_work("leaf");
    int ok = testsign("ca", "--out", root, "--key", "ec384", "--subject",
                      SUBJ("AWS Signer Code Signing Root CA G1"), (char *)NULL) &&
             testsign("cert", "--ca", root, "--out", inter, "--ca-cert", "--key", "ec384",
                      "--subject", SUBJ("AWS Signer Code Signing Int CA G1"), (char *)NULL) &&
             testsign("cert", "--ca", inter, "--out", reg, "--ca-cert", "--key", "ec384",
                      "--subject", SUBJ("AWS Signer us-east-1 Code Signing CA G1"), (char *)NULL) &&
             testsign("cert", "--ca", reg, "--out", leaf, "--key", "ec384", "--subject",
                      "CN=AWS Signer,OU=AWS Cryptography,O=AWS,L=Seattle,ST=WA,C=US", "--days", "3",
                      (char *)NULL);

    pg_free(root);
    pg_free(inter);
    pg_free(reg);
    pg_free(leaf);
    return ok;
}

static int mint_envelope(const char *out, const char *extra_attr)
{
    char *tool = fx_tool("pg-testsign");
    char *key = in_work("leaf/key.pem");
    char *argv[40] = {tool,
                      "sign",
                      "--key",
                      key,
                      "--chain",
                      chain_pem,
                      "--target-media-type",
                      oci_manifest,
                      "--target-digest",
                      target_digest,
                      "--target-size",
                      "517",
                      "--scheme",
                      "sa",
                      "--attr",
                      "io.cncf.notary.verificationPlugin=" PG_AWSSIGNER_PLUGIN,
                      "--crit",
                      "io.cncf.notary.verificationPlugin",
                      "--attr",
                      PG_AWSSIGNER_PROFILE_ATTR "=" VERSION_ARN,
                      "--crit",
                      PG_AWSSIGNER_PROFILE_ATTR,
                      "--attr",
                      PG_AWSSIGNER_JOB_ATTR "=" JOB_ARN,
                      "--crit",
                      PG_AWSSIGNER_JOB_ATTR,
                      "--out",
                      (char *)out,
                      NULL};
    int ok;

    if (extra_attr != NULL) {
        int n = 28;

        argv[n++] = "--attr";
        argv[n++] = (char *)extra_attr;
        argv[n++] = "--crit";
        argv[n++] = "com.example.unprocessed";
        argv[n] = NULL;
    }
    ok = tool != NULL && key != NULL && run(argv);
    pg_free(tool);
    pg_free(key);
    return ok;
}

static int mint_all(void)
{
    work = pg_check_tmpdir();
    if (work == NULL || !mint_chain()) {
        return 0;
    }
    good_env = in_work("aws.jws");
    extra_env = in_work("aws-extra.jws");
    root_pem = in_work("root/cert.pem");
    chain_pem = in_work("leaf/chain.pem");
    return mint_envelope(good_env, NULL) &&
           mint_envelope(extra_env, "com.example.unprocessed=value");
}

/* ---- pg-fakeaws --------------------------------------------------------------- */

static int start_fake(void)
{
    char *tool = fx_tool("pg-fakeaws");
    char *port_file = in_work("fake.port");
    char *argv[] = {tool, "--port-file",  port_file, "--log",    NULL,        "--mode-file",
                    NULL, "--access-key", TEST_KEY,  "--secret", TEST_SECRET, NULL};
    int i;

    fake_log = in_work("fake.log");
    fake_mode = in_work("fake.mode");
    argv[4] = fake_log;
    argv[6] = fake_mode;
    if (tool == NULL || posix_spawn(&fake_pid, tool, NULL, NULL, argv, environ) != 0) {
        fake_pid = -1;
    }
    for (i = 0; fake_pid > 0 && i < 100 && fake_url[0] == '\0'; i++) {
        FILE *f = fopen(port_file, "r");
        unsigned port = 0;

        if (f != NULL && fscanf(f, "%u", &port) == 1 && port > 0) {
            snprintf(fake_url, sizeof(fake_url), "http://127.0.0.1:%u", port);
        }
        if (f != NULL) {
            fclose(f);
        }
        usleep(50 * 1000);
    }
    pg_free(tool);
    pg_free(port_file);
    return fake_url[0] != '\0';
}

static void stop_fake(void)
{
    if (fake_pid > 0) {
        kill(fake_pid, SIGKILL);
        waitpid(fake_pid, NULL, 0);
    }
}

static void set_mode(const char *mode)
{
    fx_write(fake_mode, mode, strlen(mode));
    fx_write(fake_log, "", 0);
    pg_awssigner_cache_clear();
    pg_awscreds_cache_clear();
}

/* The logged requests, as a JSON array. */
static json_t *requests(void)
{
    json_t *all = json_array();
    FILE *f = fopen(fake_log, "r");
    char line[65536];

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        json_array_append_new(all, json_loads(line, 0, NULL));
    }
    if (f != NULL) {
        fclose(f);
    }
    return all;
}

static void use_env_creds(void)
{
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_PROFILE");
    setenv("AWS_ACCESS_KEY_ID", TEST_KEY, 1);
    setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET, 1);
    setenv("AWS_SESSION_TOKEN", TEST_TOKEN, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void no_env_creds(void)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
}

/* ---- fixtures ----------------------------------------------------------------- */

static int open_aws(struct fixture *fx, const char *sv, const char *identities)
{
    int ok = fx_open(fx, sv, AWS_STORES, identities) &&
             fx_add_cert(fx, "signingAuthority/aws-signer-ts", "aws-signer-notation-root.crt",
                         root_pem) &&
             fx_load(fx);

    snprintf(fx->opts.aws_signer_endpoint, sizeof(fx->opts.aws_signer_endpoint), "%s", fake_url);
    fx->opts.plugin_timeout_ms = 3000;
    return ok;
}

static enum pg_status verify_aws(const char *sv, const char *identities, const char *env,
                                 struct pg_sig_result *res)
{
    struct fixture fx;
    enum pg_status st = PG_ERR_IO;

    if (open_aws(&fx, sv, identities)) {
        st = fx_verify_file(&fx, env, &target, res);
    }
    fx_close(&fx);
    return st;
}

/* ---- identities --------------------------------------------------------------- */

static void arns_match_as_the_plugin_matches(void)
{
    CHECK(pg_awssigner_identity_matches(PROFILE_ARN, VERSION_ARN));
    CHECK(pg_awssigner_identity_matches(VERSION_ARN, VERSION_ARN));
    /* "arn:" must be lower case */
    CHECK(!pg_awssigner_identity_matches(
        "ARN:AWS:signer:US-EAST-1:" ACCOUNT ":/signing-profiles/ONPREM", VERSION_ARN));
    CHECK(pg_awssigner_identity_matches(
        "arn:aws:signer:US-EAST-1:" ACCOUNT ":/signing-profiles/OnPrem", VERSION_ARN));
    CHECK(!pg_awssigner_identity_matches("arn:aws:signer:us-east-1:444455556666:/signing-profiles/"
                                         "onprem",
                                         VERSION_ARN));
    CHECK(!pg_awssigner_identity_matches(
        "arn:aws:signer:us-west-2:" ACCOUNT ":/signing-profiles/onprem", VERSION_ARN));
    CHECK(!pg_awssigner_identity_matches(
        "arn:aws:signer:us-east-1:" ACCOUNT ":/signing-profiles/onpre", VERSION_ARN));
    CHECK(!pg_awssigner_identity_matches(
        "arn:aws:signer:us-east-1:" ACCOUNT ":/signing-profile/onprem", VERSION_ARN));
    CHECK(!pg_awssigner_identity_matches(PROFILE_ARN "/OtherVersion", VERSION_ARN));
    CHECK(!pg_awssigner_identity_matches("arn:aws:iam::" ACCOUNT ":/signing-profiles/onprem",
                                         VERSION_ARN));
    CHECK(!pg_awssigner_identity_matches("x509.subject:CN=AWS Signer", VERSION_ARN));
    CHECK(!pg_awssigner_identity_matches("*", VERSION_ARN));
}

static void documented_policy_admits_the_signature(void)
{
    struct pg_sig_result res;

    set_mode("ok");
    use_env_creds();
    CHECK(verify_aws(STRICT, "\"" PROFILE_ARN "\"", good_env, &res) == PG_OK);
    CHECK(res.checks[PG_CHECK_REVOCATION].performed);
    CHECK(strcmp(res.signing_scheme, "notary.x509.signingAuthority") == 0);
    CHECK(verify_aws(STRICT, "\"" VERSION_ARN "\"", good_env, &res) == PG_OK);
    CHECK(verify_aws(STRICT, "\"x509.subject:CN=Nobody,O=X,ST=WA,C=US\",\"" PROFILE_ARN "\"",
                     good_env, &res) == PG_OK);
}

static void other_arns_are_untrusted(void)
{
    static const char *const ids[] = {
        "\"arn:aws:signer:us-east-1:444455556666:/signing-profiles/onprem\"",
        "\"arn:aws:signer:eu-west-1:" ACCOUNT ":/signing-profiles/onprem\"",
        "\"arn:aws:signer:us-east-1:" ACCOUNT ":/signing-profiles/other\"",
        "\"arn:aws:signer:us-east-1:" ACCOUNT ":/signing-profile/onprem\"",
        "\"" PROFILE_ARN "/OtherVersion\"",
        "\"x509.subject:CN=AWS Signer,OU=AWS Cryptography,O=AWS,L=Seattle,ST=WA,C=US\""};
    size_t i;

    set_mode("ok");
    use_env_creds();
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct pg_sig_result res;

        CHECK(verify_aws(STRICT, ids[i], good_env, &res) == PG_ERR_SIG_IDENTITY);
        CHECK(strstr(res.msg, "doesn't match any trusted identities") != NULL);
    }
}

static void wildcard_identity_is_refused(void)
{
    struct pg_sig_result res;

    CHECK(verify_aws(STRICT, "\"*\"", good_env, &res) == PG_ERR_PLUGIN);
    CHECK(strstr(res.msg, "wildcard \"*\" is not a supported trusted identity") != NULL);
}

static void unprocessed_attribute_fails(void)
{
    struct pg_sig_result res;

    set_mode("ok");
    use_env_creds();
    CHECK(verify_aws(STRICT, "\"" PROFILE_ARN "\"", extra_env, &res) == PG_ERR_PLUGIN);
    CHECK(strstr(res.msg, "did not process the signature's attribute "
                          "\"com.example.unprocessed\"") != NULL);
}

static void configuration_selects_the_implementation(void)
{
    struct fixture fx;
    struct pg_sig_result res;

    REQUIRE(open_aws(&fx, STRICT, "\"" PROFILE_ARN "\""));
    fx.opts.aws_signer = PG_AWS_SIGNER_OFF;
    CHECK(fx_verify_file(&fx, good_env, &target, &res) == PG_ERR_UNSUPPORTED);
    CHECK(strstr(res.msg, "aws_signer = off") != NULL);
    fx.opts.aws_signer = PG_AWS_SIGNER_PLUGIN;
    CHECK(fx_verify_file(&fx, good_env, &target, &res) == PG_ERR_PLUGIN);
    CHECK(strstr(res.msg, "\"" PG_AWSSIGNER_PLUGIN "\" is not installed") != NULL);
    fx_close(&fx);
}

/* ---- revocation ----------------------------------------------------------------- */

/* The TBSCertificate of a DER certificate: the first element of the outer SEQUENCE. */
static int tbs_span(const unsigned char *der, size_t len, size_t *off, size_t *n)
{
    size_t i = 1;
    size_t body_len = 0;
    size_t hdr;

    if (len < 4 || der[0] != 0x30) {
        return 0;
    }
    i += (der[i] & 0x80) ? 1 + (der[i] & 0x7f) : 1; /* skip the outer length */
    if (i + 2 > len || der[i] != 0x30) {
        return 0;
    }
    if (der[i + 1] & 0x80) {
        int nb = der[i + 1] & 0x7f;
        int k;

        for (k = 0; k < nb; k++) {
            body_len = body_len << 8 | der[i + 2 + k];
        }
        hdr = 2 + (size_t)nb;
    } else {
        body_len = der[i + 1];
        hdr = 2;
    }
    *off = i;
    *n = hdr + body_len;
    return i + *n <= len;
}

/* The expected certificateHashes, computed from the PEM chain by hand. */
static json_t *expected_hashes(void)
{
    FILE *f = fopen(chain_pem, "r");
    char tbs_hex[8][97];
    json_t *out = json_array();
    X509 *x;
    int n = 0;
    int i;

    while (f != NULL && n < 8 && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        unsigned char *der = NULL;
        int len = i2d_X509(x, &der);
        unsigned char md[48];
        size_t off = 0;
        size_t tl = 0;

        if (len > 0 && tbs_span(der, (size_t)len, &off, &tl) &&
            EVP_Digest(der + off, tl, md, NULL, EVP_sha384(), NULL) == 1) {
            for (i = 0; i < 48; i++) {
                snprintf(tbs_hex[n] + 2 * i, 3, "%02x", md[i]);
            }
            n++;
        }
        OPENSSL_free(der);
        X509_free(x);
    }
    if (f != NULL) {
        fclose(f);
    }
    for (i = 0; i < n; i++) {
        char both[200];

        snprintf(both, sizeof(both), "%s%s", tbs_hex[i], tbs_hex[i + 1 < n ? i + 1 : i]);
        json_array_append_new(out, json_string(both));
    }
    return out;
}

static int same_set(const json_t *a, const json_t *b)
{
    size_t i;
    size_t j;
    json_t *v;
    json_t *w;

    if (json_array_size(a) != json_array_size(b)) {
        return 0;
    }
    json_array_foreach(a, i, v)
    {
        int found = 0;

        json_array_foreach(b, j, w)
        {
            found = found || json_equal(v, w);
        }
        if (!found) {
            return 0;
        }
    }
    return 1;
}

static const json_t *query_of(const json_t *req, const char *name)
{
    return json_object_get(json_object_get(req, "query"), name);
}

static void revocation_request_is_signed_and_complete(void)
{
    struct pg_sig_result res;
    json_t *all;
    const json_t *req;
    const char *auth;
    json_t *want = expected_hashes();

    set_mode("ok");
    use_env_creds();
    REQUIRE(verify_aws(STRICT, "\"" PROFILE_ARN "\"", good_env, &res) == PG_OK);
    all = requests();
    REQUIRE(json_array_size(all) == 1);
    req = json_array_get(all, 0);
    auth = json_string_value(json_object_get(req, "authorization"));
    CHECK(strcmp(json_string_value(json_object_get(req, "method")), "GET") == 0);
    CHECK(strcmp(json_string_value(json_object_get(req, "path")), "/revocations") == 0);
    REQUIRE(auth != NULL);
    CHECK(strncmp(auth, "AWS4-HMAC-SHA256 Credential=" TEST_KEY "/", 45) == 0);
    CHECK(strstr(auth, "/us-east-1/signer/aws4_request") != NULL);
    CHECK(json_is_true(json_object_get(req, "signature_valid")));
    CHECK(strcmp(json_string_value(json_object_get(req, "security_token")), TEST_TOKEN) == 0);
    CHECK(json_array_size(want) == 4);
    CHECK(same_set(query_of(req, "certificateHashes"), want));
    CHECK(strcmp(json_string_value(json_array_get(query_of(req, "jobArn"), 0)), JOB_ARN) == 0);
    CHECK(strcmp(json_string_value(json_array_get(query_of(req, "profileVersionArn"), 0)),
                 VERSION_ARN) == 0);
    CHECK(strcmp(json_string_value(json_array_get(query_of(req, "platformId"), 0)),
                 "Notation-OCI-SHA384-ECDSA") == 0);
    CHECK(strlen(json_string_value(json_array_get(query_of(req, "signatureTimestamp"), 0))) == 20);
    json_decref(all);
    json_decref(want);
}

static void revoked_job_follows_the_level(void)
{
    struct pg_sig_result res;

    set_mode("revoked");
    use_env_creds();
    CHECK(verify_aws(STRICT, "\"" PROFILE_ARN "\"", good_env, &res) == PG_ERR_SIG_REVOKED);
    CHECK(strstr(res.msg, "revoked by aws signer: " JOB_ARN) != NULL);
    set_mode("revoked");
    CHECK(verify_aws("{\"level\":\"permissive\"}", "\"" PROFILE_ARN "\"", good_env, &res) == PG_OK);
    CHECK(res.checks[PG_CHECK_REVOCATION].status == PG_ERR_SIG_REVOKED);
    set_mode("revoked");
    CHECK(verify_aws("{\"level\":\"audit\"}", "\"" PROFILE_ARN "\"", good_env, &res) == PG_OK);
}

static void skipped_revocation_is_not_asked(void)
{
    struct pg_sig_result res;
    json_t *all;

    set_mode("revoked");
    use_env_creds();
    CHECK(verify_aws("{\"level\":\"strict\",\"override\":{\"revocation\":\"skip\"}}",
                     "\"" PROFILE_ARN "\"", good_env, &res) == PG_OK);
    CHECK(!res.checks[PG_CHECK_REVOCATION].performed);
    all = requests();
    CHECK(json_array_size(all) == 0);
    json_decref(all);
}

struct service_failure {
    const char *mode;
    const char *text[3];
};

static void service_failures_deny_strict_and_are_logged_otherwise(void)
{
    static const struct service_failure failures[] = {
        {"denied",
         {"http 403, AccessDeniedException: User: arn:aws:iam::111122223333:user/node is not "
          "authorized to perform: signer:GetRevocationStatus",
          "(request id fake-request-1)", NULL}},
        {"cross-partition", {"http 400, ValidationException: ", "another partition", NULL}},
        {"hang", {"no answer within", NULL, NULL}},
    };
    size_t i;
    size_t j;

    use_env_creds();
    for (i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
        struct pg_sig_result res;
        int64_t started = pg_now_ms();

        set_mode(failures[i].mode);
        CHECK(verify_aws(STRICT, "\"" PROFILE_ARN "\"", good_env, &res) == PG_ERR_UPSTREAM);
        CHECK(pg_now_ms() - started < 6000);
        for (j = 0; j < 3 && failures[i].text[j] != NULL; j++) {
            CHECK(strstr(res.msg, failures[i].text[j]) != NULL);
        }
        CHECK(strstr(res.msg, TEST_SECRET) == NULL && strstr(res.msg, TEST_TOKEN) == NULL);
        CHECK(strstr(res.msg, "Signature=") == NULL);
        set_mode(failures[i].mode);
        CHECK(verify_aws("{\"level\":\"permissive\"}", "\"" PROFILE_ARN "\"", good_env, &res) ==
              PG_OK);
        CHECK(res.checks[PG_CHECK_REVOCATION].status == PG_ERR_UPSTREAM);
    }
}

static void answers_are_cached_and_failures_are_not(void)
{
    struct pg_sig_result res;
    json_t *all;
    struct fixture fx;

    set_mode("ok");
    use_env_creds();
    REQUIRE(open_aws(&fx, STRICT, "\"" PROFILE_ARN "\""));
    CHECK(fx_verify_file(&fx, good_env, &target, &res) == PG_OK);
    CHECK(fx_verify_file(&fx, good_env, &target, &res) == PG_OK);
    all = requests();
    CHECK(json_array_size(all) == 1);
    json_decref(all);
    fx.opts.aws_signer_cache_ttl_s = 0;
    pg_awssigner_cache_clear();
    CHECK(fx_verify_file(&fx, good_env, &target, &res) == PG_OK);
    CHECK(fx_verify_file(&fx, good_env, &target, &res) == PG_OK);
    all = requests();
    CHECK(json_array_size(all) == 3);
    json_decref(all);
    fx_close(&fx);
}

static void offline_without_credentials_denies_strict(void)
{
    struct pg_sig_result res;

    set_mode("ok");
    use_env_creds();
    no_env_creds();
    CHECK(verify_aws(STRICT, "\"" PROFILE_ARN "\"", good_env, &res) == PG_ERR_UPSTREAM);
    CHECK(strstr(res.msg, "no aws credentials") != NULL);
    CHECK(verify_aws("{\"level\":\"permissive\"}", "\"" PROFILE_ARN "\"", good_env, &res) == PG_OK);
}

/* ---- the credential chain ------------------------------------------------------- */

static const json_t *last_revocation(const json_t *all)
{
    size_t i;
    const json_t *found = NULL;
    json_t *v;

    json_array_foreach(all, i, v)
    {
        const char *path = json_string_value(json_object_get(v, "path"));

        if (path != NULL && strcmp(path, "/revocations") == 0) {
            found = v;
        }
    }
    return found;
}

static void shared_credentials_file_is_used(void)
{
    struct pg_sig_result res;
    char *file = in_work("credentials");
    const char *text =
        "[default]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = x\n"
        "[pg]\naws_access_key_id = " TEST_KEY "\naws_secret_access_key = " TEST_SECRET "\n";
    json_t *all;
    const json_t *req;

    set_mode("ok");
    use_env_creds();
    no_env_creds();
    REQUIRE(file != NULL && fx_write(file, text, strlen(text)));
    setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
    setenv("AWS_PROFILE", "pg", 1);
    CHECK(verify_aws(STRICT, "\"" PROFILE_ARN "\"", good_env, &res) == PG_OK);
    all = requests();
    req = last_revocation(all);
    REQUIRE(req != NULL);
    CHECK(json_is_true(json_object_get(req, "signature_valid")));
    CHECK(json_object_get(req, "security_token") == NULL ||
          json_is_null(json_object_get(req, "security_token")));
    unsetenv("AWS_PROFILE");
    json_decref(all);
    pg_free(file);
}

static void web_identity_is_exchanged_at_sts(void)
{
    struct pg_sig_result res;
    char *token = in_work("web-identity-token");
    json_t *all;
    const json_t *req;
    const char *body;

    set_mode("ok");
    use_env_creds();
    no_env_creds();
    REQUIRE(token != NULL && fx_write(token, "eyJ.web.token\n", 14));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::" ACCOUNT ":role/pullgate", 1);
    setenv("AWS_ENDPOINT_URL_STS", fake_url, 1);
    CHECK(verify_aws(STRICT, "\"" PROFILE_ARN "\"", good_env, &res) == PG_OK);
    all = requests();
    REQUIRE(json_array_size(all) == 2);
    body = json_string_value(json_object_get(json_array_get(all, 0), "body"));
    REQUIRE(body != NULL);
    CHECK(strstr(body, "Action=AssumeRoleWithWebIdentity") != NULL);
    CHECK(strstr(body, "RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fpullgate") != NULL);
    CHECK(strstr(body, "WebIdentityToken=eyJ.web.token") != NULL);
    req = last_revocation(all);
    REQUIRE(req != NULL);
    CHECK(strstr(json_string_value(json_object_get(req, "authorization")), "ASIAFAKESTS/") != NULL);
    CHECK(json_is_true(json_object_get(req, "signature_valid")));
    CHECK(strcmp(json_string_value(json_object_get(req, "security_token")), "sts-session-token") ==
          0);
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_ENDPOINT_URL_STS");
    json_decref(all);
    pg_free(token);
}

/* The host the web identity exchange tunnels to, seen by pg-fakeaws as a proxy. */
static char *sts_host_for(const char *region)
{
    struct pg_aws_creds creds;
    struct pg_err err;
    json_t *all;
    const char *method;
    char *host = NULL;

    set_mode("ok");
    pg_err_init(&err);
    CHECK(pg_awscreds_get(region, NULL, 2000, &creds, &err) != PG_OK);
    all = requests();
    method = json_string_value(json_object_get(json_array_get(all, 0), "method"));
    if (method != NULL && strcmp(method, "CONNECT") == 0) {
        host = pg_strdup(json_string_value(json_object_get(json_array_get(all, 0), "path")));
    }
    pg_awscreds_wipe(&creds);
    json_decref(all);
    return host;
}

static void sts_is_asked_in_the_partition_of_the_region(void)
{
    char *token = in_work("web-identity-token");
    char *host;

    use_env_creds();
    no_env_creds();
    REQUIRE(token != NULL && fx_write(token, "eyJ.web.token\n", 14));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::" ACCOUNT ":role/pullgate", 1);
    unsetenv("AWS_ENDPOINT_URL_STS");
    setenv("HTTPS_PROXY", fake_url, 1);
    host = sts_host_for("us-east-1");
    CHECK(host != NULL && strcmp(host, "sts.us-east-1.amazonaws.com:443") == 0);
    pg_free(host);
    host = sts_host_for("us-gov-west-1");
    CHECK(host != NULL && strcmp(host, "sts.us-gov-west-1.amazonaws.com:443") == 0);
    pg_free(host);
    host = sts_host_for("cn-north-1");
    CHECK(host != NULL && strcmp(host, "sts.cn-north-1.amazonaws.com.cn:443") == 0);
    pg_free(host);
    unsetenv("HTTPS_PROXY");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    pg_free(token);
}

/* A loopback port that takes connections and never answers; *fd to close. */
static int black_hole(int *fd, char *url, size_t url_len)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(*fd, 8) != 0 ||
        getsockname(*fd, (struct sockaddr *)&sa, &len) != 0) {
        return 0;
    }
    snprintf(url, url_len, "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    return 1;
}

static void credential_chain_keeps_to_its_time(void)
{
    char *token = in_work("web-identity-token");
    struct pg_aws_creds creds;
    struct pg_err err;
    char url[64];
    int64_t started;
    int fd = -1;

    use_env_creds();
    no_env_creds();
    pg_awscreds_cache_clear();
    REQUIRE(black_hole(&fd, url, sizeof(url)));
    REQUIRE(token != NULL && fx_write(token, "eyJ.web.token\n", 14));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::" ACCOUNT ":role/pullgate", 1);
    setenv("AWS_ENDPOINT_URL_STS", url, 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    pg_err_init(&err);
    started = pg_now_ms();
    CHECK(pg_awscreds_get("us-east-1", NULL, 1200, &creds, &err) != PG_OK);
    CHECK(pg_now_ms() - started < 1800); /* sts and imds together, not each */
    pg_awscreds_wipe(&creds);
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_ENDPOINT_URL_STS");
    unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    close(fd);
    pg_free(token);
}

static void instance_metadata_is_asked_with_a_token(void)
{
    struct pg_sig_result res;
    json_t *all;
    const json_t *req;

    set_mode("ok");
    use_env_creds();
    no_env_creds();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_url, 1);
    CHECK(verify_aws(STRICT, "\"" PROFILE_ARN "\"", good_env, &res) == PG_OK);
    all = requests();
    REQUIRE(json_array_size(all) == 4);
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(all, 0), "method")), "PUT") == 0);
    req = last_revocation(all);
    REQUIRE(req != NULL);
    CHECK(strstr(json_string_value(json_object_get(req, "authorization")), "ASIAFAKEIMDS/") !=
          NULL);
    CHECK(json_is_true(json_object_get(req, "signature_valid")));
    CHECK(strcmp(json_string_value(json_object_get(req, "security_token")),
                 "imds-credential-token") == 0);
    unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    json_decref(all);
}

int main(void)
{
    if (!mint_all() || !start_fake()) {
        fprintf(stderr, "needs PG_BUILD_DIR with tests/pg-testsign and tests/pg-fakeaws\n");
        stop_fake();
        return 1;
    }
    PG_RUN("signing-profile arns match as the aws plugin matches them",
           arns_match_as_the_plugin_matches);
    PG_RUN("the documented policy admits an aws-shaped signature by profile or version arn",
           documented_policy_admits_the_signature);
    PG_RUN("other accounts, regions, profiles, versions and the singular path are untrusted",
           other_arns_are_untrusted);
    PG_RUN("a wildcard trusted identity is refused", wildcard_identity_is_refused);
    PG_RUN("an attribute the verifier does not process fails", unprocessed_attribute_fails);
    PG_RUN("aws_signer off refuses and plugin needs the installed plugin",
           configuration_selects_the_implementation);
    PG_RUN("the revocation request is sigv4-signed and carries the right parameters",
           revocation_request_is_signed_and_complete);
    PG_RUN("a revoked signing job denies at strict and is logged at permissive and audit",
           revoked_job_follows_the_level);
    PG_RUN("revocation skipped by the statement is not asked", skipped_revocation_is_not_asked);
    PG_RUN("access denied, validation errors and timeouts deny strict with aws's words and no "
           "secret",
           service_failures_deny_strict_and_are_logged_otherwise);
    PG_RUN("answers are cached for the ttl and not at all with ttl 0",
           answers_are_cached_and_failures_are_not);
    PG_RUN("without credentials the check fails: strict denies, permissive logs",
           offline_without_credentials_denies_strict);
    PG_RUN("the shared credentials file's profile signs the request",
           shared_credentials_file_is_used);
    PG_RUN("web identity is exchanged at sts for temporary credentials",
           web_identity_is_exchanged_at_sts);
    PG_RUN("web identity is exchanged at the sts of the region's partition",
           sts_is_asked_in_the_partition_of_the_region);
    PG_RUN("web identity and instance metadata share one time bound",
           credential_chain_keeps_to_its_time);
    PG_RUN("instance metadata is asked with an imdsv2 token",
           instance_metadata_is_asked_with_a_token);
    stop_fake();
    pg_check_rmtree(work);
    pg_free(work);
    pg_free(good_env);
    pg_free(extra_env);
    pg_free(root_pem);
    pg_free(chain_pem);
    pg_free(fake_log);
    pg_free(fake_mode);
    return pg_check_done();
}
