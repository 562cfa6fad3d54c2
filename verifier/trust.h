/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trust configuration one verification runs under: the validated policy
 * and every trust store it names, loaded together from a notation directory
 * and never changed afterwards. Shared by reference so a reload can swap in a
 * new generation while calls in flight finish under the old one.
 */
#ifndef PG_TRUST_H
#define PG_TRUST_H

#include <stdint.h>

#include <openssl/x509.h>

#include "policy.h"
#include "status.h"
#include "types.h"

struct pg_trust;

/*
 * Loads the policy (an invalid or missing policy is an error) and every store
 * the statements name. A store that fails to load is kept with its error and
 * reported by pg_trust_store_certs, as notation reports it at verification.
 */
enum pg_status pg_trust_load(const char *notation_dir, struct pg_trust **out_trust,
                             struct pg_err *err);

struct pg_trust *pg_trust_ref(struct pg_trust *trust);
void pg_trust_unref(struct pg_trust *trust);

const struct pg_policy *pg_trust_policy(const struct pg_trust *trust);
const char *pg_trust_dir(const struct pg_trust *trust);
uint64_t pg_trust_generation(const struct pg_trust *trust); /* unique per load */

/*
 * The certificates of store type:name, borrowed from trust (do not free).
 * PG_ERR_TRUSTSTORE with the load error when the store failed to load.
 */
enum pg_status pg_trust_store_certs(const struct pg_trust *trust, enum pg_store_type type,
                                    const char *name, const STACK_OF(X509) * *out_certs,
                                    struct pg_err *err);

/*
 * Every store problem of every statement, for `pullgate policy check`:
 * PG_OK when all named stores loaded, else the first error.
 */
enum pg_status pg_trust_check_stores(const struct pg_trust *trust, struct pg_err *err);

#endif
