/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loaded trust configuration: one validated policy and every trust store
 * its statements name, read together from a notation directory and never
 * changed afterwards. A store that fails to load is kept with its error so
 * verification can report it as an authenticity failure, as notation does.
 * Reading stores from disk lives in truststore.c, the policy in policy.c.
 */
#include "trust.h"

#include <stdatomic.h>
#include <string.h>

#include "mem.h"
#include "truststore.h"

#define ESC 160

struct trust_store {
    enum pg_store_type type;
    char *name;
    STACK_OF(X509) * certs; /* NULL when loading failed */
    enum pg_status status;
    char *error; /* the load error, when it failed */
};

struct pg_trust {
    atomic_size_t refs;
    uint64_t generation;
    char *dir;
    struct pg_policy *policy;
    struct trust_store *stores;
    size_t n_stores;
};

static atomic_uint_fast64_t next_generation = 1;

static struct trust_store *find_store(const struct pg_trust *trust, enum pg_store_type type,
                                      const char *name)
{
    size_t i;

    for (i = 0; i < trust->n_stores; i++) {
        if (trust->stores[i].type == type && strcmp(trust->stores[i].name, name) == 0) {
            return &trust->stores[i];
        }
    }
    return NULL;
}

/* Loads one store into s, keeping a load failure in s rather than failing. */
static enum pg_status load_store(const char *dir, struct trust_store *s, struct pg_err *err)
{
    struct pg_err local;
    enum pg_status rc;

    pg_err_init(&local);
    rc = pg_truststore_load(dir, s->type, s->name, &s->certs, &local);
    if (rc == PG_ERR_NOMEM) {
        return pg_err_set(err, rc, "%s", local.msg);
    }
    s->status = rc;
    if (rc != PG_OK) {
        s->certs = NULL;
        s->error = pg_strdup(local.msg[0] != '\0' ? local.msg : pg_status_name(rc));
        if (s->error == NULL) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory loading trust stores");
        }
    }
    return PG_OK;
}

/* Each distinct type:name of every statement, loaded once. */
static enum pg_status load_stores(struct pg_trust *trust, struct pg_err *err)
{
    const struct pg_policy *p = trust->policy;
    size_t total = 0;
    size_t i;
    size_t j;

    for (i = 0; i < pg_policy_count(p); i++) {
        total += pg_policy_statement(p, i)->n_stores;
    }
    trust->stores = pg_calloc(total + 1, sizeof(*trust->stores));
    if (trust->stores == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory loading trust stores");
    }
    for (i = 0; i < pg_policy_count(p); i++) {
        const struct pg_statement *st = pg_policy_statement(p, i);

        for (j = 0; j < st->n_stores; j++) {
            struct trust_store *s = &trust->stores[trust->n_stores];
            enum pg_status rc;

            if (find_store(trust, st->stores[j].type, st->stores[j].name) != NULL) {
                continue;
            }
            s->type = st->stores[j].type;
            s->name = pg_strdup(st->stores[j].name);
            if (s->name == NULL) {
                return pg_err_set(err, PG_ERR_NOMEM, "out of memory loading trust stores");
            }
            trust->n_stores++;
            rc = load_store(trust->dir, s, err);
            if (rc != PG_OK) {
                return rc;
            }
        }
    }
    return PG_OK;
}

static void trust_free(struct pg_trust *trust)
{
    size_t i;

    for (i = 0; i < trust->n_stores; i++) {
        pg_free(trust->stores[i].name);
        pg_free(trust->stores[i].error);
        sk_X509_pop_free(trust->stores[i].certs, X509_free);
    }
    pg_free(trust->stores);
    pg_policy_free(trust->policy);
    pg_free(trust->dir);
    pg_free(trust);
}

enum pg_status pg_trust_load(const char *notation_dir, struct pg_trust **out_trust,
                             struct pg_err *err)
{
    struct pg_trust *trust = NULL;
    enum pg_status rc;

    if (notation_dir == NULL || out_trust == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no notation directory given");
    }
    trust = pg_calloc(1, sizeof(*trust));
    if (trust == NULL || (trust->dir = pg_strdup(notation_dir)) == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory loading the trust configuration");
        goto out;
    }
    rc = pg_policy_load_dir(notation_dir, &trust->policy, err);
    if (rc == PG_OK) {
        rc = load_stores(trust, err);
    }
    if (rc == PG_OK) {
        atomic_init(&trust->refs, 1);
        trust->generation = atomic_fetch_add(&next_generation, 1);
        *out_trust = trust;
        trust = NULL; /* the caller owns it now */
    }
out:
    if (trust != NULL) {
        trust_free(trust);
    }
    return rc;
}

struct pg_trust *pg_trust_ref(struct pg_trust *trust)
{
    if (trust != NULL) {
        atomic_fetch_add_explicit(&trust->refs, 1, memory_order_relaxed);
    }
    return trust;
}

void pg_trust_unref(struct pg_trust *trust)
{
    if (trust != NULL && atomic_fetch_sub_explicit(&trust->refs, 1, memory_order_acq_rel) == 1) {
        trust_free(trust);
    }
}

const struct pg_policy *pg_trust_policy(const struct pg_trust *trust)
{
    return trust != NULL ? trust->policy : NULL;
}

const char *pg_trust_dir(const struct pg_trust *trust)
{
    return trust != NULL ? trust->dir : NULL;
}

uint64_t pg_trust_generation(const struct pg_trust *trust)
{
    return trust != NULL ? trust->generation : 0;
}

enum pg_status pg_trust_store_certs(const struct pg_trust *trust, enum pg_store_type type,
                                    const char *name, const STACK_OF(X509) * *out_certs,
                                    struct pg_err *err)
{
    const struct trust_store *s;

    if (trust == NULL || name == NULL || out_certs == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no trust configuration or store given");
    }
    s = find_store(trust, type, name);
    if (s == NULL) {
        char esc[ESC];

        return pg_err_set(
            err, PG_ERR_TRUSTSTORE, "trust store %s:%s is not named by the trust policy",
            pg_store_type_name(type), pg_escape(esc, sizeof(esc), name, strlen(name)));
    }
    if (s->certs == NULL) {
        return pg_err_set(err, PG_ERR_TRUSTSTORE, "%s", s->error);
    }
    *out_certs = s->certs;
    return PG_OK;
}

enum pg_status pg_trust_check_stores(const struct pg_trust *trust, struct pg_err *err)
{
    const struct pg_policy *p = pg_trust_policy(trust);
    char esc[ESC];
    size_t i;
    size_t j;

    if (trust == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no trust configuration given");
    }
    for (i = 0; i < pg_policy_count(p); i++) {
        const struct pg_statement *st = pg_policy_statement(p, i);

        for (j = 0; j < st->n_stores; j++) {
            const struct trust_store *s = find_store(trust, st->stores[j].type, st->stores[j].name);

            if (s != NULL && s->certs == NULL) {
                return pg_err_set(err, PG_ERR_TRUSTSTORE, "trust policy statement \"%s\" : %s",
                                  pg_escape(esc, sizeof(esc), st->name, strlen(st->name)),
                                  s->error);
            }
        }
    }
    return PG_OK;
}
