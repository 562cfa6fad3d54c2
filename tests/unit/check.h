/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small test harness: each test is a claim that can fail. CHECK records a
 * failure with its file and line and goes on; REQUIRE stops the test.
 *
 *     static void expired_is_denied(void) { CHECK(rc == PG_ERR_SIG_EXPIRED); }
 *     int main(void) { PG_RUN("expired signature is denied", expired_is_denied);
 *                      return pg_check_done(); }
 */
#ifndef PG_CHECK_H
#define PG_CHECK_H

#include <stddef.h>

void pg_check_fail(const char *file, int line, const char *expr);
int pg_check_failed_now(void);
void pg_check_run(const char *claim, void (*fn)(void));
/* Prints a summary; returns the process exit code (0 when all passed). */
int pg_check_done(void);

/* $PG_VECTORS/<rel>, or NULL when PG_VECTORS is unset; free with pg_free. */
char *pg_check_vector(const char *rel);
/* Reads a whole file; returns NULL on error. Free with pg_free. */
unsigned char *pg_check_read_file(const char *path, size_t *out_len);
/* Writes len bytes to path; 1 on success. */
int pg_check_write_file(const char *path, const void *data, size_t len);
/* mkdir -p path; 1 on success. */
int pg_check_make_dirs(const char *path);
/* A fresh temporary directory (mkdtemp); removed by pg_check_rmtree. */
char *pg_check_tmpdir(void);
void pg_check_rmtree(const char *path);

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            pg_check_fail(__FILE__, __LINE__, #expr);                                              \
        }                                                                                          \
    } while (0)

#define REQUIRE(expr)                                                                              \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            pg_check_fail(__FILE__, __LINE__, #expr);                                              \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define PG_RUN(claim, fn) pg_check_run((claim), (fn))

#endif
