/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims about COSE envelopes: notation's COSE vectors parse and verify
 * through the same steps as JWS, envelopes minted here with the e2e RSA key
 * and a fresh P-256 key pass, and every structural deviation notation
 * refuses (untagged, wrong tag, bare x5chain, untagged times, duplicate
 * keys, indefinite lengths, ...) fails integrity even when validly signed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "cose.h"
#include "mem.h"
#include "sigcrypto.h"
#include "sigverify.h"
#include "trust.h"

#define COSE "application/cose"
#define VEC_COSE "notation-go/internal/testdata/cose_signature.sig"
#define VEC_TS "notation-go/verifier/testdata/timestamp/sigEnv/coseWithTimestamp.sig"
#define VEC_TS_EXPIRED "notation-go/verifier/testdata/timestamp/sigEnv/coseExpiredWithTimestamp.sig"
#define E2E_KEYS "notation/test/e2e/testdata/config/localkeys/"
#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define LAYOUT_DIGEST "sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0"
#define OTHER_DIGEST "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9"
#define PAYLOAD_TYPE "application/vnd.cncf.notary.payload.v1+json"
#define SIGNED_2025 1735689600 /* 2025-01-01T00:00:00Z */

static char oci_manifest[] = OCI_MANIFEST;
static char layout_digest[] = LAYOUT_DIGEST;
static char other_digest[] = OTHER_DIGEST;
/* The oci-layout index.json beside the vector names this manifest. */
static const struct pg_descriptor layout_target = {oci_manifest, layout_digest, 481, NULL};
static const struct pg_descriptor other_target = {oci_manifest, other_digest, 517, NULL};

/* ---- files and fixtures ---------------------------------------------------- */

static unsigned char *read_vector(const char *rel, size_t *out_len)
{
    char *path = pg_check_vector(rel);
    unsigned char *data = path != NULL ? pg_check_read_file(path, out_len) : NULL;

    pg_free(path);
    return data;
}

struct fixture {
    char *dir;
    struct pg_trust *trust;
    const struct pg_statement *st;
};

/* A strict policy for every repository, identity *, with der as the only anchor. */
static int fixture_open(struct fixture *fx, const char *store_type, const unsigned char *der,
                        size_t der_len)
{
    char *policy = pg_asprintf("{\"version\":\"1.0\",\"trustPolicies\":[{\"name\":\"cose\","
                               "\"registryScopes\":[\"*\"],\"signatureVerification\":"
                               "{\"level\":\"strict\"},\"trustStores\":[\"%s:cose\"],"
                               "\"trustedIdentities\":[\"*\"]}]}",
                               store_type);
    char *ppath = NULL;
    char *sdir = NULL;
    char *cpath = NULL;
    struct pg_err err;
    int ok;

    memset(fx, 0, sizeof(*fx));
    fx->dir = pg_check_tmpdir();
    if (fx->dir != NULL) {
        ppath = pg_asprintf("%s/trustpolicy.json", fx->dir);
        sdir = pg_asprintf("%s/truststore/x509/%s/cose", fx->dir, store_type);
        cpath = pg_asprintf("%s/truststore/x509/%s/cose/anchor.der", fx->dir, store_type);
    }
    ok = policy != NULL && ppath != NULL && sdir != NULL && cpath != NULL &&
         pg_check_write_file(ppath, policy, strlen(policy)) && pg_check_make_dirs(sdir) &&
         pg_check_write_file(cpath, der, der_len);
    pg_free(policy);
    pg_free(ppath);
    pg_free(sdir);
    pg_free(cpath);
    pg_err_init(&err);
    if (ok && pg_trust_load(fx->dir, &fx->trust, &err) != PG_OK) {
        fprintf(stderr, "    trust load failed: %s\n", err.msg);
        return 0;
    }
    fx->st = ok ? pg_policy_statement(pg_trust_policy(fx->trust), 0) : NULL;
    return fx->st != NULL;
}

static void fixture_close(struct fixture *fx)
{
    if (fx->trust != NULL) {
        pg_trust_unref(fx->trust);
    }
    if (fx->dir != NULL) {
        pg_check_rmtree(fx->dir);
        pg_free(fx->dir);
    }
    memset(fx, 0, sizeof(*fx));
}

static enum pg_status verify_at(const struct fixture *fx, const void *env, size_t len,
                                const struct pg_descriptor *target, time_t now,
                                struct pg_sig_result *res)
{
    struct pg_sigverify_input in;

    memset(&in, 0, sizeof(in));
    in.trust = fx->trust;
    in.statement = fx->st;
    in.envelope_media_type = COSE;
    in.envelope = env;
    in.envelope_len = len;
    in.target = target;
    in.now = now;
    return pg_sigverify(&in, res);
}

static void show(const struct pg_sig_result *res)
{
    if (res->status != PG_OK || pg_check_failed_now()) {
        fprintf(stderr, "    result: %s: %s\n", pg_status_name(res->status), res->msg);
    }
}

/* The leaf DER of an envelope, taken by the parser under test. */
static unsigned char *leaf_of(const unsigned char *env, size_t len, size_t *out_len)
{
    struct pg_cose *cose = NULL;
    unsigned char *der = NULL;

    if (pg_cose_parse(env, len, &cose, NULL) == PG_OK) {
        const struct pg_jws *v = pg_cose_view(cose);

        der = pg_malloc(v->x5c[0].len);
        if (der != NULL) {
            memcpy(der, v->x5c[0].data, v->x5c[0].len);
            *out_len = v->x5c[0].len;
        }
    }
    pg_cose_free(cose);
    return der;
}

/* ---- notation's vectors --------------------------------------------------- */

static void vector_passes_with_its_own_anchor(void)
{
    struct fixture fx;
    struct pg_sig_result res;
    size_t len = 0;
    size_t der_len = 0;
    unsigned char *env = read_vector(VEC_COSE, &len);
    unsigned char *der = env != NULL ? leaf_of(env, len, &der_len) : NULL;

    REQUIRE(der != NULL);
    REQUIRE(fixture_open(&fx, "ca", der, der_len));
    CHECK(verify_at(&fx, env, len, &layout_target, time(NULL), &res) == PG_OK);
    show(&res);
    CHECK(strcmp(res.signing_scheme, "notary.x509") == 0);
    CHECK(res.checks[PG_CHECK_INTEGRITY].performed && res.checks[PG_CHECK_AUTHENTICITY].performed);
    CHECK(res.checks[PG_CHECK_EXPIRY].performed &&
          res.checks[PG_CHECK_AUTHENTIC_TIMESTAMP].performed);
    CHECK(verify_at(&fx, env, len, &other_target, time(NULL), &res) == PG_ERR_SIG_TARGET);
    fixture_close(&fx);
    pg_free(der);
    pg_free(env);
}

static void vector_is_untrusted_without_its_anchor(void)
{
    struct fixture fx;
    struct pg_sig_result res;
    size_t len = 0;
    size_t der_len = 0;
    unsigned char *env = read_vector(VEC_COSE, &len);
    unsigned char *other = read_vector(VEC_TS, &der_len);
    unsigned char *der = other != NULL ? leaf_of(other, der_len, &der_len) : NULL;

    REQUIRE(env != NULL && der != NULL);
    REQUIRE(fixture_open(&fx, "ca", der, der_len));
    CHECK(verify_at(&fx, env, len, &layout_target, time(NULL), &res) == PG_ERR_SIG_AUTHENTICITY);
    fixture_close(&fx);
    /* Anchored in a signingAuthority store, a notary.x509 signature is untrusted too. */
    pg_free(der);
    der = leaf_of(env, len, &der_len);
    REQUIRE(der != NULL && fixture_open(&fx, "signingAuthority", der, der_len));
    CHECK(verify_at(&fx, env, len, &layout_target, time(NULL), &res) == PG_ERR_SIG_AUTHENTICITY);
    fixture_close(&fx);
    pg_free(der);
    pg_free(other);
    pg_free(env);
}

static void vector_fields_are_read(void)
{
    size_t len = 0;
    unsigned char *env = read_vector(VEC_COSE, &len);
    struct pg_cose *cose = NULL;
    enum pg_signing_scheme scheme = PG_SCHEME_SIGNING_AUTHORITY;
    const struct pg_jws *v;

    REQUIRE(env != NULL && pg_cose_parse(env, len, &cose, NULL) == PG_OK);
    v = pg_cose_view(cose);
    CHECK(v->alg != NULL && strcmp(v->alg, "PS256") == 0);
    CHECK(v->cty != NULL && strcmp(v->cty, PAYLOAD_TYPE) == 0);
    CHECK(v->scheme != NULL && strcmp(v->scheme, "notary.x509") == 0);
    CHECK(v->signing_time.is_present && v->signing_time.sec == 0x640ffbe2);
    CHECK(!v->expiry.is_present && v->n_ext == 0 && v->n_crit == 1);
    CHECK(v->n_x5c == 1 && v->signature.len == 256 && v->payload.len == 171);
    CHECK(v->protected_raw.len == 158 && v->protected_raw.data[0] == 0xa5);
    CHECK(v->signing_agent != NULL && strcmp(v->signing_agent, "Notation/1.0.0") == 0);
    CHECK(v->timestamp.len == 0);
    CHECK(pg_cose_check_header(cose, &scheme, NULL) == PG_OK && scheme == PG_SCHEME_X509);
    pg_cose_free(cose);
    pg_free(env);
}

static void timestamp_vectors_parse(void)
{
    static const char *const vecs[] = {VEC_TS, VEC_TS_EXPIRED};
    size_t i;

    for (i = 0; i < 2; i++) {
        size_t len = 0;
        unsigned char *env = read_vector(vecs[i], &len);
        struct pg_cose *cose = NULL;
        enum pg_signing_scheme scheme = PG_SCHEME_SIGNING_AUTHORITY;
        struct pg_err err;

        pg_err_init(&err);
        REQUIRE(env != NULL);
        CHECK(pg_cose_parse(env, len, &cose, &err) == PG_OK);
        if (cose != NULL) {
            const struct pg_jws *v = pg_cose_view(cose);

            CHECK(v->timestamp.len > 1000 && v->timestamp.data[0] == 0x30);
            CHECK(v->n_x5c >= 1 && v->signing_time.is_present);
            CHECK(pg_cose_check_header(cose, &scheme, &err) == PG_OK && scheme == PG_SCHEME_X509);
        }
        if (err.status != PG_OK) {
            fprintf(stderr, "    %s: %s\n", vecs[i], err.msg);
        }
        pg_cose_free(cose);
        pg_free(env);
    }
}

/* ---- a small CBOR writer for minting ----------------------------------------- */

struct cb {
    unsigned char *d;
    size_t n;
    size_t cap;
    int is_bad;
};

static void cb_put(struct cb *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 64;
        unsigned char *d = pg_realloc(b->d, cap);

        if (d == NULL) {
            b->is_bad = 1;
            return;
        }
        b->d = d;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->d + b->n, p, n);
    }
    b->n += n;
}

static void cb_byte(struct cb *b, unsigned v)
{
    unsigned char c = (unsigned char)v;

    cb_put(b, &c, 1);
}

static void cb_head(struct cb *b, unsigned major, uint64_t v)
{
    int w = v < 24 ? 0 : (v <= 0xff ? 1 : (v <= 0xffff ? 2 : (v <= 0xffffffffu ? 4 : 8)));
    int i;

    cb_byte(b, (major << 5) |
                   (w == 0 ? (unsigned)v : (w == 1 ? 24u : (w == 2 ? 25u : (w == 4 ? 26u : 27u)))));
    for (i = w - 1; i >= 0; i--) {
        cb_byte(b, (unsigned)(v >> (8 * i)) & 0xffu);
    }
}

static void cb_int(struct cb *b, int64_t v)
{
    if (v >= 0) {
        cb_head(b, 0, (uint64_t)v);
    } else {
        cb_head(b, 1, (uint64_t)(-1 - v));
    }
}

static void cb_tstr(struct cb *b, const char *s)
{
    cb_head(b, 3, strlen(s));
    cb_put(b, s, strlen(s));
}

static void cb_bstr(struct cb *b, const void *p, size_t n)
{
    cb_head(b, 2, n);
    cb_put(b, p, n);
}

/* ---- minting envelopes ------------------------------------------------------ */

enum cty_kind { CTY_TEXT, CTY_INT, CTY_NONE };
enum x5_kind { X5_ARRAY, X5_BSTR, X5_PROTECTED, X5_NONE };

/* What to put in a minted envelope; zero values give a good notary.x509 envelope. */
struct spec {
    int64_t alg; /* 0: the key's */
    enum cty_kind cty;
    int is_sa;
    int is_untagged_time;
    int is_float_time;
    int has_other_time; /* the other scheme's time as well */
    int64_t expiry;     /* 0: none */
    int64_t signed_at;  /* the scheme's signing time; 0: SIGNED_2025 */
    int is_expiry_noncrit;
    const char *crit_extra; /* a further crit text entry */
    int64_t crit_int_extra; /* a further crit integer entry, 0: none */
    const char *ext;        /* a text-labelled extended attribute ("x") */
    int is_ext_critical;
    int64_t int_ext; /* an integer-labelled extended attribute, 0: none */
    int is_int_ext_critical;
    int is_dup_protected;   /* the content type twice */
    int is_dup_unprotected; /* the signing agent twice */
    enum x5_kind x5;
    int is_indefinite;       /* the unprotected map with indefinite length */
    int is_crit_unprotected; /* crit in the unprotected map */
    int is_detached;
    int is_untagged;
    unsigned tag; /* 0: 18 */
};

struct signer {
    EVP_PKEY *key;
    STACK_OF(X509) * chain;
    enum pg_key_spec spec;
};

static void signer_free(struct signer *s)
{
    EVP_PKEY_free(s->key);
    sk_X509_pop_free(s->chain, X509_free);
    memset(s, 0, sizeof(*s));
}

static int signer_load_e2e(struct signer *s)
{
    char *kp = pg_check_vector(E2E_KEYS "e2e.key");
    char *cp = pg_check_vector(E2E_KEYS "e2e.crt");
    FILE *kf = kp != NULL ? fopen(kp, "r") : NULL;
    FILE *cf = cp != NULL ? fopen(cp, "r") : NULL;
    X509 *x = NULL;

    memset(s, 0, sizeof(*s));
    s->chain = sk_X509_new_null();
    s->key = kf != NULL ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
    x = cf != NULL ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
    if (x != NULL && (s->chain == NULL || sk_X509_push(s->chain, x) <= 0)) {
        X509_free(x);
        x = NULL;
    }
    if (kf != NULL) {
        fclose(kf);
    }
    if (cf != NULL) {
        fclose(cf);
    }
    pg_free(kp);
    pg_free(cp);
    return s->key != NULL && x != NULL && pg_x509_key_spec(x, &s->spec, NULL) == PG_OK;
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* A fresh P-256 key with a self-signed code-signing certificate valid for two days. */
static int signer_make_ec(struct signer *s)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    int ok;

    memset(s, 0, sizeof(*s));
    s->key = EVP_EC_gen("P-256");
    s->chain = sk_X509_new_null();
    ok = x != NULL && name != NULL && s->key != NULL && s->chain != NULL &&
         X509_set_version(x, 2) == 1 && ASN1_INTEGER_set(X509_get_serialNumber(x), 7) == 1 &&
         X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1,
                                    0) == 1 &&
         X509_NAME_add_entry_by_txt(name, "ST", MBSTRING_ASC, (const unsigned char *)"WA", -1, -1,
                                    0) == 1 &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"pullgate", -1,
                                    -1, 0) == 1 &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"cose ec", -1,
                                    -1, 0) == 1 &&
         X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1 &&
         X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
         X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400) != NULL && X509_set_pubkey(x, s->key) &&
         add_ext(x, NID_key_usage, "critical,digitalSignature") &&
         add_ext(x, NID_ext_key_usage, "codeSigning") && X509_sign(x, s->key, EVP_sha256()) > 0 &&
         sk_X509_push(s->chain, x) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return 0;
    }
    return pg_x509_key_spec(x, &s->spec, NULL) == PG_OK;
}

static unsigned char *leaf_der(const struct signer *s, int i, size_t *out_len)
{
    unsigned char *der = NULL;
    int len = i2d_X509(sk_X509_value(s->chain, i), &der);

    *out_len = len > 0 ? (size_t)len : 0;
    return der;
}

static void put_chain(struct cb *b, const struct signer *s, int is_bare)
{
    int i;

    if (!is_bare) {
        cb_head(b, 4, (uint64_t)sk_X509_num(s->chain));
    }
    for (i = 0; i < sk_X509_num(s->chain) && (i == 0 || !is_bare); i++) {
        size_t len = 0;
        unsigned char *der = leaf_der(s, i, &len);

        cb_bstr(b, der, len);
        OPENSSL_free(der);
    }
}

static void put_time(struct cb *b, const struct spec *sp, const char *label, int64_t t)
{
    static const unsigned char float_2025[] = {
        0xfb, 0x41, 0xd9, 0xdd, 0x21, 0x60, 0x00, 0x00, 0x00}; /* 1735689600.0 as float64 */

    cb_tstr(b, label);
    if (!sp->is_untagged_time) {
        cb_head(b, 6, 1);
    }
    if (sp->is_float_time && t == SIGNED_2025) {
        cb_put(b, float_2025, sizeof(float_2025));
    } else {
        cb_int(b, t);
    }
}

static void put_crit(struct cb *b, const struct spec *sp)
{
    int n = 1 + sp->is_sa + (sp->expiry != 0 && !sp->is_expiry_noncrit) + (sp->crit_extra != NULL) +
            (sp->crit_int_extra != 0) + (sp->ext != NULL && sp->is_ext_critical) +
            (sp->int_ext != 0 && sp->is_int_ext_critical);

    cb_int(b, 2);
    cb_head(b, 4, (uint64_t)n);
    cb_tstr(b, "io.cncf.notary.signingScheme");
    if (sp->is_sa) {
        cb_tstr(b, "io.cncf.notary.authenticSigningTime");
    }
    if (sp->expiry != 0 && !sp->is_expiry_noncrit) {
        cb_tstr(b, "io.cncf.notary.expiry");
    }
    if (sp->crit_extra != NULL) {
        cb_tstr(b, sp->crit_extra);
    }
    if (sp->crit_int_extra != 0) {
        cb_int(b, sp->crit_int_extra);
    }
    if (sp->ext != NULL && sp->is_ext_critical) {
        cb_tstr(b, sp->ext);
    }
    if (sp->int_ext != 0 && sp->is_int_ext_critical) {
        cb_int(b, sp->int_ext);
    }
}

static void put_protected(struct cb *b, const struct spec *sp, const struct signer *s)
{
    int n = 4 + (sp->cty != CTY_NONE) + sp->has_other_time + (sp->expiry != 0) + (sp->ext != NULL) +
            (sp->int_ext != 0) + sp->is_dup_protected + (sp->x5 == X5_PROTECTED);

    cb_head(b, 5, (uint64_t)n);
    cb_int(b, 1);
    cb_int(b, sp->alg != 0 ? sp->alg : pg_cose_alg(s->spec));
    put_crit(b, sp);
    if (sp->cty != CTY_NONE) {
        cb_int(b, 3);
        if (sp->cty == CTY_INT) {
            cb_int(b, 50); /* CoAP application/json */
        } else {
            cb_tstr(b, PAYLOAD_TYPE);
        }
    }
    cb_tstr(b, "io.cncf.notary.signingScheme");
    cb_tstr(b, sp->is_sa ? "notary.x509.signingAuthority" : "notary.x509");
    put_time(b, sp,
             sp->is_sa ? "io.cncf.notary.authenticSigningTime" : "io.cncf.notary.signingTime",
             sp->signed_at != 0 ? sp->signed_at : SIGNED_2025);
    if (sp->has_other_time) {
        put_time(b, sp,
                 sp->is_sa ? "io.cncf.notary.signingTime" : "io.cncf.notary.authenticSigningTime",
                 SIGNED_2025 + 5);
    }
    if (sp->expiry != 0) {
        put_time(b, sp, "io.cncf.notary.expiry", sp->expiry);
    }
    if (sp->ext != NULL) {
        cb_tstr(b, sp->ext);
        cb_tstr(b, "x");
    }
    if (sp->int_ext != 0) {
        cb_int(b, sp->int_ext);
        cb_int(b, 1);
    }
    if (sp->is_dup_protected) {
        cb_int(b, 3);
        cb_tstr(b, "text/plain");
    }
    if (sp->x5 == X5_PROTECTED) {
        cb_int(b, 33);
        put_chain(b, s, 0);
    }
}

static void put_unprotected(struct cb *b, const struct spec *sp, const struct signer *s)
{
    int n = 1 + (sp->x5 == X5_ARRAY || sp->x5 == X5_BSTR) + sp->is_dup_unprotected +
            sp->is_crit_unprotected;

    if (sp->is_indefinite) {
        cb_byte(b, 0xbf);
    } else {
        cb_head(b, 5, (uint64_t)n);
    }
    if (sp->x5 == X5_ARRAY || sp->x5 == X5_BSTR) {
        cb_int(b, 33);
        put_chain(b, s, sp->x5 == X5_BSTR);
    }
    cb_tstr(b, "io.cncf.notary.signingAgent");
    cb_tstr(b, "pullgate-test");
    if (sp->is_dup_unprotected) {
        cb_tstr(b, "io.cncf.notary.signingAgent");
        cb_tstr(b, "again");
    }
    if (sp->is_crit_unprotected) {
        cb_int(b, 2);
        cb_head(b, 4, 1);
        cb_tstr(b, "io.cncf.notary.signingScheme");
    }
    if (sp->is_indefinite) {
        cb_byte(b, 0xff);
    }
}

static char *payload_for(const struct pg_descriptor *t)
{
    return pg_asprintf("{\"targetArtifact\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
                       "\"size\":%lld}}",
                       t->media_type, t->digest, (long long)t->size);
}

/* A signed envelope as spec says; *out_len its size. NULL on failure. */
static unsigned char *mint(const struct signer *s, const struct spec *sp,
                           const struct pg_descriptor *target, size_t *out_len)
{
    struct cb prot = {NULL, 0, 0, 0};
    struct cb env = {NULL, 0, 0, 0};
    char *payload = payload_for(target);
    unsigned char *tbs = NULL;
    unsigned char *sig = NULL;
    size_t tbs_len = 0;
    size_t sig_len = 0;

    put_protected(&prot, sp, s);
    if (payload == NULL || prot.is_bad ||
        pg_cose_to_be_signed(prot.d, prot.n, (const unsigned char *)payload, strlen(payload), &tbs,
                             &tbs_len, NULL) != PG_OK ||
        pg_sigcrypto_sign(s->key, s->spec, tbs, tbs_len, &sig, &sig_len, NULL) != PG_OK) {
        env.is_bad = 1;
    }
    if (!sp->is_untagged) {
        cb_head(&env, 6, sp->tag != 0 ? sp->tag : 18);
    }
    cb_head(&env, 4, 4);
    cb_bstr(&env, prot.d, prot.n);
    put_unprotected(&env, sp, s);
    if (sp->is_detached) {
        cb_byte(&env, 0xf6);
    } else if (payload != NULL) {
        cb_bstr(&env, payload, strlen(payload));
    }
    cb_bstr(&env, sig, sig_len);
    pg_free(prot.d);
    pg_free(payload);
    pg_free(tbs);
    pg_free(sig);
    if (env.is_bad) {
        pg_free(env.d);
        return NULL;
    }
    *out_len = env.n;
    return env.d;
}

static int open_for(struct fixture *fx, const struct signer *s, const char *store_type)
{
    size_t len = 0;
    unsigned char *der = leaf_der(s, sk_X509_num(s->chain) - 1, &len);
    int ok = der != NULL && fixture_open(fx, store_type, der, len);

    OPENSSL_free(der);
    return ok;
}

/* ---- minted envelopes ---------------------------------------------------------- */

static void minted_rsa_and_ec_envelopes_pass(void)
{
    struct signer signers[2];
    int i;

    REQUIRE(signer_load_e2e(&signers[0]));
    REQUIRE(signer_make_ec(&signers[1]));
    for (i = 0; i < 2; i++) {
        struct spec sp;
        struct fixture fx;
        struct pg_sig_result res;
        size_t len = 0;
        unsigned char *env;

        memset(&sp, 0, sizeof(sp));
        sp.expiry = (int64_t)time(NULL) + 86400;
        env = mint(&signers[i], &sp, &layout_target, &len);
        REQUIRE(env != NULL && open_for(&fx, &signers[i], "ca"));
        CHECK(verify_at(&fx, env, len, &layout_target, time(NULL), &res) == PG_OK);
        show(&res);
        CHECK(res.valid_until == sp.expiry);
        /* The signature stays bound to the payload and the key. */
        env[len - 3] ^= 0x01;
        CHECK(verify_at(&fx, env, len, &layout_target, time(NULL), &res) == PG_ERR_SIG_INTEGRITY);
        fixture_close(&fx);
        pg_free(env);
        signer_free(&signers[i]);
    }
}

static void signing_authority_ignores_signing_time(void)
{
    struct signer s;
    struct spec sp;
    struct fixture fx;
    struct pg_sig_result res;
    size_t len = 0;
    unsigned char *env;

    REQUIRE(signer_load_e2e(&s));
    memset(&sp, 0, sizeof(sp));
    sp.is_sa = 1;
    sp.has_other_time = 1;
    env = mint(&s, &sp, &layout_target, &len);
    REQUIRE(env != NULL && open_for(&fx, &s, "signingAuthority"));
    CHECK(verify_at(&fx, env, len, &layout_target, time(NULL), &res) == PG_OK);
    show(&res);
    CHECK(strcmp(res.signing_scheme, "notary.x509.signingAuthority") == 0);
    fixture_close(&fx);
    /* The same envelope under a ca store only is untrusted. */
    REQUIRE(open_for(&fx, &s, "ca"));
    CHECK(verify_at(&fx, env, len, &layout_target, time(NULL), &res) == PG_ERR_SIG_AUTHENTICITY);
    fixture_close(&fx);
    pg_free(env);
    signer_free(&s);
}

struct tamper {
    const char *claim;
    struct spec sp;
    enum pg_status want;
    const char *why;
};

static const struct tamper tampers[] = {
    {"x5chain as a single bstr",
     {.x5 = X5_BSTR},
     PG_ERR_SIG_INTEGRITY,
     "certificate chain is not present"},
    {"x5chain in the protected header only",
     {.x5 = X5_PROTECTED},
     PG_ERR_SIG_INTEGRITY,
     "certificate chain is not present"},
    {"no x5chain", {.x5 = X5_NONE}, PG_ERR_SIG_INTEGRITY, "certificate chain is not present"},
    {"untagged signing time", {.is_untagged_time = 1}, PG_ERR_SIG_INTEGRITY, "has no tag"},
    {"alg of another key", {.alg = -38}, PG_ERR_SIG_INTEGRITY, "requires -37"},
    {"alg EdDSA", {.alg = -8}, PG_ERR_SIG_INTEGRITY, "does not match"},
    {"duplicate protected key", {.is_dup_protected = 1}, PG_ERR_SIG_INTEGRITY, "duplicate"},
    {"duplicate unprotected key", {.is_dup_unprotected = 1}, PG_ERR_SIG_INTEGRITY, "duplicate"},
    {"indefinite-length unprotected map", {.is_indefinite = 1}, PG_ERR_SIG_INTEGRITY, "indefinite"},
    {"crit listing a missing label",
     {.crit_extra = "com.example.absent"},
     PG_ERR_SIG_INTEGRITY,
     "not in the protected header"},
    {"crit listing a registered label", {.crit_int_extra = 3}, PG_ERR_SIG_INTEGRITY, "registered"},
    {"crit in the unprotected header",
     {.is_crit_unprotected = 1},
     PG_ERR_SIG_INTEGRITY,
     "only allowed in the protected"},
    {"content type as an integer", {.cty = CTY_INT}, PG_ERR_SIG_INTEGRITY, "is a number"},
    {"no content type", {.cty = CTY_NONE}, PG_ERR_SIG_INTEGRITY, "no content type"},
    {"detached payload", {.is_detached = 1}, PG_ERR_SIG_INTEGRITY, "detached"},
    {"untagged message", {.is_untagged = 1}, PG_ERR_SIG_INTEGRITY, "untagged"},
    {"tag 98 instead of 18", {.tag = 98}, PG_ERR_SIG_INTEGRITY, "tag 18"},
    {"expiry before the signing time",
     {.expiry = SIGNED_2025 - 1},
     PG_ERR_SIG_INTEGRITY,
     "not after"},
    {"expiry not critical",
     {.expiry = SIGNED_2025 + 10, .is_expiry_noncrit = 1},
     PG_ERR_SIG_INTEGRITY,
     "must be critical"},
    {"unknown critical text attribute",
     {.ext = "com.example.policy", .is_ext_critical = 1},
     PG_ERR_UNSUPPORTED,
     "unknown critical attribute \"com.example.policy\""},
    {"unknown critical integer label",
     {.int_ext = 100, .is_int_ext_critical = 1},
     PG_ERR_UNSUPPORTED,
     "label 100"},
    {"expired signature", {.expiry = SIGNED_2025 + 10}, PG_ERR_SIG_EXPIRED, "expired"},
    {"zero signing time (Go's 0001-01-01T00:00:00Z)",
     {.signed_at = PG_JWS_ZERO_TIME_SEC},
     PG_ERR_SIG_INTEGRITY,
     "zero time"},
    {"zero authentic signing time",
     {.is_sa = 1, .signed_at = PG_JWS_ZERO_TIME_SEC},
     PG_ERR_SIG_INTEGRITY,
     "zero time"},
    {"a critical zero expiry is no expiry", {.expiry = PG_JWS_ZERO_TIME_SEC}, PG_OK, NULL},
    {"non-critical attributes are accepted", {.ext = "com.example.n", .int_ext = 100}, PG_OK, NULL},
    {"a tag 1 float time is accepted", {.is_float_time = 1}, PG_OK, NULL},
    {"the other scheme's time is ignored", {.has_other_time = 1}, PG_OK, NULL},
    {"crit may list the present signing time",
     {.crit_extra = "io.cncf.notary.signingTime"},
     PG_OK,
     NULL},
};

static void tampered_envelopes_fail_even_when_signed(void)
{
    struct fixture fx;
    struct signer s;
    size_t i;

    REQUIRE(signer_load_e2e(&s));
    REQUIRE(open_for(&fx, &s, "ca"));
    for (i = 0; i < sizeof(tampers) / sizeof(tampers[0]); i++) {
        struct pg_sig_result res;
        size_t len = 0;
        unsigned char *env = mint(&s, &tampers[i].sp, &layout_target, &len);
        enum pg_status st;

        REQUIRE(env != NULL);
        st = verify_at(&fx, env, len, &layout_target, time(NULL), &res);
        if (st != tampers[i].want ||
            (tampers[i].why != NULL && strstr(res.msg, tampers[i].why) == NULL)) {
            fprintf(stderr, "    %s: got %s: %s\n", tampers[i].claim, pg_status_name(st), res.msg);
            CHECK(0);
        }
        pg_free(env);
    }
    fixture_close(&fx);
    signer_free(&s);
}

static void extended_attributes_are_seen_as_json(void)
{
    struct signer s;
    struct spec sp;
    struct pg_cose *cose = NULL;
    const struct pg_jws *v;
    size_t len = 0;
    unsigned char *env;

    REQUIRE(signer_load_e2e(&s));
    memset(&sp, 0, sizeof(sp));
    sp.ext = "com.example.policy";
    sp.is_ext_critical = 1;
    sp.int_ext = 100;
    env = mint(&s, &sp, &layout_target, &len);
    REQUIRE(env != NULL && pg_cose_parse(env, len, &cose, NULL) == PG_OK);
    v = pg_cose_view(cose);
    /* Only the text-labelled attribute is an extended attribute a plugin would see. */
    CHECK(v->n_ext == 1 && strcmp(v->ext[0].name, "com.example.policy") == 0);
    CHECK(v->ext[0].is_critical && json_is_string(v->ext[0].value) &&
          strcmp(json_string_value(v->ext[0].value), "x") == 0);
    CHECK(v->n_crit == 2 && strcmp(v->crit[1], "com.example.policy") == 0);
    pg_cose_free(cose);
    pg_free(env);
    signer_free(&s);
}

/* ---- envelopes made by pg-testsign ---------------------------------------------- */

static int run_tool(const char *args)
{
    const char *build = getenv("PG_BUILD_DIR");
    char *cmd = build != NULL ? pg_asprintf("%s/tests/pg-testsign %s", build, args) : NULL;
    int rc = cmd != NULL ? system(cmd) : -1;

    pg_free(cmd);
    return rc;
}

static unsigned char *pem_cert_der(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int len = x != NULL ? i2d_X509(x, &der) : 0;

    if (f != NULL) {
        fclose(f);
    }
    X509_free(x);
    *out_len = len > 0 ? (size_t)len : 0;
    return der;
}

static void verify_tool_envelope(const char *dir, const char *store_type, const char *cert_path)
{
    struct fixture fx;
    struct pg_sig_result res;
    size_t len = 0;
    size_t der_len = 0;
    char *path = pg_asprintf("%s/env.cose", dir);
    unsigned char *env = path != NULL ? pg_check_read_file(path, &len) : NULL;
    unsigned char *der = pem_cert_der(cert_path, &der_len);

    REQUIRE(env != NULL && der != NULL);
    REQUIRE(fixture_open(&fx, store_type, der, der_len));
    CHECK(verify_at(&fx, env, len, &layout_target, time(NULL), &res) == PG_OK);
    show(&res);
    fixture_close(&fx);
    OPENSSL_free(der);
    pg_free(env);
    pg_free(path);
}

static void testsign_cose_envelopes_pass(void)
{
    char *dir = pg_check_tmpdir();
    char *keys = pg_check_vector(E2E_KEYS);
    char *args = NULL;
    char *cert = NULL;

    REQUIRE(dir != NULL && keys != NULL);
    if (getenv("PG_BUILD_DIR") == NULL) {
        fprintf(stderr, "    PG_BUILD_DIR unset: pg-testsign not found\n");
        CHECK(0);
        goto out;
    }
    args = pg_asprintf("sign --format cose --key %s/e2e.key --chain %s/e2e.crt "
                       "--target-media-type " OCI_MANIFEST " --target-digest " LAYOUT_DIGEST
                       " --target-size 481 --out %s/env.cose",
                       keys, keys, dir);
    CHECK(args != NULL && run_tool(args) == 0);
    cert = pg_asprintf("%s/e2e.crt", keys);
    verify_tool_envelope(dir, "ca", cert);
    pg_free(args);
    pg_free(cert);
    args = pg_asprintf("cert --self-signed --key ec384 --out %s/ec >/dev/null && %s/tests/"
                       "pg-testsign sign --format cose --scheme sa --key %s/ec/key.pem --chain "
                       "%s/ec/chain.pem --target-media-type " OCI_MANIFEST
                       " --target-digest " LAYOUT_DIGEST " --target-size 481 --attr "
                       "com.example.n=json:[1,\\\"a\\\"] --out %s/env.cose",
                       dir, getenv("PG_BUILD_DIR"), dir, dir, dir);
    CHECK(args != NULL && run_tool(args) == 0);
    cert = pg_asprintf("%s/ec/cert.pem", dir);
    verify_tool_envelope(dir, "signingAuthority", cert);
out:
    pg_free(args);
    pg_free(cert);
    pg_free(keys);
    pg_check_rmtree(dir);
    pg_free(dir);
}

/* ---- the vector, edited byte by byte ------------------------------------------ */

static enum pg_status verify_edited(const struct fixture *fx, const unsigned char *env, size_t len,
                                    size_t at, unsigned char xor_with, struct pg_sig_result *res)
{
    unsigned char *copy = pg_malloc(len);
    enum pg_status st;

    if (copy == NULL) {
        return PG_ERR_NOMEM;
    }
    memcpy(copy, env, len);
    copy[at] ^= xor_with;
    st = verify_at(fx, copy, len, &layout_target, time(NULL), res);
    pg_free(copy);
    return st;
}

static void edited_vectors_fail_integrity(void)
{
    struct fixture fx;
    struct pg_sig_result res;
    size_t len = 0;
    size_t der_len = 0;
    unsigned char *env = read_vector(VEC_COSE, &len);
    unsigned char *der = env != NULL ? leaf_of(env, len, &der_len) : NULL;

    REQUIRE(der != NULL && fixture_open(&fx, "ca", der, der_len));
    /* A bit in the signature, in the protected scheme value, the tag, the untagged form. */
    CHECK(verify_edited(&fx, env, len, len - 10, 0x04, &res) == PG_ERR_SIG_INTEGRITY);
    CHECK(verify_edited(&fx, env, len, 0x9a, 0x01, &res) == PG_ERR_SIG_INTEGRITY);
    CHECK(verify_edited(&fx, env, len, 0, 0x01, &res) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(res.msg, "tag 18") != NULL);
    CHECK(verify_at(&fx, env + 1, len - 1, &layout_target, time(NULL), &res) ==
          PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(res.msg, "untagged") != NULL);
    fixture_close(&fx);
    pg_free(der);
    pg_free(env);
}

/* Every truncation and every single-bit flip is refused or, if still valid, verified. */
static void every_cut_and_flip_is_handled(void)
{
    size_t len = 0;
    unsigned char *env = read_vector(VEC_COSE, &len);
    unsigned char *copy = env != NULL ? pg_malloc(len) : NULL;
    size_t i;
    int bit;
    int n_ok = 0;

    REQUIRE(copy != NULL);
    for (i = 0; i < len; i++) {
        struct pg_cose *cose = NULL;

        CHECK(pg_cose_parse(env, i, &cose, NULL) == PG_ERR_SIG_INTEGRITY && cose == NULL);
    }
    memcpy(copy, env, len);
    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            struct pg_cose *cose = NULL;
            enum pg_status st;

            copy[i] ^= (unsigned char)(1u << bit);
            st = pg_cose_parse(copy, len, &cose, NULL);
            CHECK(st == PG_OK || st == PG_ERR_SIG_INTEGRITY);
            n_ok += st == PG_OK;
            pg_cose_free(cose);
            copy[i] ^= (unsigned char)(1u << bit);
        }
    }
    CHECK(n_ok > 0); /* flips inside certificate and signature bytes still parse */
    pg_free(copy);
    pg_free(env);
}

/* ---- bounds ------------------------------------------------------------------- */

static enum pg_status parse_bytes(const unsigned char *data, size_t len, char *msg, size_t msg_len)
{
    struct pg_cose *cose = NULL;
    struct pg_err err;
    enum pg_status st;

    pg_err_init(&err);
    st = pg_cose_parse(data, len, &cose, &err);
    snprintf(msg, msg_len, "%s", err.msg);
    pg_cose_free(cose);
    return st;
}

static void hostile_cbor_is_bounded(void)
{
    static const unsigned char huge_bstr[] = {0xd2, 0x84, 0x5b, 0x7f, 0xff, 0xff,
                                              0xff, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char huge_array[] = {0xd2, 0x84, 0x40, 0xa1, 0x00, 0x9b, 0x7f,
                                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char bad_utf8[] = {0xd2, 0x84, 0x40, 0xa1, 0x62,
                                             0xc0, 0xaf, 0x00, 0x40, 0x40};
    static const unsigned char reserved[] = {0xd2, 0x84, 0x40, 0xa0, 0x40, 0x5c};
    struct cb deep = {NULL, 0, 0, 0};
    struct cb wide = {NULL, 0, 0, 0};
    char msg[PG_ERR_MSG_MAX];
    int i;

    CHECK(parse_bytes(NULL, 0, msg, sizeof(msg)) == PG_ERR_SIG_INTEGRITY);
    CHECK(parse_bytes(huge_bstr, sizeof(huge_bstr), msg, sizeof(msg)) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(msg, "truncated") != NULL);
    CHECK(parse_bytes(huge_array, sizeof(huge_array), msg, sizeof(msg)) == PG_ERR_SIG_INTEGRITY);
    CHECK(parse_bytes(bad_utf8, sizeof(bad_utf8), msg, sizeof(msg)) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(msg, "utf-8") != NULL);
    CHECK(parse_bytes(reserved, sizeof(reserved), msg, sizeof(msg)) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(msg, "reserved") != NULL);
    /* 100000 nested arrays in the unprotected header. */
    cb_put(&deep, "\xd2\x84\x40\xa1\x00", 5);
    for (i = 0; i < 100000; i++) {
        cb_byte(&deep, 0x81);
    }
    cb_byte(&deep, 0x00);
    cb_put(&deep, "\x40\x40", 2);
    REQUIRE(!deep.is_bad);
    CHECK(parse_bytes(deep.d, deep.n, msg, sizeof(msg)) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(msg, "nested deeper") != NULL);
    /* 100000 small items. */
    cb_put(&wide, "\xd2\x84\x40\xa1\x00\x9a\x00\x01\x86\xa0", 10);
    for (i = 0; i < 100000; i++) {
        cb_byte(&wide, 0x00);
    }
    cb_put(&wide, "\x40\x40", 2);
    REQUIRE(!wide.is_bad);
    CHECK(parse_bytes(wide.d, wide.n, msg, sizeof(msg)) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(msg, "more than") != NULL);
    pg_free(deep.d);
    pg_free(wide.d);
}

static void trailing_bytes_are_refused(void)
{
    size_t len = 0;
    unsigned char *env = read_vector(VEC_COSE, &len);
    unsigned char *longer = env != NULL ? pg_malloc(len + 1) : NULL;
    char msg[PG_ERR_MSG_MAX];

    REQUIRE(longer != NULL);
    memcpy(longer, env, len);
    longer[len] = 0x00;
    CHECK(parse_bytes(longer, len + 1, msg, sizeof(msg)) == PG_ERR_SIG_INTEGRITY);
    CHECK(strstr(msg, "after its end") != NULL);
    CHECK(parse_bytes(env, len, msg, sizeof(msg)) == PG_OK);
    pg_free(longer);
    pg_free(env);
}

static void sig_structure_is_encoded_canonically(void)
{
    static const unsigned char prot[] = {0xa1, 0x01, 0x24};
    static const unsigned char want[] = {0x84, 0x6a, 'S',  'i',  'g',  'n',  'a',  't',  'u', 'r',
                                         'e',  '1',  0x43, 0xa1, 0x01, 0x24, 0x40, 0x42, 'h', 'i'};
    unsigned char *tbs = NULL;
    size_t len = 0;
    unsigned char big[300];

    CHECK(pg_cose_to_be_signed(prot, sizeof(prot), (const unsigned char *)"hi", 2, &tbs, &len,
                               NULL) == PG_OK);
    CHECK(tbs != NULL && len == sizeof(want) && memcmp(tbs, want, len) == 0);
    pg_free(tbs);
    tbs = NULL;
    memset(big, 'a', sizeof(big));
    CHECK(pg_cose_to_be_signed(NULL, 0, big, sizeof(big), &tbs, &len, NULL) == PG_OK);
    /* Empty protected bytes are h'', a 300-byte payload takes a two-byte length. */
    CHECK(tbs != NULL && len == 12 + 1 + 1 + 3 + 300 && tbs[12] == 0x40 && tbs[14] == 0x59 &&
          tbs[15] == 0x01 && tbs[16] == 0x2c);
    pg_free(tbs);
}

static void out_of_memory_is_an_ordinary_error(void)
{
    size_t len = 0;
    unsigned char *env = read_vector(VEC_TS, &len);
    long n;
    int done = 0;

    REQUIRE(env != NULL);
    for (n = 0; n < 200 && !done; n++) {
        struct pg_cose *cose = NULL;
        enum pg_status st;

        pg_mem_fail_after(n);
        st = pg_cose_parse(env, len, &cose, NULL);
        pg_mem_fail_after(-1);
        CHECK(st == PG_OK || st == PG_ERR_NOMEM);
        done = st == PG_OK;
        pg_cose_free(cose);
    }
    CHECK(done);
    pg_free(env);
}

int main(void)
{
    PG_RUN("cose_signature.sig passes with its own leaf as ca anchor",
           vector_passes_with_its_own_anchor);
    PG_RUN("cose_signature.sig is untrusted under another anchor or a signingAuthority store",
           vector_is_untrusted_without_its_anchor);
    PG_RUN("the vector's headers are read as notation reads them", vector_fields_are_read);
    PG_RUN("the cose timestamp vectors parse with their tokens", timestamp_vectors_parse);
    PG_RUN("minted rsa (PS256) and ec (ES256) envelopes pass and break when edited",
           minted_rsa_and_ec_envelopes_pass);
    PG_RUN("a signing authority envelope ignores a signingTime and needs its own store",
           signing_authority_ignores_signing_time);
    PG_RUN("structural deviations fail even in validly signed envelopes",
           tampered_envelopes_fail_even_when_signed);
    PG_RUN("text-labelled extended attributes are seen as json, integer labels are not",
           extended_attributes_are_seen_as_json);
    PG_RUN("pg-testsign --format cose envelopes (rsa x509, ec384 signing authority) pass",
           testsign_cose_envelopes_pass);
    PG_RUN("a flipped signature or protected bit, a wrong tag or no tag fail integrity",
           edited_vectors_fail_integrity);
    PG_RUN("every truncation and bit flip of the vector is handled", every_cut_and_flip_is_handled);
    PG_RUN("huge lengths, deep nesting, many items, bad utf-8 are refused",
           hostile_cbor_is_bounded);
    PG_RUN("bytes after the message are refused", trailing_bytes_are_refused);
    PG_RUN("the sig_structure is encoded canonically", sig_structure_is_encoded_canonically);
    PG_RUN("running out of memory while parsing is an ordinary error",
           out_of_memory_is_an_ordinary_error);
    return pg_check_done();
}
