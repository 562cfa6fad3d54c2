/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation wrappers with a failure-injection hook for tests. Nothing else:
 * ownership rules live with each module.
 */
#include "mem.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = -1;

static int should_fail(void)
{
    long cur = atomic_load(&fail_countdown);

    while (cur >= 0) {
        if (cur == 0) {
            return 1;
        }
        if (atomic_compare_exchange_weak(&fail_countdown, &cur, cur - 1)) {
            return 0;
        }
    }
    return 0;
}

void pg_mem_fail_after(long n)
{
    atomic_store(&fail_countdown, n < 0 ? -1 : n);
}

void *pg_malloc(size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return malloc(n == 0 ? 1 : n);
}

void *pg_calloc(size_t count, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    if (count == 0 || size == 0) {
        count = 1;
        size = 1;
    }
    return calloc(count, size);
}

void *pg_realloc(void *p, size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return realloc(p, n == 0 ? 1 : n);
}

char *pg_strndup(const char *s, size_t n)
{
    char *d;

    if (s == NULL) {
        return NULL;
    }
    d = pg_malloc(n + 1);
    if (d == NULL) {
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *pg_strdup(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    return pg_strndup(s, strlen(s));
}

char *pg_asprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    s = pg_malloc((size_t)n + 1);
    if (s == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void pg_free(void *p)
{
    free(p);
}
