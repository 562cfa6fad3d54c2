/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The default notation directory, found the way notation finds it.
 */
#include "notation_dir.h"

#include <stdlib.h>

#include "mem.h"

char *pg_notation_default_dir(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");

    if (xdg != NULL && xdg[0] == '/') {
        return pg_asprintf("%s/notation", xdg);
    }
    if (home != NULL && home[0] != '\0') {
        return pg_asprintf("%s/.config/notation", home);
    }
    return NULL;
}
