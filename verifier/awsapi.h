/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One HTTP call to an AWS endpoint with libcurl, SigV4-signed by libcurl
 * (CURLOPT_AWS_SIGV4) when credentials are given, with bounded time and
 * response size, and the AWS error code, message and request id read from a
 * failed response. What is asked and what the answer means is up to the
 * callers (awssigner.c, awscreds.c).
 */
#ifndef PG_AWSAPI_H
#define PG_AWSAPI_H

#include <stddef.h>
#include <stdint.h>

#include "awscreds.h"
#include "status.h"

#define PG_AWSAPI_BODY_MAX (1024 * 1024)

struct pg_awsapi_request {
    const char *method;               /* "GET", "PUT" or "POST" */
    const char *url;                  /* http:// or https:// */
    const char *const *headers;       /* NULL-terminated "Name: value" lines; may be NULL */
    const char *body;                 /* may be NULL */
    const struct pg_aws_creds *creds; /* NULL: not signed */
    const char *region;               /* with creds: the SigV4 scope */
    const char *service;              /* with creds */
    int64_t timeout_ms;
    int is_local; /* no proxy (instance metadata) */
};

struct pg_awsapi_response {
    long status; /* HTTP status */
    char *body;  /* NUL-terminated; pg_free */
    size_t len;
    char error_type[128]; /* x-amzn-ErrorType without its ":..." tail */
    char request_id[128];
};

/*
 * Performs the call. A transport failure or an oversized body is
 * PG_ERR_UPSTREAM (PG_ERR_TIMEOUT when the time ran out); any HTTP status is
 * a success of this function, for the caller to judge. Clear *out with
 * pg_awsapi_response_clear in every case.
 */
enum pg_status pg_awsapi_call(const struct pg_awsapi_request *r, struct pg_awsapi_response *out,
                              struct pg_err *err);

void pg_awsapi_response_clear(struct pg_awsapi_response *r);

/*
 * "http <status>, <code>: <message> (request id <id>)" of a failed response,
 * escaped, from the error headers and the JSON body (code and message
 * members in any of the spellings AWS uses).
 */
void pg_awsapi_error_text(const struct pg_awsapi_response *r, char *buf, size_t len);

/*
 * s RFC 3986-encoded as SigV4 wants it (only A-Z a-z 0-9 - _ . ~ kept,
 * upper-case hex). NULL when memory runs out; caller frees with pg_free.
 */
char *pg_awsapi_uri_encode(const char *s);

#endif
