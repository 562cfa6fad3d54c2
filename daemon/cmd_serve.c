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
#include "proxy.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pullgate serve [--config FILE] [--listen PATH] [--upstream PATH]\n"
            "                      [--workers N] [--queue-length N] [--cq-threads N]\n"
            "                      [--drain-timeout-ms MS] [--log-level LEVEL]\n"
            "\n"
            "Serves the CRI on --listen (a unix socket, mode 0660) and relays every\n"
            "call to the runtime at --upstream. Settings come from FILE, default\n"
            "/etc/pullgate/pullgate.conf if it exists; flags override the file; every\n"
            "flag is also a file key, with '_' for '-' (see docs/configuration.md).\n"
            "  --listen PATH          default /run/pullgate/pullgate.sock\n"
            "  --upstream PATH        default /run/containerd/containerd.sock\n"
            "  --workers N            pull hook threads, default 4\n"
            "  --queue-length N       pulls waiting for a thread, default 64\n"
            "  --cq-threads N         completion queue threads, default 2\n"
            "  --drain-timeout-ms MS  grace for calls at shutdown, default 10000\n"
            "  --log-level LEVEL      error, warning, info (default), debug\n"
            "  --notation-dir DIR     trust policy and stores, default /etc/pullgate/notation\n"
            "  --plain-http HOST[:PORT]  a registry spoken to over plain HTTP (repeatable)\n"
            "  --registry-ca-file FILE   CA bundle for registry TLS, default the system's\n"
            "  --registry-timeout-ms MS  one registry request, default 30000\n"
            "  --verify-timeout-ms MS    one whole verification, default 60000\n"
            "  --max-signatures N     signatures tried per image, default 100\n"
            "  --mode MODE            enforce (default) or dry-run: verify and log, never refuse\n"
            "  --containerd-namespace NS  where CRI keeps images, default k8s.io\n"
            "SIGHUP reloads the trust policy and trust stores.\n");
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

/* Blocks until SIGTERM or SIGINT, reloading on each SIGHUP; returns the signal. */
static int wait_signal(const sigset_t *set, struct pg_enforcer *enforcer)
{
    struct pg_err err;
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
        pg_err_init(&err);
        if (pg_enforce_reload(enforcer, &err) == PG_OK) {
            pg_log(LOG_NOTICE, "serve: trust policy and stores reloaded");
        } else {
            pg_log(LOG_ERR, "serve: reload refused, keeping the running policy: %s", err.msg);
        }
        sd_notify(0, "READY=1");
    }
}

static enum pg_status make_enforcer(const struct pg_config *cfg, struct pg_enforcer **out,
                                    struct pg_err *err)
{
    struct pg_enforce_options eo;

    memset(&eo, 0, sizeof(eo));
    eo.notation_dir = cfg->notation_dir;
    eo.upstream_path = cfg->upstream;
    eo.containerd_namespace = cfg->containerd_namespace;
    eo.registry.ca_file = cfg->registry_ca_file;
    eo.registry.plain_http_hosts = (const char *const *)cfg->plain_http;
    eo.registry.n_plain_http_hosts = cfg->n_plain_http;
    eo.registry.request_timeout_ms = cfg->registry_timeout_ms;
    eo.verify_timeout_ms = cfg->verify_timeout_ms;
    eo.max_signatures = (size_t)cfg->max_signatures;
    eo.mode = cfg->dry_run ? PG_MODE_DRY_RUN : PG_MODE_ENFORCE;
    return pg_enforce_new(&eo, out, err);
}

static int serve(const struct pg_config *cfg, const sigset_t *set)
{
    struct pg_proxy_options opts;
    struct pg_proxy *proxy = NULL;
    struct pg_enforcer *enforcer = NULL;
    struct pg_err err;
    int sig;
    int cancelled;

    pg_err_init(&err);
    if (make_enforcer(cfg, &enforcer, &err) != PG_OK) {
        pg_log(LOG_ERR, "serve: %s", err.msg);
        return 1;
    }
    memset(&opts, 0, sizeof(opts));
    opts.listen_path = cfg->listen;
    opts.upstream_path = cfg->upstream;
    opts.cq_threads = cfg->cq_threads;
    opts.workers = cfg->workers;
    opts.queue_length = cfg->queue_length;
    opts.drain_timeout_ms = cfg->drain_timeout_ms;
    pg_enforce_hooks(enforcer, &opts.hooks);
    if (pg_proxy_start(&opts, &proxy, &err) != PG_OK) {
        pg_log(LOG_ERR, "serve: %s", err.msg);
        pg_enforce_free(enforcer);
        return 1;
    }
    pg_log(LOG_INFO, "serve: listening on %s, relaying to %s, verifying pulls (%s) with %s",
           cfg->listen, cfg->upstream, cfg->dry_run ? "dry-run" : "enforce", cfg->notation_dir);
    sd_notify(0, "READY=1");
    sig = wait_signal(set, enforcer);
    pg_log(LOG_INFO, "serve: %s received, draining calls for up to %d ms",
           sig == SIGINT ? "SIGINT" : "SIGTERM", cfg->drain_timeout_ms);
    sd_notify(0, "STOPPING=1");
    cancelled = pg_proxy_stop(proxy);
    pg_enforce_free(enforcer);
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
    rc = serve(&cfg, &set);
    pg_config_free(&cfg);
    return rc;
}
