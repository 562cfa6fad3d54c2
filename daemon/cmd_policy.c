/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pullgate policy.
 */
#include <stdio.h>

#include "commands.h"

int pg_cmd_policy(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "pullgate policy: not built yet\n");
    return 2;
}
