/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration: defaults, the `key = value` file parser and the per-key
 * setters shared by the file and the command line. What the settings mean is
 * up to their users (cmd_serve.c, proxy.c).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>

#include "cache.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"

#define DEFAULT_LISTEN "/run/pullgate/pullgate.sock"
#define DEFAULT_UPSTREAM "/run/containerd/containerd.sock"
#define DEFAULT_NOTATION_DIR "/etc/pullgate/notation"
#define DEFAULT_NAMESPACE "k8s.io"
#define ESC_MAX 128
#define FLAG_KEY_MAX 64
#define HELP_FLAG_WIDTH 28 /* the flag column of pg_config_print_flags */
#define HELP_LINE_MAX 79

struct int_key {
    const char *name;
    size_t offset;
    long min;
    long max;
};

static const struct int_key int_keys[] = {
    {"workers", offsetof(struct pg_config, workers), 1, 256},
    {"queue_length", offsetof(struct pg_config, queue_length), 1, 65536},
    {"cq_threads", offsetof(struct pg_config, cq_threads), 1, 64},
    {"drain_timeout_ms", offsetof(struct pg_config, drain_timeout_ms), 0, 3600000},
    {"registry_timeout_ms", offsetof(struct pg_config, registry_timeout_ms), 100, 600000},
    {"verify_timeout_ms", offsetof(struct pg_config, verify_timeout_ms), 100, 3600000},
    {"max_signatures", offsetof(struct pg_config, max_signatures), 1, 1000},
    {"cache_max_entries", offsetof(struct pg_config, cache_max_entries), 0, 1048576},
    {"cache_max_bytes", offsetof(struct pg_config, cache_max_bytes), 4096, 1073741824},
    {"cache_ttl_ms", offsetof(struct pg_config, cache_ttl_ms), 0, 86400000},
    {"cache_negative_ttl_ms", offsetof(struct pg_config, cache_negative_ttl_ms), 0, 3600000},
    {"plugin_timeout_ms", offsetof(struct pg_config, sig.plugin_timeout_ms), 100, 600000},
    {"aws_signer_cache_ttl_s", offsetof(struct pg_config, sig.aws_signer_cache_ttl_s), 0, 86400},
};

/*
 * Every key, in the order `serve --help` lists them. pg_config_set refuses a
 * key missing here, so a key cannot be added without its help line. The
 * default shown is the one pg_config_print writes for pg_config_defaults,
 * unless dflt says what an empty or long default means.
 */
struct key_doc {
    const char *name;
    const char *arg;
    const char *help;
    const char *dflt; /* NULL: the printed default value */
};

static const struct key_doc key_docs[] = {
    {"listen", "PATH", "the CRI socket served, mode 0660", NULL},
    {"upstream", "PATH", "containerd's CRI socket, where calls go", NULL},
    {"containerd_namespace", "NS", "where CRI keeps images", NULL},
    {"mode", "MODE", "enforce, or dry-run: log, never refuse", NULL},
    {"notation_dir", "DIR", "trust policy and trust stores", NULL},
    {"registry_ca_file", "FILE", "CA bundle for registry TLS", "the system's"},
    {"plain_http", "HOST[:PORT]", "a plain HTTP registry (repeatable)", "none"},
    {"registry_timeout_ms", "MS", "one registry request", NULL},
    {"verify_timeout_ms", "MS", "one whole verification", NULL},
    {"max_signatures", "N", "signatures tried per image", NULL},
    {"cache_max_entries", "N", "cached decisions (0: no cache)", NULL},
    {"cache_max_bytes", "N", "memory of cached decisions", NULL},
    {"cache_ttl_ms", "MS", "life of a cached approval", NULL},
    {"cache_negative_ttl_ms", "MS", "life of a cached refusal (0: none)", NULL},
    {"metrics_listen", "ADDR", "GET /metrics on unix:PATH or 127.0.0.1:PORT", "off"},
    {"workers", "N", "pull hook threads", NULL},
    {"queue_length", "N", "pulls waiting for a thread", NULL},
    {"cq_threads", "N", "completion queue threads", NULL},
    {"drain_timeout_ms", "MS", "grace for calls at shutdown", NULL},
    {"log_level", "LEVEL", "error, warning, info or debug", NULL},
    {"plugins_dir", "DIR", "verification plugins", "NOTATION_DIR/plugins"},
    {"plugin_timeout_ms", "MS", "one plugin call or AWS revocation check", NULL},
    {"plugin_env", "VAR,...", "environment passed to plugins", "AWS SDK and proxy variables"},
    {"aws_signer", "MODE", "AWS Signer: native, plugin or off", NULL},
    {"aws_signer_endpoint", "URL", "AWS Signer revocation endpoint",
     "https://data-signer.REGION.amazonaws.com"},
    {"aws_signer_cache_ttl_s", "S", "reuse of an AWS revocation answer", NULL},
    {"tsa_revocation", "MODE", "TSA revocation: strict or allow-unknown", NULL},
};

static const struct key_doc *find_key_doc(const char *key)
{
    for (size_t i = 0; i < sizeof(key_docs) / sizeof(key_docs[0]); i++) {
        if (strcmp(key, key_docs[i].name) == 0) {
            return &key_docs[i];
        }
    }
    return NULL;
}

static enum pg_status set_int(struct pg_config *cfg, const struct int_key *k, const char *value,
                              struct pg_err *err)
{
    char esc[ESC_MAX];
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(value, &end, 10);
    if (value[0] == '\0' || isspace((unsigned char)value[0]) || *end != '\0' || errno != 0 ||
        v < k->min || v > k->max) {
        return pg_err_set(err, PG_ERR_CONFIG, "%s: \"%s\" is not a whole number from %ld to %ld",
                          k->name, pg_escape(esc, sizeof(esc), value, strlen(value)), k->min,
                          k->max);
    }
    *(int *)(void *)((char *)cfg + k->offset) = (int)v;
    return PG_OK;
}

/* Accepts "PATH", "unix:PATH" or "unix://PATH" for an absolute or relative path. */
static enum pg_status set_path(char **slot, const char *key, const char *value, struct pg_err *err)
{
    char esc[ESC_MAX];
    const char *path = value;
    size_t i;
    char *copy;

    if (strncmp(path, "unix://", 7) == 0) {
        path += 7;
    } else if (strncmp(path, "unix:", 5) == 0) {
        path += 5;
    }
    for (i = 0; path[i] != '\0'; i++) {
        if (iscntrl((unsigned char)path[i])) {
            break;
        }
    }
    if (path[0] == '\0' || path[i] != '\0' || i >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        return pg_err_set(err, PG_ERR_CONFIG,
                          "%s: \"%s\" is not a usable unix socket path (empty, control "
                          "characters, or longer than %zu bytes)",
                          key, pg_escape(esc, sizeof(esc), value, strlen(value)),
                          sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    }
    copy = pg_strdup(path);
    if (copy == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "%s: out of memory", key);
    }
    pg_free(*slot);
    *slot = copy;
    return PG_OK;
}

/* A directory or file path: absolute, no control characters. */
static enum pg_status set_file(char **slot, const char *key, const char *value, struct pg_err *err)
{
    char esc[ESC_MAX];
    char *copy;

    for (size_t i = 0; value[i] != '\0'; i++) {
        if (iscntrl((unsigned char)value[i])) {
            value = "";
            break;
        }
    }
    if (value[0] != '/' || strlen(value) > PG_CONFIG_LINE_MAX) {
        return pg_err_set(err, PG_ERR_CONFIG, "%s: \"%s\" is not an absolute path", key,
                          pg_escape(esc, sizeof(esc), value, strlen(value)));
    }
    copy = pg_strdup(value);
    if (copy == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "%s: out of memory", key);
    }
    pg_free(*slot);
    *slot = copy;
    return PG_OK;
}

/* One registry host[:port], as it appears in image references. */
static int is_host(const char *s, size_t n)
{
    if (n == 0 || n > 255) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && strchr(".-:[]", s[i]) == NULL) {
            return 0;
        }
    }
    return 1;
}

/* A DNS name (labels of letters, digits and inner '-') or, when all digits and dots, IPv4. */
static int is_name_or_ipv4(const char *s, size_t n)
{
    char buf[INET_ADDRSTRLEN];
    int numeric = 1;
    size_t label = 0;

    if (n == 0 || n > 253) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0 || s[i - 1] == '-') {
                return 0;
            }
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)s[i]) && (s[i] != '-' || label == 0)) {
            return 0;
        }
        numeric &= isdigit((unsigned char)s[i]) != 0;
        if (++label > 63) {
            return 0;
        }
    }
    if (label == 0 || s[n - 1] == '-') {
        return 0;
    }
    if (!numeric) {
        return 1;
    }
    if (n >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET, buf, &(struct in_addr){0}) == 1;
}

int pg_config_is_registry_host(const char *s, size_t n)
{
    const char *host = s;
    size_t host_len = n;
    const char *colon = NULL;

    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        char buf[INET6_ADDRSTRLEN];
        size_t len = close != NULL ? (size_t)(close - s) - 1 : 0;

        if (close == NULL || len == 0 || len >= sizeof(buf)) {
            return 0;
        }
        memcpy(buf, s + 1, len);
        buf[len] = '\0';
        if (inet_pton(AF_INET6, buf, &(struct in6_addr){0}) != 1) {
            return 0;
        }
        if ((size_t)(close - s) + 1 == n) {
            return 1;
        }
        if (close[1] != ':') {
            return 0;
        }
        colon = close + 1;
    } else {
        colon = memchr(s, ':', n);
        host_len = colon != NULL ? (size_t)(colon - s) : n;
        if (!is_name_or_ipv4(host, host_len)) {
            return 0;
        }
        if (colon == NULL) {
            return 1;
        }
    }
    /* a port: 1..65535, digits only, no leading zero */
    {
        const char *port = colon + 1;
        size_t port_len = n - (size_t)(port - s);
        long v = 0;

        if (port_len == 0 || port_len > 5 || port[0] == '0') {
            return 0;
        }
        for (size_t i = 0; i < port_len; i++) {
            if (!isdigit((unsigned char)port[i])) {
                return 0;
            }
            v = v * 10 + (port[i] - '0');
        }
        return v <= 65535;
    }
}

/* Appends each comma-separated host of value to the plain-HTTP list. */
static enum pg_status add_plain_http(struct pg_config *cfg, const char *value, struct pg_err *err)
{
    char esc[ESC_MAX];
    const char *p = value;

    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        char **grown;
        char *host;

        while (n > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
            n--;
        }
        if (!pg_config_is_registry_host(p, n)) {
            return pg_err_set(err, PG_ERR_CONFIG, "plain_http: \"%s\" %s",
                              pg_escape(esc, sizeof(esc), p, n), PG_CONFIG_REGISTRY_HOST_RULE);
        }
        if (cfg->n_plain_http == PG_CONFIG_PLAIN_HTTP_MAX) {
            return pg_err_set(err, PG_ERR_CONFIG, "plain_http: more than %d hosts",
                              PG_CONFIG_PLAIN_HTTP_MAX);
        }
        grown = pg_realloc(cfg->plain_http, (cfg->n_plain_http + 1) * sizeof(*grown));
        host = pg_strndup(p, n);
        if (grown == NULL || host == NULL) {
            pg_free(host);
            if (grown != NULL) {
                cfg->plain_http = grown;
            }
            return pg_err_set(err, PG_ERR_NOMEM, "plain_http: out of memory");
        }
        cfg->plain_http = grown;
        cfg->plain_http[cfg->n_plain_http++] = host;
        p = end != NULL ? end + 1 : p + n;
    }
    return PG_OK;
}

static enum pg_status set_mode(struct pg_config *cfg, const char *value, struct pg_err *err)
{
    char esc[ESC_MAX];

    if (strcmp(value, "enforce") == 0) {
        cfg->dry_run = 0;
    } else if (strcmp(value, "dry-run") == 0) {
        cfg->dry_run = 1;
    } else {
        return pg_err_set(err, PG_ERR_CONFIG, "mode: \"%s\" is not enforce or dry-run",
                          pg_escape(esc, sizeof(esc), value, strlen(value)));
    }
    return PG_OK;
}

static enum pg_status set_namespace(struct pg_config *cfg, const char *value, struct pg_err *err)
{
    char esc[ESC_MAX];
    char *copy;

    if (!is_host(value, strlen(value)) || strchr(value, ':') != NULL) {
        return pg_err_set(err, PG_ERR_CONFIG, "containerd_namespace: \"%s\" is not a name",
                          pg_escape(esc, sizeof(esc), value, strlen(value)));
    }
    copy = pg_strdup(value);
    if (copy == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "containerd_namespace: out of memory");
    }
    pg_free(cfg->containerd_namespace);
    cfg->containerd_namespace = copy;
    return PG_OK;
}

/* Empty turns the metrics off; anything else must be a usable listener. */
static enum pg_status set_metrics_listen(struct pg_config *cfg, const char *value,
                                         struct pg_err *err)
{
    struct pg_metrics_listen l;
    char *copy = NULL;

    if (value[0] != '\0') {
        if (pg_metrics_parse_listen(value, &l, err) != PG_OK) {
            return err->status;
        }
        copy = pg_strdup(value);
        if (copy == NULL) {
            return pg_err_set(err, PG_ERR_NOMEM, "metrics_listen: out of memory");
        }
    }
    pg_free(cfg->metrics_listen);
    cfg->metrics_listen = copy;
    return PG_OK;
}

static enum pg_status set_log_level(struct pg_config *cfg, const char *value, struct pg_err *err)
{
    char esc[ESC_MAX];
    int level = pg_log_parse_level(value);

    if (level < 0) {
        return pg_err_set(err, PG_ERR_CONFIG,
                          "log_level: \"%s\" is not one of error, warning, info, debug",
                          pg_escape(esc, sizeof(esc), value, strlen(value)));
    }
    cfg->log_level = level;
    return PG_OK;
}

/* A fixed-size text setting; empty means the default. */
static enum pg_status set_text(char *slot, size_t len, const char *key, const char *value,
                               int (*is_ok)(const char *), const char *what, struct pg_err *err)
{
    char esc[ESC_MAX];

    if (strlen(value) >= len || (value[0] != '\0' && !is_ok(value))) {
        return pg_err_set(err, PG_ERR_CONFIG, "%s: \"%s\" is not %s", key,
                          pg_escape(esc, sizeof(esc), value, strlen(value)), what);
    }
    snprintf(slot, len, "%s", value);
    return PG_OK;
}

static int is_abs_path(const char *s)
{
    return s[0] == '/';
}

static int is_env_list(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == ',')) {
            return 0;
        }
    }
    return 1;
}

static int is_endpoint(const char *s)
{
    return (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) &&
           strpbrk(s, " ?#") == NULL && s[strlen(s) - 1] != '/';
}

/* plugins_dir, plugin_env, aws_signer, aws_signer_endpoint, tsa_revocation; 1 when key is one
 * of them. */
static int set_plugin_key(struct pg_config *cfg, const char *key, const char *value,
                          enum pg_status *out_rc, struct pg_err *err)
{
    struct pg_sigverify_options *o = &cfg->sig;
    static const char *const modes[] = {"native", "plugin", "off"};

    if (strcmp(key, "plugins_dir") == 0) {
        *out_rc = set_text(o->plugins_dir, sizeof(o->plugins_dir), key, value, is_abs_path,
                           "an absolute path", err);
    } else if (strcmp(key, "plugin_env") == 0) {
        *out_rc = set_text(o->plugin_env, sizeof(o->plugin_env), key, value, is_env_list,
                           "a comma-separated list of variable names", err);
    } else if (strcmp(key, "aws_signer_endpoint") == 0) {
        *out_rc =
            set_text(o->aws_signer_endpoint, sizeof(o->aws_signer_endpoint), key, value,
                     is_endpoint, "an http:// or https:// url without a path's end slash", err);
    } else if (strcmp(key, "tsa_revocation") == 0) {
        int strict = strcmp(value, "strict") == 0;

        if (strict || strcmp(value, "allow-unknown") == 0) {
            o->revocation.tsa_revocation =
                strict ? PG_TSA_REVOCATION_STRICT : PG_TSA_REVOCATION_ALLOW_UNKNOWN;
        }
        *out_rc =
            strict || strcmp(value, "allow-unknown") == 0
                ? PG_OK
                : pg_err_set(err, PG_ERR_CONFIG, "tsa_revocation: must be strict or allow-unknown");
    } else if (strcmp(key, "aws_signer") == 0) {
        size_t i = 0;

        while (i < 3 && strcmp(value, modes[i]) != 0) {
            i++;
        }
        if (i < 3) {
            o->aws_signer = (enum pg_aws_signer_mode)i;
        }
        *out_rc = i < 3
                      ? PG_OK
                      : pg_err_set(err, PG_ERR_CONFIG, "aws_signer: must be native, plugin or off");
    } else {
        return 0;
    }
    return 1;
}

enum pg_status pg_config_defaults(struct pg_config *cfg, struct pg_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    pg_sigverify_options_init(&cfg->sig);
    cfg->workers = 4;
    cfg->queue_length = 64;
    cfg->cq_threads = 2;
    cfg->drain_timeout_ms = 10000;
    cfg->log_level = LOG_INFO;
    cfg->registry_timeout_ms = 30000;
    cfg->verify_timeout_ms = 60000;
    cfg->max_signatures = 100;
    cfg->cache_max_entries = PG_CACHE_DEFAULT_MAX_ENTRIES;
    cfg->cache_max_bytes = PG_CACHE_DEFAULT_MAX_BYTES;
    cfg->cache_ttl_ms = PG_CACHE_DEFAULT_TTL_MS;
    cfg->cache_negative_ttl_ms = PG_CACHE_DEFAULT_NEGATIVE_TTL_MS;
    cfg->listen = pg_strdup(DEFAULT_LISTEN);
    cfg->upstream = pg_strdup(DEFAULT_UPSTREAM);
    cfg->notation_dir = pg_strdup(DEFAULT_NOTATION_DIR);
    cfg->containerd_namespace = pg_strdup(DEFAULT_NAMESPACE);
    if (cfg->listen == NULL || cfg->upstream == NULL || cfg->notation_dir == NULL ||
        cfg->containerd_namespace == NULL) {
        pg_config_free(cfg);
        return pg_err_set(err, PG_ERR_NOMEM, "configuration defaults: out of memory");
    }
    return PG_OK;
}

enum pg_status pg_config_set(struct pg_config *cfg, const char *key, const char *value,
                             struct pg_err *err)
{
    char esc[ESC_MAX];
    enum pg_status rc;
    size_t i;

    if (find_key_doc(key) == NULL) {
        return pg_err_set(err, PG_ERR_CONFIG, "unknown setting \"%s\"",
                          pg_escape(esc, sizeof(esc), key, strlen(key)));
    }
    if (strcmp(key, "listen") == 0) {
        return set_path(&cfg->listen, key, value, err);
    }
    if (strcmp(key, "upstream") == 0) {
        return set_path(&cfg->upstream, key, value, err);
    }
    if (strcmp(key, "log_level") == 0) {
        return set_log_level(cfg, value, err);
    }
    if (strcmp(key, "notation_dir") == 0) {
        return set_file(&cfg->notation_dir, key, value, err);
    }
    if (strcmp(key, "registry_ca_file") == 0 && value[0] == '\0') {
        pg_free(cfg->registry_ca_file); /* empty: the system's CA bundle */
        cfg->registry_ca_file = NULL;
        return PG_OK;
    }
    if (strcmp(key, "registry_ca_file") == 0) {
        return set_file(&cfg->registry_ca_file, key, value, err);
    }
    if (strcmp(key, "plain_http") == 0) {
        return add_plain_http(cfg, value, err);
    }
    if (strcmp(key, "mode") == 0) {
        return set_mode(cfg, value, err);
    }
    if (strcmp(key, "metrics_listen") == 0) {
        return set_metrics_listen(cfg, value, err);
    }
    if (strcmp(key, "containerd_namespace") == 0) {
        return set_namespace(cfg, value, err);
    }
    if (set_plugin_key(cfg, key, value, &rc, err)) {
        return rc;
    }
    for (i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++) {
        if (strcmp(key, int_keys[i].name) == 0) {
            return set_int(cfg, &int_keys[i], value, err);
        }
    }
    return pg_err_set(err, PG_ERR_CONFIG, "unknown setting \"%s\"",
                      pg_escape(esc, sizeof(esc), key, strlen(key)));
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) {
        *--end = '\0';
    }
    return s;
}

/* One line, without its newline. Blank and comment lines are fine. */
static enum pg_status apply_line(struct pg_config *cfg, char *line, struct pg_err *err)
{
    char *text = trim(line);
    char *eq;
    char *key;

    if (text[0] == '\0' || text[0] == '#') {
        return PG_OK;
    }
    eq = strchr(text, '=');
    if (eq == NULL) {
        return pg_err_set(err, PG_ERR_CONFIG, "expected \"key = value\"");
    }
    *eq = '\0';
    key = trim(text);
    if (key[0] == '\0') {
        return pg_err_set(err, PG_ERR_CONFIG, "missing key before '='");
    }
    return pg_config_set(cfg, key, trim(eq + 1), err);
}

static enum pg_status read_bounded(const char *path, char **out_text, size_t *out_len,
                                   struct pg_err *err)
{
    char esc[ESC_MAX];
    enum pg_status rc = PG_OK;
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;

    pg_escape(esc, sizeof(esc), path, strlen(path));
    if (f == NULL) {
        return pg_err_set(err, PG_ERR_CONFIG, "cannot open configuration file \"%s\": %s", esc,
                          strerror(errno));
    }
    buf = pg_malloc(PG_CONFIG_FILE_MAX + 1);
    if (buf == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "reading \"%s\": out of memory", esc);
        goto out;
    }
    n = fread(buf, 1, PG_CONFIG_FILE_MAX + 1, f);
    if (ferror(f)) {
        rc = pg_err_set(err, PG_ERR_CONFIG, "cannot read configuration file \"%s\"", esc);
        goto out;
    }
    if (n > PG_CONFIG_FILE_MAX) {
        rc = pg_err_set(err, PG_ERR_CONFIG, "configuration file \"%s\" is larger than %d bytes",
                        esc, PG_CONFIG_FILE_MAX);
        goto out;
    }
    if (memchr(buf, '\0', n) != NULL) {
        rc = pg_err_set(err, PG_ERR_CONFIG, "configuration file \"%s\" contains a NUL byte", esc);
        goto out;
    }
    buf[n] = '\0';
    *out_text = buf;
    *out_len = n;
    buf = NULL;
out:
    pg_free(buf);
    fclose(f);
    return rc;
}

enum pg_status pg_config_load_file(struct pg_config *cfg, const char *path, struct pg_err *err)
{
    char esc[ESC_MAX];
    struct pg_err line_err;
    enum pg_status rc;
    char *text = NULL;
    char *line;
    char *next;
    size_t len = 0;
    int lineno = 0;

    rc = read_bounded(path, &text, &len, err);
    if (rc != PG_OK) {
        return rc;
    }
    pg_escape(esc, sizeof(esc), path, strlen(path));
    for (line = text; rc == PG_OK && line < text + len; line = next) {
        char *nl = strchr(line, '\n');

        next = nl != NULL ? nl + 1 : text + len;
        if (nl != NULL) {
            *nl = '\0';
        }
        lineno++;
        pg_err_init(&line_err);
        if (strlen(line) > PG_CONFIG_LINE_MAX) {
            pg_err_set(&line_err, PG_ERR_CONFIG, "line longer than %d bytes", PG_CONFIG_LINE_MAX);
        } else {
            apply_line(cfg, line, &line_err);
        }
        if (line_err.status != PG_OK) {
            rc = pg_err_set(err, line_err.status, "%s:%d: %s", esc, lineno, line_err.msg);
        }
    }
    pg_free(text);
    return rc;
}

void pg_config_free(struct pg_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    pg_free(cfg->listen);
    pg_free(cfg->upstream);
    pg_free(cfg->notation_dir);
    pg_free(cfg->registry_ca_file);
    pg_free(cfg->containerd_namespace);
    pg_free(cfg->metrics_listen);
    for (size_t i = 0; i < cfg->n_plain_http; i++) {
        pg_free(cfg->plain_http[i]);
    }
    pg_free(cfg->plain_http);
    memset(cfg, 0, sizeof(*cfg));
}

/* "--drain-timeout-ms" -> "drain_timeout_ms"; 0 if it is no flag. */
static int flag_to_key(const char *flag, char *key, size_t key_len)
{
    size_t i;

    if (strncmp(flag, "--", 2) != 0 || flag[2] == '\0' || strlen(flag + 2) >= key_len) {
        return 0;
    }
    for (i = 0; flag[2 + i] != '\0'; i++) {
        key[i] = flag[2 + i] == '-' ? '_' : flag[2 + i];
    }
    key[i] = '\0';
    return 1;
}

/* Applies the flags, or with only_config just finds --config. */
static enum pg_status apply_flags(struct pg_config *cfg, int argc, char **argv, int only_config,
                                  const char **out_config, struct pg_err *err)
{
    char key[FLAG_KEY_MAX];
    char esc[ESC_MAX];
    struct pg_err flag_err;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        char flag[FLAG_KEY_MAX + 2];
        const char *value;

        snprintf(flag, sizeof(flag), "%.*s", eq != NULL ? (int)(eq - arg) : (int)strlen(arg), arg);
        if (!flag_to_key(flag, key, sizeof(key))) {
            return pg_err_set(err, PG_ERR_INVALID_ARG, "unexpected argument \"%s\"",
                              pg_escape(esc, sizeof(esc), arg, strlen(arg)));
        }
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return pg_err_set(err, PG_ERR_INVALID_ARG, "%s needs a value", flag);
        }
        pg_err_init(&flag_err);
        if (strcmp(key, "config") == 0) {
            *out_config = value;
        } else if (!only_config && pg_config_set(cfg, key, value, &flag_err) != PG_OK) {
            enum pg_status st = flag_err.status == PG_ERR_NOMEM ? PG_ERR_NOMEM : PG_ERR_INVALID_ARG;

            return pg_err_set(err, st, "%s", flag_err.msg);
        }
    }
    return PG_OK;
}

/* The file to read: the one named by --config, else default_file if it exists. */
static enum pg_status pick_file(const char *named, const char *default_file, const char **out_file,
                                struct pg_err *err)
{
    struct stat st;

    *out_file = NULL;
    if (named != NULL && named[0] == '\0') {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "--config needs a file");
    }
    if (named != NULL) {
        *out_file = named;
        return PG_OK;
    }
    if (default_file == NULL) {
        return PG_OK;
    }
    if (stat(default_file, &st) != 0 && errno == ENOENT) {
        return PG_OK; /* no file: the defaults and the flags */
    }
    *out_file = default_file; /* present, or there but unreadable: loading says why */
    return PG_OK;
}

enum pg_status pg_config_load(struct pg_config *cfg, const char *default_file, int argc,
                              char **argv, const char **out_file, struct pg_err *err)
{
    const char *named = NULL;
    const char *file = NULL;

    if (pg_config_defaults(cfg, err) != PG_OK) {
        return err->status;
    }
    if (apply_flags(cfg, argc, argv, 1, &named, err) != PG_OK ||
        pick_file(named, default_file, &file, err) != PG_OK) {
        return err->status;
    }
    if (file != NULL && pg_config_load_file(cfg, file, err) != PG_OK) {
        return err->status;
    }
    if (apply_flags(cfg, argc, argv, 0, &named, err) != PG_OK) {
        return err->status;
    }
    if (out_file != NULL) {
        *out_file = file;
    }
    return PG_OK;
}

static const char *level_name(int level)
{
    switch (level) {
    case LOG_ERR:
        return "error";
    case LOG_WARNING:
        return "warning";
    case LOG_DEBUG:
        return "debug";
    default:
        return "info";
    }
}

void pg_config_print(const struct pg_config *cfg, FILE *out)
{
    fprintf(out, "listen = %s\n", cfg->listen);
    fprintf(out, "upstream = %s\n", cfg->upstream);
    fprintf(out, "containerd_namespace = %s\n", cfg->containerd_namespace);
    fprintf(out, "mode = %s\n", cfg->dry_run ? "dry-run" : "enforce");
    fprintf(out, "notation_dir = %s\n", cfg->notation_dir);
    fprintf(out, "registry_ca_file =%s%s\n", cfg->registry_ca_file != NULL ? " " : "",
            cfg->registry_ca_file != NULL ? cfg->registry_ca_file : "");
    fprintf(out, "plain_http =");
    for (size_t i = 0; i < cfg->n_plain_http; i++) {
        fprintf(out, "%s %s", i > 0 ? "," : "", cfg->plain_http[i]);
    }
    fprintf(out, "\n");
    for (size_t i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++) {
        fprintf(out, "%s = %d\n", int_keys[i].name,
                *(const int *)(const void *)((const char *)cfg + int_keys[i].offset));
    }
    fprintf(out, "log_level = %s\n", level_name(cfg->log_level));
    fprintf(out, "metrics_listen =%s%s\n", cfg->metrics_listen != NULL ? " " : "",
            cfg->metrics_listen != NULL ? cfg->metrics_listen : "");
    fprintf(out, "plugins_dir =%s%s\n", cfg->sig.plugins_dir[0] ? " " : "", cfg->sig.plugins_dir);
    fprintf(out, "plugin_env =%s%s\n", cfg->sig.plugin_env[0] ? " " : "", cfg->sig.plugin_env);
    fprintf(out, "aws_signer = %s\n",
            cfg->sig.aws_signer == PG_AWS_SIGNER_NATIVE   ? "native"
            : cfg->sig.aws_signer == PG_AWS_SIGNER_PLUGIN ? "plugin"
                                                          : "off");
    fprintf(out, "aws_signer_endpoint =%s%s\n", cfg->sig.aws_signer_endpoint[0] ? " " : "",
            cfg->sig.aws_signer_endpoint);
    fprintf(out, "tsa_revocation = %s\n",
            cfg->sig.revocation.tsa_revocation == PG_TSA_REVOCATION_STRICT ? "strict"
                                                                           : "allow-unknown");
}

/* The value pg_config_print writes for key in text (its "key = value" lines), or "". */
static void printed_value(const char *text, const char *key, char *out, size_t out_len)
{
    size_t n = strlen(key);

    out[0] = '\0';
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);

        if (len > n + 1 && strncmp(line, key, n) == 0 && strncmp(line + n, " =", 2) == 0) {
            const char *v = line + n + 2;
            size_t vlen = len - n - 2;

            while (vlen > 0 && *v == ' ') {
                v++;
                vlen--;
            }
            snprintf(out, out_len, "%.*s", (int)vlen, v);
            return;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
}

void pg_config_print_flags(FILE *out)
{
    struct pg_config cfg;
    struct pg_err err;
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem;

    pg_err_init(&err);
    mem = open_memstream(&text, &text_len);
    if (mem != NULL && pg_config_defaults(&cfg, &err) == PG_OK) {
        pg_config_print(&cfg, mem);
        pg_config_free(&cfg);
    }
    if (mem != NULL) {
        fclose(mem);
    }
    for (size_t i = 0; i < sizeof(key_docs) / sizeof(key_docs[0]); i++) {
        const struct key_doc *k = &key_docs[i];
        char flag[FLAG_KEY_MAX + 32];
        char value[PG_CONFIG_LINE_MAX + 1];
        const char *dflt;
        int width;
        size_t j;

        snprintf(flag, sizeof(flag), "--%s %s", k->name, k->arg);
        for (j = 2; flag[j] != ' '; j++) {
            flag[j] = flag[j] == '_' ? '-' : flag[j];
        }
        printed_value(text != NULL ? text : "", k->name, value, sizeof(value));
        dflt = k->dflt != NULL ? k->dflt : value;
        width = fprintf(out, "  %-*s %s;", HELP_FLAG_WIDTH, flag, k->help);
        if (width + 9 + (int)strlen(dflt) > HELP_LINE_MAX) {
            fprintf(out, "\n  %-*s", HELP_FLAG_WIDTH, "");
        }
        fprintf(out, " default %s\n", dflt);
    }
    free(text);
}
