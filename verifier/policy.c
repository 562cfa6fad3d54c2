/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust policy: reads trustpolicy.oci.json (else trustpolicy.json) into an
 * immutable pg_policy, holding it to every rule notation applies before it
 * verifies anything, in notation's order, so the first broken rule is the
 * one reported. Picks the statement that governs a repository. What the
 * levels mean at verification time lives in sigverify.c; trusted identities
 * are matched in identity.c, trust stores are loaded by trust.c.
 */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "dn.h"
#include "mem.h"

#define ESC 160
#define X509_SUBJECT "x509.subject"

struct raw_override {
    char *type;
    char *action;
};

/* What a statement says before it is validated, beside struct pg_statement. */
struct raw_statement {
    char *level;
    char *verify_timestamp;
    struct raw_override *overrides;
    size_t n_overrides;
    char **stores;
    size_t n_stores;
};

struct pg_policy {
    char *path;
    char *version;
    struct pg_statement *statements;
    size_t n;
};

static const enum pg_action level_actions[][PG_CHECK_COUNT] = {
    [PG_LEVEL_STRICT] = {PG_ACTION_ENFORCE, PG_ACTION_ENFORCE, PG_ACTION_ENFORCE, PG_ACTION_ENFORCE,
                         PG_ACTION_ENFORCE},
    [PG_LEVEL_PERMISSIVE] = {PG_ACTION_ENFORCE, PG_ACTION_ENFORCE, PG_ACTION_LOG, PG_ACTION_LOG,
                             PG_ACTION_LOG},
    [PG_LEVEL_AUDIT] = {PG_ACTION_ENFORCE, PG_ACTION_LOG, PG_ACTION_LOG, PG_ACTION_LOG,
                        PG_ACTION_LOG},
    [PG_LEVEL_SKIP] = {PG_ACTION_SKIP, PG_ACTION_SKIP, PG_ACTION_SKIP, PG_ACTION_SKIP,
                       PG_ACTION_SKIP},
};

static char *esc(char *dst, const char *s)
{
    return pg_escape(dst, ESC, s, s != NULL ? strlen(s) : 0);
}

/* A failure of statement st: `trust policy statement "<name>" : <rule>`. */
static enum pg_status stmt_err(struct pg_err *err, const struct pg_statement *st, const char *fmt,
                               ...) __attribute__((format(printf, 3, 4)));

static enum pg_status stmt_err(struct pg_err *err, const struct pg_statement *st, const char *fmt,
                               ...)
{
    char name[ESC];
    char rule[PG_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rule, sizeof(rule), fmt, ap);
    va_end(ap);
    return pg_err_set(err, PG_ERR_POLICY_INVALID, "trust policy statement \"%s\" : %s",
                      esc(name, st->name), rule);
}

/*
 * Whether a member name binds to a field the way Go's JSON decoder binds
 * it: ASCII letters in any case, and the two non-ASCII letters that fold to
 * ASCII ones (U+017F to s, U+212A to k).
 */
static int go_fold_equal(const char *key, const char *field)
{
    while (*field != '\0') {
        char f = (char)(*field >= 'A' && *field <= 'Z' ? *field + 32 : *field);

        if (f == 's' && strncmp(key, "\xc5\xbf", 2) == 0) {
            key += 2;
        } else if (f == 'k' && strncmp(key, "\xe2\x84\xaa", 3) == 0) {
            key += 3;
        } else if (*key != '\0' && (*key >= 'A' && *key <= 'Z' ? *key + 32 : *key) == f) {
            key++;
        } else {
            return 0;
        }
        field++;
    }
    return *key == '\0';
}

/* The member of obj that the field name binds to (NULL when none). */
static enum pg_status member(const json_t *obj, const char *field, const char *where, json_t **out,
                             struct pg_err *err)
{
    const char *key;
    json_t *value;
    json_t *found = NULL;
    char e1[ESC];

    json_object_foreach((json_t *)obj, key, value)
    {
        if (!go_fold_equal(key, field)) {
            continue;
        }
        if (found != NULL) {
            return pg_err_set(err, PG_ERR_POLICY_INVALID,
                              "trust policy %s has more than one member named \"%s\" "
                              "(names that differ only in case count as the same)",
                              where, esc(e1, field));
        }
        found = value;
    }
    *out = found;
    return PG_OK;
}

static enum pg_status type_err(struct pg_err *err, const char *where, const char *field,
                               const char *what)
{
    return pg_err_set(err, PG_ERR_POLICY_INVALID, "trust policy %s: \"%s\" must be %s", where,
                      field, what);
}

/* A string member; absent or null reads as "". */
static enum pg_status get_string(const json_t *obj, const char *field, const char *where,
                                 char **out, struct pg_err *err)
{
    json_t *v = NULL;
    enum pg_status rc;

    rc = member(obj, field, where, &v, err);
    if (rc != PG_OK) {
        return rc;
    }
    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
        return type_err(err, where, field, "a string");
    }
    *out = pg_strdup(v != NULL && json_is_string(v) ? json_string_value(v) : "");
    return *out != NULL ? PG_OK : pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
}

static void free_strings(char **v, size_t n)
{
    size_t i;

    for (i = 0; v != NULL && i < n; i++) {
        pg_free(v[i]);
    }
    pg_free(v);
}

/* Copies a JSON array of strings (null elements read as ""). */
static enum pg_status copy_strings(const json_t *arr, char ***out, size_t *out_n,
                                   struct pg_err *err)
{
    char **v = pg_calloc(json_array_size(arr) + 1, sizeof(*v));
    size_t i;

    if (v == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
    }
    for (i = 0; i < json_array_size(arr); i++) {
        const json_t *e = json_array_get(arr, i);

        v[i] = pg_strdup(json_is_string(e) ? json_string_value(e) : "");
        if (v[i] == NULL) {
            free_strings(v, i);
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
        }
    }
    *out = v;
    *out_n = i;
    return PG_OK;
}

/* An array-of-strings member of at most max entries; absent or null is empty. */
static enum pg_status get_strings(const json_t *obj, const char *field, const char *where,
                                  size_t max, char ***out, size_t *out_n, struct pg_err *err)
{
    json_t *v = NULL;
    enum pg_status rc;
    size_t i;

    rc = member(obj, field, where, &v, err);
    if (rc != PG_OK || v == NULL || json_is_null(v)) {
        return rc;
    }
    if (!json_is_array(v)) {
        return type_err(err, where, field, "an array of strings");
    }
    for (i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);

        if (!json_is_string(e) && !json_is_null(e)) {
            return type_err(err, where, field, "an array of strings");
        }
    }
    if (json_array_size(v) > max) {
        return pg_err_set(err, PG_ERR_POLICY_INVALID,
                          "trust policy %s: \"%s\" has more than %zu entries", where, field, max);
    }
    return copy_strings(v, out, out_n, err);
}

static enum pg_status get_overrides(const json_t *sv, const char *where, struct raw_statement *raw,
                                    struct pg_err *err)
{
    json_t *ov = NULL;
    const char *key;
    json_t *value;
    enum pg_status rc;

    rc = member(sv, "override", where, &ov, err);
    if (rc != PG_OK || ov == NULL || json_is_null(ov)) {
        return rc;
    }
    if (!json_is_object(ov)) {
        return type_err(err, where, "override", "an object of strings");
    }
    raw->overrides = pg_calloc(json_object_size(ov) + 1, sizeof(*raw->overrides));
    if (raw->overrides == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
    }
    json_object_foreach(ov, key, value)
    {
        struct raw_override *o = &raw->overrides[raw->n_overrides];

        if (!json_is_string(value) && !json_is_null(value)) {
            return type_err(err, where, "override", "an object of strings");
        }
        o->type = pg_strdup(key);
        o->action = pg_strdup(json_is_string(value) ? json_string_value(value) : "");
        raw->n_overrides++;
        if (o->type == NULL || o->action == NULL) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
        }
    }
    return PG_OK;
}

/* signatureVerification: level, override, verifyTimestamp. */
static enum pg_status decode_verification(const json_t *stmt, const char *where,
                                          struct raw_statement *raw, struct pg_err *err)
{
    char sub[96];
    json_t *sv = NULL;
    enum pg_status rc;

    rc = member(stmt, "signatureVerification", where, &sv, err);
    if (rc != PG_OK) {
        return rc;
    }
    if (sv != NULL && !json_is_null(sv) && !json_is_object(sv)) {
        return type_err(err, where, "signatureVerification", "an object");
    }
    if (sv == NULL || json_is_null(sv)) {
        raw->level = pg_strdup("");
        raw->verify_timestamp = pg_strdup("");
        return raw->level != NULL && raw->verify_timestamp != NULL
                   ? PG_OK
                   : pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
    }
    snprintf(sub, sizeof(sub), "%s.signatureVerification", where);
    rc = get_string(sv, "level", sub, &raw->level, err);
    if (rc == PG_OK) {
        rc = get_string(sv, "verifyTimestamp", sub, &raw->verify_timestamp, err);
    }
    if (rc == PG_OK) {
        rc = get_overrides(sv, sub, raw, err);
    }
    return rc;
}

/* One element of trustPolicies, without judging it. */
static enum pg_status decode_statement(const json_t *stmt, size_t i, struct pg_statement *st,
                                       struct raw_statement *raw, struct pg_err *err)
{
    char where[48];
    json_t *empty = NULL;
    enum pg_status rc;

    snprintf(where, sizeof(where), "trustPolicies[%zu]", i);
    if (json_is_null(stmt)) {
        /* Go's decoder reads null as an empty statement */
        stmt = empty = json_object();
        if (empty == NULL) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
        }
    } else if (!json_is_object(stmt)) {
        return type_err(err, "document", where, "an object");
    }
    rc = get_string(stmt, "name", where, &st->name, err);
    if (rc == PG_OK) {
        rc = get_strings(stmt, "registryScopes", where, PG_POLICY_MAX_SCOPES, &st->scopes,
                         &st->n_scopes, err);
    }
    if (rc == PG_OK) {
        rc = decode_verification(stmt, where, raw, err);
    }
    if (rc == PG_OK) {
        rc = get_strings(stmt, "trustStores", where, PG_POLICY_MAX_STORES, &raw->stores,
                         &raw->n_stores, err);
    }
    if (rc == PG_OK) {
        rc = get_strings(stmt, "trustedIdentities", where, PG_POLICY_MAX_IDENTITIES,
                         &st->identities, &st->n_identities, err);
    }
    json_decref(empty);
    return rc;
}

/* version and trustPolicies. */
static enum pg_status decode_document(const json_t *root, struct pg_policy *p,
                                      struct raw_statement **out_raw, struct pg_err *err)
{
    json_t *list = NULL;
    enum pg_status rc;
    size_t i;

    rc = get_string(root, "version", "document", &p->version, err);
    if (rc == PG_OK) {
        rc = member(root, "trustPolicies", "document", &list, err);
    }
    if (rc != PG_OK || list == NULL || json_is_null(list)) {
        return rc;
    }
    if (!json_is_array(list)) {
        return type_err(err, "document", "trustPolicies", "an array of statements");
    }
    if (json_array_size(list) > PG_POLICY_MAX_STATEMENTS) {
        return pg_err_set(err, PG_ERR_POLICY_INVALID, "trust policy has more than %d statements",
                          PG_POLICY_MAX_STATEMENTS);
    }
    p->statements = pg_calloc(json_array_size(list) + 1, sizeof(*p->statements));
    *out_raw = pg_calloc(json_array_size(list) + 1, sizeof(**out_raw));
    if (p->statements == NULL || *out_raw == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
    }
    for (i = 0; i < json_array_size(list) && rc == PG_OK; i++) {
        p->n = i + 1;
        rc = decode_statement(json_array_get(list, i), i, &p->statements[i], &(*out_raw)[i], err);
    }
    return rc;
}

static int lookup(const char *s, const char *const *names, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* One override entry, in the order notation checks it. */
static enum pg_status apply_override(struct pg_statement *st, const struct raw_override *o,
                                     struct pg_err *err)
{
    static const char *const checks[] = {"integrity", "authenticity", "authenticTimestamp",
                                         "expiry", "revocation"};
    static const char *const actions[] = {"enforce", "log", "skip"};
    int c = lookup(o->type, checks, PG_CHECK_COUNT);
    int a = lookup(o->action, actions, 3);
    char e1[ESC];

    if (c < 0) {
        return stmt_err(err, st,
                        "override \"%s\" is not one of authenticity, authenticTimestamp, "
                        "expiry, revocation",
                        esc(e1, o->type));
    }
    if (a < 0) {
        return stmt_err(err, st, "override %s: \"%s\" is not one of enforce, log, skip", o->type,
                        esc(e1, o->action));
    }
    if (c == PG_CHECK_INTEGRITY) {
        return stmt_err(err, st, "override cannot change integrity, which is always enforced");
    }
    if (a == PG_ACTION_SKIP && c != PG_CHECK_REVOCATION) {
        return stmt_err(err, st, "override cannot skip %s; only revocation can be skipped",
                        o->type);
    }
    st->actions[c] = (enum pg_action)a;
    return PG_OK;
}

/* signatureVerification.level and override into the actions table. */
static enum pg_status check_level(struct pg_statement *st, const struct raw_statement *raw,
                                  struct pg_err *err)
{
    static const char *const levels[] = {"strict", "permissive", "audit", "skip"};
    int level = lookup(raw->level, levels, 4);
    enum pg_status rc = PG_OK;
    size_t i;

    if (raw->level[0] == '\0') {
        return stmt_err(err, st, "signatureVerification.level is missing");
    }
    if (level < 0) {
        char e1[ESC];

        return stmt_err(err, st,
                        "signatureVerification.level \"%s\" is not one of strict, permissive, "
                        "audit, skip",
                        esc(e1, raw->level));
    }
    st->level = (enum pg_level)level;
    memcpy(st->actions, level_actions[level], sizeof(st->actions));
    if (raw->n_overrides > 0 && st->level == PG_LEVEL_SKIP) {
        return stmt_err(err, st, "level skip cannot be customised with override");
    }
    for (i = 0; i < raw->n_overrides && rc == PG_OK; i++) {
        rc = apply_override(st, &raw->overrides[i], err);
    }
    st->has_override = raw->n_overrides > 0;
    return rc;
}

static enum pg_status check_verify_timestamp(struct pg_statement *st,
                                             const struct raw_statement *raw, struct pg_err *err)
{
    char e1[ESC];

    if (raw->verify_timestamp[0] == '\0' || strcmp(raw->verify_timestamp, "always") == 0) {
        st->verify_timestamp = PG_VERIFY_TS_ALWAYS;
        return PG_OK;
    }
    if (strcmp(raw->verify_timestamp, "afterCertExpiry") == 0) {
        st->verify_timestamp = PG_VERIFY_TS_AFTER_CERT_EXPIRY;
        return PG_OK;
    }
    return stmt_err(err, st, "verifyTimestamp \"%s\" is not one of always, afterCertExpiry",
                    esc(e1, raw->verify_timestamp));
}

static int is_store_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static int is_store_name(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!is_store_name_char(s[i])) {
            return 0;
        }
    }
    return i > 0;
}

/* The store type named by s[0..len), or -1. */
static int store_type(const char *s, size_t len)
{
    static const char *const types[] = {"ca", "signingAuthority", "tsa"};
    int k;

    for (k = 0; k < 3; k++) {
        if (strlen(types[k]) == len && memcmp(s, types[k], len) == 0) {
            return k;
        }
    }
    return -1;
}

/* One "type:name" entry of trustStores into *ref. */
static enum pg_status check_store(const struct pg_statement *st, const char *s,
                                  struct pg_store_ref *ref, struct pg_err *err)
{
    const char *colon = strchr(s, ':');
    char e1[ESC];
    char e2[ESC];
    int t;

    if (colon == NULL) {
        return stmt_err(err, st, "trust store \"%s\" is not of the form type:name", esc(e1, s));
    }
    t = store_type(s, (size_t)(colon - s));
    if (t < 0) {
        return stmt_err(err, st,
                        "trust store \"%s\" has a type that is not one of ca, "
                        "signingAuthority, tsa",
                        esc(e1, s));
    }
    if (!is_store_name(colon + 1)) {
        return stmt_err(err, st,
                        "trust store \"%s\" has the name \"%s\", which does not "
                        "match [a-zA-Z0-9_.-]+",
                        esc(e1, s), esc(e2, colon + 1));
    }
    ref->name = pg_strdup(colon + 1);
    if (ref->name == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
    }
    ref->type = (enum pg_store_type)t;
    return PG_OK;
}

/* Each "type:name" of trustStores into st->stores. */
static enum pg_status check_stores(struct pg_statement *st, const struct raw_statement *raw,
                                   struct pg_err *err)
{
    enum pg_status rc = PG_OK;
    size_t i;

    st->stores = pg_calloc(raw->n_stores + 1, sizeof(*st->stores));
    if (st->stores == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
    }
    for (i = 0; i < raw->n_stores && rc == PG_OK; i++) {
        rc = check_store(st, raw->stores[i], &st->stores[i], err);
        st->n_stores = rc == PG_OK ? i + 1 : i;
    }
    return rc;
}

/* No x509.subject identity may be a subset of another one. */
static enum pg_status check_overlap(const struct pg_statement *st, const struct pg_dn *dns,
                                    const size_t *which, size_t n, struct pg_err *err)
{
    char e1[ESC];
    char e2[ESC];
    size_t i;
    size_t j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            if (i != j && pg_dn_is_subset(&dns[i], &dns[j])) {
                return stmt_err(err, st,
                                "trusted identities \"%s\" and \"%s\" overlap: every attribute "
                                "of the first is in the second",
                                esc(e1, st->identities[which[i]]),
                                esc(e2, st->identities[which[j]]));
            }
        }
    }
    return PG_OK;
}

/* One trustedIdentities entry; an x509.subject one is parsed into *dn. */
static enum pg_status check_identity(const struct pg_statement *st, const char *id,
                                     struct pg_dn *dn, int *is_dn, struct pg_err *err)
{
    const char *colon = strchr(id, ':');
    struct pg_err local;
    enum pg_status rc;
    char e1[ESC];

    *is_dn = 0;
    if (id[0] == '\0') {
        return stmt_err(err, st, "a trusted identity is empty");
    }
    if (strcmp(id, "*") == 0) {
        return PG_OK;
    }
    if (colon == NULL) {
        return stmt_err(err, st, "trusted identity \"%s\" is not of the form prefix:value",
                        esc(e1, id));
    }
    if ((size_t)(colon - id) != strlen(X509_SUBJECT) || strncmp(id, X509_SUBJECT, 12) != 0) {
        return PG_OK; /* other prefixes are for verification plugins */
    }
    if (colon[1] == '\0') {
        return stmt_err(err, st,
                        "trusted identity \"%s\" has no value after x509.subject:", esc(e1, id));
    }
    pg_err_init(&local);
    rc = pg_dn_parse(colon + 1, dn, &local);
    if (rc == PG_ERR_NOMEM) {
        return pg_err_set(err, rc, "%s", local.msg);
    }
    if (rc != PG_OK) {
        return stmt_err(err, st, "trusted identity \"%s\" is not valid: %s", esc(e1, id),
                        local.msg);
    }
    *is_dn = 1;
    return PG_OK;
}

static enum pg_status check_identities(const struct pg_statement *st, struct pg_err *err)
{
    struct pg_dn *dns = pg_calloc(st->n_identities + 1, sizeof(*dns));
    size_t *which = pg_calloc(st->n_identities + 1, sizeof(*which));
    enum pg_status rc = PG_OK;
    size_t n = 0;
    size_t i;

    if (dns == NULL || which == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
        goto out;
    }
    for (i = 0; i < st->n_identities && st->n_identities > 1; i++) {
        if (strcmp(st->identities[i], "*") == 0) {
            rc = stmt_err(err, st, "trusted identity \"*\" cannot be combined with others");
            goto out;
        }
    }
    for (i = 0; i < st->n_identities && rc == PG_OK; i++) {
        int is_dn = 0;

        rc = check_identity(st, st->identities[i], &dns[n], &is_dn, err);
        which[n] = i;
        n += (size_t)is_dn;
    }
    if (rc == PG_OK) {
        rc = check_overlap(st, dns, which, n, err);
    }
out:
    for (i = 0; dns != NULL && i < n; i++) {
        pg_dn_clear(&dns[i]);
    }
    pg_free(dns);
    pg_free(which);
    return rc;
}

/* Everything notation checks statement by statement, in its order. */
static enum pg_status check_statement(struct pg_policy *p, size_t i,
                                      const struct raw_statement *raw, struct pg_err *err)
{
    struct pg_statement *st = &p->statements[i];
    enum pg_status rc;
    size_t j;

    for (j = 0; j < i; j++) {
        if (strcmp(p->statements[j].name, st->name) == 0) {
            return stmt_err(err, st,
                            "the name is already used by an earlier statement; "
                            "statement names must be unique");
        }
    }
    if (st->name[0] == '\0') {
        return pg_err_set(err, PG_ERR_POLICY_INVALID,
                          "trust policy statement %zu (counting from 1) has no name", i + 1);
    }
    rc = check_level(st, raw, err);
    if (rc == PG_OK) {
        rc = check_verify_timestamp(st, raw, err);
    }
    if (rc != PG_OK) {
        return rc;
    }
    if (st->level == PG_LEVEL_SKIP) {
        return raw->n_stores == 0 && st->n_identities == 0
                   ? PG_OK
                   : stmt_err(err, st, "level skip cannot have trustStores or trustedIdentities");
    }
    if (raw->n_stores == 0 || st->n_identities == 0) {
        return stmt_err(err, st,
                        "trustStores and trustedIdentities must both be set unless "
                        "the level is skip");
    }
    rc = check_stores(st, raw, err);
    return rc == PG_OK ? check_identities(st, err) : rc;
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* "[hex:hex...]", the bracketed IPv6 host of a reference; returns its length or 0. */
static size_t ipv6_host_len(const char *s, size_t n)
{
    size_t i = 1;

    if (n < 3 || s[0] != '[') {
        return 0;
    }
    while (i < n && (isxdigit((unsigned char)s[i]) || s[i] == ':')) {
        i++;
    }
    return i > 1 && i < n && s[i] == ']' ? i + 1 : 0;
}

/*
 * label(.label)*(:port)? where a label is alphanumerics and inner hyphens, or
 * a bracketed IPv6 address with an optional port.
 */
static int is_domain(const char *s, size_t n)
{
    size_t i = ipv6_host_len(s, n);

    while (i == 0 || s[i - 1] == '.') {
        size_t start = i;

        while (i < n && (is_alnum(s[i]) || s[i] == '-')) {
            i++;
        }
        if (i == start || s[start] == '-' || s[i - 1] == '-') {
            return 0;
        }
        if (i < n && s[i] == '.') {
            i++;
        }
    }
    if (i < n && s[i] == ':') {
        size_t start = ++i;

        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        if (i == start) {
            return 0;
        }
    }
    return i == n;
}

/* [a-z0-9]+ joined by ".", "_", "__" or any run of "-". */
static int is_path_component(const char *s, size_t n)
{
    size_t i = 0;

    for (;;) {
        size_t start = i;
        size_t sep;

        while (i < n && is_lower_alnum(s[i])) {
            i++;
        }
        if (i == start) {
            return 0;
        }
        if (i == n) {
            return 1;
        }
        start = i;
        while (i < n && !is_lower_alnum(s[i])) {
            i++;
        }
        sep = i - start;
        if (!(sep == 1 && (s[start] == '.' || s[start] == '_')) &&
            !(sep == 2 && s[start] == '_' && s[start + 1] == '_') && strspn(s + start, "-") < sep) {
            return 0;
        }
    }
}

static int is_repository(const char *s, size_t n)
{
    size_t i = 0;

    while (i <= n) {
        const char *slash = memchr(s + i, '/', n - i);
        size_t end = slash != NULL ? (size_t)(slash - s) : n;

        if (!is_path_component(s + i, end - i)) {
            return 0;
        }
        i = end + 1;
    }
    return 1;
}

int pg_policy_scope_is_valid(const char *s)
{
    const char *slash;

    if (s == NULL || strchr(s, '*') != NULL) {
        return 0;
    }
    slash = strchr(s, '/');
    return slash != NULL && slash != s && slash[1] != '\0' && is_domain(s, (size_t)(slash - s)) &&
           is_repository(slash + 1, strlen(slash + 1));
}

/* registryScopes of one statement: present, "*" alone, each of the scope form. */
static enum pg_status check_scopes(const struct pg_statement *st, struct pg_err *err)
{
    char e1[ESC];
    size_t i;

    if (st->n_scopes == 0) {
        return stmt_err(err, st, "registryScopes is empty; it needs at least one scope");
    }
    for (i = 0; i < st->n_scopes && st->n_scopes > 1; i++) {
        if (strcmp(st->scopes[i], "*") == 0) {
            return stmt_err(err, st, "registry scope \"*\" cannot be combined with other scopes");
        }
    }
    for (i = 0; i < st->n_scopes; i++) {
        const char *s = st->scopes[i];

        if (strcmp(s, "*") == 0) {
            continue;
        }
        if (strchr(s, '*') != NULL) {
            return stmt_err(err, st,
                            "registry scope \"%s\" has a wildcard; only \"*\" alone is "
                            "allowed",
                            esc(e1, s));
        }
        if (!pg_policy_scope_is_valid(s)) {
            return stmt_err(err, st,
                            "registry scope \"%s\" is not of the form "
                            "registry/repository",
                            esc(e1, s));
        }
    }
    return PG_OK;
}

/* The length of a registry host without a default ":443" port. */
static size_t host_len_without_default_port(const char *s, size_t n)
{
    return n > 4 && memcmp(s + n - 4, ":443", 4) == 0 ? n - 4 : n;
}

/*
 * Whether scope and repository name the same repository of the same registry
 * once the registry is read as a host name is: without case, and with ":443"
 * the same as no port. The path is compared exactly.
 */
static int same_repository(const char *scope, const char *repository)
{
    const char *s_slash = strchr(scope, '/');
    const char *r_slash = strchr(repository, '/');
    size_t s_host;
    size_t r_host;

    if (s_slash == NULL || r_slash == NULL || strcmp(s_slash, r_slash) != 0) {
        return 0;
    }
    s_host = host_len_without_default_port(scope, (size_t)(s_slash - scope));
    r_host = host_len_without_default_port(repository, (size_t)(r_slash - repository));
    return s_host == r_host && strncasecmp(scope, repository, s_host) == 0;
}

struct scope_ref {
    const char *scope;
    size_t statement;
    size_t order;
};

static int cmp_scope_ref(const void *a, const void *b)
{
    const struct scope_ref *x = a;
    const struct scope_ref *y = b;
    int c = strcmp(x->scope, y->scope);

    return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

/*
 * Every scope of the document in document order, "*" left out unless
 * with_wildcard, sorted by cmp. *out_refs is the caller's (pg_free).
 */
static enum pg_status sorted_scopes(const struct pg_policy *p, int with_wildcard,
                                    int (*cmp)(const void *, const void *),
                                    struct scope_ref **out_refs, size_t *out_n, struct pg_err *err)
{
    struct scope_ref *refs;
    size_t n = 0;
    size_t i;
    size_t j;

    for (i = 0; i < p->n; i++) {
        n += p->statements[i].n_scopes;
    }
    refs = pg_calloc(n + 1, sizeof(*refs));
    if (refs == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory checking registry scopes");
    }
    for (i = 0, n = 0; i < p->n; i++) {
        for (j = 0; j < p->statements[i].n_scopes; j++) {
            if (with_wildcard || strcmp(p->statements[i].scopes[j], "*") != 0) {
                refs[n] = (struct scope_ref){p->statements[i].scopes[j], i, n};
                n++;
            }
        }
    }
    qsort(refs, n, sizeof(*refs), cmp);
    *out_refs = refs;
    *out_n = n;
    return PG_OK;
}

/* A scope (including "*") may appear once in the whole document. */
static enum pg_status check_unique_scopes(const struct pg_policy *p, struct pg_err *err)
{
    struct scope_ref *refs = NULL;
    const struct scope_ref *first = NULL;
    const struct scope_ref *again = NULL;
    size_t n = 0;
    size_t i;

    if (sorted_scopes(p, 1, cmp_scope_ref, &refs, &n, err) != PG_OK) {
        return PG_ERR_NOMEM;
    }
    for (i = 1; i < n; i++) {
        int is_second = strcmp(refs[i].scope, refs[i - 1].scope) == 0 &&
                        (i == 1 || strcmp(refs[i - 1].scope, refs[i - 2].scope) != 0);

        if (is_second && (again == NULL || refs[i].order < again->order)) {
            first = &refs[i - 1];
            again = &refs[i];
        }
    }
    if (again != NULL) {
        const struct pg_statement *st = &p->statements[again->statement];
        char e1[ESC];

        if (first->statement == again->statement) {
            stmt_err(err, st, "registry scope \"%s\" appears twice", esc(e1, again->scope));
        } else {
            char e2[ESC];

            stmt_err(err, st,
                     "registry scope \"%s\" is also used by statement \"%s\"; a scope "
                     "may appear in only one statement",
                     esc(e1, again->scope), esc(e2, p->statements[first->statement].name));
        }
    }
    pg_free(refs);
    return again != NULL ? PG_ERR_POLICY_INVALID : PG_OK;
}

/* Orders scopes as same_repository compares them. */
static int cmp_equivalent(const void *a, const void *b)
{
    const char *x = ((const struct scope_ref *)a)->scope;
    const char *y = ((const struct scope_ref *)b)->scope;
    const char *xs = strchr(x, '/');
    const char *ys = strchr(y, '/');
    size_t xh = host_len_without_default_port(x, (size_t)(xs - x));
    size_t yh = host_len_without_default_port(y, (size_t)(ys - y));
    int c = strncasecmp(x, y, xh < yh ? xh : yh);

    if (c == 0) {
        c = (xh > yh) - (xh < yh);
    }
    return c != 0 ? c : strcmp(xs, ys);
}

/*
 * Beyond notation: two statements may not name one repository in two
 * spellings of its registry host (case, ":443"), since statements are chosen
 * for a host name, and a pod could otherwise choose between them by spelling.
 */
static enum pg_status check_equivalent_scopes(const struct pg_policy *p, struct pg_err *err)
{
    struct scope_ref *refs = NULL;
    size_t n = 0;
    size_t i;
    enum pg_status rc = PG_OK;

    if (sorted_scopes(p, 0, cmp_equivalent, &refs, &n, err) != PG_OK) {
        return PG_ERR_NOMEM;
    }
    for (i = 1; i < n && rc == PG_OK; i++) {
        const struct scope_ref *a = &refs[i - 1];
        const struct scope_ref *b = &refs[i];
        char e1[ESC], e2[ESC], e3[ESC];

        if (a->statement == b->statement || cmp_equivalent(a, b) != 0) {
            continue;
        }
        if (a->order > b->order) {
            const struct scope_ref *t = a;

            a = b;
            b = t;
        }
        rc = stmt_err(err, &p->statements[b->statement],
                      "registry scope \"%s\" names the repository of scope \"%s\" of statement "
                      "\"%s\" (host names are compared without case, and \":443\" is the "
                      "default port); name it in one statement only",
                      esc(e1, b->scope), esc(e2, a->scope),
                      esc(e3, p->statements[a->statement].name));
    }
    pg_free(refs);
    return rc;
}

/* notation's Validate: version, statements one by one, then registry scopes. */
static enum pg_status validate(struct pg_policy *p, const struct raw_statement *raw,
                               struct pg_err *err)
{
    enum pg_status rc = PG_OK;
    size_t i;

    if (p->version[0] == '\0') {
        return pg_err_set(err, PG_ERR_POLICY_INVALID,
                          "trust policy has no version; it must be \"1.0\"");
    }
    if (strcmp(p->version, "1.0") != 0) {
        char e1[ESC];

        return pg_err_set(err, PG_ERR_POLICY_INVALID,
                          "trust policy version \"%s\" is not supported; it must be \"1.0\"",
                          esc(e1, p->version));
    }
    if (p->n == 0 || raw == NULL) {
        return pg_err_set(err, PG_ERR_POLICY_INVALID, "trust policy has no statements");
    }
    for (i = 0; i < p->n && rc == PG_OK; i++) {
        rc = check_statement(p, i, &raw[i], err);
    }
    for (i = 0; i < p->n && rc == PG_OK; i++) {
        rc = check_scopes(&p->statements[i], err);
    }
    if (rc == PG_OK) {
        rc = check_unique_scopes(p, err);
    }
    return rc == PG_OK ? check_equivalent_scopes(p, err) : rc;
}

static void raw_free(struct raw_statement *raw, size_t n)
{
    size_t i;
    size_t j;

    for (i = 0; raw != NULL && i < n; i++) {
        pg_free(raw[i].level);
        pg_free(raw[i].verify_timestamp);
        for (j = 0; j < raw[i].n_overrides; j++) {
            pg_free(raw[i].overrides[j].type);
            pg_free(raw[i].overrides[j].action);
        }
        pg_free(raw[i].overrides);
        free_strings(raw[i].stores, raw[i].n_stores);
    }
    pg_free(raw);
}

enum pg_status pg_policy_parse(const char *json, size_t len, struct pg_policy **out_policy,
                               struct pg_err *err)
{
    struct pg_policy *p = NULL;
    struct raw_statement *raw = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    enum pg_status rc;
    size_t n_raw = 0;
    char e1[ESC];

    if (json == NULL || out_policy == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no trust policy given");
    }
    if (len > PG_POLICY_MAX_BYTES) {
        return pg_err_set(err, PG_ERR_LIMIT, "trust policy is larger than %zu bytes",
                          PG_POLICY_MAX_BYTES);
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return pg_err_set(err, PG_ERR_POLICY_INVALID,
                          "trust policy is not valid JSON: %s (line %d, column %d)",
                          esc(e1, jerr.text), jerr.line, jerr.column);
    }
    p = pg_calloc(1, sizeof(*p));
    if (p == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a policy");
        goto out;
    }
    rc = json_is_object(root)
             ? decode_document(root, p, &raw, err)
             : pg_err_set(err, PG_ERR_POLICY_INVALID, "trust policy is not a JSON object");
    n_raw = p->n;
    if (rc == PG_OK) {
        rc = validate(p, raw, err);
    }
    if (rc == PG_OK) {
        *out_policy = p;
        p = NULL; /* the caller owns it now */
    }
out:
    raw_free(raw, n_raw);
    pg_policy_free(p);
    json_decref(root);
    return rc;
}

/*
 * Opens path for reading when it is a regular file. PG_ERR_NOT_FOUND (and
 * err untouched) when it does not exist, so the caller can look further.
 */
static enum pg_status open_policy(const char *path, int *out_fd, struct pg_err *err)
{
    struct stat sb;
    int fd;

    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT) {
            return PG_ERR_NOT_FOUND;
        }
        return pg_err_set(err, PG_ERR_IO, "%s: cannot read the trust policy: %s", path,
                          strerror(errno));
    }
    if (!S_ISREG(sb.st_mode)) {
        return pg_err_set(err, PG_ERR_POLICY_INVALID,
                          "%s: the trust policy is %s, not a regular file", path,
                          S_ISLNK(sb.st_mode)    ? "a symlink (symlinks are not allowed)"
                          : S_ISDIR(sb.st_mode)  ? "a directory"
                          : S_ISFIFO(sb.st_mode) ? "a fifo"
                                                 : "a device or socket");
    }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        return pg_err_set(err, errno == ELOOP ? PG_ERR_POLICY_INVALID : PG_ERR_IO,
                          "%s: cannot open the trust policy: %s", path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return pg_err_set(err, PG_ERR_POLICY_INVALID, "%s: the trust policy is not a regular file",
                          path);
    }
    *out_fd = fd;
    return PG_OK;
}

/* Reads at most PG_POLICY_MAX_BYTES from fd. */
static enum pg_status read_bounded(int fd, const char *path, char **out, size_t *out_len,
                                   struct pg_err *err)
{
    char *buf = pg_malloc(PG_POLICY_MAX_BYTES + 1);
    size_t len = 0;

    if (buf == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading %s", path);
    }
    while (len <= PG_POLICY_MAX_BYTES) {
        ssize_t n = read(fd, buf + len, PG_POLICY_MAX_BYTES + 1 - len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            pg_free(buf);
            return pg_err_set(err, PG_ERR_IO, "%s: cannot read the trust policy: %s", path,
                              strerror(errno));
        }
        if (n == 0) {
            *out = buf;
            *out_len = len;
            return PG_OK;
        }
        len += (size_t)n;
    }
    pg_free(buf);
    return pg_err_set(err, PG_ERR_LIMIT, "%s: the trust policy is larger than %zu bytes", path,
                      PG_POLICY_MAX_BYTES);
}

/* Loads and parses one file; PG_ERR_NOT_FOUND (err untouched) when absent. */
static enum pg_status load_file(const char *path, struct pg_policy **out_policy, struct pg_err *err)
{
    struct pg_err local;
    struct pg_policy *p = NULL;
    char *buf = NULL;
    size_t len = 0;
    int fd = -1;
    enum pg_status rc;

    rc = open_policy(path, &fd, err);
    if (rc != PG_OK) {
        return rc;
    }
    rc = read_bounded(fd, path, &buf, &len, err);
    close(fd);
    if (rc != PG_OK) {
        return rc;
    }
    pg_err_init(&local);
    rc = pg_policy_parse(buf, len, &p, &local);
    pg_free(buf);
    if (rc != PG_OK) {
        return pg_err_set(err, rc, "%s: %s", path, local.msg);
    }
    p->path = pg_strdup(path);
    if (p->path == NULL) {
        pg_policy_free(p);
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading %s", path);
    }
    *out_policy = p;
    return PG_OK;
}

enum pg_status pg_policy_load_dir(const char *notation_dir, struct pg_policy **out_policy,
                                  struct pg_err *err)
{
    static const char *const names[] = {"trustpolicy.oci.json", "trustpolicy.json"};
    struct pg_policy *p = NULL;
    enum pg_status rc = PG_ERR_NOT_FOUND;
    size_t i;

    if (notation_dir == NULL || out_policy == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no notation directory given");
    }
    for (i = 0; i < 2 && rc == PG_ERR_NOT_FOUND; i++) {
        char *path = pg_asprintf("%s/%s", notation_dir, names[i]);

        if (path == NULL) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory loading the trust policy");
        }
        rc = load_file(path, &p, err);
        pg_free(path);
    }
    if (rc == PG_ERR_NOT_FOUND) {
        return pg_err_set(err, PG_ERR_POLICY_MISSING,
                          "no trust policy in %s: neither trustpolicy.oci.json nor "
                          "trustpolicy.json exists",
                          notation_dir);
    }
    if (rc == PG_OK) {
        *out_policy = p;
    }
    return rc;
}

const char *pg_policy_path(const struct pg_policy *policy)
{
    return policy != NULL ? policy->path : NULL;
}

size_t pg_policy_count(const struct pg_policy *policy)
{
    return policy != NULL ? policy->n : 0;
}

const struct pg_statement *pg_policy_statement(const struct pg_policy *policy, size_t i)
{
    return policy != NULL && i < policy->n ? &policy->statements[i] : NULL;
}

static int has_scope(const struct pg_statement *st, const char *scope)
{
    size_t i;

    for (i = 0; i < st->n_scopes; i++) {
        if (strcmp(st->scopes[i], scope) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * The one statement with a scope that names repository as a host name, not
 * as a string; NULL when none. Two such statements make the choice
 * ambiguous, which is refused.
 */
static const struct pg_statement *select_equivalent(const struct pg_policy *policy,
                                                    const char *repository, int *out_ambiguous)
{
    const struct pg_statement *found = NULL;
    size_t i;
    size_t j;

    *out_ambiguous = 0;
    for (i = 0; i < policy->n; i++) {
        const struct pg_statement *st = &policy->statements[i];

        for (j = 0; j < st->n_scopes; j++) {
            if (strcmp(st->scopes[j], "*") == 0 || !same_repository(st->scopes[j], repository)) {
                continue;
            }
            if (found != NULL && found != st) {
                *out_ambiguous = 1;
                return NULL;
            }
            found = st;
        }
    }
    return found;
}

const struct pg_statement *pg_policy_select(const struct pg_policy *policy, const char *repository,
                                            struct pg_err *err)
{
    const struct pg_statement *wildcard = NULL;
    const struct pg_statement *equivalent;
    int is_ambiguous;
    char e1[ESC];
    size_t i;

    if (policy == NULL || repository == NULL) {
        pg_err_set(err, PG_ERR_INVALID_ARG, "no policy or repository given");
        return NULL;
    }
    if (!pg_policy_scope_is_valid(repository)) {
        pg_err_set(err, PG_ERR_REFERENCE,
                   "repository \"%s\" is not of the form registry/repository", esc(e1, repository));
        return NULL;
    }
    for (i = 0; i < policy->n; i++) {
        const struct pg_statement *st = &policy->statements[i];

        if (has_scope(st, "*")) {
            wildcard = st;
        } else if (has_scope(st, repository)) {
            return st;
        }
    }
    /* LOCALHOST:5000/app and host:443/app reach the registries that
     * localhost:5000/app and host/app name: a pod cannot step around a
     * statement by spelling its registry differently. */
    equivalent = select_equivalent(policy, repository, &is_ambiguous);
    if (equivalent != NULL) {
        return equivalent;
    }
    if (is_ambiguous) {
        pg_err_set(err, PG_ERR_NO_STATEMENT,
                   "repository \"%s\" is named by the registry scopes of more than one "
                   "statement once host names are compared without case and default port",
                   esc(e1, repository));
        return NULL;
    }
    if (wildcard == NULL) {
        pg_err_set(err, PG_ERR_NO_STATEMENT,
                   "no trust policy statement applies to \"%s\": no registry scope names it "
                   "and no statement has the scope \"*\"",
                   esc(e1, repository));
    }
    return wildcard;
}

static void statement_clear(struct pg_statement *st)
{
    size_t i;

    pg_free(st->name);
    free_strings(st->scopes, st->n_scopes);
    for (i = 0; st->stores != NULL && i < st->n_stores; i++) {
        pg_free(st->stores[i].name);
    }
    pg_free(st->stores);
    free_strings(st->identities, st->n_identities);
}

void pg_policy_free(struct pg_policy *policy)
{
    size_t i;

    if (policy == NULL) {
        return;
    }
    for (i = 0; i < policy->n; i++) {
        statement_clear(&policy->statements[i]);
    }
    pg_free(policy->statements);
    pg_free(policy->version);
    pg_free(policy->path);
    pg_free(policy);
}
