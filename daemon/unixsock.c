/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stale socket removal shared by the CRI listener and the metrics listener.
 * Creating and serving the sockets stays with their owners.
 */
#include "unixsock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define ESC_MAX 256

int pg_unixsock_probe(const char *path)
{
    struct sockaddr_un sa;
    int fd;
    int rc;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        return ENAMETOOLONG;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return errno;
    }
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

/*
 * Whether the directory of path is there for a socket to be made in, so a
 * missing one is said plainly before any listener tries to bind.
 */
static enum pg_status dir_exists(const char *path, const char *what, const char *esc,
                                 struct pg_err *err)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    struct stat st;

    if (slash == NULL || slash == path || (size_t)(slash - path) >= sizeof(dir)) {
        return PG_OK; /* the working directory, or /: there */
    }
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (stat(dir, &st) != 0) {
        return errno == ENOENT ? pg_err_set(err, PG_ERR_CONFIG,
                                            "%s \"%s\": its directory does not exist", what, esc)
                               : pg_err_set(err, PG_ERR_CONFIG, "%s \"%s\": its directory: %s",
                                            what, esc, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return pg_err_set(err, PG_ERR_CONFIG, "%s \"%s\": its directory is not a directory", what,
                          esc);
    }
    return PG_OK;
}

enum pg_status pg_unixsock_clear_stale(const char *path, const char *what, struct pg_err *err)
{
    char esc[ESC_MAX];
    struct stat st;
    int probe;

    pg_escape(esc, sizeof(esc), path, strlen(path));
    if (lstat(path, &st) != 0) {
        return dir_exists(path, what, esc, err);
    }
    if (!S_ISSOCK(st.st_mode)) {
        return pg_err_set(err, PG_ERR_CONFIG, "%s \"%s\" exists and is not a socket", what, esc);
    }
    probe = pg_unixsock_probe(path);
    if (probe == ENAMETOOLONG) {
        return pg_err_set(err, PG_ERR_CONFIG, "%s \"%s\" is too long for a socket", what, esc);
    }
    if (probe == 0) {
        return pg_err_set(err, PG_ERR_CONFIG, "%s \"%s\" is in use by another process", what, esc);
    }
    if (probe != ECONNREFUSED && probe != ENOENT) {
        /* Only a refused connection proves nobody serves there. */
        return pg_err_set(err, PG_ERR_IO, "cannot tell whether \"%s\" is in use: %s", esc,
                          strerror(probe));
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        return pg_err_set(err, PG_ERR_IO, "cannot remove stale socket \"%s\": %s", esc,
                          strerror(errno));
    }
    pg_log(LOG_INFO, "removed stale socket \"%s\"", esc);
    return PG_OK;
}
