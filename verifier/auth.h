/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry credentials: which CRI credentials apply to a host, docker's
 * config.json with its credential helpers, WWW-Authenticate challenges and
 * token replies. The HTTP exchanges themselves are registry.c's.
 */
#ifndef PG_AUTH_H
#define PG_AUTH_H

#include <stddef.h>

#include "registry.h"
#include "status.h"
#include "types.h"

#define PG_AUTH_HELPER_TIMEOUT_MS 10000
#define PG_AUTH_HELPER_MAX_OUTPUT (64u << 10)
#define PG_AUTH_CONFIG_MAX (1u << 20)

enum pg_auth_scheme { PG_AUTH_NONE, PG_AUTH_BASIC, PG_AUTH_BEARER };

struct pg_auth_challenge {
    enum pg_auth_scheme scheme;
    char *realm;
    char *service;
    char *scope;
};

/*
 * Parses the first challenge of a WWW-Authenticate value. An unknown scheme
 * gives PG_AUTH_NONE and PG_OK; a malformed one PG_ERR_PARSE.
 */
enum pg_status pg_auth_parse_challenge(const char *value, struct pg_auth_challenge *out,
                                       struct pg_err *err);
void pg_auth_challenge_clear(struct pg_auth_challenge *c);

/*
 * The credentials of in that apply to host (the reference's domain), in one
 * normal form: username+password, or identity_token, or registry_token; all
 * NULL for anonymous. See struct pg_credentials for the rules. out is the
 * caller's (pg_credentials_clear).
 */
enum pg_status pg_auth_resolve(const struct pg_credentials *in, const char *host,
                               struct pg_credentials *out, struct pg_err *err);

/*
 * Credentials for host from a docker config.json: credHelpers[host], else an
 * auths entry (auth, identitytoken, username/password), else credsStore. A
 * helper is run as docker-credential-<name> found on PATH, without a shell,
 * with a small clean environment, the server on stdin, bounded in time and
 * output. A missing file or entry is anonymous (PG_OK, all NULL).
 */
enum pg_status pg_auth_from_docker_config(const char *path, const char *host,
                                          const struct pg_deadline *deadline,
                                          struct pg_credentials *out, struct pg_err *err);

/*
 * Whether the docker config.json at path is there and a JSON object, for a
 * command line that names it: a missing, unreadable or malformed file is an
 * error naming the file (PG_ERR_CONFIG, or PG_ERR_PARSE for its JSON).
 */
enum pg_status pg_auth_check_docker_config(const char *path, struct pg_err *err);

/* "Basic <base64(user:pass)>"; caller wipes and frees. NULL when out of memory. */
char *pg_auth_basic_header(const char *user, const char *pass);

/* The token of a token-endpoint reply: "token", else "access_token". Caller frees. */
enum pg_status pg_auth_parse_token(const unsigned char *data, size_t len, char **out_token,
                                   struct pg_err *err);

/* Wipes and frees s. */
void pg_auth_free_secret(char *s);

#endif
