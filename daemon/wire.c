/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal protobuf wire walker: enough to split a message into fields and
 * write length-delimited fields back. Decoding of the values we read is
 * protobuf-c's job; this file only edits bytes.
 */
#include "wire.h"

#include <string.h>

#include "mem.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct field {
    uint32_t number;
    int type;
    const uint8_t *start; /* the key's first byte */
    const uint8_t *value; /* WT_LEN: the payload after the length */
    size_t value_len;
    const uint8_t *end; /* one past the field */
};

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;

    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) {
            return -1;
        }
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Reads the field at *p; advances *p past it. */
static int next_field(const uint8_t **p, const uint8_t *end, struct field *f)
{
    uint64_t key;
    uint64_t n;

    f->start = *p;
    if (read_varint(p, end, &key) != 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff) {
        return -1;
    }
    f->number = (uint32_t)(key >> 3);
    f->type = (int)(key & 7);
    switch (f->type) {
    case WT_VARINT:
        if (read_varint(p, end, &n) != 0) {
            return -1;
        }
        break;
    case WT_I64:
    case WT_I32:
        n = f->type == WT_I64 ? 8 : 4;
        if ((size_t)(end - *p) < n) {
            return -1;
        }
        *p += n;
        break;
    case WT_LEN:
        if (read_varint(p, end, &n) != 0 || n > (uint64_t)(end - *p)) {
            return -1;
        }
        f->value = *p;
        f->value_len = (size_t)n;
        *p += n;
        break;
    default: /* groups are not used by the CRI */
        return -1;
    }
    f->end = *p;
    return 0;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;

    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        out[n++] = (uint8_t)(b | (v != 0 ? 0x80 : 0));
    } while (v != 0);
    return n;
}

/* Writes a length-delimited field; returns the bytes written. */
static size_t put_len_field(uint8_t *out, uint32_t number, const uint8_t *data, size_t len)
{
    size_t n = put_varint(out, ((uint64_t)number << 3) | WT_LEN);

    n += put_varint(out + n, len);
    if (len > 0) {
        memcpy(out + n, data, len);
    }
    return n + len;
}

/* Builds the new inner message: msg's fields without `inner`, then inner=value. */
static enum pg_status rebuild_inner(const uint8_t *msg, size_t len, uint32_t inner,
                                    const char *value, uint8_t *out, size_t *out_len,
                                    struct pg_err *err)
{
    const uint8_t *p = msg;
    const uint8_t *end = msg + len;
    size_t o = 0;
    int seen = 0;
    struct field f;

    while (p < end) {
        if (next_field(&p, end, &f) != 0) {
            return pg_err_set(err, PG_ERR_PARSE, "malformed protobuf in the image spec");
        }
        if (f.number == inner) {
            if (seen++ || f.type != WT_LEN) {
                return pg_err_set(err, PG_ERR_PARSE,
                                  "image spec names the image more than once "
                                  "or with the wrong wire type");
            }
            continue;
        }
        memcpy(out + o, f.start, (size_t)(f.end - f.start));
        o += (size_t)(f.end - f.start);
    }
    o += put_len_field(out + o, inner, (const uint8_t *)value, strlen(value));
    *out_len = o;
    return PG_OK;
}

/* The one length-delimited field `number` of msg; *out_found is 0 when absent. */
static enum pg_status find_single(const uint8_t *msg, size_t len, uint32_t number,
                                  struct field *out, int *out_found, struct pg_err *err)
{
    const uint8_t *p = msg;
    const uint8_t *end = msg + len;
    int found = 0;
    struct field f;

    while (p < end) {
        if (next_field(&p, end, &f) != 0) {
            return pg_err_set(err, PG_ERR_PARSE, "malformed protobuf message");
        }
        if (f.number != number) {
            continue;
        }
        if (found++ || f.type != WT_LEN) {
            return pg_err_set(err, PG_ERR_PARSE,
                              "field %u appears more than once or with the wrong wire type",
                              (unsigned)number);
        }
        *out = f;
    }
    *out_found = found;
    return PG_OK;
}

enum pg_status pg_wire_find_string(const uint8_t *msg, size_t len, uint32_t outer, uint32_t inner,
                                   const uint8_t **out_value, size_t *out_len, struct pg_err *err)
{
    struct field f;
    int found = 0;
    enum pg_status rc;

    rc = find_single(msg, len, outer, &f, &found, err);
    if (rc == PG_OK && found) {
        rc = find_single(f.value, f.value_len, inner, &f, &found, err);
    }
    if (rc != PG_OK) {
        return rc;
    }
    *out_value = found ? f.value : NULL;
    *out_len = found ? f.value_len : 0;
    return PG_OK;
}

enum pg_status pg_wire_replace_string(const uint8_t *msg, size_t len, uint32_t outer,
                                      uint32_t inner, const char *value, uint8_t **out,
                                      size_t *out_len, struct pg_err *err)
{
    const uint8_t *p = msg;
    const uint8_t *end = msg + len;
    const uint8_t *sub = NULL;
    size_t sub_len = 0;
    size_t vlen = strlen(value);
    size_t cap = len + 2 * vlen + 32;
    uint8_t *buf = NULL;
    uint8_t *inner_buf = NULL;
    size_t inner_len = 0;
    size_t o = 0;
    struct field f;
    enum pg_status rc;

    buf = pg_malloc(cap);
    inner_buf = pg_malloc(len + vlen + 16);
    if (buf == NULL || inner_buf == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory rewriting a request of %zu bytes", len);
        goto out;
    }
    /* First pass: find the single sub-message. */
    while (p < end) {
        if (next_field(&p, end, &f) != 0) {
            rc = pg_err_set(err, PG_ERR_PARSE, "malformed protobuf request");
            goto out;
        }
        if (f.number == outer) {
            if (sub != NULL || f.type != WT_LEN) {
                rc = pg_err_set(err, PG_ERR_PARSE,
                                "request carries the image spec more than "
                                "once or with the wrong wire type");
                goto out;
            }
            sub = f.value;
            sub_len = f.value_len;
        }
    }
    rc = rebuild_inner(sub != NULL ? sub : (const uint8_t *)"", sub_len, inner, value, inner_buf,
                       &inner_len, err);
    if (rc != PG_OK) {
        goto out;
    }
    /* Second pass: copy every field, the sub-message replaced in place. */
    p = msg;
    while (p < end) {
        next_field(&p, end, &f);
        if (f.number == outer) {
            o += put_len_field(buf + o, outer, inner_buf, inner_len);
        } else {
            memcpy(buf + o, f.start, (size_t)(f.end - f.start));
            o += (size_t)(f.end - f.start);
        }
    }
    if (sub == NULL) {
        o += put_len_field(buf + o, outer, inner_buf, inner_len);
    }
    *out = buf;
    *out_len = o;
    buf = NULL;
    rc = PG_OK;
out:
    pg_free(buf);
    pg_free(inner_buf);
    return rc;
}
