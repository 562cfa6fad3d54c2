/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references, parsed and normalised as containerd's CRI plugin does:
 * "alpine" is docker.io/library/alpine:latest; a reference with both a tag
 * and a digest keeps only the digest (the tag is dropped, as containerd
 * drops it). Talking to registries lives in registry.c.
 */
#ifndef PG_REFERENCE_H
#define PG_REFERENCE_H

#include "status.h"

#define PG_REF_DEFAULT_DOMAIN "docker.io"
#define PG_REF_NAME_MAX 255 /* "domain/path", as the distribution grammar bounds it */

struct pg_ref {
    char *domain; /* "docker.io", "localhost:5000", "[::1]:5000" */
    char *path;   /* "library/alpine" */
    char *tag;    /* NULL when a digest is given; "latest" when neither tag nor digest */
    char *digest; /* NULL when absent, else "<alg>:<lower hex>" */
};

/*
 * Parses and normalises s. On success *out_ref is the caller's (pg_ref_free).
 * PG_ERR_REFERENCE with a message naming the offending part otherwise.
 */
enum pg_status pg_ref_parse(const char *s, struct pg_ref **out_ref, struct pg_err *err);

/* "domain/path", the string trust policy scopes are compared with. Caller frees. */
char *pg_ref_repository(const struct pg_ref *ref);

/* The normalised reference: "domain/path@digest" if a digest, else "domain/path:tag". */
char *pg_ref_string(const struct pg_ref *ref);

/* The same repository pinned to digest: "domain/path@digest". Caller frees. */
char *pg_ref_with_digest(const struct pg_ref *ref, const char *digest);

/*
 * Whether s is a digest pullgate can check: "sha256:" and 64 lower-case hex
 * digits, or sha384 (96) / sha512 (128).
 */
int pg_ref_is_digest(const char *s);

void pg_ref_free(struct pg_ref *ref);

#endif
