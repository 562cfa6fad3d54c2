/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for discover.c: signature manifest shapes, the Referrers API and the
 * tag-schema fallback against pg-testregistry, envelope fetching, and the
 * tag schema on the real docker-registry started on loopback.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "check.h"
#include "discover.h"
#include "mem.h"
#include "reference.h"
#include "registry-fixture.h"
#include "registry.h"

#define SUBJECT_HEX "19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0"
#define SUBJECT "sha256:" SUBJECT_HEX
#define EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define JWS_VECTOR "notation-go/internal/testdata/jws_signature.sig"
#define LAYOUT "notation-go/internal/testdata/oci-layout/"

static const struct pg_descriptor subject = {PG_MT_OCI_MANIFEST, SUBJECT, 481, NULL};

/* A signature manifest: form 'n' (artifactType), 'l' (legacy), 'b' (bad config). */
static char *sig_manifest(char form, const char *layer_mt, const char *env_digest, long env_size,
                          int n_layers)
{
    json_t *layers = json_array();
    json_t *m;
    char *s;

    for (int i = 0; i < n_layers; i++) {
        json_array_append_new(layers, json_pack("{s:s,s:s,s:i}", "mediaType", layer_mt, "digest",
                                                env_digest, "size", env_size));
    }
    m = json_pack("{s:i,s:s,s:{s:s,s:s,s:i},s:o,s:{s:s,s:s,s:i}}", "schemaVersion", 2, "mediaType",
                  PG_MT_OCI_MANIFEST, "config", "mediaType",
                  form == 'l' ? PG_ARTIFACT_TYPE_SIGNATURE : PG_MT_OCI_EMPTY, "digest",
                  EMPTY_DIGEST, "size", 2, "layers", layers, "subject", "mediaType",
                  PG_MT_OCI_MANIFEST, "digest", SUBJECT, "size", 481);
    if (form != 'l') {
        json_object_set_new(m, "artifactType", json_string(PG_ARTIFACT_TYPE_SIGNATURE));
    }
    if (form == 'b') {
        json_object_set_new(json_object_get(m, "config"), "mediaType",
                            json_string(PG_ARTIFACT_TYPE_SIGNATURE));
    }
    if (form == 'a') { /* the withdrawn OCI artifact manifest: blobs, no config */
        json_object_set_new(m, "mediaType", json_string(PG_MT_OCI_ARTIFACT));
        json_object_del(m, "schemaVersion");
        json_object_del(m, "config");
        json_object_set(m, "blobs", layers);
        json_object_del(m, "layers");
    }
    s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return s;
}

static const char *form_media_type(char form)
{
    return form == 'a' ? PG_MT_OCI_ARTIFACT : PG_MT_OCI_MANIFEST;
}

static enum pg_status parse_sig(const char *text, struct pg_descriptor *layer, struct pg_err *err)
{
    pg_err_init(err);
    return pg_discover_parse_signature_manifest((const unsigned char *)text, strlen(text),
                                                PG_MT_OCI_MANIFEST, layer, err);
}

static void both_signature_manifest_forms_are_accepted(void)
{
    char *neu = sig_manifest('n', PG_MEDIA_TYPE_COSE, EMPTY_DIGEST, 2, 1);
    char *legacy = sig_manifest('l', PG_MEDIA_TYPE_JWS, EMPTY_DIGEST, 2, 1);
    char *other = sig_manifest('l', "application/vnd.oci.image.layer.v1.tar", EMPTY_DIGEST, 2, 1);
    struct pg_descriptor layer = {0};
    struct pg_err err;

    REQUIRE(parse_sig(neu, &layer, &err) == PG_OK);
    CHECK(strcmp(layer.media_type, PG_MEDIA_TYPE_COSE) == 0);
    CHECK(strcmp(layer.digest, EMPTY_DIGEST) == 0 && layer.size == 2);
    pg_descriptor_clear(&layer);
    REQUIRE(parse_sig(legacy, &layer, &err) == PG_OK);
    CHECK(strcmp(layer.media_type, PG_MEDIA_TYPE_JWS) == 0);
    pg_descriptor_clear(&layer);
    REQUIRE(parse_sig(other, &layer, &err) == PG_OK);
    CHECK(strcmp(layer.media_type, "application/vnd.oci.image.layer.v1.tar") == 0);
    pg_descriptor_clear(&layer);
    free(neu);
    free(legacy);
    free(other);
}

static void malformed_signature_manifests_are_refused(void)
{
    char *two = sig_manifest('l', PG_MEDIA_TYPE_JWS, EMPTY_DIGEST, 2, 2);
    char *none = sig_manifest('n', PG_MEDIA_TYPE_JWS, EMPTY_DIGEST, 2, 0);
    char *bad_digest = sig_manifest('n', PG_MEDIA_TYPE_JWS, "sha256:abc", 2, 1);
    struct pg_descriptor layer = {0};
    struct pg_err err;

    CHECK(parse_sig(two, &layer, &err) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(err.msg, "exactly one entry in layers") != NULL);
    CHECK(parse_sig(none, &layer, &err) == PG_ERR_SIG_INTEGRITY);
    CHECK(parse_sig(bad_digest, &layer, &err) == PG_ERR_PARSE);
    CHECK(parse_sig("{\"schemaVersion\":2,\"mediaType\":\"" PG_MT_DOCKER_MANIFEST "\"}", &layer,
                    &err) == PG_ERR_SIG_INTEGRITY);
    CHECK(parse_sig("{\"schemaVersion\":2,", &layer, &err) == PG_ERR_PARSE);
    CHECK(strstr(err.msg, "signature manifest is not valid JSON") != NULL);
    CHECK(parse_sig("[1]", &layer, &err) == PG_ERR_PARSE);
    CHECK(layer.digest == NULL);
    free(two);
    free(none);
    free(bad_digest);
}

/* notation reads only the layers of a signature manifest it fetched from a registry. */
static void manifest_fields_besides_layers_are_not_judged(void)
{
    char *bad_config = sig_manifest('b', PG_MEDIA_TYPE_JWS, EMPTY_DIGEST, 2, 1);
    const char *bare =
        "{\"schemaVersion\":1,\"mediaType\":\"" PG_MT_DOCKER_MANIFEST "\","
        "\"artifactType\":\"application/example\",\"layers\":[{\"mediaType\":\"" PG_MEDIA_TYPE_JWS
        "\",\"digest\":\"" EMPTY_DIGEST "\",\"size\":2}]}";
    struct pg_descriptor layer = {0};
    struct pg_err err;

    REQUIRE(parse_sig(bad_config, &layer, &err) == PG_OK);
    CHECK(strcmp(layer.media_type, PG_MEDIA_TYPE_JWS) == 0);
    pg_descriptor_clear(&layer);
    REQUIRE(parse_sig(bare, &layer, &err) == PG_OK);
    CHECK(strcmp(layer.digest, EMPTY_DIGEST) == 0 && layer.size == 2);
    pg_descriptor_clear(&layer);
    free(bad_config);
}

static void vector_index_is_parsed(void)
{
    char *path = pg_check_vector(LAYOUT "index.json");
    size_t len = 0;
    unsigned char *data = path != NULL ? pg_check_read_file(path, &len) : NULL;
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;

    REQUIRE(data != NULL);
    pg_err_init(&err);
    REQUIRE(pg_discover_parse_index(data, len, &list, &n, &err) == PG_OK);
    CHECK(n == 1 && strcmp(list[0].digest, SUBJECT) == 0 && list[0].size == 481);
    CHECK(list[0].artifact_type == NULL);
    pg_descriptor_list_free(list, n);
    pg_free(data);
    pg_free(path);
}

/* ---- discovery against pg-testregistry ---- */

static char *listing(const char *types)
{
    json_t *list = json_array();
    json_t *doc;
    char *s;

    for (size_t i = 0; types[i] != '\0'; i++) {
        char digest[72];

        memset(digest, 'b', sizeof(digest));
        memcpy(digest, "sha256:", 7);
        digest[7] = (char)('0' + i);
        digest[71] = '\0';
        json_array_append_new(list, json_pack("{s:s,s:s,s:i,s:s}", "mediaType", PG_MT_OCI_MANIFEST,
                                              "digest", digest, "size", 700, "artifactType",
                                              types[i] == 's' ? PG_ARTIFACT_TYPE_SIGNATURE
                                                              : "application/vnd.example.sbom"));
    }
    doc = json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", PG_MT_OCI_INDEX, "manifests",
                    list);
    s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return s;
}

static enum pg_status discover(json_t *routes, size_t max, struct pg_descriptor **list, size_t *n,
                               struct pg_err *err)
{
    struct fixture f;
    struct pg_registry_client *c = NULL;
    struct pg_registry_session *s = NULL;
    enum pg_status rc = PG_ERR_INTERNAL;

    pg_err_init(err);
    if (fx_start(&f, routes) != 0) {
        return rc;
    }
    c = fx_client(&f, 2, 5000, NULL);
    s = fx_session(&f, c, "app", NULL, NULL, err);
    if (s != NULL) {
        rc = pg_discover_signatures(s, &subject, max, list, n, err);
    }
    pg_registry_session_free(s);
    pg_registry_client_free(c);
    fx_stop(&f);
    return rc;
}

static void referrers_api_lists_only_notary_signatures(void)
{
    char *body = listing("sxs");
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;

    REQUIRE(discover(json_pack("[o]",
                               fx_route("/v2/app/referrers/" SUBJECT, 200, PG_MT_OCI_INDEX, body)),
                     10, &list, &n, &err) == PG_OK);
    CHECK(n == 2 && list[0].digest[7] == '0' && list[1].digest[7] == '2');
    pg_descriptor_list_free(list, n);
    REQUIRE(discover(json_pack("[o]",
                               fx_route("/v2/app/referrers/" SUBJECT, 200, PG_MT_OCI_INDEX, body)),
                     1, &list, &n, &err) == PG_OK);
    CHECK(n == 1 && list[0].digest[7] == '0');
    pg_descriptor_list_free(list, n);
    free(body);
}

static void referrers_404_falls_back_to_the_tag_schema(void)
{
    char *body = listing("xss");
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;

    REQUIRE(discover(json_pack("[o]", fx_route("/v2/app/manifests/sha256-" SUBJECT_HEX, 200,
                                               PG_MT_OCI_INDEX, body)),
                     10, &list, &n, &err) == PG_OK);
    CHECK(n == 2 && list[0].digest[7] == '1' && list[1].digest[7] == '2');
    pg_descriptor_list_free(list, n);
    free(body);
}

static void missing_signature_tag_means_zero_signatures(void)
{
    struct pg_descriptor *list = NULL;
    size_t n = 99;
    struct pg_err err;

    CHECK(discover(json_array(), 10, &list, &n, &err) == PG_OK);
    CHECK(n == 0);
    CHECK(err.status == PG_OK);
    pg_descriptor_list_free(list, n);
}

static void unknown_repository_is_an_error_not_zero_signatures(void)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;

    CHECK(discover(json_pack("[o]", fx_route("/v2/app/referrers/" SUBJECT, 404, "application/json",
                                             "{\"errors\":[{\"code\":\"NAME_UNKNOWN\","
                                             "\"message\":\"repository name not known\"}]}")),
                   10, &list, &n, &err) == PG_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "NAME_UNKNOWN") != NULL);
}

static void tag_schema_that_is_not_an_index_is_refused(void)
{
    char *path = pg_check_vector(LAYOUT "blobs/sha256/" SUBJECT_HEX);
    json_t *r = fx_route("/v2/app/manifests/sha256-" SUBJECT_HEX, 200, PG_MT_OCI_MANIFEST, NULL);
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err err;

    json_object_set_new(r, "body_file", json_string(path));
    CHECK(discover(json_pack("[o]", r), 10, &list, &n, &err) == PG_ERR_REGISTRY);
    CHECK(strstr(err.msg, "not an image index") != NULL);
    pg_free(path);
}

/* Routes serving a signature manifest (text) and the JWS vector as its envelope. */
static json_t *envelope_routes_as(const char *mt, const char *manifest, const char *env_digest,
                                  const char *env_file)
{
    char *mdigest = fx_digest(manifest, strlen(manifest));
    char *mpath = pg_asprintf("/v2/app/manifests/%s", mdigest);
    char *bpath = pg_asprintf("/v2/app/blobs/%s", env_digest);
    json_t *blob = fx_route(bpath, 200, "application/octet-stream", NULL);
    json_t *routes;

    json_object_set_new(blob, "body_file", json_string(env_file));
    routes = json_pack("[o,o]", fx_route(mpath, 200, mt, manifest), blob);
    pg_free(mdigest);
    pg_free(mpath);
    pg_free(bpath);
    return routes;
}

static json_t *envelope_routes(const char *manifest, const char *env_digest, const char *env_file)
{
    return envelope_routes_as(PG_MT_OCI_MANIFEST, manifest, env_digest, env_file);
}

static enum pg_status fetch(json_t *routes, const struct pg_descriptor *sig, struct pg_blob *env,
                            char **mt, struct pg_err *err)
{
    struct fixture f;
    struct pg_registry_client *c = NULL;
    struct pg_registry_session *s = NULL;
    enum pg_status rc = PG_ERR_INTERNAL;

    pg_err_init(err);
    if (fx_start(&f, routes) != 0) {
        return rc;
    }
    c = fx_client(&f, 2, 5000, NULL);
    s = fx_session(&f, c, "app", NULL, NULL, err);
    if (s != NULL) {
        rc = pg_discover_fetch_envelope(s, sig, env, mt, err);
    }
    pg_registry_session_free(s);
    pg_registry_client_free(c);
    fx_stop(&f);
    return rc;
}

static void envelope_is_fetched_for_both_forms(void)
{
    char *file = pg_check_vector(JWS_VECTOR);
    size_t len = 0;
    unsigned char *want = file != NULL ? pg_check_read_file(file, &len) : NULL;
    char *env_digest = want != NULL ? fx_digest(want, len) : NULL;
    const char forms[] = {'n', 'l', 'a'};

    REQUIRE(want != NULL);
    for (size_t i = 0; i < sizeof(forms); i++) {
        char *m = sig_manifest(forms[i], PG_MEDIA_TYPE_JWS, env_digest, (long)len, 1);
        char *md = fx_digest(m, strlen(m));
        const char *form_mt = form_media_type(forms[i]);
        struct pg_descriptor sig = {(char *)form_mt, md, (int64_t)strlen(m), NULL};
        struct pg_blob env = {0};
        char *mt = NULL;
        struct pg_err err;

        CHECK(fetch(envelope_routes_as(form_mt, m, env_digest, file), &sig, &env, &mt, &err) ==
              PG_OK);
        CHECK(env.len == len && env.data != NULL && memcmp(env.data, want, len) == 0);
        CHECK(mt != NULL && strcmp(mt, PG_MEDIA_TYPE_JWS) == 0);
        if (pg_check_failed_now()) {
            fprintf(stderr, "    form %c: %s\n", forms[i], err.msg);
        }
        pg_blob_clear(&env);
        pg_free(mt);
        pg_free(md);
        free(m);
    }
    pg_free(env_digest);
    pg_free(want);
    pg_free(file);
}

static void envelope_with_wrong_bytes_or_sizes_is_refused(void)
{
    char *file = pg_check_vector(JWS_VECTOR);
    char *other = pg_check_vector(LAYOUT "index.json");
    size_t len = 0;
    unsigned char *want = file != NULL ? pg_check_read_file(file, &len) : NULL;
    char *env_digest = want != NULL ? fx_digest(want, len) : NULL;
    char *m = sig_manifest('l', PG_MEDIA_TYPE_JWS, env_digest, (long)len, 1);
    char *md = fx_digest(m, strlen(m));
    struct pg_descriptor sig = {PG_MT_OCI_MANIFEST, md, (int64_t)strlen(m), NULL};
    struct pg_blob env = {0};
    char *mt = NULL;
    struct pg_err err;

    REQUIRE(want != NULL);
    CHECK(fetch(envelope_routes(m, env_digest, other), &sig, &env, &mt, &err) == PG_ERR_REGISTRY);
    CHECK(env.data == NULL && mt == NULL);
    sig.size += 1;
    CHECK(fetch(envelope_routes(m, env_digest, file), &sig, &env, &mt, &err) == PG_ERR_REGISTRY);
    CHECK(strstr(err.msg, "listed as") != NULL);
    sig.size -= 1;
    sig.media_type = PG_MT_DOCKER_MANIFEST;
    CHECK(fetch(envelope_routes(m, env_digest, file), &sig, &env, &mt, &err) ==
          PG_ERR_SIG_INTEGRITY);
    pg_free(md);
    free(m);
    pg_free(env_digest);
    pg_free(want);
    pg_free(file);
    pg_free(other);
}

/* ---- the real docker-registry ---- */

struct real_registry {
    pid_t pid;
    char *dir;
    char host[32];
};

/* A loopback port nobody listens on right now. */
static unsigned free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port = 0;

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        port = ntohs(sa.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

static int start_docker_registry(struct real_registry *r)
{
    char *cfg_path;
    FILE *cfg;
    unsigned port = free_port();

    r->dir = pg_check_tmpdir();
    cfg_path = pg_asprintf("%s/config.yml", r->dir);
    snprintf(r->host, sizeof(r->host), "127.0.0.1:%u", port);
    cfg = fopen(cfg_path, "w");
    if (cfg == NULL) {
        pg_free(cfg_path);
        return -1;
    }
    fprintf(cfg,
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
            "    rootdirectory: %s/data\n  delete:\n    enabled: true\n"
            "http:\n  addr: %s\n",
            r->dir, r->host);
    fclose(cfg);
    r->pid = fork();
    if (r->pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(null, 1);
        dup2(null, 2);
        execlp("docker-registry", "docker-registry", "serve", cfg_path, (char *)NULL);
        _exit(127);
    }
    pg_free(cfg_path);
    return r->pid > 0 ? 0 : -1;
}

static size_t keep_location(char *data, size_t size, size_t n, void *userp)
{
    char **loc = userp;
    size_t len = size * n;

    if (len > 10 && strncasecmp(data, "Location: ", 10) == 0 && *loc == NULL) {
        while (len > 10 && (data[len - 1] == '\r' || data[len - 1] == '\n')) {
            len--;
        }
        *loc = pg_strndup(data + 10, len - 10);
    }
    return size * n;
}

static long http_put(const char *url, const char *ctype, const void *data, size_t len, int is_post,
                     char **out_location)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char line[200];
    long status = 0;

    if (out_location != NULL) {
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, keep_location);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, out_location);
    }

    snprintf(line, sizeof(line), "Content-Type: %s", ctype);
    hdrs = curl_slist_append(hdrs, line);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    if (!is_post) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(h) == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return status;
}

/* POST an upload session, then PUT the bytes with ?digest= (201 Created). */
static int push_blob(const char *host, const void *data, size_t len)
{
    char *digest = fx_digest(data, len);
    char *url = pg_asprintf("http://%s/v2/app/blobs/uploads/", host);
    char *loc = NULL;
    char *put = NULL;
    long st = http_put(url, "application/octet-stream", "", 0, 1, &loc);

    if (st == 202 && loc != NULL) {
        put = loc[0] == '/'
                  ? pg_asprintf("http://%s%s%cdigest=%s", host, loc, strchr(loc, '?') ? '&' : '?',
                                digest)
                  : pg_asprintf("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', digest);
        st = http_put(put, "application/octet-stream", data, len, 0, NULL);
    }
    if (st != 201) {
        fprintf(stderr, "    blob upload %s: HTTP %ld\n", digest, st);
    }
    pg_free(put);
    pg_free(loc);
    pg_free(url);
    pg_free(digest);
    return st == 201 ? 0 : -1;
}

static int push_manifest(const char *host, const char *ref, const char *mt, const void *data,
                         size_t len)
{
    char *url = pg_asprintf("http://%s/v2/app/manifests/%s", host, ref);
    long st = http_put(url, mt, data, len, 0, NULL);

    pg_free(url);
    if (st != 201) {
        fprintf(stderr, "    PUT manifest %s: HTTP %ld\n", ref, st);
    }
    return st == 201 ? 0 : -1;
}

static int wait_ready(const char *host)
{
    char *url = pg_asprintf("http://%s/v2/", host);
    long st = 0;

    for (int i = 0; i < 100 && st != 200; i++) {
        CURL *h = curl_easy_init();

        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 1L);
        if (curl_easy_perform(h) == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        }
        curl_easy_cleanup(h);
        if (st != 200) {
            usleep(100000);
        }
    }
    pg_free(url);
    return st == 200 ? 0 : -1;
}

/* Pushes the vector image, a legacy signature and its sha256-<hex> tag index. */
static int push_signed_image(const char *host, char **out_sig_digest)
{
    char *mpath = pg_check_vector(LAYOUT "blobs/sha256/" SUBJECT_HEX);
    char *cpath = pg_check_vector(
        LAYOUT "blobs/sha256/572996c3caeacea40b947911a9dda21516c082b5a64af30048a02a6f5eb956d4");
    char *lpath = pg_check_vector(
        LAYOUT "blobs/sha256/63b65145d645c1250c391b2d16ebe53b3747c295ca8ba2fcb6b0cf064a4dc21c");
    char *epath = pg_check_vector(JWS_VECTOR);
    size_t ml = 0, cl = 0, ll = 0, el = 0;
    unsigned char *m = pg_check_read_file(mpath, &ml);
    unsigned char *cfg = pg_check_read_file(cpath, &cl);
    unsigned char *layer = pg_check_read_file(lpath, &ll);
    unsigned char *env = pg_check_read_file(epath, &el);
    char *edigest = env != NULL ? fx_digest(env, el) : NULL;
    char *sig = env != NULL ? sig_manifest('l', PG_MEDIA_TYPE_JWS, edigest, (long)el, 1) : NULL;
    char *sdigest = sig != NULL ? fx_digest(sig, strlen(sig)) : NULL;
    char *index = sdigest != NULL
                      ? pg_asprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":"
                                    "[{\"mediaType\":\"%s\",\"artifactType\":\"%s\","
                                    "\"digest\":\"%s\",\"size\":%zu}]}",
                                    PG_MT_OCI_INDEX, PG_MT_OCI_MANIFEST, PG_ARTIFACT_TYPE_SIGNATURE,
                                    sdigest, strlen(sig))
                      : NULL;
    int rc = -1;

    if (m != NULL && cfg != NULL && layer != NULL && index != NULL &&
        push_blob(host, cfg, cl) == 0 && push_blob(host, layer, ll) == 0 &&
        push_blob(host, "{}", 2) == 0 && push_blob(host, env, el) == 0 &&
        push_manifest(host, "v1", PG_MT_OCI_MANIFEST, m, ml) == 0 &&
        push_manifest(host, sdigest, PG_MT_OCI_MANIFEST, sig, strlen(sig)) == 0 &&
        push_manifest(host, "sha256-" SUBJECT_HEX, PG_MT_OCI_INDEX, index, strlen(index)) == 0) {
        *out_sig_digest = sdigest;
        sdigest = NULL;
        rc = 0;
    }
    pg_free(mpath);
    pg_free(cpath);
    pg_free(lpath);
    pg_free(epath);
    pg_free(m);
    pg_free(cfg);
    pg_free(layer);
    pg_free(env);
    pg_free(edigest);
    free(sig);
    pg_free(sdigest);
    pg_free(index);
    return rc;
}

static void check_real_discovery(const char *host, const char *sig_digest)
{
    const char *hosts[] = {host};
    struct pg_registry_options o = {.plain_http_hosts = hosts, .n_plain_http_hosts = 1};
    struct pg_registry_client *c = NULL;
    struct pg_registry_session *s = NULL;
    struct pg_ref *ref = NULL;
    struct pg_blob body = {0};
    struct pg_blob env = {0};
    struct pg_descriptor d = {0};
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    char *mt = NULL;
    char *name = pg_asprintf("%s/app:v1", host);
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(pg_registry_client_new(&o, &c, &err) == PG_OK);
    REQUIRE(pg_ref_parse(name, &ref, &err) == PG_OK);
    REQUIRE(pg_registry_session_new(c, ref, NULL, NULL, &s, &err) == PG_OK);
    REQUIRE(pg_registry_get_manifest(s, ref->tag, &body, &d, &err) == PG_OK);
    CHECK(strcmp(d.digest, SUBJECT) == 0 && strcmp(d.media_type, PG_MT_OCI_MANIFEST) == 0);
    CHECK(pg_discover_signatures(s, &d, 10, &list, &n, &err) == PG_OK);
    CHECK(n == 1 && strcmp(list[0].digest, sig_digest) == 0);
    if (n == 1) {
        CHECK(pg_discover_fetch_envelope(s, &list[0], &env, &mt, &err) == PG_OK);
        CHECK(mt != NULL && strcmp(mt, PG_MEDIA_TYPE_JWS) == 0 && env.len == 2078);
    }
    if (pg_check_failed_now()) {
        fprintf(stderr, "    %s\n", err.msg);
    }
    pg_free(mt);
    pg_blob_clear(&env);
    pg_descriptor_list_free(list, n);
    pg_descriptor_clear(&d);
    pg_blob_clear(&body);
    pg_registry_session_free(s);
    pg_ref_free(ref);
    pg_registry_client_free(c);
    pg_free(name);
}

static void tag_schema_works_on_the_real_docker_registry(void)
{
    struct real_registry r = {0};
    char *sig_digest = NULL;
    int status;

    REQUIRE(start_docker_registry(&r) == 0);
    CHECK(wait_ready(r.host) == 0);
    CHECK(!pg_check_failed_now() && push_signed_image(r.host, &sig_digest) == 0);
    if (!pg_check_failed_now()) {
        check_real_discovery(r.host, sig_digest);
    }
    kill(r.pid, SIGTERM);
    waitpid(r.pid, &status, 0);
    pg_check_rmtree(r.dir);
    pg_free(r.dir);
    pg_free(sig_digest);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    PG_RUN("both signature manifest forms are accepted",
           both_signature_manifest_forms_are_accepted);
    PG_RUN("malformed signature manifests are refused", malformed_signature_manifests_are_refused);
    PG_RUN(
        "a signature manifest's config, artifactType, mediaType and schemaVersion are not judged",
        manifest_fields_besides_layers_are_not_judged);
    PG_RUN("the vector OCI layout index is parsed", vector_index_is_parsed);
    PG_RUN("referrers API lists only Notary signatures, at most max",
           referrers_api_lists_only_notary_signatures);
    PG_RUN("referrers 404 falls back to the tag schema",
           referrers_404_falls_back_to_the_tag_schema);
    PG_RUN("missing signature tag means zero signatures",
           missing_signature_tag_means_zero_signatures);
    PG_RUN("unknown repository is an error, not zero signatures",
           unknown_repository_is_an_error_not_zero_signatures);
    PG_RUN("tag schema that is not an index is refused",
           tag_schema_that_is_not_an_index_is_refused);
    PG_RUN("envelope is fetched from image manifests of both forms and from artifact manifests",
           envelope_is_fetched_for_both_forms);
    PG_RUN("envelope with wrong bytes or sizes is refused",
           envelope_with_wrong_bytes_or_sizes_is_refused);
    PG_RUN("tag schema works on the real docker-registry",
           tag_schema_works_on_the_real_docker_registry);
    curl_global_cleanup();
    return pg_check_done();
}
