/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trusted identities: does a statement's trustedIdentities list admit the
 * signing certificate? "*" admits any; x509.subject entries are matched as a
 * subset of the leaf's subject; other prefixes are left to plugins.
 */
#ifndef PG_IDENTITY_H
#define PG_IDENTITY_H

#include <openssl/x509.h>

#include "status.h"
#include "types.h"

/* PG_OK when leaf matches, else PG_ERR_SIG_IDENTITY with the reason in err. */
enum pg_status pg_identity_check(const struct pg_statement *statement, X509 *leaf,
                                 struct pg_err *err);

#endif
