/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's configuration: one struct with a safe default for every
 * setting, filled from a file of `key = value` lines and then from command
 * line flags, both through pg_config_set so a new key is added in one place.
 * Every key and the file format are described in docs/configuration.md.
 */
#ifndef PG_CONFIG_H
#define PG_CONFIG_H

#include <stdio.h>

#include "sigverify.h"
#include "status.h"

/* Bounds on the file, so a hostile or broken file cannot exhaust memory. */
#define PG_CONFIG_FILE_MAX (64 * 1024)
#define PG_CONFIG_LINE_MAX 4096

struct pg_config {
    char *listen;         /* path of the socket we serve; owned */
    char *upstream;       /* path of containerd's socket; owned */
    int workers;          /* threads of the PullImage hook pool */
    int queue_length;     /* pull jobs waiting for a worker */
    int cq_threads;       /* completion queues, one thread each */
    int drain_timeout_ms; /* grace for in-flight calls at shutdown */
    int log_level;        /* syslog priority, LOG_INFO by default */

    /* Verification (see docs/configuration.md). */
    char *notation_dir; /* trustpolicy.json, truststore/, plugins/; owned */
    char **plain_http;  /* registries spoken to over plain HTTP; owned */
    size_t n_plain_http;
    char *registry_ca_file;     /* CA bundle for registry TLS; NULL: the system's */
    int registry_timeout_ms;    /* one registry request */
    int verify_timeout_ms;      /* one whole verification */
    int max_signatures;         /* signatures tried per image */
    int dry_run;                /* 1: log refusals but forward every pull */
    char *containerd_namespace; /* where CRI keeps images; owned */

    /* Verification cache and metrics (see docs/configuration.md). */
    int cache_max_entries;     /* 0: no cache */
    int cache_max_bytes;       /* memory of the cached decisions */
    int cache_ttl_ms;          /* longest life of a cached approval */
    int cache_negative_ttl_ms; /* life of a cached refusal; 0: none */
    char *metrics_listen;      /* "unix:PATH" or a loopback "HOST:PORT"; NULL: off; owned */

    /* Verification plugins and AWS Signer (see docs/aws-signer.md). */
    struct pg_sigverify_options sig;
};

#define PG_CONFIG_PLAIN_HTTP_MAX 64

/* Fills cfg with the defaults. Free the strings with pg_config_free. */
enum pg_status pg_config_defaults(struct pg_config *cfg, struct pg_err *err);

/*
 * Whether s[0..n) is a registry host[:port] as image references spell it: a
 * DNS name, an IPv4 address or a bracketed IPv6 address, and an optional
 * port 1..65535. PG_CONFIG_REGISTRY_HOST_RULE says so in a message.
 */
int pg_config_is_registry_host(const char *s, size_t n);
#define PG_CONFIG_REGISTRY_HOST_RULE                                                               \
    "is not a registry host[:port] (a DNS name, an IPv4 address or a bracketed IPv6 address, "     \
    "and a port 1-65535)"

/*
 * Sets one key from its text form, checking its range. Unknown keys and bad
 * values are PG_ERR_CONFIG; cfg is unchanged then.
 */
enum pg_status pg_config_set(struct pg_config *cfg, const char *key, const char *value,
                             struct pg_err *err);

/*
 * Applies every line of the file at path on top of cfg. Lines are
 * `key = value`; blank lines and lines starting with '#' are skipped. The
 * first bad line stops the load with PG_ERR_CONFIG naming the file and line;
 * keys set before it stay set.
 */
enum pg_status pg_config_load_file(struct pg_config *cfg, const char *path, struct pg_err *err);

/* Frees the strings inside cfg (not cfg itself); safe on a zeroed struct. */
void pg_config_free(struct pg_config *cfg);

/* The file `pullgate serve` and `pullgate config check` read without --config. */
#define PG_CONFIG_DEFAULT_FILE "/etc/pullgate/pullgate.conf"

/*
 * Loads the configuration as `pullgate serve` does: the defaults, then the
 * file named by `--config FILE` (an error when it is missing) or else
 * default_file when it exists (may be NULL), then every other flag of
 * argv[1..argc-1] (`--key value` or `--key=value`, '-' for '_'). cfg needs no
 * preparation; free it with pg_config_free whatever the result. A bad
 * argument is PG_ERR_INVALID_ARG, a bad file or value in it PG_ERR_CONFIG.
 * *out_file, when out_file is not NULL, is set to the file read (borrowed
 * from argv or default_file) or NULL.
 */
enum pg_status pg_config_load(struct pg_config *cfg, const char *default_file, int argc,
                              char **argv, const char **out_file, struct pg_err *err);

/*
 * Writes the effective configuration as `key = value` lines, one per key, in
 * the file format, so the output can be loaded again. A key that holds a
 * secret must print a placeholder, never its value. A new key must be added
 * here, in pg_config_set, its help line in config.c's key_docs,
 * docs/configuration.md and systemd/pullgate.conf; tests/e2e/test-config-check.sh
 * and tests/unit/test-config.c check that they agree.
 */
void pg_config_print(const struct pg_config *cfg, FILE *out);

/*
 * Writes one help line per key, as the flag `--key ARG`, what it sets and
 * its default, for `pullgate serve --help`. Every key pg_config_set knows is
 * listed; tests/unit/test-config.c checks it against pg_config_print.
 */
void pg_config_print_flags(FILE *out);

#endif
