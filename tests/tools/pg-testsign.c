/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg-testsign: mints the keys, certificates, signature envelopes and signature
 * manifests our tests verify, good ones and every kind that must be refused.
 * Test use only: keys are written unencrypted. The verifier never links this.
 * The command line is a stable interface for the whole test suite; see usage().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cbor.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "cose.h"
#include "mem.h"

#define LIST_MAX 64
#define FILE_MAX (16 * 1024 * 1024)
#define SIGNING_AGENT "pg-testsign/1.0"
#define EMPTY_JSON_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

static const char usage_text[] =
    "usage: pg-testsign COMMAND [OPTIONS]\n"
    "\n"
    "pg-testsign ca --out DIR [--key SPEC] [--subject DN] [--days N] [cert options]\n"
    "    A self-signed root CA: DIR/key.pem, DIR/cert.pem, DIR/chain.pem.\n"
    "    Defaults: --key ec256, basicConstraints critical cA=true, keyUsage critical\n"
    "    keyCertSign,cRLSign, subject CN=pg test root,O=pullgate,ST=WA,C=US, 3650 days.\n"
    "\n"
    "pg-testsign cert (--ca DIR | --self-signed) --out DIR [options]\n"
    "    A certificate issued by the CA in DIR (its key.pem, cert.pem, chain.pem), or\n"
    "    self-signed. Writes DIR/key.pem, DIR/cert.pem and DIR/chain.pem (this cert\n"
    "    followed by the issuer's chain: leaf first, root last).\n"
    "    --key SPEC        ec256 ec384 ec521 rsa2048 rsa3072 rsa4096, any rsaN (rsa1024,\n"
    "                      rsa2304), secp256k1, ec:CURVE, ed25519 (default ec256)\n"
    "    --subject DN      RFC 4514 string, most significant last: CN=a,O=b,ST=WA,C=US\n"
    "                      (default CN=pg test leaf,O=pullgate,ST=WA,C=US); '\\,' escapes\n"
    "    --ca-cert         basicConstraints cA=true; default keyUsage keyCertSign,cRLSign\n"
    "    --pathlen N       pathLenConstraint N (with --ca-cert)\n"
    "    --no-bc           no basicConstraints (default: critical, cA from --ca-cert)\n"
    "    --ku LIST         keyUsage names, comma separated: digitalSignature\n"
    "                      nonRepudiation keyEncipherment dataEncipherment keyAgreement\n"
    "                      keyCertSign cRLSign encipherOnly decipherOnly\n"
    "                      (default leaf: digitalSignature)\n"
    "    --ku-noncritical  keyUsage not marked critical\n"
    "    --no-ku           no keyUsage extension\n"
    "    --eku LIST        extendedKeyUsage names or dotted OIDs: codeSigning serverAuth\n"
    "                      clientAuth emailProtection timeStamping OCSPSigning\n"
    "                      anyExtendedKeyUsage (default leaf: codeSigning; CA: none)\n"
    "    --eku-critical    extendedKeyUsage marked critical (needed for TSA leaves)\n"
    "    --no-eku          no extendedKeyUsage extension\n"
    "    --md NAME         signature hash: sha256 (default), sha384, sha512, sha1\n"
    "    --sha1            same as --md sha1\n"
    "    --not-before T    T: YYYY-MM-DDTHH:MM:SSZ, 'now', or an offset from now such as\n"
    "                      -3600, +10m, -2h, -1d (default: now - 1h)\n"
    "    --not-after T     (default: not-before + --days)\n"
    "    --days N          validity in days (default 365; ca: 3650)\n"
    "    --serial N        decimal serial number (default: random 127 bits)\n"
    "    --crl-url URL     cRLDistributionPoints with one URI\n"
    "    --ocsp-url URL    authorityInfoAccess with one OCSP URI\n"
    "    --v1              version 1 certificate, no extensions\n"
    "\n"
    "pg-testsign sign --key KEY.pem --chain CHAIN.pem --target-media-type MT\n"
    "                 --target-digest D --target-size N [options]\n"
    "    Writes a flattened JWS envelope (application/jose+json) as notation makes it.\n"
    "    --scheme x509|sa  notary.x509 (default) or notary.x509.signingAuthority\n"
    "    --signing-time T  signingTime (sa: authenticSigningTime); T as above (default\n"
    "                      now), or any other string, written verbatim\n"
    "    --expiry T        expiry (default: signing time + 365 days)\n"
    "    --no-expiry       no expiry attribute\n"
    "    --attr NAME=VALUE extended protected attribute, string value; VALUE json:TEXT\n"
    "                      gives a raw JSON value (repeatable)\n"
    "    --crit NAME       add NAME to crit (repeatable; scheme, expiry and\n"
    "                      authenticSigningTime are added unless --no-auto-crit)\n"
    "    --no-auto-crit    crit holds only the --crit names (an empty list if none)\n"
    "    --alg NAME        alg header value; signs with it when the key allows (PS*, ES*,\n"
    "                      RS* = PKCS#1 v1.5), else with the key's own algorithm\n"
    "    --cty VALUE       content type (default application/vnd.cncf.notary.payload.v1+json)\n"
    "    --pss-salt N      PSS salt length (default: hash length)\n"
    "    --annotation K=V  payload targetArtifact annotation (repeatable)\n"
    "    --payload-file F  use the bytes of F as the payload instead\n"
    "    --timestamp F     io.cncf.notary.timestampSignature = base64 of file F\n"
    "    --signing-agent S (default " SIGNING_AGENT ")\n"
    "    --out FILE        (default: stdout)\n"
    "    --format jws|cose jws (default), or a COSE_Sign1_Tagged envelope (application/cose)\n"
    "                      as notation makes it: alg as the COSE number (PS256 -> -37 ...;\n"
    "                      --alg also takes a number), times as tag 1 epochs (a T that is\n"
    "                      not a time is written as a text string), --attr values as CBOR\n"
    "                      (json: values converted), x5chain label 33 an array of bstr,\n"
    "                      --timestamp as a bstr\n"
    "    Algorithms follow the leaf key: RSA 2048/3072/4096 -> PS256/384/512 (salt = hash\n"
    "    length), P-256/384/521 -> ES256/384/512 (raw r||s).\n"
    "    AWS Signer shape: an ec384 4-cert chain and --scheme sa --attr\n"
    "    io.cncf.notary.verificationPlugin=com.amazonaws.signer.notation.plugin --crit\n"
    "    io.cncf.notary.verificationPlugin --attr com.amazonaws.signer.signingProfileVersion=ARN\n"
    "    --crit ... --attr com.amazonaws.signer.signingJob=ARN --crit ...\n"
    "\n"
    "pg-testsign manifest --envelope FILE --subject-media-type MT --subject-digest D\n"
    "                     --subject-size N [--form legacy|artifact] --out FILE\n"
    "                     [--envelope-media-type MT] [--chain CHAIN.pem] [--created T]\n"
    "    Writes the signature manifest (OCI image manifest; legacy form by default) and\n"
    "    prints \"sha256:<hex> <size>\" of it. The thumbprint annotation is computed from\n"
    "    --chain, else from the JWS x5c or COSE x5chain, else left out.\n"
    "\n"
    "pg-testsign digest FILE\n"
    "    Prints \"sha256:<hex> <size>\" of FILE.\n";

enum opt_kind { OPT_FLAG, OPT_STR, OPT_LIST };

struct strlist {
    const char *v[LIST_MAX];
    int n;
};

struct opt {
    const char *name;
    enum opt_kind kind;
    void *dst; /* int *, const char **, struct strlist * */
};

struct cert_opts {
    const char *ca_dir, *out_dir, *key_spec, *subject, *ku, *eku, *md, *not_before;
    const char *not_after, *days, *pathlen, *serial, *crl_url, *ocsp_url;
    int is_ca, no_bc, no_ku, ku_noncritical, no_eku, eku_critical, sha1, self_signed, v1;
};

struct sign_opts {
    const char *key, *chain, *mt, *digest, *size, *scheme, *signing_time, *expiry, *alg, *out;
    const char *cty, *salt, *payload_file, *timestamp, *agent, *format;
    int no_expiry, no_auto_crit;
    struct strlist attrs, crit, annotations;
};

struct manifest_opts {
    const char *envelope, *mt, *digest, *size, *form, *out, *env_mt, *chain, *created;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
    va_list ap;
    unsigned long e;

    fputs("pg-testsign: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    while ((e = ERR_get_error()) != 0) {
        char buf[256];

        ERR_error_string_n(e, buf, sizeof(buf));
        fprintf(stderr, "\n  openssl: %s", buf);
    }
    fputc('\n', stderr);
    return -1;
}

static int parse_opts(const struct opt *opts, int argc, char **argv)
{
    int i;

    for (i = 0; i < argc; i++) {
        const struct opt *o = opts;

        while (o->name != NULL && strcmp(o->name, argv[i]) != 0) {
            o++;
        }
        if (o->name == NULL) {
            return fail("unknown option %s (see pg-testsign --help)", argv[i]);
        }
        if (o->kind == OPT_FLAG) {
            *(int *)o->dst = 1;
            continue;
        }
        if (i + 1 >= argc) {
            return fail("option %s needs a value", argv[i]);
        }
        i++;
        if (o->kind == OPT_STR) {
            *(const char **)o->dst = argv[i];
        } else if (((struct strlist *)o->dst)->n < LIST_MAX) {
            struct strlist *l = o->dst;

            l->v[l->n++] = argv[i];
        } else {
            return fail("option %s given too often", argv[i - 1]);
        }
    }
    return 0;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return fail("%s is not a number in [%ld, %ld]", s, min, max);
    }
    *out = v;
    return 0;
}

/* "now", "+N"/"-N" with an optional s/m/h/d unit, or YYYY-MM-DDTHH:MM:SSZ. */
static int parse_time(const char *s, time_t *out)
{
    struct tm tm;
    char *end = NULL;

    if (strcmp(s, "now") == 0) {
        *out = time(NULL);
        return 0;
    }
    if (s[0] == '+' || s[0] == '-') {
        long v = strtol(s, &end, 10);

        if (end == s + 1) {
            return -1;
        }
        if (*end == 'm' || *end == 'h' || *end == 'd') {
            v *= *end == 'm' ? 60 : (*end == 'h' ? 3600 : 86400);
            end++;
        } else if (*end == 's') {
            end++;
        }
        *out = time(NULL) + v;
        return *end == '\0' ? 0 : -1;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0') {
        return -1;
    }
    *out = timegm(&tm);
    return 0;
}

static void format_time(time_t t, char *buf, size_t len)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static unsigned char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (f == NULL) {
        fail("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > FILE_MAX ||
        fseek(f, 0, SEEK_SET) != 0) {
        fail("cannot size %s", path);
    } else if ((buf = pg_malloc((size_t)n + 1)) != NULL &&
               fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fail("cannot read %s", path);
        pg_free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        *out_len = (size_t)n;
    }
    return buf;
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    int ok;

    if (f == NULL) {
        return fail("cannot create %s: %s", path, strerror(errno));
    }
    ok = fwrite(data, 1, len, f) == len;
    ok = (f == stdout ? fflush(f) : fclose(f)) == 0 && ok;
    return ok ? 0 : fail("cannot write %s", path);
}

static char *b64_std(const unsigned char *in, size_t len)
{
    char *out = pg_malloc(4 * ((len + 2) / 3) + 1);

    if (out != NULL) {
        EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    }
    return out;
}

static char *b64_url(const unsigned char *in, size_t len)
{
    char *out = b64_std(in, len);
    char *p;

    for (p = out; p != NULL && *p != '\0'; p++) {
        if (*p == '+') {
            *p = '-';
        } else if (*p == '/') {
            *p = '_';
        } else if (*p == '=') {
            *p = '\0';
            break;
        }
    }
    return out;
}

static void sha256_hex(const unsigned char *data, size_t len, char out[65])
{
    unsigned char md[32];
    int i;

    SHA256(data, len, md);
    for (i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

/* ------------------------------------------------------------------ keys and certificates */

static EVP_PKEY *gen_key(const char *spec)
{
    const char *curve = NULL;
    long bits;

    if (strncmp(spec, "rsa", 3) == 0) {
        if (parse_long(spec + 3, 512, 16384, &bits) != 0) {
            return NULL;
        }
        return EVP_RSA_gen((unsigned int)bits);
    }
    if (strcmp(spec, "ed25519") == 0) {
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    }
    if (strcmp(spec, "ec256") == 0) {
        curve = "P-256";
    } else if (strcmp(spec, "ec384") == 0) {
        curve = "P-384";
    } else if (strcmp(spec, "ec521") == 0) {
        curve = "P-521";
    } else if (strcmp(spec, "secp256k1") == 0) {
        curve = "secp256k1";
    } else if (strncmp(spec, "ec:", 3) == 0) {
        curve = spec + 3;
    } else {
        fail("unknown key spec %s", spec);
        return NULL;
    }
    return EVP_EC_gen(curve);
}

/* An RFC 4514 string: the last RDN is the most significant, so it is added first. */
static X509_NAME *parse_dn(const char *dn)
{
    X509_NAME *name = X509_NAME_new();
    char *copy = pg_strdup(dn);
    char *parts[LIST_MAX];
    int n = 0;
    char *p;
    char *w;

    if (name == NULL || copy == NULL) {
        goto bad;
    }
    parts[n++] = copy;
    for (p = w = copy; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0') {
            *w++ = *++p;
        } else if (*p == ',' && n < LIST_MAX) {
            *w++ = '\0';
            parts[n++] = w;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    while (n-- > 0) {
        char *eq = strchr(parts[n], '=');

        if (eq == NULL) {
            goto bad;
        }
        *eq = '\0';
        if (!X509_NAME_add_entry_by_txt(name, parts[n], MBSTRING_UTF8,
                                        (const unsigned char *)eq + 1, -1, -1, 0)) {
            goto bad;
        }
    }
    pg_free(copy);
    return name;
bad:
    fail("cannot parse distinguished name %s", dn);
    X509_NAME_free(name);
    pg_free(copy);
    return NULL;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL || !X509_add_ext(cert, ext, -1)) {
        X509_EXTENSION_free(ext);
        return fail("cannot add extension %s = %s", OBJ_nid2sn(nid), value);
    }
    X509_EXTENSION_free(ext);
    return 0;
}

static int add_usage_exts(const struct cert_opts *o, X509 *cert, X509 *issuer)
{
    char buf[1024];
    const char *ku =
        o->ku != NULL ? o->ku : (o->is_ca ? "keyCertSign,cRLSign" : "digitalSignature");
    const char *eku = o->eku != NULL ? o->eku : (o->is_ca ? NULL : "codeSigning");

    if (!o->no_ku) {
        snprintf(buf, sizeof(buf), "%s%s", o->ku_noncritical ? "" : "critical,", ku);
        if (add_ext(cert, issuer, NID_key_usage, buf) != 0) {
            return -1;
        }
    }
    if (!o->no_eku && eku != NULL) {
        snprintf(buf, sizeof(buf), "%s%s", o->eku_critical ? "critical," : "", eku);
        if (add_ext(cert, issuer, NID_ext_key_usage, buf) != 0) {
            return -1;
        }
    }
    return 0;
}

static int add_exts(const struct cert_opts *o, X509 *cert, X509 *issuer)
{
    char buf[1024];

    if (!o->no_bc) {
        snprintf(buf, sizeof(buf), "critical,CA:%s%s%s", o->is_ca ? "TRUE" : "FALSE",
                 o->pathlen != NULL ? ",pathlen:" : "", o->pathlen != NULL ? o->pathlen : "");
        if (add_ext(cert, issuer, NID_basic_constraints, buf) != 0) {
            return -1;
        }
    }
    if (add_usage_exts(o, cert, issuer) != 0 ||
        add_ext(cert, issuer, NID_subject_key_identifier, "hash") != 0) {
        return -1;
    }
    if (issuer != cert && add_ext(cert, issuer, NID_authority_key_identifier, "keyid") != 0) {
        return -1;
    }
    if (o->crl_url != NULL) {
        snprintf(buf, sizeof(buf), "URI:%s", o->crl_url);
        if (add_ext(cert, issuer, NID_crl_distribution_points, buf) != 0) {
            return -1;
        }
    }
    if (o->ocsp_url != NULL) {
        snprintf(buf, sizeof(buf), "OCSP;URI:%s", o->ocsp_url);
        if (add_ext(cert, issuer, NID_info_access, buf) != 0) {
            return -1;
        }
    }
    return 0;
}

static int set_serial(const struct cert_opts *o, X509 *cert)
{
    BIGNUM *bn = NULL;
    int ok;

    if (o->serial != NULL) {
        ok = BN_dec2bn(&bn, o->serial) > 0;
    } else {
        unsigned char raw[16];

        ok = RAND_bytes(raw, sizeof(raw)) == 1;
        raw[0] &= 0x7f;
        raw[0] |= 0x01;
        ok = ok && (bn = BN_bin2bn(raw, sizeof(raw), NULL)) != NULL;
    }
    ok = ok && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok ? 0 : fail("cannot set serial number");
}

static int set_validity(const struct cert_opts *o, X509 *cert)
{
    time_t not_before = time(NULL) - 3600;
    time_t not_after;
    long days = o->is_ca && o->self_signed ? 3650 : 365;

    if (o->not_before != NULL && parse_time(o->not_before, &not_before) != 0) {
        return fail("cannot parse time %s", o->not_before);
    }
    if (o->days != NULL && parse_long(o->days, -100000, 100000, &days) != 0) {
        return -1;
    }
    not_after = not_before + days * 86400;
    if (o->not_after != NULL && parse_time(o->not_after, &not_after) != 0) {
        return fail("cannot parse time %s", o->not_after);
    }
    if (ASN1_TIME_set(X509_getm_notBefore(cert), not_before) == NULL ||
        ASN1_TIME_set(X509_getm_notAfter(cert), not_after) == NULL) {
        return fail("cannot set validity");
    }
    return 0;
}

static const EVP_MD *cert_md(const struct cert_opts *o, EVP_PKEY *signer)
{
    const char *name = o->sha1 ? "sha1" : (o->md != NULL ? o->md : "sha256");

    if (EVP_PKEY_is_a(signer, "ED25519")) {
        return NULL;
    }
    return EVP_get_digestbyname(name);
}

static X509 *build_cert(const struct cert_opts *o, EVP_PKEY *key, X509 *issuer,
                        EVP_PKEY *issuer_key)
{
    X509 *cert = X509_new();
    X509_NAME *subject = parse_dn(o->subject);
    int ok = cert != NULL && subject != NULL;

    ok = ok && X509_set_version(cert, o->v1 ? X509_VERSION_1 : X509_VERSION_3);
    ok = ok && set_serial(o, cert) == 0 && set_validity(o, cert) == 0;
    ok = ok && X509_set_subject_name(cert, subject) && X509_set_pubkey(cert, key);
    ok = ok && X509_set_issuer_name(cert, X509_get_subject_name(issuer != NULL ? issuer : cert));
    ok = ok && (o->v1 || add_exts(o, cert, issuer != NULL ? issuer : cert) == 0);
    if (ok && !X509_sign(cert, issuer_key, cert_md(o, issuer_key))) {
        ok = fail("cannot sign the certificate") == 0;
    }
    X509_NAME_free(subject);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

static char *path_in(const char *dir, const char *file)
{
    return pg_asprintf("%s/%s", dir, file);
}

static int write_pem_key(const char *dir, EVP_PKEY *key)
{
    char *path = path_in(dir, "key.pem");
    FILE *f = path == NULL ? NULL : fopen(path, "wb");
    int rc = 0;

    if (f == NULL || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)) {
        rc = fail("cannot write %s/key.pem", dir);
    }
    if (f != NULL && fclose(f) != 0) {
        rc = fail("cannot write %s/key.pem", dir);
    }
    pg_free(path);
    return rc;
}

/* cert.pem, and chain.pem = cert followed by the issuer's chain (or cert). */
static int write_certs(const char *dir, X509 *cert, const char *issuer_chain)
{
    char *path = path_in(dir, "cert.pem");
    char *chain = path_in(dir, "chain.pem");
    unsigned char *rest = NULL;
    size_t rest_len = 0;
    FILE *f = path == NULL ? NULL : fopen(path, "wb");
    int ok = f != NULL && PEM_write_X509(f, cert);

    ok = (f == NULL || fclose(f) == 0) && ok;
    if (ok && issuer_chain != NULL) {
        ok = (rest = read_file(issuer_chain, &rest_len)) != NULL;
    }
    f = ok && chain != NULL ? fopen(chain, "wb") : NULL;
    ok = f != NULL && PEM_write_X509(f, cert) &&
         (rest_len == 0 || fwrite(rest, 1, rest_len, f) == rest_len);
    ok = (f == NULL || fclose(f) == 0) && ok;
    pg_free(path);
    pg_free(chain);
    pg_free(rest);
    return ok ? 0 : fail("cannot write the certificates into %s", dir);
}

static int load_ca(const char *dir, X509 **out_cert, EVP_PKEY **out_key, char **out_chain)
{
    char *kp = path_in(dir, "key.pem");
    char *cp = path_in(dir, "cert.pem");
    char *chain = path_in(dir, "chain.pem");
    FILE *kf = kp == NULL ? NULL : fopen(kp, "rb");
    FILE *cf = cp == NULL ? NULL : fopen(cp, "rb");
    struct stat st;

    *out_key = kf == NULL ? NULL : PEM_read_PrivateKey(kf, NULL, NULL, NULL);
    *out_cert = cf == NULL ? NULL : PEM_read_X509(cf, NULL, NULL, NULL);
    if (chain != NULL && stat(chain, &st) != 0) {
        pg_free(chain);
        chain = pg_strdup(cp);
    }
    *out_chain = chain;
    if (kf != NULL) {
        fclose(kf);
    }
    if (cf != NULL) {
        fclose(cf);
    }
    pg_free(kp);
    pg_free(cp);
    if (*out_key == NULL || *out_cert == NULL || *out_chain == NULL) {
        return fail("cannot load the CA from %s (key.pem, cert.pem)", dir);
    }
    return 0;
}

static int make_cert(struct cert_opts *o)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY *ca_key = NULL;
    X509 *ca = NULL;
    X509 *cert = NULL;
    char *ca_chain = NULL;
    int rc = -1;

    if (o->out_dir == NULL || (o->ca_dir == NULL && !o->self_signed)) {
        return fail("cert needs --out and one of --ca or --self-signed");
    }
    if (mkdir(o->out_dir, 0700) != 0 && errno != EEXIST) {
        return fail("cannot create %s: %s", o->out_dir, strerror(errno));
    }
    if (!o->self_signed && load_ca(o->ca_dir, &ca, &ca_key, &ca_chain) != 0) {
        goto out;
    }
    key = gen_key(o->key_spec);
    if (key == NULL) {
        fail("cannot generate a %s key", o->key_spec);
        goto out;
    }
    cert = build_cert(o, key, ca, o->self_signed ? key : ca_key);
    if (cert != NULL && write_pem_key(o->out_dir, key) == 0 &&
        write_certs(o->out_dir, cert, ca_chain) == 0) {
        rc = 0;
    }
out:
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    X509_free(cert);
    pg_free(ca_chain);
    return rc;
}

static int cmd_cert(int argc, char **argv, int is_root)
{
    struct cert_opts o = {0};
    const struct opt opts[] = {
        {"--ca", OPT_STR, &o.ca_dir},
        {"--out", OPT_STR, &o.out_dir},
        {"--key", OPT_STR, &o.key_spec},
        {"--subject", OPT_STR, &o.subject},
        {"--ku", OPT_STR, &o.ku},
        {"--eku", OPT_STR, &o.eku},
        {"--md", OPT_STR, &o.md},
        {"--not-before", OPT_STR, &o.not_before},
        {"--not-after", OPT_STR, &o.not_after},
        {"--days", OPT_STR, &o.days},
        {"--pathlen", OPT_STR, &o.pathlen},
        {"--serial", OPT_STR, &o.serial},
        {"--crl-url", OPT_STR, &o.crl_url},
        {"--ocsp-url", OPT_STR, &o.ocsp_url},
        {"--ca-cert", OPT_FLAG, &o.is_ca},
        {"--no-bc", OPT_FLAG, &o.no_bc},
        {"--no-ku", OPT_FLAG, &o.no_ku},
        {"--ku-noncritical", OPT_FLAG, &o.ku_noncritical},
        {"--no-eku", OPT_FLAG, &o.no_eku},
        {"--eku-critical", OPT_FLAG, &o.eku_critical},
        {"--sha1", OPT_FLAG, &o.sha1},
        {"--self-signed", OPT_FLAG, &o.self_signed},
        {"--v1", OPT_FLAG, &o.v1},
        {NULL, OPT_FLAG, NULL},
    };

    o.key_spec = "ec256";
    o.subject =
        is_root ? "CN=pg test root,O=pullgate,ST=WA,C=US" : "CN=pg test leaf,O=pullgate,ST=WA,C=US";
    if (parse_opts(opts, argc, argv) != 0) {
        return 2;
    }
    if (is_root) {
        o.is_ca = 1;
        o.self_signed = 1;
        o.ca_dir = NULL;
    }
    return make_cert(&o) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ JWS signing */

struct alg {
    const char *name;
    const char *md;
    int kind; /* 'P' PSS, 'E' ECDSA, 'R' PKCS#1 v1.5 */
};

static const struct alg algs[] = {
    {"PS256", "SHA256", 'P'}, {"PS384", "SHA384", 'P'}, {"PS512", "SHA512", 'P'},
    {"ES256", "SHA256", 'E'}, {"ES384", "SHA384", 'E'}, {"ES512", "SHA512", 'E'},
    {"RS256", "SHA256", 'R'}, {"RS384", "SHA384", 'R'}, {"RS512", "SHA512", 'R'},
};

static const struct alg *find_alg(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(algs[i].name, name) == 0) {
            return &algs[i];
        }
    }
    return NULL;
}

/* The algorithm the key's spec implies, as notation picks it. */
static const struct alg *natural_alg(EVP_PKEY *key)
{
    int bits = EVP_PKEY_get_bits(key);

    if (EVP_PKEY_is_a(key, "RSA")) {
        return find_alg(bits >= 4096 ? "PS512" : (bits >= 3072 ? "PS384" : "PS256"));
    }
    return find_alg(bits > 384 ? "ES512" : (bits > 256 ? "ES384" : "ES256"));
}

static int ecdsa_der_to_raw(EVP_PKEY *key, const unsigned char *der, size_t der_len,
                            unsigned char *out, size_t *out_len)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    int n = (EVP_PKEY_get_bits(key) + 7) / 8;
    int ok = sig != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, n) == n &&
             BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + n, n) == n;

    ECDSA_SIG_free(sig);
    *out_len = 2 * (size_t)n;
    return ok ? 0 : fail("cannot convert the ECDSA signature");
}

static int sign_bytes(EVP_PKEY *key, const struct alg *a, int salt, const unsigned char *in,
                      size_t in_len, unsigned char **out, size_t *out_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    size_t der_len = 0;
    int ok = ctx != NULL && EVP_DigestSignInit_ex(ctx, &pctx, a->md, NULL, NULL, key, NULL);

    if (ok && a->kind == 'P') {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) > 0;
    }
    ok = ok && EVP_DigestSign(ctx, NULL, &der_len, in, in_len);
    ok = ok && (der = pg_malloc(der_len)) != NULL;
    ok = ok && EVP_DigestSign(ctx, der, &der_len, in, in_len);
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        pg_free(der);
        return fail("cannot sign with %s", a->name);
    }
    if (a->kind == 'E') {
        *out = pg_malloc(2 * 66);
        if (*out == NULL || ecdsa_der_to_raw(key, der, der_len, *out, out_len) != 0) {
            pg_free(der);
            return -1;
        }
        pg_free(der);
        return 0;
    }
    *out = der;
    *out_len = der_len;
    return 0;
}

static int set_time_attr(json_t *hdr, const char *name, const char *arg, time_t *out_t)
{
    if (parse_time(arg, out_t) == 0) {
        char buf[64];

        format_time(*out_t, buf, sizeof(buf));
        return json_object_set_new(hdr, name, json_string(buf));
    }
    return json_object_set_new(hdr, name, json_string(arg)); /* verbatim, e.g. an offset form */
}

static int add_attrs(json_t *hdr, const struct strlist *attrs)
{
    int i;

    for (i = 0; i < attrs->n; i++) {
        char *copy = pg_strdup(attrs->v[i]);
        char *eq = copy == NULL ? NULL : strchr(copy, '=');
        json_t *val;

        if (eq == NULL) {
            pg_free(copy);
            return fail("--attr needs NAME=VALUE, got %s", attrs->v[i]);
        }
        *eq = '\0';
        if (strncmp(eq + 1, "json:", 5) == 0) {
            val = json_loads(eq + 6, JSON_DECODE_ANY, NULL);
        } else {
            val = json_string(eq + 1);
        }
        if (val == NULL || json_object_set_new(hdr, copy, val) != 0) {
            pg_free(copy);
            return fail("bad --attr value %s", attrs->v[i]);
        }
        pg_free(copy);
    }
    return 0;
}

static json_t *build_crit(const struct sign_opts *o, int is_sa, int has_expiry)
{
    json_t *crit = json_array();
    int i;

    if (!o->no_auto_crit) {
        json_array_append_new(crit, json_string("io.cncf.notary.signingScheme"));
        if (is_sa) {
            json_array_append_new(crit, json_string("io.cncf.notary.authenticSigningTime"));
        }
        if (has_expiry) {
            json_array_append_new(crit, json_string("io.cncf.notary.expiry"));
        }
    }
    for (i = 0; i < o->crit.n; i++) {
        json_array_append_new(crit, json_string(o->crit.v[i]));
    }
    return crit;
}

static json_t *build_protected(const struct sign_opts *o, const char *alg)
{
    json_t *hdr = json_object();
    int is_sa = o->scheme != NULL && strcmp(o->scheme, "sa") == 0;
    time_t signing = time(NULL);
    time_t expiry;
    char buf[64];
    int rc;

    if (o->scheme != NULL && !is_sa && strcmp(o->scheme, "x509") != 0) {
        fail("--scheme must be x509 or sa");
        json_decref(hdr);
        return NULL;
    }
    rc = json_object_set_new(hdr, "alg", json_string(alg));
    rc |= json_object_set_new(hdr, "cty", json_string(o->cty));
    rc |= json_object_set_new(hdr, "crit", build_crit(o, is_sa, !o->no_expiry));
    rc |= json_object_set_new(hdr, "io.cncf.notary.signingScheme",
                              json_string(is_sa ? "notary.x509.signingAuthority" : "notary.x509"));
    format_time(signing, buf, sizeof(buf));
    rc |= set_time_attr(
        hdr, is_sa ? "io.cncf.notary.authenticSigningTime" : "io.cncf.notary.signingTime",
        o->signing_time != NULL ? o->signing_time : buf, &signing);
    expiry = (signing > time(NULL) ? signing : time(NULL)) + 365L * 86400;
    format_time(expiry, buf, sizeof(buf));
    if (!o->no_expiry) {
        rc |= set_time_attr(hdr, "io.cncf.notary.expiry", o->expiry != NULL ? o->expiry : buf,
                            &expiry);
    }
    if (rc != 0 || add_attrs(hdr, &o->attrs) != 0) {
        json_decref(hdr);
        return NULL;
    }
    return hdr;
}

static char *build_payload(const struct sign_opts *o)
{
    json_t *root = json_object();
    json_t *target = json_object();
    json_t *ann = json_object();
    char *text = NULL;
    long size = 0;
    int i;

    if (parse_long(o->size, 0, 0x7fffffffL, &size) != 0) {
        goto out;
    }
    json_object_set_new(target, "mediaType", json_string(o->mt));
    json_object_set_new(target, "digest", json_string(o->digest));
    json_object_set_new(target, "size", json_integer(size));
    for (i = 0; i < o->annotations.n; i++) {
        const char *eq = strchr(o->annotations.v[i], '=');
        char *key =
            eq == NULL ? NULL : pg_strndup(o->annotations.v[i], (size_t)(eq - o->annotations.v[i]));

        if (key != NULL) {
            json_object_set_new(ann, key, json_string(eq + 1));
        }
        pg_free(key);
    }
    if (o->annotations.n > 0) {
        json_object_set(target, "annotations", ann);
    }
    json_object_set(root, "targetArtifact", target);
    text = json_dumps(root, JSON_COMPACT);
out:
    json_decref(root);
    json_decref(target);
    json_decref(ann);
    return text;
}

static STACK_OF(X509) * read_chain(const char *path)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    FILE *f = fopen(path, "rb");
    X509 *cert;

    while (f != NULL && chain != NULL && (cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_push(chain, cert) <= 0) {
            X509_free(cert);
        }
    }
    ERR_clear_error();
    if (f != NULL) {
        fclose(f);
    }
    if (chain == NULL || sk_X509_num(chain) == 0) {
        fail("no certificates in %s", path);
        sk_X509_pop_free(chain, X509_free);
        return NULL;
    }
    return chain;
}

static json_t *build_unprotected(const struct sign_opts *o)
{
    STACK_OF(X509) *chain = read_chain(o->chain);
    json_t *hdr = json_object();
    json_t *x5c = json_array();
    unsigned char *tst = NULL;
    size_t tst_len = 0;
    int ok = chain != NULL;
    int i;

    for (i = 0; ok && i < sk_X509_num(chain); i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(sk_X509_value(chain, i), &der);
        char *b64 = len > 0 ? b64_std(der, (size_t)len) : NULL;

        ok = b64 != NULL && json_array_append_new(x5c, json_string(b64)) == 0;
        OPENSSL_free(der);
        pg_free(b64);
    }
    json_object_set(hdr, "x5c", x5c);
    if (ok && o->timestamp != NULL) {
        char *b64 = (tst = read_file(o->timestamp, &tst_len)) ? b64_std(tst, tst_len) : NULL;

        ok = b64 != NULL &&
             json_object_set_new(hdr, "io.cncf.notary.timestampSignature", json_string(b64)) == 0;
        pg_free(b64);
    }
    json_object_set_new(hdr, "io.cncf.notary.signingAgent", json_string(o->agent));
    sk_X509_pop_free(chain, X509_free);
    json_decref(x5c);
    pg_free(tst);
    if (!ok) {
        json_decref(hdr);
        return NULL;
    }
    return hdr;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "rb");
    EVP_PKEY *key = f == NULL ? NULL : PEM_read_PrivateKey(f, NULL, NULL, NULL);

    if (f != NULL) {
        fclose(f);
    }
    if (key == NULL) {
        fail("cannot read a private key from %s", path);
    }
    return key;
}

/* The algorithm to sign with: --alg when the key can make it, else the key's own. */
static const struct alg *signing_alg(EVP_PKEY *key, const char *header_alg)
{
    const struct alg *a = header_alg == NULL ? NULL : find_alg(header_alg);
    int is_rsa = EVP_PKEY_is_a(key, "RSA");

    if (a != NULL && ((a->kind == 'E') != !is_rsa)) {
        a = NULL;
    }
    return a != NULL ? a : natural_alg(key);
}

static char *payload_b64(const struct sign_opts *o)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    char *text;
    char *b64;

    if (o->payload_file != NULL) {
        raw = read_file(o->payload_file, &len);
        b64 = raw == NULL ? NULL : b64_url(raw, len);
        pg_free(raw);
        return b64;
    }
    text = build_payload(o);
    b64 = text == NULL ? NULL : b64_url((const unsigned char *)text, strlen(text));
    free(text);
    return b64;
}

static char *build_envelope(const struct sign_opts *o, EVP_PKEY *key)
{
    const struct alg *a = signing_alg(key, o->alg);
    json_t *prot = build_protected(o, o->alg != NULL ? o->alg : a->name);
    json_t *unprot = build_unprotected(o);
    json_t *env = json_object();
    char *prot_text = prot == NULL ? NULL : json_dumps(prot, JSON_COMPACT);
    char *prot_b64 =
        prot_text == NULL ? NULL : b64_url((unsigned char *)prot_text, strlen(prot_text));
    char *pay_b64 = payload_b64(o);
    char *input = prot_b64 && pay_b64 ? pg_asprintf("%s.%s", prot_b64, pay_b64) : NULL;
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    char *sig_b64 = NULL;
    char *out = NULL;
    long salt = RSA_PSS_SALTLEN_DIGEST;

    if (input != NULL && unprot != NULL &&
        (o->salt == NULL || parse_long(o->salt, 0, 1024, &salt) == 0) &&
        sign_bytes(key, a, (int)salt, (const unsigned char *)input, strlen(input), &sig,
                   &sig_len) == 0 &&
        (sig_b64 = b64_url(sig, sig_len)) != NULL) {
        json_object_set_new(env, "payload", json_string(pay_b64));
        json_object_set_new(env, "protected", json_string(prot_b64));
        json_object_set(env, "header", unprot);
        json_object_set_new(env, "signature", json_string(sig_b64));
        out = json_dumps(env, JSON_COMPACT);
    }
    json_decref(prot);
    json_decref(unprot);
    json_decref(env);
    free(prot_text);
    pg_free(prot_b64);
    pg_free(pay_b64);
    pg_free(input);
    pg_free(sig);
    pg_free(sig_b64);
    return out;
}

/* ------------------------------------------------------------------ COSE signing */

struct blobs4 {
    unsigned char *prot;
    size_t prot_len;
    unsigned char *payload;
    size_t payload_len;
    unsigned char *sig;
    size_t sig_len;
};

static const struct {
    const char *name;
    int64_t value;
} cose_algs[] = {{"PS256", -37}, {"PS384", -38}, {"PS512", -39},
                 {"ES256", -7},  {"ES384", -35}, {"ES512", -36}};

/* The COSE number of a JWS algorithm name, or the number NAME spells. */
static int cose_alg_number(const char *name, int64_t *out)
{
    size_t i;
    long v;

    for (i = 0; i < sizeof(cose_algs) / sizeof(cose_algs[0]); i++) {
        if (strcmp(cose_algs[i].name, name) == 0) {
            *out = cose_algs[i].value;
            return 0;
        }
    }
    if (parse_long(name, -65536, 65535, &v) != 0) {
        return fail("--alg %s has no COSE number", name);
    }
    *out = v;
    return 0;
}

/* An integer in its shortest encoding, as notation's deterministic encoder writes it. */
static cbor_item_t *cbor_int(int64_t v)
{
    uint64_t u = v >= 0 ? (uint64_t)v : (uint64_t)(-1 - v);

    if (u <= 0xff) {
        return v >= 0 ? cbor_build_uint8((uint8_t)u) : cbor_build_negint8((uint8_t)u);
    }
    if (u <= 0xffff) {
        return v >= 0 ? cbor_build_uint16((uint16_t)u) : cbor_build_negint16((uint16_t)u);
    }
    if (u <= 0xffffffffu) {
        return v >= 0 ? cbor_build_uint32((uint32_t)u) : cbor_build_negint32((uint32_t)u);
    }
    return v >= 0 ? cbor_build_uint64(u) : cbor_build_negint64(u);
}

/* Adds k: v to map, taking both; 0 on success. */
static int map_put(cbor_item_t *map, cbor_item_t *k, cbor_item_t *v)
{
    int ok = map != NULL && k != NULL && v != NULL &&
             cbor_map_add(map, (struct cbor_pair){.key = k, .value = v});

    if (k != NULL) {
        cbor_decref(&k);
    }
    if (v != NULL) {
        cbor_decref(&v);
    }
    return ok ? 0 : fail("cannot build a CBOR map");
}

static int array_push(cbor_item_t *arr, cbor_item_t *v)
{
    int ok = arr != NULL && v != NULL && cbor_array_push(arr, v);

    if (v != NULL) {
        cbor_decref(&v);
    }
    return ok ? 0 : fail("cannot build a CBOR array");
}

static cbor_item_t *json_to_cbor(json_t *j);

static cbor_item_t *json_container_to_cbor(json_t *j)
{
    cbor_item_t *out;
    size_t i;

    if (json_is_array(j)) {
        out = cbor_new_definite_array(json_array_size(j));
        for (i = 0; out != NULL && i < json_array_size(j); i++) {
            array_push(out, json_to_cbor(json_array_get(j, i)));
        }
        return out;
    }
    out = cbor_new_definite_map(json_object_size(j));
    {
        const char *key;
        json_t *v;

        json_object_foreach(j, key, v)
        {
            map_put(out, cbor_build_string(key), json_to_cbor(v));
        }
    }
    return out;
}

static cbor_item_t *json_to_cbor(json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_STRING:
        return cbor_build_stringn(json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return cbor_int((int64_t)json_integer_value(j));
    case JSON_REAL:
        return cbor_build_float8(json_real_value(j));
    case JSON_TRUE:
    case JSON_FALSE:
        return cbor_build_bool(json_is_true(j));
    case JSON_NULL:
        return cbor_new_null();
    default:
        return json_container_to_cbor(j);
    }
}

/* A tag 1 epoch for a time argument, else the argument as a text string. */
static cbor_item_t *cose_time(const char *arg, time_t fallback, time_t *out_t)
{
    cbor_item_t *t;
    cbor_item_t *tag;

    *out_t = fallback;
    if (arg != NULL && parse_time(arg, out_t) != 0) {
        return cbor_build_string(arg);
    }
    t = cbor_int((int64_t)*out_t);
    tag = t != NULL ? cbor_build_tag(1, t) : NULL;
    if (t != NULL) {
        cbor_decref(&t);
    }
    return tag;
}

static int cose_put_attrs(cbor_item_t *map, const struct strlist *attrs)
{
    int i;

    for (i = 0; i < attrs->n; i++) {
        const char *eq = strchr(attrs->v[i], '=');
        json_t *val = NULL;
        int rc;

        if (eq == NULL) {
            return fail("--attr needs NAME=VALUE, got %s", attrs->v[i]);
        }
        if (strncmp(eq + 1, "json:", 5) == 0) {
            val = json_loads(eq + 6, JSON_DECODE_ANY, NULL);
            if (val == NULL) {
                return fail("bad --attr value %s", attrs->v[i]);
            }
        }
        rc = map_put(map, cbor_build_stringn(attrs->v[i], (size_t)(eq - attrs->v[i])),
                     val != NULL ? json_to_cbor(val) : cbor_build_string(eq + 1));
        json_decref(val);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static cbor_item_t *cose_crit(const struct sign_opts *o, int is_sa, int has_expiry)
{
    json_t *names = build_crit(o, is_sa, has_expiry);
    cbor_item_t *crit = json_to_cbor(names);

    json_decref(names);
    return crit;
}

/* The protected header map: alg, crit, cty, scheme, its time, expiry, --attr. */
static cbor_item_t *cose_protected(const struct sign_opts *o, int64_t alg)
{
    int is_sa = o->scheme != NULL && strcmp(o->scheme, "sa") == 0;
    cbor_item_t *map = cbor_new_definite_map(6 + (size_t)o->attrs.n);
    time_t signing;
    time_t expiry;
    int rc;

    if (o->scheme != NULL && !is_sa && strcmp(o->scheme, "x509") != 0) {
        fail("--scheme must be x509 or sa");
        cbor_decref(&map);
        return NULL;
    }
    rc = map_put(map, cbor_int(1), cbor_int(alg));
    rc |= map_put(map, cbor_int(2), cose_crit(o, is_sa, !o->no_expiry));
    rc |= map_put(map, cbor_int(3), cbor_build_string(o->cty));
    rc |= map_put(map, cbor_build_string("io.cncf.notary.signingScheme"),
                  cbor_build_string(is_sa ? "notary.x509.signingAuthority" : "notary.x509"));
    rc |= map_put(map,
                  cbor_build_string(is_sa ? "io.cncf.notary.authenticSigningTime"
                                          : "io.cncf.notary.signingTime"),
                  cose_time(o->signing_time, time(NULL), &signing));
    if (!o->no_expiry) {
        expiry = (signing > time(NULL) ? signing : time(NULL)) + 365L * 86400;
        rc |= map_put(map, cbor_build_string("io.cncf.notary.expiry"),
                      cose_time(o->expiry, expiry, &expiry));
    }
    rc |= cose_put_attrs(map, &o->attrs);
    if (rc != 0) {
        cbor_decref(&map);
        return NULL;
    }
    return map;
}

/* The unprotected header map: x5chain (label 33) as an array, signing agent, timestamp. */
static cbor_item_t *cose_unprotected(const struct sign_opts *o)
{
    STACK_OF(X509) *chain = read_chain(o->chain);
    cbor_item_t *map = cbor_new_definite_map(3);
    cbor_item_t *x5 = chain != NULL ? cbor_new_definite_array((size_t)sk_X509_num(chain)) : NULL;
    unsigned char *tst = NULL;
    size_t tst_len = 0;
    int rc = x5 == NULL;
    int i;

    for (i = 0; rc == 0 && i < sk_X509_num(chain); i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(sk_X509_value(chain, i), &der);

        rc = len > 0 ? array_push(x5, cbor_build_bytestring(der, (size_t)len)) : -1;
        OPENSSL_free(der);
    }
    rc = rc != 0 ? rc : map_put(map, cbor_int(33), x5);
    x5 = NULL;
    rc |=
        map_put(map, cbor_build_string("io.cncf.notary.signingAgent"), cbor_build_string(o->agent));
    if (rc == 0 && o->timestamp != NULL) {
        tst = read_file(o->timestamp, &tst_len);
        rc = tst == NULL ? -1
                         : map_put(map, cbor_build_string("io.cncf.notary.timestampSignature"),
                                   cbor_build_bytestring(tst, tst_len));
    }
    sk_X509_pop_free(chain, X509_free);
    pg_free(tst);
    if (rc != 0) {
        cbor_decref(&map);
        return NULL;
    }
    return map;
}

static unsigned char *cose_payload(const struct sign_opts *o, size_t *out_len)
{
    char *text;
    unsigned char *copy;

    if (o->payload_file != NULL) {
        return read_file(o->payload_file, out_len);
    }
    text = build_payload(o);
    copy = text == NULL ? NULL : (unsigned char *)pg_strdup(text);
    *out_len = copy == NULL ? 0 : strlen(text);
    free(text);
    return copy;
}

/* Serializes item into a pg_malloc'd buffer; NULL on failure. */
static unsigned char *cose_serialize(const cbor_item_t *item, size_t *out_len)
{
    unsigned char *buf = NULL;
    size_t cap = 0;
    size_t len = item == NULL ? 0 : cbor_serialize_alloc(item, &buf, &cap);
    unsigned char *copy = len == 0 ? NULL : pg_malloc(len);

    if (copy != NULL) {
        memcpy(copy, buf, len);
    }
    free(buf);
    *out_len = len;
    return copy;
}

/* tag 18 [protected bstr, unprotected map, payload bstr, signature bstr] */
static unsigned char *cose_message(const struct blobs4 *b, cbor_item_t *unprot, size_t *out_len)
{
    cbor_item_t *arr = cbor_new_definite_array(4);
    cbor_item_t *tag = NULL;
    unsigned char *out = NULL;

    if (arr != NULL && array_push(arr, cbor_build_bytestring(b->prot, b->prot_len)) == 0 &&
        cbor_array_push(arr, unprot) &&
        array_push(arr, cbor_build_bytestring(b->payload, b->payload_len)) == 0 &&
        array_push(arr, cbor_build_bytestring(b->sig, b->sig_len)) == 0) {
        tag = cbor_build_tag(18, arr);
        out = cose_serialize(tag, out_len);
    }
    if (tag != NULL) {
        cbor_decref(&tag);
    }
    if (arr != NULL) {
        cbor_decref(&arr);
    }
    return out;
}

static int write_cose(const struct sign_opts *o, EVP_PKEY *key)
{
    const struct alg *a = signing_alg(key, o->alg);
    cbor_item_t *prot = NULL;
    cbor_item_t *unprot = NULL;
    struct blobs4 b;
    unsigned char *tbs = NULL;
    unsigned char *env = NULL;
    size_t tbs_len = 0;
    size_t env_len = 0;
    long salt = RSA_PSS_SALTLEN_DIGEST;
    int64_t alg_num = 0;
    int rc = 1;

    memset(&b, 0, sizeof(b));
    if (cose_alg_number(o->alg != NULL ? o->alg : a->name, &alg_num) != 0) {
        return 1;
    }
    prot = cose_protected(o, alg_num);
    unprot = cose_unprotected(o);
    b.prot = cose_serialize(prot, &b.prot_len);
    b.payload = cose_payload(o, &b.payload_len);
    if (b.prot != NULL && b.payload != NULL && unprot != NULL &&
        (o->salt == NULL || parse_long(o->salt, 0, 1024, &salt) == 0) &&
        pg_cose_to_be_signed(b.prot, b.prot_len, b.payload, b.payload_len, &tbs, &tbs_len, NULL) ==
            PG_OK &&
        sign_bytes(key, a, (int)salt, tbs, tbs_len, &b.sig, &b.sig_len) == 0 &&
        (env = cose_message(&b, unprot, &env_len)) != NULL &&
        write_file(o->out, env, env_len) == 0) {
        rc = 0;
    }
    if (prot != NULL) {
        cbor_decref(&prot);
    }
    if (unprot != NULL) {
        cbor_decref(&unprot);
    }
    pg_free(b.prot);
    pg_free(b.payload);
    pg_free(b.sig);
    pg_free(tbs);
    pg_free(env);
    return rc;
}

static int cmd_sign(int argc, char **argv)
{
    struct sign_opts o;
    const struct opt opts[] = {
        {"--key", OPT_STR, &o.key},
        {"--chain", OPT_STR, &o.chain},
        {"--target-media-type", OPT_STR, &o.mt},
        {"--target-digest", OPT_STR, &o.digest},
        {"--target-size", OPT_STR, &o.size},
        {"--scheme", OPT_STR, &o.scheme},
        {"--signing-time", OPT_STR, &o.signing_time},
        {"--expiry", OPT_STR, &o.expiry},
        {"--alg", OPT_STR, &o.alg},
        {"--out", OPT_STR, &o.out},
        {"--cty", OPT_STR, &o.cty},
        {"--pss-salt", OPT_STR, &o.salt},
        {"--payload-file", OPT_STR, &o.payload_file},
        {"--timestamp", OPT_STR, &o.timestamp},
        {"--signing-agent", OPT_STR, &o.agent},
        {"--format", OPT_STR, &o.format},
        {"--no-expiry", OPT_FLAG, &o.no_expiry},
        {"--no-auto-crit", OPT_FLAG, &o.no_auto_crit},
        {"--attr", OPT_LIST, &o.attrs},
        {"--crit", OPT_LIST, &o.crit},
        {"--annotation", OPT_LIST, &o.annotations},
        {NULL, OPT_FLAG, NULL},
    };
    EVP_PKEY *key;
    char *env;
    int rc = 1;

    memset(&o, 0, sizeof(o));
    o.cty = "application/vnd.cncf.notary.payload.v1+json";
    o.agent = SIGNING_AGENT;
    o.out = "-";
    if (parse_opts(opts, argc, argv) != 0) {
        return 2;
    }
    if (o.key == NULL || o.chain == NULL || o.mt == NULL || o.digest == NULL || o.size == NULL) {
        fail("sign needs --key, --chain, --target-media-type, --target-digest, --target-size");
        return 2;
    }
    if (o.format != NULL && strcmp(o.format, "jws") != 0 && strcmp(o.format, "cose") != 0) {
        fail("--format must be jws or cose");
        return 2;
    }
    key = read_key(o.key);
    if (key != NULL && o.format != NULL && strcmp(o.format, "cose") == 0) {
        rc = write_cose(&o, key);
        EVP_PKEY_free(key);
        return rc;
    }
    env = key == NULL ? NULL : build_envelope(&o, key);
    if (env != NULL && write_file(o.out, env, strlen(env)) == 0) {
        rc = 0;
    }
    free(env);
    EVP_PKEY_free(key);
    return rc;
}

/* ------------------------------------------------------------------ signature manifests */

static json_t *thumbprints_from_chain(const char *path)
{
    STACK_OF(X509) *chain = read_chain(path);
    json_t *list = json_array();
    int i;

    for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(sk_X509_value(chain, i), &der);
        char hex[65];

        sha256_hex(der, len > 0 ? (size_t)len : 0, hex);
        json_array_append_new(list, json_string(hex));
        OPENSSL_free(der);
    }
    sk_X509_pop_free(chain, X509_free);
    return list;
}

static json_t *thumbprints_from_jws(const unsigned char *env, size_t len)
{
    json_t *root = json_loadb((const char *)env, len, 0, NULL);
    json_t *x5c = json_object_get(json_object_get(root, "header"), "x5c");
    json_t *list = NULL;
    size_t i;

    for (i = 0; json_is_array(x5c) && i < json_array_size(x5c); i++) {
        const char *b64 = json_string_value(json_array_get(x5c, i));
        size_t b64_len = b64 == NULL ? 0 : strlen(b64);
        unsigned char *der = pg_malloc(b64_len + 1);
        int n = der == NULL ? -1 : EVP_DecodeBlock(der, (const unsigned char *)b64, (int)b64_len);

        if (n > 0) {
            char hex[65];

            n -=
                (b64_len > 0 && b64[b64_len - 1] == '=') + (b64_len > 1 && b64[b64_len - 2] == '=');
            sha256_hex(der, (size_t)n, hex);
            if (list == NULL) {
                list = json_array();
            }
            json_array_append_new(list, json_string(hex));
        }
        pg_free(der);
    }
    json_decref(root);
    return list;
}

static json_t *thumbprints_from_cose(const unsigned char *env, size_t len)
{
    struct pg_cose *cose = NULL;
    const struct pg_jws *v;
    json_t *list;
    size_t i;

    if (pg_cose_parse(env, len, &cose, NULL) != PG_OK) {
        return NULL;
    }
    v = pg_cose_view(cose);
    list = json_array();
    for (i = 0; list != NULL && i < v->n_x5c; i++) {
        char hex[65];

        sha256_hex(v->x5c[i].data, v->x5c[i].len, hex);
        json_array_append_new(list, json_string(hex));
    }
    pg_cose_free(cose);
    return list;
}

static json_t *descriptor(const char *mt, const char *digest, long size)
{
    json_t *d = json_object();

    json_object_set_new(d, "mediaType", json_string(mt));
    json_object_set_new(d, "digest", json_string(digest));
    json_object_set_new(d, "size", json_integer(size));
    return d;
}

static json_t *build_annotations(const struct manifest_opts *o, const unsigned char *env,
                                 size_t env_len)
{
    json_t *ann = json_object();
    json_t *thumbs = o->chain != NULL
                         ? thumbprints_from_chain(o->chain)
                         : (env_len > 0 && env[0] == '{' ? thumbprints_from_jws(env, env_len)
                                                         : thumbprints_from_cose(env, env_len));
    char created[64];
    time_t t = time(NULL);

    if (thumbs != NULL) {
        char *text = json_dumps(thumbs, JSON_COMPACT);

        json_object_set_new(ann, "io.cncf.notary.x509chain.thumbprint#S256", json_string(text));
        free(text);
        json_decref(thumbs);
    }
    if (o->created != NULL && parse_time(o->created, &t) != 0) {
        fail("cannot parse time %s", o->created);
    }
    format_time(t, created, sizeof(created));
    json_object_set_new(ann, "org.opencontainers.image.created", json_string(created));
    return ann;
}

static char *build_manifest(const struct manifest_opts *o, const unsigned char *env, size_t env_len,
                            long subject_size)
{
    int is_artifact = o->form != NULL && strcmp(o->form, "artifact") == 0;
    const char *env_mt = o->env_mt != NULL ? o->env_mt
                                           : (env_len > 0 && env[0] == '{' ? "application/jose+json"
                                                                           : "application/cose");
    json_t *m = json_object();
    json_t *layers = json_array();
    char hex[65];
    char digest[80];
    char *text;

    sha256_hex(env, env_len, hex);
    snprintf(digest, sizeof(digest), "sha256:%s", hex);
    json_object_set_new(m, "schemaVersion", json_integer(2));
    json_object_set_new(m, "mediaType", json_string("application/vnd.oci.image.manifest.v1+json"));
    if (is_artifact) {
        json_object_set_new(m, "artifactType",
                            json_string("application/vnd.cncf.notary.signature"));
    }
    json_object_set_new(m, "config",
                        descriptor(is_artifact ? "application/vnd.oci.empty.v1+json"
                                               : "application/vnd.cncf.notary.signature",
                                   EMPTY_JSON_DIGEST, 2));
    json_array_append_new(layers, descriptor(env_mt, digest, (long)env_len));
    json_object_set_new(m, "layers", layers);
    json_object_set_new(m, "subject", descriptor(o->mt, o->digest, subject_size));
    json_object_set_new(m, "annotations", build_annotations(o, env, env_len));
    text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return text;
}

static int cmd_manifest(int argc, char **argv)
{
    struct manifest_opts o = {0};
    const struct opt opts[] = {
        {"--envelope", OPT_STR, &o.envelope},
        {"--subject-media-type", OPT_STR, &o.mt},
        {"--subject-digest", OPT_STR, &o.digest},
        {"--subject-size", OPT_STR, &o.size},
        {"--form", OPT_STR, &o.form},
        {"--out", OPT_STR, &o.out},
        {"--envelope-media-type", OPT_STR, &o.env_mt},
        {"--chain", OPT_STR, &o.chain},
        {"--created", OPT_STR, &o.created},
        {NULL, OPT_FLAG, NULL},
    };
    unsigned char *env = NULL;
    size_t env_len = 0;
    long size = 0;
    char *text = NULL;
    int rc = 1;

    if (parse_opts(opts, argc, argv) != 0 || o.envelope == NULL || o.mt == NULL ||
        o.digest == NULL || o.size == NULL || o.out == NULL ||
        parse_long(o.size, 0, 0x7fffffffL, &size) != 0 ||
        (o.form != NULL && strcmp(o.form, "legacy") != 0 && strcmp(o.form, "artifact") != 0)) {
        fail("manifest needs --envelope, --subject-media-type, --subject-digest, "
             "--subject-size, --out; --form is legacy or artifact");
        return 2;
    }
    env = read_file(o.envelope, &env_len);
    text = env == NULL ? NULL : build_manifest(&o, env, env_len, size);
    if (text != NULL && write_file(o.out, text, strlen(text)) == 0) {
        char hex[65];

        sha256_hex((const unsigned char *)text, strlen(text), hex);
        printf("sha256:%s %zu\n", hex, strlen(text));
        rc = 0;
    }
    free(text);
    pg_free(env);
    return rc;
}

static int cmd_digest(int argc, char **argv)
{
    unsigned char *data;
    size_t len = 0;
    char hex[65];

    if (argc != 1) {
        fail("digest needs one FILE");
        return 2;
    }
    data = read_file(argv[0], &len);
    if (data == NULL) {
        return 1;
    }
    sha256_hex(data, len, hex);
    printf("sha256:%s %zu\n", hex, len);
    pg_free(data);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    if (strcmp(cmd, "ca") == 0) {
        return cmd_cert(argc - 2, argv + 2, 1);
    }
    if (strcmp(cmd, "cert") == 0) {
        return cmd_cert(argc - 2, argv + 2, 0);
    }
    if (strcmp(cmd, "sign") == 0) {
        return cmd_sign(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "manifest") == 0) {
        return cmd_manifest(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "digest") == 0) {
        return cmd_digest(argc - 2, argv + 2);
    }
    fputs(usage_text, strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0 ? stdout : stderr);
    return strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0 ? 0 : 2;
}
