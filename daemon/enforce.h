/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pull policy: the proxy's PullImage hooks backed by the verifier. The
 * pre-hook verifies and pins an allowed pull to its digest or refuses it with
 * SignatureValidationFailed; the post-hook gives a pinned image its tag back
 * in containerd. One decision line is logged per pull.
 */
#ifndef PG_ENFORCE_H
#define PG_ENFORCE_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "metrics.h"
#include "proxy.h"
#include "registry.h"
#include "sigverify.h"
#include "status.h"

enum pg_mode {
    PG_MODE_ENFORCE, /* refused pulls never reach containerd */
    PG_MODE_DRY_RUN  /* every pull is forwarded; refusals are only logged */
};

struct pg_enforce_options {
    const char *notation_dir;
    const char *upstream_path;        /* containerd's socket, for tagging */
    const char *containerd_namespace; /* NULL: "k8s.io" */
    struct pg_registry_options registry;
    long verify_timeout_ms; /* pullgate's own bound on one verification */
    size_t max_signatures;
    enum pg_mode mode;
    struct pg_cache_limits cache; /* all zero: no verification cache */
    struct pg_metrics *metrics;   /* borrowed, outlives the enforcer; NULL: none */
    /* Plugins, AWS Signer, revocation; copied. NULL: the defaults. */
    const struct pg_sigverify_options *sig;
};

struct pg_enforcer;

/*
 * Loads the trust configuration and builds the registry client. A policy
 * that cannot be loaded does not stop the daemon: every pull is refused with
 * the load error until a load succeeds. Caller frees with pg_enforce_free.
 */
enum pg_status pg_enforce_new(const struct pg_enforce_options *opts,
                              struct pg_enforcer **out_enforcer, struct pg_err *err);

/*
 * Builds a new generation from opts (trust policy and stores read again, a
 * new registry client, verification settings, mode, namespace, cache limits)
 * and swaps it in atomically; the cache then serves only the new generation.
 * Pulls in flight finish under the generation they started with. A policy or
 * store that fails to load, or a client that cannot be built, refuses the
 * reload and the running generation is kept. upstream_path and metrics are
 * ignored: they need a restart.
 */
enum pg_status pg_enforce_reload(struct pg_enforcer *enforcer,
                                 const struct pg_enforce_options *opts, struct pg_err *err);

/* The trust generation in use, 0 while none is loaded. */
uint64_t pg_enforce_generation(struct pg_enforcer *enforcer);

void pg_enforce_get_cache_stats(struct pg_enforcer *enforcer, struct pg_cache_stats *out_stats);

/* The hooks to give the proxy; user points at enforcer. */
void pg_enforce_hooks(struct pg_enforcer *enforcer, struct pg_pull_hooks *out_hooks);

void pg_enforce_free(struct pg_enforcer *enforcer);

const char *pg_mode_name(enum pg_mode mode);

#endif
