/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trusted identities at verification time: "*" admits any signer; otherwise
 * the signing (leaf) certificate's subject must hold every attribute of one
 * x509.subject identity. Identities with other prefixes belong to
 * verification plugins and are ignored here. Parsing names lives in dn.c;
 * when a plugin takes over identity checks is decided in sigverify.c.
 */
#include "identity.h"

#include <string.h>

#include "dn.h"
#include "mem.h"

#define X509_PREFIX "x509.subject:"
#define ESC 200

static int has_wildcard(const struct pg_statement *st)
{
    size_t i;

    for (i = 0; i < st->n_identities; i++) {
        if (strcmp(st->identities[i], "*") == 0) {
            return 1;
        }
    }
    return 0;
}

/* Parses the statement's x509.subject identities into *out (caller clears each). */
static enum pg_status parse_identities(const struct pg_statement *st, struct pg_dn **out,
                                       size_t *out_n, struct pg_err *err)
{
    struct pg_dn *dns = pg_calloc(st->n_identities + 1, sizeof(*dns));
    enum pg_status rc = PG_OK;
    size_t n = 0;
    size_t i;

    if (dns == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory checking trusted identities");
    }
    for (i = 0; i < st->n_identities && rc == PG_OK; i++) {
        const char *id = st->identities[i];
        struct pg_err local;

        if (strncmp(id, X509_PREFIX, strlen(X509_PREFIX)) != 0) {
            continue;
        }
        pg_err_init(&local);
        rc = pg_dn_parse(id + strlen(X509_PREFIX), &dns[n], &local);
        if (rc == PG_OK) {
            n++;
        } else {
            char name[ESC];

            rc = pg_err_set(err, rc == PG_ERR_NOMEM ? rc : PG_ERR_SIG_IDENTITY,
                            "trust policy statement \"%s\" has a trusted identity that cannot "
                            "be used: %s",
                            pg_escape(name, sizeof(name), st->name, strlen(st->name)), local.msg);
        }
    }
    *out = dns;
    *out_n = n;
    return rc;
}

/* The failure message for a subject that matched none of the identities. */
static enum pg_status no_match(const struct pg_statement *st, X509 *leaf, struct pg_err *err)
{
    char *text = NULL;
    size_t len = 0;
    char esc[ESC];
    char name[ESC];
    struct pg_err local;

    pg_err_init(&local);
    if (pg_dn_cert_subject_text(leaf, &text, &len, &local) != PG_OK) {
        len = 0;
    }
    pg_escape(esc, sizeof(esc), text, len);
    pg_free(text);
    return pg_err_set(err, PG_ERR_SIG_IDENTITY,
                      "signing certificate subject \"%s\" matches none of the x509.subject "
                      "trusted identities of trust policy statement \"%s\"",
                      esc, pg_escape(name, sizeof(name), st->name, strlen(st->name)));
}

/* PG_OK when the leaf's subject holds every attribute of one of trusted[0..n). */
static enum pg_status match_leaf(const struct pg_statement *st, const struct pg_dn *trusted,
                                 size_t n, X509 *leaf, struct pg_err *err)
{
    struct pg_dn subject = {NULL, 0};
    struct pg_err local;
    enum pg_status rc;
    size_t i;

    pg_err_init(&local);
    rc = pg_dn_from_cert(leaf, &subject, &local);
    if (rc != PG_OK) {
        return pg_err_set(err, rc == PG_ERR_NOMEM ? rc : PG_ERR_SIG_IDENTITY,
                          "signing certificate subject cannot match x509.subject identities: %s",
                          local.msg);
    }
    rc = PG_ERR_SIG_IDENTITY;
    for (i = 0; i < n && rc != PG_OK; i++) {
        rc = pg_dn_is_subset(&trusted[i], &subject) ? PG_OK : rc;
    }
    pg_dn_clear(&subject);
    return rc == PG_OK ? PG_OK : no_match(st, leaf, err);
}

enum pg_status pg_identity_check(const struct pg_statement *statement, X509 *leaf,
                                 struct pg_err *err)
{
    struct pg_dn *trusted = NULL;
    char name[ESC];
    size_t n = 0;
    size_t i;
    enum pg_status rc;

    if (statement == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no trust policy statement given");
    }
    if (has_wildcard(statement)) {
        return PG_OK;
    }
    rc = parse_identities(statement, &trusted, &n, err);
    if (rc != PG_OK) {
        goto out;
    }
    if (n == 0) {
        rc = pg_err_set(err, PG_ERR_SIG_IDENTITY,
                        "trust policy statement \"%s\" has no x509.subject trusted identities "
                        "(identities with other prefixes need a verification plugin)",
                        pg_escape(name, sizeof(name), statement->name, strlen(statement->name)));
        goto out;
    }
    if (leaf == NULL) {
        rc = pg_err_set(err, PG_ERR_INVALID_ARG, "no signing certificate given");
        goto out;
    }
    rc = match_leaf(statement, trusted, n, leaf, err);
out:
    for (i = 0; trusted != NULL && i < n; i++) {
        pg_dn_clear(&trusted[i]);
    }
    pg_free(trusted);
    return rc;
}
