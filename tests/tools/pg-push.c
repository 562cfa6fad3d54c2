/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg-push: builds small deterministic OCI images and pushes them, or pushes
 * what is given (an OCI image layout, a manifest file, a blob), to a registry
 * over plain http with the distribution API: blobs by a monolithic
 * POST + PUT upload, manifests by PUT with their media type. It prints the
 * digest of what it pushed. Used by the end-to-end tests, the benchmark and
 * the demo; it never talks to anything but the registry it is given.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "mem.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

#define MAX_BODY (16u * 1024 * 1024)
#define MAX_BLOB (512u * 1024 * 1024)
#define MAX_FILES 32
#define MAX_DEPTH 4

/* A byte buffer that grows; `failed` records an allocation failure. */
struct buf {
    unsigned char *p;
    size_t len;
    size_t cap;
    int failed;
};

/* The parts of an HTTP answer we read. */
struct http_resp {
    long status;
    struct buf body;
    char location[2048];
    char digest[128];
    char content_type[256];
};

/* One file of a generated layer. */
struct layer_file {
    const char *path;
    const char *content;
};

struct image_opts {
    struct layer_file files[MAX_FILES];
    size_t n_files;
    const char *annotations[MAX_FILES];
    size_t n_annotations;
    int is_docker;
    const char *arch;
};

static const char *registry;

/* ---- small helpers ---- */

static void buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->failed) {
        return;
    }
    if (b->len + n > MAX_BLOB) {
        b->failed = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        unsigned char *q = pg_realloc(b->p, cap);
        if (q == NULL) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_zero(struct buf *b, size_t n)
{
    static const unsigned char zeros[512];
    while (n > 0) {
        size_t k = n < sizeof(zeros) ? n : sizeof(zeros);
        buf_add(b, zeros, k);
        n -= k;
    }
}

static int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "pg-push: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

/* "sha256:<hex>" of the bytes, into out (at least 72 bytes). */
static void sha256_digest(const void *p, size_t n, char *out)
{
    unsigned char md[32];
    unsigned int md_len = 0;

    EVP_Digest(p, n, md, &md_len, EVP_sha256(), NULL);
    strcpy(out, "sha256:");
    for (unsigned i = 0; i < 32; i++) {
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
    }
}

static int is_valid_name(const char *s, const char *allowed)
{
    if (s == NULL || *s == '\0' || strlen(s) > 255) {
        return 0;
    }
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr(allowed, *p))) {
            return 0;
        }
    }
    return 1;
}

static int is_valid_repo(const char *s)
{
    return is_valid_name(s, "._-/");
}

static int is_valid_ref(const char *s)
{
    return is_valid_name(s, "._-:ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

static int read_file(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    unsigned char chunk[65536];
    size_t n;

    if (f == NULL) {
        return fail("cannot open %s: %s", path, strerror(errno));
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        buf_add(out, chunk, n);
    }
    int bad = ferror(f) || out->failed;
    fclose(f);
    return bad ? fail("cannot read %s (or larger than the limit)", path) : 0;
}

/* ---- tar and gzip, deterministic ---- */

/* width - 1 octal digits and a NUL; v always fits for our small files. */
static void tar_octal(char *field, size_t width, unsigned long long v)
{
    char tmp[32];

    snprintf(tmp, sizeof(tmp), "%022llo", v);
    memcpy(field, tmp + 22 - (width - 1), width - 1);
    field[width - 1] = '\0';
}

/* One regular file, mode 0644, owner 0:0, mtime 0. */
static int tar_add_file(struct buf *tar, const char *path, const char *content)
{
    char h[512];
    size_t len = strlen(content);
    unsigned sum = 0;

    if (strlen(path) >= 100 || path[0] == '/' || strstr(path, "..") != NULL ||
        len > 64u * 1024 * 1024) {
        return fail("bad layer path %s (relative, under 100 bytes, no ..)", path);
    }
    memset(h, 0, sizeof(h));
    memcpy(h, path, strlen(path));
    tar_octal(h + 100, 8, 0644);
    tar_octal(h + 108, 8, 0);
    tar_octal(h + 116, 8, 0);
    tar_octal(h + 124, 12, len);
    tar_octal(h + 136, 12, 0);
    memset(h + 148, ' ', 8);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    for (size_t i = 0; i < sizeof(h); i++) {
        sum += (unsigned char)h[i];
    }
    snprintf(h + 148, 8, "%06o", sum);
    buf_add(tar, h, sizeof(h));
    buf_add(tar, content, len);
    buf_zero(tar, (512 - len % 512) % 512);
    return 0;
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static void put_le32(struct buf *b, uint32_t v)
{
    unsigned char le[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff};
    buf_add(b, le, 4);
}

/* gzip with deflate "stored" blocks: valid, deterministic, no zlib needed. */
static void gzip_stored(const struct buf *in, struct buf *out)
{
    static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    size_t off = 0;

    buf_add(out, hdr, sizeof(hdr));
    do {
        size_t n = in->len - off > 65535 ? 65535 : in->len - off;
        unsigned char bh[5] = {off + n == in->len ? 1 : 0, n & 0xff, (n >> 8) & 0xff, ~n & 0xff,
                               (~n >> 8) & 0xff};
        buf_add(out, bh, sizeof(bh));
        buf_add(out, in->p + off, n);
        off += n;
    } while (off < in->len);
    put_le32(out, crc32_of(in->p, in->len));
    put_le32(out, (uint32_t)in->len);
}

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    if (b->len + size * n > MAX_BODY) {
        return 0;
    }
    buf_add(b, p, size * n);
    return b->failed ? 0 : size * n;
}

static void copy_header_value(char *dst, size_t dst_len, const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) {
        n--;
    }
    if (n >= dst_len) {
        n = dst_len - 1;
    }
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct http_resp *r = ud;
    size_t len = size * n;
    static const struct {
        const char *name;
        size_t off;
        size_t cap;
    } want[] = {
        {"location:", offsetof(struct http_resp, location),
         sizeof(((struct http_resp *)0)->location)},
        {"docker-content-digest:", offsetof(struct http_resp, digest),
         sizeof(((struct http_resp *)0)->digest)},
        {"content-type:", offsetof(struct http_resp, content_type),
         sizeof(((struct http_resp *)0)->content_type)},
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        size_t k = strlen(want[i].name);
        if (len > k && strncasecmp(p, want[i].name, k) == 0) {
            copy_header_value((char *)r + want[i].off, want[i].cap, p + k, len - k);
        }
    }
    return len;
}

/* One request; the body sent is `body` (may be NULL for none). */
static int http_do(const char *method, const char *url, struct curl_slist *hdrs,
                   const struct buf *body, struct http_resp *r)
{
    CURL *c = curl_easy_init();
    CURLcode cc;

    if (c == NULL) {
        return fail("cannot create a curl handle");
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->len ? (const char *)body->p : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    }
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK) {
        return fail("%s %s failed: %s", method, url, curl_easy_strerror(cc));
    }
    return 0;
}

static void resp_free(struct http_resp *r)
{
    pg_free(r->body.p);
    memset(r, 0, sizeof(*r));
}

static int http_error(const char *what, const char *name, struct http_resp *r)
{
    fprintf(stderr, "pg-push: %s %s: http %ld: %.300s\n", what, name, r->status,
            r->body.p ? (const char *)r->body.p : "");
    return 1;
}

/* ---- registry operations ---- */

static int blob_exists(const char *repo, const char *digest)
{
    char url[1024];
    struct http_resp r = {0};

    snprintf(url, sizeof(url), "http://%s/v2/%s/blobs/%s", registry, repo, digest);
    int found = http_do("HEAD", url, NULL, NULL, &r) == 0 && r.status == 200;
    resp_free(&r);
    return found;
}

/* Upload URL from a Location header, which may be relative. */
static int upload_url(const char *loc, const char *digest, char *out, size_t out_len)
{
    const char *sep = strchr(loc, '?') ? "&" : "?";
    int n;

    if (strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0) {
        n = snprintf(out, out_len, "%s%sdigest=%s", loc, sep, digest);
    } else {
        n = snprintf(out, out_len, "http://%s%s%sdigest=%s", registry, loc, sep, digest);
    }
    return n < 0 || (size_t)n >= out_len ? -1 : 0;
}

/* Pushes the bytes as a blob unless the registry has it; digest into out. */
static int push_blob(const char *repo, const struct buf *data, char *out_digest)
{
    char url[4096];
    struct http_resp r = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    struct buf empty = {0};
    int rc = 1;

    sha256_digest(data->p ? data->p : (const unsigned char *)"", data->len, out_digest);
    if (blob_exists(repo, out_digest)) {
        rc = 0;
        goto out;
    }
    snprintf(url, sizeof(url), "http://%s/v2/%s/blobs/uploads/", registry, repo);
    if (http_do("POST", url, NULL, &empty, &r) != 0 || r.status != 202 || !r.location[0]) {
        rc = http_error("starting the upload to", repo, &r);
        goto out;
    }
    if (upload_url(r.location, out_digest, url, sizeof(url)) != 0) {
        rc = fail("upload location too long for %s", repo);
        goto out;
    }
    resp_free(&r);
    if (http_do("PUT", url, h, data, &r) != 0 || r.status != 201) {
        rc = http_error("uploading a blob to", repo, &r);
        goto out;
    }
    rc = 0;
out:
    resp_free(&r);
    curl_slist_free_all(h);
    return rc;
}

/* PUTs a manifest by tag or digest; checks the registry's digest. */
static int push_manifest(const char *repo, const char *ref, const struct buf *data,
                         const char *media_type, char *out_digest)
{
    char url[1024], ct[512];
    struct http_resp r = {0};
    struct curl_slist *h = NULL;
    int rc = 1;

    sha256_digest(data->p, data->len, out_digest);
    snprintf(url, sizeof(url), "http://%s/v2/%s/manifests/%s", registry, repo,
             ref ? ref : out_digest);
    snprintf(ct, sizeof(ct), "Content-Type: %s", media_type);
    h = curl_slist_append(h, ct);
    if (http_do("PUT", url, h, data, &r) != 0 || r.status != 201) {
        rc = http_error("putting the manifest", url, &r);
        goto out;
    }
    if (r.digest[0] && strcmp(r.digest, out_digest) != 0) {
        rc = fail("registry stored the manifest as %s, expected %s", r.digest, out_digest);
        goto out;
    }
    rc = 0;
out:
    resp_free(&r);
    curl_slist_free_all(h);
    return rc;
}

static struct curl_slist *accept_all(void)
{
    return curl_slist_append(NULL, "Accept: " MT_OCI_MANIFEST ", " MT_OCI_INDEX
                                   ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST);
}

/* GETs (or HEADs) a manifest by tag or digest. */
static int fetch_manifest(const char *repo, const char *ref, const char *method,
                          struct http_resp *r)
{
    char url[1024];
    struct curl_slist *h = accept_all();

    snprintf(url, sizeof(url), "http://%s/v2/%s/manifests/%s", registry, repo, ref);
    int rc = http_do(method, url, h, NULL, r);
    curl_slist_free_all(h);
    if (rc == 0 && r->status != 200) {
        rc = http_error("fetching the manifest", url, r);
    }
    return rc;
}

/* ---- generated images ---- */

static int dump_json(json_t *j, struct buf *out)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (s == NULL) {
        return fail("cannot serialise json");
    }
    buf_add(out, s, strlen(s));
    free(s);
    return out->failed;
}

static json_t *descriptor(const char *media_type, const char *digest, size_t size)
{
    return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
                     (json_int_t)size);
}

static int build_layer(const struct image_opts *io, struct buf *gz, char *diff_id)
{
    struct buf tar = {0};
    int rc = 0;

    for (size_t i = 0; i < io->n_files && rc == 0; i++) {
        rc = tar_add_file(&tar, io->files[i].path, io->files[i].content);
    }
    buf_zero(&tar, 1024);
    if (rc == 0 && !tar.failed) {
        sha256_digest(tar.p, tar.len, diff_id);
        gzip_stored(&tar, gz);
    }
    rc = rc || tar.failed || gz->failed;
    pg_free(tar.p);
    return rc;
}

static json_t *image_config(const struct image_opts *io, const char *diff_id)
{
    return json_pack("{s:s, s:s, s:{s:[s], s:[s]}, s:{s:s, s:[s]}}", "architecture", io->arch, "os",
                     "linux", "config", "Env", "PATH=/usr/local/bin:/usr/bin:/bin", "Cmd", "/hello",
                     "rootfs", "type", "layers", "diff_ids", diff_id);
}

static json_t *image_manifest(const struct image_opts *io, const char *cfg_digest, size_t cfg_len,
                              const char *layer_digest, size_t layer_len)
{
    json_t *m = json_pack(
        "{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType",
        io->is_docker ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST, "config",
        descriptor(io->is_docker ? MT_DOCKER_CONFIG : MT_OCI_CONFIG, cfg_digest, cfg_len), "layers",
        descriptor(io->is_docker ? MT_DOCKER_LAYER : MT_OCI_LAYER, layer_digest, layer_len));
    json_t *ann = json_object();

    for (size_t i = 0; m != NULL && ann != NULL && i < io->n_annotations; i++) {
        const char *kv = io->annotations[i];
        const char *eq = strchr(kv, '=');
        char *key = pg_strndup(kv, (size_t)(eq - kv));
        json_object_set_new(ann, key ? key : "", json_string(eq + 1));
        pg_free(key);
    }
    if (m != NULL && ann != NULL && io->n_annotations > 0) {
        json_object_set(m, "annotations", ann);
    }
    json_decref(ann);
    return m;
}

/* Builds the layer, config and manifest, pushes them; manifest by tag. */
static int cmd_image(const char *repo, const char *tag, const struct image_opts *io)
{
    struct buf layer = {0}, cfg = {0}, man = {0};
    char diff_id[80], layer_digest[80], cfg_digest[80], man_digest[80];
    json_t *jc = NULL, *jm = NULL;
    int rc = 1;

    if (build_layer(io, &layer, diff_id) != 0 || (jc = image_config(io, diff_id)) == NULL ||
        dump_json(jc, &cfg) != 0) {
        rc = fail("cannot build the image for %s", repo);
        goto out;
    }
    if (push_blob(repo, &layer, layer_digest) != 0 || push_blob(repo, &cfg, cfg_digest) != 0) {
        goto out;
    }
    jm = image_manifest(io, cfg_digest, cfg.len, layer_digest, layer.len);
    if (jm == NULL || dump_json(jm, &man) != 0) {
        rc = fail("cannot build the manifest for %s", repo);
        goto out;
    }
    rc = push_manifest(repo, tag, &man, io->is_docker ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST,
                       man_digest);
    if (rc == 0) {
        printf("%s\n", man_digest);
    }
out:
    json_decref(jc);
    json_decref(jm);
    pg_free(layer.p);
    pg_free(cfg.p);
    pg_free(man.p);
    return rc;
}

/* ---- OCI image layout ---- */

static int layout_blob(const char *dir, const char *digest, struct buf *out)
{
    char path[4096], got[80];

    if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71 ||
        strspn(digest + 7, "0123456789abcdef") != 64) {
        return fail("unsupported or malformed digest %s", digest ? digest : "(none)");
    }
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, digest + 7);
    if (read_file(path, out) != 0) {
        return 1;
    }
    sha256_digest(out->p, out->len, got);
    if (strcmp(got, digest) != 0) {
        return fail("blob %s does not match its digest %s", path, digest);
    }
    return 0;
}

static int is_index_type(const char *mt)
{
    return mt != NULL && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
}

static int push_layout_node(const char *dir, const char *repo, json_t *desc, const char *ref,
                            int depth);

/* Pushes the blobs (config, layers) or child manifests a manifest names. */
static int push_children(const char *dir, const char *repo, json_t *doc, int is_index, int depth)
{
    size_t i;
    json_t *d;

    if (is_index) {
        json_array_foreach(json_object_get(doc, "manifests"), i, d)
        {
            if (push_layout_node(dir, repo, d, NULL, depth + 1) != 0) {
                return 1;
            }
        }
        return 0;
    }
    json_t *all = json_array();
    json_array_append(all, json_object_get(doc, "config"));
    json_array_extend(all, json_object_get(doc, "layers"));
    json_array_foreach(all, i, d)
    {
        struct buf blob = {0};
        char digest[80];
        int rc = layout_blob(dir, json_string_value(json_object_get(d, "digest")), &blob) ||
                 push_blob(repo, &blob, digest);
        pg_free(blob.p);
        if (rc != 0) {
            json_decref(all);
            return 1;
        }
    }
    json_decref(all);
    return 0;
}

/* A manifest or index from the layout, its children first. */
static int push_layout_node(const char *dir, const char *repo, json_t *desc, const char *ref,
                            int depth)
{
    const char *digest = json_string_value(json_object_get(desc, "digest"));
    const char *mt = json_string_value(json_object_get(desc, "mediaType"));
    struct buf raw = {0};
    json_t *doc = NULL;
    char got[80];
    int rc = 1;

    if (depth > MAX_DEPTH || layout_blob(dir, digest, &raw) != 0) {
        goto out;
    }
    doc = json_loadb((const char *)raw.p, raw.len, 0, NULL);
    if (mt == NULL) {
        mt = json_string_value(json_object_get(doc, "mediaType"));
    }
    if (doc == NULL || mt == NULL) {
        rc = fail("manifest %s is not json or has no media type", digest);
        goto out;
    }
    if (push_children(dir, repo, doc, is_index_type(mt), depth) != 0 ||
        push_manifest(repo, ref, &raw, mt, got) != 0) {
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    pg_free(raw.p);
    return rc;
}

/* The index.json entry named `name` (ref.name annotation), or the only one. */
static json_t *layout_pick(json_t *index, const char *name)
{
    json_t *list = json_object_get(index, "manifests"), *d;
    size_t i;

    if (name == NULL) {
        return json_array_size(list) == 1 ? json_array_get(list, 0) : NULL;
    }
    json_array_foreach(list, i, d)
    {
        json_t *ann = json_object_get(d, "annotations");
        const char *n =
            json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
        if (n != NULL && strcmp(n, name) == 0) {
            return d;
        }
    }
    return NULL;
}

static int cmd_layout(const char *repo, const char *tag, const char *dir, const char *name)
{
    char path[4096];
    json_error_t jerr;

    snprintf(path, sizeof(path), "%s/index.json", dir);
    json_t *index = json_load_file(path, 0, &jerr);
    json_t *d = index ? layout_pick(index, name) : NULL;
    int rc = 1;

    if (d == NULL) {
        rc = fail("no single manifest to push in %s (use --ref NAME)", path);
    } else if (push_layout_node(dir, repo, d, tag, 0) == 0) {
        printf("%s\n", json_string_value(json_object_get(d, "digest")));
        rc = 0;
    }
    json_decref(index);
    return rc;
}

/* ---- other subcommands ---- */

static int cmd_manifest(const char *repo, const char *ref, const char *file, const char *mt)
{
    struct buf raw = {0};
    char digest[80];
    int rc = read_file(file, &raw) || push_manifest(repo, ref, &raw, mt, digest);

    if (rc == 0) {
        printf("%s\n", digest);
    }
    pg_free(raw.p);
    return rc;
}

static int cmd_blob(const char *repo, const char *file)
{
    struct buf raw = {0};
    char digest[80];
    int rc = read_file(file, &raw) || push_blob(repo, &raw, digest);

    if (rc == 0) {
        printf("%s\n", digest);
    }
    pg_free(raw.p);
    return rc;
}

/* The descriptor of a manifest already in the registry, as the referrers
 * tag schema lists it: media type, digest, size, artifactType, annotations. */
static json_t *remote_descriptor(const char *repo, const char *digest)
{
    struct http_resp r = {0};
    json_t *doc = NULL, *d = NULL;
    char got[80];

    if (fetch_manifest(repo, digest, "GET", &r) != 0) {
        goto out;
    }
    sha256_digest(r.body.p, r.body.len, got);
    doc = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    const char *mt = json_string_value(json_object_get(doc, "mediaType"));
    const char *at = json_string_value(json_object_get(doc, "artifactType"));
    if (at == NULL) {
        at = json_string_value(json_object_get(json_object_get(doc, "config"), "mediaType"));
    }
    if (doc == NULL || strcmp(got, digest) != 0) {
        fail("manifest %s in %s is not json or does not match its digest", digest, repo);
        goto out;
    }
    d = descriptor(mt ? mt : r.content_type, digest, r.body.len);
    if (at != NULL) {
        json_object_set_new(d, "artifactType", json_string(at));
    }
    if (json_object_get(doc, "annotations") != NULL) {
        json_object_set(d, "annotations", json_object_get(doc, "annotations"));
    }
out:
    json_decref(doc);
    resp_free(&r);
    return d;
}

static int cmd_index(const char *repo, const char *tag, char **digests, int n)
{
    json_t *list = json_array();
    json_t *idx = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
                            "manifests", list);
    struct buf raw = {0};
    char digest[80];
    int rc = 1;

    for (int i = 0; i < n; i++) {
        json_t *d = remote_descriptor(repo, digests[i]);
        if (d == NULL) {
            goto out;
        }
        json_array_append_new(list, d);
    }
    if (dump_json(idx, &raw) != 0 || push_manifest(repo, tag, &raw, MT_OCI_INDEX, digest) != 0) {
        goto out;
    }
    printf("%s\n", digest);
    rc = 0;
out:
    json_decref(idx);
    pg_free(raw.p);
    return rc;
}

static int cmd_digest(const char *repo, const char *ref)
{
    struct http_resp r = {0};
    int rc = fetch_manifest(repo, ref, "GET", &r);

    if (rc == 0) {
        char got[80];
        sha256_digest(r.body.p, r.body.len, got);
        printf("%s\n", got);
    }
    resp_free(&r);
    return rc;
}

/* ---- command line ---- */

static void usage(FILE *out)
{
    fprintf(out, "usage: pg-push [--registry HOST:PORT] COMMAND ...   (or $PG_REGISTRY)\n"
                 "  image REPO:TAG [--file PATH=CONTENT]... [--annotation K=V]... [--docker]\n"
                 "        [--arch ARCH]        build and push a one-layer image\n"
                 "  layout REPO:TAG DIR [--ref NAME]   push the image of an OCI image layout\n"
                 "  manifest REPO REF FILE MEDIA_TYPE  push a manifest file by tag or digest\n"
                 "  blob REPO FILE                     push a blob\n"
                 "  index REPO TAG DIGEST...           push an OCI index of those manifests\n"
                 "  digest REPO:REF                    print the digest of a manifest\n"
                 "Each prints the digest of what it pushed. Exit 0 OK, 1 failed, 2 usage.\n");
}

/* Splits "repo:tag" in place; the tag is after the last ':' past any '/'. */
static int split_ref(char *s, const char **out_repo, const char **out_tag)
{
    char *slash = strrchr(s, '/');
    char *colon = strrchr(slash ? slash : s, ':');
    char *at = strchr(s, '@');

    if (at != NULL) {
        *at = '\0';
        colon = at;
    } else if (colon == NULL) {
        return -1;
    } else {
        *colon = '\0';
    }
    *out_repo = s;
    *out_tag = colon + 1;
    return is_valid_repo(*out_repo) && is_valid_ref(*out_tag) ? 0 : -1;
}

static const char *host_arch(void)
{
    static struct utsname u;

    if (uname(&u) != 0) {
        return "amd64";
    }
    if (strcmp(u.machine, "aarch64") == 0) {
        return "arm64";
    }
    if (strcmp(u.machine, "x86_64") == 0) {
        return "amd64";
    }
    return u.machine;
}

/* Parses the options of `image` and `layout`; positional args stay. */
static int parse_image_opts(int *argc, char **argv, struct image_opts *io, const char **ref)
{
    int out = 0;

    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < *argc;
        if (strcmp(a, "--docker") == 0) {
            io->is_docker = 1;
        } else if (strcmp(a, "--file") == 0 && has_val && io->n_files < MAX_FILES) {
            char *kv = argv[++i];
            char *eq = strchr(kv, '=');
            if (eq == NULL) {
                return -1;
            }
            *eq = '\0';
            io->files[io->n_files++] = (struct layer_file){kv, eq + 1};
        } else if (strcmp(a, "--annotation") == 0 && has_val && io->n_annotations < MAX_FILES &&
                   strchr(argv[i + 1], '=') != NULL) {
            io->annotations[io->n_annotations++] = argv[++i];
        } else if (strcmp(a, "--arch") == 0 && has_val) {
            io->arch = argv[++i];
        } else if (strcmp(a, "--ref") == 0 && has_val) {
            *ref = argv[++i];
        } else if (a[0] == '-') {
            return -1;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    return 0;
}

static int dispatch_image(int argc, char **argv)
{
    struct image_opts io = {.arch = host_arch()};
    const char *repo = NULL, *tag = NULL, *name = NULL;
    int is_image = strcmp(argv[0], "image") == 0;

    argc--;
    argv++;
    if (parse_image_opts(&argc, argv, &io, &name) != 0 || argc != (is_image ? 1 : 2) ||
        split_ref(argv[0], &repo, &tag) != 0) {
        return -1;
    }
    if (!is_image) {
        return cmd_layout(repo, tag, argv[1], name);
    }
    if (io.n_files == 0) {
        io.files[io.n_files++] = (struct layer_file){"hello", "hello from pullgate tests\n"};
    }
    return cmd_image(repo, tag, &io);
}

static int dispatch(int argc, char **argv)
{
    const char *cmd = argv[0], *repo = NULL, *tag = NULL;

    if (strcmp(cmd, "image") == 0 || strcmp(cmd, "layout") == 0) {
        return dispatch_image(argc, argv);
    }
    if (strcmp(cmd, "digest") == 0 && argc == 2 && split_ref(argv[1], &repo, &tag) == 0) {
        return cmd_digest(repo, tag);
    }
    if (argc < 2 || !is_valid_repo(argv[1])) {
        return -1;
    }
    if (strcmp(cmd, "manifest") == 0 && argc == 5 && is_valid_ref(argv[2])) {
        return cmd_manifest(argv[1], argv[2], argv[3], argv[4]);
    }
    if (strcmp(cmd, "blob") == 0 && argc == 3) {
        return cmd_blob(argv[1], argv[2]);
    }
    if (strcmp(cmd, "index") == 0 && argc >= 3 && is_valid_ref(argv[2])) {
        for (int i = 3; i < argc; i++) {
            if (!is_valid_ref(argv[i])) {
                return -1;
            }
        }
        return cmd_index(argv[1], argv[2], argv + 3, argc - 3);
    }
    return -1;
}

int main(int argc, char **argv)
{
    int i = 1;

    if (argc >= 3 && strcmp(argv[1], "--registry") == 0) {
        registry = argv[2];
        i = 3;
    } else {
        registry = getenv("PG_REGISTRY");
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (registry == NULL || strpbrk(registry, "/?#@ ") != NULL || i >= argc) {
        usage(stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = dispatch(argc - i, argv + i);
    curl_global_cleanup();
    if (rc < 0) {
        usage(stderr);
        return 2;
    }
    return rc;
}
