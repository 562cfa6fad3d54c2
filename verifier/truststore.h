/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust stores in notation's layout:
 * <notation_dir>/truststore/x509/{ca,signingAuthority,tsa}/<name>/<files>.
 * Every file must parse as PEM certificates or DER; symlinks and
 * sub-directories fail the store; each certificate must be a CA or
 * self-signed (tsa: self-issued, self-signed roots).
 */
#ifndef PG_TRUSTSTORE_H
#define PG_TRUSTSTORE_H

#include <openssl/x509.h>

#include "status.h"
#include "types.h"

/* Loads one store. On success *out_certs (non-empty) is the caller's. */
enum pg_status pg_truststore_load(const char *notation_dir, enum pg_store_type type,
                                  const char *name, STACK_OF(X509) * *out_certs,
                                  struct pg_err *err);

/* Parses one certificate file's bytes (PEM blocks or concatenated DER). */
enum pg_status pg_truststore_parse_file(const unsigned char *data, size_t len,
                                        STACK_OF(X509) * *out_certs, struct pg_err *err);

#endif
