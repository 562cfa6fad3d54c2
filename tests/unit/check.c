/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The test harness behind check.h: counting, reporting and a few file helpers.
 */
#include "check.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"

static int tests_run;
static int tests_failed;
static int current_failed;

void pg_check_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "    %s:%d: check failed: %s\n", file, line, expr);
    current_failed = 1;
}

int pg_check_failed_now(void)
{
    return current_failed;
}

void pg_check_run(const char *claim, void (*fn)(void))
{
    current_failed = 0;
    fn();
    tests_run++;
    if (current_failed) {
        tests_failed++;
    }
    fprintf(stderr, "%s: %s\n", current_failed ? "FAIL" : "ok  ", claim);
}

int pg_check_done(void)
{
    fprintf(stderr, "%d tests, %d failed\n", tests_run, tests_failed);
    return tests_failed == 0 ? 0 : 1;
}

char *pg_check_vector(const char *rel)
{
    const char *base = getenv("PG_VECTORS");
    const char *src = getenv("PG_SOURCE_DIR");

    if (base != NULL && base[0] != '\0') {
        return pg_asprintf("%s/%s", base, rel);
    }
    if (src != NULL && src[0] != '\0') {
        return pg_asprintf("%s/tests/vectors/%s", src, rel);
    }
    return NULL;
}

int pg_check_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;

    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    return ok;
}

int pg_check_make_dirs(const char *path)
{
    char buf[1024];
    size_t i;

    snprintf(buf, sizeof(buf), "%s", path);
    for (i = 1; buf[i] != '\0'; i++) {
        if (buf[i] == '/') {
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                return 0;
            }
            buf[i] = '/';
        }
    }
    return mkdir(buf, 0755) == 0 || errno == EEXIST;
}

unsigned char *pg_check_read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = pg_malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        pg_free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        *out_len = (size_t)n;
    }
    return buf;
}

char *pg_check_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = pg_asprintf("%s/pgtest.XXXXXX", base != NULL ? base : "/tmp");

    if (tmpl != NULL && mkdtemp(tmpl) == NULL) {
        pg_free(tmpl);
        return NULL;
    }
    return tmpl;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void pg_check_rmtree(const char *path)
{
    if (path != NULL) {
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}
