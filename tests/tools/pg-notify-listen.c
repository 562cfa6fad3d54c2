/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg-notify-listen: stands in for systemd's notification socket in tests.
 * Binds an AF_UNIX datagram socket at NOTIFY_PATH and prints every
 * assignment it receives ("READY=1", "STOPPING=1", ...) as a line
 *
 *     msg pid=<sender pid> READY=1
 *
 * When a LISTEN_SOCKET is given, each READY=1 is followed at once by a
 * connection attempt to that stream socket, printed as
 * "ready-check connect=ok" or "ready-check connect=failed <reason>", so a
 * test can tell whether the service was really serving when it said so.
 * Runs until SIGTERM or SIGINT, or for at most 300 seconds.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DGRAM_MAX 4096
#define RUN_MAX_S 300

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int set_path(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        return -1;
    }
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

static void check_ready(const char *listen_path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || set_path(&sa, listen_path) != 0) {
        printf("ready-check connect=failed cannot make a socket for %s\n", listen_path);
    } else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        printf("ready-check connect=failed %s\n", strerror(errno));
    } else {
        printf("ready-check connect=ok\n");
    }
    if (fd >= 0) {
        close(fd);
    }
}

/* Receives one datagram and prints its lines; the sender's pid from SCM_CREDENTIALS. */
static void receive_one(int fd, const char *listen_path)
{
    char buf[DGRAM_MAX + 1];
    char control[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {.iov_base = buf, .iov_len = DGRAM_MAX};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    struct cmsghdr *c;
    long pid = -1;
    ssize_t n;

    mh.msg_control = control;
    mh.msg_controllen = sizeof(control);
    n = recvmsg(fd, &mh, MSG_DONTWAIT);
    if (n < 0) {
        return;
    }
    buf[n] = '\0';
    for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cred;

            memcpy(&cred, CMSG_DATA(c), sizeof(cred));
            pid = (long)cred.pid;
        }
    }
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        printf("msg pid=%ld %s\n", pid, line);
        if (strcmp(line, "READY=1") == 0 && listen_path != NULL) {
            check_ready(listen_path);
        }
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa;
    time_t end = time(NULL) + RUN_MAX_S;
    int one = 1;
    int fd;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: pg-notify-listen NOTIFY_PATH [LISTEN_SOCKET]\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || set_path(&sa, argv[1]) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "pg-notify-listen: cannot bind %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    while (!g_stop && time(NULL) < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};

        if (poll(&p, 1, 200) > 0) {
            receive_one(fd, argc == 3 ? argv[2] : NULL);
        }
    }
    close(fd);
    unlink(argv[1]);
    return 0;
}
