/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pullgate serve.
 */
#include <stdio.h>

#include "commands.h"

int pg_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "pullgate serve: not built yet\n");
    return 2;
}
