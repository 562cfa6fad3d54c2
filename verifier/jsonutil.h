/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small JSON helpers over jansson for registry replies: bounded parsing,
 * OCI descriptors and image indexes. What a reply means is decided by
 * registry.c and discover.c.
 */
#ifndef PG_JSONUTIL_H
#define PG_JSONUTIL_H

#include <stddef.h>

#include <jansson.h>

#include "status.h"
#include "types.h"

#define PG_JSONUTIL_MAX_ENTRIES 4096 /* descriptors taken from one index */

/* Parses data as one JSON object; what names the input in messages. Caller json_decref()s. */
enum pg_status pg_jsonutil_parse(const unsigned char *data, size_t len, const char *what,
                                 json_t **out_obj, struct pg_err *err);

/*
 * Reads an OCI descriptor: mediaType (string), digest (checkable digest),
 * size (integer >= 0), optional artifactType. out is filled only on success.
 */
enum pg_status pg_jsonutil_descriptor(const json_t *obj, const char *what,
                                      struct pg_descriptor *out, struct pg_err *err);

/*
 * Reads an image index: optional mediaType (must be the OCI index type),
 * manifests[] of descriptors (at most PG_JSONUTIL_MAX_ENTRIES). When
 * out_filtered is not NULL it says whether the index annotation
 * org.opencontainers.referrers.filtersApplied names artifactType.
 */
enum pg_status pg_jsonutil_index(const unsigned char *data, size_t len, const char *what,
                                 struct pg_descriptor **out_list, size_t *out_n, int *out_filtered,
                                 struct pg_err *err);

/* Whether a comma-separated list (a header or annotation value) holds item. */
int pg_jsonutil_list_has(const char *list, const char *item);

#endif
