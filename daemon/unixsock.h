/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unix socket files pullgate creates: clearing a stale one left by a process
 * that died, without ever removing a live socket or a file that is no socket.
 */
#ifndef PG_UNIXSOCK_H
#define PG_UNIXSOCK_H

#include "status.h"

/*
 * Removes the socket at path when nobody accepts connections on it. Nothing
 * there is fine. A live socket, or a file that is not a socket, is an error
 * naming `what` ("listen path", "metrics socket").
 */
enum pg_status pg_unixsock_clear_stale(const char *path, const char *what, struct pg_err *err);

#endif
