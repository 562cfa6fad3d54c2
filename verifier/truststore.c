/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust stores on disk, read the way notation reads them: one directory per
 * named store, every regular file in it parsed as PEM certificates or
 * concatenated DER, symlinks and sub-directories refused, each certificate a
 * CA or self-signed (tsa stores: self-issued, self-signed CA roots). Any bad
 * file fails the whole store. Which stores a policy uses is decided in trust.c.
 */
#include "truststore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "mem.h"
#include "x509chain.h"

/* Bounds on what one store may hold; a real store has a handful of roots. */
#define STORE_FILE_MAX 1048576 /* 1 MiB */
#define STORE_FILES_MAX 256
#define STORE_CERTS_MAX 1024
#define STORE_NAME_MAX 255
#define MSG_NAME_MAX 160

/* One store being loaded, for messages. */
struct store {
    const char *ref;  /* "ca:name", escaped */
    const char *path; /* the store directory */
    enum pg_store_type type;
    STACK_OF(X509) * certs;
};

static void certs_free(STACK_OF(X509) * certs)
{
    sk_X509_pop_free(certs, X509_free);
}

static enum pg_status push_cert(STACK_OF(X509) * certs, X509 *cert, struct pg_err *err)
{
    if (sk_X509_num(certs) >= STORE_CERTS_MAX) {
        X509_free(cert);
        return pg_err_set(err, PG_ERR_LIMIT, "more than %d certificates", STORE_CERTS_MAX);
    }
    if (sk_X509_push(certs, cert) <= 0) {
        X509_free(cert);
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory while collecting certificates");
    }
    return PG_OK;
}

static int looks_like_pem(const unsigned char *data, size_t len)
{
    static const char begin[] = "-----BEGIN ";

    return len >= sizeof(begin) - 1 && memmem(data, len, begin, sizeof(begin) - 1) != NULL;
}

/* One DER certificate filling exactly der_len bytes. */
static X509 *parse_der_exact(const unsigned char *der, long der_len)
{
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, der_len);

    if (cert != NULL && p != der + der_len) {
        X509_free(cert);
        cert = NULL;
    }
    return cert;
}

/* 1 when the last PEM_read_bio failure only means "no further block". */
static int pem_at_end(void)
{
    unsigned long e = ERR_peek_last_error();

    return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

static enum pg_status pem_next(BIO *bio, STACK_OF(X509) * certs, int *out_done, struct pg_err *err)
{
    char *name = NULL;
    char *header = NULL;
    unsigned char *der = NULL;
    long der_len = 0;
    X509 *cert;
    enum pg_status rc = PG_OK;

    if (!PEM_read_bio(bio, &name, &header, &der, &der_len)) {
        if (pem_at_end()) {
            *out_done = 1;
        } else {
            rc = pg_err_set(err, PG_ERR_PARSE, "pem block %d is malformed", sk_X509_num(certs));
        }
        goto out;
    }
    if (strcmp(name, "CERTIFICATE") != 0) {
        char esc[64];

        rc = pg_err_set(err, PG_ERR_PARSE, "pem block %d is \"%s\", not CERTIFICATE",
                        sk_X509_num(certs), pg_escape(esc, sizeof(esc), name, strlen(name)));
        goto out;
    }
    cert = parse_der_exact(der, der_len);
    if (cert == NULL) {
        rc = pg_err_set(err, PG_ERR_PARSE, "pem block %d is not a valid certificate",
                        sk_X509_num(certs));
        goto out;
    }
    rc = push_cert(certs, cert, err);
out:
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    ERR_clear_error();
    return rc;
}

static enum pg_status parse_pem(const unsigned char *data, size_t len, STACK_OF(X509) * certs,
                                struct pg_err *err)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    enum pg_status rc = PG_OK;
    int done = 0;

    if (bio == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory while reading pem");
    }
    while (rc == PG_OK && !done) {
        rc = pem_next(bio, certs, &done, err);
    }
    BIO_free(bio);
    return rc;
}

static enum pg_status parse_der(const unsigned char *data, size_t len, STACK_OF(X509) * certs,
                                struct pg_err *err)
{
    const unsigned char *p = data;
    const unsigned char *end = data + len;
    enum pg_status rc = PG_OK;

    while (rc == PG_OK && p < end) {
        const unsigned char *start = p;
        X509 *cert = d2i_X509(NULL, &p, end - p);

        if (cert == NULL || p <= start) {
            X509_free(cert);
            ERR_clear_error();
            return pg_err_set(err, PG_ERR_PARSE,
                              "data at byte %zu is neither a pem certificate nor a der "
                              "certificate",
                              (size_t)(start - data));
        }
        rc = push_cert(certs, cert, err);
    }
    return rc;
}

enum pg_status pg_truststore_parse_file(const unsigned char *data, size_t len,
                                        STACK_OF(X509) * *out_certs, struct pg_err *err)
{
    STACK_OF(X509) *certs = NULL;
    enum pg_status rc;

    if (len > STORE_FILE_MAX) {
        return pg_err_set(err, PG_ERR_LIMIT, "certificate file is larger than %d bytes",
                          STORE_FILE_MAX);
    }
    if (data == NULL || len == 0) {
        return pg_err_set(err, PG_ERR_PARSE, "certificate file is empty");
    }
    certs = sk_X509_new_null();
    if (certs == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory while reading certificates");
    }
    if (looks_like_pem(data, len)) {
        rc = parse_pem(data, len, certs, err);
    } else {
        rc = parse_der(data, len, certs, err);
    }
    if (rc == PG_OK && sk_X509_num(certs) == 0) {
        rc = pg_err_set(err, PG_ERR_PARSE, "no certificate found");
    }
    if (rc == PG_OK) {
        *out_certs = certs;
        certs = NULL; /* the caller owns it now */
    }
    certs_free(certs);
    ERR_clear_error();
    return rc;
}

/* Store names follow ^[a-zA-Z0-9_.-]+$; "." and ".." would leave the store type directory. */
static int is_valid_store_name(const char *name)
{
    size_t len = strlen(name);
    size_t i;

    if (len == 0 || len > STORE_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char ch = name[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-')) {
            return 0;
        }
    }
    return 1;
}

/* A certificate a store of this type may hold; returns a reason when it may not. */
static const char *cert_unfit_reason(X509 *cert, enum pg_store_type type)
{
    if (type != PG_STORE_TSA) {
        if (pg_x509_is_ca(cert) || pg_x509_is_signed_by_self(cert)) {
            return NULL;
        }
        return "is neither a CA certificate nor self-signed";
    }
    if (!pg_x509_is_ca(cert)) {
        return "is not a CA certificate, as a tsa store requires roots";
    }
    if (!pg_x509_names_chain(cert, cert)) {
        return "is not self-issued, as a tsa store requires roots";
    }
    if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) != 0 &&
        (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0) {
        return "has a key usage without keyCertSign, as a tsa store requires roots";
    }
    if (!pg_x509_is_signed_by_self(cert)) {
        return "is not self-signed, as a tsa store requires roots";
    }
    return NULL;
}

static enum pg_status check_certs(const struct store *s, const char *file, STACK_OF(X509) * certs,
                                  struct pg_err *err)
{
    int i;

    for (i = 0; i < sk_X509_num(certs); i++) {
        const char *why = cert_unfit_reason(sk_X509_value(certs, i), s->type);

        if (why != NULL) {
            char subject[PG_X509_SUBJECT_MAX];

            pg_x509_subject(sk_X509_value(certs, i), subject, sizeof(subject));
            return pg_err_set(err, PG_ERR_TRUSTSTORE,
                              "trust store %s: certificate \"%s\" in file \"%s\" %s", s->ref,
                              subject, file, why);
        }
    }
    return PG_OK;
}

/* Reads one directory entry, which must be a regular file of bounded size. */
static enum pg_status read_entry(const struct store *s, int dfd, const char *name,
                                 const char *esc_name, struct pg_blob *out, struct pg_err *err)
{
    struct stat st;
    int fd = -1;
    ssize_t n;
    enum pg_status rc = PG_ERR_TRUSTSTORE;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return pg_err_set(err, rc, "trust store %s: cannot stat \"%s\": %s", s->ref, esc_name,
                          strerror(errno));
    }
    if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
        return pg_err_set(
            err, rc, "trust store %s: \"%s\" is a %s; only regular files are accepted", s->ref,
            esc_name,
            S_ISLNK(st.st_mode) ? "symbolic link"
                                : (S_ISDIR(st.st_mode) ? "sub-directory" : "special file"));
    }
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = pg_err_set(err, rc, "trust store %s: cannot open \"%s\" as a regular file", s->ref,
                        esc_name);
        goto out;
    }
    out->data = pg_malloc(STORE_FILE_MAX + 1);
    if (out->data == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory while reading a trust store file");
        goto out;
    }
    out->len = 0;
    while (out->len <= STORE_FILE_MAX &&
           (n = read(fd, out->data + out->len, STORE_FILE_MAX + 1 - out->len)) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = pg_err_set(err, rc, "trust store %s: cannot read \"%s\": %s", s->ref, esc_name,
                            strerror(errno));
            goto out;
        }
        out->len += (size_t)n;
    }
    if (out->len > STORE_FILE_MAX) {
        rc = pg_err_set(err, rc, "trust store %s: \"%s\" is larger than %d bytes", s->ref, esc_name,
                        STORE_FILE_MAX);
        goto out;
    }
    rc = PG_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (rc != PG_OK) {
        pg_blob_clear(out);
    }
    return rc;
}

static enum pg_status load_file(struct store *s, int dfd, const char *name, struct pg_err *err)
{
    struct pg_blob blob = {NULL, 0};
    STACK_OF(X509) *certs = NULL;
    struct pg_err perr;
    char esc[MSG_NAME_MAX];
    enum pg_status rc;

    pg_escape(esc, sizeof(esc), name, strlen(name));
    rc = read_entry(s, dfd, name, esc, &blob, err);
    if (rc != PG_OK) {
        goto out;
    }
    pg_err_init(&perr);
    rc = pg_truststore_parse_file(blob.data, blob.len, &certs, &perr);
    if (rc != PG_OK) {
        rc = pg_err_set(err, rc == PG_ERR_NOMEM ? rc : PG_ERR_TRUSTSTORE,
                        "trust store %s: file \"%s\": %s", s->ref, esc, perr.msg);
        goto out;
    }
    rc = check_certs(s, esc, certs, err);
    while (rc == PG_OK && sk_X509_num(certs) > 0) {
        pg_err_init(&perr);
        rc = push_cert(s->certs, sk_X509_shift(certs), &perr);
        if (rc != PG_OK) {
            rc = pg_err_set(err, rc == PG_ERR_NOMEM ? rc : PG_ERR_TRUSTSTORE, "trust store %s: %s",
                            s->ref, perr.msg);
        }
    }
out:
    certs_free(certs);
    pg_blob_clear(&blob);
    return rc;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **names, size_t n)
{
    size_t i;

    for (i = 0; i < n && names != NULL; i++) {
        pg_free(names[i]);
    }
    pg_free(names);
}

/* The entry names of the open directory d, sorted, "." and ".." left out. */
static enum pg_status list_names(const struct store *s, DIR *d, char ***out_names, size_t *out_n,
                                 struct pg_err *err)
{
    char **names = pg_calloc(STORE_FILES_MAX, sizeof(char *));
    size_t n = 0;
    struct dirent *e;
    enum pg_status rc = PG_OK;

    if (names == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory while listing a trust store");
    }
    errno = 0;
    while (rc == PG_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (n == STORE_FILES_MAX) {
            rc = pg_err_set(err, PG_ERR_TRUSTSTORE, "trust store %s has more than %d files", s->ref,
                            STORE_FILES_MAX);
        } else if ((names[n++] = pg_strdup(e->d_name)) == NULL) {
            rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory while listing a trust store");
        }
    }
    if (rc == PG_OK && errno != 0) {
        rc = pg_err_set(err, PG_ERR_TRUSTSTORE, "trust store %s: cannot list: %s", s->ref,
                        strerror(errno));
    }
    if (rc != PG_OK) {
        names_free(names, n);
        return rc;
    }
    qsort(names, n, sizeof(char *), compare_names);
    *out_names = names;
    *out_n = n;
    return PG_OK;
}

/* Opens the store directory, refusing a symlink or anything but a directory. */
static enum pg_status open_store_dir(const struct store *s, DIR **out_dir, struct pg_err *err)
{
    char esc[MSG_NAME_MAX];
    struct stat st;
    int fd;

    pg_escape(esc, sizeof(esc), s->path, strlen(s->path));
    if (lstat(s->path, &st) != 0) {
        return pg_err_set(err, PG_ERR_TRUSTSTORE, "trust store %s: \"%s\" %s", s->ref, esc,
                          errno == ENOENT ? "does not exist" : strerror(errno));
    }
    if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
        return pg_err_set(err, PG_ERR_TRUSTSTORE,
                          "trust store %s: \"%s\" is not a directory (symbolic links are not "
                          "accepted)",
                          s->ref, esc);
    }
    fd = open(s->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return pg_err_set(err, PG_ERR_TRUSTSTORE, "trust store %s: cannot open \"%s\": %s", s->ref,
                          esc, strerror(errno));
    }
    *out_dir = fdopendir(fd);
    if (*out_dir == NULL) {
        close(fd);
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory while opening a trust store");
    }
    return PG_OK;
}

static enum pg_status load_dir(struct store *s, struct pg_err *err)
{
    DIR *d = NULL;
    char **names = NULL;
    size_t n = 0;
    size_t i;
    enum pg_status rc;

    rc = open_store_dir(s, &d, err);
    if (rc == PG_OK && d != NULL) {
        rc = list_names(s, d, &names, &n, err);
    }
    for (i = 0; rc == PG_OK && i < n; i++) {
        rc = load_file(s, dirfd(d), names[i], err);
    }
    if (rc == PG_OK && sk_X509_num(s->certs) == 0) {
        rc = pg_err_set(err, PG_ERR_TRUSTSTORE, "trust store %s has no certificates", s->ref);
    }
    names_free(names, n);
    if (d != NULL) {
        closedir(d);
    }
    return rc;
}

enum pg_status pg_truststore_load(const char *notation_dir, enum pg_store_type type,
                                  const char *name, STACK_OF(X509) * *out_certs, struct pg_err *err)
{
    struct store s = {NULL, NULL, type, NULL};
    char esc[MSG_NAME_MAX];
    char *ref = NULL;
    char *path = NULL;
    enum pg_status rc = PG_ERR_NOMEM;

    if (notation_dir == NULL || name == NULL || out_certs == NULL ||
        (type != PG_STORE_CA && type != PG_STORE_SIGNING_AUTHORITY && type != PG_STORE_TSA)) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "trust store load needs a directory and name");
    }
    pg_escape(esc, sizeof(esc), name, strlen(name));
    if (!is_valid_store_name(name)) {
        return pg_err_set(err, PG_ERR_TRUSTSTORE,
                          "trust store name \"%s\" must match ^[a-zA-Z0-9_.-]+$ (not . or ..)",
                          esc);
    }
    ref = pg_asprintf("%s:%s", pg_store_type_name(type), esc);
    path = pg_asprintf("%s/truststore/x509/%s/%s", notation_dir, pg_store_type_name(type), name);
    s.certs = sk_X509_new_null();
    if (ref == NULL || path == NULL || s.certs == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory while loading a trust store");
        goto out;
    }
    s.ref = ref;
    s.path = path;
    rc = load_dir(&s, err);
    if (rc != PG_OK) {
        goto out;
    }
    pg_log(LOG_DEBUG, "trust store %s loaded with %d certificates", ref, sk_X509_num(s.certs));
    *out_certs = s.certs;
    s.certs = NULL; /* the caller owns it now */
out:
    certs_free(s.certs);
    pg_free(ref);
    pg_free(path);
    ERR_clear_error();
    return rc;
}
