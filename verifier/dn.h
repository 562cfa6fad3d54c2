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

/* Most attributes one distinguished name may carry. */
#define PG_DN_MAX_ATTRS 64

struct pg_dn_attr {
    char *type;       /* "C", "ST", "O", "OU", "CN", ... ("S" is mapped to "ST") */
    char *value;      /* unescaped, NUL-terminated; may hold NUL bytes (see value_len) */
    size_t value_len; /* bytes in value, without the terminator */
};

/* A parsed name: one value per type, attributes sorted by type (strcmp). */
struct pg_dn {
    struct pg_dn_attr *attrs;
    size_t n;
};

/*
 * Parses a DN string with notation's rules (mandatory C, ST, O; no "=#";
 * no multi-valued RDN; no repeated type). On success *out_dn is the
 * caller's (pg_dn_clear). PG_ERR_PARSE or PG_ERR_LIMIT otherwise.
 */
enum pg_status pg_dn_parse(const char *s, struct pg_dn *out_dn, struct pg_err *err);

/*
 * The subject of cert rendered as notation renders it (the text that is then
 * parsed by pg_dn_from_cert). *out_text is the caller's (pg_free); it may
 * hold NUL bytes, *out_len says how many bytes it has.
 */
enum pg_status pg_dn_cert_subject_text(X509 *cert, char **out_text, size_t *out_len,
                                       struct pg_err *err);

/* The subject of cert, with the same rules. PG_ERR_PARSE when no x509.subject
 * identity can match it (unnamed attribute, repeated type, missing C/ST/O). */
enum pg_status pg_dn_from_cert(X509 *cert, struct pg_dn *out_dn, struct pg_err *err);

/*
 * 1 when every attribute of sub has a byte-equal value in super. As in
 * notation, a type that super lacks counts as an empty value there.
 */
int pg_dn_is_subset(const struct pg_dn *sub, const struct pg_dn *super);

/* The value of type in dn, or NULL. */
const struct pg_dn_attr *pg_dn_get(const struct pg_dn *dn, const char *type);

void pg_dn_clear(struct pg_dn *dn);

#endif
