/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pullgate serve: reads the configuration (file, then flags), runs the proxy
 * of proxy.c, tells systemd when it is ready and stops it cleanly on SIGTERM
 * or SIGINT. Signals are taken synchronously by the main thread with
 * sigwaitinfo; every other thread has them blocked.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "commands.h"
#include "config.h"
#include "enforce.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "proxy.h"
#include "unixsock.h"

/* What a running serve holds; the configuration is the one it started with. */
struct server {
    const struct pg_config *cfg;
    int argc;
    char **argv;
    struct pg_metrics *metrics;
    struct pg_enforcer *enforcer;
    struct pg_proxy *proxy;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pullgate serve [--config FILE] [--KEY VALUE]...\n"
            "\n"
            "Serves the CRI on --listen (a unix socket, mode 0660) and relays every\n"
            "call to the runtime at --upstream. Settings come from FILE, default\n"
            "/etc/pullgate/pullgate.conf if it exists; flags override the file; every\n"
            "flag is also a file key, with '_' for '-' (see docs/configuration.md).\n"
            "  %-28s %s\n",
            "--config FILE", "the configuration file (see above)");
    pg_config_print_flags(out);
    fprintf(out, "SIGHUP reloads the configuration, the trust policy and the trust stores.\n");
}

static int wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return 1;
        }
    }
    return 0;
}

static void fill_options(const struct pg_config *cfg, struct pg_metrics *metrics,
                         struct pg_enforce_options *eo)
{
    memset(eo, 0, sizeof(*eo));
    eo->notation_dir = cfg->notation_dir;
    eo->upstream_path = cfg->upstream;
    eo->containerd_namespace = cfg->containerd_namespace;
    eo->registry.ca_file = cfg->registry_ca_file;
    eo->registry.plain_http_hosts = (const char *const *)cfg->plain_http;
    eo->registry.n_plain_http_hosts = cfg->n_plain_http;
    eo->registry.request_timeout_ms = cfg->registry_timeout_ms;
    eo->verify_timeout_ms = cfg->verify_timeout_ms;
    eo->max_signatures = (size_t)cfg->max_signatures;
    eo->mode = cfg->dry_run ? PG_MODE_DRY_RUN : PG_MODE_ENFORCE;
    eo->cache.max_entries = (size_t)cfg->cache_max_entries;
    eo->cache.max_bytes = (size_t)cfg->cache_max_bytes;
    eo->cache.ttl_ms = cfg->cache_ttl_ms;
    eo->cache.negative_ttl_ms = cfg->cache_negative_ttl_ms;
    eo->metrics = metrics;
    eo->sig = &cfg->sig;
}

static int str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* Names the settings a reload cannot change that differ in next. */
static void warn_restart_only(const struct pg_config *run, const struct pg_config *next)
{
    char names[256] = "";
    size_t n = 0;
    const struct {
        const char *name;
        int differs;
    } keys[] = {
        {"listen", str_differs(run->listen, next->listen)},
        {"upstream", str_differs(run->upstream, next->upstream)},
        {"cq_threads", run->cq_threads != next->cq_threads},
        {"workers", run->workers != next->workers},
        {"queue_length", run->queue_length != next->queue_length},
        {"drain_timeout_ms", run->drain_timeout_ms != next->drain_timeout_ms},
        {"metrics_listen", str_differs(run->metrics_listen, next->metrics_listen)},
    };

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].differs) {
            n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n > 0 ? ", " : "",
                                  keys[i].name);
        }
    }
    if (n > 0) {
        pg_log(LOG_WARNING, "serve: changed settings need a restart and are kept as they were: %s",
               names);
    }
}

/* SIGHUP: configuration, trust policy and stores, swapped in as one generation. */
static void reload(struct server *sv)
{
    struct pg_config next;
    struct pg_enforce_options eo;
    struct pg_err err;

    pg_err_init(&err);
    memset(&next, 0, sizeof(next));
    if (pg_config_load(&next, PG_CONFIG_DEFAULT_FILE, sv->argc, sv->argv, NULL, &err) == PG_OK) {
        fill_options(&next, sv->metrics, &eo);
        pg_enforce_reload(sv->enforcer, &eo, &err);
    }
    if (err.status != PG_OK) {
        pg_log(LOG_ERR, "serve: reload refused, keeping the running configuration and policy: %s",
               err.msg);
        pg_metrics_add(sv->metrics, PG_METRICS_RELOAD_FAILED, 1);
    } else {
        warn_restart_only(sv->cfg, &next);
        pg_log_set_level(next.log_level);
        pg_log(LOG_NOTICE,
               "serve: configuration, trust policy and stores reloaded (generation %llu, %s)",
               (unsigned long long)pg_enforce_generation(sv->enforcer),
               next.dry_run ? "dry-run" : "enforce");
        pg_metrics_add(sv->metrics, PG_METRICS_RELOAD_OK, 1);
    }
    pg_config_free(&next);
}

/* Blocks until SIGTERM or SIGINT, reloading on each SIGHUP; returns the signal. */
static int wait_signal(const sigset_t *set, struct server *sv)
{
    int sig;

    for (;;) {
        sig = sigwaitinfo(set, NULL);
        if (sig < 0 && errno == EINTR) {
            continue;
        }
        if (sig != SIGHUP) {
            return sig;
        }
        sd_notify(0, "RELOADING=1");
        reload(sv);
        sd_notify(0, "READY=1");
    }
}

/* The metrics sampler: gauges read at scrape time. */
static void sample(void *user, struct pg_metrics *m)
{
    struct server *sv = user;
    struct pg_cache_stats st;

    pg_metrics_set(m, PG_METRICS_CALLS_IN_FLIGHT, pg_proxy_calls(sv->proxy));
    pg_enforce_get_cache_stats(sv->enforcer, &st);
    pg_metrics_set(m, PG_METRICS_CACHE_ENTRIES, (int64_t)st.entries);
}

/* Starts the enforcer, the proxy and the metrics listener, in that order. */
static enum pg_status start(struct server *sv, struct pg_err *err)
{
    const struct pg_config *cfg = sv->cfg;
    struct pg_enforce_options eo;
    struct pg_proxy_options opts;

    if (pg_metrics_new(&sv->metrics, err) != PG_OK) {
        return err->status;
    }
    fill_options(cfg, sv->metrics, &eo);
    if (pg_enforce_new(&eo, &sv->enforcer, err) != PG_OK) {
        return err->status;
    }
    memset(&opts, 0, sizeof(opts));
    opts.listen_path = cfg->listen;
    opts.upstream_path = cfg->upstream;
    opts.cq_threads = cfg->cq_threads;
    opts.workers = cfg->workers;
    opts.queue_length = cfg->queue_length;
    opts.drain_timeout_ms = cfg->drain_timeout_ms;
    pg_enforce_hooks(sv->enforcer, &opts.hooks);
    if (pg_proxy_start(&opts, &sv->proxy, err) != PG_OK) {
        return err->status;
    }
    pg_metrics_set_sampler(sv->metrics, sample, sv);
    return pg_metrics_serve(sv->metrics, cfg->metrics_listen, err);
}

/*
 * Stops what start started: the metrics listener (its sampler reads the
 * proxy and the enforcer), the proxy, then what the hooks used. Returns the
 * calls the proxy cancelled.
 */
static int stop(struct server *sv)
{
    int cancelled;

    pg_metrics_stop(sv->metrics);
    cancelled = pg_proxy_stop(sv->proxy);
    pg_enforce_free(sv->enforcer);
    pg_metrics_free(sv->metrics);
    return cancelled;
}

/*
 * The runtime may start after pullgate, so a runtime that is not there yet
 * is no error; but an operator who typed the wrong path hears of it now.
 */
static void warn_if_upstream_down(const char *path)
{
    char esc[256];
    int probe = pg_unixsock_probe(path);

    if (probe != 0) {
        pg_escape(esc, sizeof(esc), path, strlen(path));
        pg_log(LOG_WARNING,
               "serve: upstream \"%s\" does not answer (%s); every call fails with UNAVAILABLE "
               "until it does",
               esc, strerror(probe));
    }
}

static int serve(const struct pg_config *cfg, const sigset_t *set, int argc, char **argv)
{
    struct server sv = {.cfg = cfg, .argc = argc, .argv = argv};
    struct pg_err err;
    int sig;
    int cancelled;

    pg_err_init(&err);
    if (start(&sv, &err) != PG_OK) {
        pg_log(LOG_ERR, "serve: %s", err.msg);
        stop(&sv);
        return 1;
    }
    pg_log(LOG_INFO, "serve: listening on %s, relaying to %s, verifying pulls (%s) with %s%s%s",
           cfg->listen, cfg->upstream, cfg->dry_run ? "dry-run" : "enforce", cfg->notation_dir,
           cfg->metrics_listen != NULL ? ", metrics on " : "",
           cfg->metrics_listen != NULL ? cfg->metrics_listen : "");
    warn_if_upstream_down(cfg->upstream);
    sd_notify(0, "READY=1");
    sig = wait_signal(set, &sv);
    pg_log(LOG_INFO, "serve: %s received, draining calls for up to %d ms",
           sig == SIGINT ? "SIGINT" : "SIGTERM", cfg->drain_timeout_ms);
    sd_notify(0, "STOPPING=1");
    cancelled = stop(&sv);
    pg_log(LOG_INFO, "serve: stopped (%d call(s) cancelled)", cancelled);
    return 0;
}

int pg_cmd_serve(int argc, char **argv)
{
    struct pg_config cfg;
    struct pg_err err;
    sigset_t set;
    int rc;

    if (wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    /* Before any thread exists, so all of them inherit the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    pg_err_init(&err);
    memset(&cfg, 0, sizeof(cfg));
    if (pg_config_load(&cfg, PG_CONFIG_DEFAULT_FILE, argc, argv, NULL, &err) != PG_OK) {
        fprintf(stderr, "pullgate serve: %s\n", err.msg);
        pg_config_free(&cfg);
        return 2;
    }
    pg_log_set_level(cfg.log_level);
    rc = serve(&cfg, &set, argc, argv);
    pg_config_free(&cfg);
    return rc;
}
