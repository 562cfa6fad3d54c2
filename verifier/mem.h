/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation wrappers. All project code allocates through these so a test can
 * make the n-th allocation fail and prove that out-of-memory is an ordinary
 * error, never a crash.
 */
#ifndef PG_MEM_H
#define PG_MEM_H

#include <stddef.h>

void *pg_malloc(size_t n);
void *pg_calloc(size_t count, size_t size);
void *pg_realloc(void *p, size_t n);
char *pg_strdup(const char *s);
char *pg_strndup(const char *s, size_t n);
/* printf into a new string; NULL on failure. */
char *pg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pg_free(void *p);

/*
 * Test hook: after `n` more successful allocations, every allocation fails
 * until it is reset with a negative n. Process-wide; tests only.
 */
void pg_mem_fail_after(long n);

#endif
