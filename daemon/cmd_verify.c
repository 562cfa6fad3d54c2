/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pullgate verify: the daemon's verifier run by hand on one reference. It
 * prints the verified digest (the reference as given when a skip statement
 * covers it), or every signature tried and why it failed.
 * Exit codes: 0 verified (or the policy skips verification), 1 not verified,
 * 2 usage or configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "notation_dir.h"
#include "registry.h"
#include "status.h"
#include "trust.h"
#include "verify.h"

#define MAX_PLAIN_HTTP 64
#define REF_SHOWN 512 /* room for any valid reference, escaped */

struct verify_args {
    const char *notation_dir;
    const char *plain_http[MAX_PLAIN_HTTP];
    size_t n_plain_http;
    const char *ca_file;
    const char *ca_flag; /* as given, for messages */
    const char *docker_config;
    long timeout_s;
    long max_signatures;
    const char *ref;
};

static void verify_usage(FILE *out)
{
    fprintf(out, "usage: pullgate verify [options] REFERENCE\n"
                 "\n"
                 "Verifies the Notary Project signatures of an image in its registry "
                 "against\n"
                 "the notation trust policy and trust stores, as the daemon does on a "
                 "pull.\n"
                 "\n"
                 "options:\n"
                 "  --notation-dir DIR       notation configuration (default: "
                 "$XDG_CONFIG_HOME/notation\n"
                 "                           or ~/.config/notation)\n"
                 "  --plain-http HOST[:PORT] talk plain HTTP to this registry "
                 "(repeatable)\n"
                 "  --ca-file FILE           CA bundle for registry TLS (default: "
                 "system bundle);\n"
                 "  --registry-ca-file FILE  the same, as serve spells it\n"
                 "  --docker-config FILE     registry credentials (default: "
                 "$DOCKER_CONFIG/config.json\n"
                 "                           or ~/.docker/config.json when present)\n"
                 "  --timeout SECONDS        give up after this long (default 60)\n"
                 "  --max-signatures N       signatures tried at most (default 100)\n"
                 "  -v, --verbose            debug logging\n"
                 "\n"
                 "exit status: 0 verified, 1 not verified, 2 usage or configuration "
                 "error\n");
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);

    if (s[0] == '\0' || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_verify_args(int argc, char **argv, struct verify_args *a)
{
    static const struct option opts[] = {{"notation-dir", required_argument, NULL, 'n'},
                                         {"plain-http", required_argument, NULL, 'p'},
                                         {"ca-file", required_argument, NULL, 'c'},
                                         {"registry-ca-file", required_argument, NULL, 'C'},
                                         {"docker-config", required_argument, NULL, 'd'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"max-signatures", required_argument, NULL, 'm'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    a->timeout_s = 60;
    a->max_signatures = PG_DEFAULT_MAX_SIGNATURES;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            a->notation_dir = optarg;
            break;
        case 'p':
            if (a->n_plain_http == MAX_PLAIN_HTTP) {
                fprintf(stderr, "pullgate verify: too many --plain-http hosts\n");
                return -1;
            }
            if (!pg_config_is_registry_host(optarg, strlen(optarg))) {
                char esc[REF_SHOWN];

                fprintf(stderr, "pullgate verify: --plain-http \"%s\" %s\n",
                        pg_escape(esc, sizeof(esc), optarg, strlen(optarg)),
                        PG_CONFIG_REGISTRY_HOST_RULE);
                return -1;
            }
            a->plain_http[a->n_plain_http++] = optarg;
            break;
        case 'c':
        case 'C':
            a->ca_file = optarg;
            a->ca_flag = c == 'c' ? "--ca-file" : "--registry-ca-file";
            break;
        case 'd':
            a->docker_config = optarg;
            break;
        case 't':
            if (parse_long(optarg, 1, 3600, &a->timeout_s) != 0) {
                fprintf(stderr, "pullgate verify: --timeout wants 1..3600 seconds\n");
                return -1;
            }
            break;
        case 'm':
            if (parse_long(optarg, 1, 1000, &a->max_signatures) != 0) {
                fprintf(stderr, "pullgate verify: --max-signatures wants 1..1000\n");
                return -1;
            }
            break;
        case 'v':
            pg_log_set_level(LOG_DEBUG);
            break;
        case 'h':
            verify_usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc - 1) {
        return -1;
    }
    a->ref = argv[optind];
    return 0;
}

/* $DOCKER_CONFIG/config.json, else ~/.docker/config.json, unless it does not exist. */
static char *default_docker_config(void)
{
    const char *dir = getenv("DOCKER_CONFIG");
    const char *home = getenv("HOME");
    char *path = NULL;

    if (dir != NULL && dir[0] != '\0') {
        path = pg_asprintf("%s/config.json", dir);
    } else if (home != NULL && home[0] != '\0') {
        path = pg_asprintf("%s/.docker/config.json", home);
    }
    if (path != NULL && access(path, F_OK) != 0 && errno == ENOENT) {
        pg_free(path);
        path = NULL;
    }
    return path;
}

static void print_signature(FILE *out, size_t i, const struct pg_sig_result *s)
{
    fprintf(out, "  signature %zu: %s", i + 1, s->status == PG_OK ? "verified" : "failed");
    if (s->status != PG_OK) {
        fprintf(out, " (%s): %s", pg_status_name(s->status), s->msg);
    }
    fputc('\n', out);
    for (int c = 0; c < PG_CHECK_COUNT; c++) {
        const struct pg_check_result *r = &s->checks[c];

        if (r->performed && r->status != PG_OK) {
            fprintf(out, "    %s (%s): %s\n", pg_check_name((enum pg_check)c),
                    pg_action_name(r->action), r->msg);
        }
    }
}

static int print_decision(const struct pg_decision *d)
{
    /* The reference as the user gave it may be anything: escaped and cut. */
    const char *ref = d->reference != NULL ? d->reference : d->image;
    char shown[REF_SHOWN];

    pg_escape(shown, sizeof(shown), ref, strlen(ref));
    if (d->outcome == PG_OUTCOME_ALLOW) {
        printf("%s\n", d->pinned);
        fprintf(stderr, "verified: %s (%s)\n", shown, d->message);
        return 0;
    }
    if (d->outcome == PG_OUTCOME_SKIP) {
        /* Nothing is resolved under skip: the reference as given, not pinned. */
        printf("%s\n", d->reference);
        fprintf(stderr, "not verified, allowed: %s: %s\n", shown, d->message);
        return 0;
    }
    fprintf(stderr, "not verified: %s\n  reason: %s\n  %s\n", shown, pg_status_name(d->reason),
            d->message);
    for (size_t i = 0; i < d->n_sigs; i++) {
        print_signature(stderr, i, &d->sigs[i]);
    }
    return 1;
}

static int run_verify(const struct verify_args *a, const char *dir, const char *docker_config)
{
    struct pg_registry_options ro = {0};
    struct pg_registry_client *client = NULL;
    struct pg_trust *trust = NULL;
    struct pg_decision *d = NULL;
    struct pg_deadline dl = {0};
    struct pg_verify_request req = {0};
    struct pg_err err;
    int code = 2;

    pg_err_init(&err);
    if ((a->ca_file != NULL && pg_registry_check_ca_file(a->ca_file, a->ca_flag, &err) != PG_OK) ||
        (docker_config != NULL && pg_auth_check_docker_config(docker_config, &err) != PG_OK)) {
        fprintf(stderr, "pullgate verify: %s\n", err.msg);
        goto out;
    }
    if (pg_trust_load(dir, &trust, &err) != PG_OK) {
        fprintf(stderr, "pullgate verify: %s\n", err.msg);
        goto out;
    }
    ro.ca_file = a->ca_file;
    ro.plain_http_hosts = a->plain_http;
    ro.n_plain_http_hosts = a->n_plain_http;
    ro.docker_config = docker_config;
    if (pg_registry_client_new(&ro, &client, &err) != PG_OK) {
        fprintf(stderr, "pullgate verify: %s\n", err.msg);
        goto out;
    }
    dl.at_ms = pg_now_ms() + a->timeout_s * 1000;
    req.image = a->ref;
    req.deadline = &dl;
    req.max_signatures = (size_t)a->max_signatures;
    if (pg_verify_image(trust, client, &req, &d) == PG_ERR_NOMEM && d == NULL) {
        fprintf(stderr, "pullgate verify: out of memory\n");
        goto out;
    }
    code = print_decision(d);
out:
    pg_decision_free(d);
    pg_registry_client_free(client);
    pg_trust_unref(trust);
    return code;
}

int pg_cmd_verify(int argc, char **argv)
{
    struct verify_args a = {0};
    char *dir = NULL;
    char *docker_config = NULL;
    int code;

    if (parse_verify_args(argc, argv, &a) != 0) {
        verify_usage(stderr);
        return 2;
    }
    dir = a.notation_dir != NULL ? pg_strdup(a.notation_dir) : pg_notation_default_dir();
    docker_config = a.docker_config != NULL ? pg_strdup(a.docker_config) : default_docker_config();
    if (dir == NULL) {
        fprintf(stderr, "pullgate verify: no notation directory: give --notation-dir\n");
        code = 2;
    } else {
        code = run_verify(&a, dir, docker_config);
    }
    pg_free(dir);
    pg_free(docker_config);
    return code;
}
