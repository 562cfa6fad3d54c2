/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the log sinks (verifier/log.c): the fields of a journal entry,
 * captured through pg_log_set_journal_sink instead of journald, the stderr
 * form with its "<N>" prefix, the level filter, and the choice between them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "mem.h"

#define CAPTURE_MAX 64
#define FIELD_MAX 512

static char g_fields[CAPTURE_MAX][FIELD_MAX];
static int g_n_fields;
static int g_n_entries;
static int g_sink_result;
static char *g_dir;

static int capture(const struct iovec *iov, int n)
{
    g_n_entries++;
    g_n_fields = 0;
    for (int i = 0; i < n && i < CAPTURE_MAX; i++) {
        snprintf(g_fields[i], FIELD_MAX, "%.*s", (int)iov[i].iov_len,
                 (const char *)iov[i].iov_base);
        g_n_fields++;
    }
    return g_sink_result;
}

static void reset(int use_journal)
{
    g_n_fields = 0;
    g_n_entries = 0;
    g_sink_result = 0;
    pg_log_set_level(LOG_INFO);
    pg_log_use_journal(use_journal);
    pg_log_set_journal_sink(capture);
}

static int has_field(const char *field)
{
    for (int i = 0; i < g_n_fields; i++) {
        if (strcmp(g_fields[i], field) == 0) {
            return 1;
        }
    }
    return 0;
}

/* journald accepts A-Z, 0-9 and '_', at most 64 bytes, not starting with '_' or a digit. */
static int is_journal_name(const char *field)
{
    const char *eq = strchr(field, '=');
    size_t n = eq != NULL ? (size_t)(eq - field) : 0;

    if (n == 0 || n > 64 || field[0] == '_' || isdigit((unsigned char)field[0])) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isupper((unsigned char)field[i]) && !isdigit((unsigned char)field[i]) &&
            field[i] != '_') {
            return 0;
        }
    }
    return 1;
}

static void decision_entry_carries_its_fields(void)
{
    const char *fields[] = {"PULLGATE_DECISION=deny", "PULLGATE_IMAGE=reg.test/app:1",
                            "PULLGATE_REASON=no_signature", NULL};

    reset(1);
    pg_log_fields(LOG_WARNING, "decision=deny image=\"reg.test/app:1\"", fields);
    CHECK(g_n_entries == 1);
    CHECK(has_field("MESSAGE=decision=deny image=\"reg.test/app:1\""));
    CHECK(has_field("PRIORITY=4"));
    CHECK(has_field("SYSLOG_IDENTIFIER=pullgate"));
    CHECK(has_field("PULLGATE_DECISION=deny"));
    CHECK(has_field("PULLGATE_IMAGE=reg.test/app:1"));
    CHECK(has_field("PULLGATE_REASON=no_signature"));
    CHECK(g_n_fields == 6);
    for (int i = 0; i < g_n_fields; i++) {
        CHECK(is_journal_name(g_fields[i]));
    }
}

static void plain_message_is_formatted_with_priority(void)
{
    reset(1);
    pg_log(LOG_ERR, "serve: %s failed %d times", "reload", 3);
    CHECK(g_n_entries == 1);
    CHECK(has_field("MESSAGE=serve: reload failed 3 times"));
    CHECK(has_field("PRIORITY=3"));
    CHECK(has_field("SYSLOG_IDENTIFIER=pullgate"));
}

static void level_filter_drops_lower_priorities(void)
{
    reset(1);
    pg_log(LOG_DEBUG, "not wanted");
    CHECK(g_n_entries == 0);
    pg_log_set_level(LOG_DEBUG);
    pg_log(LOG_DEBUG, "wanted");
    CHECK(g_n_entries == 1 && has_field("PRIORITY=7"));
    pg_log_set_level(LOG_ERR);
    pg_log(LOG_WARNING, "not wanted");
    CHECK(g_n_entries == 1);
}

static void too_many_fields_are_cut(void)
{
    const char *fields[41];

    for (int i = 0; i < 40; i++) {
        fields[i] = "PULLGATE_X=1";
    }
    fields[40] = NULL;
    reset(1);
    pg_log_fields(LOG_INFO, "many", fields);
    CHECK(g_n_entries == 1);
    CHECK(g_n_fields == 32 + 3);
}

/* Runs fn with stderr sent to a file; returns what was written. Free with pg_free. */
static char *capture_stderr(void (*fn)(void))
{
    char *path = pg_asprintf("%s/stderr.txt", g_dir);
    char *text = NULL;
    size_t len = 0;
    int saved = dup(STDERR_FILENO);

    fflush(stderr);
    if (path != NULL && saved >= 0 && freopen(path, "w", stderr) != NULL) {
        fn();
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        text = (char *)pg_check_read_file(path, &len);
    }
    if (saved >= 0) {
        close(saved);
    }
    pg_free(path);
    return text;
}

static void log_warning_with_field(void)
{
    const char *fields[] = {"PULLGATE_DECISION=deny", NULL};

    pg_log_fields(LOG_WARNING, "decision=deny", fields);
}

static void stderr_gets_prefix_and_message_only(void)
{
    char *text;

    reset(0);
    text = capture_stderr(log_warning_with_field);
    CHECK(text != NULL && strcmp(text, "<4>decision=deny\n") == 0);
    CHECK(g_n_entries == 0);
    pg_free(text);
}

static void journal_failure_falls_back_to_stderr(void)
{
    char *text;

    reset(1);
    g_sink_result = -1;
    text = capture_stderr(log_warning_with_field);
    CHECK(g_n_entries == 1);
    CHECK(text != NULL && strcmp(text, "<4>decision=deny\n") == 0);
    pg_free(text);
}

/* In a child, since the choice is made once: 0 journal, 1 stderr, else error. */
static int child_sink_choice(int with_stream)
{
    pid_t pid;
    int status = 0;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        pg_log_use_journal(-1);
        if (with_stream) {
            setenv("JOURNAL_STREAM", "8:12345", 1);
        } else {
            unsetenv("JOURNAL_STREAM");
        }
        g_n_entries = 0;
        pg_log_set_journal_sink(capture);
        if (freopen("/dev/null", "w", stderr) == NULL) {
            _exit(3);
        }
        pg_log(LOG_ERR, "choice");
        _exit(g_n_entries == 1 ? 0 : 1);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

static void journal_stream_selects_the_journal(void)
{
    CHECK(child_sink_choice(1) == 0);
    CHECK(child_sink_choice(0) == 1);
}

int main(void)
{
    g_dir = pg_check_tmpdir();
    PG_RUN("a decision entry carries MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and its fields",
           decision_entry_carries_its_fields);
    PG_RUN("pg_log formats the message and sends its priority",
           plain_message_is_formatted_with_priority);
    PG_RUN("messages below the level are dropped", level_filter_drops_lower_priorities);
    PG_RUN("fields beyond the bound are cut, not overflowed", too_many_fields_are_cut);
    PG_RUN("stderr gets the <N> prefix and the message only", stderr_gets_prefix_and_message_only);
    PG_RUN("a journald failure falls back to stderr", journal_failure_falls_back_to_stderr);
    PG_RUN("JOURNAL_STREAM selects the journal, its absence stderr",
           journal_stream_selects_the_journal);
    pg_log_set_journal_sink(NULL);
    pg_check_rmtree(g_dir);
    pg_free(g_dir);
    return pg_check_done();
}
