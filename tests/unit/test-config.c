/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the configuration file parser and setters (daemon/config.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "check.h"
#include "config.h"
#include "mem.h"

static char *g_dir;

/* Writes text to a fresh file in the test directory; returns its path. */
static char *write_file(const char *name, const char *text, size_t len)
{
    char *path = pg_asprintf("%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");

    if (f != NULL) {
        fwrite(text, 1, len, f);
        fclose(f);
    }
    return path;
}

static enum pg_status load_text(struct pg_config *cfg, const char *text, struct pg_err *err)
{
    char *path = write_file("t.conf", text, strlen(text));
    enum pg_status rc;

    pg_err_init(err);
    rc = pg_config_load_file(cfg, path, err);
    pg_free(path);
    return rc;
}

static void defaults_are_safe(void)
{
    struct pg_config cfg;
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&cfg, &err) == PG_OK);
    CHECK(strcmp(cfg.listen, "/run/pullgate/pullgate.sock") == 0);
    CHECK(strcmp(cfg.upstream, "/run/containerd/containerd.sock") == 0);
    CHECK(cfg.workers == 4 && cfg.queue_length == 64 && cfg.cq_threads == 2);
    CHECK(cfg.drain_timeout_ms == 10000 && cfg.log_level == LOG_INFO);
    pg_config_free(&cfg);
}

static void file_sets_every_key(void)
{
    struct pg_config cfg;
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&cfg, &err) == PG_OK);
    CHECK(load_text(&cfg,
                    "# pullgate\n\n"
                    "listen = /run/pg.sock\n"
                    "  upstream=unix:///run/containerd/other.sock  \r\n"
                    "workers = 8\n"
                    "queue_length = 100\n"
                    "\t# indented comment\n"
                    "cq_threads = 3\n"
                    "drain_timeout_ms = 0\n"
                    "log_level = debug",
                    &err) == PG_OK);
    CHECK(strcmp(cfg.listen, "/run/pg.sock") == 0);
    CHECK(strcmp(cfg.upstream, "/run/containerd/other.sock") == 0);
    CHECK(cfg.workers == 8 && cfg.queue_length == 100 && cfg.cq_threads == 3);
    CHECK(cfg.drain_timeout_ms == 0 && cfg.log_level == LOG_DEBUG);
    pg_config_free(&cfg);
}

static void unknown_key_names_file_and_line(void)
{
    struct pg_config cfg;
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&cfg, &err) == PG_OK);
    CHECK(load_text(&cfg, "workers = 2\nwrokers = 3\n", &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "t.conf:2:") != NULL);
    CHECK(strstr(err.msg, "unknown setting \"wrokers\"") != NULL);
    CHECK(cfg.workers == 2);
    pg_config_free(&cfg);
}

static void bad_values_are_refused(void)
{
    static const char *bad[][2] = {
        {"workers", "0"},          {"workers", "257"},
        {"workers", "4x"},         {"workers", ""},
        {"workers", " 4"},         {"queue_length", "-1"},
        {"cq_threads", "65"},      {"drain_timeout_ms", "99999999999999999999"},
        {"log_level", "verbose"},  {"listen", ""},
        {"upstream", "unix://"},   {"listen", "/tmp/a\nb"},
        {"tsa_revocation", "off"},
    };
    struct pg_config cfg;
    struct pg_err err;
    size_t i;

    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&cfg, &err) == PG_OK);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pg_err_init(&err);
        CHECK(pg_config_set(&cfg, bad[i][0], bad[i][1], &err) == PG_ERR_CONFIG);
        CHECK(strstr(err.msg, bad[i][0]) != NULL);
    }
    CHECK(cfg.workers == 4 && cfg.queue_length == 64 && cfg.cq_threads == 2);
    CHECK(strcmp(cfg.listen, "/run/pullgate/pullgate.sock") == 0);
    pg_config_free(&cfg);
}

/* plain_http takes only hosts that an image reference can name. */
static void plain_http_hosts_are_checked(void)
{
    static const char *const good[] = {
        "reg.test",   "reg.test:5000", "localhost:1",  "127.0.0.1:65535", "[::1]",
        "[::1]:5000", "[fe80::1]:443", "a-b.c-d.test", "REG.Test:80",     "10.0.0.1",
    };
    static const char *const bad[] = {
        "::1:5000",       "::1",          "reg.test:99999", "reg.test:0", "reg.test:",
        "reg.test:05000", "reg.test:+80", "[::1]5000",      "[::1",       "[]:80",
        "[reg.test]:80",  "reg..test",    "-reg.test",      "reg-.test",  "reg.test.",
        "reg_test",       "999.1.1.1",    "1.2.3",          "a:1:2",      ":5000",
    };
    struct pg_config cfg;
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&cfg, &err) == PG_OK);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        pg_err_init(&err);
        CHECK(pg_config_set(&cfg, "plain_http", good[i], &err) == PG_OK);
        if (pg_check_failed_now()) {
            fprintf(stderr, "    %s: %s\n", good[i], err.msg);
        }
    }
    CHECK(cfg.n_plain_http == sizeof(good) / sizeof(good[0]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pg_err_init(&err);
        CHECK(pg_config_set(&cfg, "plain_http", bad[i], &err) == PG_ERR_CONFIG);
        CHECK(strstr(err.msg, "is not a registry host[:port]") != NULL);
        if (pg_check_failed_now()) {
            fprintf(stderr, "    %s accepted\n", bad[i]);
        }
        CHECK(!pg_config_is_registry_host(bad[i], strlen(bad[i])));
    }
    CHECK(cfg.n_plain_http == sizeof(good) / sizeof(good[0]));
    pg_config_free(&cfg);
}

static void tsa_revocation_is_set(void)
{
    struct pg_config cfg;
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&cfg, &err) == PG_OK);
    CHECK(cfg.sig.revocation.tsa_revocation == PG_TSA_REVOCATION_STRICT);
    CHECK(pg_config_set(&cfg, "tsa_revocation", "allow-unknown", &err) == PG_OK);
    CHECK(cfg.sig.revocation.tsa_revocation == PG_TSA_REVOCATION_ALLOW_UNKNOWN);
    CHECK(pg_config_set(&cfg, "tsa_revocation", "strict", &err) == PG_OK);
    CHECK(cfg.sig.revocation.tsa_revocation == PG_TSA_REVOCATION_STRICT);
    pg_config_free(&cfg);
}

static void long_socket_path_is_refused(void)
{
    char path[200];
    struct pg_config cfg;
    struct pg_err err;

    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&cfg, &err) == PG_OK);
    CHECK(pg_config_set(&cfg, "listen", path, &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "longer than 107 bytes") != NULL);
    pg_config_free(&cfg);
}

static void malformed_lines_are_refused(void)
{
    struct pg_config cfg;
    struct pg_err err;

    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&cfg, &err) == PG_OK);
    CHECK(load_text(&cfg, "workers 4\n", &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "t.conf:1: expected \"key = value\"") != NULL);
    CHECK(load_text(&cfg, "= 4\n", &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "missing key") != NULL);
    pg_config_free(&cfg);
}

static void oversized_or_binary_file_is_refused(void)
{
    struct pg_config cfg;
    struct pg_err err;
    char *big = pg_malloc(PG_CONFIG_FILE_MAX + 10);
    char *path;

    memset(big, '#', PG_CONFIG_FILE_MAX + 10);
    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&cfg, &err) == PG_OK);
    path = write_file("big.conf", big, PG_CONFIG_FILE_MAX + 10);
    CHECK(pg_config_load_file(&cfg, path, &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "larger than") != NULL);
    pg_free(path);
    path = write_file("nul.conf", "workers = 4\0\n", 13);
    pg_err_init(&err);
    CHECK(pg_config_load_file(&cfg, path, &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "NUL") != NULL);
    pg_free(path);
    path = write_file("long.conf", big, PG_CONFIG_LINE_MAX + 5);
    pg_err_init(&err);
    CHECK(pg_config_load_file(&cfg, path, &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "line longer") != NULL);
    pg_free(path);
    pg_err_init(&err);
    CHECK(pg_config_load_file(&cfg, "/nonexistent/pullgate.conf", &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "cannot open") != NULL);
    pg_free(big);
    pg_config_free(&cfg);
}

static void out_of_memory_is_an_error(void)
{
    struct pg_config cfg;
    struct pg_err err;
    long n;
    int failed = 0;

    for (n = 0; n < 4; n++) {
        pg_err_init(&err);
        pg_mem_fail_after(n);
        if (pg_config_defaults(&cfg, &err) != PG_OK) {
            failed++;
            CHECK(err.status == PG_ERR_NOMEM);
        } else {
            CHECK(pg_config_set(&cfg, "listen", "/x.sock", &err) == PG_OK ||
                  err.status == PG_ERR_NOMEM);
            pg_config_free(&cfg);
        }
        pg_mem_fail_after(-1);
    }
    CHECK(failed >= 2);
}

/* pg_config_load with argv {"serve", args...} and the given default file. */
static enum pg_status load_args(struct pg_config *cfg, const char *default_file, const char **args,
                                const char **out_file, struct pg_err *err)
{
    char *argv[16];
    int argc = 0;

    argv[argc++] = (char *)"serve";
    for (size_t i = 0; args[i] != NULL && argc < 15; i++) {
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;
    pg_err_init(err);
    return pg_config_load(cfg, default_file, argc, argv, out_file, err);
}

static void missing_default_file_means_defaults(void)
{
    const char *args[] = {NULL};
    char *absent = pg_asprintf("%s/absent.conf", g_dir);
    const char *file = "unset";
    struct pg_config cfg;
    struct pg_err err;

    CHECK(load_args(&cfg, absent, args, &file, &err) == PG_OK);
    CHECK(file == NULL);
    CHECK(cfg.workers == 4 && strcmp(cfg.notation_dir, "/etc/pullgate/notation") == 0);
    pg_config_free(&cfg);
    pg_free(absent);
}

static void default_file_is_read_and_flags_override_it(void)
{
    const char text[] = "workers = 8\nqueue_length = 10\nmode = dry-run\n";
    char *def = write_file("default.conf", text, strlen(text));
    const char *args[] = {"--workers", "9", "--mode=enforce", NULL};
    const char *file = NULL;
    struct pg_config cfg;
    struct pg_err err;

    CHECK(load_args(&cfg, def, args, &file, &err) == PG_OK);
    CHECK(file != NULL && strcmp(file, def) == 0);
    CHECK(cfg.workers == 9 && cfg.queue_length == 10 && cfg.dry_run == 0);
    pg_config_free(&cfg);
    pg_free(def);
}

static void config_flag_replaces_default_and_must_exist(void)
{
    char *def = write_file("default.conf", "workers = 8\n", 12);
    char *other = write_file("other.conf", "queue_length = 7\n", 17);
    char *absent = pg_asprintf("%s/absent.conf", g_dir);
    const char *args[] = {"--config", other, NULL};
    const char *missing[] = {"--config", absent, NULL};
    struct pg_config cfg;
    struct pg_err err;

    CHECK(load_args(&cfg, def, args, NULL, &err) == PG_OK);
    CHECK(cfg.workers == 4 && cfg.queue_length == 7);
    pg_config_free(&cfg);
    CHECK(load_args(&cfg, def, missing, NULL, &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "absent.conf") != NULL);
    pg_config_free(&cfg);
    pg_free(def);
    pg_free(other);
    pg_free(absent);
}

static void bad_flag_is_usage_error_bad_file_is_config_error(void)
{
    char *bad = write_file("bad.conf", "workers = 0\n", 12);
    const char *unknown[] = {"--bogus", "1", NULL};
    const char *no_value[] = {"--workers", NULL};
    const char *stray[] = {"extra", NULL};
    const char *range[] = {"--workers=0", NULL};
    const char *in_file[] = {"--config", bad, NULL};
    struct pg_config cfg;
    struct pg_err err;

    CHECK(load_args(&cfg, NULL, unknown, NULL, &err) == PG_ERR_INVALID_ARG);
    pg_config_free(&cfg);
    CHECK(load_args(&cfg, NULL, no_value, NULL, &err) == PG_ERR_INVALID_ARG);
    pg_config_free(&cfg);
    CHECK(load_args(&cfg, NULL, stray, NULL, &err) == PG_ERR_INVALID_ARG);
    pg_config_free(&cfg);
    CHECK(load_args(&cfg, NULL, range, NULL, &err) == PG_ERR_INVALID_ARG);
    pg_config_free(&cfg);
    CHECK(load_args(&cfg, NULL, in_file, NULL, &err) == PG_ERR_CONFIG);
    CHECK(strstr(err.msg, "bad.conf:1") != NULL);
    pg_config_free(&cfg);
    pg_free(bad);
}

/* Prints cfg into a string; free with free(). */
static char *print_to_string(const struct pg_config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f != NULL) {
        pg_config_print(cfg, f);
        fclose(f);
    }
    return buf;
}

/* Every key pg_config_print writes has its flag in `serve --help`, and no other. */
static void help_lists_every_key(void)
{
    struct pg_config cfg;
    struct pg_err err;
    char *printed = NULL;
    char *help = NULL;
    size_t help_len = 0;
    FILE *f = open_memstream(&help, &help_len);
    int keys = 0;
    int flags = 0;

    REQUIRE(f != NULL);
    pg_config_print_flags(f);
    fclose(f);
    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&cfg, &err) == PG_OK);
    printed = print_to_string(&cfg);
    REQUIRE(printed != NULL && help != NULL);
    for (char *line = strtok(printed, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char flag[80];
        size_t n = strcspn(line, " =");

        snprintf(flag, sizeof(flag), "\n  --%.*s ", (int)n, line);
        for (char *c = flag + 5; *c != '\0'; c++) {
            *c = *c == '_' ? '-' : *c;
        }
        keys++;
        if (strstr(help, flag) == NULL && strncmp(help, flag + 1, strlen(flag + 1)) != 0) {
            fprintf(stderr, "serve --help lacks %s\n", flag + 1);
            CHECK(0);
        }
    }
    for (const char *p = help; (p = strstr(p, "  --")) != NULL; p += 4) {
        flags++;
    }
    CHECK(keys > 0);
    CHECK(flags == keys);
    pg_config_free(&cfg);
    free(printed);
    free(help);
}

static void printed_configuration_loads_back(void)
{
    const char *args[] = {"--plain-http",
                          "reg.test:5000, other",
                          "--registry-ca-file",
                          "/etc/ca.pem",
                          "--log-level",
                          "debug",
                          "--max-signatures",
                          "3",
                          NULL};
    struct pg_config cfg;
    struct pg_config again;
    struct pg_err err;
    char *first = NULL;
    char *second = NULL;
    char *path = NULL;

    REQUIRE(load_args(&cfg, NULL, args, NULL, &err) == PG_OK);
    first = print_to_string(&cfg);
    REQUIRE(first != NULL);
    CHECK(strstr(first, "plain_http = reg.test:5000, other\n") != NULL);
    CHECK(strstr(first, "registry_ca_file = /etc/ca.pem\n") != NULL);
    CHECK(strstr(first, "log_level = debug\n") != NULL);
    path = write_file("printed.conf", first, strlen(first));
    pg_err_init(&err);
    REQUIRE(pg_config_defaults(&again, &err) == PG_OK);
    CHECK(pg_config_load_file(&again, path, &err) == PG_OK);
    second = print_to_string(&again);
    CHECK(second != NULL && strcmp(first, second) == 0);
    CHECK(pg_config_set(&again, "registry_ca_file", "", &err) == PG_OK);
    CHECK(again.registry_ca_file == NULL);
    pg_config_free(&again);
    pg_config_free(&cfg);
    free(first);
    free(second);
    pg_free(path);
}

int main(void)
{
    g_dir = pg_check_tmpdir();
    PG_RUN("defaults are the documented safe values", defaults_are_safe);
    PG_RUN("a file sets every key, with comments and blanks", file_sets_every_key);
    PG_RUN("an unknown key is refused, naming file and line", unknown_key_names_file_and_line);
    PG_RUN("out of range and malformed values are refused", bad_values_are_refused);
    PG_RUN("tsa_revocation accepts strict and allow-unknown", tsa_revocation_is_set);
    PG_RUN("plain_http takes only registry host[:port] values", plain_http_hosts_are_checked);
    PG_RUN("a socket path too long for sun_path is refused", long_socket_path_is_refused);
    PG_RUN("a line without '=' or key is refused", malformed_lines_are_refused);
    PG_RUN("an oversized, binary or missing file is refused", oversized_or_binary_file_is_refused);
    PG_RUN("running out of memory is an ordinary error", out_of_memory_is_an_error);
    PG_RUN("a missing default file means the defaults", missing_default_file_means_defaults);
    PG_RUN("the default file is read and flags override it",
           default_file_is_read_and_flags_override_it);
    PG_RUN("--config replaces the default file and must exist",
           config_flag_replaces_default_and_must_exist);
    PG_RUN("a bad flag is a usage error, a bad file line a configuration error",
           bad_flag_is_usage_error_bad_file_is_config_error);
    PG_RUN("the printed configuration loads back to the same settings",
           printed_configuration_loads_back);
    PG_RUN("serve --help lists every key", help_lists_every_key);
    pg_check_rmtree(g_dir);
    pg_free(g_dir);
    return pg_check_done();
}
