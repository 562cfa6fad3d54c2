/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strict base64 and base64url codecs for envelope members. Callers bound the
 * input size; this file only checks the encoding.
 */
#include "b64.h"

#include <stdint.h>

#include "mem.h"

static const char alphabet_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char alphabet_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c in the alphabet, or -1. */
static int value_of(char c, int is_url)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == (is_url ? '-' : '+')) {
        return 62;
    }
    if (c == (is_url ? '_' : '/')) {
        return 63;
    }
    return -1;
}

/*
 * Decodes n (not padded, n % 4 != 1) alphabet characters into out and
 * returns the byte count, or the offset of the first bad character as a
 * negative number minus one.
 */
static long decode_chars(const char *in, size_t n, int is_url, unsigned char *out)
{
    uint32_t acc = 0;
    size_t i;
    size_t bits = 0;
    size_t o = 0;

    for (i = 0; i < n; i++) {
        int v = value_of(in[i], is_url);

        if (v < 0) {
            return -(long)i - 1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) {
        /* Non-zero leftover bits: a non-canonical encoding. */
        return -(long)n;
    }
    return (long)o;
}

static enum pg_status decode(const char *in, size_t in_len, size_t n_chars, int is_url,
                             const char *what, unsigned char **out, size_t *out_len,
                             struct pg_err *err)
{
    unsigned char *buf = NULL;
    long got;

    if (n_chars % 4 == 1) {
        return pg_err_set(err, PG_ERR_PARSE, "illegal base64 data in %s: bad length %zu", what,
                          in_len);
    }
    buf = pg_malloc(n_chars / 4 * 3 + 3);
    if (buf == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory decoding %s", what);
    }
    got = decode_chars(in, n_chars, is_url, buf);
    if (got < 0) {
        pg_free(buf);
        return pg_err_set(err, PG_ERR_PARSE, "illegal base64 data in %s at input byte %ld", what,
                          -got - 1);
    }
    buf[got] = '\0';
    *out = buf;
    *out_len = (size_t)got;
    return PG_OK;
}

enum pg_status pg_b64_decode_url(const char *in, size_t in_len, const char *what,
                                 unsigned char **out, size_t *out_len, struct pg_err *err)
{
    return decode(in, in_len, in_len, 1, what, out, out_len, err);
}

enum pg_status pg_b64_decode_std(const char *in, size_t in_len, const char *what,
                                 unsigned char **out, size_t *out_len, struct pg_err *err)
{
    size_t n_chars = in_len;

    if (in_len % 4 != 0) {
        return pg_err_set(err, PG_ERR_PARSE,
                          "illegal base64 data in %s: length %zu is not a multiple of 4", what,
                          in_len);
    }
    if (n_chars > 0 && in[n_chars - 1] == '=') {
        n_chars--;
        if (in[n_chars - 1] == '=') {
            n_chars--;
        }
    }
    if (n_chars % 4 == 1) {
        return pg_err_set(err, PG_ERR_PARSE, "illegal base64 data in %s at input byte %zu", what,
                          n_chars);
    }
    return decode(in, in_len, n_chars, 0, what, out, out_len, err);
}

static char *encode(const unsigned char *in, size_t in_len, const char *alphabet, int is_padded)
{
    size_t cap;
    char *out;
    size_t i;
    size_t o = 0;

    if (in_len > (SIZE_MAX - 8) / 4 * 3) {
        return NULL;
    }
    cap = (in_len + 2) / 3 * 4 + 1;
    out = pg_malloc(cap);
    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i + 2 < in_len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < in_len) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < in_len) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < in_len) {
            out[o++] = alphabet[(v >> 6) & 63];
        } else if (is_padded) {
            out[o++] = '=';
        }
        if (is_padded) {
            out[o++] = '=';
        }
    }
    out[o] = '\0';
    return out;
}

char *pg_b64_encode_url(const unsigned char *in, size_t in_len)
{
    return encode(in, in_len, alphabet_url, 0);
}

char *pg_b64_encode_std(const unsigned char *in, size_t in_len)
{
    return encode(in, in_len, alphabet_std, 1);
}
