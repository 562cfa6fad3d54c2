/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Status names and the first-cause-wins error record. Callers decide what a
 * status means for a pull; this file only formats and keeps messages.
 */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#define PG_STATUS_NAME(c, n) n,
static const char *const status_names[] = {PG_STATUS_LIST(PG_STATUS_NAME)};
#undef PG_STATUS_NAME

const char *pg_status_name(enum pg_status st)
{
    if ((int)st < 0 || st >= PG_STATUS_COUNT) {
        return "unknown";
    }
    return status_names[st];
}

void pg_err_init(struct pg_err *err)
{
    if (err != NULL) {
        err->status = PG_OK;
        err->msg[0] = '\0';
    }
}

void pg_err_clear(struct pg_err *err)
{
    pg_err_init(err);
}

static enum pg_status set_va(struct pg_err *err, enum pg_status st, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static enum pg_status set_va(struct pg_err *err, enum pg_status st, const char *fmt, va_list ap)
{
    if (err == NULL || err->status != PG_OK) {
        return st;
    }
    err->status = st;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return st;
}

enum pg_status pg_err_set(struct pg_err *err, enum pg_status st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_va(err, st, fmt, ap);
    va_end(ap);
    return st;
}

enum pg_status pg_err_set_ssl(struct pg_err *err, enum pg_status st, const char *fmt, ...)
{
    va_list ap;
    unsigned long code;
    size_t used;

    if (err == NULL || err->status != PG_OK) {
        ERR_clear_error();
        return st;
    }
    va_start(ap, fmt);
    set_va(err, st, fmt, ap);
    va_end(ap);
    code = ERR_peek_last_error();
    used = strlen(err->msg);
    if (code != 0 && used + 3 < sizeof(err->msg)) {
        snprintf(err->msg + used, sizeof(err->msg) - used, ": ");
        ERR_error_string_n(code, err->msg + used + 2, sizeof(err->msg) - used - 2);
    }
    ERR_clear_error();
    return st;
}

char *pg_escape(char *dst, size_t dst_len, const char *src, size_t src_len)
{
    size_t o = 0;
    size_t i;

    if (dst_len == 0) {
        return dst;
    }
    if (src == NULL) {
        src = "";
        src_len = 0;
    }
    for (i = 0; i < src_len; i++) {
        unsigned char c = (unsigned char)src[i];
        char tmp[5];
        size_t n;

        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            n = 2;
        } else if (c >= 0x20 && c < 0x7f) {
            tmp[0] = (char)c;
            n = 1;
        } else {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            n = 4;
        }
        if (o + n + 4 > dst_len) {
            if (dst_len >= 4) {
                o = o < dst_len - 4 ? o : dst_len - 4;
                memcpy(dst + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(dst + o, tmp, n);
        o += n;
    }
    dst[o] = '\0';
    return dst;
}
