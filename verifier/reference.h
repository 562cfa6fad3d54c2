/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references, parsed and normalised as containerd's CRI plugin does:
 * "alpine" is docker.io/library/alpine:latest; a reference with both a tag
 * and a digest keeps only the digest when printed.
 */
#ifndef PG_REFERENCE_H
#define PG_REFERENCE_H

#include "status.h"

struct pg_ref {
    char *domain; /* "docker.io", "localhost:5000", "[::1]:5000" */
    char *path;   /* "library/alpine" */
    char *tag;    /* NULL when absent; "latest" filled in when neither tag nor digest */
    char *digest; /* NULL when absent, else "<alg>:<hex>" */
};

/* Parses and normalises s. On success *out_ref is the caller's (pg_ref_free). */
enum pg_status pg_ref_parse(const char *s, struct pg_ref **out_ref, struct pg_err *err);

/* "domain/path", the string trust policy scopes are compared with. Caller frees. */
char *pg_ref_repository(const struct pg_ref *ref);

/* The normalised reference: "domain/path@digest" if a digest, else "domain/path:tag". */
char *pg_ref_string(const struct pg_ref *ref);

/* The same repository pinned to digest: "domain/path@digest". Caller frees. */
char *pg_ref_with_digest(const struct pg_ref *ref, const char *digest);

void pg_ref_free(struct pg_ref *ref);

#endif
