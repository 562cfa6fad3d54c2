/* SPDX-License-Identifier: Apache-2.0 */
/* The version of pullgate. */
#ifndef PG_VERSION_H
#define PG_VERSION_H

#ifndef PG_VERSION_STRING
#define PG_VERSION_STRING "0.1.0"
#endif

const char *pg_version(void);

#endif
