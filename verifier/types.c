/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names of the shared enums and descriptor cleanup.
 */
#include "types.h"

#include <time.h>

#include "mem.h"

const char *pg_check_name(enum pg_check c)
{
    static const char *const names[PG_CHECK_COUNT] = {"integrity", "authenticity",
                                                      "authenticTimestamp", "expiry", "revocation"};

    return (int)c >= 0 && c < PG_CHECK_COUNT ? names[c] : "unknown";
}

const char *pg_action_name(enum pg_action a)
{
    switch (a) {
    case PG_ACTION_ENFORCE:
        return "enforce";
    case PG_ACTION_LOG:
        return "log";
    case PG_ACTION_SKIP:
        return "skip";
    }
    return "unknown";
}

const char *pg_level_name(enum pg_level l)
{
    switch (l) {
    case PG_LEVEL_STRICT:
        return "strict";
    case PG_LEVEL_PERMISSIVE:
        return "permissive";
    case PG_LEVEL_AUDIT:
        return "audit";
    case PG_LEVEL_SKIP:
        return "skip";
    }
    return "unknown";
}

const char *pg_store_type_name(enum pg_store_type t)
{
    switch (t) {
    case PG_STORE_CA:
        return "ca";
    case PG_STORE_SIGNING_AUTHORITY:
        return "signingAuthority";
    case PG_STORE_TSA:
        return "tsa";
    }
    return "unknown";
}

void pg_descriptor_clear(struct pg_descriptor *d)
{
    if (d == NULL) {
        return;
    }
    pg_free(d->media_type);
    pg_free(d->digest);
    pg_free(d->artifact_type);
    d->media_type = NULL;
    d->digest = NULL;
    d->artifact_type = NULL;
    d->size = 0;
}

void pg_blob_clear(struct pg_blob *b)
{
    if (b == NULL) {
        return;
    }
    pg_free(b->data);
    b->data = NULL;
    b->len = 0;
}

int64_t pg_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pg_deadline_left_ms(const struct pg_deadline *d)
{
    int64_t left;

    if (d == NULL) {
        return -1;
    }
    if (d->cancelled != NULL && atomic_load(d->cancelled)) {
        return 0;
    }
    if (d->at_ms == 0) {
        return -1;
    }
    left = d->at_ms - pg_now_ms();
    return left > 0 ? left : 0;
}
