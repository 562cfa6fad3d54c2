/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust policy: every notation trust policy vector classified the way
 * notation classifies it, each validation rule, the actions table, statement
 * selection and loading from a notation directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mem.h"
#include "policy.h"

#define TP_DIR "notation/test/e2e/testdata/config/trustpolicies/"

/* One vector: whether notation accepts it, and the rule our message names. */
struct vector_case {
    const char *file;
    const char *rule; /* NULL: the document is valid */
};

static const struct vector_case vector_cases[] = {
    {"any_registry_scope_trust_policy.json", NULL},
    {"audit_trustpolicy.json", NULL},
    /* a blob policy read as an OCI policy: its statements have no registryScopes */
    {"blob_trust_policy.json", "\"wabbit-networks-policy\" : registryScopes is empty"},
    {"empty_registry_scope_trustpolicy.json", "registryScopes is empty"},
    {"empty_trusted_identity_trustpolicy.json", "a trusted identity is empty"},
    {"generate_test_trustpolicy.json", NULL},
    {"invalid_format_trustpolicy.json", "not valid JSON"},
    /* well-formed scope; "invalid" for an artifact in another repository */
    {"invalid_registry_scope_trustpolicy.json", NULL},
    /* well-formed store reference to a store that does not exist */
    {"invalid_trust_store_trustpolicy.json", NULL},
    /* well-formed DN that does not match the e2e certificate */
    {"invalid_trusted_identity_trustpolicy.json", NULL},
    {"malformed_registry_scope_trustpolicy.json",
     "registry scope \"localhost:5000\\\\test-repo\" is not of the form registry/repository"},
    {"malformed_trust_store_trustpolicy.json", "trust store \"ca:\" has the name \"\""},
    {"malformed_trusted_identity_trustpolicy.json", "is not of the form prefix:value"},
    {"missing_country_trusted_identity_trustpolicy.json", "mandatory attribute \"C\""},
    {"missing_organization_trusted_identity_trustpolicy.json", "mandatory attribute \"O\""},
    {"missing_state_trusted_identity_trustpolicy.json", "mandatory attribute \"ST\""},
    {"multi_statements_with_multi_wildcard_registry_scope_trustpolicy.json",
     "statement \"e2e2\" : registry scope \"*\" is also used by statement \"e2e\""},
    {"multi_statements_with_the_same_name_trustpolicy.json", "name is already used"},
    {"multi_statements_with_the_same_registry_scope_trustpolicy.json",
     "registry scope \"localhost:5000/test-repo8\" is also used by statement \"e2e\""},
    {"multi_statements_with_wildcard_registry_scope_trustpolicy.json", NULL},
    {"multiple_registry_scope_trustpolicy.json", NULL},
    {"multiple_trust_store_trustpolicy.json", NULL},
    {"multiple_trusted_identity_trustpolicy.json", NULL},
    {"overlapped_registry_scope_trustpolicy.json",
     "registry scope \"localhost:5000/test-repo6\" appears twice"},
    /* notation tolerates a store named twice */
    {"overlapped_trust_store_trustpolicy.json", NULL},
    {"overlapped_trusted_identity_trustpolicy.json", "overlap"},
    {"override_audit_trustpolicy.json", NULL},
    {"override_integrity_for_permissive_trustpolicy.json", "cannot change integrity"},
    {"override_permissive_trustpolicy.json", NULL},
    {"override_strict_trustpolicy.json", NULL},
    {"permissive_trustpolicy.json", NULL},
    {"quickstart_trustpolicy.json", NULL},
    {"registry_scope_trustpolicy.json", NULL},
    /* skip with the global scope: the specification forbids it, notation allows it */
    {"skip_trustpolicy.json", NULL},
    {"timestamp_after_cert_expiry_trustpolicy.json", NULL},
    {"timestamp_trustpolicy.json", NULL},
    {"trustpolicy.json", NULL},
    {"unset_trust_store_trustpolicy.json", "must both be set"},
    {"unset_trusted_identity_trustpolicy.json", "must both be set"},
    {"valid_trusted_identity_trustpolicy.json", NULL},
    {"wildcard_plus_other_registry_scope_trustpolicy.json",
     "registry scope \"*\" cannot be combined"},
    {"wildcard_plus_other_trusted_identity_trustpolicy.json",
     "trusted identity \"*\" cannot be combined"},
    {"wildcard_trust_store_trustpolicy.json", "trust store \"*\" is not of the form type:name"},
};

#define N_CASES (sizeof(vector_cases) / sizeof(vector_cases[0]))

static const char ng_a_policy[] =
    "{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"test-statement-name\","
    "\"registryScopes\":[\"registry.acme-rockets.io/software/net-monitor\"],"
    "\"signatureVerification\":{\"level\":\"strict\"},"
    "\"trustStores\":[\"ca:valid-trust-store\",\"signingAuthority:valid-trust-store\"],"
    "\"trustedIdentities\":[\"x509.subject:CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,"
    "C=US\"]}]}";

static enum pg_status parse_str(const char *json, struct pg_policy **out, struct pg_err *err)
{
    pg_err_init(err);
    *out = NULL;
    return pg_policy_parse(json, strlen(json), out, err);
}

static enum pg_status parse_vector(const char *name, struct pg_policy **out, struct pg_err *err)
{
    char *rel = pg_asprintf(TP_DIR "%s", name);
    char *path = rel != NULL ? pg_check_vector(rel) : NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    enum pg_status rc = PG_ERR_IO;

    pg_err_init(err);
    *out = NULL;
    data = path != NULL ? pg_check_read_file(path, &len) : NULL;
    if (data != NULL) {
        rc = pg_policy_parse((const char *)data, len, out, err);
    } else {
        fprintf(stderr, "    cannot read vector %s\n", name);
    }
    pg_free(data);
    pg_free(path);
    pg_free(rel);
    return rc;
}

/* A one-statement policy with the given statement members. */
static enum pg_status parse_one(const char *members, struct pg_policy **out, struct pg_err *err)
{
    char *doc =
        pg_asprintf("{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"wabbit\",%s}]}", members);
    enum pg_status rc = parse_str(doc, out, err);

    pg_free(doc);
    return rc;
}

/* The statement members of a valid strict statement, with a hole for more. */
#define STRICT_BODY(scopes, ids)                                                                   \
    "\"registryScopes\":" scopes ",\"signatureVerification\":{\"level\":\"strict\"},"              \
    "\"trustStores\":[\"ca:acme\"],\"trustedIdentities\":" ids

/* Parsing must fail with the message naming the rule. */
static int rejects_with(const char *members, const char *rule)
{
    struct pg_policy *p = NULL;
    struct pg_err err;
    enum pg_status rc = parse_one(members, &p, &err);
    int ok = rc == PG_ERR_POLICY_INVALID && p == NULL && strstr(err.msg, rule) != NULL;

    if (!ok) {
        fprintf(stderr, "    members %s\n    got %s: %s\n    want: %s\n", members,
                pg_status_name(rc), err.msg, rule);
    }
    pg_policy_free(p);
    return ok;
}

static int accepts(const char *members)
{
    struct pg_policy *p = NULL;
    struct pg_err err;
    enum pg_status rc = parse_one(members, &p, &err);

    if (rc != PG_OK) {
        fprintf(stderr, "    members %s\n    rejected: %s\n", members, err.msg);
    }
    pg_policy_free(p);
    return rc == PG_OK;
}

static void vectors_classified_as_notation_does(void)
{
    size_t i;

    for (i = 0; i < N_CASES; i++) {
        const struct vector_case *c = &vector_cases[i];
        struct pg_policy *p = NULL;
        struct pg_err err;
        enum pg_status rc = parse_vector(c->file, &p, &err);
        int ok = c->rule == NULL
                     ? rc == PG_OK && p != NULL
                     : rc == PG_ERR_POLICY_INVALID && p == NULL && strstr(err.msg, c->rule) != NULL;

        if (!ok) {
            fprintf(stderr, "    %s: got %s: %s\n", c->file, pg_status_name(rc), err.msg);
        }
        CHECK(ok);
        pg_policy_free(p);
    }
}

static void every_vector_file_is_in_the_table(void)
{
    char *dir = pg_check_vector(TP_DIR);
    char *cmd = dir != NULL ? pg_asprintf("ls %s | grep -c '\\.json$'", dir) : NULL;
    FILE *f = cmd != NULL ? popen(cmd, "r") : NULL;
    unsigned count = 0;

    REQUIRE(f != NULL);
    CHECK(fscanf(f, "%u", &count) == 1);
    pclose(f);
    CHECK(count == N_CASES);
    pg_free(cmd);
    pg_free(dir);
}

static void ng_a_policy_selects_its_statement(void)
{
    struct pg_policy *p = NULL;
    const struct pg_statement *st;
    struct pg_err err;

    REQUIRE(parse_str(ng_a_policy, &p, &err) == PG_OK);
    st = pg_policy_select(p, "registry.acme-rockets.io/software/net-monitor", &err);
    REQUIRE(st != NULL);
    CHECK(strcmp(st->name, "test-statement-name") == 0);
    CHECK(st->level == PG_LEVEL_STRICT && !st->has_override);
    REQUIRE(st->n_stores == 2);
    CHECK(st->stores[0].type == PG_STORE_CA &&
          strcmp(st->stores[0].name, "valid-trust-store") == 0);
    CHECK(st->stores[1].type == PG_STORE_SIGNING_AUTHORITY);
    REQUIRE(st->n_identities == 1);
    CHECK(strncmp(st->identities[0], "x509.subject:CN=Notation Test Root", 34) == 0);
    pg_err_init(&err);
    CHECK(pg_policy_select(p, "registry.acme-rockets.io/software/other", &err) == NULL);
    CHECK(err.status == PG_ERR_NO_STATEMENT);
    pg_policy_free(p);
}

static void exact_scope_beats_wildcard(void)
{
    struct pg_policy *p = NULL;
    const struct pg_statement *st;
    struct pg_err err;

    REQUIRE(parse_vector("multi_statements_with_wildcard_registry_scope_trustpolicy.json", &p,
                         &err) == PG_OK);
    st = pg_policy_select(p, "localhost:5000/test-repo9", &err);
    CHECK(st != NULL && strcmp(st->name, "e2e") == 0);
    st = pg_policy_select(p, "localhost:5000/other", &err);
    CHECK(st != NULL && strcmp(st->name, "e2e2") == 0);
    /* no prefix or case folding */
    st = pg_policy_select(p, "localhost:5000/test-repo9/sub", &err);
    CHECK(st != NULL && strcmp(st->name, "e2e2") == 0);
    pg_policy_free(p);
}

#define SKIP_STATEMENT(name, scope)                                                                \
    "{\"name\":\"" name "\",\"registryScopes\":[\"" scope "\"],"                                   \
    "\"signatureVerification\":{\"level\":\"skip\"}}"

static const char host_spelling_doc[] =
    "{\"version\":\"1.0\",\"trustPolicies\":[" SKIP_STATEMENT("prod", "reg.example/app") "," SKIP_STATEMENT(
        "local",
        "localhost:5000/app") "," SKIP_STATEMENT("v6",
                                                 "[::1]:5000/app") "," SKIP_STATEMENT("rest",
                                                                                      "*") "]}";

static const char *selected(const struct pg_policy *p, const char *repository)
{
    struct pg_err err;
    const struct pg_statement *st;

    pg_err_init(&err);
    st = pg_policy_select(p, repository, &err);
    return st != NULL ? st->name : pg_status_name(err.status);
}

static void registry_spelled_differently_selects_the_same_statement(void)
{
    struct pg_policy *p = NULL;
    struct pg_err err;

    REQUIRE(parse_str(host_spelling_doc, &p, &err) == PG_OK);
    CHECK(strcmp(selected(p, "reg.example/app"), "prod") == 0);
    CHECK(strcmp(selected(p, "REG.Example/app"), "prod") == 0);
    CHECK(strcmp(selected(p, "reg.example:443/app"), "prod") == 0);
    CHECK(strcmp(selected(p, "LOCALHOST:5000/app"), "local") == 0);
    CHECK(strcmp(selected(p, "[::1]:5000/app"), "v6") == 0);
    /* other ports, other hosts and other paths stay other repositories */
    CHECK(strcmp(selected(p, "reg.example:8443/app"), "rest") == 0);
    CHECK(strcmp(selected(p, "localhost/app"), "rest") == 0);
    CHECK(strcmp(selected(p, "reg.example/app/sub"), "rest") == 0);
    CHECK(strcmp(selected(p, "reg.example.evil/app"), "rest") == 0);
    pg_policy_free(p);
}

static void two_statements_for_one_registry_spelling_are_refused(void)
{
    static const char *const pairs[][2] = {
        {"reg.example/app", "reg.example:443/app"},
        {"localhost:5000/team/app", "LOCALHOST:5000/team/app"},
        {"Reg.Example:443/app", "reg.example/app"},
    };
    static const char one_statement[] =
        "{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":["
        "\"reg.example/app\",\"REG.example:443/app\"],\"signatureVerification\":{\"level\":"
        "\"skip\"}}]}";
    struct pg_policy *p = NULL;
    struct pg_err err;

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char *doc = pg_asprintf("{\"version\":\"1.0\",\"trustPolicies\":["
                                "{\"name\":\"a\",\"registryScopes\":[\"%s\"],"
                                "\"signatureVerification\":{\"level\":\"skip\"}},"
                                "{\"name\":\"b\",\"registryScopes\":[\"%s\"],"
                                "\"signatureVerification\":{\"level\":\"skip\"}}]}",
                                pairs[i][0], pairs[i][1]);

        CHECK(parse_str(doc, &p, &err) == PG_ERR_POLICY_INVALID);
        CHECK(strstr(err.msg, "statement \"b\"") != NULL &&
              strstr(err.msg, "of statement \"a\"") != NULL);
        if (pg_check_failed_now()) {
            fprintf(stderr, "    %s / %s: %s\n", pairs[i][0], pairs[i][1], err.msg);
        }
        pg_policy_free(p);
        p = NULL;
        pg_free(doc);
    }
    /* within one statement the spellings agree on the statement */
    REQUIRE(parse_str(one_statement, &p, &err) == PG_OK);
    CHECK(strcmp(selected(p, "reg.example/app"), "a") == 0);
    CHECK(strcmp(selected(p, "reg.example:443/app"), "a") == 0);
    pg_policy_free(p);
}

static void repository_without_statement_is_refused(void)
{
    struct pg_policy *p = NULL;
    struct pg_err err;

    REQUIRE(parse_vector("invalid_registry_scope_trustpolicy.json", &p, &err) == PG_OK);
    pg_err_init(&err);
    CHECK(pg_policy_select(p, "localhost:5000/test-repo", &err) == NULL);
    CHECK(err.status == PG_ERR_NO_STATEMENT);
    CHECK(pg_policy_select(p, "localhost:5000/invalid-test-repo", &err) != NULL);
    pg_err_init(&err);
    CHECK(pg_policy_select(p, "nginx", &err) == NULL && err.status == PG_ERR_REFERENCE);
    pg_err_init(&err);
    CHECK(pg_policy_select(p, "localhost:5000/app@sha256:00", &err) == NULL);
    CHECK(err.status == PG_ERR_REFERENCE);
    pg_policy_free(p);
}

static const struct pg_statement *first(struct pg_policy **p, const char *file)
{
    struct pg_err err;

    return parse_vector(file, p, &err) == PG_OK ? pg_policy_statement(*p, 0) : NULL;
}

static int actions_are(const struct pg_statement *st, enum pg_action a0, enum pg_action a1,
                       enum pg_action a2, enum pg_action a3, enum pg_action a4)
{
    return st->actions[PG_CHECK_INTEGRITY] == a0 && st->actions[PG_CHECK_AUTHENTICITY] == a1 &&
           st->actions[PG_CHECK_AUTHENTIC_TIMESTAMP] == a2 && st->actions[PG_CHECK_EXPIRY] == a3 &&
           st->actions[PG_CHECK_REVOCATION] == a4;
}

static void levels_map_to_the_actions_table(void)
{
    const enum pg_action E = PG_ACTION_ENFORCE, L = PG_ACTION_LOG, S = PG_ACTION_SKIP;
    struct pg_policy *p = NULL;
    const struct pg_statement *st;

    st = first(&p, "trustpolicy.json");
    CHECK(st != NULL && st->level == PG_LEVEL_STRICT && actions_are(st, E, E, E, E, E));
    pg_policy_free(p);
    st = first(&p, "permissive_trustpolicy.json");
    CHECK(st != NULL && st->level == PG_LEVEL_PERMISSIVE && actions_are(st, E, E, L, L, L));
    pg_policy_free(p);
    st = first(&p, "audit_trustpolicy.json");
    CHECK(st != NULL && st->level == PG_LEVEL_AUDIT && actions_are(st, E, L, L, L, L));
    pg_policy_free(p);
    st = first(&p, "skip_trustpolicy.json");
    CHECK(st != NULL && st->level == PG_LEVEL_SKIP && actions_are(st, S, S, S, S, S));
    CHECK(st != NULL && st->n_stores == 0 && st->n_identities == 0);
    pg_policy_free(p);
}

static void overrides_replace_level_entries(void)
{
    const enum pg_action E = PG_ACTION_ENFORCE, L = PG_ACTION_LOG;
    struct pg_policy *p = NULL;
    const struct pg_statement *st;

    st = first(&p, "override_strict_trustpolicy.json");
    CHECK(st != NULL && st->has_override && actions_are(st, E, L, L, L, L));
    pg_policy_free(p);
    st = first(&p, "override_permissive_trustpolicy.json");
    CHECK(st != NULL && st->has_override && actions_are(st, E, L, E, E, E));
    pg_policy_free(p);
    st = first(&p, "override_audit_trustpolicy.json");
    CHECK(st != NULL && st->level == PG_LEVEL_AUDIT && actions_are(st, E, E, E, E, E));
    pg_policy_free(p);
    CHECK(accepts(STRICT_BODY("[\"*\"]", "[\"*\"]")));
    CHECK(accepts("\"registryScopes\":[\"*\"],\"signatureVerification\":{\"level\":\"strict\","
                  "\"override\":{\"revocation\":\"skip\"}},\"trustStores\":[\"ca:a\"],"
                  "\"trustedIdentities\":[\"*\"]"));
}

static void verify_timestamp_option_is_read(void)
{
    struct pg_policy *p = NULL;
    const struct pg_statement *st;

    st = first(&p, "timestamp_after_cert_expiry_trustpolicy.json");
    CHECK(st != NULL && st->verify_timestamp == PG_VERIFY_TS_AFTER_CERT_EXPIRY);
    CHECK(st != NULL && st->n_stores == 2 && st->stores[1].type == PG_STORE_TSA);
    pg_policy_free(p);
    st = first(&p, "timestamp_trustpolicy.json");
    CHECK(st != NULL && st->verify_timestamp == PG_VERIFY_TS_ALWAYS);
    pg_policy_free(p);
    st = first(&p, "trustpolicy.json");
    CHECK(st != NULL && st->verify_timestamp == PG_VERIFY_TS_ALWAYS);
    pg_policy_free(p);
}

#define SV(x) "\"registryScopes\":[\"*\"],\"signatureVerification\":" x
#define STORES_IDS ",\"trustStores\":[\"ca:a\"],\"trustedIdentities\":[\"*\"]"

static void signature_verification_rules_are_enforced(void)
{
    CHECK(rejects_with(SV("{}") STORES_IDS, "\"wabbit\" : signatureVerification.level is "
                                            "missing"));
    CHECK(rejects_with("\"registryScopes\":[\"*\"]" STORES_IDS, "level is missing"));
    CHECK(rejects_with(SV("{\"level\":\"Strict\"}") STORES_IDS, "\"Strict\" is not one of"));
    CHECK(rejects_with(SV("{\"level\":\"skip\",\"override\":{\"revocation\":\"skip\"}}"),
                       "level skip cannot be customised"));
    CHECK(rejects_with(SV("{\"level\":\"strict\",\"override\":{\"expiry\":\"skip\"}}") STORES_IDS,
                       "cannot skip expiry"));
    CHECK(rejects_with(SV("{\"level\":\"strict\",\"override\":{\"integrity\":\"log\"}}") STORES_IDS,
                       "cannot change integrity"));
    CHECK(rejects_with(SV("{\"level\":\"strict\",\"override\":{\"expiry\":\"warn\"}}") STORES_IDS,
                       "\"warn\" is not one of enforce, log, skip"));
    CHECK(rejects_with(SV("{\"level\":\"strict\",\"override\":{\"validity\":\"log\"}}") STORES_IDS,
                       "override \"validity\" is not one of"));
    CHECK(rejects_with(SV("{\"level\":\"strict\",\"verifyTimestamp\":\"never\"}") STORES_IDS,
                       "verifyTimestamp \"never\""));
    CHECK(rejects_with(SV("{\"level\":\"skip\"}") ",\"trustStores\":[\"ca:a\"]",
                       "level skip cannot have trustStores"));
    CHECK(accepts(SV("{\"level\":\"skip\",\"override\":{}}")));
    CHECK(accepts(SV("{\"level\":\"audit\",\"verifyTimestamp\":\"\"}") STORES_IDS));
}

static void trust_store_rules_are_enforced(void)
{
    CHECK(rejects_with(SV("{\"level\":\"strict\"}") ",\"trustStores\":[\"acme\"],"
                                                    "\"trustedIdentities\":[\"*\"]",
                       "trust store \"acme\" is not of the form type:name"));
    CHECK(rejects_with(SV("{\"level\":\"strict\"}") ",\"trustStores\":[\"x509:a\"],"
                                                    "\"trustedIdentities\":[\"*\"]",
                       "has a type that is not one of ca, signingAuthority, tsa"));
    CHECK(rejects_with(SV("{\"level\":\"strict\"}") ",\"trustStores\":[\"ca:a/b\"],"
                                                    "\"trustedIdentities\":[\"*\"]",
                       "has the name \"a/b\""));
    CHECK(rejects_with(SV("{\"level\":\"strict\"}") ",\"trustStores\":[\"ca:a:b\"],"
                                                    "\"trustedIdentities\":[\"*\"]",
                       "has the name \"a:b\""));
    CHECK(accepts(SV("{\"level\":\"strict\"}") ",\"trustStores\":[\"tsa:A-z_0.9\",\"ca:x\"],"
                                               "\"trustedIdentities\":[\"*\"]"));
}

#define IDS(x) SV("{\"level\":\"strict\"}") ",\"trustStores\":[\"ca:a\"],\"trustedIdentities\":" x

static void trusted_identity_rules_are_enforced(void)
{
    CHECK(rejects_with(IDS("[\"x509.subject:\"]"), "has no value after x509.subject:"));
    CHECK(rejects_with(IDS("[\"x509.subject:C=US,ST=WA,O=a=#01\"]"), "contains \"=#\""));
    CHECK(rejects_with(IDS("[\"x509.subject:C=US+ST=WA,O=a\"]"), "multi-valued RDN"));
    CHECK(rejects_with(IDS("[\"x509.subject:C=US,ST=WA,O=a,O=b\"]"),
                       "repeats the attribute type \"O\""));
    CHECK(rejects_with(IDS("[\"x509.subject:C=US,ST=WA,O=a,OU=x\",\"x509.subject:C=US,ST=WA,"
                           "O=a\"]"),
                       "overlap"));
    CHECK(rejects_with(IDS("[\"x509.subject:C=US,ST=WA,O=a\",\"x509.subject:C=US,ST=WA,O=a\"]"),
                       "overlap"));
    /* S is ST; plugin prefixes and values with other prefixes are accepted */
    CHECK(accepts(IDS("[\"x509.subject:C=US,S=WA,O=a\"]")));
    CHECK(accepts(IDS("[\"x509.subject: C = US , ST = WA , O = a\",\"x509.subject:C=US,ST=WA,"
                      "O=b\"]")));
    CHECK(accepts(IDS("[\"arn:aws:signer:us-west-2:123:/signing-profiles/p\"]")));
    CHECK(accepts(IDS("[\"X509.subject:whatever\"]")));
    CHECK(rejects_with(IDS("[\"x509.subject:C=US,ST=WA,O=a\",\"*\"]"),
                       "trusted identity \"*\" cannot be combined"));
}

static void registry_scope_rules_are_enforced(void)
{
    static const char *const bad[] = {
        "nginx",
        "docker.io/Library/nginx",
        "docker.io/library/nginx:latest",
        "docker.io/library/nginx@sha256:00",
        "https://docker.io/library/nginx",
        "-docker.io/a",
        "docker.io/a//b",
        "docker.io/a/",
        "/a",
        "docker.io:/a",
        "docker.io/a..b",
        "docker.io/a___b",
        "docker.io/a_-b",
        "docker.io/-a",
        "docker..io/a",
    };
    static const char *const good[] = {
        "docker.io/library/nginx",
        "localhost:5000/a",
        "LOCALHOST/a",
        "a/b/c/d",
        "r.io/a--b",
        "r.io/a__b",
        "r.io/a.b_c-d",
        "127.0.0.1:443/x",
        "r-1.example/x0",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (pg_policy_scope_is_valid(bad[i])) {
            fprintf(stderr, "    accepted %s\n", bad[i]);
        }
        CHECK(!pg_policy_scope_is_valid(bad[i]));
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!pg_policy_scope_is_valid(good[i])) {
            fprintf(stderr, "    refused %s\n", good[i]);
        }
        CHECK(pg_policy_scope_is_valid(good[i]));
    }
    CHECK(rejects_with(STRICT_BODY("[\"r.io/*\"]", "[\"*\"]"),
                       "registry scope \"r.io/*\" has a wildcard"));
    CHECK(rejects_with(STRICT_BODY("[\"x\"]", "[\"*\"]"),
                       "trust policy statement \"wabbit\" : registry scope \"x\" is not of the "
                       "form registry/repository"));
    CHECK(rejects_with(STRICT_BODY("[]", "[\"*\"]"), "registryScopes is empty"));
}

static void document_rules_are_enforced(void)
{
    struct pg_policy *p = NULL;
    struct pg_err err;

    CHECK(parse_str("{\"trustPolicies\":[]}", &p, &err) == PG_ERR_POLICY_INVALID &&
          strstr(err.msg, "no version") != NULL);
    CHECK(parse_str("{\"version\":\"1.1\",\"trustPolicies\":[]}", &p, &err) != PG_OK &&
          strstr(err.msg, "\"1.1\" is not supported") != NULL);
    CHECK(parse_str("{\"version\":\"1.0\",\"trustPolicies\":[]}", &p, &err) != PG_OK &&
          strstr(err.msg, "no statements") != NULL);
    CHECK(parse_str("{\"version\":\"1.0\"}", &p, &err) != PG_OK &&
          strstr(err.msg, "no statements") != NULL);
    CHECK(parse_str("{\"version\":1}", &p, &err) != PG_OK &&
          strstr(err.msg, "\"version\" must be a string") != NULL);
    CHECK(parse_str("[]", &p, &err) != PG_OK && strstr(err.msg, "not a JSON object") != NULL);
    CHECK(parse_str("{\"version\":\"1.0\",\"trustPolicies\":[{\"registryScopes\":[\"*\"]}]}", &p,
                    &err) != PG_OK &&
          strstr(err.msg, "statement 1 (counting from 1) has no name") != NULL);
    CHECK(parse_str("{\"version\":\"1.0\",\"trustPolicies\":[null]}", &p, &err) != PG_OK &&
          strstr(err.msg, "has no name") != NULL);
    CHECK(p == NULL);
}

static void duplicate_keys_are_rejected(void)
{
    struct pg_policy *p = NULL;
    struct pg_err err;

    CHECK(parse_str("{\"version\":\"1.0\",\"version\":\"1.0\",\"trustPolicies\":[]}", &p, &err) ==
              PG_ERR_POLICY_INVALID &&
          strstr(err.msg, "duplicate") != NULL);
    /* Go's decoder binds member names without regard to case: two spellings are a repeat */
    CHECK(parse_str("{\"version\":\"1.0\",\"Version\":\"2\",\"trustPolicies\":[]}", &p, &err) ==
              PG_ERR_POLICY_INVALID &&
          strstr(err.msg, "more than one member named \"version\"") != NULL);
    CHECK(p == NULL);
}

static void member_names_bind_as_in_notation(void)
{
    struct pg_policy *p = NULL;
    struct pg_err err;
    const struct pg_statement *st;

    /* TRUSTPOLICIES and the long s (U+017F) in "trustStores" bind like Go's decoder binds them */
    REQUIRE(parse_str("{\"VERSION\":\"1.0\",\"TrustPolicies\":[{\"name\":\"n\",\"comment\":1,"
                      "\"registryScopes\":[\"*\"],\"signatureVerification\":{\"Level\":\"audit\","
                      "\"extra\":[]},\"tru\xc5\xbftStores\":[\"ca:a\"],\"trustedidentities\":"
                      "[\"*\"]}]}",
                      &p, &err) == PG_OK);
    st = pg_policy_statement(p, 0);
    CHECK(st != NULL && st->level == PG_LEVEL_AUDIT && st->n_stores == 1);
    CHECK(pg_policy_path(p) == NULL && pg_policy_count(p) == 1);
    CHECK(pg_policy_statement(p, 1) == NULL);
    pg_policy_free(p);
}

static void trailing_data_and_oversize_are_rejected(void)
{
    struct pg_policy *p = NULL;
    struct pg_err err;
    char *big;

    CHECK(parse_str("{\"version\":\"1.0\"} {}", &p, &err) == PG_ERR_POLICY_INVALID);
    CHECK(parse_str("{\"version\":\"1.0\\u0000\"}", &p, &err) == PG_ERR_POLICY_INVALID);
    big = pg_calloc(PG_POLICY_MAX_BYTES + 2, 1);
    REQUIRE(big != NULL);
    memset(big, ' ', PG_POLICY_MAX_BYTES + 1);
    big[0] = '{';
    big[PG_POLICY_MAX_BYTES] = '}';
    pg_err_init(&err);
    CHECK(pg_policy_parse(big, PG_POLICY_MAX_BYTES + 1, &p, &err) == PG_ERR_LIMIT);
    pg_free(big);
    CHECK(p == NULL);
}

static void statement_limits_hold(void)
{
    size_t n = PG_POLICY_MAX_IDENTITIES + 1;
    size_t cap = n * 40 + 300;
    char *doc = pg_malloc(cap);
    size_t off;
    size_t i;
    struct pg_policy *p = NULL;
    struct pg_err err;

    REQUIRE(doc != NULL);
    off = (size_t)snprintf(doc, cap,
                           "{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"n\","
                           "\"registryScopes\":[\"*\"],\"signatureVerification\":"
                           "{\"level\":\"strict\"},\"trustStores\":[\"ca:a\"],"
                           "\"trustedIdentities\":[");
    for (i = 0; i < n; i++) {
        off += (size_t)snprintf(doc + off, cap - off, "%s\"x509.subject:C=US,ST=WA,O=%zu\"",
                                i > 0 ? "," : "", i);
    }
    snprintf(doc + off, cap - off, "]}]}");
    CHECK(parse_str(doc, &p, &err) == PG_ERR_POLICY_INVALID &&
          strstr(err.msg, "more than 256 entries") != NULL);
    pg_free(doc);
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char *path = pg_asprintf("%s/%s", dir, name);
    FILE *f = path != NULL ? fopen(path, "w") : NULL;
    int ok = f != NULL && fputs(text, f) >= 0;

    if (f != NULL) {
        ok = fclose(f) == 0 && ok;
    }
    pg_free(path);
    return ok;
}

static const char skip_doc[] = "{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"legacy\","
                               "\"registryScopes\":[\"*\"],\"signatureVerification\":"
                               "{\"level\":\"skip\"}}]}";

static void oci_policy_file_wins_over_legacy_name(void)
{
    char *dir = pg_check_tmpdir();
    struct pg_policy *p = NULL;
    struct pg_err err;

    REQUIRE(dir != NULL);
    pg_err_init(&err);
    CHECK(pg_policy_load_dir(dir, &p, &err) == PG_ERR_POLICY_MISSING);
    CHECK(strstr(err.msg, "no trust policy") != NULL);
    CHECK(write_file(dir, "trustpolicy.json", skip_doc));
    pg_err_init(&err);
    REQUIRE(pg_policy_load_dir(dir, &p, &err) == PG_OK);
    CHECK(strcmp(pg_policy_statement(p, 0)->name, "legacy") == 0);
    CHECK(strstr(pg_policy_path(p), "/trustpolicy.json") != NULL);
    pg_policy_free(p);
    p = NULL;
    CHECK(write_file(dir, "trustpolicy.oci.json", ng_a_policy));
    pg_err_init(&err);
    REQUIRE(pg_policy_load_dir(dir, &p, &err) == PG_OK);
    CHECK(strcmp(pg_policy_statement(p, 0)->name, "test-statement-name") == 0);
    pg_policy_free(p);
    p = NULL;
    /* a broken oci policy is an error even though trustpolicy.json is fine */
    CHECK(write_file(dir, "trustpolicy.oci.json", "{"));
    pg_err_init(&err);
    CHECK(pg_policy_load_dir(dir, &p, &err) == PG_ERR_POLICY_INVALID && p == NULL);
    CHECK(strstr(err.msg, "trustpolicy.oci.json: trust policy is not valid JSON") != NULL);
    pg_check_rmtree(dir);
    pg_free(dir);
}

static void symlinked_or_odd_policy_files_are_refused(void)
{
    char *dir = pg_check_tmpdir();
    char *target = dir != NULL ? pg_asprintf("%s/real.json", dir) : NULL;
    char *link_path = dir != NULL ? pg_asprintf("%s/trustpolicy.oci.json", dir) : NULL;
    char *legacy = dir != NULL ? pg_asprintf("%s/trustpolicy.json", dir) : NULL;
    struct pg_policy *p = NULL;
    struct pg_err err;

    REQUIRE(target != NULL && link_path != NULL && legacy != NULL);
    CHECK(write_file(dir, "real.json", skip_doc));
    CHECK(symlink(target, link_path) == 0);
    pg_err_init(&err);
    CHECK(pg_policy_load_dir(dir, &p, &err) == PG_ERR_POLICY_INVALID && p == NULL);
    CHECK(strstr(err.msg, "not a regular file") != NULL);
    CHECK(unlink(link_path) == 0);
    CHECK(mkdir(legacy, 0700) == 0);
    pg_err_init(&err);
    CHECK(pg_policy_load_dir(dir, &p, &err) == PG_ERR_POLICY_INVALID && p == NULL);
    CHECK(rmdir(legacy) == 0);
    CHECK(mkfifo(legacy, 0600) == 0);
    pg_err_init(&err);
    CHECK(pg_policy_load_dir(dir, &p, &err) == PG_ERR_POLICY_INVALID && p == NULL);
    pg_check_rmtree(dir);
    pg_free(target);
    pg_free(link_path);
    pg_free(legacy);
    pg_free(dir);
}

static void running_out_of_memory_is_an_error(void)
{
    long n;
    int saw_ok = 0;

    for (n = 0; n < 400 && !saw_ok; n++) {
        struct pg_policy *p = NULL;
        struct pg_err err;
        enum pg_status rc;

        pg_err_init(&err);
        pg_mem_fail_after(n);
        rc = pg_policy_parse(ng_a_policy, strlen(ng_a_policy), &p, &err);
        pg_mem_fail_after(-1);
        if (rc != PG_OK && rc != PG_ERR_NOMEM) {
            fprintf(stderr, "    after %ld allocations: %s\n", n, err.msg);
        }
        CHECK(rc == PG_OK || rc == PG_ERR_NOMEM);
        CHECK((rc == PG_OK) == (p != NULL));
        saw_ok = rc == PG_OK;
        pg_policy_free(p);
    }
    CHECK(saw_ok);
}

int main(void)
{
    PG_RUN("every notation trust policy vector is classified as notation classifies it",
           vectors_classified_as_notation_does);
    PG_RUN("the vector table covers every trust policy vector file",
           every_vector_file_is_in_the_table);
    PG_RUN("the NG-A policy is valid and selects its statement for its repository",
           ng_a_policy_selects_its_statement);
    PG_RUN("an exact registry scope wins over the wildcard statement", exact_scope_beats_wildcard);
    PG_RUN("a registry spelled with other case or :443 selects the same statement",
           registry_spelled_differently_selects_the_same_statement);
    PG_RUN("two statements naming one registry in different spellings are refused",
           two_statements_for_one_registry_spelling_are_refused);
    PG_RUN("a repository no statement covers gets no statement",
           repository_without_statement_is_refused);
    PG_RUN("levels map to notation's actions table", levels_map_to_the_actions_table);
    PG_RUN("overrides replace entries of the base level", overrides_replace_level_entries);
    PG_RUN("verifyTimestamp is read, defaulting to always", verify_timestamp_option_is_read);
    PG_RUN("signatureVerification rules are enforced", signature_verification_rules_are_enforced);
    PG_RUN("trust store reference rules are enforced", trust_store_rules_are_enforced);
    PG_RUN("trusted identity rules are enforced", trusted_identity_rules_are_enforced);
    PG_RUN("registry scope rules are enforced", registry_scope_rules_are_enforced);
    PG_RUN("document-level rules are enforced", document_rules_are_enforced);
    PG_RUN("duplicate member names are rejected", duplicate_keys_are_rejected);
    PG_RUN("member names bind as notation binds them; unknown members are ignored",
           member_names_bind_as_in_notation);
    PG_RUN("trailing data, NUL characters and oversize documents are rejected",
           trailing_data_and_oversize_are_rejected);
    PG_RUN("per-statement limits hold", statement_limits_hold);
    PG_RUN("trustpolicy.oci.json wins over trustpolicy.json",
           oci_policy_file_wins_over_legacy_name);
    PG_RUN("symlinked, directory and fifo policy files are refused",
           symlinked_or_odd_policy_files_are_refused);
    PG_RUN("running out of memory while parsing is an ordinary error",
           running_out_of_memory_is_an_error);
    return pg_check_done();
}
