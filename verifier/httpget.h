/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One bounded plain-HTTP exchange for revocation services (OCSP responders,
 * CRL distribution points): a GET, or a POST with a body, limited in bytes
 * and time, accepted only with status 200. What the bytes mean is decided in
 * revocation.c; registries have their own client in registry.c.
 */
#ifndef PG_HTTPGET_H
#define PG_HTTPGET_H

#include <stddef.h>

#include "status.h"
#include "types.h"

#define PG_HTTPGET_MAX_REDIRECTS 3

struct pg_httpget_request {
    const char *url;           /* http:// only; https and others are refused */
    const char *content_type;  /* for a POST; NULL for a GET */
    const unsigned char *body; /* non-NULL: POST this body */
    size_t body_len;
    long timeout_ms;                    /* the whole exchange; also bounded by deadline */
    size_t max_bytes;                   /* a longer body fails with PG_ERR_LIMIT */
    const struct pg_deadline *deadline; /* may be NULL */
};

/*
 * Performs the exchange. Redirects are followed up to
 * PG_HTTPGET_MAX_REDIRECTS times, to http:// only. On success *out_body
 * holds the response body (the caller's, pg_blob_clear). Errors:
 * PG_ERR_INVALID_ARG (not an http:// URL), PG_ERR_TIMEOUT, PG_ERR_LIMIT,
 * PG_ERR_IO (connection failure or a status other than 200), PG_ERR_NOMEM.
 */
enum pg_status pg_httpget_fetch(const struct pg_httpget_request *req, struct pg_blob *out_body,
                                struct pg_err *err);

#endif
