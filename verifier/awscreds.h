/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS credentials for the calls pullgate makes itself (AWS Signer's
 * revocation status), found the way the AWS SDKs look: the environment, the
 * shared credentials file, web identity (STS AssumeRoleWithWebIdentity) and
 * the EC2 instance metadata service (IMDSv2). Temporary credentials are kept
 * until shortly before they expire. HTTP lives in awsapi.c.
 */
#ifndef PG_AWSCREDS_H
#define PG_AWSCREDS_H

#include <stdint.h>

#include "status.h"
#include "types.h"

struct pg_aws_creds {
    char access_key[128];
    char secret_key[128];
    char token[4096]; /* "" when the credentials are not temporary */
    int64_t expires;  /* Unix seconds; 0: no expiry */
    char source[32];  /* "environment", "shared-file", "web-identity", "imds" */
};

/*
 * The first credentials the chain yields, copied into *out (wipe it with
 * pg_awscreds_wipe). region picks the regional STS endpoint. Every source
 * failing is PG_ERR_UPSTREAM naming each source's reason; no message ever
 * holds a secret.
 */
enum pg_status pg_awscreds_get(const char *region, const struct pg_deadline *deadline,
                               int64_t timeout_ms, struct pg_aws_creds *out, struct pg_err *err);

/* Zeroes credentials with OPENSSL_cleanse. */
void pg_awscreds_wipe(struct pg_aws_creds *c);

/* Forgets cached temporary credentials. */
void pg_awscreds_cache_clear(void);

#endif
