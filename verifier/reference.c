/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image reference grammar and containerd's normalisation (docker.io,
 * library/, latest, tag dropped beside a digest). Nothing here touches the
 * network; registry.c turns a pg_ref into URLs.
 */
#include "reference.h"

#include <string.h>

#include "mem.h"

#define REF_INPUT_MAX 1024
#define TAG_MAX 128
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int is_hex_lower(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int is_hex_any(char c)
{
    return is_hex_lower(c) || (c >= 'A' && c <= 'F');
}

static size_t digest_hex_len(const char *alg, size_t alg_len)
{
    if (alg_len == 6 && memcmp(alg, "sha256", 6) == 0) {
        return 64;
    }
    if (alg_len == 6 && memcmp(alg, "sha384", 6) == 0) {
        return 96;
    }
    if (alg_len == 6 && memcmp(alg, "sha512", 6) == 0) {
        return 128;
    }
    return 0;
}

int pg_ref_is_digest(const char *s)
{
    const char *colon;
    size_t want;
    size_t i;

    if (s == NULL || (colon = strchr(s, ':')) == NULL) {
        return 0;
    }
    want = digest_hex_len(s, (size_t)(colon - s));
    if (want == 0 || strlen(colon + 1) != want) {
        return 0;
    }
    for (i = 0; i < want; i++) {
        if (!is_hex_lower(colon[1 + i])) {
            return 0;
        }
    }
    return 1;
}

static enum pg_status check_digest(const char *d, struct pg_err *err)
{
    char esc[160];
    const char *colon = strchr(d, ':');

    pg_escape(esc, sizeof(esc), d, strlen(d));
    if (colon == NULL || colon == d || colon[1] == '\0') {
        return pg_err_set(err, PG_ERR_REFERENCE, "invalid digest \"%s\": want <algorithm>:<hex>",
                          esc);
    }
    if (digest_hex_len(d, (size_t)(colon - d)) == 0) {
        return pg_err_set(err, PG_ERR_REFERENCE,
                          "invalid digest \"%s\": unsupported algorithm (sha256, sha384, sha512)",
                          esc);
    }
    if (!pg_ref_is_digest(d)) {
        return pg_err_set(err, PG_ERR_REFERENCE,
                          "invalid digest \"%s\": wrong length or not lower-case hex", esc);
    }
    return PG_OK;
}

static int is_tag(const char *t)
{
    size_t n = strlen(t);
    size_t i;

    if (n == 0 || n > TAG_MAX || !(is_alnum(t[0]) || t[0] == '_')) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if (!(is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-')) {
            return 0;
        }
    }
    return 1;
}

/* Whether a separator between two alphanumeric runs is ".", "_", "__" or "-"+. */
static int is_separator(const char *s, size_t n)
{
    size_t i;

    if (n == 1 && (s[0] == '.' || s[0] == '_')) {
        return 1;
    }
    if (n == 2 && s[0] == '_' && s[1] == '_') {
        return 1;
    }
    for (i = 0; i < n; i++) {
        if (s[i] != '-') {
            return 0;
        }
    }
    return n > 0;
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static int is_path_component(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t run = i;
        size_t sep;

        while (run < n && is_lower_alnum(s[run])) {
            run++;
        }
        if (run == i) {
            return 0;
        }
        if (run == n) {
            return 1;
        }
        sep = run;
        while (sep < n && !is_lower_alnum(s[sep])) {
            sep++;
        }
        if (sep == n || !is_separator(s + run, sep - run)) {
            return 0;
        }
        i = sep;
    }
    return 0;
}

static int is_path(const char *p)
{
    const char *start = p;

    for (;;) {
        const char *slash = strchr(start, '/');
        size_t n = slash != NULL ? (size_t)(slash - start) : strlen(start);

        if (!is_path_component(start, n)) {
            return 0;
        }
        if (slash == NULL) {
            return 1;
        }
        start = slash + 1;
    }
}

/* One DNS label: [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
static int is_label(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1])) {
        return 0;
    }
    for (i = 1; i + 1 < n; i++) {
        if (!is_alnum(s[i]) && s[i] != '-') {
            return 0;
        }
    }
    return 1;
}

static int is_port(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 5) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int is_ipv6_host(const char *s, size_t n)
{
    size_t i;

    if (n < 3 || s[0] != '[' || s[n - 1] != ']') {
        return 0;
    }
    for (i = 1; i + 1 < n; i++) {
        if (!is_hex_any(s[i]) && s[i] != ':') {
            return 0;
        }
    }
    return 1;
}

/* host[:port] where host is DNS labels joined by '.' or a bracketed IPv6 address. */
static int is_domain(const char *d)
{
    size_t n = strlen(d);
    const char *close = d[0] == '[' ? strchr(d, ']') : NULL;
    const char *colon = close != NULL ? strchr(close, ':') : strrchr(d, ':');
    size_t host_len = colon != NULL ? (size_t)(colon - d) : n;
    size_t i = 0;

    if (colon != NULL && !is_port(colon + 1, n - host_len - 1)) {
        return 0;
    }
    if (d[0] == '[') {
        return is_ipv6_host(d, host_len);
    }
    while (i <= host_len) {
        const char *dot = memchr(d + i, '.', host_len - i);
        size_t end = dot != NULL ? (size_t)(dot - d) : host_len;

        if (!is_label(d + i, end - i)) {
            return 0;
        }
        i = end + 1;
    }
    return 1;
}

static int is_all_lower_hex64(const char *s)
{
    size_t i;

    if (strlen(s) != 64) {
        return 0;
    }
    for (i = 0; i < 64; i++) {
        if (!is_hex_lower(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int has_upper(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s >= 'A' && *s <= 'Z') {
            return 1;
        }
    }
    return 0;
}

/* containerd's split: the first part is a registry only if it looks like a host. */
static enum pg_status split_domain(struct pg_ref *ref, const char *name)
{
    const char *slash = strchr(name, '/');
    char *first = slash != NULL ? pg_strndup(name, (size_t)(slash - name)) : NULL;
    const char *rest = name;

    if (slash != NULL && first == NULL) {
        return PG_ERR_NOMEM;
    }
    if (first != NULL &&
        (strpbrk(first, ".:") != NULL || strcmp(first, "localhost") == 0 || has_upper(first))) {
        ref->domain = first;
        first = NULL;
        rest = slash + 1;
    } else {
        ref->domain = pg_strdup(PG_REF_DEFAULT_DOMAIN);
    }
    pg_free(first);
    if (ref->domain != NULL && strcmp(ref->domain, LEGACY_DOMAIN) == 0) {
        pg_free(ref->domain);
        ref->domain = pg_strdup(PG_REF_DEFAULT_DOMAIN);
    }
    if (ref->domain == NULL) {
        return PG_ERR_NOMEM;
    }
    if (strcmp(ref->domain, PG_REF_DEFAULT_DOMAIN) == 0 && strchr(rest, '/') == NULL) {
        ref->path = pg_asprintf("%s%s", OFFICIAL_PREFIX, rest);
    } else {
        ref->path = pg_strdup(rest);
    }
    return ref->path != NULL ? PG_OK : PG_ERR_NOMEM;
}

static enum pg_status check_name(const struct pg_ref *ref, const char *esc, struct pg_err *err)
{
    if (!is_domain(ref->domain)) {
        return pg_err_set(err, PG_ERR_REFERENCE, "invalid reference \"%s\": bad registry host",
                          esc);
    }
    if (ref->path[0] == '\0') {
        return pg_err_set(err, PG_ERR_REFERENCE, "invalid reference \"%s\": empty repository", esc);
    }
    if (has_upper(ref->path)) {
        return pg_err_set(err, PG_ERR_REFERENCE,
                          "invalid reference \"%s\": repository name must be lowercase", esc);
    }
    if (!is_path(ref->path)) {
        char path[160];

        pg_escape(path, sizeof(path), ref->path, strlen(ref->path));
        return pg_err_set(err, PG_ERR_REFERENCE,
                          "invalid reference \"%s\": bad repository path \"%s\"", esc, path);
    }
    if (strlen(ref->domain) + 1 + strlen(ref->path) > PG_REF_NAME_MAX) {
        return pg_err_set(err, PG_ERR_REFERENCE,
                          "invalid reference \"%s\": name longer than %d characters", esc,
                          PG_REF_NAME_MAX);
    }
    return PG_OK;
}

/* Cuts "@digest" and ":tag" off work (in place) into ref. */
static enum pg_status split_suffixes(struct pg_ref *ref, char *work, const char *esc,
                                     struct pg_err *err)
{
    char *at = strchr(work, '@');
    char *slash;
    char *colon;

    if (at != NULL) {
        enum pg_status rc;

        *at = '\0';
        rc = check_digest(at + 1, err);
        if (rc != PG_OK) {
            return rc;
        }
        ref->digest = pg_strdup(at + 1);
        if (ref->digest == NULL) {
            return PG_ERR_NOMEM;
        }
    }
    slash = strrchr(work, '/');
    colon = strrchr(slash != NULL ? slash : work, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (!is_tag(colon + 1)) {
            return pg_err_set(err, PG_ERR_REFERENCE, "invalid reference \"%s\": bad tag", esc);
        }
        if (ref->digest == NULL) {
            ref->tag = pg_strdup(colon + 1);
            if (ref->tag == NULL) {
                return PG_ERR_NOMEM;
            }
        }
    }
    if (work[0] == '\0') {
        return pg_err_set(err, PG_ERR_REFERENCE, "invalid reference \"%s\": empty name", esc);
    }
    return PG_OK;
}

enum pg_status pg_ref_parse(const char *s, struct pg_ref **out_ref, struct pg_err *err)
{
    struct pg_ref *ref = NULL;
    char *work = NULL;
    char esc[192];
    enum pg_status rc;
    size_t n = s != NULL ? strlen(s) : 0;

    pg_escape(esc, sizeof(esc), s, n);
    if (n == 0) {
        return pg_err_set(err, PG_ERR_REFERENCE, "invalid reference: empty");
    }
    if (n > REF_INPUT_MAX) {
        return pg_err_set(err, PG_ERR_REFERENCE, "invalid reference \"%s\": longer than %d bytes",
                          esc, REF_INPUT_MAX);
    }
    if (is_all_lower_hex64(s)) {
        return pg_err_set(err, PG_ERR_REFERENCE,
                          "invalid reference \"%s\": a bare 64-digit hex string is an image id",
                          esc);
    }
    ref = pg_calloc(1, sizeof(*ref));
    work = pg_strdup(s);
    if (ref == NULL || work == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory parsing a reference");
        goto out;
    }
    rc = split_suffixes(ref, work, esc, err);
    if (rc == PG_OK) {
        rc = split_domain(ref, work);
    }
    if (rc == PG_ERR_NOMEM) {
        pg_err_set(err, rc, "out of memory parsing a reference");
        goto out;
    }
    if (rc == PG_OK) {
        rc = check_name(ref, esc, err);
    }
    if (rc != PG_OK) {
        goto out;
    }
    if (ref->tag == NULL && ref->digest == NULL && (ref->tag = pg_strdup("latest")) == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory parsing a reference");
        goto out;
    }
    *out_ref = ref;
    ref = NULL; /* the caller owns it now */
out:
    pg_free(work);
    pg_ref_free(ref);
    return rc;
}

char *pg_ref_repository(const struct pg_ref *ref)
{
    return pg_asprintf("%s/%s", ref->domain, ref->path);
}

char *pg_ref_string(const struct pg_ref *ref)
{
    if (ref->digest != NULL) {
        return pg_asprintf("%s/%s@%s", ref->domain, ref->path, ref->digest);
    }
    return pg_asprintf("%s/%s:%s", ref->domain, ref->path, ref->tag != NULL ? ref->tag : "latest");
}

char *pg_ref_with_digest(const struct pg_ref *ref, const char *digest)
{
    return pg_asprintf("%s/%s@%s", ref->domain, ref->path, digest);
}

void pg_ref_free(struct pg_ref *ref)
{
    if (ref == NULL) {
        return;
    }
    pg_free(ref->domain);
    pg_free(ref->path);
    pg_free(ref->tag);
    pg_free(ref->digest);
    pg_free(ref);
}
