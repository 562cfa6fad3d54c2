/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notation's default configuration directory, where trustpolicy.json,
 * truststore/ and plugins/ live when no directory is given.
 */
#ifndef PG_NOTATION_DIR_H
#define PG_NOTATION_DIR_H

/*
 * $XDG_CONFIG_HOME/notation, else $HOME/.config/notation, as notation picks
 * it on Linux. NULL when neither variable is set. Caller frees (pg_free).
 */
char *pg_notation_default_dir(void);

#endif
