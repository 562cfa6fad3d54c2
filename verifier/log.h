/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: to journald with structured PULLGATE_* fields when running under
 * systemd, else to stderr with "<N>" priority prefixes. Priorities are the
 * syslog ones (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). The verifier logs
 * only at debug level; decisions are logged once, by the caller.
 */
#ifndef PG_LOG_H
#define PG_LOG_H

#include <syslog.h>

/* Messages above this priority are dropped. Default LOG_INFO. */
void pg_log_set_level(int priority);
int pg_log_get_level(void);
int pg_log_enabled(int priority);

/* Parses "error", "warning", "info", "debug". Returns -1 if unknown. */
int pg_log_parse_level(const char *name);

/*
 * Selects journald (1) or stderr (0). The default, and -1: journald iff
 * JOURNAL_STREAM is set, decided at the next message.
 */
void pg_log_use_journal(int on);

void pg_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A message with extra journal fields. `fields` is a NULL-terminated array
 * of "NAME=value" strings (NAME made of A-Z, 0-9, _). On stderr only the
 * message is printed.
 */
void pg_log_fields(int priority, const char *message, const char *const *fields);

/*
 * For tests: journal entries (each a MESSAGE=, PRIORITY=, SYSLOG_IDENTIFIER=
 * and the caller's fields) go to sink instead of sd_journal_sendv. A negative
 * return makes the message fall back to stderr, as a journald error does.
 * NULL restores journald.
 */
struct iovec;
typedef int (*pg_log_journal_sink_fn)(const struct iovec *iov, int n);
void pg_log_set_journal_sink(pg_log_journal_sink_fn sink);

#endif
