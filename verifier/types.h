/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plain data shared between verifier modules: descriptors, the five
 * verification checks with their actions, and the read-only view of one
 * trust policy statement. Parsing lives in policy.c, use in sigverify.c.
 */
#ifndef PG_TYPES_H
#define PG_TYPES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* An OCI content descriptor; strings owned by whoever owns the struct. */
struct pg_descriptor {
    char *media_type;
    char *digest; /* "sha256:<64 hex>" */
    int64_t size;
    char *artifact_type; /* may be NULL */
};

/* Bytes read from outside, owned by the holder; free data with pg_free. */
struct pg_blob {
    unsigned char *data;
    size_t len;
};

void pg_blob_clear(struct pg_blob *b);

/*
 * The time budget of one request: an absolute CLOCK_MONOTONIC deadline in
 * milliseconds (0 for none) and an optional flag the caller sets to cancel.
 * Every blocking step checks it.
 */
struct pg_deadline {
    int64_t at_ms;
    const atomic_int *cancelled;
};

/* CLOCK_MONOTONIC in milliseconds. */
int64_t pg_now_ms(void);
/* Milliseconds left (at least 1), or -1 for no deadline, or 0 when expired or cancelled. */
int64_t pg_deadline_left_ms(const struct pg_deadline *d);

/* The validations a trust policy level controls, in notation's order. */
enum pg_check {
    PG_CHECK_INTEGRITY,
    PG_CHECK_AUTHENTICITY,
    PG_CHECK_AUTHENTIC_TIMESTAMP,
    PG_CHECK_EXPIRY,
    PG_CHECK_REVOCATION,
    PG_CHECK_COUNT
};

enum pg_action { PG_ACTION_ENFORCE, PG_ACTION_LOG, PG_ACTION_SKIP };

enum pg_level { PG_LEVEL_STRICT, PG_LEVEL_PERMISSIVE, PG_LEVEL_AUDIT, PG_LEVEL_SKIP };

enum pg_verify_timestamp { PG_VERIFY_TS_ALWAYS, PG_VERIFY_TS_AFTER_CERT_EXPIRY };

enum pg_store_type { PG_STORE_CA, PG_STORE_SIGNING_AUTHORITY, PG_STORE_TSA };

struct pg_store_ref {
    enum pg_store_type type;
    char *name;
};

/* One statement of a validated trust policy. Immutable once loaded. */
struct pg_statement {
    char *name;
    char **scopes; /* "*" or "registry/repository" */
    size_t n_scopes;
    enum pg_level level;
    int has_override; /* the level was changed by "override" ("custom" in logs) */
    enum pg_action actions[PG_CHECK_COUNT];
    enum pg_verify_timestamp verify_timestamp;
    struct pg_store_ref *stores;
    size_t n_stores;
    char **identities; /* verbatim trustedIdentities strings */
    size_t n_identities;
};

const char *pg_check_name(enum pg_check c);           /* "integrity", "authenticity", ... */
const char *pg_action_name(enum pg_action a);         /* "enforce", "log", "skip" */
const char *pg_level_name(enum pg_level l);           /* "strict", ... */
const char *pg_store_type_name(enum pg_store_type t); /* "ca", "signingAuthority", "tsa" */

void pg_descriptor_clear(struct pg_descriptor *d);

#endif
