/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pullgate policy check: loads the trust policy and every trust store it
 * names from a notation directory, exactly as verification would, and says
 * what each statement does or why the configuration cannot be used. The
 * rules themselves live in verifier/policy.c and verifier/trust.c.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "mem.h"
#include "notation_dir.h"
#include "policy.h"
#include "status.h"
#include "trust.h"

#define OUT_ESC 512

static void usage(FILE *out)
{
    fprintf(out, "usage: pullgate policy check [--notation-dir DIR]\n"
                 "\n"
                 "Validates DIR/trustpolicy.oci.json (or DIR/trustpolicy.json) with notation's\n"
                 "rules and loads every trust store its statements name. DIR defaults to\n"
                 "notation's directory: $XDG_CONFIG_HOME/notation, else $HOME/.config/notation.\n"
                 "\n"
                 "exit status: 0 valid, 1 invalid policy or trust store problem,\n"
                 "             2 usage error or no trust policy found\n");
}

/* Parses the arguments after "check". Returns -1 to exit 0 (help), 2 for usage errors. */
static int parse_args(int argc, char **argv, const char **out_dir)
{
    int i;

    for (i = 2; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(a, "--notation-dir") == 0 && i + 1 >= argc) {
            fprintf(stderr, "pullgate policy check: --notation-dir needs a directory\n");
            return 2;
        }
        if (strcmp(a, "--notation-dir") == 0) {
            *out_dir = argv[++i];
        } else if (strncmp(a, "--notation-dir=", 15) == 0) {
            *out_dir = a + 15;
        } else {
            fprintf(stderr, "pullgate policy check: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if ((*out_dir)[0] == '\0') {
            fprintf(stderr, "pullgate policy check: --notation-dir needs a directory\n");
            return 2;
        }
    }
    return 0;
}

static const char *esc(char *buf, const char *s)
{
    return pg_escape(buf, OUT_ESC, s, s != NULL ? strlen(s) : 0);
}

static void print_list(const char *label, char *const *items, size_t n)
{
    char e[OUT_ESC];
    size_t i;

    printf("  %s:", label);
    for (i = 0; i < n; i++) {
        printf("%s \"%s\"", i > 0 ? "," : "", esc(e, items[i]));
    }
    printf("\n");
}

static void print_level(const struct pg_statement *st)
{
    int c;

    printf("  level: %s%s (", st->has_override ? "custom, from " : "", pg_level_name(st->level));
    for (c = 0; c < PG_CHECK_COUNT; c++) {
        printf("%s%s=%s", c > 0 ? " " : "", pg_check_name((enum pg_check)c),
               pg_action_name(st->actions[c]));
    }
    printf(")\n");
}

/* Prints each store with its certificate count or error; returns how many failed. */
static int print_stores(const struct pg_trust *trust, const struct pg_statement *st)
{
    int failed = 0;
    size_t i;
    char e[OUT_ESC];

    for (i = 0; i < st->n_stores; i++) {
        const struct pg_store_ref *r = &st->stores[i];
        const STACK_OF(X509) *certs = NULL;
        struct pg_err err;

        pg_err_init(&err);
        if (pg_trust_store_certs(trust, r->type, r->name, &certs, &err) == PG_OK) {
            printf("  trust store %s:%s: %d certificate%s\n", pg_store_type_name(r->type),
                   esc(e, r->name), sk_X509_num(certs), sk_X509_num(certs) == 1 ? "" : "s");
        } else {
            printf("  trust store %s:%s: ERROR: %s\n", pg_store_type_name(r->type), esc(e, r->name),
                   err.msg);
            failed++;
        }
    }
    return failed;
}

static int has_tsa_store(const struct pg_statement *st)
{
    size_t i;

    for (i = 0; i < st->n_stores; i++) {
        if (st->stores[i].type == PG_STORE_TSA) {
            return 1;
        }
    }
    return 0;
}

/* Things that are valid but worth knowing. */
static void print_notes(const struct pg_statement *st)
{
    char e[OUT_ESC];
    size_t i;

    if (st->level == PG_LEVEL_SKIP && st->n_scopes == 1 && strcmp(st->scopes[0], "*") == 0) {
        printf("  note: level skip with scope \"*\" admits every image no other statement "
               "covers without verifying it (the Notary Project specification forbids this, "
               "notation allows it)\n");
    }
    if (has_tsa_store(st) && st->verify_timestamp == PG_VERIFY_TS_ALWAYS) {
        printf("  note: a tsa trust store with verifyTimestamp always makes an RFC 3161 "
               "timestamp mandatory for every signature\n");
    }
    for (i = 0; i < st->n_identities; i++) {
        const char *id = st->identities[i];

        if (strcmp(id, "*") != 0 && strncmp(id, "x509.subject:", 13) != 0) {
            printf("  note: trusted identity \"%s\" can only be matched by a verification "
                   "plugin\n",
                   esc(e, id));
        }
    }
}

/* The summary of every statement; returns the number of store problems. */
static int print_summary(const struct pg_trust *trust)
{
    const struct pg_policy *p = pg_trust_policy(trust);
    int failed = 0;
    char e[OUT_ESC];
    size_t i;

    printf("trust policy: %s\n", esc(e, pg_policy_path(p)));
    for (i = 0; i < pg_policy_count(p); i++) {
        const struct pg_statement *st = pg_policy_statement(p, i);

        printf("statement \"%s\"\n", esc(e, st->name));
        print_list("registry scopes", st->scopes, st->n_scopes);
        print_level(st);
        if (st->level != PG_LEVEL_SKIP) {
            printf("  verify timestamp: %s\n",
                   st->verify_timestamp == PG_VERIFY_TS_ALWAYS ? "always" : "afterCertExpiry");
            failed += print_stores(trust, st);
            print_list("trusted identities", st->identities, st->n_identities);
        }
        print_notes(st);
    }
    return failed;
}

/* Loads and reports; returns the exit code. */
static int check(const char *dir)
{
    struct pg_trust *trust = NULL;
    struct pg_err err;
    enum pg_status rc;
    int failed;

    pg_err_init(&err);
    rc = pg_trust_load(dir, &trust, &err);
    if (rc != PG_OK) {
        fprintf(stderr, "pullgate policy check: %s\n", err.msg);
        return rc == PG_ERR_POLICY_MISSING ? 2 : 1;
    }
    failed = print_summary(trust);
    pg_err_init(&err);
    rc = pg_trust_check_stores(trust, &err);
    pg_trust_unref(trust);
    if (rc != PG_OK || failed > 0) {
        fprintf(stderr, "pullgate policy check: %s\n", err.msg);
        printf("policy is not usable: %d trust store problem%s\n", failed, failed == 1 ? "" : "s");
        return 1;
    }
    printf("policy is valid\n");
    return 0;
}

int pg_cmd_policy(int argc, char **argv)
{
    const char *dir = NULL;
    char *default_dir = NULL;
    int code;

    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "pullgate policy: expected the subcommand 'check'\n");
        usage(stderr);
        return 2;
    }
    code = parse_args(argc, argv, &dir);
    if (code != 0) {
        return code < 0 ? 0 : code;
    }
    if (dir == NULL) {
        dir = default_dir = pg_notation_default_dir();
    }
    if (dir == NULL) {
        fprintf(stderr, "pullgate policy check: no notation directory: neither XDG_CONFIG_HOME "
                        "nor HOME is set; use --notation-dir\n");
        return 2;
    }
    code = check(dir);
    pg_free(default_dir);
    return code;
}
