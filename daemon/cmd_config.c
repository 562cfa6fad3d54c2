/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pullgate config check: loads the configuration exactly as `pullgate serve`
 * does (config.c), prints every effective setting and checks what serve would
 * only find out at start or at the first pull: the trust policy and its
 * stores load, the registry CA bundle is readable, the containerd socket's
 * directory exists. Every line but the settings starts with '#', so the
 * output is itself a configuration file. Loading and printing belong to
 * config.c.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "config.h"
#include "mem.h"
#include "registry.h"
#include "status.h"
#include "trust.h"

#define OUT_ESC 512

static void usage(FILE *out)
{
    fprintf(out, "usage: pullgate config check [--config FILE] [--KEY VALUE]...\n"
                 "\n"
                 "Loads the configuration as `pullgate serve` would with the same arguments:\n"
                 "the defaults, then FILE (default /etc/pullgate/pullgate.conf, if it exists),\n"
                 "then the flags. Prints every effective setting as `key = value`, then checks\n"
                 "that the trust policy and stores in notation_dir load, that registry_ca_file\n"
                 "is a readable CA bundle and that the directory of upstream exists.\n"
                 "\n"
                 "exit status: 0 valid, 1 invalid configuration, 2 usage error\n");
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return 1;
        }
    }
    return 0;
}

/* Prints one check's result; returns 1 when it failed. */
static int report(const char *what, const struct pg_err *err)
{
    if (err->status == PG_OK) {
        printf("# ok: %s\n", what);
        return 0;
    }
    printf("# FAILED: %s: %s\n", what, err->msg);
    fprintf(stderr, "pullgate config check: %s: %s\n", what, err->msg);
    return 1;
}

static int check_trust(const struct pg_config *cfg)
{
    struct pg_trust *trust = NULL;
    struct pg_err err;

    pg_err_init(&err);
    if (pg_trust_load(cfg->notation_dir, &trust, &err) == PG_OK) {
        pg_trust_check_stores(trust, &err);
    }
    pg_trust_unref(trust);
    return report("trust policy and trust stores load", &err);
}

static int check_ca_file(const struct pg_config *cfg)
{
    struct pg_err err;

    if (cfg->registry_ca_file == NULL) {
        printf("# ok: registry CA bundle: the system's\n");
        return 0;
    }
    pg_err_init(&err);
    pg_registry_check_ca_file(cfg->registry_ca_file, "registry_ca_file", &err);
    return report("registry CA bundle is readable", &err);
}

/* Whether the directory part of path exists; stat_errno is set when not. */
static int dir_of_exists(const char *path, char *dir, size_t dir_len, int *stat_errno)
{
    char copy[PG_CONFIG_LINE_MAX + 1];
    struct stat st;

    snprintf(copy, sizeof(copy), "%s", path);
    snprintf(dir, dir_len, "%s", dirname(copy));
    *stat_errno = 0;
    if (stat(dir, &st) != 0) {
        *stat_errno = errno;
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        *stat_errno = ENOTDIR;
        return 0;
    }
    return 1;
}

static int check_upstream_dir(const struct pg_config *cfg)
{
    char dir[PG_CONFIG_LINE_MAX + 1];
    struct pg_err err;
    int e;

    pg_err_init(&err);
    if (!dir_of_exists(cfg->upstream, dir, sizeof(dir), &e)) {
        char esc[OUT_ESC];

        pg_err_set(&err, PG_ERR_CONFIG, "directory \"%s\" of upstream: %s",
                   pg_escape(esc, sizeof(esc), dir, strlen(dir)), strerror(e));
    }
    return report("directory of the upstream socket exists", &err);
}

/* Not a failure: systemd creates the listen directory (RuntimeDirectory=). */
static void note_listen_dir(const struct pg_config *cfg)
{
    char dir[PG_CONFIG_LINE_MAX + 1];
    int e;

    if (!dir_of_exists(cfg->listen, dir, sizeof(dir), &e)) {
        char esc[OUT_ESC];

        printf("# note: directory \"%s\" of listen does not exist yet (%s); serve needs it, "
               "the systemd unit creates /run/pullgate\n",
               pg_escape(esc, sizeof(esc), dir, strlen(dir)), strerror(e));
    }
}

/* Loads and prints; returns the exit code. */
static int check(int argc, char **argv)
{
    struct pg_config cfg;
    struct pg_err err;
    const char *file = NULL;
    int failed = 0;

    pg_err_init(&err);
    if (pg_config_load(&cfg, PG_CONFIG_DEFAULT_FILE, argc, argv, &file, &err) != PG_OK) {
        fprintf(stderr, "pullgate config check: %s\n", err.msg);
        if (err.status == PG_ERR_INVALID_ARG) {
            usage(stderr);
        }
        pg_config_free(&cfg);
        return err.status == PG_ERR_INVALID_ARG ? 2 : 1;
    }
    if (file != NULL) {
        char esc[OUT_ESC];

        printf("# configuration file: %s\n", pg_escape(esc, sizeof(esc), file, strlen(file)));
    } else {
        printf("# configuration file: none, built-in defaults\n");
    }
    pg_config_print(&cfg, stdout);
    failed += check_trust(&cfg);
    failed += check_ca_file(&cfg);
    failed += check_upstream_dir(&cfg);
    note_listen_dir(&cfg);
    pg_config_free(&cfg);
    if (failed > 0) {
        printf("# configuration is not valid: %d problem%s\n", failed, failed == 1 ? "" : "s");
        return 1;
    }
    printf("# configuration is valid\n");
    return 0;
}

int pg_cmd_config(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "pullgate config: expected the subcommand 'check'\n");
        usage(stderr);
        return 2;
    }
    if (wants_help(argc - 1, argv + 1)) {
        usage(stdout);
        return 0;
    }
    return check(argc - 1, argv + 1);
}
