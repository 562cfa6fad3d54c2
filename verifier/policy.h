/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust policy: parses and validates trustpolicy.oci.json (else
 * trustpolicy.json) with every rule notation applies, into an immutable
 * pg_policy, and picks the statement that governs a repository. A document
 * that breaks any rule is rejected whole, naming the statement and the rule.
 */
#ifndef PG_POLICY_H
#define PG_POLICY_H

#include <stddef.h>

#include "status.h"
#include "types.h"

#define PG_POLICY_MAX_BYTES ((size_t)1024 * 1024) /* larger documents are refused */
#define PG_POLICY_MAX_STATEMENTS 1024
#define PG_POLICY_MAX_SCOPES 4096    /* per statement */
#define PG_POLICY_MAX_STORES 64      /* per statement */
#define PG_POLICY_MAX_IDENTITIES 256 /* per statement */

struct pg_policy;

/*
 * Parses and validates a policy document held in memory (at most
 * PG_POLICY_MAX_BYTES). PG_ERR_POLICY_INVALID names the statement and the
 * rule. Caller frees *out_policy with pg_policy_free.
 */
enum pg_status pg_policy_parse(const char *json, size_t len, struct pg_policy **out_policy,
                               struct pg_err *err);

/*
 * Loads <notation_dir>/trustpolicy.oci.json, or trustpolicy.json when (and
 * only when) the first does not exist. A symlink or non-regular file is an
 * error; no file at all is PG_ERR_POLICY_MISSING. Messages start with the
 * file's path.
 */
enum pg_status pg_policy_load_dir(const char *notation_dir, struct pg_policy **out_policy,
                                  struct pg_err *err);

/* The file the policy came from, or NULL when it was parsed from memory. */
const char *pg_policy_path(const struct pg_policy *policy);

size_t pg_policy_count(const struct pg_policy *policy);
const struct pg_statement *pg_policy_statement(const struct pg_policy *policy, size_t i);

/*
 * The statement for repository ("registry/repo", fully qualified, no tag or
 * digest): the statement whose registryScopes holds exactly that string,
 * else the "*" statement, else NULL with PG_ERR_NO_STATEMENT in err. A
 * repository that is not of the scope form gives NULL with PG_ERR_REFERENCE.
 * The statement is borrowed from policy.
 */
const struct pg_statement *pg_policy_select(const struct pg_policy *policy, const char *repository,
                                            struct pg_err *err);

/* 1 when s is a registry scope notation accepts: "registry[:port]/repository". */
int pg_policy_scope_is_valid(const char *s);

void pg_policy_free(struct pg_policy *policy);

#endif
