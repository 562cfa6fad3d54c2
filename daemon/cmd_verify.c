/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pullgate verify.
 */
#include <stdio.h>

#include "commands.h"

int pg_cmd_verify(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "pullgate verify: not built yet\n");
    return 2;
}
