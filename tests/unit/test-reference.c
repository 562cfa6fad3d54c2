/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for reference.c: containerd's normalisation and the grammar's limits.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mem.h"
#include "reference.h"

#define D64 "e6eb1e6b2dd2f1a1e0d4a5ec8bcbf8d2b0e4d8f0b9a4c1c2d3e4f5a6b7c8d9e0"

/* Parses in and checks its normalised string; want NULL means it must be refused. */
static int parses_to(const char *in, const char *want)
{
    struct pg_ref *ref = NULL;
    struct pg_err err;
    char *got = NULL;
    int ok;

    pg_err_init(&err);
    if (pg_ref_parse(in, &ref, &err) != PG_OK) {
        if (want != NULL) {
            fprintf(stderr, "    %s: %s\n", in, err.msg);
        }
        return want == NULL && err.status == PG_ERR_REFERENCE && err.msg[0] != '\0';
    }
    got = pg_ref_string(ref);
    ok = want != NULL && got != NULL && strcmp(got, want) == 0;
    if (!ok) {
        fprintf(stderr, "    %s -> %s (want %s)\n", in, got ? got : "?", want ? want : "error");
    }
    pg_free(got);
    pg_ref_free(ref);
    return ok;
}

static void single_name_gets_docker_io_library_latest(void)
{
    CHECK(parses_to("alpine", "docker.io/library/alpine:latest"));
    CHECK(parses_to("alpine:3.19", "docker.io/library/alpine:3.19"));
    CHECK(parses_to("docker.io/alpine", "docker.io/library/alpine:latest"));
    CHECK(parses_to("index.docker.io/library/alpine", "docker.io/library/alpine:latest"));
}

static void two_part_name_gets_docker_io_only(void)
{
    CHECK(parses_to("bitnami/redis:7", "docker.io/bitnami/redis:7"));
    CHECK(parses_to("a/b/c", "docker.io/a/b/c:latest"));
}

static void hosts_with_ports_localhost_and_ipv6_are_kept(void)
{
    CHECK(parses_to("localhost:5000/test/hello:v1", "localhost:5000/test/hello:v1"));
    CHECK(parses_to("localhost/app", "localhost/app:latest"));
    CHECK(parses_to("reg.example.com/team/app", "reg.example.com/team/app:latest"));
    CHECK(parses_to("[::1]:5000/app:v1", "[::1]:5000/app:v1"));
    CHECK(parses_to("[fe80::1]/app", "[fe80::1]/app:latest"));
    CHECK(parses_to("Reg.Example.com/app", "Reg.Example.com/app:latest"));
}

static void digest_and_tag_plus_digest_print_the_digest(void)
{
    struct pg_ref *ref = NULL;
    struct pg_err err;
    char *s = NULL;

    CHECK(parses_to("app@sha256:" D64, "docker.io/library/app@sha256:" D64));
    CHECK(parses_to("localhost:5000/test/hello:v1@sha256:" D64,
                    "localhost:5000/test/hello@sha256:" D64));
    pg_err_init(&err);
    REQUIRE(pg_ref_parse("r.io/a/b:v1@sha256:" D64, &ref, &err) == PG_OK);
    CHECK(ref->tag == NULL);
    CHECK(strcmp(ref->digest, "sha256:" D64) == 0);
    CHECK(strcmp(ref->domain, "r.io") == 0 && strcmp(ref->path, "a/b") == 0);
    s = pg_ref_repository(ref);
    CHECK(s != NULL && strcmp(s, "r.io/a/b") == 0);
    pg_free(s);
    s = pg_ref_with_digest(ref, "sha256:" D64);
    CHECK(s != NULL && strcmp(s, "r.io/a/b@sha256:" D64) == 0);
    pg_free(s);
    pg_ref_free(ref);
}

static void invalid_references_are_refused(void)
{
    char long_name[300];

    CHECK(parses_to("", NULL));
    CHECK(parses_to("Alpine", NULL));
    CHECK(parses_to("r.io/App", NULL));
    CHECK(parses_to("app@sha256:abc", NULL));
    CHECK(parses_to("app@sha256:" D64 "00", NULL));
    CHECK(parses_to("app@sha256:E6EB1E6B2DD2F1A1E0D4A5EC8BCBF8D2B0E4D8F0B9A4C1C2D3E4F5A6B7C8D9E0",
                    NULL));
    CHECK(parses_to("app@md5:" D64, NULL));
    CHECK(parses_to("app@", NULL));
    CHECK(parses_to("app:", NULL));
    CHECK(parses_to(":tag", NULL));
    CHECK(parses_to("r.io/", NULL));
    CHECK(parses_to("r.io//app", NULL));
    CHECK(parses_to("r.io/app/", NULL));
    CHECK(parses_to("app-/x", NULL));
    CHECK(parses_to("a..b/c", NULL));
    CHECK(parses_to("-r.io/app", NULL));
    CHECK(parses_to("r.io:port/app", NULL));
    CHECK(parses_to("[::1/app", NULL));
    CHECK(parses_to("app:-tag", NULL));
    CHECK(parses_to("app app", NULL));
    CHECK(parses_to(D64, NULL));
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    memcpy(long_name, "r.io/", 5);
    CHECK(parses_to(long_name, NULL));
}

static void names_up_to_255_characters_are_accepted(void)
{
    char name[257];
    char *want;

    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    memcpy(name, "r.io/", 5);
    CHECK(strlen(name) == 256);
    CHECK(parses_to(name, NULL));
    name[255] = '\0';
    want = pg_asprintf("%s:latest", name);
    CHECK(parses_to(name, want));
    pg_free(want);
}

static void separators_follow_the_grammar(void)
{
    CHECK(parses_to("a__b", "docker.io/library/a__b:latest"));
    CHECK(parses_to("a---b.c_d", "docker.io/library/a---b.c_d:latest"));
    CHECK(parses_to("a___b", NULL));
    CHECK(parses_to("a._b", NULL));
}

static void error_message_names_the_input(void)
{
    struct pg_ref *ref = NULL;
    struct pg_err err;

    pg_err_init(&err);
    CHECK(pg_ref_parse("r.io/Bad\"Name", &ref, &err) == PG_ERR_REFERENCE);
    CHECK(strstr(err.msg, "r.io/Bad\\\"Name") != NULL);
    CHECK(strstr(err.msg, "lowercase") != NULL);
}

static void out_of_memory_is_an_error(void)
{
    for (long n = 0; n < 12; n++) {
        struct pg_ref *ref = NULL;
        struct pg_err err;
        enum pg_status rc;

        pg_err_init(&err);
        pg_mem_fail_after(n);
        rc = pg_ref_parse("r.io/a/b:v1", &ref, &err);
        pg_mem_fail_after(-1);
        CHECK(rc == PG_OK || rc == PG_ERR_NOMEM);
        pg_ref_free(ref);
    }
}

int main(void)
{
    PG_RUN("single name gets docker.io, library/ and latest",
           single_name_gets_docker_io_library_latest);
    PG_RUN("two-part name gets docker.io only", two_part_name_gets_docker_io_only);
    PG_RUN("hosts with ports, localhost and IPv6 are kept",
           hosts_with_ports_localhost_and_ipv6_are_kept);
    PG_RUN("digest, and tag plus digest, print the digest only",
           digest_and_tag_plus_digest_print_the_digest);
    PG_RUN("invalid references are refused with a message", invalid_references_are_refused);
    PG_RUN("a 255 character name is accepted, 256 is not", names_up_to_255_characters_are_accepted);
    PG_RUN("path separators follow the distribution grammar", separators_follow_the_grammar);
    PG_RUN("error message names the escaped input", error_message_names_the_input);
    PG_RUN("out of memory is an ordinary error", out_of_memory_is_an_error);
    return pg_check_done();
}
