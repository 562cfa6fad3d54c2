/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Log sinks: journald through sd_journal_sendv, or stderr with sd-daemon
 * style "<N>" prefixes. What to log, and how often, is the callers' business.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* CODE_FILE= and CODE_LINE= would always name this file, which says nothing. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#define LOG_FIELDS_MAX 32
#define LOG_FIXED_FIELDS 3 /* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER */

static atomic_int log_level = LOG_INFO;
static atomic_int use_journal = -1;
static _Atomic(pg_log_journal_sink_fn) journal_sink; /* NULL: sd_journal_sendv */

void pg_log_set_level(int priority)
{
    atomic_store(&log_level, priority);
}

int pg_log_get_level(void)
{
    return atomic_load(&log_level);
}

int pg_log_enabled(int priority)
{
    return priority <= atomic_load(&log_level);
}

int pg_log_parse_level(const char *name)
{
    static const struct {
        const char *name;
        int prio;
    } levels[] = {
        {"error", LOG_ERR}, {"warning", LOG_WARNING}, {"info", LOG_INFO}, {"debug", LOG_DEBUG}};
    size_t i;

    for (i = 0; name != NULL && i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcmp(name, levels[i].name) == 0) {
            return levels[i].prio;
        }
    }
    return -1;
}

void pg_log_use_journal(int on)
{
    atomic_store(&use_journal, on < 0 ? -1 : on ? 1 : 0);
}

static int journal_wanted(void)
{
    int v = atomic_load(&use_journal);

    if (v < 0) {
        v = getenv("JOURNAL_STREAM") != NULL ? 1 : 0;
        atomic_store(&use_journal, v);
    }
    return v;
}

void pg_log_set_journal_sink(pg_log_journal_sink_fn sink)
{
    atomic_store(&journal_sink, sink);
}

static int journal_send(const struct iovec *iov, int n)
{
    pg_log_journal_sink_fn sink = atomic_load(&journal_sink);

    return sink != NULL ? sink(iov, n) : sd_journal_sendv(iov, n);
}

void pg_log_fields(int priority, const char *message, const char *const *fields)
{
    static const char ident_field[] = "SYSLOG_IDENTIFIER=pullgate";
    struct iovec iov[LOG_FIELDS_MAX + LOG_FIXED_FIELDS];
    char prio_field[32];
    char *msg_field = NULL;
    int n = 0;

    if (!pg_log_enabled(priority)) {
        return;
    }
    if (!journal_wanted()) {
        fprintf(stderr, "<%d>%s\n", priority, message);
        return;
    }
    msg_field = malloc(strlen(message) + sizeof("MESSAGE="));
    if (msg_field == NULL) {
        fprintf(stderr, "<%d>%s\n", priority, message);
        return;
    }
    strcpy(msg_field, "MESSAGE=");
    strcat(msg_field, message);
    snprintf(prio_field, sizeof(prio_field), "PRIORITY=%d", priority);
    iov[n].iov_base = msg_field;
    iov[n++].iov_len = strlen(msg_field);
    iov[n].iov_base = prio_field;
    iov[n++].iov_len = strlen(prio_field);
    /* SyslogIdentifier= of the unit tags only stdout, not native entries. */
    iov[n].iov_base = (void *)ident_field;
    iov[n++].iov_len = sizeof(ident_field) - 1;
    for (size_t i = 0; fields != NULL && fields[i] != NULL && n < LOG_FIELDS_MAX + LOG_FIXED_FIELDS;
         i++) {
        iov[n].iov_base = (void *)fields[i];
        iov[n++].iov_len = strlen(fields[i]);
    }
    if (journal_send(iov, n) < 0) {
        fprintf(stderr, "<%d>%s\n", priority, message);
    }
    free(msg_field);
}

void pg_log(int priority, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;

    if (!pg_log_enabled(priority)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    pg_log_fields(priority, buf, NULL);
}
