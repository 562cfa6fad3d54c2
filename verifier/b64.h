/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Base64 as signature envelopes use it: base64url without padding for JWS
 * members, and standard padded base64 for certificates and timestamp tokens.
 * Decoders are strict: any character outside the alphabet, misplaced or
 * missing padding, or non-zero trailing bits is an error.
 */
#ifndef PG_B64_H
#define PG_B64_H

#include <stddef.h>

#include "status.h"

/*
 * Decodes unpadded base64url (RFC 4648 section 5). '=' anywhere is an error.
 * On success *out (caller frees with pg_free; never NULL, NUL-terminated for
 * convenience) holds *out_len bytes. what names the input in messages.
 */
enum pg_status pg_b64_decode_url(const char *in, size_t in_len, const char *what,
                                 unsigned char **out, size_t *out_len, struct pg_err *err);

/* Decodes padded standard base64 (RFC 4648 section 4); length must be a multiple of 4. */
enum pg_status pg_b64_decode_std(const char *in, size_t in_len, const char *what,
                                 unsigned char **out, size_t *out_len, struct pg_err *err);

/* Encodes as unpadded base64url; NUL-terminated, caller frees. NULL when out of memory. */
char *pg_b64_encode_url(const unsigned char *in, size_t in_len);

/* Encodes as padded standard base64; NUL-terminated, caller frees. NULL when out of memory. */
char *pg_b64_encode_std(const unsigned char *in, size_t in_len);

#endif
