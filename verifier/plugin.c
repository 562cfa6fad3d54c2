/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verification plugins as notation runs them: the executable found under
 * <plugins_dir>/<name>/, started without a shell in its own process group
 * with a clean environment, fed its request on stdin and given a bounded
 * time and bounded output; get-plugin-metadata, SemVer precedence, the
 * verify-signature request and the checks on its response. sigverify.c
 * decides when a plugin runs and what its verdict means.
 */
#include "plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "b64.h"
#include "log.h"
#include "mem.h"

#define NAME_MAX_LEN 200
#define ENV_MAX 64
#define TEXT_MAX 300
#define POLL_SLICE_MS 100
#define CONTRACT_VERSION "1.0"
#define ZERO_TIME "0001-01-01T00:00:00Z"

/* ---- the executable ------------------------------------------------------ */

static int is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '-' || ch == '_';
}

/* A plugin name becomes a directory and file name: no '/', no "." or "..". */
static enum pg_status check_name(const char *name, struct pg_err *err)
{
    size_t n = strlen(name);
    size_t i;

    for (i = 0; i < n && is_name_char(name[i]); i++) {
    }
    if (n == 0 || n > NAME_MAX_LEN || i < n || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        char esc[TEXT_MAX];

        return pg_err_set(err, PG_ERR_PLUGIN,
                          "verification plugin name \"%s\" is not a usable name (letters, digits, "
                          "'.', '-' and '_' only)",
                          pg_escape(esc, sizeof(esc), name, n));
    }
    return PG_OK;
}

/*
 * Opens the executable without following a final symbolic link, so the
 * file checked is the file run (fexecve on the descriptor).
 */
static enum pg_status open_executable(const struct pg_plugin_options *o, const char *name,
                                      int *out_fd, struct pg_err *err)
{
    char *path = pg_asprintf("%s/%s/notation-%s", o->plugins_dir, name, name);
    struct stat st;
    enum pg_status rc = PG_OK;
    int fd = -1;

    if (path == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory locating a plugin");
    }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
        rc = pg_err_set(err, PG_ERR_PLUGIN,
                        "verification plugin \"%s\" is not installed: %s "
                        "does not exist",
                        name, path);
    } else if (fd < 0 && errno == ELOOP) {
        rc = pg_err_set(err, PG_ERR_PLUGIN,
                        "verification plugin \"%s\": %s is a symbolic link, "
                        "which is refused",
                        name, path);
    } else if (fd < 0) {
        rc = pg_err_set(err, PG_ERR_PLUGIN, "verification plugin \"%s\": cannot open %s: %s", name,
                        path, strerror(errno));
    } else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & S_IXUSR) == 0) {
        rc = pg_err_set(err, PG_ERR_PLUGIN,
                        "verification plugin \"%s\": %s is not a regular "
                        "file with the owner-execute bit",
                        name, path);
    }
    if (rc == PG_OK) {
        *out_fd = fd;
        fd = -1;
    }
    if (fd >= 0) {
        close(fd);
    }
    pg_free(path);
    return rc;
}

/* ---- the environment ----------------------------------------------------- */

struct env {
    char *items[ENV_MAX + 1];
    size_t n;
};

/* Environment entries may carry credentials: wiped before they are freed. */
static void env_free(struct env *e)
{
    size_t i;

    for (i = 0; i < e->n; i++) {
        if (e->items[i] != NULL) {
            OPENSSL_cleanse(e->items[i], strlen(e->items[i]));
            pg_free(e->items[i]);
        }
    }
    e->n = 0;
}

static int env_add(struct env *e, const char *name, const char *value)
{
    char *item;

    if (e->n >= ENV_MAX) {
        return 1; /* the rest are left out */
    }
    item = pg_asprintf("%s=%s", name, value);
    if (item == NULL) {
        return 0;
    }
    e->items[e->n++] = item;
    e->items[e->n] = NULL;
    return 1;
}

/*
 * PATH fixed, HOME when set (plugins find their own configuration and
 * credentials files through it), and each allow-listed variable that is set.
 */
static enum pg_status env_build(const char *allow, struct env *e, struct pg_err *err)
{
    const char *p = allow != NULL ? allow : "";
    const char *home = getenv("HOME");
    int ok = 1;

    memset(e, 0, sizeof(*e));
    e->items[e->n++] = pg_strdup(PG_PLUGIN_PATH);
    ok = e->items[0] != NULL && (home == NULL || env_add(e, "HOME", home));
    while (ok && *p != '\0') {
        size_t n = strcspn(p, ",");
        char name[128];
        const char *value;

        if (n > 0 && n < sizeof(name)) {
            memcpy(name, p, n);
            name[n] = '\0';
            value = strcmp(name, "PATH") == 0 || strcmp(name, "HOME") == 0 ? NULL : getenv(name);
            ok = value == NULL || env_add(e, name, value);
        }
        p += n + (p[n] == ',');
    }
    if (!ok) {
        env_free(e);
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory preparing a plugin's environment");
    }
    return PG_OK;
}

/* ---- running one command ------------------------------------------------- */

struct stream {
    int fd;
    char *data;
    size_t len;
    size_t cap;
};

struct run {
    const char *name;
    const char *command;
    pid_t pid;
    int in_fd; /* our end of the plugin's stdin (a socket: no SIGPIPE) */
    const char *input;
    size_t input_len;
    size_t input_off;
    struct stream out;
    struct stream errs;
    int64_t end_ms;
    int is_deadline_bound; /* end_ms comes from the request's deadline */
    const struct pg_deadline *deadline;
    int status; /* wait status */
};

/* In the child: async-signal-safe calls only, then fexecve. */
static void child_exec(int exe_fd, int in_fd, int out_fd, int err_fd, char *const argv[],
                       char *const envp[])
{
    sigset_t none;

    setpgid(0, 0);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0 || dup2(exe_fd, 3) < 0) {
        _exit(126);
    }
    close_range(4, ~0U, 0);
    fcntl(3, F_SETFD, 0); /* a script's interpreter opens it through /dev/fd/3 */
    fexecve(3, argv, envp);
    _exit(127);
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static enum pg_status start_plugin(struct run *r, int exe_fd, const char *path, const struct env *e,
                                   struct pg_err *err)
{
    int sv[2] = {-1, -1};
    int out[2] = {-1, -1};
    int errp[2] = {-1, -1};
    char *argv[3];
    enum pg_status rc = PG_OK;

    argv[0] = (char *)path;
    argv[1] = (char *)r->command;
    argv[2] = NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
        pipe2(errp, O_CLOEXEC) != 0) {
        rc = pg_err_set(err, PG_ERR_PLUGIN, "cannot create pipes for plugin \"%s\": %s", r->name,
                        strerror(errno));
        goto out;
    }
    r->pid = fork();
    if (r->pid == 0) {
        child_exec(exe_fd, sv[1], out[1], errp[1], argv, e->items);
    }
    if (r->pid < 0) {
        rc = pg_err_set(err, PG_ERR_PLUGIN, "cannot start plugin \"%s\": %s", r->name,
                        strerror(errno));
        goto out;
    }
    r->in_fd = sv[0];
    r->out.fd = out[0];
    r->errs.fd = errp[0];
    sv[0] = out[0] = errp[0] = -1;
    fcntl(r->in_fd, F_SETFL, O_NONBLOCK);
    fcntl(r->out.fd, F_SETFL, O_NONBLOCK);
    fcntl(r->errs.fd, F_SETFL, O_NONBLOCK);
out:
    close_fd(&sv[0]);
    close_fd(&sv[1]);
    close_fd(&out[0]);
    close_fd(&out[1]);
    close_fd(&errp[0]);
    close_fd(&errp[1]);
    return rc;
}

/* Reads what is there; 0 on EOF, 1 to go on, -1 when over the bound. */
static int drain(struct stream *s)
{
    char buf[16384];

    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof(buf));

        if (n == 0) {
            close_fd(&s->fd);
            return 0;
        }
        if (n < 0) {
            return errno == EAGAIN || errno == EINTR ? 1 : (close_fd(&s->fd), 0);
        }
        if (s->len + (size_t)n > PG_PLUGIN_OUTPUT_MAX) {
            return -1;
        }
        if (s->len + (size_t)n + 1 > s->cap) {
            size_t cap = s->cap == 0 ? 32768 : s->cap;
            char *p;

            while (cap < s->len + (size_t)n + 1) {
                cap *= 2;
            }
            p = pg_realloc(s->data, cap);
            if (p == NULL) {
                return -1;
            }
            s->data = p;
            s->cap = cap;
        }
        memcpy(s->data + s->len, buf, (size_t)n);
        s->len += (size_t)n;
        s->data[s->len] = '\0';
    }
}

static void feed(struct run *r)
{
    while (r->in_fd >= 0 && r->input_off < r->input_len) {
        ssize_t n = send(r->in_fd, r->input + r->input_off, r->input_len - r->input_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        if (n <= 0) {
            close_fd(&r->in_fd); /* the plugin does not read its input */
            return;
        }
        r->input_off += (size_t)n;
    }
    close_fd(&r->in_fd);
}

/* Milliseconds left, 0 when the time is up. */
static int64_t time_left(const struct run *r)
{
    int64_t left = r->end_ms - pg_now_ms();

    if (pg_deadline_left_ms(r->deadline) == 0) {
        return 0;
    }
    return left > 0 ? left : 0;
}

static enum pg_status timed_out(const struct run *r, struct pg_err *err)
{
    if (r->deadline != NULL && r->deadline->cancelled != NULL &&
        atomic_load(r->deadline->cancelled)) {
        return pg_err_set(err, PG_ERR_CANCELLED, "plugin \"%s\" %s: the request was cancelled",
                          r->name, r->command);
    }
    if (r->is_deadline_bound) {
        return pg_err_set(err, PG_ERR_TIMEOUT,
                          "plugin \"%s\" %s: the verification ran out of "
                          "time",
                          r->name, r->command);
    }
    return pg_err_set(err, PG_ERR_PLUGIN, "plugin \"%s\" %s timed out", r->name, r->command);
}

/* Feeds stdin and collects stdout and stderr until both close. */
static enum pg_status pump(struct run *r, struct pg_err *err)
{
    while (r->out.fd >= 0 || r->errs.fd >= 0) {
        struct pollfd p[3];
        int64_t left = time_left(r);
        nfds_t n = 0;
        int i;

        if (left == 0) {
            return timed_out(r, err);
        }
        p[n++] = (struct pollfd){r->out.fd, POLLIN, 0};
        p[n++] = (struct pollfd){r->errs.fd, POLLIN, 0};
        if (r->in_fd >= 0) {
            p[n++] = (struct pollfd){r->in_fd, POLLOUT, 0};
        }
        if (poll(p, n, (int)(left < POLL_SLICE_MS ? left : POLL_SLICE_MS)) < 0 && errno != EINTR) {
            return pg_err_set(err, PG_ERR_PLUGIN, "plugin \"%s\": poll: %s", r->name,
                              strerror(errno));
        }
        feed(r);
        for (i = 0; i < 2; i++) {
            struct stream *s = i == 0 ? &r->out : &r->errs;

            if (s->fd >= 0 && drain(s) < 0) {
                return pg_err_set(err, PG_ERR_PLUGIN,
                                  "plugin \"%s\" %s wrote more than %d bytes "
                                  "to %s",
                                  r->name, r->command, PG_PLUGIN_OUTPUT_MAX,
                                  i == 0 ? "stdout" : "stderr");
            }
        }
    }
    return PG_OK;
}

/* Waits for the exit without reaping, so the process group stays ours. */
static enum pg_status await_exit(struct run *r, struct pg_err *err)
{
    for (;;) {
        siginfo_t info;

        memset(&info, 0, sizeof(info));
        if (waitid(P_PID, (id_t)r->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == r->pid) {
            return PG_OK;
        }
        if (time_left(r) == 0) {
            return timed_out(r, err);
        }
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
}

/* Kills whatever is left of the process group and reaps the plugin. */
static void finish(struct run *r)
{
    if (r->pid > 0) {
        kill(-r->pid, SIGKILL);
        kill(r->pid, SIGKILL);
        while (waitpid(r->pid, &r->status, 0) < 0 && errno == EINTR) {
        }
        r->pid = -1;
    }
    close_fd(&r->in_fd);
    close_fd(&r->out.fd);
    close_fd(&r->errs.fd);
}

static void bound_time(struct run *r, const struct pg_plugin_options *o)
{
    int64_t limit = o->timeout_ms > 0 ? o->timeout_ms : PG_PLUGIN_DEFAULT_TIMEOUT_MS;
    int64_t left = pg_deadline_left_ms(o->deadline);

    r->deadline = o->deadline;
    r->end_ms = pg_now_ms() + limit;
    if (left >= 0 && left < limit) {
        r->end_ms = pg_now_ms() + left;
        r->is_deadline_bound = 1;
    }
}

/* The failure of a plugin that exited non-zero, with its error JSON if any. */
static enum pg_status exit_failure(const struct run *r, struct pg_err *err)
{
    json_t *ej = NULL;
    const char *code = NULL;
    const char *message = NULL;
    char a[TEXT_MAX];
    enum pg_status rc;

    if (WIFSIGNALED(r->status)) {
        return pg_err_set(err, PG_ERR_PLUGIN, "plugin \"%s\" %s was killed by signal %d", r->name,
                          r->command, WTERMSIG(r->status));
    }
    if (r->errs.len > 0) {
        ej = json_loadb(r->errs.data, r->errs.len, 0, NULL);
        code = json_string_value(json_object_get(ej, "errorCode"));
        message = json_string_value(json_object_get(ej, "errorMessage"));
    }
    if (code != NULL || message != NULL) {
        char b[TEXT_MAX];

        rc = pg_err_set(
            err, PG_ERR_PLUGIN, "plugin \"%s\" %s failed (exit %d): %s: %s", r->name, r->command,
            WEXITSTATUS(r->status),
            pg_escape(a, sizeof(a), code != NULL ? code : "", code ? strlen(code) : 0),
            pg_escape(b, sizeof(b), message != NULL ? message : "", message ? strlen(message) : 0));
    } else {
        rc = pg_err_set(
            err, PG_ERR_PLUGIN, "plugin \"%s\" %s failed (exit %d)%s%s", r->name, r->command,
            WEXITSTATUS(r->status), r->errs.len > 0 ? ": " : "",
            pg_escape(a, sizeof(a), r->errs.data != NULL ? r->errs.data : "", r->errs.len));
    }
    json_decref(ej);
    return rc;
}

static enum pg_status parse_output(const struct run *r, json_t **out_response, struct pg_err *err)
{
    json_error_t jerr;
    json_t *resp;

    resp =
        r->out.len > 0 ? json_loadb(r->out.data, r->out.len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (resp == NULL || !json_is_object(resp)) {
        char esc[TEXT_MAX];

        json_decref(resp);
        return pg_err_set(
            err, PG_ERR_PLUGIN, "plugin \"%s\" %s wrote no json object: %s", r->name, r->command,
            r->out.len == 0 ? "empty output"
                            : pg_escape(esc, sizeof(esc), jerr.text, strlen(jerr.text)));
    }
    *out_response = resp;
    return PG_OK;
}

static enum pg_status run_command(struct run *r, const struct pg_plugin_options *o, int exe_fd,
                                  const char *path, struct pg_err *err)
{
    struct env e;
    enum pg_status rc;

    rc = env_build(o->env_allow, &e, err);
    if (rc != PG_OK) {
        return rc;
    }
    bound_time(r, o);
    rc = start_plugin(r, exe_fd, path, &e, err);
    env_free(&e);
    if (rc == PG_OK) {
        rc = pump(r, err);
    }
    if (rc == PG_OK) {
        rc = await_exit(r, err);
    }
    finish(r);
    return rc;
}

enum pg_status pg_plugin_run(const struct pg_plugin_options *o, const char *name,
                             const char *command, const json_t *request, json_t **out_response,
                             struct pg_err *err)
{
    struct run r;
    char *input = NULL;
    char *path = NULL;
    int exe_fd = -1;
    enum pg_status rc;

    memset(&r, 0, sizeof(r));
    r.name = name;
    r.command = command;
    r.pid = -1;
    r.in_fd = r.out.fd = r.errs.fd = -1;
    rc = check_name(name, err);
    if (rc == PG_OK) {
        rc = open_executable(o, name, &exe_fd, err);
    }
    if (rc != PG_OK) {
        goto out;
    }
    input = request != NULL ? json_dumps(request, JSON_COMPACT) : pg_strdup("{}");
    path = pg_asprintf("%s/%s/notation-%s", o->plugins_dir, name, name);
    if (input == NULL || path == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory running plugin \"%s\"", name);
        goto out;
    }
    r.input = input;
    r.input_len = strlen(input);
    rc = run_command(&r, o, exe_fd, path, err);
    if (rc == PG_OK && !(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0)) {
        rc = exit_failure(&r, err);
    }
    if (rc == PG_OK) {
        rc = parse_output(&r, out_response, err);
    }
    pg_log(LOG_DEBUG, "plugin \"%s\" %s: %s", name, command, pg_status_name(rc));
out:
    if (exe_fd >= 0) {
        close(exe_fd);
    }
    pg_free(input); /* json_dumps allocates with malloc, as pg_strdup does */
    pg_free(path);
    pg_free(r.out.data);
    pg_free(r.errs.data);
    return rc;
}

/* ---- SemVer 2.0 ---------------------------------------------------------- */

struct span {
    const char *p;
    size_t n;
};

static int is_alnum_dash(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch == '-';
}

static int is_digits(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }
    return n > 0;
}

/* A numeric identifier: "0" or no leading zero. Advances *s. */
static int take_number(const char **s, struct span *out)
{
    const char *p = *s;

    while (*p >= '0' && *p <= '9') {
        p++;
    }
    if (p == *s || (**s == '0' && p - *s > 1)) {
        return 0;
    }
    out->p = *s;
    out->n = (size_t)(p - *s);
    *s = p;
    return 1;
}

/* Dot-separated identifiers up to '+' or the end; numeric ones without leading zeros. */
static int take_idents(const char **s, int is_build, struct span *out)
{
    const char *p = *s;
    const char *start = p;

    for (;;) {
        const char *id = p;

        while (is_alnum_dash(*p)) {
            p++;
        }
        if (p == id || (!is_build && is_digits(id, (size_t)(p - id)) && *id == '0' && p - id > 1)) {
            return 0;
        }
        if (*p != '.') {
            break;
        }
        p++;
    }
    out->p = start;
    out->n = (size_t)(p - start);
    *s = p;
    return 1;
}

static int semver_parse(const char *s, struct span core[3], struct span *pre)
{
    struct span build;
    int i;

    memset(pre, 0, sizeof(*pre));
    for (i = 0; i < 3; i++) {
        if (!take_number(&s, &core[i]) || (i < 2 && *s++ != '.')) {
            return 0;
        }
    }
    if (*s == '-' && (s++, !take_idents(&s, 0, pre))) {
        return 0;
    }
    if (*s == '+' && (s++, !take_idents(&s, 1, &build))) {
        return 0;
    }
    return *s == '\0';
}

int pg_plugin_semver_is_valid(const char *s)
{
    struct span core[3];
    struct span pre;

    return s != NULL && semver_parse(s, core, &pre);
}

static int cmp_numbers(struct span a, struct span b)
{
    if (a.n != b.n) {
        return a.n < b.n ? -1 : 1;
    }
    return memcmp(a.p, b.p, a.n);
}

static int cmp_ident(struct span a, struct span b)
{
    int an = is_digits(a.p, a.n);
    int bn = is_digits(b.p, b.n);
    int c;

    if (an && bn) {
        return cmp_numbers(a, b);
    }
    if (an != bn) {
        return an ? -1 : 1; /* numeric identifiers sort first */
    }
    c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
    return c != 0 ? c : (a.n < b.n ? -1 : (a.n > b.n));
}

static struct span next_ident(struct span *rest)
{
    struct span id = {rest->p, 0};

    while (id.n < rest->n && rest->p[id.n] != '.') {
        id.n++;
    }
    rest->p += id.n + (id.n < rest->n);
    rest->n -= id.n + (id.n < rest->n);
    return id;
}

static int cmp_prerelease(struct span a, struct span b)
{
    if (a.n == 0 || b.n == 0) {
        return a.n == b.n ? 0 : (a.n == 0 ? 1 : -1); /* a release outranks its pre-releases */
    }
    while (a.n > 0 && b.n > 0) {
        int c = cmp_ident(next_ident(&a), next_ident(&b));

        if (c != 0) {
            return c;
        }
    }
    return a.n == b.n ? 0 : (a.n == 0 ? -1 : 1);
}

int pg_plugin_semver_compare(const char *a, const char *b)
{
    struct span ca[3];
    struct span cb[3];
    struct span pa;
    struct span pb;
    int i;

    if (!semver_parse(a, ca, &pa) || !semver_parse(b, cb, &pb)) {
        return strcmp(a, b);
    }
    for (i = 0; i < 3; i++) {
        int c = cmp_numbers(ca[i], cb[i]);

        if (c != 0) {
            return c;
        }
    }
    return cmp_prerelease(pa, pb);
}

/* ---- get-plugin-metadata ------------------------------------------------- */

static int has_string(const json_t *array, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(array, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) {
            return 1;
        }
    }
    return 0;
}

static enum pg_status check_metadata(const char *name, const json_t *m, const char *min_version,
                                     struct pg_plugin_metadata *out, struct pg_err *err)
{
    static const char *const members[] = {"name", "description", "version", "url"};
    const char *got = json_string_value(json_object_get(m, "name"));
    const char *version = json_string_value(json_object_get(m, "version"));
    const json_t *caps = json_object_get(m, "capabilities");
    char esc[TEXT_MAX];
    size_t i;

    for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        const char *v = json_string_value(json_object_get(m, members[i]));

        if (v == NULL || v[0] == '\0') {
            return pg_err_set(err, PG_ERR_PLUGIN, "plugin \"%s\" metadata has no %s", name,
                              members[i]);
        }
    }
    if (strcmp(got, name) != 0) {
        return pg_err_set(err, PG_ERR_PLUGIN,
                          "plugin \"%s\" calls itself \"%s\" in its "
                          "metadata; the names must be equal",
                          name, pg_escape(esc, sizeof(esc), got, strlen(got)));
    }
    if (!has_string(json_object_get(m, "supportedContractVersions"), CONTRACT_VERSION)) {
        return pg_err_set(err, PG_ERR_PLUGIN,
                          "plugin \"%s\" does not support contract version " CONTRACT_VERSION,
                          name);
    }
    if (!json_is_array(caps) || json_array_size(caps) == 0) {
        return pg_err_set(err, PG_ERR_PLUGIN, "plugin \"%s\" metadata lists no capabilities", name);
    }
    if (!pg_plugin_semver_is_valid(version) || strlen(version) >= sizeof(out->version)) {
        return pg_err_set(err, PG_ERR_PLUGIN,
                          "plugin \"%s\" has version \"%s\", which is not "
                          "a semantic version",
                          name, pg_escape(esc, sizeof(esc), version, strlen(version)));
    }
    if (min_version != NULL && pg_plugin_semver_compare(version, min_version) < 0) {
        return pg_err_set(err, PG_ERR_PLUGIN,
                          "plugin \"%s\" has version %s but the signature "
                          "requires version %s or later",
                          name, version, min_version);
    }
    snprintf(out->version, sizeof(out->version), "%s", version);
    out->has_identity = has_string(caps, PG_PLUGIN_CAP_IDENTITY);
    out->has_revocation = has_string(caps, PG_PLUGIN_CAP_REVOCATION);
    if (!out->has_identity && !out->has_revocation) {
        return pg_err_set(err, PG_ERR_PLUGIN,
                          "plugin \"%s\" has neither the trusted identity "
                          "nor the revocation check verifier capability",
                          name);
    }
    return PG_OK;
}

enum pg_status pg_plugin_describe(const struct pg_plugin_options *o, const char *name,
                                  const char *min_version, struct pg_plugin_metadata *out_meta,
                                  struct pg_err *err)
{
    struct pg_plugin_metadata meta;
    json_t *m = NULL;
    enum pg_status rc;

    memset(&meta, 0, sizeof(meta));
    rc = pg_plugin_run(o, name, "get-plugin-metadata", NULL, &m, err);
    if (rc == PG_OK) {
        rc = check_metadata(name, m, min_version, &meta, err);
    }
    if (rc == PG_OK) {
        *out_meta = meta;
    }
    json_decref(m);
    return rc;
}

/* ---- verify-signature ---------------------------------------------------- */

/* RFC 3339 in UTC as Go writes it: fraction without trailing zeros. */
static void format_time(const struct pg_jws_time *t, char *buf, size_t len)
{
    char base[32];
    char frac[16] = "";
    int32_t ns = t->nsec;

    if (!pg_jws_time_is_set(t)) {
        snprintf(buf, len, "%s", ZERO_TIME);
        return;
    }
    pg_jws_format_time(t->sec, base, sizeof(base));
    base[strlen(base) - 1] = '\0'; /* the 'Z' */
    if (ns > 0) {
        int digits = 9;

        while (ns % 10 == 0) {
            ns /= 10;
            digits--;
        }
        snprintf(frac, sizeof(frac), ".%0*d", digits, (int)ns);
    }
    snprintf(buf, len, "%s%sZ", base, frac);
}

static int is_plugin_attr(const char *name)
{
    return strcmp(name, PG_JWS_PLUGIN) == 0 || strcmp(name, PG_JWS_PLUGIN_MIN_VERSION) == 0;
}

static json_t *string_array(char *const *items, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, json_string(items[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *critical_attributes(const struct pg_plugin_sig *sig, json_t *unprocessed)
{
    const struct pg_jws *jws = sig->jws;
    json_t *crit = json_object();
    json_t *ext = json_object();
    char when[64];
    int bad = crit == NULL || ext == NULL;
    size_t i;

    bad = bad || json_object_set_new(crit, "contentType", json_string(jws->cty)) != 0;
    bad = bad || json_object_set_new(crit, "signingScheme", json_string(sig->scheme)) != 0;
    format_time(&jws->expiry, when, sizeof(when));
    bad = bad || json_object_set_new(crit, "expiry", json_string(when)) != 0;
    if (!bad && strcmp(sig->scheme, "notary.x509.signingAuthority") == 0) {
        format_time(&jws->authentic_signing_time, when, sizeof(when));
        bad = json_object_set_new(crit, "authenticSigningTime", json_string(when)) != 0;
    }
    for (i = 0; !bad && i < jws->n_ext; i++) {
        if (is_plugin_attr(jws->ext[i].name)) {
            continue;
        }
        bad = json_object_set(ext, jws->ext[i].name, jws->ext[i].value) != 0 ||
              json_array_append_new(unprocessed, json_string(jws->ext[i].name)) != 0;
    }
    bad = bad || json_object_set(crit, "extendedAttributes", ext) != 0;
    json_decref(ext);
    if (bad) {
        json_decref(crit);
        return NULL;
    }
    return crit;
}

static json_t *chain_array(const struct pg_jws *jws)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < jws->n_x5c; i++) {
        char *b64 = pg_b64_encode_std(jws->x5c[i].data, jws->x5c[i].len);
        int bad = b64 == NULL || json_array_append_new(a, json_string(b64)) != 0;

        pg_free(b64);
        if (bad) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *trust_policy(const struct pg_plugin_sig *sig)
{
    json_t *tp = json_object();
    json_t *caps = json_array();
    int bad = tp == NULL || caps == NULL;

    if (!bad && sig->want_identity) {
        bad = json_array_append_new(caps, json_string(PG_PLUGIN_CAP_IDENTITY)) != 0;
    }
    if (!bad && sig->want_revocation) {
        bad = json_array_append_new(caps, json_string(PG_PLUGIN_CAP_REVOCATION)) != 0;
    }
    bad = bad || json_object_set_new(
                     tp, "trustedIdentities",
                     string_array(sig->statement->identities, sig->statement->n_identities)) != 0;
    bad = bad || json_object_set(tp, "signatureVerification", caps) != 0;
    json_decref(caps);
    if (bad) {
        json_decref(tp);
        return NULL;
    }
    return tp;
}

enum pg_status pg_plugin_verify_request(const struct pg_plugin_sig *sig, json_t **out_request,
                                        struct pg_err *err)
{
    json_t *req = json_object();
    json_t *signature = json_object();
    json_t *unprocessed = json_array();
    int bad = req == NULL || signature == NULL || unprocessed == NULL;

    bad = bad || json_object_set_new(req, "contractVersion", json_string(CONTRACT_VERSION)) != 0;
    bad = bad || json_object_set_new(signature, "criticalAttributes",
                                     critical_attributes(sig, unprocessed)) != 0;
    bad = bad || json_object_set(signature, "unprocessedAttributes", unprocessed) != 0;
    bad = bad || json_object_set_new(signature, "certificateChain", chain_array(sig->jws)) != 0;
    bad = bad || json_object_set(req, "signature", signature) != 0;
    bad = bad || json_object_set_new(req, "trustPolicy", trust_policy(sig)) != 0;
    json_decref(signature);
    json_decref(unprocessed);
    if (bad) {
        json_decref(req);
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory building a plugin request");
    }
    *out_request = req;
    return PG_OK;
}

static enum pg_status take_result(const char *plugin, const json_t *results, const char *cap,
                                  int *out_ok, char *reason, size_t reason_len, struct pg_err *err)
{
    const json_t *r = json_object_get(results, cap);
    const json_t *success = json_object_get(r, "success");
    const char *why = json_string_value(json_object_get(r, "reason"));

    if (!json_is_boolean(success)) {
        return pg_err_set(err, PG_ERR_PLUGIN,
                          "plugin \"%s\" gave no result for %s: the "
                          "verification is inconclusive",
                          plugin, cap);
    }
    *out_ok = json_is_true(success);
    pg_escape(reason, reason_len, why != NULL ? why : "", why != NULL ? strlen(why) : 0);
    return PG_OK;
}

enum pg_status pg_plugin_check_response(const char *plugin, const json_t *request,
                                        const json_t *response, struct pg_plugin_verdict *out,
                                        struct pg_err *err)
{
    const json_t *caps =
        json_object_get(json_object_get(request, "trustPolicy"), "signatureVerification");
    const json_t *forwarded =
        json_object_get(json_object_get(request, "signature"), "unprocessedAttributes");
    const json_t *results = json_object_get(response, "verificationResults");
    const json_t *processed = json_object_get(response, "processedAttributes");
    enum pg_status rc = PG_OK;
    char esc[TEXT_MAX];
    size_t i;
    json_t *v;

    memset(out, 0, sizeof(*out));
    out->identity = out->revocation = -1;
    if (!json_is_object(results)) {
        return pg_err_set(err, PG_ERR_PLUGIN,
                          "plugin \"%s\" response has no "
                          "verificationResults object",
                          plugin);
    }
    if (has_string(caps, PG_PLUGIN_CAP_IDENTITY)) {
        rc = take_result(plugin, results, PG_PLUGIN_CAP_IDENTITY, &out->identity,
                         out->identity_reason, sizeof(out->identity_reason), err);
    }
    if (rc == PG_OK && has_string(caps, PG_PLUGIN_CAP_REVOCATION)) {
        rc = take_result(plugin, results, PG_PLUGIN_CAP_REVOCATION, &out->revocation,
                         out->revocation_reason, sizeof(out->revocation_reason), err);
    }
    json_array_foreach(forwarded, i, v)
    {
        const char *name = json_string_value(v);

        if (rc == PG_OK && name != NULL && !has_string(processed, name)) {
            rc = pg_err_set(err, PG_ERR_PLUGIN,
                            "plugin \"%s\" did not process the signature's "
                            "attribute \"%s\"",
                            plugin, pg_escape(esc, sizeof(esc), name, strlen(name)));
        }
    }
    return rc;
}
