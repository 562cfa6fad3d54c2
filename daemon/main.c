/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pullgate command line: picks the subcommand and hands over. Each
 * subcommand lives in its own cmd_*.c file.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "version.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: pullgate <command> [options]\n"
                 "\n"
                 "commands:\n"
                 "  serve          run the CRI proxy (see pullgate serve --help)\n"
                 "  verify REF     verify an image's Notary Project signatures\n"
                 "  policy check   validate the trust policy and its trust stores\n"
                 "  config check   print and validate the configuration serve would use\n"
                 "  version        print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "serve") == 0) {
        return pg_cmd_serve(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "verify") == 0) {
        return pg_cmd_verify(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "policy") == 0) {
        return pg_cmd_policy(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "config") == 0) {
        return pg_cmd_config(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("pullgate %s\n", pg_version());
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "pullgate: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
