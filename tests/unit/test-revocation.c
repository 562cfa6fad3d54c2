/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims about OCSP and CRL checking: chains minted by pg-testsign whose
 * services are a loopback server fed with CRLs and OCSP responses signed
 * here (good, revoked, unknown, wrongly signed, stale, oversized, slow), and
 * notation's e2e material through pg_sigverify: N-CRL with its CRL files
 * served on 127.0.0.1:10086 and N-OCSP answered by `openssl ocsp` on
 * 127.0.0.1:10087 (each skipped, with a message, when its port is taken).
 */
#include <signal.h>

#include "revocation-fixture.h"
#include "revocation.h"
#include "sigverify.h"

#define E2E "notation/test/e2e/testdata/config/"
#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define TARGET_DIGEST "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9"
#define N_CRL_PORT 10086
#define N_OCSP_PORT 10087

static char *tmp;
static struct rf_server srv;
static int have_pki;
static char oci_manifest[] = OCI_MANIFEST;
static char target_digest[] = TARGET_DIGEST;
static const struct pg_descriptor target = {oci_manifest, target_digest, 517, NULL};

/* ---- material -------------------------------------------------------------- */

static const char *at(const char *name)
{
    static char slots[8][512];
    static int next;
    char *p = slots[next++ % 8];

    snprintf(p, sizeof(slots[0]), "%s/%s", tmp, name);
    return p;
}

static const char *url(const char *path)
{
    static char slots[8][128];
    static int next;
    char *p = slots[next++ % 8];

    snprintf(p, sizeof(slots[0]), "http://127.0.0.1:%u%s", srv.port, path);
    return p;
}

static int mint_leaf(const char *name, const char *cn, const char *opt1, const char *val1,
                     const char *opt2, const char *val2)
{
    char subject[128];

    snprintf(subject, sizeof(subject), "CN=%s,O=pullgate,ST=WA,C=US", cn);
    return rf_testsign("cert", "--ca", at("inter"), "--out", at(name), "--subject", subject, opt1,
                       val1, opt2, val2, RF_END);
}

static int mint_pki(void)
{
    return rf_testsign("ca", "--out", at("root"), RF_END) &&
           rf_testsign("ca", "--out", at("other"), RF_END) &&
           rf_testsign("cert", "--ca", at("root"), "--out", at("inter"), "--ca-cert", "--subject",
                       "CN=rev inter,O=pullgate,ST=WA,C=US", "--crl-url", url("/inter.crl"),
                       RF_END) &&
           mint_leaf("leaf-crl", "rev leaf crl", "--crl-url", url("/leaf.crl"), NULL, NULL) &&
           mint_leaf("leaf-ocsp", "rev leaf ocsp", "--ocsp-url", url("/ocsp"), "--crl-url",
                     url("/leaf.crl")) &&
           mint_leaf("leaf-ocsponly", "rev leaf ocsp only", "--ocsp-url", url("/ocsp"), NULL,
                     NULL) &&
           mint_leaf("leaf-https", "rev leaf https", "--crl-url", "https://127.0.0.1:1/leaf.crl",
                     NULL, NULL) &&
           mint_leaf("leaf-none", "rev leaf none", NULL, NULL, NULL, NULL) &&
           mint_leaf("resp-ok", "rev responder", "--eku", "OCSPSigning", NULL, NULL) &&
           mint_leaf("resp-noeku", "rev responder without eku", "--eku", "codeSigning", NULL, NULL);
}

static STACK_OF(X509) * chain_of(const char *name)
{
    char rel[128];

    snprintf(rel, sizeof(rel), "%s/chain.pem", name);
    return rf_load_certs(at(rel));
}

static X509 *cert_of(const char *name)
{
    char rel[128];

    snprintf(rel, sizeof(rel), "%s/cert.pem", name);
    return rf_load_cert(at(rel));
}

static EVP_PKEY *key_of(const char *name)
{
    char rel[128];

    snprintf(rel, sizeof(rel), "%s/key.pem", name);
    return rf_load_key(at(rel));
}

/* Serves a CRL at path issued in issuer_name's name, signed with signer_name's key. */
static int serve_crl(const char *path, const char *issuer_name, const char *signer_name,
                     const struct rf_crl *sp)
{
    X509 *issuer = cert_of(issuer_name);
    EVP_PKEY *key = key_of(signer_name);
    size_t len = 0;
    unsigned char *der = issuer != NULL && key != NULL ? rf_make_crl(issuer, key, sp, &len) : NULL;

    if (der != NULL) {
        rf_server_set(&srv, path, der, len, 0, 200);
    }
    OPENSSL_free(der);
    X509_free(issuer);
    EVP_PKEY_free(key);
    return der != NULL;
}

static const struct rf_crl empty_crl = {-60, 86400, 0, NULL, -1, 0, 0};

/* Both CRLs empty and valid; /ocsp not served. */
static void serve_defaults(void)
{
    rf_server_clear(&srv);
    serve_crl("/inter.crl", "root", "root", &empty_crl);
    serve_crl("/leaf.crl", "inter", "inter", &empty_crl);
}

/* Serves an OCSP answer about leaf_name's certificate at /ocsp*. */
static int serve_ocsp(const char *leaf_name, const char *signer_name, int status, int no_next)
{
    X509 *leaf = cert_of(leaf_name);
    X509 *issuer = cert_of("inter");
    X509 *signer = cert_of(signer_name);
    EVP_PKEY *key = key_of(signer_name);
    size_t len = 0;
    unsigned char *der = NULL;

    if (leaf != NULL && issuer != NULL && signer != NULL && key != NULL) {
        der = rf_make_ocsp(leaf, issuer, signer, key, status, no_next, &len);
    }
    if (der != NULL) {
        rf_server_set(&srv, "/ocsp*", der, len, 0, 200);
    }
    OPENSSL_free(der);
    X509_free(leaf);
    X509_free(issuer);
    X509_free(signer);
    EVP_PKEY_free(key);
    return der != NULL;
}

/* ---- running a check -------------------------------------------------------- */

struct run {
    const struct pg_revocation_options *opts;
    int64_t signing_time;
    const struct pg_deadline *deadline;
    struct pg_revocation_result res;
    struct pg_err err;
};

static enum pg_status check_chain(const char *name, struct run *r)
{
    STACK_OF(X509) *chain = chain_of(name);
    struct pg_revocation_input in;
    enum pg_status st;

    if (chain == NULL) {
        return PG_ERR_IO;
    }
    memset(&in, 0, sizeof(in));
    in.chain = chain;
    in.now = time(NULL);
    in.signing_time = r->signing_time;
    in.deadline = r->deadline;
    in.options = r->opts;
    memset(&r->res, 0, sizeof(r->res));
    pg_err_init(&r->err);
    st = pg_revocation_check_chain(&in, &r->res, &r->err);
    if (pg_check_failed_now()) {
        fprintf(stderr, "    result: %s: %s\n", pg_status_name(st), r->err.msg);
    }
    sk_X509_pop_free(chain, X509_free);
    return st;
}

static int has(const struct run *r, const char *text)
{
    if (strstr(r->err.msg, text) == NULL) {
        fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", r->err.msg, text);
        return 0;
    }
    return 1;
}

static ASN1_INTEGER *serial_of(const char *name)
{
    X509 *x = cert_of(name);
    ASN1_INTEGER *s = x != NULL ? ASN1_INTEGER_dup(X509_get0_serialNumber(x)) : NULL;

    X509_free(x);
    return s;
}

/* ---- CRL claims -------------------------------------------------------------- */

static void empty_crls_pass_until_the_earliest_next_update(void)
{
    struct rf_crl leaf_crl = empty_crl;
    struct run r;
    time_t now = time(NULL);

    REQUIRE(have_pki);
    memset(&r, 0, sizeof(r));
    serve_defaults();
    leaf_crl.next_off = 7200;
    REQUIRE(serve_crl("/leaf.crl", "inter", "inter", &leaf_crl));
    CHECK(check_chain("leaf-crl", &r) == PG_OK);
    CHECK(r.res.state == PG_REVOCATION_OK);
    CHECK(r.res.valid_until >= now + 7190 && r.res.valid_until <= now + 7210);
}

static void listed_certificates_are_revoked(void)
{
    ASN1_INTEGER *leaf = serial_of("leaf-crl");
    ASN1_INTEGER *inter = serial_of("inter");
    struct rf_crl sp = empty_crl;
    struct run r;

    REQUIRE(have_pki && leaf != NULL && inter != NULL);
    memset(&r, 0, sizeof(r));
    serve_defaults();
    sp.revoke = leaf;
    sp.reason = 1; /* keyCompromise */
    REQUIRE(serve_crl("/leaf.crl", "inter", "inter", &sp));
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOKED);
    CHECK(r.res.state == PG_REVOCATION_REVOKED);
    CHECK(has(&r, "certificate CN=rev leaf crl") && has(&r, "is revoked") && has(&r, "/leaf.crl"));
    /* A revoked intermediate revokes the chain. */
    serve_defaults();
    sp.revoke = inter;
    REQUIRE(serve_crl("/inter.crl", "root", "root", &sp));
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOKED);
    CHECK(has(&r, "CN=rev inter"));
    ASN1_INTEGER_free(leaf);
    ASN1_INTEGER_free(inter);
}

static void invalidity_date_after_signing_time_keeps_the_signature(void)
{
    ASN1_INTEGER *leaf = serial_of("leaf-crl");
    struct rf_crl sp = empty_crl;
    struct run r;
    int64_t now = (int64_t)time(NULL);

    REQUIRE(have_pki && leaf != NULL);
    memset(&r, 0, sizeof(r));
    serve_defaults();
    sp.revoke = leaf;
    sp.reason = 1;
    sp.invalid_off = -600;
    REQUIRE(serve_crl("/leaf.crl", "inter", "inter", &sp));
    r.signing_time = now - 3600; /* signed before the key became invalid */
    CHECK(check_chain("leaf-crl", &r) == PG_OK);
    r.signing_time = now - 60; /* signed after */
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOKED);
    r.signing_time = 0; /* notary.x509: no trusted signing time */
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOKED);
    ASN1_INTEGER_free(leaf);
}

static void hold_revokes_and_remove_from_crl_does_not(void)
{
    ASN1_INTEGER *leaf = serial_of("leaf-crl");
    struct rf_crl sp = empty_crl;
    struct run r;

    REQUIRE(have_pki && leaf != NULL);
    memset(&r, 0, sizeof(r));
    serve_defaults();
    sp.revoke = leaf;
    sp.reason = 6; /* certificateHold */
    REQUIRE(serve_crl("/leaf.crl", "inter", "inter", &sp));
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOKED);
    sp.reason = 8; /* removeFromCRL */
    REQUIRE(serve_crl("/leaf.crl", "inter", "inter", &sp));
    CHECK(check_chain("leaf-crl", &r) == PG_OK);
    ASN1_INTEGER_free(leaf);
}

static void bad_crls_leave_the_status_unknown(void)
{
    struct rf_crl sp = empty_crl;
    struct run r;

    REQUIRE(have_pki);
    memset(&r, 0, sizeof(r));
    serve_defaults();
    REQUIRE(serve_crl("/leaf.crl", "inter", "other", &sp)); /* the wrong key */
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(r.res.state == PG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "revocation status of certificate CN=rev leaf crl") &&
          has(&r, "signature does not verify"));
    REQUIRE(serve_crl("/leaf.crl", "other", "other", &sp)); /* another issuer */
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "not issued by the certificate's issuer"));
    sp.no_next = 1;
    REQUIRE(serve_crl("/leaf.crl", "inter", "inter", &sp));
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "no nextUpdate"));
    sp = empty_crl;
    sp.last_off = -7200;
    sp.next_off = -60;
    REQUIRE(serve_crl("/leaf.crl", "inter", "inter", &sp));
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "stale"));
    sp = empty_crl;
    sp.critical_unknown_ext = 1;
    REQUIRE(serve_crl("/leaf.crl", "inter", "inter", &sp));
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "unknown critical extension 1.3.6.1.4.1.55555.1"));
    rf_server_set(&srv, "/leaf.crl", "not a crl", 9, 0, 200);
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    rf_server_set(&srv, "/leaf.crl", "", 0, 0, 404);
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "http status 404"));
    CHECK(check_chain("leaf-https", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "is not http://"));
}

static void oversized_and_slow_answers_are_cut_off(void)
{
    struct pg_revocation_options o;
    static unsigned char big[21000];
    struct run r;
    int64_t t0;

    REQUIRE(have_pki);
    memset(&r, 0, sizeof(r));
    pg_revocation_options_init(&o);
    o.crl_max_bytes = 100;
    o.crl_timeout_ms = 300;
    r.opts = &o;
    serve_defaults();
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "larger than 100 bytes"));
    o.crl_max_bytes = 0; /* the default */
    serve_defaults();
    REQUIRE(srv.n_routes == 2);
    srv.routes[1].delay_ms = 1500;
    t0 = pg_now_ms();
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(pg_now_ms() - t0 < 1400);
    CHECK(has(&r, "within 300 ms"));
    /* An OCSP answer above 20 KiB is refused (no CRL to fall back to here). */
    serve_defaults();
    memset(big, 0x30, sizeof(big));
    rf_server_set(&srv, "/ocsp*", big, sizeof(big), 0, 200);
    CHECK(check_chain("leaf-ocsponly", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "larger than 20480 bytes"));
}

static void an_exhausted_deadline_sends_nothing(void)
{
    struct pg_deadline d = {pg_now_ms() - 1, NULL};
    struct run r;
    int before;

    REQUIRE(have_pki);
    memset(&r, 0, sizeof(r));
    serve_defaults();
    r.deadline = &d;
    before = srv.n_requests;
    CHECK(check_chain("leaf-crl", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "no time left"));
    CHECK(srv.n_requests == before);
}

static void certificates_naming_no_service_are_non_revokable(void)
{
    struct run r;

    REQUIRE(have_pki);
    memset(&r, 0, sizeof(r));
    rf_server_clear(&srv);
    /* leaf-none names nothing, but its intermediate names /inter.crl. */
    serve_crl("/inter.crl", "root", "root", &empty_crl);
    CHECK(check_chain("leaf-none", &r) == PG_OK);
    CHECK(check_chain("root", &r) == PG_OK); /* a lone root is never checked */
}

/* ---- OCSP claims -------------------------------------------------------------- */

static void ocsp_answers_from_the_issuer_decide(void)
{
    struct run r;

    REQUIRE(have_pki);
    memset(&r, 0, sizeof(r));
    serve_defaults();
    REQUIRE(serve_ocsp("leaf-ocsponly", "inter", V_OCSP_CERTSTATUS_GOOD, 0));
    CHECK(check_chain("leaf-ocsponly", &r) == PG_OK);
    CHECK(r.res.valid_until > (int64_t)time(NULL));
    REQUIRE(serve_ocsp("leaf-ocsponly", "inter", V_OCSP_CERTSTATUS_REVOKED, 0));
    CHECK(check_chain("leaf-ocsponly", &r) == PG_ERR_SIG_REVOKED);
    CHECK(has(&r, "CN=rev leaf ocsp only") && has(&r, "revoked according to ocsp"));
    REQUIRE(serve_ocsp("leaf-ocsponly", "inter", V_OCSP_CERTSTATUS_UNKNOWN, 0));
    CHECK(check_chain("leaf-ocsponly", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "does not know the certificate"));
    REQUIRE(serve_ocsp("leaf-ocsponly", "inter", V_OCSP_CERTSTATUS_GOOD, 1));
    CHECK(check_chain("leaf-ocsponly", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "expired ocsp response: it has no nextUpdate"));
    /* An answer about another certificate does not count. */
    REQUIRE(serve_ocsp("leaf-crl", "inter", V_OCSP_CERTSTATUS_GOOD, 0));
    CHECK(check_chain("leaf-ocsponly", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "no answer for this certificate"));
}

static void delegated_responders_need_ocsp_signing(void)
{
    struct run r;

    REQUIRE(have_pki);
    memset(&r, 0, sizeof(r));
    serve_defaults();
    REQUIRE(serve_ocsp("leaf-ocsponly", "resp-ok", V_OCSP_CERTSTATUS_GOOD, 0));
    CHECK(check_chain("leaf-ocsponly", &r) == PG_OK);
    REQUIRE(serve_ocsp("leaf-ocsponly", "resp-noeku", V_OCSP_CERTSTATUS_GOOD, 0));
    CHECK(check_chain("leaf-ocsponly", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(has(&r, "CN=rev responder without eku") && has(&r, "OCSPSigning"));
    /* A responder that the issuer did not issue is refused too. */
    REQUIRE(serve_ocsp("leaf-ocsponly", "other", V_OCSP_CERTSTATUS_GOOD, 0));
    CHECK(check_chain("leaf-ocsponly", &r) == PG_ERR_SIG_REVOCATION_UNKNOWN);
}

static void crl_decides_when_ocsp_gives_no_answer(void)
{
    ASN1_INTEGER *leaf = serial_of("leaf-ocsp");
    struct rf_crl sp = empty_crl;
    struct run r;

    REQUIRE(have_pki && leaf != NULL);
    memset(&r, 0, sizeof(r));
    serve_defaults();
    rf_server_set(&srv, "/ocsp*", "", 0, 0, 500);
    CHECK(check_chain("leaf-ocsp", &r) == PG_OK);
    sp.revoke = leaf;
    REQUIRE(serve_crl("/leaf.crl", "inter", "inter", &sp));
    CHECK(check_chain("leaf-ocsp", &r) == PG_ERR_SIG_REVOKED);
    CHECK(has(&r, "listed in crl"));
    /* A definite OCSP answer is not second-guessed by the CRL. */
    REQUIRE(serve_ocsp("leaf-ocsp", "inter", V_OCSP_CERTSTATUS_GOOD, 0));
    CHECK(check_chain("leaf-ocsp", &r) == PG_OK);
    ASN1_INTEGER_free(leaf);
}

/* ---- notation's e2e material through pg_sigverify ------------------------------ */

/* A notation directory trusting root_rel under the given level. */
static struct pg_trust *trust_root(const char *name, const char *level, const char *root_rel)
{
    char *root = pg_check_vector(root_rel);
    char *sv = pg_asprintf("{\"level\":\"%s\"}", level);
    struct pg_trust *t = NULL;

    if (root != NULL && sv != NULL && rf_mkdirs(at(name)) &&
        rf_add_store_file(at(name), "ca/root", "root.crt", root) &&
        rf_write_policy(at(name), sv, "\"ca:root\"")) {
        t = rf_load_trust(at(name));
    }
    pg_free(root);
    pg_free(sv);
    return t;
}

static int sign_with(const char *key_rel, const char *chain_rel, const char *out)
{
    char *key = pg_check_vector(key_rel);
    char *chain = pg_check_vector(chain_rel);
    int ok =
        key != NULL && chain != NULL &&
        rf_testsign("sign", "--key", key, "--chain", chain, "--target-media-type", OCI_MANIFEST,
                    "--target-digest", TARGET_DIGEST, "--target-size", "517", "--out", out, RF_END);

    pg_free(key);
    pg_free(chain);
    return ok;
}

static enum pg_status verify_file(struct pg_trust *t, const char *path, struct pg_sig_result *res)
{
    struct pg_sigverify_input in;
    size_t len = 0;
    unsigned char *env = pg_check_read_file(path, &len);
    enum pg_status st;

    if (env == NULL || t == NULL) {
        pg_free(env);
        return PG_ERR_IO;
    }
    memset(&in, 0, sizeof(in));
    in.trust = t;
    in.statement = pg_policy_statement(pg_trust_policy(t), 0);
    in.envelope_media_type = "application/jose+json";
    in.envelope = env;
    in.envelope_len = len;
    in.target = &target;
    in.now = time(NULL);
    st = pg_sigverify(&in, res);
    if (pg_check_failed_now() || st != PG_OK) {
        fprintf(stderr, "    result: %s: %s\n", pg_status_name(st), res->msg);
    }
    pg_free(env);
    return st;
}

/* Serves the two vector CRL files as /leaf.crl and /intermediate.crl. */
static int serve_vector_crls(struct rf_server *s, const char *leaf, const char *inter)
{
    const char *files[2] = {leaf, inter};
    const char *paths[2] = {"/leaf.crl", "/intermediate.crl"};
    int ok = 1;
    int i;

    for (i = 0; i < 2; i++) {
        char *rel = pg_asprintf(E2E "crl/%s", files[i]);
        char *p = rel != NULL ? pg_check_vector(rel) : NULL;
        size_t len = 0;
        unsigned char *data = p != NULL ? pg_check_read_file(p, &len) : NULL;

        ok = ok && data != NULL;
        if (data != NULL) {
            rf_server_set(s, paths[i], data, len, 0, 200);
        }
        pg_free(data);
        pg_free(p);
        pg_free(rel);
    }
    return ok;
}

static void n_crl_vectors(void)
{
    struct rf_server s;
    struct pg_trust *strict = NULL;
    struct pg_trust *permissive = NULL;
    struct pg_sig_result res;

    if (!rf_server_start(&s, N_CRL_PORT)) {
        fprintf(stderr, "    SKIP: 127.0.0.1:%d is in use; the n-crl certificates name it\n",
                N_CRL_PORT);
        return;
    }
    strict = trust_root("ncrl-strict", "strict", E2E "crl/root.crt");
    permissive = trust_root("ncrl-permissive", "permissive", E2E "crl/root.crt");
    if (strict == NULL || permissive == NULL ||
        !sign_with(E2E "crl/leaf.key", E2E "crl/certchain_with_crl.pem", at("ncrl.sig"))) {
        CHECK(!"n-crl setup");
        goto out;
    }
    /* The intermediate's OCSP service does not exist: its CRL decides. */
    CHECK(serve_vector_crls(&s, "leaf.crl", "intermediate.crl"));
    CHECK(verify_file(strict, at("ncrl.sig"), &res) == PG_OK);
    CHECK(res.checks[PG_CHECK_REVOCATION].performed);
    CHECK(serve_vector_crls(&s, "leaf_revoked.crl", "intermediate.crl"));
    CHECK(verify_file(strict, at("ncrl.sig"), &res) == PG_ERR_SIG_REVOKED);
    CHECK(strstr(res.msg, "CN=LeafCert") != NULL && strstr(res.msg, "is revoked") != NULL);
    CHECK(serve_vector_crls(&s, "leaf.crl", "intermediate_revoked.crl"));
    CHECK(verify_file(strict, at("ncrl.sig"), &res) == PG_ERR_SIG_REVOKED);
    /* A stale CRL is not trusted: unknown, denied under strict, logged under permissive. */
    CHECK(serve_vector_crls(&s, "leaf_expired.crl", "intermediate.crl"));
    CHECK(verify_file(strict, at("ncrl.sig"), &res) == PG_ERR_SIG_REVOCATION_UNKNOWN);
    CHECK(strstr(res.msg, "CN=LeafCert") != NULL && strstr(res.msg, "/leaf.crl") != NULL);
    CHECK(verify_file(permissive, at("ncrl.sig"), &res) == PG_OK);
    CHECK(res.checks[PG_CHECK_REVOCATION].status == PG_ERR_SIG_REVOCATION_UNKNOWN);
out:
    pg_trust_unref(strict);
    pg_trust_unref(permissive);
    rf_server_stop(&s);
}

static int port_is_free(unsigned port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    int ok;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/*
 * `openssl ocsp` for the N-OCSP material with index line `line` ("" for
 * none). It takes a bare port and listens on every address while it runs.
 */
static pid_t start_responder(const char *line)
{
    char *dir = pg_check_vector(E2E "ocsp");
    char *ca = dir != NULL ? pg_asprintf("%s/root.crt", dir) : NULL;
    char *rkey = dir != NULL ? pg_asprintf("%s/ocsp.key", dir) : NULL;
    char *rsigner = dir != NULL ? pg_asprintf("%s/ocsp.crt", dir) : NULL;
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    int i;

    if (ca != NULL && rkey != NULL && rsigner != NULL &&
        rf_write_file(at("index.txt"), line, strlen(line))) {
        const char *argv[] = {"/usr/bin/openssl", "ocsp",  "-port", "10087", "-index",
                              at("index.txt"),    "-CA",   ca,      "-rkey", rkey,
                              "-rsigner",         rsigner, "-nmin", "5",     NULL};

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, at("ocsp.log"), O_WRONLY | O_CREAT | O_APPEND,
                                         0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0) {
            pid = -1;
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    /* Probing with a connection would stall the single-threaded responder. */
    for (i = 0; pid > 0 && i < 100 && port_is_free(N_OCSP_PORT); i++) {
        usleep(50 * 1000);
    }
    pg_free(dir);
    pg_free(ca);
    pg_free(rkey);
    pg_free(rsigner);
    return pid;
}

static void stop_responder(pid_t pid)
{
    int status;

    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
    }
}

#define N_OCSP_SERIAL "520D9B1364D98367711DA2B6A0A0F34B23E3D02A"

static void n_ocsp_vectors(void)
{
    static const char *const lines[] = {
        "V\t21250121012109Z\t\t" N_OCSP_SERIAL "\tunknown\t/CN=LeafCert\n",
        "R\t21250121012109Z\t250301000000Z,keyCompromise\t" N_OCSP_SERIAL
        "\tunknown\t/CN=LeafCert\n",
        "",
    };
    static const enum pg_status want[] = {PG_OK, PG_ERR_SIG_REVOKED, PG_ERR_SIG_REVOCATION_UNKNOWN};
    struct pg_trust *strict;
    struct pg_sig_result res;
    size_t i;

    if (access("/usr/bin/openssl", X_OK) != 0 || !port_is_free(N_OCSP_PORT)) {
        fprintf(stderr, "    SKIP: needs /usr/bin/openssl and a free 127.0.0.1:%d\n", N_OCSP_PORT);
        return;
    }
    strict = trust_root("nocsp-strict", "strict", E2E "ocsp/root.crt");
    REQUIRE(strict != NULL);
    REQUIRE(sign_with(E2E "ocsp/leaf.key", E2E "ocsp/certchain_with_ocsp.pem", at("nocsp.sig")));
    for (i = 0; i < 3; i++) {
        pid_t pid = start_responder(lines[i]);

        CHECK(pid > 0);
        CHECK(verify_file(strict, at("nocsp.sig"), &res) == want[i]);
        CHECK(res.checks[PG_CHECK_REVOCATION].status == want[i]);
        stop_responder(pid);
    }
    pg_trust_unref(strict);
}

int main(void)
{
    tmp = pg_check_tmpdir();
    if (tmp == NULL || !rf_server_start(&srv, 0)) {
        fprintf(stderr, "needs a temporary directory and a loopback port\n");
        return 1;
    }
    have_pki = mint_pki();
    if (!have_pki) {
        fprintf(stderr, "pg-testsign (PG_BUILD_DIR) could not mint the test pki\n");
    }
    PG_RUN("empty crls pass, valid until the earliest nextUpdate",
           empty_crls_pass_until_the_earliest_next_update);
    PG_RUN("a certificate listed in its issuer's crl is revoked, leaf or intermediate",
           listed_certificates_are_revoked);
    PG_RUN("an invalidity date after the authentic signing time keeps the signature",
           invalidity_date_after_signing_time_keeps_the_signature);
    PG_RUN("certificateHold revokes and removeFromCRL does not",
           hold_revokes_and_remove_from_crl_does_not);
    PG_RUN("crls signed by another key, without or past nextUpdate, with unknown critical "
           "extensions, malformed, missing or over https leave the status unknown",
           bad_crls_leave_the_status_unknown);
    PG_RUN("oversized and slow answers are cut off and leave the status unknown",
           oversized_and_slow_answers_are_cut_off);
    PG_RUN("an exhausted deadline sends no request", an_exhausted_deadline_sends_nothing);
    PG_RUN("certificates naming no service are non-revokable",
           certificates_naming_no_service_are_non_revokable);
    PG_RUN("ocsp good, revoked and unknown answers from the issuer decide; no nextUpdate is "
           "expired",
           ocsp_answers_from_the_issuer_decide);
    PG_RUN("a delegated ocsp responder needs the OCSPSigning usage and the issuer's signature",
           delegated_responders_need_ocsp_signing);
    PG_RUN("the crl decides when ocsp gives no answer", crl_decides_when_ocsp_gives_no_answer);
    PG_RUN("n-crl: good crls pass, revoked leaf or intermediate fail, a stale crl is unknown",
           n_crl_vectors);
    PG_RUN("n-ocsp: openssl ocsp good passes, revoked fails, unknown fails under strict",
           n_ocsp_vectors);
    rf_server_stop(&srv);
    pg_check_rmtree(tmp);
    pg_free(tmp);
    return pg_check_done();
}
