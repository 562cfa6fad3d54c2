/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg-testplugin: a Notary Project verification plugin for tests, installed
 * (copied) as <plugins>/<name>/notation-<name>. It answers as its name, and
 * behaves as the file "behaviour" beside it says, one key=value a line:
 *
 *   version=1.0.0          version in get-plugin-metadata
 *   caps=identity,revocation   verifier capabilities (also: none)
 *   fail=MODE              misbehave in verify-signature (or the command in
 *                          fail_on=get-plugin-metadata): exit1 (error JSON on
 *                          stderr), exit3, malformed, oversized, hang,
 *                          wrong-name, identity-false, revocation-false,
 *                          unprocessed, no-result
 *   record=PATH            write the request to PATH (and PATH.env: the
 *                          environment, one variable a line)
 *
 * Without the file it is a well-behaved plugin with the trusted identity
 * capability, version 1.0.0, as notation-go's mock plugin "plugin-name".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define CONF_MAX 16384
#define VALUE_MAX 1024

extern char **environ;

struct conf {
    char name[256];
    char version[64];
    char caps[VALUE_MAX];
    char fail[64];
    char fail_on[64];
    char record[VALUE_MAX];
};

static void read_conf(const char *self, struct conf *c)
{
    char path[VALUE_MAX + 32];
    const char *slash = strrchr(self, '/');
    const char *base = slash != NULL ? slash + 1 : self;
    char line[VALUE_MAX + 32];
    FILE *f;

    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", strncmp(base, "notation-", 9) == 0 ? base + 9 : base);
    snprintf(c->version, sizeof(c->version), "1.0.0");
    snprintf(c->caps, sizeof(c->caps), "identity");
    snprintf(c->fail_on, sizeof(c->fail_on), "verify-signature");
    snprintf(path, sizeof(path), "%.*s/behaviour", slash != NULL ? (int)(slash - self) : 1,
             slash != NULL ? self : ".");
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char *eq = strchr(line, '=');

        line[strcspn(line, "\r\n")] = '\0';
        if (eq == NULL) {
            continue;
        }
        *eq++ = '\0';
        if (strcmp(line, "version") == 0) {
            snprintf(c->version, sizeof(c->version), "%s", eq);
        } else if (strcmp(line, "caps") == 0) {
            snprintf(c->caps, sizeof(c->caps), "%s", eq);
        } else if (strcmp(line, "fail") == 0) {
            snprintf(c->fail, sizeof(c->fail), "%s", eq);
        } else if (strcmp(line, "fail_on") == 0) {
            snprintf(c->fail_on, sizeof(c->fail_on), "%s", eq);
        } else if (strcmp(line, "record") == 0) {
            snprintf(c->record, sizeof(c->record), "%s", eq);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
}

static char *read_stdin(void)
{
    char *buf = malloc(CONF_MAX * 64 + 1);
    size_t n = 0;
    size_t got;

    if (buf == NULL) {
        return NULL;
    }
    while (n < CONF_MAX * 64 && (got = fread(buf + n, 1, CONF_MAX * 64 - n, stdin)) > 0) {
        n += got;
    }
    buf[n] = '\0';
    return buf;
}

static void record(const struct conf *c, const char *input)
{
    char path[VALUE_MAX + 8];
    FILE *f;
    char **e;

    if (c->record[0] == '\0') {
        return;
    }
    f = fopen(c->record, "w");
    if (f != NULL) {
        fputs(input, f);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s.env", c->record);
    f = fopen(path, "w");
    for (e = environ; f != NULL && *e != NULL; e++) {
        fprintf(f, "%s\n", *e);
    }
    if (f != NULL) {
        fclose(f);
    }
}

/* Misbehaviours that do not depend on the command; returns 0 when none applied. */
static int misbehave(const struct conf *c)
{
    if (strcmp(c->fail, "exit1") == 0) {
        fputs("{\"errorCode\":\"VALIDATION_ERROR\",\"errorMessage\":\"test plugin refuses\"}",
              stderr);
        exit(1);
    }
    if (strcmp(c->fail, "exit3") == 0) {
        fputs("something went wrong", stderr);
        exit(3);
    }
    if (strcmp(c->fail, "malformed") == 0) {
        fputs("{\"verificationResults\": ", stdout);
        exit(0);
    }
    if (strcmp(c->fail, "oversized") == 0) {
        static char block[65536];
        int i;

        memset(block, ' ', sizeof(block));
        for (i = 0; i < 40; i++) {
            fwrite(block, 1, sizeof(block), stdout);
        }
        fputs("{}", stdout);
        exit(0);
    }
    if (strcmp(c->fail, "hang") == 0) {
        if (fork() == 0) {
            pause(); /* a child in the same process group, killed with it */
        }
        pause();
    }
    return 0;
}

static int metadata(const struct conf *c)
{
    json_t *caps = json_array();
    json_t *m;

    if (strstr(c->caps, "identity") != NULL) {
        json_array_append_new(caps, json_string("SIGNATURE_VERIFIER.TRUSTED_IDENTITY"));
    }
    if (strstr(c->caps, "revocation") != NULL) {
        json_array_append_new(caps, json_string("SIGNATURE_VERIFIER.REVOCATION_CHECK"));
    }
    json_array_append_new(caps, json_string("SIGNATURE_GENERATOR.RAW"));
    m = json_pack("{s:s,s:s,s:s,s:s,s:[s],s:o}", "name",
                  strcmp(c->fail, "wrong-name") == 0 ? "other-name" : c->name, "description",
                  "pullgate test plugin", "version", c->version, "url", "https://example.invalid",
                  "supportedContractVersions", "1.0", "capabilities", caps);
    json_dumpf(m, stdout, JSON_COMPACT);
    json_decref(m);
    return 0;
}

static json_t *result(int success, const char *reason)
{
    return success ? json_pack("{s:b}", "success", 1)
                   : json_pack("{s:b,s:s}", "success", 0, "reason", reason);
}

static int verify(const struct conf *c, const char *input)
{
    json_t *req = json_loads(input, 0, NULL);
    json_t *caps = json_object_get(json_object_get(req, "trustPolicy"), "signatureVerification");
    json_t *results = json_object();
    json_t *processed =
        json_deep_copy(json_object_get(json_object_get(req, "signature"), "unprocessedAttributes"));
    json_t *resp;
    size_t i;
    json_t *v;

    json_array_foreach(caps, i, v)
    {
        const char *cap = json_string_value(v);
        int ok = !((strstr(cap, "TRUSTED_IDENTITY") && strcmp(c->fail, "identity-false") == 0) ||
                   (strstr(cap, "REVOCATION") && strcmp(c->fail, "revocation-false") == 0));

        if (strcmp(c->fail, "no-result") != 0) {
            json_object_set_new(results, cap, result(ok, "the test plugin says no"));
        }
    }
    if (strcmp(c->fail, "unprocessed") == 0 || processed == NULL) {
        json_decref(processed);
        processed = json_array();
    }
    resp = json_pack("{s:o,s:o}", "verificationResults", results, "processedAttributes", processed);
    json_dumpf(resp, stdout, JSON_COMPACT);
    json_decref(resp);
    json_decref(req);
    return 0;
}

int main(int argc, char **argv)
{
    struct conf c;
    char *input;
    int rc;

    if (argc != 2) {
        fputs("{\"errorCode\":\"VALIDATION_ERROR\",\"errorMessage\":\"one command expected\"}",
              stderr);
        return 1;
    }
    read_conf(argv[0], &c);
    input = read_stdin();
    if (input == NULL) {
        return 1;
    }
    if (strcmp(argv[1], "get-plugin-metadata") != 0 || strcmp(c.fail_on, argv[1]) == 0) {
        record(&c, input);
    }
    if (strcmp(c.fail_on, argv[1]) == 0) {
        misbehave(&c);
    }
    if (strcmp(argv[1], "get-plugin-metadata") == 0) {
        rc = metadata(&c);
    } else if (strcmp(argv[1], "verify-signature") == 0) {
        rc = verify(&c, input);
    } else {
        fputs("{\"errorCode\":\"UNSUPPORTED_CONTRACT_VERSION\",\"errorMessage\":\"unknown "
              "command\"}",
              stderr);
        rc = 1;
    }
    free(input);
    return rc;
}
