/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials: the CRI AuthConfig rules (server_address, auth decoding),
 * docker config.json with credential helpers, WWW-Authenticate challenges
 * and token replies. registry.c performs the requests these feed.
 */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "jsonutil.h"
#include "log.h"
#include "mem.h"
#include "reference.h"

#define PARAM_MAX 2048
#define HELPER_NAME_MAX 64
#define PATH_SHOWN 256 /* escaped paths in messages */
#define DOCKER_HUB_SERVER "https://index.docker.io/v1/"
#define TOKEN_USERNAME "<token>"

void pg_auth_free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        pg_free(s);
    }
}

void pg_auth_challenge_clear(struct pg_auth_challenge *c)
{
    if (c == NULL) {
        return;
    }
    pg_free(c->realm);
    pg_free(c->service);
    pg_free(c->scope);
    memset(c, 0, sizeof(*c));
}

/* Reads a token or quoted-string at *p into buf; advances *p. */
static int read_param_value(const char **p, char *buf, size_t size)
{
    const char *s = *p;
    size_t n = 0;

    if (*s == '"') {
        for (s++; *s != '"'; s++) {
            if (*s == '\0') {
                return -1;
            }
            if (*s == '\\' && s[1] != '\0') {
                s++;
            }
            if (n + 1 >= size) {
                return -1;
            }
            buf[n++] = *s;
        }
        s++;
    } else {
        while (*s != '\0' && *s != ',' && !isspace((unsigned char)*s)) {
            if (n + 1 >= size) {
                return -1;
            }
            buf[n++] = *s++;
        }
    }
    buf[n] = '\0';
    *p = s;
    return 0;
}

static int set_param(struct pg_auth_challenge *c, const char *key, size_t key_len,
                     const char *value)
{
    char **slot = NULL;

    if (key_len == 5 && strncasecmp(key, "realm", 5) == 0) {
        slot = &c->realm;
    } else if (key_len == 7 && strncasecmp(key, "service", 7) == 0) {
        slot = &c->service;
    } else if (key_len == 5 && strncasecmp(key, "scope", 5) == 0) {
        slot = &c->scope;
    }
    if (slot == NULL || *slot != NULL) {
        return 0;
    }
    *slot = pg_strdup(value);
    return *slot != NULL ? 0 : -1;
}

static enum pg_status parse_params(const char *p, struct pg_auth_challenge *c, struct pg_err *err)
{
    char value[PARAM_MAX];

    for (;;) {
        const char *key;
        size_t key_len;

        while (*p == ',' || isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == '\0') {
            return PG_OK;
        }
        key = p;
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '-') {
            p++;
        }
        key_len = (size_t)(p - key);
        while (*p == ' ') {
            p++;
        }
        if (key_len == 0 || *p != '=') {
            return PG_OK; /* the next challenge starts here; only the first is used */
        }
        p++;
        while (*p == ' ') {
            p++;
        }
        if (read_param_value(&p, value, sizeof(value)) != 0) {
            return pg_err_set(err, PG_ERR_PARSE, "malformed WWW-Authenticate parameter");
        }
        if (set_param(c, key, key_len, value) != 0) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading WWW-Authenticate");
        }
    }
}

enum pg_status pg_auth_parse_challenge(const char *value, struct pg_auth_challenge *out,
                                       struct pg_err *err)
{
    struct pg_auth_challenge c = {0};
    const char *p = value;
    enum pg_status rc;

    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (strncasecmp(p, "Bearer", 6) == 0 && (p[6] == ' ' || p[6] == '\0')) {
        c.scheme = PG_AUTH_BEARER;
        p += 6;
    } else if (strncasecmp(p, "Basic", 5) == 0 && (p[5] == ' ' || p[5] == '\0')) {
        c.scheme = PG_AUTH_BASIC;
        p += 5;
    } else {
        *out = c;
        return PG_OK;
    }
    rc = parse_params(p, &c, err);
    if (rc != PG_OK) {
        pg_auth_challenge_clear(&c);
        return rc;
    }
    *out = c;
    return PG_OK;
}

/* Only header-safe bytes may end up in an Authorization value. */
static int is_header_safe(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

static char *base64_decode(const char *in, size_t *out_len)
{
    size_t n = strlen(in);
    unsigned char *buf = pg_malloc(n / 4 * 3 + 4);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int len1 = 0;
    int len2 = 0;

    if (buf == NULL || ctx == NULL || n > (1u << 20)) {
        goto fail;
    }
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, buf, &len1, (const unsigned char *)in, (int)n) < 0 ||
        EVP_DecodeFinal(ctx, buf + len1, &len2) != 1) {
        goto fail;
    }
    EVP_ENCODE_CTX_free(ctx);
    buf[len1 + len2] = '\0';
    *out_len = (size_t)(len1 + len2);
    return (char *)buf;
fail:
    EVP_ENCODE_CTX_free(ctx);
    if (buf != NULL) {
        OPENSSL_cleanse(buf, n / 4 * 3 + 4);
    }
    pg_free(buf);
    return NULL;
}

/* base64 "user:pass" into out->username / out->password. */
static enum pg_status decode_auth(const char *auth, struct pg_credentials *out, struct pg_err *err)
{
    size_t len = 0;
    char *plain = base64_decode(auth, &len);
    char *colon;

    if (plain == NULL) {
        return pg_err_set(err, PG_ERR_REGISTRY_AUTH, "registry auth value is not valid base64");
    }
    while (len > 0 && plain[len - 1] == '\0') {
        len--;
    }
    colon = memchr(plain, ':', len);
    if (colon == NULL || memchr(plain, '\0', len) != NULL) {
        OPENSSL_cleanse(plain, len);
        pg_free(plain);
        return pg_err_set(err, PG_ERR_REGISTRY_AUTH, "registry auth value is not user:password");
    }
    out->username = pg_strndup(plain, (size_t)(colon - plain));
    out->password = pg_strndup(colon + 1, len - (size_t)(colon - plain) - 1);
    OPENSSL_cleanse(plain, len);
    pg_free(plain);
    if (out->username == NULL || out->password == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory decoding registry auth");
    }
    return PG_OK;
}

static int host_matches(const char *a, const char *registry_host)
{
    static const char *const hub[] = {"docker.io", "index.docker.io", "registry-1.docker.io"};
    int a_hub = 0;
    int r_hub = 0;

    if (strcasecmp(a, registry_host) == 0) {
        return 1;
    }
    for (size_t i = 0; i < sizeof(hub) / sizeof(hub[0]); i++) {
        a_hub |= strcasecmp(a, hub[i]) == 0;
        r_hub |= strcasecmp(registry_host, hub[i]) == 0;
    }
    return a_hub && r_hub;
}

/* The host[:port] of a URL with a scheme; "" for anything else (as Go's url.Parse). */
static void url_host(const char *url, char *host, size_t size)
{
    const char *p = strstr(url, "://");
    const char *end;
    const char *at;
    size_t n;

    host[0] = '\0';
    if (p == NULL || p == url) {
        return;
    }
    for (const char *s = url; s < p; s++) {
        if (!isalnum((unsigned char)*s) && *s != '+' && *s != '-' && *s != '.') {
            return;
        }
    }
    p += 3;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        p = at + 1;
    }
    n = (size_t)(end - p);
    if (n < size) {
        memcpy(host, p, n);
        host[n] = '\0';
    }
}

static enum pg_status copy_secret(char **dst, const char *src, const char *what, struct pg_err *err)
{
    if (!is_header_safe(src)) {
        return pg_err_set(err, PG_ERR_REGISTRY_AUTH, "registry %s holds control characters", what);
    }
    *dst = pg_strdup(src);
    return *dst != NULL ? PG_OK : pg_err_set(err, PG_ERR_NOMEM, "out of memory copying %s", what);
}

enum pg_status pg_auth_resolve(const struct pg_credentials *in, const char *host,
                               struct pg_credentials *out, struct pg_err *err)
{
    struct pg_credentials c = {0};
    enum pg_status rc = PG_OK;

    if (in == NULL) {
        *out = c;
        return PG_OK;
    }
    if (in->server_address != NULL && in->server_address[0] != '\0') {
        char sa_host[300];

        url_host(in->server_address, sa_host, sizeof(sa_host));
        if (!host_matches(sa_host, host)) {
            *out = c; /* credentials for another server: anonymous, as containerd */
            return PG_OK;
        }
    }
    if (in->username != NULL && in->username[0] != '\0') {
        rc = copy_secret(&c.username, in->username, "username", err);
        if (rc == PG_OK) {
            rc =
                copy_secret(&c.password, in->password != NULL ? in->password : "", "password", err);
        }
    } else if (in->identity_token != NULL && in->identity_token[0] != '\0') {
        rc = copy_secret(&c.identity_token, in->identity_token, "identity token", err);
    } else if (in->auth != NULL && in->auth[0] != '\0') {
        rc = decode_auth(in->auth, &c, err);
    } else if (in->registry_token != NULL && in->registry_token[0] != '\0') {
        rc = copy_secret(&c.registry_token, in->registry_token, "registry token", err);
    }
    if (rc != PG_OK) {
        pg_credentials_clear(&c);
        return rc;
    }
    *out = c;
    return PG_OK;
}

char *pg_auth_basic_header(const char *user, const char *pass)
{
    char *plain = pg_asprintf("%s:%s", user, pass != NULL ? pass : "");
    size_t n = plain != NULL ? strlen(plain) : 0;
    char *hdr = plain != NULL ? pg_malloc(sizeof("Basic ") + (n + 2) / 3 * 4 + 1) : NULL;

    if (hdr != NULL) {
        memcpy(hdr, "Basic ", 6);
        EVP_EncodeBlock((unsigned char *)hdr + 6, (const unsigned char *)plain, (int)n);
    }
    pg_auth_free_secret(plain);
    return hdr;
}

enum pg_status pg_auth_parse_token(const unsigned char *data, size_t len, char **out_token,
                                   struct pg_err *err)
{
    json_t *root = NULL;
    const json_t *tok;
    enum pg_status rc;

    /* Not pg_jsonutil_parse: jansson's error text quotes the bytes near the
     * fault, which here may be the token itself. */
    root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return pg_err_set(err, PG_ERR_PARSE,
                          "token endpoint reply of %zu bytes is not a JSON object", len);
    }
    tok = json_object_get(root, "token");
    if (!json_is_string(tok) || json_string_length(tok) == 0) {
        tok = json_object_get(root, "access_token");
    }
    if (!json_is_string(tok) || json_string_length(tok) == 0) {
        rc = pg_err_set(err, PG_ERR_REGISTRY_AUTH, "token endpoint reply holds no token");
    } else {
        rc = copy_secret(out_token, json_string_value(tok), "token", err);
    }
    json_decref(root);
    return rc;
}

/* ---- docker config.json ---- */

/* "https://host/v1/" -> "host": docker's own key normalisation. */
static void key_host(const char *key, char *host, size_t size)
{
    const char *p = strstr(key, "://");
    size_t n;

    p = p != NULL ? p + 3 : key;
    n = strcspn(p, "/");
    if (n >= size) {
        n = 0;
    }
    memcpy(host, p, n);
    host[n] = '\0';
}

static const json_t *find_host_entry(const json_t *map, const char *host)
{
    const char *key;
    json_t *val;
    char kh[300];

    if (!json_is_object(map)) {
        return NULL;
    }
    json_object_foreach((json_t *)map, key, val)
    {
        key_host(key, kh, sizeof(kh));
        if (host_matches(kh, host)) {
            return val;
        }
    }
    return NULL;
}

static enum pg_status from_auths_entry(const json_t *e, struct pg_credentials *out,
                                       struct pg_err *err)
{
    struct pg_credentials in = {0};
    const json_t *v;

    if (!json_is_object(e)) {
        return PG_OK;
    }
    v = json_object_get(e, "identitytoken");
    in.identity_token = json_is_string(v) ? (char *)json_string_value(v) : NULL;
    v = json_object_get(e, "auth");
    in.auth = json_is_string(v) ? (char *)json_string_value(v) : NULL;
    v = json_object_get(e, "username");
    in.username = json_is_string(v) ? (char *)json_string_value(v) : NULL;
    v = json_object_get(e, "password");
    in.password = json_is_string(v) ? (char *)json_string_value(v) : NULL;
    if (in.identity_token != NULL && in.identity_token[0] != '\0') {
        in.username = NULL; /* a refresh token wins over the user name beside it */
        in.auth = NULL;
    }
    return pg_auth_resolve(&in, "", out, err);
}

static int helper_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > HELPER_NAME_MAX || name[0] == '.' || name[0] == '-') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)name[i]) && strchr("._-", name[i]) == NULL) {
            return 0;
        }
    }
    return 1;
}

/* PATH, HOME and the few variables keyring helpers need, nothing else. */
static void helper_env(char **env, size_t max, char *storage, size_t storage_len)
{
    static const char *const keep[] = {"PATH",
                                       "HOME",
                                       "USER",
                                       "XDG_RUNTIME_DIR",
                                       "DBUS_SESSION_BUS_ADDRESS",
                                       "GNUPGHOME",
                                       "PASSWORD_STORE_DIR"};
    size_t used = 0;
    size_t n = 0;

    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]) && n + 1 < max; i++) {
        const char *v = getenv(keep[i]);
        int w;

        if (v == NULL) {
            continue;
        }
        w = snprintf(storage + used, storage_len - used, "%s=%s", keep[i], v);
        if (w < 0 || (size_t)w >= storage_len - used) {
            break;
        }
        env[n++] = storage + used;
        used += (size_t)w + 1;
    }
    env[n] = NULL;
}

struct helper_run {
    pid_t pid;
    int in_fd;  /* our end of the helper's stdin */
    int out_fd; /* the helper's stdout */
};

static enum pg_status helper_spawn(const char *name, struct helper_run *run, struct pg_err *err)
{
    char prog[sizeof("docker-credential-") + HELPER_NAME_MAX];
    char *argv[] = {prog, "get", NULL};
    char *env[16];
    char envbuf[8192];
    int sv[2] = {-1, -1};
    int po[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc;

    snprintf(prog, sizeof(prog), "docker-credential-%s", name);
    helper_env(env, sizeof(env) / sizeof(env[0]), envbuf, sizeof(envbuf));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(po, O_CLOEXEC) != 0) {
        rc = errno;
        goto fail;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    rc = posix_spawnp(&run->pid, prog, &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        goto fail;
    }
    close(sv[1]);
    close(po[1]);
    run->in_fd = sv[0];
    run->out_fd = po[0];
    return PG_OK;
fail:
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0) {
            close(sv[i]);
        }
        if (po[i] >= 0) {
            close(po[i]);
        }
    }
    return pg_err_set(err, PG_ERR_REGISTRY_AUTH, "cannot run credential helper %s: %s", prog,
                      strerror(rc));
}

/* Reads the helper's stdout until EOF, the bound or the time limit. */
static enum pg_status helper_read(struct helper_run *run, const struct pg_deadline *deadline,
                                  char *buf, size_t size, size_t *out_len, struct pg_err *err)
{
    int64_t until = pg_now_ms() + PG_AUTH_HELPER_TIMEOUT_MS;
    size_t len = 0;

    for (;;) {
        struct pollfd pfd = {.fd = run->out_fd, .events = POLLIN};
        int64_t left = until - pg_now_ms();
        int64_t dl = pg_deadline_left_ms(deadline);
        ssize_t r;

        if (dl >= 0 && dl < left) {
            left = dl;
        }
        if (left <= 0) {
            return pg_err_set(err, PG_ERR_TIMEOUT, "credential helper did not answer in time");
        }
        if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR) {
            return pg_err_set(err, PG_ERR_IO, "poll on credential helper: %s", strerror(errno));
        }
        r = read(run->out_fd, buf + len, size - len);
        if (r == 0) {
            break;
        }
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (r < 0) {
            return pg_err_set(err, PG_ERR_IO, "read from credential helper: %s", strerror(errno));
        }
        len += (size_t)r;
        if (len == size) {
            return pg_err_set(err, PG_ERR_LIMIT, "credential helper wrote more than %zu bytes",
                              size - 1);
        }
    }
    *out_len = len;
    return PG_OK;
}

static enum pg_status helper_parse(const char *buf, size_t len, struct pg_credentials *out,
                                   struct pg_err *err)
{
    json_t *root = NULL;
    struct pg_credentials in = {0};
    const json_t *user;
    const json_t *secret;
    enum pg_status rc;

    rc = pg_jsonutil_parse((const unsigned char *)buf, len, "credential helper output", &root, err);
    if (rc != PG_OK) {
        return rc;
    }
    user = json_object_get(root, "Username");
    secret = json_object_get(root, "Secret");
    if (!json_is_string(user) || !json_is_string(secret)) {
        json_decref(root);
        return pg_err_set(err, PG_ERR_REGISTRY_AUTH, "credential helper output has no Secret");
    }
    if (strcmp(json_string_value(user), TOKEN_USERNAME) == 0) {
        in.identity_token = (char *)json_string_value(secret);
    } else {
        in.username = (char *)json_string_value(user);
        in.password = (char *)json_string_value(secret);
    }
    rc = pg_auth_resolve(&in, "", out, err);
    json_decref(root);
    return rc;
}

static void helper_reap(struct helper_run *run)
{
    int status;

    if (run->in_fd >= 0) {
        close(run->in_fd);
    }
    if (run->out_fd >= 0) {
        close(run->out_fd);
    }
    if (run->pid > 0 && waitpid(run->pid, &status, WNOHANG) == 0) {
        kill(-run->pid, SIGKILL);
        waitpid(run->pid, &status, 0);
    }
}

static enum pg_status run_helper(const char *name, const char *host,
                                 const struct pg_deadline *deadline, struct pg_credentials *out,
                                 struct pg_err *err)
{
    struct helper_run run = {.pid = -1, .in_fd = -1, .out_fd = -1};
    const char *server = host_matches(host, "docker.io") ? DOCKER_HUB_SERVER : host;
    char *buf = pg_malloc(PG_AUTH_HELPER_MAX_OUTPUT + 1);
    size_t len = 0;
    int status = 0;
    enum pg_status rc;

    if (buf == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory running a credential helper");
    }
    if (!helper_name_ok(name)) {
        rc = pg_err_set(err, PG_ERR_CONFIG, "docker config names an invalid credential helper");
        goto out;
    }
    rc = helper_spawn(name, &run, err);
    if (rc != PG_OK) {
        goto out;
    }
    (void)send(run.in_fd, server, strlen(server), MSG_NOSIGNAL);
    shutdown(run.in_fd, SHUT_WR);
    rc = helper_read(&run, deadline, buf, PG_AUTH_HELPER_MAX_OUTPUT + 1, &len, err);
    if (rc != PG_OK) {
        goto out;
    }
    close(run.out_fd);
    run.out_fd = -1;
    if (waitpid(run.pid, &status, 0) == run.pid) {
        run.pid = -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* "credentials not found" and every other failure: go on anonymously */
        pg_log(LOG_DEBUG, "credential helper docker-credential-%s gave no credentials", name);
        rc = PG_OK;
        goto out;
    }
    rc = helper_parse(buf, len, out, err);
out:
    helper_reap(&run);
    OPENSSL_cleanse(buf, PG_AUTH_HELPER_MAX_OUTPUT + 1);
    pg_free(buf);
    return rc;
}

/* The JSON object of the docker config at path; NULL and PG_OK when there is no file. */
static enum pg_status read_config(const char *path, json_t **out_root, struct pg_err *err)
{
    char esc[PATH_SHOWN];
    char what[PATH_SHOWN + 32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unsigned char *buf = NULL;
    ssize_t r;
    enum pg_status rc;

    *out_root = NULL;
    pg_escape(esc, sizeof(esc), path, strlen(path));
    if (fd < 0) {
        return errno == ENOENT
                   ? PG_OK
                   : pg_err_set(err, PG_ERR_CONFIG, "cannot open docker config \"%s\": %s", esc,
                                strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > PG_AUTH_CONFIG_MAX) {
        close(fd);
        return pg_err_set(err, PG_ERR_CONFIG,
                          "docker config \"%s\" is not a regular file of at most %u bytes", esc,
                          PG_AUTH_CONFIG_MAX);
    }
    buf = pg_malloc((size_t)st.st_size + 1);
    r = buf != NULL ? read(fd, buf, (size_t)st.st_size) : -1;
    close(fd);
    if (r != st.st_size) {
        pg_free(buf);
        return pg_err_set(err, PG_ERR_CONFIG, "cannot read docker config \"%s\"", esc);
    }
    snprintf(what, sizeof(what), "docker config \"%s\"", esc);
    rc = pg_jsonutil_parse(buf, (size_t)r, what, out_root, err);
    OPENSSL_cleanse(buf, (size_t)r);
    pg_free(buf);
    return rc;
}

/* An auths entry as pg_auth_from_docker_config reads it; "" when it is well formed. */
static const char *auths_entry_problem(const json_t *e, struct pg_err *err)
{
    static const char *const fields[] = {"auth", "identitytoken", "username", "password"};
    struct pg_credentials c = {0};
    enum pg_status rc;

    if (!json_is_object(e)) {
        return "is not a JSON object";
    }
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const json_t *v = json_object_get(e, fields[i]);

        if (v != NULL && !json_is_string(v)) {
            pg_err_set(err, PG_ERR_CONFIG, "\"%s\" is not a string", fields[i]);
            return err->msg;
        }
    }
    rc = from_auths_entry(e, &c, err);
    pg_credentials_clear(&c);
    return rc == PG_OK ? "" : err->msg;
}

/* What pg_auth_from_docker_config would refuse, or silently take as anonymous. */
static enum pg_status check_shape(const json_t *root, const char *esc, struct pg_err *err)
{
    const json_t *auths = json_object_get(root, "auths");
    const json_t *helpers = json_object_get(root, "credHelpers");
    const json_t *store = json_object_get(root, "credsStore");
    const char *key;
    json_t *val;
    char key_esc[PATH_SHOWN];

    if (auths != NULL && !json_is_object(auths)) {
        return pg_err_set(err, PG_ERR_CONFIG,
                          "docker config \"%s\": \"auths\" is not a JSON object", esc);
    }
    json_object_foreach((json_t *)auths, key, val)
    {
        struct pg_err why;
        const char *problem;

        pg_err_init(&why);
        problem = auths_entry_problem(val, &why);
        if (problem[0] != '\0') {
            return pg_err_set(err, PG_ERR_CONFIG, "docker config \"%s\": auths entry \"%s\": %s",
                              esc, pg_escape(key_esc, sizeof(key_esc), key, strlen(key)), problem);
        }
    }
    if (helpers != NULL && !json_is_object(helpers)) {
        return pg_err_set(err, PG_ERR_CONFIG,
                          "docker config \"%s\": \"credHelpers\" is not a JSON object", esc);
    }
    json_object_foreach((json_t *)helpers, key, val)
    {
        if (!json_is_string(val) || !helper_name_ok(json_string_value(val))) {
            return pg_err_set(err, PG_ERR_CONFIG,
                              "docker config \"%s\": credHelpers entry \"%s\" is not the name "
                              "of a credential helper",
                              esc, pg_escape(key_esc, sizeof(key_esc), key, strlen(key)));
        }
    }
    if (store != NULL && (!json_is_string(store) || (json_string_length(store) > 0 &&
                                                     !helper_name_ok(json_string_value(store))))) {
        return pg_err_set(err, PG_ERR_CONFIG,
                          "docker config \"%s\": \"credsStore\" is not the name of a "
                          "credential helper",
                          esc);
    }
    return PG_OK;
}

enum pg_status pg_auth_check_docker_config(const char *path, struct pg_err *err)
{
    char esc[PATH_SHOWN];
    json_t *root = NULL;
    enum pg_status rc = read_config(path, &root, err);

    pg_escape(esc, sizeof(esc), path, strlen(path));
    if (rc == PG_OK && root == NULL) {
        rc = pg_err_set(err, PG_ERR_CONFIG, "docker config \"%s\": %s", esc, strerror(ENOENT));
    } else if (rc == PG_OK) {
        rc = check_shape(root, esc, err);
    }
    json_decref(root);
    return rc;
}

enum pg_status pg_auth_from_docker_config(const char *path, const char *host,
                                          const struct pg_deadline *deadline,
                                          struct pg_credentials *out, struct pg_err *err)
{
    json_t *root = NULL;
    const json_t *helper;
    const json_t *entry;
    const json_t *store;
    struct pg_credentials c = {0};
    enum pg_status rc;

    rc = read_config(path, &root, err);
    if (rc != PG_OK || root == NULL) {
        *out = c;
        return rc;
    }
    helper = find_host_entry(json_object_get(root, "credHelpers"), host);
    entry = find_host_entry(json_object_get(root, "auths"), host);
    store = json_object_get(root, "credsStore");
    if (json_is_string(helper)) {
        rc = run_helper(json_string_value(helper), host, deadline, &c, err);
    } else if (entry != NULL) {
        rc = from_auths_entry(entry, &c, err);
    }
    if (rc == PG_OK && !json_is_string(helper) && c.username == NULL && c.identity_token == NULL &&
        json_is_string(store) && json_string_length(store) > 0) {
        rc = run_helper(json_string_value(store), host, deadline, &c, err);
    }
    json_decref(root);
    if (rc != PG_OK) {
        pg_credentials_clear(&c);
        return rc;
    }
    *out = c;
    return PG_OK;
}
