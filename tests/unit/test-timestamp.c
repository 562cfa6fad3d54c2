/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims about RFC 3161 timestamp verification: notation's token vectors
 * (the countersignature tokens), its NG-T signature vectors through pg_sigverify,
 * and tokens minted here by a test timestamp authority (OpenSSL's TS_RESP
 * API with a pg-testsign chain) for complete offline cases: a signature
 * whose certificate expired is accepted on its timestamp, and each way a
 * token can be wrong is refused.
 */
#include <jansson.h>
#include <openssl/ts.h>

#include "b64.h"
#include "jws.h"
#include "revocation-fixture.h"
#include "sigverify.h"
#include "timestamp.h"

#define CS "notation-go/verifier/testdata/timestamp/countersignature/"
#define SIGENV "notation-go/verifier/testdata/timestamp/sigEnv/"
#define NG_STORE "notation-go/verifier/testdata/truststore/x509/"
#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define JOSE "application/jose+json"
#define DOCKER_V2 "application/vnd.docker.distribution.manifest.v2+json"
#define TARGET_DIGEST "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9"
#define NG_T_DIGEST "sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda"

static char *tmp;
static int have_pki;
static char oci_manifest[] = OCI_MANIFEST;
static char docker_v2[] = DOCKER_V2;
static char target_digest[] = TARGET_DIGEST;
static char ng_t_digest[] = NG_T_DIGEST;
static const struct pg_descriptor target = {oci_manifest, target_digest, 517, NULL};
static const struct pg_descriptor ng_t_target = {docker_v2, ng_t_digest, 528, NULL};

static const char *at(const char *name)
{
    static char slots[8][512];
    static int next;
    char *p = slots[next++ % 8];

    snprintf(p, sizeof(slots[0]), "%s/%s", tmp, name);
    return p;
}

static unsigned char *read_vector(const char *rel, size_t *len)
{
    char *p = pg_check_vector(rel);
    unsigned char *d = p != NULL ? pg_check_read_file(p, len) : NULL;

    pg_free(p);
    return d;
}

static STACK_OF(X509) * vector_certs(const char *rel)
{
    char *p = pg_check_vector(rel);
    STACK_OF(X509) *s = p != NULL ? rf_load_certs(p) : NULL;

    pg_free(p);
    return s;
}

/* ---- a test timestamp authority ------------------------------------------ */

struct mint {
    const char *tsa;  /* directory of the signer (key.pem, cert.pem, chain.pem) */
    int64_t gen_time; /* Unix seconds */
    int acc_s;        /* accuracy seconds; 0 none */
    int ess_v1;       /* ESS signing-certificate (v1) instead of v2 */
};

static int time_cb(struct TS_resp_ctx *ctx, void *data, long *sec, long *usec)
{
    (void)ctx;
    *sec = (long)*(const int64_t *)data;
    *usec = 500000;
    return 1;
}

static TS_REQ *make_req(const unsigned char *data, size_t len, int cert_req)
{
    unsigned char h[32];
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();

    SHA256(data, len, h);
    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
    TS_MSG_IMPRINT_set_algo(mi, alg);
    TS_MSG_IMPRINT_set_msg(mi, h, sizeof(h));
    TS_REQ_set_version(req, 1);
    TS_REQ_set_msg_imprint(req, mi);
    TS_REQ_set_cert_req(req, cert_req);
    TS_MSG_IMPRINT_free(mi);
    X509_ALGOR_free(alg);
    return req;
}

static TS_RESP_CTX *make_ctx(const struct mint *m, X509 *cert, EVP_PKEY *key,
                             STACK_OF(X509) * chain, ASN1_OBJECT *policy)
{
    TS_RESP_CTX *ctx = TS_RESP_CTX_new();

    TS_RESP_CTX_set_signer_cert(ctx, cert);
    TS_RESP_CTX_set_signer_key(ctx, key);
    TS_RESP_CTX_set_certs(ctx, chain);
    TS_RESP_CTX_set_def_policy(ctx, policy);
    TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256());
    if (!m->ess_v1) {
        TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256());
    }
    TS_RESP_CTX_add_md(ctx, EVP_sha256());
    TS_RESP_CTX_set_time_cb(ctx, time_cb, (void *)&m->gen_time);
    TS_RESP_CTX_set_clock_precision_digits(ctx, 3);
    if (m->acc_s > 0) {
        TS_RESP_CTX_set_accuracy(ctx, m->acc_s, 0, 0);
    }
    return ctx;
}

/* A DER token over data; NULL on failure. */
static unsigned char *mint_token(const struct mint *m, const unsigned char *data, size_t len,
                                 size_t *out_len)
{
    char kp[600];
    char cp[600];
    EVP_PKEY *key;
    STACK_OF(X509) * chain;
    X509 *cert;
    ASN1_OBJECT *policy = OBJ_txt2obj("1.3.6.1.4.1.55555.2", 1);
    TS_REQ *req = make_req(data, len, 1);
    BIO *rb = BIO_new(BIO_s_mem());
    TS_RESP_CTX *ctx = NULL;
    TS_RESP *resp = NULL;
    unsigned char *der = NULL;
    int n = -1;

    snprintf(kp, sizeof(kp), "%s/key.pem", m->tsa);
    snprintf(cp, sizeof(cp), "%s/chain.pem", m->tsa);
    key = rf_load_key(kp);
    chain = rf_load_certs(cp);
    cert = chain != NULL ? sk_X509_value(chain, 0) : NULL;
    if (key != NULL && cert != NULL && i2d_TS_REQ_bio(rb, req) == 1) {
        ctx = make_ctx(m, cert, key, chain, policy);
        resp = TS_RESP_create_response(ctx, rb);
    }
    if (resp != NULL && ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(
                            TS_RESP_get_status_info(resp))) == TS_STATUS_GRANTED) {
        n = i2d_PKCS7(TS_RESP_get_token(resp), &der);
    }
    TS_RESP_free(resp);
    TS_RESP_CTX_free(ctx);
    BIO_free(rb);
    TS_REQ_free(req);
    ASN1_OBJECT_free(policy);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    ERR_clear_error();
    *out_len = n > 0 ? (size_t)n : 0;
    return n > 0 ? der : NULL;
}

static int mint_pki(void)
{
    return rf_testsign("ca", "--out", at("tsaroot"), "--subject",
                       "CN=pg test tsa root,O=pullgate,ST=WA,C=US", "--not-before", "-60d",
                       RF_END) &&
           rf_testsign("cert", "--ca", at("tsaroot"), "--out", at("tsa"), "--subject",
                       "CN=pg test tsa,O=pullgate,ST=WA,C=US", "--eku", "timeStamping",
                       "--eku-critical", "--not-before", "-30d", "--days", "3650", RF_END) &&
           rf_testsign("cert", "--ca", at("tsaroot"), "--out", at("tsa-ocsp"), "--subject",
                       "CN=pg test tsa ocsp,O=pullgate,ST=WA,C=US", "--eku", "timeStamping",
                       "--eku-critical", "--not-before", "-30d", "--ocsp-url",
                       "http://127.0.0.1:1/ocsp", RF_END) &&
           rf_testsign("cert", "--ca", at("tsaroot"), "--out", at("tsa-young"), "--subject",
                       "CN=pg test tsa young,O=pullgate,ST=WA,C=US", "--eku", "timeStamping",
                       "--eku-critical", "--not-before", "-3d", RF_END) &&
           rf_testsign("ca", "--out", at("sroot"), "--not-before", "-30d", RF_END) &&
           rf_testsign("cert", "--ca", at("sroot"), "--out", at("sleaf"), "--not-before", "-10d",
                       "--not-after", "-2d", RF_END);
}

/* ---- notation's token vectors --------------------------------------------- */

static enum pg_status parse_vector(const char *rel, struct pg_timestamp **ts, struct pg_err *err)
{
    size_t len = 0;
    unsigned char *d = read_vector(rel, &len);
    enum pg_status st;

    pg_err_init(err);
    st = d != NULL ? pg_timestamp_parse(d, len, ts, err) : PG_ERR_IO;
    pg_free(d);
    return st;
}

static void vector_imprint_covers_only_its_data(void)
{
    struct pg_timestamp *ts = NULL;
    struct pg_err err;
    int64_t gen = 0;
    int64_t acc = 0;

    REQUIRE(parse_vector(CS "TimeStampToken.p7s", &ts, &err) == PG_OK);
    CHECK(pg_timestamp_check_imprint(ts, (const unsigned char *)"notation", 8, &err) == PG_OK);
    CHECK(pg_timestamp_check_imprint(ts, (const unsigned char *)"notation!", 9, &err) ==
          PG_ERR_SIG_TIMESTAMP);
    CHECK(strstr(err.msg, "message imprint does not match") != NULL);
    pg_timestamp_time(ts, &gen, &acc);
    CHECK(gen > (int64_t)1600000000 * 1000000 && gen < (int64_t)time(NULL) * 1000000);
    pg_timestamp_free(ts);
}

static void malformed_vector_tokens_fail(void)
{
    struct pg_timestamp *ts = NULL;
    STACK_OF(X509) *roots = vector_certs(NG_STORE "tsa/test-timestamp/globalsignRoot.cer");
    STACK_OF(X509) *chain = NULL;
    struct pg_err err;

    CHECK(parse_vector(CS "TimeStampTokenWithInvalidTSTInfo.p7s", &ts, &err) ==
          PG_ERR_SIG_TIMESTAMP);
    CHECK(strstr(err.msg, "tstinfo") != NULL);
    CHECK(parse_vector(CS "TimeStampTokenWithInvalideContentType.p7s", &ts, &err) ==
          PG_ERR_SIG_TIMESTAMP);
    CHECK(strstr(err.msg, "content type is not id-ct-TSTInfo") != NULL);
    REQUIRE(roots != NULL);
    REQUIRE(parse_vector(CS "TimeStampTokenWithoutCertificate.p7s", &ts, &err) == PG_OK);
    CHECK(pg_timestamp_verify_signer(ts, roots, &chain, &err) == PG_ERR_SIG_TIMESTAMP);
    CHECK(strstr(err.msg, "signing certificate not found") != NULL);
    pg_timestamp_free(ts);
    sk_X509_pop_free(roots, X509_free);
}

static void vector_token_chains_to_its_root_only(void)
{
    struct pg_timestamp *ts = NULL;
    STACK_OF(X509) *gs = vector_certs(NG_STORE "tsa/test-timestamp/globalsignRoot.cer");
    STACK_OF(X509) *dc = vector_certs(NG_STORE "tsa/test-mismatch/DigiCertTSARootSHA384.cer");
    STACK_OF(X509) *chain = NULL;
    struct pg_err err;

    REQUIRE(gs != NULL && dc != NULL);
    REQUIRE(parse_vector(CS "TimeStampToken.p7s", &ts, &err) == PG_OK);
    CHECK(pg_timestamp_verify_signer(ts, gs, &chain, &err) == PG_OK);
    CHECK(sk_X509_num(chain) >= 2);
    sk_X509_pop_free(chain, X509_free);
    chain = NULL;
    pg_err_init(&err);
    CHECK(pg_timestamp_verify_signer(ts, dc, &chain, &err) == PG_ERR_SIG_TIMESTAMP);
    CHECK(strstr(err.msg, "does not chain to the tsa trust store") != NULL);
    pg_timestamp_free(ts);
    sk_X509_pop_free(gs, X509_free);
    sk_X509_pop_free(dc, X509_free);
}

static void broken_token_signature_fails(void)
{
    struct pg_timestamp *ts = NULL;
    STACK_OF(X509) *roots = vector_certs("notation-core-go/internal/timestamp/testdata/"
                                         "tsaRootCert.cer");
    STACK_OF(X509) *chain = NULL;
    struct pg_err err;

    REQUIRE(roots != NULL);
    REQUIRE(parse_vector("notation-core-go/internal/timestamp/testdata/"
                         "TimeStampTokenWithInvalidSignature.p7s",
                         &ts, &err) == PG_OK);
    CHECK(pg_timestamp_verify_signer(ts, roots, &chain, &err) == PG_ERR_SIG_TIMESTAMP);
    CHECK(chain == NULL);
    fprintf(stderr, "    (%s)\n", err.msg);
    pg_timestamp_free(ts);
    sk_X509_pop_free(roots, X509_free);
}

/* ---- minted tokens through pg_timestamp_verify ------------------------------ */

struct tv {
    struct pg_timestamp_input in;
    struct pg_timestamp_result res;
    struct pg_err err;
    STACK_OF(X509) * roots;
    STACK_OF(X509) * signing;
    unsigned char *token;
};

static const unsigned char sigbytes[] = "the primitive signature bytes";

static void tv_close(struct tv *t)
{
    sk_X509_pop_free(t->roots, X509_free);
    sk_X509_pop_free(t->signing, X509_free);
    OPENSSL_free(t->token);
}

static int tv_open(struct tv *t, const struct mint *m, const char *roots_dir)
{
    char rp[600];
    size_t len = 0;

    memset(t, 0, sizeof(*t));
    snprintf(rp, sizeof(rp), "%s/cert.pem", roots_dir);
    t->roots = rf_load_certs(rp);
    t->signing = rf_load_certs(at("sleaf/chain.pem"));
    t->token = mint_token(m, sigbytes, sizeof(sigbytes), &len);
    t->in.token = t->token;
    t->in.token_len = len;
    t->in.signature = sigbytes;
    t->in.signature_len = sizeof(sigbytes);
    t->in.tsa_certs = t->roots;
    t->in.signing_chain = t->signing;
    t->in.now = time(NULL);
    pg_err_init(&t->err);
    if (t->roots == NULL || t->signing == NULL || t->token == NULL) {
        tv_close(t);
        return 0;
    }
    return 1;
}

static enum pg_status tv_verify(struct tv *t)
{
    enum pg_status st;

    pg_err_init(&t->err);
    st = pg_timestamp_verify(&t->in, &t->res, &t->err);
    if (pg_check_failed_now()) {
        fprintf(stderr, "    result: %s: %s\n", pg_status_name(st), t->err.msg);
    }
    return st;
}

static int has(const struct tv *t, const char *text)
{
    if (strstr(t->err.msg, text) == NULL) {
        fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", t->err.msg, text);
        return 0;
    }
    return 1;
}

static int64_t days_ago(int d)
{
    return (int64_t)time(NULL) - (int64_t)d * 86400;
}

static void minted_token_inside_the_window_passes(void)
{
    struct mint m = {at("tsa"), 0, 0, 0};
    struct tv t;

    REQUIRE(have_pki);
    m.gen_time = days_ago(5); /* sleaf: valid from 10 to 2 days ago */
    REQUIRE(tv_open(&t, &m, at("tsaroot")));
    CHECK(tv_verify(&t) == PG_OK);
    CHECK(t.res.gen_time_us == m.gen_time * 1000000 + 500000);
    CHECK(t.res.accuracy_us == 0);
    tv_close(&t);
}

static void minted_token_outside_the_window_fails(void)
{
    struct mint m = {at("tsa"), 0, 0, 0};
    struct tv t;

    REQUIRE(have_pki);
    m.gen_time = days_ago(1); /* after sleaf's notAfter */
    REQUIRE(tv_open(&t, &m, at("tsaroot")));
    CHECK(tv_verify(&t) == PG_ERR_SIG_TIMESTAMP);
    CHECK(has(&t, "not valid over the whole timestamp range"));
    tv_close(&t);
    /* Inside, but the accuracy reaches past notAfter. */
    m.gen_time = days_ago(2) - 60;
    m.acc_s = 3600;
    REQUIRE(tv_open(&t, &m, at("tsaroot")));
    CHECK(tv_verify(&t) == PG_ERR_SIG_TIMESTAMP);
    CHECK(t.res.gen_time_us == 0); /* out untouched on failure */
    tv_close(&t);
    m.acc_s = 10;
    REQUIRE(tv_open(&t, &m, at("tsaroot")));
    CHECK(tv_verify(&t) == PG_OK);
    CHECK(t.res.accuracy_us == 10000000);
    tv_close(&t);
}

static void minted_token_faults_fail(void)
{
    struct mint m = {at("tsa"), 0, 0, 0};
    struct tv t;

    REQUIRE(have_pki);
    m.gen_time = days_ago(5);
    /* Another signature's token. */
    REQUIRE(tv_open(&t, &m, at("tsaroot")));
    t.in.signature_len--;
    CHECK(tv_verify(&t) == PG_ERR_SIG_TIMESTAMP && has(&t, "message imprint"));
    tv_close(&t);
    /* An authority the tsa store does not hold. */
    REQUIRE(tv_open(&t, &m, at("sroot")));
    CHECK(tv_verify(&t) == PG_ERR_SIG_TIMESTAMP && has(&t, "does not chain"));
    tv_close(&t);
    /* ESS signing-certificate v1 only. */
    m.ess_v1 = 1;
    REQUIRE(tv_open(&t, &m, at("tsaroot")));
    CHECK(tv_verify(&t) == PG_ERR_SIG_TIMESTAMP && has(&t, "signing-certificate-v2"));
    tv_close(&t);
    m.ess_v1 = 0;
    /* genTime before the authority's own certificate (valid from 3 days ago). */
    m.tsa = at("tsa-young");
    REQUIRE(tv_open(&t, &m, at("tsaroot")));
    CHECK(tv_verify(&t) == PG_ERR_SIG_TIMESTAMP && has(&t, "does not chain"));
    tv_close(&t);
    /* A flipped byte anywhere in the token. */
    m.tsa = at("tsa");
    REQUIRE(tv_open(&t, &m, at("tsaroot")));
    t.token[t.in.token_len - 10] ^= 1;
    CHECK(tv_verify(&t) == PG_ERR_SIG_TIMESTAMP);
    tv_close(&t);
}

static void unknown_tsa_revocation_fails_unless_allowed(void)
{
    struct mint m = {at("tsa-ocsp"), 0, 0, 0};
    struct pg_revocation_options o;
    struct tv t;

    REQUIRE(have_pki);
    m.gen_time = days_ago(5);
    REQUIRE(tv_open(&t, &m, at("tsaroot")));
    CHECK(tv_verify(&t) == PG_ERR_SIG_TIMESTAMP);
    CHECK(has(&t, "timestamp authority chain: revocation status of certificate CN=pg test tsa "
                  "ocsp"));
    pg_revocation_options_init(&o);
    o.tsa_revocation = PG_TSA_REVOCATION_ALLOW_UNKNOWN;
    t.in.revocation = &o;
    CHECK(tv_verify(&t) == PG_OK);
    tv_close(&t);
}

/* ---- through pg_sigverify ---------------------------------------------------- */

static const char *const ng_ca_files[] = {"GlobalSign.der",
                                          "GlobalSignRootCA.crt",
                                          "NotationTestRoot.pem",
                                          "TestTimestamp.crt",
                                          "TestTimestampNotYetValid.crt",
                                          "wabbit-networks.io.crt",
                                          NULL};

/*
 * The expired vectors are signed by lone self-signed certificates that no
 * vector store holds (notation's test checks only the timestamp step): the
 * JWS one is written into ca/valid-trust-store as its own anchor, and the
 * NG-T statement logs authenticity so the COSE ones reach the timestamp.
 */
static int add_envelope_root(const char *dir, const char *file)
{
    char rel[256];
    char *path;
    json_t *env;
    const char *b64;
    unsigned char *der = NULL;
    size_t len = 0;
    struct pg_err err;
    int ok = 0;

    snprintf(rel, sizeof(rel), SIGENV "%s", file);
    path = pg_check_vector(rel);
    env = path != NULL ? json_load_file(path, 0, NULL) : NULL;
    b64 = json_string_value(
        json_array_get(json_object_get(json_object_get(env, "header"), "x5c"), 0));
    pg_err_init(&err);
    if (b64 != NULL && pg_b64_decode_std(b64, strlen(b64), "x5c", &der, &len, &err) == PG_OK) {
        char *file_path = pg_asprintf("%s/truststore/x509/ca/valid-trust-store/testTSA.der", dir);

        ok = file_path != NULL && rf_write_file(file_path, der, len);
        pg_free(file_path);
    }
    pg_free(der);
    json_decref(env);
    pg_free(path);
    return ok;
}

/* NG-T: ca:valid-trust-store and, with_tsa, tsa:test-timestamp; scope and identities "*". */
static struct pg_trust *ng_t_trust(const char *name, int with_tsa)
{
    char *src = NULL;
    int ok = rf_mkdirs(at(name));
    size_t i;

    for (i = 0; ok && ng_ca_files[i] != NULL; i++) {
        char *rel = pg_asprintf(NG_STORE "ca/valid-trust-store/%s", ng_ca_files[i]);

        src = rel != NULL ? pg_check_vector(rel) : NULL;
        ok =
            src != NULL && rf_add_store_file(at(name), "ca/valid-trust-store", ng_ca_files[i], src);
        pg_free(src);
        pg_free(rel);
    }
    ok = ok && add_envelope_root(at(name), "jwsExpiredWithTimestamp.sig");
    src = pg_check_vector(NG_STORE "tsa/test-timestamp/globalsignRoot.cer");
    ok = ok && src != NULL &&
         rf_add_store_file(at(name), "tsa/test-timestamp", "globalsignRoot.cer", src) &&
         rf_write_policy(at(name),
                         "{\"level\":\"strict\",\"verifyTimestamp\":\"always\","
                         "\"override\":{\"authenticity\":\"log\"}}",
                         with_tsa ? "\"ca:valid-trust-store\",\"tsa:test-timestamp\""
                                  : "\"ca:valid-trust-store\"");
    pg_free(src);
    return ok ? rf_load_trust(at(name)) : NULL;
}

static enum pg_status verify_env(struct pg_trust *t, const unsigned char *env, size_t len,
                                 const char *media_type, const struct pg_descriptor *d,
                                 const struct pg_sigverify_options *o, struct pg_sig_result *res)
{
    struct pg_sigverify_input in;
    enum pg_status st;

    memset(&in, 0, sizeof(in));
    in.trust = t;
    in.statement = pg_policy_statement(pg_trust_policy(t), 0);
    in.envelope_media_type = media_type;
    in.envelope = env;
    in.envelope_len = len;
    in.target = d;
    in.now = time(NULL);
    in.options = o;
    st = pg_sigverify(&in, res);
    if (st != PG_OK) {
        fprintf(stderr, "    result: %s: %s\n", pg_status_name(st), res->msg);
    }
    return st;
}

static enum pg_status verify_ng_t(struct pg_trust *t, const char *file,
                                  const struct pg_sigverify_options *o, struct pg_sig_result *res)
{
    char rel[256];
    size_t len = 0;
    unsigned char *env;
    enum pg_status st;

    snprintf(rel, sizeof(rel), SIGENV "%s", file);
    env = read_vector(rel, &len);
    if (env == NULL || t == NULL) {
        pg_free(env);
        return PG_ERR_IO;
    }
    st = verify_env(t, env, len, env[0] == 0xd2 ? "application/cose" : "application/jose+json",
                    &ng_t_target, o, res);
    pg_free(env);
    return st;
}

static void ng_t_vectors(void)
{
    struct pg_trust *tsa = ng_t_trust("ngt", 1);
    struct pg_trust *no_tsa = ng_t_trust("ngt-notsa", 0);
    struct pg_sigverify_options o;
    struct pg_sig_result res;
    const struct pg_check_result *ts = &res.checks[PG_CHECK_AUTHENTIC_TIMESTAMP];

    REQUIRE(tsa != NULL && no_tsa != NULL);
    /* GlobalSign's revocation services are out of reach here: tolerate unknown. */
    pg_sigverify_options_init(&o);
    o.revocation.tsa_revocation = PG_TSA_REVOCATION_ALLOW_UNKNOWN;
    CHECK(verify_ng_t(tsa, "jwsWithTimestamp.sig", &o, &res) == PG_OK);
    CHECK(ts->performed && ts->status == PG_OK);
    CHECK(verify_ng_t(tsa, "jwsExpiredWithTimestamp.sig", &o, &res) == PG_OK);
    CHECK(res.checks[PG_CHECK_AUTHENTICITY].status == PG_OK && ts->status == PG_OK);
    CHECK(verify_ng_t(tsa, "coseExpiredWithTimestamp.sig", &o, &res) == PG_OK);
    CHECK(ts->performed && ts->status == PG_OK);
    CHECK(verify_ng_t(no_tsa, "jwsExpiredWithTimestamp.sig", &o, &res) == PG_ERR_SIG_TIMESTAMP);
    CHECK(strstr(res.msg, "not valid at the time of verification") != NULL);
    CHECK(verify_ng_t(tsa, "timestampAfterNotAfter.sig", &o, &res) == PG_ERR_SIG_TIMESTAMP);
    CHECK(verify_ng_t(tsa, "timestampBeforeNotBefore.sig", &o, &res) == PG_ERR_SIG_TIMESTAMP);
    CHECK(verify_ng_t(tsa, "withoutTimestamp.sig", &o, &res) == PG_ERR_SIG_TIMESTAMP);
    CHECK(strstr(res.msg, "no rfc 3161 timestamp") != NULL);
    CHECK(verify_ng_t(no_tsa, "withoutTimestamp.sig", &o, &res) == PG_OK);
    /* As notation: with the default, unknown tsa revocation fails (or passes when online). */
    pg_sigverify_options_init(&o);
    if (verify_ng_t(tsa, "jwsWithTimestamp.sig", &o, &res) != PG_OK) {
        CHECK(res.status == PG_ERR_SIG_TIMESTAMP);
        CHECK(strstr(res.msg, "timestamp authority chain: revocation status of certificate") !=
              NULL);
    }
    pg_trust_unref(tsa);
    pg_trust_unref(no_tsa);
}

/* Adds a timestamp over the envelope's own signature to its unprotected header. */
static char *add_timestamp(const char *env_path, const struct mint *m)
{
    json_t *env = json_load_file(env_path, 0, NULL);
    const char *sig64 = json_string_value(json_object_get(env, "signature"));
    struct pg_blob sig = {NULL, 0};
    unsigned char *token = NULL;
    size_t tlen = 0;
    char *b64 = NULL;
    char *out = NULL;
    struct pg_err err;

    pg_err_init(&err);
    if (sig64 != NULL &&
        pg_b64_decode_url(sig64, strlen(sig64), "signature", &sig.data, &sig.len, &err) == PG_OK) {
        token = mint_token(m, sig.data, sig.len, &tlen);
    }
    b64 = token != NULL ? pg_b64_encode_std(token, tlen) : NULL;
    if (b64 != NULL &&
        json_object_set_new(json_object_get(env, "header"), "io.cncf.notary.timestampSignature",
                            json_string(b64)) == 0) {
        out = json_dumps(env, JSON_COMPACT);
    }
    OPENSSL_free(token);
    pg_free(b64);
    pg_blob_clear(&sig);
    json_decref(env);
    return out;
}

static struct pg_trust *minted_trust(const char *name, int with_tsa)
{
    int ok = rf_mkdirs(at(name)) &&
             rf_add_store_file(at(name), "ca/signing", "root.pem", at("sroot/cert.pem")) &&
             rf_add_store_file(at(name), "tsa/local", "root.pem", at("tsaroot/cert.pem")) &&
             rf_write_policy(at(name), "{\"level\":\"strict\"}",
                             with_tsa ? "\"ca:signing\",\"tsa:local\"" : "\"ca:signing\"");

    return ok ? rf_load_trust(at(name)) : NULL;
}

static void expired_certificate_with_timestamp_passes_offline(void)
{
    struct mint m = {at("tsa"), 0, 0, 0};
    struct pg_trust *tsa = NULL;
    struct pg_trust *no_tsa = NULL;
    struct pg_sig_result res;
    char *env = NULL;
    char when[32];

    REQUIRE(have_pki);
    m.gen_time = days_ago(5);
    pg_jws_format_time(m.gen_time, when, sizeof(when));
    REQUIRE(rf_testsign("sign", "--key", at("sleaf/key.pem"), "--chain", at("sleaf/chain.pem"),
                        "--target-media-type", OCI_MANIFEST, "--target-digest", TARGET_DIGEST,
                        "--target-size", "517", "--signing-time", when, "--out", at("s.sig"),
                        RF_END));
    env = add_timestamp(at("s.sig"), &m);
    tsa = minted_trust("minted", 1);
    no_tsa = minted_trust("minted-notsa", 0);
    REQUIRE(env != NULL && tsa != NULL && no_tsa != NULL);
    CHECK(verify_env(tsa, (unsigned char *)env, strlen(env), JOSE, &target, NULL, &res) == PG_OK);
    CHECK(res.checks[PG_CHECK_AUTHENTIC_TIMESTAMP].performed);
    CHECK(res.checks[PG_CHECK_REVOCATION].performed);
    CHECK(verify_env(no_tsa, (unsigned char *)env, strlen(env), JOSE, &target, NULL, &res) ==
          PG_ERR_SIG_TIMESTAMP);
    free(env);
    pg_trust_unref(tsa);
    pg_trust_unref(no_tsa);
}

int main(void)
{
    tmp = pg_check_tmpdir();
    if (tmp == NULL) {
        fprintf(stderr, "needs a temporary directory\n");
        return 1;
    }
    have_pki = mint_pki();
    if (!have_pki) {
        fprintf(stderr, "pg-testsign (PG_BUILD_DIR) could not mint the test pki\n");
    }
    PG_RUN("a vector token's imprint matches \"notation\" and nothing else",
           vector_imprint_covers_only_its_data);
    PG_RUN("vector tokens with a bad tstinfo, content type or no certificate fail",
           malformed_vector_tokens_fail);
    PG_RUN("the globalsign vector token chains to its root and not to digicert's",
           vector_token_chains_to_its_root_only);
    PG_RUN("a vector token with a broken signature fails", broken_token_signature_fails);
    PG_RUN("a minted token inside the signing certificate's validity passes",
           minted_token_inside_the_window_passes);
    PG_RUN("a minted token whose range leaves the certificate's validity fails",
           minted_token_outside_the_window_fails);
    PG_RUN("other data, an untrusted authority, ess v1, genTime before the "
           "authority's certificate and a flipped byte fail",
           minted_token_faults_fail);
    PG_RUN("unknown revocation of the authority's chain fails unless configured otherwise",
           unknown_tsa_revocation_fails_unless_allowed);
    PG_RUN("ng-t: timestamps are verified; outside the window or missing fail", ng_t_vectors);
    PG_RUN("an expired certificate with a local timestamp passes strict offline, and fails "
           "without a tsa store",
           expired_certificate_with_timestamp_passes_offline);
    pg_check_rmtree(tmp);
    pg_free(tmp);
    return pg_check_done();
}
