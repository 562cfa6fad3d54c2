/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verification of one signed image against a registry, timed step by step:
 * the first verification in a fresh process, then repeated ones, with the
 * time split into network (resolve, discovery, envelope fetch) and
 * cryptography and policy (pg_sigverify). Run by scripts/bench-verify.sh,
 * which starts a registry on loopback and publishes the image.
 *
 *   bench-verify --notation-dir DIR --plain-http HOST:PORT [--runs N] REF
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "discover.h"
#include "mem.h"
#include "reference.h"
#include "registry.h"
#include "sigverify.h"
#include "trust.h"

#define MAX_RUNS 10000

struct timing {
    double load_ms;    /* trust policy and stores */
    double resolve_ms; /* manifest by tag */
    double discover_ms;
    double fetch_ms; /* signature manifest and envelope */
    double crypto_ms;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One verification of ref, split into steps; 0 when it verified. */
static int verify_once(const struct pg_trust *trust, struct pg_registry_client *client,
                       const struct pg_ref *ref, struct timing *t)
{
    struct pg_registry_session *s = NULL;
    struct pg_descriptor target = {0};
    struct pg_descriptor *sigs = NULL;
    struct pg_blob body = {0};
    struct pg_blob env = {0};
    char *env_type = NULL;
    size_t n = 0;
    struct pg_sig_result res;
    struct pg_sigverify_input in = {0};
    struct pg_err err;
    char *repo = pg_ref_repository(ref);
    double t0;
    int rc = 1;

    pg_err_init(&err);
    t0 = now_ms();
    if (pg_registry_session_new(client, ref, NULL, NULL, &s, &err) != PG_OK ||
        pg_registry_get_manifest(s, ref->digest != NULL ? ref->digest : ref->tag, &body, &target,
                                 &err) != PG_OK) {
        goto out;
    }
    t->resolve_ms = now_ms() - t0;
    t0 = now_ms();
    if (pg_discover_signatures(s, &target, 100, &sigs, &n, &err) != PG_OK || n == 0) {
        goto out;
    }
    t->discover_ms = now_ms() - t0;
    t0 = now_ms();
    if (pg_discover_fetch_envelope(s, &sigs[0], &env, &env_type, &err) != PG_OK) {
        goto out;
    }
    t->fetch_ms = now_ms() - t0;
    in.trust = trust;
    in.statement = pg_policy_select(pg_trust_policy(trust), repo, &err);
    in.envelope_media_type = env_type;
    in.envelope = env.data;
    in.envelope_len = env.len;
    in.target = &target;
    in.now = time(NULL);
    t0 = now_ms();
    rc = in.statement != NULL && pg_sigverify(&in, &res) == PG_OK ? 0 : 1;
    t->crypto_ms = now_ms() - t0;
    if (rc != 0) {
        snprintf(err.msg, sizeof(err.msg), "%s", in.statement != NULL ? res.msg : "no statement");
    }
out:
    if (rc != 0) {
        fprintf(stderr, "bench-verify: not verified: %s\n", err.msg);
    }
    pg_free(repo);
    pg_free(env_type);
    pg_blob_clear(&env);
    pg_blob_clear(&body);
    pg_descriptor_list_free(sigs, n);
    pg_descriptor_clear(&target);
    pg_registry_session_free(s);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y ? 1 : 0;
}

static double percentile(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[(int)(p * (n - 1) + 0.5)];
}

static void print_row(const char *name, double *v, int n)
{
    printf("%-28s %10.3f %10.3f %10.3f\n", name, percentile(v, n, 0.5), percentile(v, n, 0.9),
           percentile(v, n, 0.99));
}

static int run(const char *dir, const char *plain, int runs, const char *image)
{
    struct pg_registry_options ro = {0};
    struct pg_registry_client *client = NULL;
    struct pg_trust *trust = NULL;
    struct pg_ref *ref = NULL;
    struct pg_err err;
    struct timing first = {0};
    static double net[MAX_RUNS], crypto[MAX_RUNS], total[MAX_RUNS], resolve[MAX_RUNS];
    double t0;
    int rc = 1;

    pg_err_init(&err);
    t0 = now_ms();
    if (pg_trust_load(dir, &trust, &err) != PG_OK || pg_ref_parse(image, &ref, &err) != PG_OK) {
        fprintf(stderr, "bench-verify: %s\n", err.msg);
        goto out;
    }
    first.load_ms = now_ms() - t0;
    ro.plain_http_hosts = &plain;
    ro.n_plain_http_hosts = 1;
    if (pg_registry_client_new(&ro, &client, &err) != PG_OK ||
        verify_once(trust, client, ref, &first) != 0) {
        goto out;
    }
    for (int i = 0; i < runs; i++) {
        struct timing t = {0};

        if (verify_once(trust, client, ref, &t) != 0) {
            goto out;
        }
        resolve[i] = t.resolve_ms;
        net[i] = t.resolve_ms + t.discover_ms + t.fetch_ms;
        crypto[i] = t.crypto_ms;
        total[i] = net[i] + crypto[i];
    }
    printf("verification of %s, milliseconds\n\n", image);
    printf("first time (fresh process)\n");
    printf("  trust policy and stores %8.3f\n", first.load_ms);
    printf("  network: resolve        %8.3f\n", first.resolve_ms);
    printf("  network: discovery      %8.3f\n", first.discover_ms);
    printf("  network: envelope       %8.3f\n", first.fetch_ms);
    printf("  cryptography and policy %8.3f\n", first.crypto_ms);
    printf("  total                   %8.3f\n\n",
           first.load_ms + first.resolve_ms + first.discover_ms + first.fetch_ms + first.crypto_ms);
    printf("repeated, %d runs %16s %10s %10s\n", runs, "p50", "p90", "p99");
    print_row("  network: resolve", resolve, runs);
    print_row("  network: all three steps", net, runs);
    print_row("  cryptography and policy", crypto, runs);
    print_row("  total", total, runs);
    rc = 0;
out:
    pg_registry_client_free(client);
    pg_trust_unref(trust);
    pg_ref_free(ref);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"notation-dir", required_argument, NULL, 'n'},
                                         {"plain-http", required_argument, NULL, 'p'},
                                         {"runs", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    const char *plain = NULL;
    int runs = 200;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            dir = optarg;
            break;
        case 'p':
            plain = optarg;
            break;
        case 'r':
            runs = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if (dir == NULL || plain == NULL || optind != argc - 1 || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr,
                "usage: bench-verify --notation-dir DIR --plain-http HOST:PORT "
                "[--runs 1..%d] REF\n",
                MAX_RUNS);
        return 2;
    }
    return run(dir, plain, runs, argv[optind]);
}
