/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the trust policy parser (policy.c) and the distinguished
 * name parser (dn.c): any bytes must give a validated policy or a refusal
 * with a message, never a crash. A policy that parses is then held to the
 * invariants verification relies on: every statement is selected for its
 * own scopes, its x509.subject identities parse, and identity checks against
 * a fixed certificate end in a match or an identity failure. The same bytes
 * are also parsed as a distinguished name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "dn.h"
#include "identity.h"
#include "mem.h"
#include "policy.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *leaf(void)
{
    static X509 *cert;
    static const char *const fields[][2] = {
        {"C", "US"}, {"ST", "WA"}, {"L", "Seattle"}, {"O", "Notary"}, {"CN", "e2e"}};
    if (cert == NULL) {
        size_t i;

        cert = X509_new();
        for (i = 0; cert != NULL && i < 5; i++) {
            X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), fields[i][0], MBSTRING_ASC,
                                       (const unsigned char *)fields[i][1], -1, -1, 0);
        }
    }
    return cert;
}

static void check_statement(const struct pg_policy *p, const struct pg_statement *st)
{
    struct pg_err err;
    enum pg_status rc;
    size_t i;

    for (i = 0; i < st->n_scopes; i++) {
        if (strcmp(st->scopes[i], "*") == 0) {
            continue;
        }
        pg_err_init(&err);
        if (!pg_policy_scope_is_valid(st->scopes[i]) ||
            pg_policy_select(p, st->scopes[i], &err) != st) {
            abort();
        }
    }
    for (i = 0; i < st->n_identities; i++) {
        struct pg_dn dn = {NULL, 0};

        pg_err_init(&err);
        if (strncmp(st->identities[i], "x509.subject:", 13) == 0 &&
            pg_dn_parse(st->identities[i] + 13, &dn, &err) != PG_OK) {
            abort();
        }
        pg_dn_clear(&dn);
    }
    pg_err_init(&err);
    rc = pg_identity_check(st, leaf(), &err);
    if (st->level != PG_LEVEL_SKIP && rc != PG_OK && rc != PG_ERR_SIG_IDENTITY) {
        abort();
    }
}

static void fuzz_policy(const char *text, size_t size)
{
    struct pg_policy *p = NULL;
    struct pg_err err;
    size_t i;

    pg_err_init(&err);
    if (pg_policy_parse(text, size, &p, &err) != PG_OK) {
        if (p != NULL || err.msg[0] == '\0') {
            abort();
        }
        return;
    }
    if (p == NULL || pg_policy_count(p) == 0) {
        abort();
    }
    for (i = 0; i < pg_policy_count(p); i++) {
        check_statement(p, pg_policy_statement(p, i));
    }
    pg_policy_free(p);
}

static void fuzz_dn(const char *text)
{
    struct pg_dn dn = {NULL, 0};
    struct pg_err err;

    pg_err_init(&err);
    if (pg_dn_parse(text, &dn, &err) == PG_OK) {
        if (pg_dn_get(&dn, "C") == NULL || pg_dn_get(&dn, "ST") == NULL ||
            pg_dn_get(&dn, "O") == NULL || !pg_dn_is_subset(&dn, &dn)) {
            abort();
        }
    } else if (dn.attrs != NULL || err.msg[0] == '\0') {
        abort();
    }
    pg_dn_clear(&dn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = pg_malloc(size + 1);

    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_policy(text, size);
    fuzz_dn(text);
    pg_free(text);
    return 0;
}
