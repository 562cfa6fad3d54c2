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

struct pg_policy;

/* Parses a policy document held in memory. Caller frees with pg_policy_free. */
enum pg_status pg_policy_parse(const char *json, size_t len, struct pg_policy **out_policy,
                               struct pg_err *err);

/*
 * Loads <notation_dir>/trustpolicy.oci.json, or trustpolicy.json when (and
 * only when) the first does not exist. A symlink or non-regular file is an
 * error; no file at all is PG_ERR_POLICY_MISSING.
 */
enum pg_status pg_policy_load_dir(const char *notation_dir, struct pg_policy **out_policy,
                                  struct pg_err *err);

size_t pg_policy_count(const struct pg_policy *policy);
const struct pg_statement *pg_policy_statement(const struct pg_policy *policy, size_t i);

/*
 * The statement for repository ("registry/repo"): an exact scope match, else
 * the "*" statement, else NULL with PG_ERR_NO_STATEMENT in err.
 */
const struct pg_statement *pg_policy_select(const struct pg_policy *policy,
                                            const char *repository, struct pg_err *err);

void pg_policy_free(struct pg_policy *policy);

#endif
