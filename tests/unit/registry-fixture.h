/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test fixture for registry and discovery tests: runs tests/tools
 * pg-testregistry with a script built here, reads its request log, and
 * builds clients that may speak plain http to its two listeners.
 * Header-only (static functions) so each test executable carries its copy.
 */
#ifndef PG_REGISTRY_FIXTURE_H
#define PG_REGISTRY_FIXTURE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "check.h"
#include "mem.h"
#include "registry.h"

struct fixture {
    pid_t pid;
    unsigned port1;
    unsigned port2;
    char *dir;
    char *log;
    char host1[32]; /* "127.0.0.1:PORT" */
    char host2[32]; /* "127.0.0.2:PORT2" */
};

static inline json_t *fx_route(const char *path, int status, const char *ctype, const char *body)
{
    json_t *r = json_object();

    json_object_set_new(r, "path", json_string(path));
    json_object_set_new(r, "status", json_integer(status));
    if (ctype != NULL) {
        json_object_set_new(r, "headers", json_pack("{s:s}", "Content-Type", ctype));
    }
    if (body != NULL) {
        json_object_set_new(r, "body", json_string(body));
    }
    return r;
}

static inline void fx_header(json_t *route, const char *name, const char *value)
{
    json_t *h = json_object_get(route, "headers");

    if (h == NULL) {
        h = json_object();
        json_object_set_new(route, "headers", h);
    }
    json_object_set_new(h, name, json_string(value));
}

/* Starts the server with routes (stolen). 0 on success. */
static inline int fx_start(struct fixture *f, json_t *routes)
{
    char *script;
    char *bin = pg_asprintf("%s/tests/pg-testregistry",
                            getenv("PG_BUILD_DIR") != NULL ? getenv("PG_BUILD_DIR") : ".");
    json_t *doc = json_pack("{s:o}", "routes", routes);
    int out[2];
    FILE *rd;

    memset(f, 0, sizeof(*f));
    f->pid = -1;
    f->dir = pg_check_tmpdir();
    script = pg_asprintf("%s/script.json", f->dir);
    f->log = pg_asprintf("%s/requests.log", f->dir);
    if (json_dump_file(doc, script, 0) != 0 || pipe(out) != 0) {
        return -1;
    }
    json_decref(doc);
    f->pid = fork();
    if (f->pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execl(bin, bin, script, f->log, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    rd = fdopen(out[0], "r");
    if (rd == NULL || fscanf(rd, "%u %u", &f->port1, &f->port2) != 2) {
        fprintf(stderr, "    cannot start %s\n", bin);
        if (rd != NULL) {
            fclose(rd);
        }
        pg_free(bin);
        pg_free(script);
        return -1;
    }
    fclose(rd);
    snprintf(f->host1, sizeof(f->host1), "127.0.0.1:%u", f->port1);
    snprintf(f->host2, sizeof(f->host2), "127.0.0.2:%u", f->port2);
    pg_free(bin);
    pg_free(script);
    return 0;
}

static inline void fx_stop(struct fixture *f)
{
    int status;

    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, &status, 0);
    }
    if (f->dir != NULL) {
        pg_check_rmtree(f->dir);
    }
    pg_free(f->dir);
    pg_free(f->log);
    memset(f, 0, sizeof(*f));
}

/* The request log as one JSON array of request objects; caller json_decref()s. */
static inline json_t *fx_requests(const struct fixture *f)
{
    json_t *all = json_array();
    FILE *in = fopen(f->log, "r");
    char line[65536];

    while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
        json_t *r = json_loads(line, 0, NULL);

        if (r != NULL) {
            json_array_append_new(all, r);
        }
    }
    if (in != NULL) {
        fclose(in);
    }
    return all;
}

/* A client speaking plain http to both listeners (or to none when plain is 0). */
static inline struct pg_registry_client *fx_client(const struct fixture *f, int plain,
                                                   long timeout_ms, const char *docker_config)
{
    const char *hosts[] = {f->host1, f->host2};
    struct pg_registry_options o = {0};
    struct pg_registry_client *c = NULL;
    struct pg_err err;

    pg_err_init(&err);
    o.plain_http_hosts = hosts;
    o.n_plain_http_hosts = (size_t)plain;
    o.request_timeout_ms = timeout_ms;
    o.connect_timeout_ms = 2000;
    o.docker_config = docker_config;
    if (pg_registry_client_new(&o, &c, &err) != PG_OK) {
        fprintf(stderr, "    client: %s\n", err.msg);
    }
    return c;
}

/* A session for <host1>/<path>:latest. */
static inline struct pg_registry_session *
fx_session(const struct fixture *f, struct pg_registry_client *c, const char *path,
           const struct pg_credentials *creds, const struct pg_deadline *dl, struct pg_err *err)
{
    char *s = pg_asprintf("%s/%s", f->host1, path);
    struct pg_ref *ref = NULL;
    struct pg_registry_session *session = NULL;

    if (pg_ref_parse(s, &ref, err) == PG_OK) {
        pg_registry_session_new(c, ref, creds, dl, &session, err);
    }
    pg_ref_free(ref);
    pg_free(s);
    return session;
}

/* "sha256:<hex>" of data; caller frees. */
static inline char *fx_digest(const void *data, size_t len)
{
    unsigned char h[32];
    unsigned int n = 0;
    char *out = pg_malloc(7 + 64 + 1);

    EVP_Digest(data, len, h, &n, EVP_sha256(), NULL);
    memcpy(out, "sha256:", 7);
    for (unsigned i = 0; i < 32; i++) {
        snprintf(out + 7 + i * 2, 3, "%02x", h[i]);
    }
    return out;
}

#endif
