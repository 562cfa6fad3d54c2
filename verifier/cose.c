/* SPDX-License-Identifier: Apache-2.0 */
/*
 * COSE envelopes: a well-formedness scan of the raw CBOR (definite lengths,
 * depth, item count, UTF-8), decoding with libcbor, duplicate keys, the
 * header maps, the protected header rules and the Sig_structure check.
 * Certificates stay DER here; chain rules live in x509chain.c, trust
 * decisions in sigverify.c. libcbor allocates with malloc, not pg_malloc:
 * everything taken from its items is copied before they are released.
 */
#include "cose.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cbor.h>
#include <jansson.h>

#include "b64.h"
#include "mem.h"
#include "sigcrypto.h"

#define NAME_ESC_MAX 96
#define TIMESTAMP_LABEL "io.cncf.notary.timestampSignature"
#define AGENT_LABEL "io.cncf.notary.signingAgent"
#define SIG1_CONTEXT "Signature1"
#define LABEL_KID 4
#define LABEL_IV 5
#define LABEL_PARTIAL_IV 6
#define LAST_REGISTERED_LABEL 8 /* crit must not list labels 0 to 8 */

struct alg_name {
    int64_t cose;
    const char *jws;
};

static const struct alg_name algs[] = {{-37, "PS256"}, {-38, "PS384"}, {-39, "PS512"},
                                       {-7, "ES256"},  {-35, "ES384"}, {-36, "ES512"}};

struct pg_cose {
    struct pg_jws view; /* what sigverify reads; see pg_cose_view */
    int has_alg;
    int64_t alg;
    int is_cty_int;    /* content type given as a CoAP number */
    int has_crit;      /* crit present (it is never empty) */
    json_t *crit_text; /* crit's text entries; view.crit borrows them */
    int64_t *crit_int; /* crit's integer entries */
    size_t n_crit_int;
};

static const char *jws_name(int64_t alg);

/* ---- well-formedness scan ----------------------------------------------- */

struct scan {
    const unsigned char *p;
    size_t len;
    size_t pos;
    size_t items;
    const char *what;
    size_t base; /* offset of p in the input, for messages */
};

/* 1 when s[0..n) is UTF-8 without overlong forms, surrogates or values past U+10FFFF. */
static int is_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned long cp;
        unsigned long min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k) {
            return 0;
        }
        for (i++; k > 0; k--, i++) {
            if ((s[i] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
    }
    return 1;
}

static enum pg_status scan_truncated(const struct scan *s, struct pg_err *err)
{
    return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "%s is truncated at byte %zu", s->what,
                      s->base + s->pos);
}

/* Reads one initial byte and its argument; only definite, well-formed heads pass. */
static enum pg_status read_head(struct scan *s, int *out_major, uint64_t *out_arg,
                                struct pg_err *err)
{
    size_t at = s->base + s->pos;
    unsigned ib;
    unsigned ai;
    uint64_t arg = 0;

    if (s->pos >= s->len) {
        return scan_truncated(s, err);
    }
    ib = s->p[s->pos++];
    ai = ib & 0x1fu;
    if (ai == 31) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "%s has an indefinite-length item or a break at byte %zu; only "
                          "definite lengths are accepted",
                          s->what, at);
    }
    if (ai >= 28) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "%s has a reserved initial byte 0x%02x at "
                          "byte %zu",
                          s->what, ib, at);
    }
    if (ai < 24) {
        arg = ai;
    } else {
        size_t n = (size_t)1 << (ai - 24);

        if (s->len - s->pos < n) {
            return scan_truncated(s, err);
        }
        for (; n > 0; n--) {
            arg = (arg << 8) | s->p[s->pos++];
        }
    }
    if ((ib >> 5) == 7 && ai == 24 && arg < 32) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "%s has an invalid simple value at byte %zu",
                          s->what, at);
    }
    *out_major = (int)(ib >> 5);
    *out_arg = arg;
    return PG_OK;
}

static enum pg_status scan_item(struct scan *s, unsigned depth, struct pg_err *err);

static enum pg_status scan_children(struct scan *s, uint64_t n, unsigned depth, struct pg_err *err)
{
    enum pg_status rc = PG_OK;
    uint64_t i;

    for (i = 0; i < n && rc == PG_OK; i++) {
        rc = scan_item(s, depth, err);
    }
    return rc;
}

static enum pg_status scan_item(struct scan *s, unsigned depth, struct pg_err *err)
{
    int major = 0;
    uint64_t arg = 0;
    enum pg_status rc;

    if (++s->items > PG_COSE_MAX_ITEMS || depth > PG_COSE_MAX_DEPTH) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "%s has more than %d items or is nested deeper than %d", s->what,
                          PG_COSE_MAX_ITEMS, PG_COSE_MAX_DEPTH);
    }
    rc = read_head(s, &major, &arg, err);
    if (rc != PG_OK) {
        return rc;
    }
    switch (major) {
    case 2:
    case 3:
        if (arg > s->len - s->pos) {
            return scan_truncated(s, err);
        }
        if (major == 3 && !is_utf8(s->p + s->pos, (size_t)arg)) {
            return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                              "%s has a text string that is not utf-8 at byte %zu", s->what,
                              s->base + s->pos);
        }
        s->pos += (size_t)arg;
        return PG_OK;
    case 4:
        return scan_children(s, arg, depth + 1, err);
    case 5:
        return arg > UINT64_MAX / 2 ? scan_truncated(s, err)
                                    : scan_children(s, arg * 2, depth + 1, err);
    case 6:
        return scan_item(s, depth + 1, err);
    default:
        return PG_OK;
    }
}

/* One complete data item filling data[0..len), within the bounds. */
static enum pg_status check_wellformed(const unsigned char *data, size_t len, size_t base,
                                       const char *what, struct pg_err *err)
{
    struct scan s = {data, len, 0, 0, what, base};
    enum pg_status rc = scan_item(&s, 0, err);

    if (rc == PG_OK && s.pos != len) {
        rc = pg_err_set(err, PG_ERR_SIG_INTEGRITY, "%s has %zu bytes after its end", what,
                        len - s.pos);
    }
    return rc;
}

/* ---- libcbor items ------------------------------------------------------- */

static const char *text_of(const cbor_item_t *it, size_t *out_len)
{
    *out_len = cbor_string_length(it);
    return *out_len == 0 ? "" : (const char *)cbor_string_handle(it);
}

static const unsigned char *bytes_of(const cbor_item_t *it, size_t *out_len)
{
    *out_len = cbor_bytestring_length(it);
    return *out_len == 0 ? (const unsigned char *)"" : cbor_bytestring_handle(it);
}

/* An integer item that fits int64_t. */
static int get_int64(const cbor_item_t *it, int64_t *out)
{
    uint64_t v;

    if (!cbor_isa_uint(it) && !cbor_isa_negint(it)) {
        return 0;
    }
    v = cbor_get_int(it);
    if (v > (uint64_t)INT64_MAX) {
        return 0;
    }
    *out = cbor_isa_uint(it) ? (int64_t)v : -1 - (int64_t)v;
    return 1;
}

static int is_scalar(const cbor_item_t *it)
{
    return cbor_isa_uint(it) || cbor_isa_negint(it) || cbor_isa_bytestring(it) ||
           cbor_isa_string(it) || cbor_isa_float_ctrl(it);
}

static int same_bytes(const void *a, size_t a_len, const void *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/* Equality of two map keys as a decoder sees their values. */
static int scalars_equal(const cbor_item_t *a, const cbor_item_t *b)
{
    size_t a_len;
    size_t b_len;

    if (cbor_typeof(a) != cbor_typeof(b)) {
        return 0;
    }
    if (cbor_isa_uint(a) || cbor_isa_negint(a)) {
        return cbor_get_int(a) == cbor_get_int(b);
    }
    if (cbor_isa_string(a)) {
        const char *ta = text_of(a, &a_len);
        const char *tb = text_of(b, &b_len);

        return same_bytes(ta, a_len, tb, b_len);
    }
    if (cbor_isa_bytestring(a)) {
        const unsigned char *ba = bytes_of(a, &a_len);
        const unsigned char *bb = bytes_of(b, &b_len);

        return same_bytes(ba, a_len, bb, b_len);
    }
    if (cbor_float_get_width(a) == CBOR_FLOAT_0 || cbor_float_get_width(b) == CBOR_FLOAT_0) {
        return cbor_float_get_width(a) == cbor_float_get_width(b) &&
               cbor_ctrl_value(a) == cbor_ctrl_value(b);
    }
    return cbor_float_get_float(a) == cbor_float_get_float(b);
}

static enum pg_status check_keys(cbor_item_t *it, const char *what, struct pg_err *err);

static enum pg_status check_map_keys(cbor_item_t *map, const char *what, struct pg_err *err)
{
    struct cbor_pair *pairs = cbor_map_handle(map);
    size_t n = cbor_map_size(map);
    enum pg_status rc = PG_OK;
    size_t i;
    size_t j;

    for (i = 0; i < n && rc == PG_OK; i++) {
        if (!is_scalar(pairs[i].key)) {
            return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                              "%s has a map key that is an array, a map or a tag", what);
        }
        for (j = 0; j < i; j++) {
            if (scalars_equal(pairs[i].key, pairs[j].key)) {
                return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "%s has a duplicate map key", what);
            }
        }
        rc = check_keys(pairs[i].value, what, err);
    }
    return rc;
}

/* Map keys everywhere: scalars, each at most once per map. Depth is bounded by the scan. */
static enum pg_status check_keys(cbor_item_t *it, const char *what, struct pg_err *err)
{
    enum pg_status rc = PG_OK;

    if (cbor_isa_map(it)) {
        return check_map_keys(it, what, err);
    }
    if (cbor_isa_array(it)) {
        cbor_item_t **items = cbor_array_handle(it);
        size_t i;

        for (i = 0; i < cbor_array_size(it) && rc == PG_OK; i++) {
            rc = check_keys(items[i], what, err);
        }
        return rc;
    }
    if (cbor_isa_tag(it)) {
        cbor_item_t *inner = cbor_tag_item(it);

        rc = check_keys(inner, what, err);
        cbor_decref(&inner);
    }
    return rc;
}

/* Scans, then decodes data with libcbor. *out_item is the caller's (cbor_decref). */
static enum pg_status load_cbor(const unsigned char *data, size_t len, size_t base,
                                const char *what, cbor_item_t **out_item, struct pg_err *err)
{
    struct cbor_load_result res;
    cbor_item_t *item;
    enum pg_status rc = check_wellformed(data, len, base, what, err);

    if (rc != PG_OK) {
        return rc;
    }
    memset(&res, 0, sizeof(res));
    item = cbor_load(data, len, &res);
    if (item == NULL || res.error.code != CBOR_ERR_NONE || res.read != len) {
        if (item != NULL) {
            cbor_decref(&item);
        }
        if (res.error.code == CBOR_ERR_MEMERROR) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory decoding the %s", what);
        }
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "%s is not valid cbor (error %d at byte %zu)",
                          what, (int)res.error.code, base + res.error.position);
    }
    rc = check_keys(item, what, err);
    if (rc != PG_OK) {
        cbor_decref(&item);
        return rc;
    }
    *out_item = item;
    return PG_OK;
}

/* ---- copying values out ---------------------------------------------------- */

static enum pg_status copy_bytes(const cbor_item_t *it, const char *what, struct pg_blob *out,
                                 struct pg_err *err)
{
    size_t len;
    const unsigned char *data;

    if (!cbor_isa_bytestring(it)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose %s is not a byte string", what);
    }
    data = bytes_of(it, &len);
    out->data = pg_malloc(len > 0 ? len : 1);
    if (out->data == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory copying the cose %s", what);
    }
    memcpy(out->data, data, len);
    out->len = len;
    return PG_OK;
}

/* A text string without NUL bytes, copied. */
static enum pg_status copy_text(const cbor_item_t *it, const char *what, char **out,
                                struct pg_err *err)
{
    size_t len;
    const char *text;

    if (!cbor_isa_string(it)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose %s is not a text string", what);
    }
    text = text_of(it, &len);
    if (memchr(text, '\0', len) != NULL) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose %s holds a nul character", what);
    }
    *out = pg_strndup(text, len);
    if (*out == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory copying the cose %s", what);
    }
    return PG_OK;
}

/* ---- header labels ---------------------------------------------------------- */

struct label {
    int is_text;
    int64_t num;
    const char *text; /* not NUL-terminated */
    size_t len;
};

static enum pg_status read_label(const cbor_item_t *key, const char *where, struct label *out,
                                 struct pg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (cbor_isa_string(key)) {
        out->is_text = 1;
        out->text = text_of(key, &out->len);
        if (memchr(out->text, '\0', out->len) != NULL) {
            return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                              "cose %s header label holds a nul "
                              "character",
                              where);
        }
        return PG_OK;
    }
    if (!get_int64(key, &out->num)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose %s header label is neither an integer nor a text string", where);
    }
    return PG_OK;
}

static int label_is(const struct label *l, const char *name)
{
    return l->is_text && same_bytes(l->text, l->len, name, strlen(name));
}

static int label_is_num(const struct label *l, int64_t num)
{
    return !l->is_text && l->num == num;
}

static int labels_equal(const struct label *a, const struct label *b)
{
    return a->is_text == b->is_text &&
           (a->is_text ? same_bytes(a->text, a->len, b->text, b->len) : a->num == b->num);
}

static int map_has_label(const cbor_item_t *map, const struct label *want)
{
    struct cbor_pair *pairs = cbor_map_handle(map);
    size_t i;

    for (i = 0; i < cbor_map_size(map); i++) {
        struct label l;

        if (read_label(pairs[i].key, "", &l, NULL) == PG_OK && labels_equal(&l, want)) {
            return 1;
        }
    }
    return 0;
}

static char *label_text(const struct label *l, char *buf, size_t len)
{
    if (l->is_text) {
        char esc[NAME_ESC_MAX];

        (void)snprintf(buf, len, "\"%s\"", pg_escape(esc, sizeof(esc), l->text, l->len));
    } else {
        (void)snprintf(buf, len, "%lld", (long long)l->num);
    }
    return buf;
}

/* kid, IV and partial IV are byte strings, IV and partial IV not both (as go-cose checks). */
static enum pg_status check_generic_label(const struct label *l, const cbor_item_t *v,
                                          const cbor_item_t *map, const char *where,
                                          struct pg_err *err)
{
    struct label other = {0, 0, NULL, 0};

    if (label_is_num(l, LABEL_KID) || label_is_num(l, LABEL_IV) ||
        label_is_num(l, LABEL_PARTIAL_IV)) {
        if (!cbor_isa_bytestring(v)) {
            return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                              "cose %s header label %lld is not a byte string", where,
                              (long long)l->num);
        }
        other.num = label_is_num(l, LABEL_IV) ? LABEL_PARTIAL_IV : LABEL_IV;
        if (!label_is_num(l, LABEL_KID) && map_has_label(map, &other)) {
            return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                              "cose %s header has both an iv and a partial iv", where);
        }
    }
    return PG_OK;
}

/* ---- CBOR values as JSON (extended attributes) ------------------------------ */

static enum pg_status read_epoch(const cbor_item_t *v, const char *name, struct pg_jws_time *out,
                                 struct pg_err *err);

static json_t *to_json(const cbor_item_t *it);

static json_t *int_to_json(const cbor_item_t *it)
{
    uint64_t v = cbor_get_int(it);

    if (v <= (uint64_t)INT64_MAX) {
        return json_integer(cbor_isa_uint(it) ? (json_int_t)v : -1 - (json_int_t)v);
    }
    return json_real(cbor_isa_uint(it) ? (double)v : -1.0 - (double)v);
}

static json_t *array_to_json(const cbor_item_t *it)
{
    cbor_item_t **items = cbor_array_handle(it);
    json_t *arr = json_array();
    size_t i;

    for (i = 0; arr != NULL && i < cbor_array_size(it); i++) {
        if (json_array_append_new(arr, to_json(items[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

/* Text keys as they are, integer keys in decimal, other keys left out. */
static json_t *map_to_json(const cbor_item_t *it)
{
    struct cbor_pair *pairs = cbor_map_handle(it);
    json_t *obj = json_object();
    size_t i;

    for (i = 0; obj != NULL && i < cbor_map_size(it); i++) {
        char num[32];
        const char *key = NULL;
        size_t key_len = 0;
        int64_t n;

        if (cbor_isa_string(pairs[i].key)) {
            key = text_of(pairs[i].key, &key_len);
        } else if (get_int64(pairs[i].key, &n)) {
            key_len = (size_t)snprintf(num, sizeof(num), "%lld", (long long)n);
            key = num;
        }
        if (key != NULL && json_object_setn_new(obj, key, key_len, to_json(pairs[i].value)) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}

/* Tag 1 becomes an RFC 3339 string; other tags stand for their content. */
static json_t *tag_to_json(const cbor_item_t *it)
{
    cbor_item_t *inner = cbor_tag_item(it);
    json_t *out;

    if (cbor_tag_value(it) == 1) {
        struct pg_jws_time t;
        char buf[32];

        out = read_epoch(inner, "", &t, NULL) == PG_OK
                  ? json_string(pg_jws_format_time(t.sec, buf, sizeof(buf)))
                  : json_null();
    } else {
        out = to_json(inner);
    }
    cbor_decref(&inner);
    return out;
}

static json_t *simple_to_json(const cbor_item_t *it)
{
    if (cbor_float_get_width(it) != CBOR_FLOAT_0) {
        double d = cbor_float_get_float(it);

        return isfinite(d) ? json_real(d) : json_null();
    }
    if (cbor_is_bool(it)) {
        return json_boolean(cbor_get_bool(it));
    }
    return json_null();
}

/* A JSON rendering of a header value, as plugins receive it; NULL only without memory. */
static json_t *to_json(const cbor_item_t *it)
{
    size_t len;

    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT:
        return int_to_json(it);
    case CBOR_TYPE_BYTESTRING: {
        const unsigned char *data = bytes_of(it, &len);
        char *b64 = pg_b64_encode_std(data, len);
        json_t *s = b64 != NULL ? json_string(b64) : NULL;

        pg_free(b64);
        return s;
    }
    case CBOR_TYPE_STRING: {
        const char *text = text_of(it, &len);

        return json_stringn(text, len);
    }
    case CBOR_TYPE_ARRAY:
        return array_to_json(it);
    case CBOR_TYPE_MAP:
        return map_to_json(it);
    case CBOR_TYPE_TAG:
        return tag_to_json(it);
    default:
        return simple_to_json(it);
    }
}

/* ---- times ---------------------------------------------------------------- */

/* An epoch: an integer or a finite number of seconds. */
static enum pg_status read_epoch(const cbor_item_t *v, const char *name, struct pg_jws_time *out,
                                 struct pg_err *err)
{
    int64_t sec;
    double d;

    memset(out, 0, sizeof(*out));
    if (get_int64(v, &sec)) {
        out->is_present = 1;
        out->sec = sec;
        return PG_OK;
    }
    if (!cbor_isa_float_ctrl(v) || cbor_float_get_width(v) == CBOR_FLOAT_0) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose %s: tag 1 holds neither an integer nor a number", name);
    }
    d = cbor_float_get_float(v);
    if (!isfinite(d) || d <= -9.2e18 || d >= 9.2e18) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose %s: tag 1 holds no usable time", name);
    }
    sec = (int64_t)d;
    if ((double)sec > d) {
        sec--;
    }
    out->is_present = 1;
    out->sec = sec;
    out->nsec = (int32_t)((d - (double)sec) * 1e9);
    if (out->nsec > 999999999) {
        out->nsec = 999999999;
    }
    return PG_OK;
}

/* Only a tag 1 epoch is a time; an untagged integer is refused, as notation does. */
static enum pg_status read_time(const cbor_item_t *v, const char *name, struct pg_jws_time *out,
                                struct pg_err *err)
{
    cbor_item_t *inner;
    enum pg_status rc;

    if (!cbor_isa_tag(v)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose %s is not a tag 1 epoch time (it has no tag)", name);
    }
    if (cbor_tag_value(v) != 1) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose %s has tag %llu; only tag 1 epoch times are accepted", name,
                          (unsigned long long)cbor_tag_value(v));
    }
    inner = cbor_tag_item(v);
    rc = read_epoch(inner, name, out, err);
    cbor_decref(&inner);
    return rc;
}

/* ---- protected header ------------------------------------------------------- */

/* Values kept while the protected map is walked. */
struct prot {
    struct pg_cose *cose;
    cbor_item_t *map;
    const cbor_item_t *signing_time;
    const cbor_item_t *authentic_time;
    const cbor_item_t *expiry;
};

static enum pg_status add_crit_entry(struct pg_cose *cose, const struct label *l,
                                     struct pg_err *err)
{
    if (!l->is_text && l->num >= 0 && l->num <= LAST_REGISTERED_LABEL) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose crit lists label %lld, a registered cose header",
                          (long long)l->num);
    }
    if (l->is_text) {
        json_t *s = json_stringn(l->text, l->len);

        if (s == NULL || json_array_append_new(cose->crit_text, s) != 0) {
            return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading cose crit");
        }
        return PG_OK;
    }
    cose->crit_int[cose->n_crit_int++] = l->num;
    return PG_OK;
}

static enum pg_status read_crit(struct prot *p, const cbor_item_t *v, struct pg_err *err)
{
    struct pg_cose *cose = p->cose;
    cbor_item_t **items = cbor_isa_array(v) ? cbor_array_handle(v) : NULL;
    size_t n = items != NULL ? cbor_array_size(v) : 0;
    enum pg_status rc = PG_OK;
    size_t i;
    size_t j;

    if (n == 0 || n > PG_COSE_MAX_CRIT) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose crit (label 2) is not an array of 1 to %d labels",
                          PG_COSE_MAX_CRIT);
    }
    cose->crit_int = pg_calloc(n, sizeof(*cose->crit_int));
    if (cose->crit_int == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading cose crit");
    }
    for (i = 0; i < n && rc == PG_OK; i++) {
        struct label l;
        char buf[NAME_ESC_MAX + 8];

        rc = read_label(items[i], "crit", &l, err);
        for (j = 0; rc == PG_OK && j < i; j++) {
            struct label prev;

            if (read_label(items[j], "crit", &prev, NULL) == PG_OK && labels_equal(&l, &prev)) {
                rc = pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose crit lists %s twice",
                                label_text(&l, buf, sizeof(buf)));
            }
        }
        if (rc == PG_OK && !map_has_label(p->map, &l)) {
            rc = pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                            "cose crit lists %s, which is not in the protected header",
                            label_text(&l, buf, sizeof(buf)));
        }
        if (rc == PG_OK) {
            rc = add_crit_entry(cose, &l, err);
        }
    }
    cose->has_crit = rc == PG_OK;
    return rc;
}

static enum pg_status read_cty(struct pg_cose *cose, const cbor_item_t *v, struct pg_err *err)
{
    if (cbor_isa_uint(v)) {
        cose->is_cty_int = 1;
        return PG_OK;
    }
    if (!cbor_isa_string(v)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose content type (label 3) is neither a text string nor a number");
    }
    return copy_text(v, "content type (label 3)", (char **)&cose->view.cty, err);
}

static enum pg_status read_alg(struct pg_cose *cose, const cbor_item_t *v, struct pg_err *err)
{
    if (!get_int64(v, &cose->alg)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose alg (label 1) is not an integer");
    }
    cose->has_alg = 1;
    cose->view.alg = jws_name(cose->alg); /* NULL for an algorithm not allowed */
    return PG_OK;
}

/* Any other text label: an extended attribute, kept as JSON for plugins. */
static enum pg_status add_ext(struct pg_cose *cose, const struct label *l, const cbor_item_t *v,
                              struct pg_err *err)
{
    json_t *value = to_json(v);

    if (value == NULL || json_object_setn_new(cose->view.header, l->text, l->len, value) != 0) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading the cose protected header");
    }
    return PG_OK;
}

static enum pg_status read_text_member(struct prot *p, const struct label *l, const cbor_item_t *v,
                                       struct pg_err *err)
{
    if (label_is(l, PG_JWS_SCHEME)) {
        return copy_text(v, PG_JWS_SCHEME, (char **)&p->cose->view.scheme, err);
    }
    if (label_is(l, PG_JWS_SIGNING_TIME)) {
        p->signing_time = v;
    } else if (label_is(l, PG_JWS_AUTHENTIC_TIME)) {
        p->authentic_time = v;
    } else if (label_is(l, PG_JWS_EXPIRY)) {
        p->expiry = v;
    } else {
        return add_ext(p->cose, l, v, err);
    }
    return PG_OK;
}

static enum pg_status read_protected_member(struct prot *p, const struct cbor_pair *pair,
                                            struct pg_err *err)
{
    struct label l;
    enum pg_status rc = read_label(pair->key, "protected", &l, err);

    if (rc != PG_OK) {
        return rc;
    }
    if (l.is_text) {
        return read_text_member(p, &l, pair->value, err);
    }
    switch (l.num) {
    case PG_COSE_LABEL_ALG:
        return read_alg(p->cose, pair->value, err);
    case PG_COSE_LABEL_CRIT:
        return read_crit(p, pair->value, err);
    case PG_COSE_LABEL_CTY:
        return read_cty(p->cose, pair->value, err);
    default:
        /* Integer-labelled extended attributes (a protected x5chain too) are not read. */
        return check_generic_label(&l, pair->value, p->map, "protected", err);
    }
}

/* The time of the signing scheme and the expiry; the other scheme's time is ignored. */
static enum pg_status read_protected_times(struct prot *p, struct pg_err *err)
{
    struct pg_jws *v = &p->cose->view;
    enum pg_status rc = PG_OK;

    if (v->scheme != NULL && strcmp(v->scheme, "notary.x509") == 0 && p->signing_time != NULL) {
        rc = read_time(p->signing_time, PG_JWS_SIGNING_TIME, &v->signing_time, err);
    }
    if (rc == PG_OK && v->scheme != NULL &&
        strcmp(v->scheme, "notary.x509.signingAuthority") == 0 && p->authentic_time != NULL) {
        rc = read_time(p->authentic_time, PG_JWS_AUTHENTIC_TIME, &v->authentic_signing_time, err);
    }
    if (rc == PG_OK && p->expiry != NULL) {
        rc = read_time(p->expiry, PG_JWS_EXPIRY, &v->expiry, err);
    }
    return rc;
}

static int crit_lists_text(const struct pg_jws *v, const char *name)
{
    size_t i;

    for (i = 0; i < v->n_crit; i++) {
        if (strcmp(v->crit[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* view.crit and view.ext borrow from crit_text and header. */
static enum pg_status build_view_lists(struct pg_cose *cose, struct pg_err *err)
{
    struct pg_jws *v = &cose->view;
    size_t n_crit = json_array_size(cose->crit_text);
    const char *key;
    json_t *value;
    size_t i;

    v->crit = pg_calloc(n_crit + 1, sizeof(*v->crit));
    v->ext = pg_calloc(json_object_size(v->header) + 1, sizeof(*v->ext));
    if (v->crit == NULL || v->ext == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading the cose protected header");
    }
    for (i = 0; i < n_crit; i++) {
        v->crit[v->n_crit++] = json_string_value(json_array_get(cose->crit_text, i));
    }
    json_object_foreach(v->header, key, value)
    {
        v->ext[v->n_ext].name = key;
        v->ext[v->n_ext].value = value;
        v->ext[v->n_ext++].is_critical = crit_lists_text(v, key);
    }
    return PG_OK;
}

static enum pg_status walk_protected(struct prot *p, struct pg_err *err)
{
    struct cbor_pair *pairs = cbor_map_handle(p->map);
    size_t n = cbor_map_size(p->map);
    enum pg_status rc = PG_OK;
    size_t i;

    if (n > PG_COSE_MAX_HEADER_MEMBERS) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose protected header has %zu members, limit %d", n,
                          PG_COSE_MAX_HEADER_MEMBERS);
    }
    for (i = 0; i < n && rc == PG_OK; i++) {
        rc = read_protected_member(p, &pairs[i], err);
    }
    if (rc == PG_OK) {
        rc = read_protected_times(p, err);
    }
    return rc;
}

static enum pg_status read_protected(struct pg_cose *cose, struct pg_err *err)
{
    const struct pg_blob *raw = &cose->view.protected_raw;
    struct prot p;
    enum pg_status rc;

    memset(&p, 0, sizeof(p));
    p.cose = cose;
    cose->view.header = json_object();
    cose->crit_text = json_array();
    if (cose->view.header == NULL || cose->crit_text == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading the cose protected header");
    }
    if (raw->len == 0) {
        return build_view_lists(cose, err); /* an empty header: its rules fail later */
    }
    if ((raw->data[0] >> 5) != 5) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose protected header does not hold a cbor map");
    }
    rc = load_cbor(raw->data, raw->len, 0, "cose protected header", &p.map, err);
    if (rc == PG_OK) {
        rc = walk_protected(&p, err);
    }
    if (rc == PG_OK) {
        rc = build_view_lists(cose, err);
    }
    if (p.map != NULL) {
        cbor_decref(&p.map);
    }
    return rc;
}

/* ---- unprotected header ------------------------------------------------------ */

/* x5chain must be an array of byte strings even for one certificate, as notation wants. */
static enum pg_status read_x5chain(struct pg_cose *cose, const cbor_item_t *v, struct pg_err *err)
{
    struct pg_jws *view = &cose->view;
    cbor_item_t **items;
    size_t n;
    size_t i;

    if (!cbor_isa_array(v) || cbor_array_size(v) == 0) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "certificate chain is not present: cose x5chain (label 33) is %s",
                          cbor_isa_array(v) ? "empty" : "not an array of certificates");
    }
    n = cbor_array_size(v);
    if (n > PG_COSE_MAX_CHAIN) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose x5chain holds %zu certificates, limit %d", n, PG_COSE_MAX_CHAIN);
    }
    view->x5c = pg_calloc(n, sizeof(*view->x5c));
    if (view->x5c == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading x5chain");
    }
    items = cbor_array_handle(v);
    for (i = 0; i < n; i++) {
        char what[32];
        enum pg_status rc;

        (void)snprintf(what, sizeof(what), "x5chain[%zu]", i);
        rc = copy_bytes(items[i], what, &view->x5c[i], err);
        if (rc != PG_OK) {
            return rc;
        }
        view->n_x5c++;
    }
    return PG_OK;
}

static enum pg_status read_unprotected_member(struct pg_cose *cose, const cbor_item_t *map,
                                              const struct cbor_pair *pair, struct pg_err *err)
{
    struct label l;
    enum pg_status rc = read_label(pair->key, "unprotected", &l, err);

    if (rc != PG_OK) {
        return rc;
    }
    if (label_is_num(&l, PG_COSE_LABEL_CRIT)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose crit (label 2) is only allowed in the protected header");
    }
    if (label_is_num(&l, PG_COSE_LABEL_X5CHAIN)) {
        return read_x5chain(cose, pair->value, err);
    }
    if (label_is(&l, TIMESTAMP_LABEL)) {
        return copy_bytes(pair->value, TIMESTAMP_LABEL, &cose->view.timestamp, err);
    }
    if (label_is(&l, AGENT_LABEL)) {
        return copy_text(pair->value, AGENT_LABEL, &cose->view.signing_agent, err);
    }
    return check_generic_label(&l, pair->value, map, "unprotected", err);
}

static enum pg_status read_unprotected(struct pg_cose *cose, const cbor_item_t *map,
                                       struct pg_err *err)
{
    struct cbor_pair *pairs;
    enum pg_status rc = PG_OK;
    size_t i;

    if (!cbor_isa_map(map)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose unprotected header is not a map");
    }
    if (cbor_map_size(map) > PG_COSE_MAX_HEADER_MEMBERS) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose unprotected header has %zu members, limit %d", cbor_map_size(map),
                          PG_COSE_MAX_HEADER_MEMBERS);
    }
    pairs = cbor_map_handle(map);
    for (i = 0; i < cbor_map_size(map) && rc == PG_OK; i++) {
        rc = read_unprotected_member(cose, map, &pairs[i], err);
    }
    if (rc == PG_OK && cose->view.n_x5c == 0) {
        rc = pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                        "certificate chain is not present: the cose unprotected header has no "
                        "x5chain (label 33)");
    }
    return rc;
}

/* ---- the message ------------------------------------------------------------- */

static enum pg_status read_payload(struct pg_cose *cose, const cbor_item_t *v, struct pg_err *err)
{
    if (cbor_isa_float_ctrl(v) && cbor_is_null(v)) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose payload is detached (nil); only an embedded payload is accepted");
    }
    return copy_bytes(v, "payload", &cose->view.payload, err);
}

/* [protected, unprotected, payload, signature] */
static enum pg_status read_message(struct pg_cose *cose, cbor_item_t *msg, struct pg_err *err)
{
    cbor_item_t **items = cbor_array_handle(msg);
    enum pg_status rc;

    rc = copy_bytes(items[0], "protected header", &cose->view.protected_raw, err);
    if (rc == PG_OK) {
        rc = read_unprotected(cose, items[1], err);
    }
    if (rc == PG_OK) {
        rc = read_payload(cose, items[2], err);
    }
    if (rc == PG_OK) {
        rc = copy_bytes(items[3], "signature", &cose->view.signature, err);
    }
    if (rc == PG_OK && cose->view.signature.len == 0) {
        rc = pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose signature is empty");
    }
    if (rc == PG_OK) {
        rc = read_protected(cose, err);
    }
    return rc;
}

/* Tag 18 in one byte, then an array of four in one byte, as go-cose insists. */
static enum pg_status check_prefix(const unsigned char *envelope, size_t len, struct pg_err *err)
{
    if (len < 2 || envelope[0] != 0xd2) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose envelope is not a tagged cose_sign1 message: it does not start "
                          "with cbor tag 18%s",
                          len >= 1 && envelope[0] == 0x84 ? " (an untagged message is refused)"
                                                          : "");
    }
    if (envelope[1] != 0x84) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose envelope tag 18 does not hold an array of four items");
    }
    return PG_OK;
}

enum pg_status pg_cose_parse(const unsigned char *envelope, size_t len, struct pg_cose **out_cose,
                             struct pg_err *err)
{
    cbor_item_t *msg = NULL;
    struct pg_cose *cose = NULL;
    enum pg_status rc;

    if (envelope == NULL || len > PG_COSE_MAX_ENVELOPE) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose envelope is missing or larger than %zu bytes",
                          PG_COSE_MAX_ENVELOPE);
    }
    /*
     * The tag byte is checked here and the array after it decoded alone:
     * libcbor 0.8 refuses the one-byte forms of tags 6 to 20, tag 18 among them.
     */
    rc = check_prefix(envelope, len, err);
    if (rc == PG_OK) {
        rc = load_cbor(envelope + 1, len - 1, 1, "cose envelope", &msg, err);
    }
    if (rc != PG_OK) {
        return rc;
    }
    cose = pg_calloc(1, sizeof(*cose));
    if (cose == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory parsing a cose envelope");
        goto out;
    }
    rc = read_message(cose, msg, err);
    if (rc != PG_OK) {
        goto out;
    }
    *out_cose = cose;
    cose = NULL; /* the caller owns it now */
out:
    pg_cose_free(cose);
    cbor_decref(&msg);
    return rc;
}

void pg_cose_free(struct pg_cose *cose)
{
    struct pg_jws *v;
    size_t i;

    if (cose == NULL) {
        return;
    }
    v = &cose->view;
    pg_blob_clear(&v->protected_raw);
    json_decref(v->header);
    pg_free((char *)v->cty);
    pg_free((char *)v->scheme);
    pg_free(v->crit);
    pg_free(v->ext);
    pg_blob_clear(&v->payload);
    pg_blob_clear(&v->signature);
    for (i = 0; i < v->n_x5c; i++) {
        pg_blob_clear(&v->x5c[i]);
    }
    pg_free(v->x5c);
    pg_blob_clear(&v->timestamp);
    pg_free(v->signing_agent);
    json_decref(cose->crit_text);
    pg_free(cose->crit_int);
    pg_free(cose);
}

struct pg_jws *pg_cose_view(struct pg_cose *cose)
{
    return &cose->view;
}

/* ---- header rules ------------------------------------------------------------- */

static const char *jws_name(int64_t alg)
{
    size_t i;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (algs[i].cose == alg) {
            return algs[i].jws;
        }
    }
    return NULL;
}

int64_t pg_cose_alg(enum pg_key_spec spec)
{
    const char *name = pg_x509_jws_alg(spec);
    size_t i;

    for (i = 0; name != NULL && i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(algs[i].jws, name) == 0) {
            return algs[i].cose;
        }
    }
    return 0;
}

static enum pg_status check_alg_cty(const struct pg_cose *cose, struct pg_err *err)
{
    const char *cty = cose->view.cty;

    if (!cose->has_alg) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose protected header has no alg (label 1)");
    }
    if (jws_name(cose->alg) == NULL) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "signature algorithm %lld is not allowed",
                          (long long)cose->alg);
    }
    if (cose->is_cty_int) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose content type (label 3) is a number; it must be the text "
                          "string " PG_JWS_PAYLOAD_TYPE);
    }
    if (cty == NULL) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "cose protected header has no content type (label 3)");
    }
    if (strcmp(cty, PG_JWS_PAYLOAD_TYPE) != 0) {
        char buf[NAME_ESC_MAX];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "payload content type \"%s\" is not " PG_JWS_PAYLOAD_TYPE,
                          pg_escape(buf, sizeof(buf), cty, strlen(cty)));
    }
    return PG_OK;
}

/* A known scheme and its own time; the other scheme's time is ignored, as notation does. */
static enum pg_status check_scheme(const struct pg_jws *v, enum pg_signing_scheme *out,
                                   struct pg_err *err)
{
    int is_sa;

    if (v->scheme == NULL) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "protected header has no " PG_JWS_SCHEME);
    }
    if (strcmp(v->scheme, "notary.x509") != 0 &&
        strcmp(v->scheme, "notary.x509.signingAuthority") != 0) {
        char buf[NAME_ESC_MAX];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "signing scheme \"%s\" is not supported",
                          pg_escape(buf, sizeof(buf), v->scheme, strlen(v->scheme)));
    }
    is_sa = strcmp(v->scheme, "notary.x509.signingAuthority") == 0;
    if (is_sa ? !v->authentic_signing_time.is_present : !v->signing_time.is_present) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "signing scheme %s requires %s", v->scheme,
                          is_sa ? PG_JWS_AUTHENTIC_TIME : PG_JWS_SIGNING_TIME);
    }
    *out = is_sa ? PG_SCHEME_SIGNING_AUTHORITY : PG_SCHEME_X509;
    return PG_OK;
}

static enum pg_status check_crit(const struct pg_cose *cose, enum pg_signing_scheme scheme,
                                 struct pg_err *err)
{
    const struct pg_jws *v = &cose->view;
    int is_sa = scheme == PG_SCHEME_SIGNING_AUTHORITY;

    if (!cose->has_crit) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose protected header has no crit (label 2)");
    }
    if (!crit_lists_text(v, PG_JWS_SCHEME) ||
        (v->expiry.is_present && !crit_lists_text(v, PG_JWS_EXPIRY)) ||
        (is_sa && !crit_lists_text(v, PG_JWS_AUTHENTIC_TIME))) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "crit does not list every attribute that must be critical (" PG_JWS_SCHEME
                          "%s%s)",
                          v->expiry.is_present ? ", " PG_JWS_EXPIRY : "",
                          is_sa ? ", " PG_JWS_AUTHENTIC_TIME : "");
    }
    return PG_OK;
}

enum pg_status pg_cose_check_header(const struct pg_cose *cose, enum pg_signing_scheme *out_scheme,
                                    struct pg_err *err)
{
    const struct pg_jws *v = &cose->view;
    enum pg_signing_scheme scheme = PG_SCHEME_X509;
    const struct pg_jws_time *signed_at;
    enum pg_status rc = check_alg_cty(cose, err);

    if (rc == PG_OK) {
        rc = check_scheme(v, &scheme, err);
    }
    if (rc == PG_OK) {
        rc = check_crit(cose, scheme, err);
    }
    if (rc != PG_OK) {
        return rc;
    }
    signed_at =
        scheme == PG_SCHEME_SIGNING_AUTHORITY ? &v->authentic_signing_time : &v->signing_time;
    rc = pg_jws_check_signed_at(scheme, signed_at, err);
    if (rc != PG_OK) {
        return rc;
    }
    /* crit covers a present expiry; a zero one then means none, as in notation */
    if (pg_jws_time_is_set(&v->expiry) &&
        (v->expiry.sec < signed_at->sec ||
         (v->expiry.sec == signed_at->sec && v->expiry.nsec <= signed_at->nsec))) {
        char a[32];
        char b[32];

        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "expiry %s is not after the signing time %s",
                          pg_jws_format_time(v->expiry.sec, a, sizeof(a)),
                          pg_jws_format_time(signed_at->sec, b, sizeof(b)));
    }
    if (cose->n_crit_int > 0) {
        return pg_err_set(err, PG_ERR_UNSUPPORTED,
                          "unknown critical cose header label %lld and nothing to process it",
                          (long long)cose->crit_int[0]);
    }
    *out_scheme = scheme;
    return PG_OK;
}

/* ---- signature ------------------------------------------------------------ */

/* A definite-length head of a major type, shortest form; returns its size. */
static size_t put_head(unsigned char *out, unsigned major, uint64_t n)
{
    unsigned char ib = (unsigned char)(major << 5);
    size_t width;
    size_t i;

    if (n < 24) {
        out[0] = (unsigned char)(ib | n);
        return 1;
    }
    width = n <= 0xff ? 1 : (n <= 0xffff ? 2 : (n <= 0xffffffffu ? 4 : 8));
    out[0] = (unsigned char)(ib | (width == 1 ? 24 : (width == 2 ? 25 : (width == 4 ? 26 : 27))));
    for (i = 0; i < width; i++) {
        out[1 + i] = (unsigned char)(n >> (8 * (width - 1 - i)));
    }
    return 1 + width;
}

enum pg_status pg_cose_to_be_signed(const unsigned char *protected_raw, size_t protected_len,
                                    const unsigned char *payload, size_t payload_len,
                                    unsigned char **out_tbs, size_t *out_len, struct pg_err *err)
{
    size_t ctx_len = strlen(SIG1_CONTEXT);
    unsigned char *buf;
    size_t n = 0;

    if (protected_len > PG_COSE_MAX_ENVELOPE || payload_len > PG_COSE_MAX_ENVELOPE) {
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY, "cose message is too large to verify");
    }
    buf = pg_malloc(1 + 9 + ctx_len + 9 + protected_len + 1 + 9 + payload_len);
    if (buf == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory building the cose sig_structure");
    }
    n += put_head(buf + n, 4, 4);
    n += put_head(buf + n, 3, ctx_len);
    memcpy(buf + n, SIG1_CONTEXT, ctx_len);
    n += ctx_len;
    n += put_head(buf + n, 2, protected_len);
    if (protected_len > 0) {
        memcpy(buf + n, protected_raw, protected_len);
    }
    n += protected_len;
    n += put_head(buf + n, 2, 0); /* external_aad: h'' */
    n += put_head(buf + n, 2, payload_len);
    if (payload_len > 0) {
        memcpy(buf + n, payload, payload_len);
    }
    n += payload_len;
    *out_tbs = buf;
    *out_len = n;
    return PG_OK;
}

enum pg_status pg_cose_verify_signature(const struct pg_cose *cose, EVP_PKEY *key,
                                        enum pg_key_spec spec, struct pg_err *err)
{
    const struct pg_jws *v = &cose->view;
    int64_t want = pg_cose_alg(spec);
    unsigned char *tbs = NULL;
    size_t len = 0;
    enum pg_status rc;

    if (!cose->has_alg || want == 0 || cose->alg != want) {
        char have[48];

        if (cose->has_alg) {
            (void)snprintf(have, sizeof(have), "%lld", (long long)cose->alg);
        } else {
            (void)snprintf(have, sizeof(have), "(none)");
        }
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "signature algorithm %s does not match the signing certificate's key, "
                          "which requires %lld (%s)",
                          have, (long long)want, want != 0 ? jws_name(want) : "unknown");
    }
    rc = pg_cose_to_be_signed(v->protected_raw.data, v->protected_raw.len, v->payload.data,
                              v->payload.len, &tbs, &len, err);
    if (rc == PG_OK) {
        rc = pg_sigcrypto_verify(key, spec, PG_PSS_SALT_DIGEST, tbs, len, v->signature.data,
                                 v->signature.len, err);
    }
    pg_free(tbs);
    return rc;
}
