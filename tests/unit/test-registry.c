/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for registry.c and auth.c against tests/tools/pg-testregistry:
 * manifests and blobs, every form of credentials, redirects, limits,
 * deadlines, TLS enforcement and referrers pagination.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "auth.h"
#include "check.h"
#include "jsonutil.h"
#include "mem.h"
#include "reference.h"
#include "registry-fixture.h"
#include "registry.h"

#define LAYOUT "notation-go/internal/testdata/oci-layout/blobs/sha256/"
#define MANIFEST_DIGEST "sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0"
#define CONFIG_DIGEST "sha256:572996c3caeacea40b947911a9dda21516c082b5a64af30048a02a6f5eb956d4"
#define SIG_TYPE "application/vnd.cncf.notary.signature"

static char *manifest_path(void)
{
    return pg_check_vector(LAYOUT
                           "19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0");
}

static json_t *manifest_route(const char *path)
{
    char *file = manifest_path();
    json_t *r = fx_route(path, 200, PG_MT_OCI_MANIFEST, NULL);

    json_object_set_new(r, "body_file", json_string(file));
    pg_free(file);
    return r;
}

/* GETs the manifest at tag "v1" of repository "app"; returns the status. */
static enum pg_status get_v1(const struct fixture *f, struct pg_registry_client *c,
                             const struct pg_credentials *creds, const struct pg_deadline *dl,
                             struct pg_descriptor *desc, struct pg_err *err)
{
    struct pg_registry_session *s = fx_session(f, c, "app", creds, dl, err);
    struct pg_blob body = {0};
    enum pg_status rc;

    if (s == NULL) {
        return err->status;
    }
    rc = pg_registry_get_manifest(s, "v1", &body, desc, err);
    pg_blob_clear(&body);
    pg_registry_session_free(s);
    return rc;
}

/* How many logged requests on listener have path and an Authorization equal to auth
 * (auth "" for none, NULL for any). */
static int count_requests(const struct fixture *f, int listener, const char *path, const char *auth)
{
    json_t *all = fx_requests(f);
    size_t i;
    json_t *r;
    int n = 0;

    json_array_foreach(all, i, r)
    {
        const json_t *a = json_object_get(r, "authorization");

        if (json_integer_value(json_object_get(r, "listener")) != listener ||
            strcmp(json_string_value(json_object_get(r, "path")), path) != 0) {
            continue;
        }
        if (auth == NULL || (auth[0] == '\0' && json_is_null(a)) ||
            (json_is_string(a) && strcmp(json_string_value(a), auth) == 0)) {
            n++;
        }
    }
    json_decref(all);
    return n;
}

static void manifest_digest_is_computed_over_the_bytes(void)
{
    struct fixture f;
    json_t *r = manifest_route("/v2/app/manifests/v1");
    struct pg_registry_client *c = NULL;
    struct pg_descriptor d = {0};
    struct pg_err err;
    json_t *all;
    const char *accept;

    fx_header(r, "Docker-Content-Digest",
              "sha256:"
              "0000000000000000000000000000000000000000"
              "000000000000000000000000");
    REQUIRE(fx_start(&f, json_pack("[o]", r)) == 0);
    c = fx_client(&f, 2, 5000, NULL);
    pg_err_init(&err);
    CHECK(get_v1(&f, c, NULL, NULL, &d, &err) == PG_OK);
    CHECK(d.digest != NULL && strcmp(d.digest, MANIFEST_DIGEST) == 0);
    CHECK(d.media_type != NULL && strcmp(d.media_type, PG_MT_OCI_MANIFEST) == 0);
    CHECK(d.size == 481);
    all = fx_requests(&f);
    accept = json_string_value(json_object_get(json_array_get(all, 0), "accept"));
    CHECK(accept != NULL && strstr(accept, PG_MT_OCI_MANIFEST) && strstr(accept, PG_MT_OCI_INDEX) &&
          strstr(accept, PG_MT_DOCKER_MANIFEST) && strstr(accept, PG_MT_DOCKER_LIST));
    json_decref(all);
    pg_descriptor_clear(&d);
    pg_registry_client_free(c);
    fx_stop(&f);
}

static void manifest_by_digest_with_wrong_bytes_is_refused(void)
{
    struct fixture f;
    struct pg_registry_client *c = NULL;
    struct pg_registry_session *s = NULL;
    struct pg_blob body = {0};
    struct pg_descriptor d = {0};
    struct pg_err err;
    const char *other = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    char path[200];

    snprintf(path, sizeof(path), "/v2/app/manifests/%s", other);
    REQUIRE(fx_start(&f, json_pack("[o]", manifest_route(path))) == 0);
    c = fx_client(&f, 2, 5000, NULL);
    pg_err_init(&err);
    s = fx_session(&f, c, "app", NULL, NULL, &err);
    REQUIRE(s != NULL);
    CHECK(pg_registry_get_manifest(s, other, &body, &d, &err) == PG_ERR_REGISTRY);
    CHECK(strstr(err.msg, "digest") != NULL && strstr(err.msg, MANIFEST_DIGEST) != NULL);
    CHECK(body.data == NULL && d.digest == NULL);
    pg_registry_session_free(s);
    pg_registry_client_free(c);
    fx_stop(&f);
}

/* Serves route at /v2/app/manifests/v1 and expects get_v1 to fail with want. */
static void expect_v1_failure(json_t *route, long timeout_ms, const struct pg_deadline *dl,
                              enum pg_status want, const char *const *needles)
{
    struct fixture f;
    struct pg_registry_client *c = NULL;
    struct pg_descriptor d = {0};
    struct pg_err err;
    enum pg_status rc;

    REQUIRE(fx_start(&f, json_pack("[o]", route)) == 0);
    c = fx_client(&f, 2, timeout_ms, NULL);
    pg_err_init(&err);
    rc = get_v1(&f, c, NULL, dl, &d, &err);
    CHECK(rc == want);
    CHECK(err.status == want);
    for (size_t i = 0; needles != NULL && needles[i] != NULL; i++) {
        CHECK(strstr(err.msg, needles[i]) != NULL);
    }
    if (pg_check_failed_now()) {
        fprintf(stderr, "    got %s: %s\n", pg_status_name(rc), err.msg);
    }
    pg_descriptor_clear(&d);
    pg_registry_client_free(c);
    fx_stop(&f);
}

static void oversized_manifest_is_refused(void)
{
    json_t *r = fx_route("/v2/app/manifests/v1", 200, PG_MT_OCI_MANIFEST, NULL);
    const char *needles[] = {"larger than", NULL};

    json_object_set_new(r, "body_size", json_integer((5 << 20)));
    expect_v1_failure(r, 5000, NULL, PG_ERR_LIMIT, needles);
}

static void endless_manifest_is_cut_at_the_limit(void)
{
    json_t *r = fx_route("/v2/app/manifests/v1", 200, PG_MT_OCI_MANIFEST, NULL);
    const char *needles[] = {"larger than", NULL};

    json_object_set_new(r, "mode", json_string("endless"));
    expect_v1_failure(r, 20000, NULL, PG_ERR_LIMIT, needles);
}

static void slow_body_hits_the_deadline(void)
{
    json_t *r = fx_route("/v2/app/manifests/v1", 200, PG_MT_OCI_MANIFEST, NULL);
    struct pg_deadline dl = {.at_ms = pg_now_ms() + 1000};
    int64_t start = pg_now_ms();

    json_object_set_new(r, "mode", json_string("slow"));
    json_object_set_new(r, "slow_ms", json_integer(200));
    json_object_set_new(r, "body_size", json_integer(100));
    expect_v1_failure(r, 20000, &dl, PG_ERR_TIMEOUT, NULL);
    CHECK(pg_now_ms() - start < 5000);
}

static void slow_body_hits_the_request_timeout(void)
{
    json_t *r = fx_route("/v2/app/manifests/v1", 200, PG_MT_OCI_MANIFEST, NULL);
    const char *needles[] = {"/v2/app/manifests/v1", NULL};

    json_object_set_new(r, "mode", json_string("slow"));
    json_object_set_new(r, "slow_ms", json_integer(200));
    json_object_set_new(r, "body_size", json_integer(100));
    expect_v1_failure(r, 800, NULL, PG_ERR_TIMEOUT, needles);
}

static void wrong_content_type_is_refused(void)
{
    json_t *r = manifest_route("/v2/app/manifests/v1");
    const char *needles[] = {"text/html", NULL};

    fx_header(r, "Content-Type", "text/html");
    expect_v1_failure(r, 5000, NULL, PG_ERR_UNSUPPORTED, needles);
}

static void oci_error_body_is_reported_with_status_and_path(void)
{
    json_t *r =
        fx_route("/v2/app/manifests/v1", 500, "application/json",
                 "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"disk \\\"on\\\" fire\\n\"}]}");
    const char *needles[] = {"500", "/v2/app/manifests/v1", "UNKNOWN", "disk \\\"on\\\" fire\\x0a",
                             NULL};

    expect_v1_failure(r, 5000, NULL, PG_ERR_REGISTRY, needles);
}

static void missing_manifest_is_not_found(void)
{
    const char *needles[] = {"404", NULL};

    expect_v1_failure(fx_route("/v2/other/manifests/v1", 200, NULL, "x"), 5000, NULL,
                      PG_ERR_NOT_FOUND, needles);
}

static void passed_deadline_fails_at_once(void)
{
    atomic_int cancelled = 1;
    struct pg_deadline dl = {.at_ms = 0, .cancelled = &cancelled};

    expect_v1_failure(manifest_route("/v2/app/manifests/v1"), 5000, &dl, PG_ERR_CANCELLED, NULL);
}

/* ---- authentication ---- */

static json_t *basic_routes(void)
{
    json_t *r = manifest_route("/v2/app/manifests/v1");

    json_object_set_new(r, "auth", json_pack("{s:s}", "basic", "alice:s3cret"));
    return json_pack("[o]", r);
}

static void run_auth(json_t *routes, const struct pg_credentials *creds, enum pg_status want,
                     struct fixture *f)
{
    struct pg_registry_client *c = NULL;
    struct pg_descriptor d = {0};
    struct pg_err err;
    enum pg_status rc;

    f->pid = -1;
    REQUIRE(fx_start(f, routes) == 0);
    c = fx_client(f, 2, 5000, NULL);
    pg_err_init(&err);
    rc = get_v1(f, c, creds, NULL, &d, &err);
    CHECK(rc == want);
    if (rc == PG_OK) {
        CHECK(d.digest != NULL && strcmp(d.digest, MANIFEST_DIGEST) == 0);
    }
    if (pg_check_failed_now()) {
        fprintf(stderr, "    got %s: %s\n", pg_status_name(rc), err.msg);
    }
    pg_descriptor_clear(&d);
    pg_registry_client_free(c);
}

static void basic_auth_answers_the_challenge(void)
{
    struct pg_credentials creds = {.username = "alice", .password = "s3cret"};
    struct fixture f;

    run_auth(basic_routes(), &creds, PG_OK, &f);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", "") == 1);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", "Basic YWxpY2U6czNjcmV0") == 1);
    fx_stop(&f);
}

static void auth_field_is_decoded_as_user_and_password(void)
{
    struct pg_credentials creds = {.auth = "YWxpY2U6czNjcmV0"};
    struct fixture f;

    run_auth(basic_routes(), &creds, PG_OK, &f);
    fx_stop(&f);
}

static void wrong_password_is_an_auth_failure(void)
{
    struct pg_credentials creds = {.username = "alice", .password = "nope"};
    struct fixture f;

    run_auth(basic_routes(), &creds, PG_ERR_REGISTRY_AUTH, &f);
    fx_stop(&f);
}

static void basic_challenge_without_credentials_fails(void)
{
    struct fixture f;

    run_auth(basic_routes(), NULL, PG_ERR_REGISTRY_AUTH, &f);
    fx_stop(&f);
}

static void credentials_for_another_server_address_are_not_used(void)
{
    struct pg_credentials other = {
        .username = "alice", .password = "s3cret", .server_address = "https://other.example"};
    struct pg_credentials bare = {.username = "alice", .password = "s3cret"};
    struct pg_credentials match = {.username = "alice", .password = "s3cret"};
    struct fixture f;
    char host[64];
    char url[80];

    run_auth(basic_routes(), &other, PG_ERR_REGISTRY_AUTH, &f);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", "") == 1);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", NULL) == 1);
    snprintf(host, sizeof(host), "%s", f.host1);
    fx_stop(&f);
    /* a bare host is no URL: containerd never matches it, neither do we */
    run_auth(basic_routes(), &bare, PG_OK, &f);
    fx_stop(&f);
    f.pid = -1;
    REQUIRE(fx_start(&f, basic_routes()) == 0);
    {
        struct pg_registry_client *c = fx_client(&f, 2, 5000, NULL);
        struct pg_descriptor d = {0};
        struct pg_err err;

        pg_err_init(&err);
        bare.server_address = f.host1;
        CHECK(get_v1(&f, c, &bare, NULL, &d, &err) == PG_ERR_REGISTRY_AUTH);
        pg_err_init(&err);
        snprintf(url, sizeof(url), "http://%s", f.host1);
        match.server_address = url;
        CHECK(get_v1(&f, c, &match, NULL, &d, &err) == PG_OK);
        pg_descriptor_clear(&d);
        pg_registry_client_free(c);
    }
    fx_stop(&f);
}

static json_t *bearer_routes(json_t *token)
{
    json_t *r = manifest_route("/v2/app/manifests/v1");
    json_t *t = fx_route("/token", 200, NULL, NULL);

    json_object_set_new(r, "auth",
                        json_pack("{s:s,s:s,s:s}", "bearer", "T0KEN", "realm",
                                  "http://127.0.0.1:{{PORT}}/token", "scope",
                                  "repository:app:pull"));
    json_object_set_new(token, "token", json_string("T0KEN"));
    json_object_set_new(t, "token", token);
    json_object_set_new(
        t, "method", json_string(json_object_get(token, "refresh_token") != NULL ? "POST" : "GET"));
    return json_pack("[o,o]", r, t);
}

static void bearer_token_is_fetched_with_service_and_scope(void)
{
    struct pg_credentials creds = {.username = "alice", .password = "s3cret"};
    struct fixture f;
    json_t *all;
    size_t i;
    json_t *r;
    int seen = 0;

    run_auth(bearer_routes(
                 json_pack("{s:s,s:s}", "basic", "alice:s3cret", "scope", "repository:app:pull")),
             &creds, PG_OK, &f);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", "Bearer T0KEN") == 1);
    all = fx_requests(&f);
    json_array_foreach(all, i, r)
    {
        const json_t *q = json_object_get(r, "query");

        if (strcmp(json_string_value(json_object_get(r, "path")), "/token") == 0) {
            seen++;
            CHECK(strcmp(json_string_value(json_object_get(q, "service")), "pg-test") == 0);
            CHECK(strcmp(json_string_value(json_object_get(q, "scope")), "repository:app:pull") ==
                  0);
        }
    }
    CHECK(seen == 1);
    json_decref(all);
    fx_stop(&f);
}

static void anonymous_token_with_access_token_field_is_used(void)
{
    struct fixture f;

    run_auth(bearer_routes(json_pack("{s:s}", "field", "access_token")), NULL, PG_OK, &f);
    CHECK(count_requests(&f, 1, "/token", "") == 1);
    fx_stop(&f);
}

static void identity_token_is_traded_as_a_refresh_token(void)
{
    struct pg_credentials creds = {.identity_token = "R3FRESH"};
    struct fixture f;
    json_t *all;
    size_t i;
    json_t *r;
    int posts = 0;

    run_auth(
        bearer_routes(json_pack("{s:s,s:s}", "refresh_token", "R3FRESH", "field", "access_token")),
        &creds, PG_OK, &f);
    all = fx_requests(&f);
    json_array_foreach(all, i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "method")), "POST") == 0) {
            const char *body = json_string_value(json_object_get(r, "body"));

            posts++;
            CHECK(body != NULL && strstr(body, "grant_type=refresh_token") != NULL);
            CHECK(body != NULL && strstr(body, "scope=repository%3Aapp%3Apull") != NULL);
        }
    }
    CHECK(posts == 1);
    json_decref(all);
    fx_stop(&f);
}

static void registry_token_is_sent_as_the_bearer_token(void)
{
    struct pg_credentials creds = {.registry_token = "T0KEN"};
    struct fixture f;

    run_auth(bearer_routes(json_object()), &creds, PG_OK, &f);
    CHECK(count_requests(&f, 1, "/token", NULL) == 0);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", "Bearer T0KEN") == 1);
    fx_stop(&f);
}

static void refused_token_request_is_an_auth_failure(void)
{
    struct pg_credentials creds = {.username = "alice", .password = "wrong"};
    struct fixture f;

    run_auth(bearer_routes(json_pack("{s:s}", "basic", "alice:s3cret")), &creds,
             PG_ERR_REGISTRY_AUTH, &f);
    fx_stop(&f);
}

/* ---- docker config.json ---- */

static void write_file(const char *path, const char *text, int mode)
{
    FILE *out = fopen(path, "w");

    if (out != NULL) {
        fputs(text, out);
        fclose(out);
    }
    chmod(path, (mode_t)mode);
}

/* config with every "HOST" replaced by host. */
static char *fill_host(const char *config, const char *host)
{
    const char *at = strstr(config, "HOST");

    if (at == NULL) {
        return pg_strdup(config);
    }
    return pg_asprintf("%.*s%s%s", (int)(at - config), config, host, at + 4);
}

static void run_with_config(const char *config_tmpl, int use_helper)
{
    struct fixture f;
    struct pg_registry_client *c = NULL;
    struct pg_descriptor d = {0};
    struct pg_err err;
    char *cfg_path = NULL;
    char *cfg = NULL;
    char *helper = NULL;
    char *old_path = pg_strdup(getenv("PATH"));
    char *new_path = NULL;

    REQUIRE(fx_start(&f, basic_routes()) == 0);
    cfg_path = pg_asprintf("%s/config.json", f.dir);
    cfg = fill_host(config_tmpl, f.host1);
    write_file(cfg_path, cfg, 0600);
    if (use_helper) {
        helper = pg_asprintf("%s/docker-credential-pgtest", f.dir);
        write_file(helper,
                   "#!/bin/sh\nread server\n"
                   "printf '{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}' "
                   "\"$server\"\n",
                   0700);
        new_path = pg_asprintf("%s:%s", f.dir, old_path != NULL ? old_path : "/usr/bin:/bin");
        setenv("PATH", new_path, 1);
    }
    c = fx_client(&f, 2, 5000, cfg_path);
    pg_err_init(&err);
    CHECK(get_v1(&f, c, NULL, NULL, &d, &err) == PG_OK);
    if (pg_check_failed_now()) {
        fprintf(stderr, "    %s\n", err.msg);
    }
    if (old_path != NULL) {
        setenv("PATH", old_path, 1);
    }
    pg_descriptor_clear(&d);
    pg_registry_client_free(c);
    fx_stop(&f);
    pg_free(cfg_path);
    pg_free(cfg);
    pg_free(helper);
    pg_free(old_path);
    pg_free(new_path);
}

static void docker_config_auths_entry_is_used(void)
{
    run_with_config("{\"auths\":{\"http://HOST/v1/\":{\"auth\":\"YWxpY2U6czNjcmV0\"}}}", 0);
}

static void docker_config_cred_helper_is_run(void)
{
    run_with_config("{\"credHelpers\":{\"HOST\":\"pgtest\"}}", 1);
}

static void docker_config_creds_store_is_run(void)
{
    run_with_config("{\"auths\":{\"HOST\":{}},\"credsStore\":\"pgtest\"}", 1);
}

static void helper_name_with_a_slash_is_refused(void)
{
    char *dir = pg_check_tmpdir();
    char *path = pg_asprintf("%s/config.json", dir);
    struct pg_credentials c = {0};
    struct pg_err err;

    write_file(path, "{\"credsStore\":\"../../bin/sh\"}", 0600);
    pg_err_init(&err);
    CHECK(pg_auth_from_docker_config(path, "r.io", NULL, &c, &err) == PG_ERR_CONFIG);
    pg_err_init(&err);
    CHECK(pg_auth_from_docker_config("/nonexistent/config.json", "r.io", NULL, &c, &err) == PG_OK);
    CHECK(c.username == NULL && c.identity_token == NULL);
    pg_check_rmtree(dir);
    pg_free(dir);
    pg_free(path);
}

/* A docker config named on a command line must be there and be JSON. */
static void docker_config_check_names_the_file(void)
{
    char *dir = pg_check_tmpdir();
    char *path = pg_asprintf("%s/config.json", dir);
    struct pg_err err;

    pg_err_init(&err);
    CHECK(pg_auth_check_docker_config("/nonexistent/config.json", &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "\"/nonexistent/config.json\": No such file") != NULL);
    write_file(path, "{\"auths\": ", 0600);
    pg_err_init(&err);
    CHECK(pg_auth_check_docker_config(path, &err) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, path) != NULL && strstr(err.msg, "is not valid JSON") != NULL);
    write_file(path, "[]", 0600);
    pg_err_init(&err);
    CHECK(pg_auth_check_docker_config(path, &err) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, "is not a JSON object") != NULL);
    pg_err_init(&err);
    CHECK(pg_auth_check_docker_config(dir, &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "is not a regular file") != NULL);
    write_file(path, "{}", 0600);
    pg_err_init(&err);
    CHECK(pg_auth_check_docker_config(path, &err) == PG_OK);
    pg_check_rmtree(dir);
    pg_free(dir);
    pg_free(path);
}

/* A docker config whose shape is wrong is refused, naming the file and the entry. */
static void docker_config_check_refuses_a_wrong_shape(void)
{
    static const struct {
        const char *json;
        const char *msg;
    } bad[] = {
        {"{\"auths\":[]}", "\"auths\" is not a JSON object"},
        {"{\"auths\":{\"r.io\":\"str\"}}", "auths entry \"r.io\": is not a JSON object"},
        {"{\"auths\":{\"r.io\":null}}", "auths entry \"r.io\": is not a JSON object"},
        {"{\"auths\":{\"r.io\":{\"auth\":5}}}", "auths entry \"r.io\": \"auth\" is not a string"},
        {"{\"auths\":{\"r.io\":{\"username\":true}}}",
         "auths entry \"r.io\": \"username\" is not a string"},
        {"{\"auths\":{\"r.io\":{\"auth\":\"!!not base64!!\"}}}",
         "auths entry \"r.io\": registry auth value is not valid base64"},
        {"{\"auths\":{\"r.io\":{\"auth\":\"YWxpY2U=\"}}}",
         "auths entry \"r.io\": registry auth value is not user:password"},
        {"{\"credHelpers\":[]}", "\"credHelpers\" is not a JSON object"},
        {"{\"credHelpers\":{\"r.io\":5}}", "credHelpers entry \"r.io\" is not the name"},
        {"{\"credHelpers\":{\"r.io\":\"../sh\"}}", "credHelpers entry \"r.io\" is not the name"},
        {"{\"credsStore\":5}", "\"credsStore\" is not the name of a credential helper"},
    };
    static const char *const good[] = {
        "{\"auths\":{}}",
        "{\"auths\":{\"r.io\":{}}}",
        "{\"auths\":{\"r.io\":{\"auth\":\"YWxpY2U6czNjcmV0\"}}}",
        "{\"auths\":{\"r.io\":{\"auth\":\"!!\",\"identitytoken\":\"t\"}}}",
        "{\"auths\":{\"r.io\":{\"username\":\"a\",\"password\":\"b\",\"email\":5}}}",
        "{\"credHelpers\":{\"r.io\":\"ecr-login\"},\"credsStore\":\"\"}",
        "{\"credsStore\":\"desktop\"}",
    };
    char *dir = pg_check_tmpdir();
    char *path = pg_asprintf("%s/config.json", dir);
    struct pg_err err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, bad[i].json, 0600);
        pg_err_init(&err);
        CHECK(pg_auth_check_docker_config(path, &err) == PG_ERR_CONFIG);
        CHECK(strstr(err.msg, path) != NULL && strstr(err.msg, bad[i].msg) != NULL);
        if (pg_check_failed_now()) {
            fprintf(stderr, "    %s: %s\n", bad[i].json, err.msg);
        }
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        write_file(path, good[i], 0600);
        pg_err_init(&err);
        CHECK(pg_auth_check_docker_config(path, &err) == PG_OK);
        if (pg_check_failed_now()) {
            fprintf(stderr, "    %s: %s\n", good[i], err.msg);
        }
    }
    pg_check_rmtree(dir);
    pg_free(dir);
    pg_free(path);
}

static void challenge_parser_reads_quoted_parameters(void)
{
    struct pg_auth_challenge ch = {0};
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(pg_auth_parse_challenge("Bearer realm=\"https://auth.example/t\",service=\"reg\","
                                    "scope=\"repository:a/b:pull,push\"",
                                    &ch, &err) == PG_OK);
    CHECK(ch.scheme == PG_AUTH_BEARER);
    CHECK(strcmp(ch.realm, "https://auth.example/t") == 0);
    CHECK(strcmp(ch.service, "reg") == 0);
    CHECK(strcmp(ch.scope, "repository:a/b:pull,push") == 0);
    pg_auth_challenge_clear(&ch);
    CHECK(pg_auth_parse_challenge("Bearer realm=\"unterminated", &ch, &err) == PG_ERR_PARSE);
}

/* ---- redirects and TLS ---- */

static json_t *redirect_routes(const char *blob_digest, const char *target)
{
    char path[200];
    json_t *r;
    json_t *storage = fx_route("/storage/blob", 200, "application/octet-stream", "{}");

    snprintf(path, sizeof(path), "/v2/app/blobs/%s", blob_digest);
    r = fx_route(path, 307, NULL, NULL);
    fx_header(r, "Location", target);
    json_object_set_new(r, "auth", json_pack("{s:s}", "basic", "alice:s3cret"));
    json_object_set_new(storage, "listener", json_integer(2));
    return json_pack("[o,o]", r, storage);
}

static enum pg_status get_empty_blob(const struct fixture *f, int plain, struct pg_err *err)
{
    struct pg_credentials creds = {.username = "alice", .password = "s3cret"};
    struct pg_registry_client *c = fx_client(f, plain, 5000, NULL);
    struct pg_registry_session *s = fx_session(f, c, "app", &creds, NULL, err);
    struct pg_descriptor d = {.media_type = PG_MT_OCI_EMPTY, .size = 2};
    struct pg_blob body = {0};
    enum pg_status rc = err->status;

    d.digest = fx_digest("{}", 2);
    if (s != NULL) {
        rc = pg_registry_get_blob(s, &d, 1024, &body, err);
    }
    if (rc == PG_OK && (body.len != 2 || memcmp(body.data, "{}", 2) != 0)) {
        rc = PG_ERR_INTERNAL;
    }
    pg_blob_clear(&body);
    pg_free(d.digest);
    pg_registry_session_free(s);
    pg_registry_client_free(c);
    return rc;
}

static void credentials_are_not_sent_across_a_redirect(void)
{
    struct fixture f;
    struct pg_err err;
    char *digest = fx_digest("{}", 2);

    REQUIRE(fx_start(&f, redirect_routes(digest, "http://127.0.0.2:{{PORT2}}/storage/blob")) == 0);
    pg_err_init(&err);
    CHECK(get_empty_blob(&f, 2, &err) == PG_OK);
    CHECK(count_requests(&f, 2, "/storage/blob", "") == 1);
    CHECK(count_requests(&f, 2, "/storage/blob", NULL) == 1);
    CHECK(count_requests(&f, 1, "/storage/blob", NULL) == 0);
    if (pg_check_failed_now()) {
        fprintf(stderr, "    %s\n", err.msg);
    }
    fx_stop(&f);
    pg_free(digest);
}

static void redirect_to_an_unlisted_plain_http_host_is_refused(void)
{
    struct fixture f;
    struct pg_err err;
    char *digest = fx_digest("{}", 2);

    REQUIRE(fx_start(&f, redirect_routes(digest, "http://127.0.0.2:{{PORT2}}/storage/blob")) == 0);
    pg_err_init(&err);
    CHECK(get_empty_blob(&f, 1, &err) == PG_ERR_TLS);
    CHECK(strstr(err.msg, "plain http") != NULL);
    CHECK(count_requests(&f, 2, "/storage/blob", NULL) == 0);
    fx_stop(&f);
    pg_free(digest);
}

static void redirect_loop_is_bounded(void)
{
    struct fixture f;
    struct pg_err err;
    char *digest = fx_digest("{}", 2);
    char loop[200];

    snprintf(loop, sizeof(loop), "/v2/app/blobs/%s", digest);
    REQUIRE(fx_start(&f, redirect_routes(digest, loop)) == 0);
    pg_err_init(&err);
    CHECK(get_empty_blob(&f, 2, &err) == PG_ERR_LIMIT);
    CHECK(strstr(err.msg, "redirects") != NULL);
    fx_stop(&f);
    pg_free(digest);
}

static void unlisted_host_gets_https_and_fails_without_downgrade(void)
{
    struct fixture f;
    struct pg_registry_client *c = NULL;
    struct pg_descriptor d = {0};
    struct pg_err err;
    enum pg_status rc;

    REQUIRE(fx_start(&f, json_pack("[o]", manifest_route("/v2/app/manifests/v1"))) == 0);
    c = fx_client(&f, 0, 5000, NULL);
    pg_err_init(&err);
    rc = get_v1(&f, c, NULL, NULL, &d, &err);
    CHECK(rc == PG_ERR_TLS || rc == PG_ERR_IO);
    CHECK(strstr(err.msg, "https://") != NULL);
    CHECK(strstr(err.msg, "TLS") != NULL || strstr(err.msg, "connection") != NULL);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", NULL) == 0);
    if (pg_check_failed_now()) {
        fprintf(stderr, "    got %s: %s\n", pg_status_name(rc), err.msg);
    }
    pg_registry_client_free(c);
    fx_stop(&f);
}

static void blob_with_wrong_digest_is_refused(void)
{
    struct fixture f;
    struct pg_err err;
    char *digest = fx_digest("{}", 2);
    char path[200];
    json_t *r;

    snprintf(path, sizeof(path), "/v2/app/blobs/%s", digest);
    r = fx_route(path, 200, "application/octet-stream", "[]");
    json_object_set_new(r, "auth", json_pack("{s:s}", "basic", "alice:s3cret"));
    REQUIRE(fx_start(&f, json_pack("[o]", r)) == 0);
    pg_err_init(&err);
    CHECK(get_empty_blob(&f, 2, &err) == PG_ERR_REGISTRY);
    CHECK(strstr(err.msg, "digest") != NULL);
    fx_stop(&f);
    pg_free(digest);
}

/* GETs the blob {} (2 bytes, listed with size) served by route; anonymous. */
static enum pg_status get_blob_2(json_t *route, int64_t size, struct pg_err *err)
{
    struct fixture f;
    struct pg_registry_client *c = NULL;
    struct pg_registry_session *s = NULL;
    struct pg_descriptor d = {.media_type = PG_MT_OCI_EMPTY, .size = size};
    struct pg_blob body = {0};
    char path[200];
    enum pg_status rc = PG_ERR_INTERNAL;

    d.digest = fx_digest("{}", 2);
    snprintf(path, sizeof(path), "/v2/app/blobs/%s", d.digest);
    json_object_set_new(route, "path", json_string(path));
    pg_err_init(err);
    if (fx_start(&f, json_pack("[o]", route)) == 0) {
        c = fx_client(&f, 2, 3000, NULL);
        s = fx_session(&f, c, "app", NULL, NULL, err);
        rc = s != NULL ? pg_registry_get_blob(s, &d, 1024, &body, err) : err->status;
    }
    CHECK(rc != PG_OK || (body.len == 2 && memcmp(body.data, "{}", 2) == 0));
    pg_blob_clear(&body);
    pg_free(d.digest);
    pg_registry_session_free(s);
    pg_registry_client_free(c);
    fx_stop(&f);
    return rc;
}

static void blob_replies_that_lie_about_their_length_are_refused(void)
{
    struct pg_err err;
    json_t *r = fx_route("/", 200, "application/octet-stream", NULL);
    int64_t start = pg_now_ms();

    json_object_set_new(r, "body_size", json_integer(100));
    CHECK(get_blob_2(r, 2, &err) == PG_ERR_LIMIT);
    CHECK(strstr(err.msg, "larger than 2 bytes") != NULL);
    r = fx_route("/", 200, "application/octet-stream", "{");
    CHECK(get_blob_2(r, 2, &err) == PG_ERR_REGISTRY);
    CHECK(strstr(err.msg, "got 1 bytes, expected 2") != NULL);
    r = fx_route("/", 200, "application/octet-stream", NULL);
    json_object_set_new(r, "mode", json_string("short"));
    json_object_set_new(r, "body_size", json_integer(2));
    CHECK(get_blob_2(r, 2, &err) == PG_ERR_IO);
    CHECK(strstr(err.msg, "partial") != NULL);
    r = fx_route("/", 200, "application/octet-stream", NULL);
    json_object_set_new(r, "mode", json_string("endless"));
    CHECK(get_blob_2(r, 2, &err) == PG_ERR_LIMIT);
    r = fx_route("/", 200, "application/octet-stream", "{}");
    fx_header(r, "Content-Encoding", "gzip");
    CHECK(get_blob_2(r, 2, &err) == PG_OK);
    CHECK(get_blob_2(fx_route("/", 200, NULL, "{}"), 3, &err) == PG_ERR_REGISTRY);
    CHECK(get_blob_2(fx_route("/", 200, NULL, "{}"), -1, &err) == PG_ERR_INVALID_ARG);
    CHECK(get_blob_2(fx_route("/", 200, NULL, "{}"), INT64_MAX, &err) == PG_ERR_LIMIT);
    CHECK(pg_now_ms() - start < 10000);
}

static void endless_error_body_is_cut_and_reported(void)
{
    struct pg_err err;
    json_t *r = fx_route("/", 500, "application/json", NULL);
    int64_t start = pg_now_ms();

    json_object_set_new(r, "mode", json_string("endless"));
    CHECK(get_blob_2(r, 2, &err) == PG_ERR_REGISTRY);
    CHECK(strstr(err.msg, "HTTP 500") != NULL);
    CHECK(pg_now_ms() - start < 3000);
    r = fx_route("/", 307, NULL, NULL);
    json_object_set_new(r, "mode", json_string("endless"));
    CHECK(get_blob_2(r, 2, &err) == PG_ERR_REGISTRY);
    CHECK(strstr(err.msg, "HTTP 307") != NULL);
}

/* ---- referrers ---- */

#define SUBJECT "sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0"
#define REFERRERS_PATH "/v2/app/referrers/" SUBJECT

static char *index_json(const char *types, char first_digit)
{
    json_t *list = json_array();
    char digest[80];

    for (size_t i = 0; types[i] != '\0'; i++) {
        memset(digest, 'a', sizeof(digest));
        memcpy(digest, "sha256:", 7);
        digest[7] = (char)(first_digit + (char)i);
        digest[71] = '\0';
        json_array_append_new(list,
                              json_pack("{s:s,s:s,s:i,s:s}", "mediaType", PG_MT_OCI_MANIFEST,
                                        "digest", digest, "size", 700, "artifactType",
                                        types[i] == 's' ? SIG_TYPE : "application/spdx+json"));
    }
    {
        json_t *doc = json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", PG_MT_OCI_INDEX,
                                "manifests", list);
        char *s = json_dumps(doc, JSON_COMPACT);

        json_decref(doc);
        return s;
    }
}

static json_t *page_route(const char *page, const char *types, char first, const char *link)
{
    char *body = index_json(types, first);
    json_t *r = fx_route(REFERRERS_PATH, 200, PG_MT_OCI_INDEX, body);

    free(body);
    if (page != NULL) {
        json_object_set_new(r, "query", json_pack("{s:s}", "page", page));
    }
    if (link != NULL) {
        fx_header(r, "Link", link);
    }
    return r;
}

static enum pg_status referrers(json_t *routes, struct pg_descriptor **list, size_t *n,
                                struct pg_err *err)
{
    struct fixture f;
    struct pg_registry_client *c = NULL;
    struct pg_registry_session *s = NULL;
    enum pg_status rc = PG_ERR_INTERNAL;

    if (fx_start(&f, routes) != 0) {
        return rc;
    }
    c = fx_client(&f, 2, 5000, NULL);
    s = fx_session(&f, c, "app", NULL, NULL, err);
    if (s != NULL) {
        rc = pg_registry_get_referrers(s, SUBJECT, SIG_TYPE, list, n, err);
    }
    if (rc == PG_OK) {
        CHECK(count_requests(&f, 1, REFERRERS_PATH, NULL) >= 1);
    }
    pg_registry_session_free(s);
    pg_registry_client_free(c);
    fx_stop(&f);
    return rc;
}

static void referrers_pages_are_followed_and_filtered(void)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;
    json_t *routes = json_pack(
        "[o,o,o]", page_route("3", "s", '7', NULL),
        page_route("2", "xs", '4', "<" REFERRERS_PATH "?page=3>; rel=\"next\""),
        page_route(NULL, "sxs", '0', "</v2/app/referrers/" SUBJECT "?page=2>; rel=\"next\""));

    pg_err_init(&err);
    REQUIRE(referrers(routes, &list, &n, &err) == PG_OK);
    CHECK(n == 4);
    for (size_t i = 0; i < n; i++) {
        CHECK(strcmp(list[i].artifact_type, SIG_TYPE) == 0);
    }
    CHECK(n == 4 && list[0].digest[7] == '0' && list[1].digest[7] == '2' &&
          list[2].digest[7] == '5' && list[3].digest[7] == '7');
    pg_descriptor_list_free(list, n);
}

static void cross_host_link_is_refused(void)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;
    json_t *routes = json_pack("[o,o]", page_route("2", "s", '4', NULL),
                               page_route(NULL, "s", '0',
                                          "<http://127.0.0.2:{{PORT2}}" REFERRERS_PATH
                                          "?page=2>; rel=\"next\""));

    pg_err_init(&err);
    CHECK(referrers(routes, &list, &n, &err) == PG_ERR_REGISTRY);
    CHECK(strstr(err.msg, "another") != NULL);
}

static void endless_pagination_is_bounded(void)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;
    json_t *routes =
        json_pack("[o]", page_route(NULL, "s", '0', "<" REFERRERS_PATH "?x=1>; rel=\"next\""));

    pg_err_init(&err);
    CHECK(referrers(routes, &list, &n, &err) == PG_ERR_LIMIT);
    CHECK(strstr(err.msg, "pages") != NULL);
}

static void filters_applied_header_is_honoured(void)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;
    json_t *r = page_route(NULL, "sx", '0', NULL);

    fx_header(r, "OCI-Filters-Applied", "artifactType");
    pg_err_init(&err);
    REQUIRE(referrers(json_pack("[o]", r), &list, &n, &err) == PG_OK);
    CHECK(n == 2);
    pg_descriptor_list_free(list, n);
}

static void referrers_404_means_unsupported_unless_name_unknown(void)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;

    pg_err_init(&err);
    CHECK(referrers(json_array(), &list, &n, &err) == PG_ERR_UNSUPPORTED);
    pg_err_init(&err);
    CHECK(referrers(json_pack("[o]", fx_route(REFERRERS_PATH, 200, "application/json",
                                              "{\"manifests\":[]}")),
                    &list, &n, &err) == PG_ERR_UNSUPPORTED);
    pg_err_init(&err);
    CHECK(referrers(json_pack("[o]", fx_route(REFERRERS_PATH, 404, "application/json",
                                              "{\"errors\":[{\"code\":\"NAME_UNKNOWN\","
                                              "\"message\":\"repository name not known\"}]}")),
                    &list, &n, &err) == PG_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "NAME_UNKNOWN") != NULL);
}

static void malformed_referrers_json_is_a_clear_error(void)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;

    pg_err_init(&err);
    CHECK(referrers(json_pack("[o]", fx_route(REFERRERS_PATH, 200, PG_MT_OCI_INDEX,
                                              "{\"manifests\":[{\"mediaType\":")),
                    &list, &n, &err) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, "referrers list is not valid JSON") != NULL);
    pg_err_init(&err);
    CHECK(referrers(json_pack("[o]", fx_route(REFERRERS_PATH, 200, PG_MT_OCI_INDEX,
                                              "{\"manifests\":[{\"mediaType\":\"x\","
                                              "\"digest\":\"sha256:12\",\"size\":1}]}")),
                    &list, &n, &err) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, "digest") != NULL);
}

static char *big_index(size_t n, const char *digest, long long size)
{
    json_t *list = json_array();
    json_t *doc;
    char *s;

    for (size_t i = 0; i < n; i++) {
        json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:s}", "mediaType", PG_MT_OCI_MANIFEST,
                                              "digest", digest, "size", (json_int_t)size,
                                              "artifactType", SIG_TYPE));
    }
    doc = json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", PG_MT_OCI_INDEX, "manifests",
                    list);
    s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return s;
}

static enum pg_status referrers_of(const char *body, const char *ctype, struct pg_err *err,
                                   size_t *out_n)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    enum pg_status rc;

    pg_err_init(err);
    rc = referrers(json_pack("[o]", fx_route(REFERRERS_PATH, 200, ctype, body)), &list, &n, err);
    pg_descriptor_list_free(list, rc == PG_OK ? n : 0);
    *out_n = n;
    return rc;
}

static void hostile_referrers_lists_are_refused(void)
{
    static const char d256[] =
        "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    struct pg_err err;
    size_t n = 0;
    char *s;

    s = big_index(PG_JSONUTIL_MAX_ENTRIES + 1, d256, 1);
    CHECK(referrers_of(s, PG_MT_OCI_INDEX, &err, &n) == PG_ERR_LIMIT);
    free(s);
    s = big_index(1, d256, -1);
    CHECK(referrers_of(s, PG_MT_OCI_INDEX, &err, &n) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, "size") != NULL);
    free(s);
    s = big_index(1, "md5:d41d8cd98f00b204e9800998ecf8427e", 1);
    CHECK(referrers_of(s, PG_MT_OCI_INDEX, &err, &n) == PG_ERR_PARSE);
    free(s);
    s = big_index(1, d256, 1LL << 60);
    CHECK(referrers_of(s, PG_MT_OCI_INDEX, &err, &n) == PG_OK && n == 1);
    free(s);
    {
        json_t *r = fx_route(REFERRERS_PATH, 200, PG_MT_OCI_INDEX, NULL);
        struct pg_descriptor *list = NULL;

        json_object_set_new(r, "body_size", json_integer(5 << 20));
        pg_err_init(&err);
        CHECK(referrers(json_pack("[o]", r), &list, &n, &err) == PG_ERR_LIMIT);
    }
}

static void links_that_leave_or_loop_are_refused(void)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;
    json_t *routes = json_pack(
        "[o]",
        page_route(NULL, "s", '0', "<https://127.0.0.1:{{PORT}}" REFERRERS_PATH "?p=2>; rel=next"));

    pg_err_init(&err);
    CHECK(referrers(routes, &list, &n, &err) == PG_ERR_REGISTRY);
    CHECK(strstr(err.msg, "another") != NULL);
    routes =
        json_pack("[o]", page_route(NULL, "s", '0', "<//127.0.0.2:{{PORT2}}/x>; rel=\"next\""));
    pg_err_init(&err);
    CHECK(referrers(routes, &list, &n, &err) == PG_ERR_REGISTRY);
    routes = json_pack("[o]", page_route(NULL, "s", '0', "<" REFERRERS_PATH ">; rel=\"next\""));
    pg_err_init(&err);
    CHECK(referrers(routes, &list, &n, &err) == PG_ERR_LIMIT);
}

/* ---- hostile registries ---- */

/* GETs v1 of "app" against routes with creds over plain http to the first plain
 * listeners; f stays up for the request log. */
static enum pg_status run_v1(json_t *routes, const struct pg_credentials *creds, int plain,
                             struct fixture *f, struct pg_err *err)
{
    struct pg_registry_client *c = NULL;
    struct pg_descriptor d = {0};
    enum pg_status rc;

    f->pid = -1;
    pg_err_init(err);
    if (fx_start(f, routes) != 0) {
        return PG_ERR_INTERNAL;
    }
    c = fx_client(f, plain, 5000, NULL);
    rc = get_v1(f, c, creds, NULL, &d, err);
    pg_descriptor_clear(&d);
    pg_registry_client_free(c);
    return rc;
}

/* How many logged requests have a non-null value in field. */
static int count_with(const struct fixture *f, const char *field)
{
    json_t *all = fx_requests(f);
    size_t i;
    json_t *r;
    int n = 0;

    json_array_foreach(all, i, r)
    {
        n += !json_is_null(json_object_get(r, field));
    }
    json_decref(all);
    return n;
}

static json_t *redirect_route(const char *path, int listener, int status, const char *location)
{
    json_t *r = fx_route(path, status, NULL, NULL);

    fx_header(r, "Location", location);
    if (listener != 0) {
        json_object_set_new(r, "listener", json_integer(listener));
    }
    return r;
}

static void bearer_token_and_cookies_stay_home_across_redirects(void)
{
    struct fixture f;
    struct pg_err err;
    json_t *token = fx_route("/token", 200, NULL, NULL);
    json_t *start = redirect_route("/v2/app/manifests/v1", 1, 307, "/v2/app/manifests/moved");
    json_t *moved = redirect_route("/v2/app/manifests/moved", 1, 302, "//127.0.0.2:{{PORT2}}/cdn");
    json_t *cdn = manifest_route("/cdn");
    json_t *auth =
        json_pack("{s:s,s:s}", "bearer", "T0KEN", "realm", "http://127.0.0.1:{{PORT}}/token");

    json_object_set_new(token, "token", json_pack("{s:s}", "token", "T0KEN"));
    json_object_set_new(start, "auth", json_deep_copy(auth));
    json_object_set_new(moved, "auth", auth);
    fx_header(start, "Set-Cookie", "session=s3cret; Path=/");
    fx_header(moved, "Set-Cookie", "other=1; Domain=127.0.0.2; Path=/");
    json_object_set_new(cdn, "listener", json_integer(2));
    CHECK(run_v1(json_pack("[o,o,o,o]", token, start, moved, cdn), NULL, 2, &f, &err) == PG_OK);
    /* a relative redirect stays on the origin and keeps the token */
    CHECK(count_requests(&f, 1, "/v2/app/manifests/moved", "Bearer T0KEN") == 1);
    CHECK(count_requests(&f, 2, "/cdn", "") == 1);
    CHECK(count_requests(&f, 2, "/cdn", NULL) == 1);
    CHECK(count_with(&f, "cookie") == 0);
    CHECK(count_with(&f, "accept_encoding") == 0);
    if (pg_check_failed_now()) {
        fprintf(stderr, "    %s\n", err.msg);
    }
    fx_stop(&f);
}

static void redirect_ping_pong_between_hosts_is_bounded(void)
{
    struct fixture f;
    struct pg_err err;
    json_t *a = redirect_route("/v2/app/manifests/v1", 1, 302, "http://127.0.0.2:{{PORT2}}/b");
    json_t *b = redirect_route("/b", 2, 301, "http://127.0.0.1:{{PORT}}/v2/app/manifests/v1");

    CHECK(run_v1(json_pack("[o,o]", a, b), NULL, 2, &f, &err) == PG_ERR_LIMIT);
    CHECK(strstr(err.msg, "redirects") != NULL);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", NULL) + count_requests(&f, 2, "/b", NULL) ==
          PG_REGISTRY_MAX_REDIRECTS + 1);
    fx_stop(&f);
}

static void plain_http_realm_of_another_host_gets_no_credentials(void)
{
    struct pg_credentials creds = {.username = "alice", .password = "s3cret"};
    struct fixture f;
    struct pg_err err;
    json_t *r = manifest_route("/v2/app/manifests/v1");
    json_t *t = fx_route("/token", 200, "application/json", "{\"token\":\"T0KEN\"}");

    json_object_set_new(
        r, "auth",
        json_pack("{s:s,s:s}", "bearer", "T0KEN", "realm", "http://127.0.0.2:{{PORT2}}/token"));
    CHECK(run_v1(json_pack("[o,o]", r, t), &creds, 1, &f, &err) == PG_ERR_TLS);
    CHECK(strstr(err.msg, "plain http") != NULL);
    CHECK(count_requests(&f, 2, "/token", NULL) == 0);
    fx_stop(&f);
}

static json_t *token_routes(const char *want, json_t *token_route)
{
    json_t *r = manifest_route("/v2/app/manifests/v1");

    json_object_set_new(
        r, "auth",
        json_pack("{s:s,s:s}", "bearer", want, "realm", "http://127.0.0.1:{{PORT}}/token"));
    return json_pack("[o,o]", r, token_route);
}

static void token_with_line_breaks_is_refused(void)
{
    struct fixture f;
    struct pg_err err;
    json_t *t =
        fx_route("/token", 200, "application/json", "{\"token\":\"T0KEN\\r\\nX-Injected: 1\"}");

    CHECK(run_v1(token_routes("T0KEN", t), NULL, 2, &f, &err) == PG_ERR_REGISTRY_AUTH);
    CHECK(strstr(err.msg, "control characters") != NULL);
    CHECK(strstr(err.msg, "Injected") == NULL);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", NULL) == 1);
    fx_stop(&f);
}

static void unauthorized_after_a_token_is_not_retried(void)
{
    struct fixture f;
    struct pg_err err;
    json_t *t = fx_route("/token", 200, "application/json", "{\"token\":\"WRONG\"}");

    CHECK(run_v1(token_routes("RIGHT", t), NULL, 2, &f, &err) == PG_ERR_REGISTRY_AUTH);
    CHECK(strstr(err.msg, "401") != NULL && strstr(err.msg, "UNAUTHORIZED") != NULL);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", NULL) == 2);
    CHECK(count_requests(&f, 1, "/token", NULL) == 1);
    fx_stop(&f);
}

static void huge_or_broken_token_replies_are_refused(void)
{
    struct fixture f;
    struct pg_err err;
    json_t *t = fx_route("/token", 200, "application/json", NULL);

    json_object_set_new(t, "body_size", json_integer(2 << 20));
    CHECK(run_v1(token_routes("T0KEN", t), NULL, 2, &f, &err) == PG_ERR_LIMIT);
    CHECK(strstr(err.msg, "/token") != NULL);
    fx_stop(&f);
    t = fx_route("/token", 200, "application/json", "{\"token\":");
    CHECK(run_v1(token_routes("T0KEN", t), NULL, 2, &f, &err) == PG_ERR_PARSE);
    fx_stop(&f);
    t = fx_route("/token", 200, "application/json", "{\"token\":12}");
    CHECK(run_v1(token_routes("T0KEN", t), NULL, 2, &f, &err) == PG_ERR_REGISTRY_AUTH);
    fx_stop(&f);
}

static void malformed_or_repeated_challenges_are_handled(void)
{
    struct fixture f;
    struct pg_err err;
    json_t *r = fx_route("/v2/app/manifests/v1", 401, NULL, NULL);
    char *big = pg_malloc(5000);
    char *hdr;

    memset(big, 'a', 4999);
    big[4999] = '\0';
    hdr = pg_asprintf("Bearer realm=\"http://127.0.0.1:{{PORT}}/%s\"", big);
    fx_header(r, "WWW-Authenticate", hdr);
    CHECK(run_v1(json_pack("[o]", r), NULL, 2, &f, &err) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, "WWW-Authenticate") != NULL && strlen(err.msg) < 200);
    fx_stop(&f);
    pg_free(hdr);
    pg_free(big);
    r = fx_route("/v2/app/manifests/v1", 401, NULL, NULL);
    fx_header(r, "WWW-Authenticate",
              "Bearer realm=\"http://127.0.0.1:{{PORT}}/token\",realm=\"http://127.0.0.2:{{PORT2}}/"
              "token\", Basic realm=\"x\"");
    CHECK(run_v1(json_pack("[o,o]", r,
                           fx_route("/token", 200, "application/json", "{\"token\":\"T\"}")),
                 NULL, 2, &f, &err) == PG_ERR_REGISTRY_AUTH);
    CHECK(count_requests(&f, 1, "/token", NULL) == 1);
    CHECK(count_requests(&f, 2, "/token", NULL) == 0);
    CHECK(count_requests(&f, 1, "/v2/app/manifests/v1", "Bearer T") == 1);
    fx_stop(&f);
    r = fx_route("/v2/app/manifests/v1", 401, NULL, NULL);
    fx_header(r, "WWW-Authenticate", "Negotiate abc");
    CHECK(run_v1(json_pack("[o]", r), NULL, 2, &f, &err) == PG_ERR_REGISTRY_AUTH);
    CHECK(strstr(err.msg, "WWW-Authenticate") != NULL);
    fx_stop(&f);
}

static void header_flood_is_a_clear_limit_error(void)
{
    struct fixture f;
    struct pg_err err;
    json_t *r = manifest_route("/v2/app/manifests/v1");
    char name[32];

    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "X-Flood-%d", i);
        fx_header(r, name, "x");
    }
    CHECK(run_v1(json_pack("[o]", r), NULL, 2, &f, &err) == PG_ERR_LIMIT);
    CHECK(strstr(err.msg, "header") != NULL);
    if (pg_check_failed_now()) {
        fprintf(stderr, "    %s: %s\n", pg_status_name(err.status), err.msg);
    }
    fx_stop(&f);
}

static int is_printable_ascii(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

static void redirected_path_is_escaped_in_messages(void)
{
    struct fixture f;
    struct pg_err err;
    json_t *a = redirect_route("/v2/app/manifests/v1", 1, 307,
                               "http://127.0.0.1:{{PORT}}/v2/app/\xc2\x85\xe2\x80\xae\"x");
    json_t *b = manifest_route("/v2/app/\xc2\x85\xe2\x80\xae\"x");

    fx_header(b, "Content-Type", "text/html");
    CHECK(run_v1(json_pack("[o,o]", a, b), NULL, 2, &f, &err) == PG_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "text/html") != NULL);
    CHECK(strstr(err.msg, "\\xc2\\x85") != NULL);
    CHECK(is_printable_ascii(err.msg));
    if (pg_check_failed_now()) {
        fprintf(stderr, "    %s: %s\n", pg_status_name(err.status), err.msg);
    }
    fx_stop(&f);
}

static void long_oci_error_message_is_bounded(void)
{
    struct fixture f;
    struct pg_err err;
    char *msg = pg_malloc(20001);
    char *body;

    memset(msg, 'm', 20000);
    msg[20000] = '\0';
    body = pg_asprintf("{\"errors\":[{\"code\":\"DENIED\\u001b[31m\",\"message\":\"%s\"}]}", msg);
    CHECK(run_v1(json_pack("[o]", fx_route("/v2/app/manifests/v1", 403, "application/json", body)),
                 NULL, 2, &f, &err) == PG_ERR_REGISTRY_AUTH);
    CHECK(strstr(err.msg, "HTTP 403") != NULL && strstr(err.msg, "DENIED\\x1b[31m") != NULL);
    CHECK(strlen(err.msg) < 600 && is_printable_ascii(err.msg));
    fx_stop(&f);
    pg_free(body);
    pg_free(msg);
}

/* ---- concurrency ---- */

struct worker {
    const struct fixture *f;
    struct pg_registry_client *c;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 10; i++) {
        struct pg_descriptor d = {0};
        struct pg_err err;

        pg_err_init(&err);
        if (get_v1(w->f, w->c, NULL, NULL, &d, &err) != PG_OK ||
            strcmp(d.digest, MANIFEST_DIGEST) != 0) {
            w->failures++;
        }
        pg_descriptor_clear(&d);
    }
    return NULL;
}

static void one_client_serves_concurrent_sessions(void)
{
    struct fixture f;
    struct worker w[4];
    pthread_t t[4];
    struct pg_registry_client *c;

    REQUIRE(fx_start(&f, json_pack("[o]", manifest_route("/v2/app/manifests/v1"))) == 0);
    c = fx_client(&f, 2, 5000, NULL);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){&f, c, 0};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].failures == 0);
    }
    pg_registry_client_free(c);
    fx_stop(&f);
}

int main(void)
{
    PG_RUN("manifest digest is computed over the bytes, every type accepted",
           manifest_digest_is_computed_over_the_bytes);
    PG_RUN("manifest by digest with other bytes is refused",
           manifest_by_digest_with_wrong_bytes_is_refused);
    PG_RUN("oversized manifest is refused", oversized_manifest_is_refused);
    PG_RUN("endless manifest body is cut at the limit", endless_manifest_is_cut_at_the_limit);
    PG_RUN("slow body hits the deadline", slow_body_hits_the_deadline);
    PG_RUN("slow body hits the request timeout", slow_body_hits_the_request_timeout);
    PG_RUN("wrong content type is refused", wrong_content_type_is_refused);
    PG_RUN("500 reports status, path and the escaped OCI error",
           oci_error_body_is_reported_with_status_and_path);
    PG_RUN("missing manifest is not found", missing_manifest_is_not_found);
    PG_RUN("cancelled request fails at once", passed_deadline_fails_at_once);
    PG_RUN("basic auth answers the challenge", basic_auth_answers_the_challenge);
    PG_RUN("auth field is decoded as user and password",
           auth_field_is_decoded_as_user_and_password);
    PG_RUN("wrong password is an auth failure", wrong_password_is_an_auth_failure);
    PG_RUN("basic challenge without credentials fails", basic_challenge_without_credentials_fails);
    PG_RUN("credentials for another server_address are not used",
           credentials_for_another_server_address_are_not_used);
    PG_RUN("bearer token is fetched with service and scope",
           bearer_token_is_fetched_with_service_and_scope);
    PG_RUN("anonymous token with access_token field is used",
           anonymous_token_with_access_token_field_is_used);
    PG_RUN("identity token is traded as a refresh token",
           identity_token_is_traded_as_a_refresh_token);
    PG_RUN("registry token is sent as the bearer token",
           registry_token_is_sent_as_the_bearer_token);
    PG_RUN("refused token request is an auth failure", refused_token_request_is_an_auth_failure);
    PG_RUN("docker config auths entry is used", docker_config_auths_entry_is_used);
    PG_RUN("docker config credential helper is run", docker_config_cred_helper_is_run);
    PG_RUN("docker config credsStore is run", docker_config_creds_store_is_run);
    PG_RUN("docker config check names the file", docker_config_check_names_the_file);
    PG_RUN("docker config check refuses a wrong shape", docker_config_check_refuses_a_wrong_shape);
    PG_RUN("credential helper name with a slash is refused", helper_name_with_a_slash_is_refused);
    PG_RUN("challenge parser reads quoted parameters", challenge_parser_reads_quoted_parameters);
    PG_RUN("credentials are not sent across a redirect to another host",
           credentials_are_not_sent_across_a_redirect);
    PG_RUN("redirect to an unlisted plain-http host is refused",
           redirect_to_an_unlisted_plain_http_host_is_refused);
    PG_RUN("redirect loop is bounded", redirect_loop_is_bounded);
    PG_RUN("unlisted host gets https and fails without a downgrade",
           unlisted_host_gets_https_and_fails_without_downgrade);
    PG_RUN("blob with wrong digest is refused", blob_with_wrong_digest_is_refused);
    PG_RUN("referrers pages are followed and filtered", referrers_pages_are_followed_and_filtered);
    PG_RUN("cross-host Link is refused", cross_host_link_is_refused);
    PG_RUN("endless pagination is bounded", endless_pagination_is_bounded);
    PG_RUN("OCI-Filters-Applied is honoured", filters_applied_header_is_honoured);
    PG_RUN("referrers 404 means unsupported unless NAME_UNKNOWN",
           referrers_404_means_unsupported_unless_name_unknown);
    PG_RUN("malformed referrers JSON is a clear error", malformed_referrers_json_is_a_clear_error);
    PG_RUN("bearer token and cookies stay home across redirects",
           bearer_token_and_cookies_stay_home_across_redirects);
    PG_RUN("redirect ping-pong between hosts is bounded",
           redirect_ping_pong_between_hosts_is_bounded);
    PG_RUN("plain-http realm of another host gets no credentials",
           plain_http_realm_of_another_host_gets_no_credentials);
    PG_RUN("token with line breaks is refused", token_with_line_breaks_is_refused);
    PG_RUN("401 after a token is not retried", unauthorized_after_a_token_is_not_retried);
    PG_RUN("huge or broken token replies are refused", huge_or_broken_token_replies_are_refused);
    PG_RUN("malformed or repeated challenges are handled",
           malformed_or_repeated_challenges_are_handled);
    PG_RUN("header flood is a clear limit error", header_flood_is_a_clear_limit_error);
    PG_RUN("redirected path is escaped in messages", redirected_path_is_escaped_in_messages);
    PG_RUN("long OCI error message is bounded", long_oci_error_message_is_bounded);
    PG_RUN("blob replies that lie about their length are refused",
           blob_replies_that_lie_about_their_length_are_refused);
    PG_RUN("endless error body is cut and reported", endless_error_body_is_cut_and_reported);
    PG_RUN("hostile referrers lists are refused", hostile_referrers_lists_are_refused);
    PG_RUN("Links that leave the origin or loop are refused", links_that_leave_or_loop_are_refused);
    PG_RUN("one client serves concurrent sessions", one_client_serves_concurrent_sessions);
    return pg_check_done();
}
