/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The version string, set by the build.
 */
#include "version.h"

const char *pg_version(void)
{
    return PG_VERSION_STRING;
}
