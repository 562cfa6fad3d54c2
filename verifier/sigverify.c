/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One signature through notation's verification steps, in notation's order:
 * integrity, authenticity with trusted identity, expiry, authentic
 * timestamp, revocation, a verification plugin's verdict, then the
 * payload's binding to the target. The envelope formats live in jws.c and
 * cose.c (a COSE envelope is read through its JWS-shaped view), certificate
 * rules in x509chain.c, trust stores in trust.c, identities in identity.c,
 * running plugins in plugin.c, AWS Signer in awssigner.c.
 */
#include "sigverify.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "awssigner.h"
#include "cose.h"
#include "identity.h"
#include "jws.h"
#include "log.h"
#include "mem.h"
#include "plugin.h"
#include "revocation.h"
#include "timestamp.h"
#include "x509chain.h"

#define COSE_MEDIA_TYPE "application/cose"
#define TEXT_MAX 160

struct ctx {
    const struct pg_sigverify_input *in;
    struct pg_sig_result *out;
    struct pg_jws *jws;     /* for COSE, a view owned by cose */
    struct pg_cose *cose;   /* NULL for JWS */
    STACK_OF(X509) * chain; /* the envelope chain, leaf first */
    enum pg_signing_scheme scheme;
    json_t *payload;
    int is_stopped; /* an enforced check failed */

    struct pg_sigverify_options opts;
    const char *plugin;             /* the verificationPlugin named, or NULL */
    const char *plugin_min_version; /* may be NULL */
    int is_native_aws;              /* the plugin's work is done in-process */
    struct pg_plugin_metadata meta; /* its verifier capabilities */
};

/* ---- options ------------------------------------------------------------- */

void pg_sigverify_options_init(struct pg_sigverify_options *o)
{
    memset(o, 0, sizeof(*o));
    o->plugin_timeout_ms = PG_PLUGIN_DEFAULT_TIMEOUT_MS;
    snprintf(o->plugin_env, sizeof(o->plugin_env), "%s", PG_PLUGIN_DEFAULT_ENV);
    o->aws_signer = PG_AWS_SIGNER_NATIVE;
    o->aws_signer_cache_ttl_s = PG_AWSSIGNER_DEFAULT_CACHE_S;
    pg_revocation_options_init(&o->revocation);
}

static void take_options(const struct pg_sigverify_input *in, struct pg_sigverify_options *out)
{
    if (in->options != NULL) {
        *out = *in->options;
    } else {
        pg_sigverify_options_init(out);
    }
}

/* ---- outcome bookkeeping ------------------------------------------------- */

static void set_outcome(struct ctx *c, enum pg_status st, const char *msg)
{
    if (c->out->status == PG_OK) {
        c->out->status = st;
        snprintf(c->out->msg, sizeof(c->out->msg), "%s", msg);
    }
}

static void log_failure(const struct ctx *c, enum pg_check check, enum pg_status st,
                        const char *msg)
{
    char name[TEXT_MAX];
    char message[PG_CHECK_MSG_MAX + 2 * TEXT_MAX];
    char f_check[64];
    char f_reason[64];
    char f_statement[TEXT_MAX + 32];
    const char *fields[] = {f_check, "PULLGATE_ACTION=log", f_reason, f_statement, NULL};
    const char *stmt = c->in->statement->name != NULL ? c->in->statement->name : "";

    pg_escape(name, sizeof(name), stmt, strlen(stmt));
    snprintf(message, sizeof(message),
             "signature check %s failed, action log, statement \"%s\", reason %s: %s",
             pg_check_name(check), name, pg_status_name(st), msg);
    snprintf(f_check, sizeof(f_check), "PULLGATE_CHECK=%s", pg_check_name(check));
    snprintf(f_reason, sizeof(f_reason), "PULLGATE_REASON=%s", pg_status_name(st));
    snprintf(f_statement, sizeof(f_statement), "PULLGATE_STATEMENT=%s", name);
    pg_log_fields(LOG_WARNING, message, fields);
}

/*
 * Records a check's result (st PG_OK: passed). A failure stops evaluation
 * when the check is enforced and is logged when its action is log.
 */
static void record(struct ctx *c, enum pg_check check, enum pg_status st, const char *msg)
{
    struct pg_check_result *r = &c->out->checks[check];

    r->performed = 1;
    r->status = st;
    snprintf(r->msg, sizeof(r->msg), "%.*s", (int)sizeof(r->msg) - 1, st == PG_OK ? "" : msg);
    if (st == PG_OK) {
        return;
    }
    if (r->action == PG_ACTION_ENFORCE) {
        set_outcome(c, st, msg);
        c->is_stopped = 1;
        return;
    }
    log_failure(c, check, st, msg);
}

static int is_skipped(const struct ctx *c, enum pg_check check)
{
    return c->out->checks[check].action == PG_ACTION_SKIP;
}

/* ---- certificates ------------------------------------------------------- */

static X509 *chain_cert(const struct ctx *c, int i)
{
    return sk_X509_value(c->chain, i);
}

static int64_t asn1_unix(const ASN1_TIME *t)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return 0;
    }
    return (int64_t)timegm(&tm);
}

/* Whether the DER of trusted appears in the envelope chain. */
static int chain_has_cert(const struct ctx *c, X509 *trusted)
{
    unsigned char *der = NULL;
    int len = i2d_X509(trusted, &der);
    int found = 0;
    size_t i;

    for (i = 0; len > 0 && i < c->jws->n_x5c && !found; i++) {
        found = c->jws->x5c[i].len == (size_t)len && memcmp(c->jws->x5c[i].data, der, len) == 0;
    }
    OPENSSL_free(der);
    ERR_clear_error();
    return found;
}

/* ---- integrity ---------------------------------------------------------- */

static enum pg_status parse_envelope(struct ctx *c, struct pg_err *err)
{
    const char *mt = c->in->envelope_media_type;

    if (mt == NULL) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "signature envelope has no media type");
    }
    if (strcmp(mt, COSE_MEDIA_TYPE) == 0) {
        enum pg_status rc = pg_cose_parse(c->in->envelope, c->in->envelope_len, &c->cose, err);

        if (rc == PG_OK) {
            c->jws = pg_cose_view(c->cose);
        }
        return rc;
    }
    if (strcmp(mt, PG_JWS_MEDIA_TYPE) != 0) {
        char buf[TEXT_MAX];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "signature envelope media type \"%s\" is neither " PG_JWS_MEDIA_TYPE
                          " nor " COSE_MEDIA_TYPE,
                          pg_escape(buf, sizeof(buf), mt, strlen(mt)));
    }
    return pg_jws_parse(c->in->envelope, c->in->envelope_len, &c->jws, err);
}

static enum pg_status load_chain(struct ctx *c, struct pg_err *err)
{
    size_t i;

    c->chain = sk_X509_new_null();
    if (c->chain == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory for the certificate chain");
    }
    for (i = 0; i < c->jws->n_x5c; i++) {
        const unsigned char *p = c->jws->x5c[i].data;
        X509 *x = d2i_X509(NULL, &p, (long)c->jws->x5c[i].len);

        if (x == NULL || p != c->jws->x5c[i].data + c->jws->x5c[i].len) {
            X509_free(x);
            return pg_err_set_ssl(err, PG_ERR_SIG_INTEGRITY,
                                  "x5c[%zu] is not exactly one der certificate", i);
        }
        if (sk_X509_push(c->chain, x) <= 0) {
            X509_free(x);
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory for the certificate chain");
        }
    }
    pg_x509_subject(chain_cert(c, 0), c->out->leaf_subject, sizeof(c->out->leaf_subject));
    return PG_OK;
}

static enum pg_status verify_signature(struct ctx *c, struct pg_err *err)
{
    X509 *leaf = chain_cert(c, 0);
    enum pg_key_spec spec;
    EVP_PKEY *key;
    enum pg_status rc;

    rc = pg_x509_key_spec(leaf, &spec, err);
    if (rc != PG_OK) {
        return rc;
    }
    key = X509_get0_pubkey(leaf);
    if (key == NULL) {
        return pg_err_set_ssl(err, PG_ERR_SIG_INTEGRITY,
                              "cannot read the public key of the signing certificate");
    }
    if (c->cose != NULL) {
        return pg_cose_verify_signature(c->cose, key, spec, err);
    }
    return pg_jws_verify_signature(c->jws, key, spec, err);
}

static enum pg_status parse_payload(struct ctx *c, struct pg_err *err)
{
    json_error_t jerr;

    c->payload = json_loadb((const char *)c->jws->payload.data, c->jws->payload.len,
                            JSON_REJECT_DUPLICATES, &jerr);
    if (c->payload == NULL) {
        char buf[TEXT_MAX];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "signed payload is not valid json: %s",
                          pg_escape(buf, sizeof(buf), jerr.text, strlen(jerr.text)));
    }
    if (!json_is_object(c->payload)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "signed payload is not a json object");
    }
    return PG_OK;
}

/* The plugin attributes must be critical, non-blank strings (a SemVer for the minimum). */
static enum pg_status take_plugin_attrs(struct ctx *c, struct pg_err *err)
{
    const struct pg_jws_attr *plugin = pg_jws_find_attr(c->jws, PG_JWS_PLUGIN);
    const struct pg_jws_attr *min = pg_jws_find_attr(c->jws, PG_JWS_PLUGIN_MIN_VERSION);
    const char *name = plugin != NULL ? json_string_value(plugin->value) : NULL;
    const char *version = min != NULL ? json_string_value(min->value) : NULL;

    if (plugin != NULL &&
        (!plugin->is_critical || name == NULL || strspn(name, " \t") == strlen(name))) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          PG_JWS_PLUGIN " must be a critical, non-blank string");
    }
    if (min != NULL && plugin == NULL) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          PG_JWS_PLUGIN_MIN_VERSION " is present without " PG_JWS_PLUGIN);
    }
    if (min != NULL && (!min->is_critical || !pg_plugin_semver_is_valid(version))) {
        char buf[TEXT_MAX];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          PG_JWS_PLUGIN_MIN_VERSION " \"%s\" must be a critical semantic version",
                          version != NULL ? pg_escape(buf, sizeof(buf), version, strlen(version))
                                          : "(not a string)");
    }
    c->plugin = name;
    c->plugin_min_version = version;
    return PG_OK;
}

/*
 * Extended attributes: with a verification plugin every one is forwarded to
 * it and it must process them; without one, a critical attribute nobody
 * here understands fails closed (the specification demands it; notation
 * ignores them when no plugin is named).
 */
static enum pg_status check_extended_attrs(struct ctx *c, struct pg_err *err)
{
    enum pg_status rc = take_plugin_attrs(c, err);
    char buf[TEXT_MAX];
    size_t i;

    if (rc != PG_OK || c->plugin != NULL) {
        return rc;
    }
    for (i = 0; i < c->jws->n_ext; i++) {
        if (c->jws->ext[i].is_critical) {
            return pg_err_set(
                err, PG_ERR_UNSUPPORTED,
                "unknown critical attribute \"%s\" and no verification plugin to process it",
                pg_escape(buf, sizeof(buf), c->jws->ext[i].name, strlen(c->jws->ext[i].name)));
        }
    }
    return PG_OK;
}

static enum pg_status run_integrity(struct ctx *c, struct pg_err *err)
{
    enum pg_status rc = parse_envelope(c, err);

    if (rc == PG_OK) {
        rc = load_chain(c, err);
    }
    if (rc == PG_OK) {
        rc = verify_signature(c, err);
    }
    if (rc == PG_OK) {
        rc = c->cose != NULL ? pg_cose_check_header(c->cose, &c->scheme, err)
                             : pg_jws_check_header(c->jws, &c->scheme, err);
    }
    if (rc == PG_OK) {
        snprintf(c->out->signing_scheme, sizeof(c->out->signing_scheme), "%s",
                 pg_jws_scheme_name(c->scheme));
        rc = pg_x509_check_codesigning_chain(c->chain, err);
    }
    if (rc == PG_OK) {
        rc = parse_payload(c, err);
    }
    if (rc == PG_OK) {
        rc = check_extended_attrs(c, err);
    }
    return rc;
}

static void check_integrity(struct ctx *c)
{
    struct pg_err err;
    enum pg_status rc;

    pg_err_init(&err);
    rc = run_integrity(c, &err);
    if (rc == PG_ERR_PARSE || rc == PG_ERR_LIMIT) {
        rc = PG_ERR_SIG_INTEGRITY;
    }
    /* Integrity is enforced whatever the statement says. */
    c->out->checks[PG_CHECK_INTEGRITY].action = PG_ACTION_ENFORCE;
    record(c, PG_CHECK_INTEGRITY, rc, err.msg);
}

/* ---- verification plugins ------------------------------------------------ */

static void plugin_options(const struct ctx *c, struct pg_plugin_options *po, char *dir,
                           size_t dir_len)
{
    if (c->opts.plugins_dir[0] != '\0') {
        snprintf(dir, dir_len, "%s", c->opts.plugins_dir);
    } else {
        snprintf(dir, dir_len, "%s/plugins", pg_trust_dir(c->in->trust));
    }
    memset(po, 0, sizeof(*po));
    po->plugins_dir = dir;
    po->timeout_ms = c->opts.plugin_timeout_ms;
    po->env_allow = c->opts.plugin_env;
    po->deadline = c->in->deadline;
}

/* Native AWS Signer stands in for the plugin of the version it follows. */
static enum pg_status use_native_aws(struct ctx *c, struct pg_err *err)
{
    if (c->plugin_min_version != NULL &&
        pg_plugin_semver_compare(PG_AWSSIGNER_EQUIVALENT_VERSION, c->plugin_min_version) < 0) {
        return pg_err_set(err, PG_ERR_PLUGIN,
                          "the signature requires plugin " PG_AWSSIGNER_PLUGIN " %s or later; "
                          "native verification follows version " PG_AWSSIGNER_EQUIVALENT_VERSION
                          " (aws_signer = plugin runs an installed plugin instead)",
                          c->plugin_min_version);
    }
    c->is_native_aws = 1;
    c->meta.has_identity = 1;
    c->meta.has_revocation = 1;
    return PG_OK;
}

static enum pg_status discover_plugin(struct ctx *c, struct pg_err *err)
{
    char dir[PG_SIGVERIFY_PATH_MAX + 16];
    struct pg_plugin_options po;

    if (strcmp(c->plugin, PG_AWSSIGNER_PLUGIN) == 0 && c->opts.aws_signer == PG_AWS_SIGNER_OFF) {
        return pg_err_set(err, PG_ERR_UNSUPPORTED,
                          "aws signer signatures are refused by configuration (aws_signer = off)");
    }
    if (strcmp(c->plugin, PG_AWSSIGNER_PLUGIN) == 0 && c->opts.aws_signer == PG_AWS_SIGNER_NATIVE) {
        return use_native_aws(c, err);
    }
    plugin_options(c, &po, dir, sizeof(dir));
    return pg_plugin_describe(&po, c->plugin, c->plugin_min_version, &c->meta, err);
}

/* Finding the plugin and its capabilities; any failure is fatal. */
static void check_plugin_discovery(struct ctx *c)
{
    struct pg_err err;
    enum pg_status rc;

    if (c->plugin == NULL) {
        return;
    }
    pg_err_init(&err);
    rc = discover_plugin(c, &err);
    if (rc != PG_OK) {
        record(c, PG_CHECK_INTEGRITY, rc, err.msg);
    }
}

static enum pg_status call_plugin(const struct ctx *c, const json_t *req, json_t **out_resp,
                                  enum pg_status *out_rev_status, struct pg_err *err)
{
    char dir[PG_SIGVERIFY_PATH_MAX + 16];
    struct pg_plugin_options po;

    if (c->is_native_aws) {
        struct pg_awssigner_options ao;

        memset(&ao, 0, sizeof(ao));
        ao.endpoint = c->opts.aws_signer_endpoint;
        ao.timeout_ms = c->opts.plugin_timeout_ms;
        ao.cache_ttl_s = c->opts.aws_signer_cache_ttl_s;
        ao.deadline = c->in->deadline;
        return pg_awssigner_verify(req, &ao, out_resp, out_rev_status, err);
    }
    *out_rev_status = PG_ERR_SIG_REVOKED;
    plugin_options(c, &po, dir, sizeof(dir));
    return pg_plugin_run(&po, c->plugin, "verify-signature", req, out_resp, err);
}

/* A revocation answer is not reused for longer than the cache keeps it. */
static void bound_valid_until(struct ctx *c)
{
    int64_t ttl = c->is_native_aws ? c->opts.aws_signer_cache_ttl_s : PG_AWSSIGNER_DEFAULT_CACHE_S;
    int64_t until = (int64_t)c->in->now + ttl;

    if (c->out->valid_until == 0 || until < c->out->valid_until) {
        c->out->valid_until = until;
    }
}

static void apply_verdict(struct ctx *c, const struct pg_plugin_verdict *v,
                          enum pg_status rev_status)
{
    char msg[PG_CHECK_MSG_MAX];

    if (v->identity == 0 && !is_skipped(c, PG_CHECK_AUTHENTICITY)) {
        snprintf(msg, sizeof(msg), "plugin %s: the signing identity is not trusted: %s", c->plugin,
                 v->identity_reason);
        record(c, PG_CHECK_AUTHENTICITY, PG_ERR_SIG_IDENTITY, msg);
    }
    if (c->is_stopped || v->revocation < 0) {
        return;
    }
    bound_valid_until(c);
    snprintf(msg, sizeof(msg), "plugin %s: revocation check failed: %s", c->plugin,
             v->revocation_reason);
    record(c, PG_CHECK_REVOCATION, v->revocation ? PG_OK : rev_status, msg);
}

/*
 * The plugin's verdict on the capabilities the statement calls for (the
 * revocation check only when revocation is not skipped); not called when
 * none remain.
 */
static void check_plugin_verdict(struct ctx *c)
{
    struct pg_plugin_sig sig = {c->jws, pg_jws_scheme_name(c->scheme), c->in->statement,
                                c->meta.has_identity,
                                c->meta.has_revocation && !is_skipped(c, PG_CHECK_REVOCATION)};
    struct pg_plugin_verdict v;
    enum pg_status rev_status = PG_ERR_SIG_REVOKED;
    json_t *req = NULL;
    json_t *resp = NULL;
    struct pg_err err;
    enum pg_status rc;

    if (c->plugin == NULL || (!sig.want_identity && !sig.want_revocation)) {
        return;
    }
    pg_err_init(&err);
    rc = pg_plugin_verify_request(&sig, &req, &err);
    if (rc == PG_OK) {
        rc = call_plugin(c, req, &resp, &rev_status, &err);
    }
    if (rc == PG_OK) {
        rc = pg_plugin_check_response(c->plugin, req, resp, &v, &err);
    }
    if (rc != PG_OK) {
        record(c, PG_CHECK_INTEGRITY, rc, err.msg);
    } else {
        apply_verdict(c, &v, rev_status);
    }
    json_decref(req);
    json_decref(resp);
}

/* ---- authenticity and trusted identity ---------------------------------- */

static enum pg_status check_trust_stores(const struct ctx *c, struct pg_err *err)
{
    const struct pg_statement *st = c->in->statement;
    enum pg_store_type want =
        c->scheme == PG_SCHEME_SIGNING_AUTHORITY ? PG_STORE_SIGNING_AUTHORITY : PG_STORE_CA;
    size_t n_trusted = 0;
    int found = 0;
    size_t i;

    for (i = 0; i < st->n_stores; i++) {
        const STACK_OF(X509) *certs = NULL;
        enum pg_status rc;
        int j;

        if (st->stores[i].type != want) {
            continue;
        }
        rc = pg_trust_store_certs(c->in->trust, want, st->stores[i].name, &certs, err);
        if (rc != PG_OK) {
            return rc;
        }
        for (j = 0; j < sk_X509_num(certs); j++, n_trusted++) {
            found = found || chain_has_cert(c, sk_X509_value(certs, j));
        }
    }
    if (n_trusted == 0) {
        return pg_err_set(err, PG_ERR_SIG_AUTHENTICITY,
                          "no trusted certificates: the statement names no %s trust store for "
                          "signing scheme %s",
                          pg_store_type_name(want), pg_jws_scheme_name(c->scheme));
    }
    if (!found) {
        return pg_err_set(err, PG_ERR_SIG_AUTHENTICITY,
                          "no certificate of the signature's chain (leaf %s) is in the "
                          "statement's %s trust stores",
                          c->out->leaf_subject, pg_store_type_name(want));
    }
    return PG_OK;
}

static void check_authenticity(struct ctx *c)
{
    struct pg_err err;
    enum pg_status rc;

    if (is_skipped(c, PG_CHECK_AUTHENTICITY)) {
        return;
    }
    pg_err_init(&err);
    rc = check_trust_stores(c, &err);
    record(c, PG_CHECK_AUTHENTICITY, rc, err.msg);
    if (c->is_stopped || c->meta.has_identity) {
        return; /* a plugin with the capability checks the identity */
    }
    /* A trusted identity failure replaces the authenticity result, as in notation. */
    pg_err_init(&err);
    rc = pg_identity_check(c->in->statement, chain_cert(c, 0), &err);
    if (rc != PG_OK) {
        record(c, PG_CHECK_AUTHENTICITY, rc, err.msg);
    }
}

/* ---- expiry, authentic timestamp, revocation ----------------------------- */

static void check_expiry(struct ctx *c)
{
    const struct pg_jws_time *exp = &c->jws->expiry;
    int64_t now = (int64_t)c->in->now;

    if (is_skipped(c, PG_CHECK_EXPIRY)) {
        return;
    }
    /* a zero expiry (0001-01-01T00:00:00Z) is no expiry, as in notation */
    if (pg_jws_time_is_set(exp) && (now > exp->sec || (now == exp->sec && exp->nsec == 0))) {
        char msg[PG_CHECK_MSG_MAX];
        char when[32];

        snprintf(msg, sizeof(msg), "signature expired at %s",
                 pg_jws_format_time(exp->sec, when, sizeof(when)));
        record(c, PG_CHECK_EXPIRY, PG_ERR_SIG_EXPIRED, msg);
        return;
    }
    record(c, PG_CHECK_EXPIRY, PG_OK, "");
}

/*
 * Every chain certificate must be valid at t plus nsec nanoseconds: a
 * fraction past a certificate's last second is after its notAfter, as in
 * Go's time comparisons.
 */
static enum pg_status chain_valid_at(const struct ctx *c, int64_t t, int32_t nsec, const char *what,
                                     struct pg_err *err)
{
    char subject[PG_X509_SUBJECT_MAX];
    char at[32];
    char from[32];
    char to[32];
    int i;

    for (i = 0; i < sk_X509_num(c->chain); i++) {
        X509 *x = chain_cert(c, i);

        if (!pg_x509_valid_at(x, (time_t)t) || (nsec > 0 && !pg_x509_valid_at(x, (time_t)t + 1))) {
            return pg_err_set(
                err, PG_ERR_SIG_TIMESTAMP,
                "certificate %s of the signature's chain is not valid at %s %s (valid from %s "
                "to %s)",
                pg_x509_subject(x, subject, sizeof(subject)), what,
                pg_jws_format_time(t, at, sizeof(at)),
                pg_jws_format_time(asn1_unix(X509_get0_notBefore(x)), from, sizeof(from)),
                pg_jws_format_time(asn1_unix(X509_get0_notAfter(x)), to, sizeof(to)));
        }
    }
    return PG_OK;
}

static int statement_has_store_type(const struct pg_statement *st, enum pg_store_type type)
{
    size_t i;

    for (i = 0; i < st->n_stores; i++) {
        if (st->stores[i].type == type) {
            return 1;
        }
    }
    return 0;
}

static int chain_has_expired_cert(const struct ctx *c, int64_t now)
{
    int i;

    for (i = 0; i < sk_X509_num(c->chain); i++) {
        if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(chain_cert(c, i)), (time_t)now) < 0) {
            return 1;
        }
    }
    return 0;
}

/* Lowers valid_until to until (0: no bound). */
static void bound_result_life(struct ctx *c, int64_t until)
{
    if (until != 0 && (c->out->valid_until == 0 || until < c->out->valid_until)) {
        c->out->valid_until = until;
    }
}

/* The RFC 3161 token against the signature bytes and the tsa stores (timestamp.c). */
static enum pg_status verify_timestamp(struct ctx *c, struct pg_err *err)
{
    struct pg_timestamp_input ti;
    struct pg_timestamp_result tr;
    STACK_OF(X509) *tsa = NULL;
    enum pg_status rc = pg_timestamp_tsa_certs(c->in->trust, c->in->statement, &tsa, err);

    if (rc != PG_OK) {
        return rc;
    }
    memset(&ti, 0, sizeof(ti));
    ti.token = c->jws->timestamp.data;
    ti.token_len = c->jws->timestamp.len;
    ti.signature = c->jws->signature.data;
    ti.signature_len = c->jws->signature.len;
    ti.tsa_certs = tsa;
    ti.signing_chain = c->chain;
    ti.now = c->in->now;
    ti.deadline = c->in->deadline;
    ti.revocation = &c->opts.revocation;
    rc = pg_timestamp_verify(&ti, &tr, err);
    if (rc == PG_OK) {
        bound_result_life(c, tr.valid_until);
    }
    sk_X509_free(tsa);
    return rc;
}

/*
 * notary.x509: a timestamp is verified when the statement names a tsa store
 * and verifyTimestamp is always, or afterCertExpiry with a certificate
 * expired now; otherwise every certificate must be valid now.
 */
static enum pg_status check_timestamp_x509(struct ctx *c, struct pg_err *err)
{
    const struct pg_statement *st = c->in->statement;
    int64_t now = (int64_t)c->in->now;
    int is_wanted = statement_has_store_type(st, PG_STORE_TSA) &&
                    (st->verify_timestamp == PG_VERIFY_TS_ALWAYS || chain_has_expired_cert(c, now));

    if (is_wanted && c->jws->timestamp.len == 0) {
        return pg_err_set(err, PG_ERR_SIG_TIMESTAMP,
                          "the signature has no rfc 3161 timestamp, which the statement's tsa "
                          "trust store requires");
    }
    if (is_wanted) {
        return verify_timestamp(c, err);
    }
    return chain_valid_at(c, now, 0, "the time of verification", err);
}

static void check_authentic_timestamp(struct ctx *c)
{
    struct pg_err err;
    enum pg_status rc;

    if (is_skipped(c, PG_CHECK_AUTHENTIC_TIMESTAMP)) {
        return;
    }
    pg_err_init(&err);
    if (c->scheme == PG_SCHEME_SIGNING_AUTHORITY) {
        rc =
            chain_valid_at(c, c->jws->authentic_signing_time.sec,
                           c->jws->authentic_signing_time.nsec, "the authentic signing time", &err);
    } else {
        rc = check_timestamp_x509(c, &err);
    }
    record(c, PG_CHECK_AUTHENTIC_TIMESTAMP, rc, err.msg);
}

/*
 * OCSP and CRL for every certificate of the chain but the root
 * (revocation.c). The signing authority scheme's authentic signing time is
 * compared with invalidity dates; notary.x509 signatures have no trusted
 * signing time for it, as in notation.
 */
static void check_revocation(struct ctx *c)
{
    struct pg_revocation_input ri;
    struct pg_revocation_result rr;
    struct pg_err err;
    enum pg_status rc;

    if (is_skipped(c, PG_CHECK_REVOCATION) || c->meta.has_revocation) {
        return; /* a plugin with the capability checks revocation */
    }
    memset(&ri, 0, sizeof(ri));
    ri.chain = c->chain;
    ri.now = c->in->now;
    ri.signing_time =
        c->scheme == PG_SCHEME_SIGNING_AUTHORITY ? c->jws->authentic_signing_time.sec : 0;
    ri.deadline = c->in->deadline;
    ri.options = &c->opts.revocation;
    pg_err_init(&err);
    rc = pg_revocation_check_chain(&ri, &rr, &err);
    if (rc == PG_OK) {
        bound_result_life(c, rr.valid_until);
    }
    record(c, PG_CHECK_REVOCATION, rc, err.msg);
}

/* ---- descriptor binding ------------------------------------------------- */

static int same_string(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static enum pg_status check_target(const struct ctx *c, struct pg_err *err)
{
    json_t *ta = json_object_get(c->payload, "targetArtifact");
    json_t *size = json_object_get(ta, "size");
    const char *mt = json_string_value(json_object_get(ta, "mediaType"));
    const char *digest = json_string_value(json_object_get(ta, "digest"));
    const struct pg_descriptor *t = c->in->target;

    if (!json_is_object(ta) || mt == NULL || digest == NULL || !json_is_integer(size)) {
        return pg_err_set(err, PG_ERR_SIG_TARGET,
                          "signed payload has no targetArtifact with "
                          "mediaType, digest and size");
    }
    if (!same_string(mt, t->media_type) || !same_string(digest, t->digest) ||
        json_integer_value(size) != t->size) {
        char a[TEXT_MAX];
        char b[TEXT_MAX];

        return pg_err_set(err, PG_ERR_SIG_TARGET,
                          "the signature is for %s (%s, %lld bytes), not for the manifest %s "
                          "(%s, %lld bytes)",
                          pg_escape(a, sizeof(a), digest, strlen(digest)),
                          pg_escape(b, sizeof(b), mt, strlen(mt)),
                          (long long)json_integer_value(size),
                          t->digest != NULL ? t->digest : "(none)",
                          t->media_type != NULL ? t->media_type : "(none)", (long long)t->size);
    }
    return PG_OK;
}

/* ---- putting it together ------------------------------------------------ */

static int64_t compute_valid_until(const struct ctx *c)
{
    int64_t until = pg_jws_time_is_set(&c->jws->expiry) ? c->jws->expiry.sec : 0;
    int i;

    for (i = 0; c->scheme == PG_SCHEME_X509 && i < sk_X509_num(c->chain); i++) {
        int64_t not_after = asn1_unix(X509_get0_notAfter(chain_cert(c, i)));

        if (until == 0 || not_after < until) {
            until = not_after;
        }
    }
    return until;
}

static void run_checks(struct ctx *c)
{
    struct pg_err err;

    if (pg_deadline_left_ms(c->in->deadline) == 0) {
        set_outcome(c, PG_ERR_TIMEOUT, "no time left to verify the signature");
        return;
    }
    check_integrity(c);
    if (!c->is_stopped) {
        check_plugin_discovery(c);
    }
    if (c->is_stopped) {
        return;
    }
    c->out->valid_until = compute_valid_until(c);
    check_authenticity(c);
    if (!c->is_stopped) {
        check_expiry(c);
    }
    if (!c->is_stopped) {
        check_authentic_timestamp(c);
    }
    if (!c->is_stopped) {
        check_revocation(c);
    }
    if (!c->is_stopped) {
        check_plugin_verdict(c);
    }
    pg_err_init(&err);
    if (!c->is_stopped && check_target(c, &err) != PG_OK) {
        set_outcome(c, err.status, err.msg);
    }
}

enum pg_status pg_sigverify(const struct pg_sigverify_input *in, struct pg_sig_result *out)
{
    struct ctx c;
    int i;

    if (out == NULL) {
        return PG_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof(*out));
    if (in == NULL || in->trust == NULL || in->statement == NULL || in->target == NULL ||
        (in->envelope == NULL && in->envelope_len > 0)) {
        out->status = PG_ERR_INVALID_ARG;
        snprintf(out->msg, sizeof(out->msg), "signature verification called without input");
        return out->status;
    }
    memset(&c, 0, sizeof(c));
    c.in = in;
    c.out = out;
    take_options(in, &c.opts);
    for (i = 0; i < PG_CHECK_COUNT; i++) {
        out->checks[i].action = in->statement->actions[i];
    }
    run_checks(&c);
    pg_log(LOG_DEBUG, "signature by %s (%s): %s%s%s",
           out->leaf_subject[0] ? out->leaf_subject : "?",
           out->signing_scheme[0] ? out->signing_scheme : "?", pg_status_name(out->status),
           out->status == PG_OK ? "" : ": ", out->msg);
    json_decref(c.payload);
    sk_X509_pop_free(c.chain, X509_free);
    if (c.cose == NULL) {
        pg_jws_free(c.jws);
    }
    pg_cose_free(c.cose);
    return out->status;
}
