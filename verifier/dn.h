/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Distinguished names as notation compares them for x509.subject trusted
 * identities: RFC 4514 parsing of the policy string, and the certificate
 * subject rendered and parsed the same way, into a type -> value map.
 */
#ifndef PG_DN_H
#define PG_DN_H

#include <stddef.h>

#include <openssl/x509.h>

#include "status.h"

struct pg_dn_attr {
    char *type;  /* "C", "ST", "O", "OU", "CN", ... ("S" is mapped to "ST") */
    char *value; /* unescaped */
};

struct pg_dn {
    struct pg_dn_attr *attrs;
    size_t n;
};

/* Parses a DN string with notation's rules (mandatory C, ST, O; no "=#";
 * no multi-valued RDN; no repeated type). */
enum pg_status pg_dn_parse(const char *s, struct pg_dn *out_dn, struct pg_err *err);

/* The subject of cert, with the same rules. */
enum pg_status pg_dn_from_cert(X509 *cert, struct pg_dn *out_dn, struct pg_err *err);

/* 1 when every attribute of sub is in super with a byte-equal value. */
int pg_dn_is_subset(const struct pg_dn *sub, const struct pg_dn *super);

void pg_dn_clear(struct pg_dn *dn);

#endif
