/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unix socket files pullgate creates: clearing a stale one left by a process
 * that died, without ever removing a live socket or a file that is no socket;
 * and probing whether a socket, such as the runtime's, accepts connections.
 */
#ifndef PG_UNIXSOCK_H
#define PG_UNIXSOCK_H

#include "status.h"

/*
 * Removes the socket at path when nobody accepts connections on it. Nothing
 * there is fine, when the directory it goes in exists. A live socket, a file
 * that is not a socket, or a missing directory is an error naming `what`
 * ("listen path", "metrics socket").
 */
enum pg_status pg_unixsock_clear_stale(const char *path, const char *what, struct pg_err *err);

/*
 * Connects to the socket at path and hangs up: 0 when something accepts
 * there, else the errno of the failure (ENOENT, ECONNREFUSED, ...).
 */
int pg_unixsock_probe(const char *path);

#endif
