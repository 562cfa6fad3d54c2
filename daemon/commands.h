/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The subcommands of the pullgate executable. Each takes the arguments after
 * its name (argv[0] is the subcommand) and returns the process exit code:
 * 0 success, 1 a negative result (not verified, invalid), 2 a usage or
 * configuration error.
 */
#ifndef PG_COMMANDS_H
#define PG_COMMANDS_H

int pg_cmd_serve(int argc, char **argv);
int pg_cmd_verify(int argc, char **argv);
int pg_cmd_policy(int argc, char **argv);
int pg_cmd_config(int argc, char **argv);

#endif
