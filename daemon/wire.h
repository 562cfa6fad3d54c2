/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protocol buffers at the wire level, for the one edit pullgate makes to a
 * CRI request: replacing PullImageRequest.image.image with the pinned
 * reference while every other byte, known or unknown, is kept as it was.
 */
#ifndef PG_WIRE_H
#define PG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/*
 * Copies msg (a message whose field `outer` is a sub-message) replacing the
 * string field `inner` of that sub-message with value. A message with the
 * sub-message or the string more than once is refused (PG_ERR_PARSE), so what
 * was verified and what is forwarded cannot differ by merge rules. A missing
 * sub-message is created. *out is the caller's (pg_free).
 */
enum pg_status pg_wire_replace_string(const uint8_t *msg, size_t len, uint32_t outer,
                                      uint32_t inner, const char *value, uint8_t **out,
                                      size_t *out_len, struct pg_err *err);

/*
 * Finds the string field `inner` of the sub-message `outer` of msg, as
 * pg_wire_replace_string reads it: *out_value points into msg (NULL when
 * absent) and *out_len is its length in bytes, NUL bytes included. A field
 * present more than once is refused (PG_ERR_PARSE).
 */
enum pg_status pg_wire_find_string(const uint8_t *msg, size_t len, uint32_t outer, uint32_t inner,
                                   const uint8_t **out_value, size_t *out_len, struct pg_err *err);

#endif
