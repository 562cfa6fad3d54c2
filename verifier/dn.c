/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Distinguished names for x509.subject trusted identities. The policy string
 * is parsed as RFC 4514 text the way go-ldap's ParseDN reads it, then held to
 * notation's rules. The certificate subject is first rendered as text the way
 * Go's pkix.Name.String() renders it and then parsed by the same code, so a
 * subject matches here exactly when it matches under notation. Matching
 * identities against a certificate lives in identity.c.
 */
#include "dn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "mem.h"

#define ESC_MAX 200

/* A growable byte buffer; p stays NUL-terminated. */
struct buf {
    char *p;
    size_t len;
    size_t cap;
};

/* One attribute as go-ldap splits it, before notation's rules. */
struct raw_attr {
    char *type;
    char *value;
    size_t value_len;
    size_t rdn; /* index of the RDN it belongs to */
};

struct raw_list {
    struct raw_attr *a;
    size_t n;
};

/* The nine attribute types Go names, in the order pkix.Name emits them. */
static const struct {
    int nid;
    const char *name;
    int is_single; /* Go keeps only the last CN and SERIALNUMBER */
} named_types[] = {
    {NID_countryName, "C", 0},
    {NID_stateOrProvinceName, "ST", 0},
    {NID_localityName, "L", 0},
    {NID_streetAddress, "STREET", 0},
    {NID_postalCode, "POSTALCODE", 0},
    {NID_organizationName, "O", 0},
    {NID_organizationalUnitName, "OU", 0},
    {NID_commonName, "CN", 1},
    {NID_serialNumber, "SERIALNUMBER", 1},
};

#define N_NAMED (sizeof(named_types) / sizeof(named_types[0]))

static int buf_put(struct buf *b, const void *p, size_t n)
{
    if (b->p == NULL || b->cap - b->len <= n) {
        size_t cap = b->cap == 0 ? 64 : b->cap;
        char *np;

        while (cap - b->len <= n) {
            if (cap > SIZE_MAX / 2) {
                return -1;
            }
            cap *= 2;
        }
        np = pg_realloc(b->p, cap);
        if (np == NULL) {
            return -1;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int buf_putc(struct buf *b, char c)
{
    return buf_put(b, &c, 1);
}

/* Appends r as UTF-8. */
static int buf_put_rune(struct buf *b, uint32_t r)
{
    unsigned char u[4];
    size_t n;

    if (r < 0x80) {
        u[0] = (unsigned char)r;
        n = 1;
    } else if (r < 0x800) {
        u[0] = (unsigned char)(0xc0 | (r >> 6));
        u[1] = (unsigned char)(0x80 | (r & 0x3f));
        n = 2;
    } else if (r < 0x10000) {
        u[0] = (unsigned char)(0xe0 | (r >> 12));
        u[1] = (unsigned char)(0x80 | ((r >> 6) & 0x3f));
        u[2] = (unsigned char)(0x80 | (r & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | (r >> 18));
        u[1] = (unsigned char)(0x80 | ((r >> 12) & 0x3f));
        u[2] = (unsigned char)(0x80 | ((r >> 6) & 0x3f));
        u[3] = (unsigned char)(0x80 | (r & 0x3f));
        n = 4;
    }
    return buf_put(b, u, n);
}

/*
 * Width of the valid UTF-8 sequence at p (Go's rules: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 when it is not one.
 */
static size_t utf8_width(const unsigned char *p, size_t n)
{
    uint32_t r;
    size_t w;
    size_t i;

    if (p[0] < 0x80) {
        return 1;
    }
    w = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
    if (w == 0 || w > n || p[0] > 0xf4) {
        return 0;
    }
    r = p[0] & (0x7f >> w);
    for (i = 1; i < w; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        r = (r << 6) | (p[i] & 0x3f);
    }
    if ((w == 2 && r < 0x80) || (w == 3 && r < 0x800) || (w == 4 && r < 0x10000) || r > 0x10ffff ||
        (r >= 0xd800 && r < 0xe000)) {
        return 0;
    }
    return w;
}

static int utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t w = utf8_width(p + i, n - i);

        if (w == 0) {
            return 0;
        }
        i += w;
    }
    return 1;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int is_ldap_special(char c)
{
    return c != '\0' && strchr(" \"#+,;<=>\\", c) != NULL;
}

/* Copies s[i] on; bytes that are not UTF-8 become U+FFFD as Go's rune loop does. */
static int copy_char(struct buf *out, const char *s, size_t end, size_t *i)
{
    size_t w = utf8_width((const unsigned char *)s + *i, end - *i);

    if (w == 0) {
        *i += 1;
        return buf_put(out, "\xef\xbf\xbd", 3);
    }
    *i += w;
    return buf_put(out, s + *i - w, w);
}

/* Trims unescaped spaces around s[0..len) as go-ldap does; sets *start, *end. */
static void trim_spaces(const char *s, size_t len, size_t *start, size_t *end)
{
    size_t a = 0;
    size_t b = len;

    while (a < b && s[a] == ' ') {
        a++;
    }
    while (b > a && s[b - 1] == ' ') {
        b--;
    }
    /* a trailing space right after a backslash was escaped: keep it */
    if (b > a && s[b - 1] == '\\' && b < len) {
        b++;
    }
    *start = a;
    *end = b;
}

/*
 * Unescapes one type or value (RFC 4514 escapes and \XX hex pairs) into out.
 * Returns 0, -1 with *why set for bad syntax, -2 when memory runs out.
 */
static int unescape(const char *s, size_t len, struct buf *out, const char **why)
{
    size_t i;
    size_t end;

    trim_spaces(s, len, &i, &end);
    while (i < end) {
        unsigned char a;
        unsigned char b;

        if (s[i] != '\\') {
            if (copy_char(out, s, end, &i) != 0) {
                return -2;
            }
            continue;
        }
        if (i + 1 >= end) {
            *why = "ends with an unfinished escape";
            return -1;
        }
        if (is_ldap_special(s[i + 1])) {
            if (buf_putc(out, s[i + 1]) != 0) {
                return -2;
            }
            i += 2;
            continue;
        }
        a = (unsigned char)s[i + 1];
        b = i + 2 < end ? (unsigned char)s[i + 2] : 0;
        if (i + 2 >= end || hex_value(a) < 0 || hex_value(b) < 0) {
            *why = "has an escape that is neither a special character nor two hex digits";
            return -1;
        }
        if (buf_putc(out, (char)(hex_value(a) * 16 + hex_value(b))) != 0) {
            return -2;
        }
        i += 3;
    }
    return 0;
}

static void raw_list_clear(struct raw_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        pg_free(l->a[i].type);
        pg_free(l->a[i].value);
    }
    pg_free(l->a);
    l->a = NULL;
    l->n = 0;
}

/* Error about the DN text, quoting it escaped. */
static enum pg_status dn_error(struct pg_err *err, enum pg_status st, const char *what,
                               const char *s, size_t len, const char *why)
{
    char esc[ESC_MAX];

    return pg_err_set(err, st, "%s \"%s\" %s", what, pg_escape(esc, sizeof(esc), s, len), why);
}

/* Decodes s[0..len) into a new string; *out_len gets its length. */
static enum pg_status decode_part(const char *s, size_t len, char **out, size_t *out_len,
                                  const char **why)
{
    struct buf b = {0};
    int rc;

    rc = unescape(s, len, &b, why);
    if (rc == 0 && b.p == NULL) {
        rc = buf_put(&b, "", 0) == 0 ? 0 : -2;
    }
    if (rc != 0) {
        pg_free(b.p);
        return rc == -1 ? PG_ERR_PARSE : PG_ERR_NOMEM;
    }
    *out = b.p;
    *out_len = b.len;
    return PG_OK;
}

struct splitter {
    const char *s;
    size_t len;
    const char *what;
    struct raw_list *list;
    char *type; /* pending type, NULL until one is read */
    size_t rdn;
    size_t start;
};

/* A type=value pair ended at s[end]; appends it. */
static enum pg_status split_emit(struct splitter *sp, size_t end, struct pg_err *err)
{
    struct raw_attr *a;
    const char *why = NULL;
    enum pg_status st;

    if (sp->type == NULL) {
        return dn_error(err, PG_ERR_PARSE, sp->what, sp->s, sp->len,
                        "has an incomplete type=value pair");
    }
    if (sp->list->n >= PG_DN_MAX_ATTRS) {
        return dn_error(err, PG_ERR_LIMIT, sp->what, sp->s, sp->len,
                        "has more attributes than the 64 allowed");
    }
    a = pg_realloc(sp->list->a, (sp->list->n + 1) * sizeof(*a));
    if (a == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory parsing a distinguished name");
    }
    sp->list->a = a;
    a += sp->list->n;
    st = decode_part(sp->s + sp->start, end - sp->start, &a->value, &a->value_len, &why);
    if (st != PG_OK) {
        return st == PG_ERR_NOMEM
                   ? pg_err_set(err, st, "out of memory parsing a distinguished name")
                   : dn_error(err, st, sp->what, sp->s, sp->len, why);
    }
    a->type = sp->type;
    a->rdn = sp->rdn;
    sp->type = NULL;
    sp->list->n++;
    return PG_OK;
}

/* An unescaped '=' while no type is pending: the text before it is the type. */
static enum pg_status split_type(struct splitter *sp, size_t end, struct pg_err *err)
{
    const char *why = NULL;
    enum pg_status st;
    size_t n = 0;

    st = decode_part(sp->s + sp->start, end - sp->start, &sp->type, &n, &why);
    if (st != PG_OK) {
        return st == PG_ERR_NOMEM
                   ? pg_err_set(err, st, "out of memory parsing a distinguished name")
                   : dn_error(err, st, sp->what, sp->s, sp->len, why);
    }
    if (strlen(sp->type) != n) {
        return dn_error(err, PG_ERR_PARSE, sp->what, sp->s, sp->len,
                        "has an attribute type with a NUL byte");
    }
    if (n == 0) {
        /* go-ldap keeps looking for a type after an empty one */
        pg_free(sp->type);
        sp->type = NULL;
    }
    sp->start = end + 1;
    return PG_OK;
}

/* Splits the text into type=value pairs and RDNs, as go-ldap's ParseDN does. */
static enum pg_status split_dn(const char *s, size_t len, const char *what, struct raw_list *list,
                               struct pg_err *err)
{
    struct splitter sp = {s, len, what, list, NULL, 0, 0};
    enum pg_status st = PG_OK;
    int escaping = 0;
    size_t i;

    for (i = 0; i < len && st == PG_OK; i++) {
        char c = s[i];

        if (escaping) {
            escaping = 0;
        } else if (c == '\\') {
            escaping = 1;
        } else if (c == '=' && sp.type == NULL) {
            st = split_type(&sp, i, err);
        } else if (c == ',' || c == '+' || c == ';') {
            st = split_emit(&sp, i, err);
            sp.start = i + 1;
            sp.rdn += c != '+';
        }
    }
    if (st == PG_OK) {
        st = split_emit(&sp, len, err);
    }
    pg_free(sp.type);
    return st;
}

static struct pg_dn_attr *find_attr(const struct pg_dn *dn, const char *type)
{
    size_t i;

    for (i = 0; i < dn->n; i++) {
        if (strcmp(dn->attrs[i].type, type) == 0) {
            return &dn->attrs[i];
        }
    }
    return NULL;
}

/* Moves one raw attribute into the map: S becomes ST, a repeated type fails. */
static enum pg_status map_add(struct pg_dn *dn, struct raw_attr *a, const char *what, const char *s,
                              size_t len, struct pg_err *err)
{
    struct pg_dn_attr *have = find_attr(dn, a->type);

    if (have != NULL && have->value_len > 0) {
        char why[96];

        snprintf(why, sizeof(why), "repeats the attribute type \"%.40s\"", a->type);
        return dn_error(err, PG_ERR_PARSE, what, s, len, why);
    }
    if (have != NULL) {
        /* notation only refuses a repeat when the earlier value was non-empty */
        pg_free(have->value);
    } else {
        have = &dn->attrs[dn->n++];
        have->type = a->type;
        a->type = NULL;
    }
    have->value = a->value;
    have->value_len = a->value_len;
    a->value = NULL;
    return PG_OK;
}

static int cmp_attr(const void *a, const void *b)
{
    return strcmp(((const struct pg_dn_attr *)a)->type, ((const struct pg_dn_attr *)b)->type);
}

/* notation's rules over the split attributes; fills dn (sorted by type). */
static enum pg_status apply_rules(struct raw_list *list, const char *what, const char *s,
                                  size_t len, struct pg_dn *dn, struct pg_err *err)
{
    static const char *const mandatory[] = {"C", "ST", "O"};
    size_t i;

    for (i = 0; i < list->n; i++) {
        enum pg_status st;

        if (i + 1 < list->n && list->a[i + 1].rdn == list->a[i].rdn) {
            return dn_error(err, PG_ERR_PARSE, what, s, len,
                            "has a multi-valued RDN, which is not supported");
        }
        if (strcmp(list->a[i].type, "S") == 0) {
            char *t = pg_strdup("ST"); /* S is an alias of ST */

            if (t == NULL) {
                return pg_err_set(err, PG_ERR_NOMEM, "out of memory parsing a distinguished name");
            }
            pg_free(list->a[i].type);
            list->a[i].type = t;
        }
        st = map_add(dn, &list->a[i], what, s, len, err);
        if (st != PG_OK) {
            return st;
        }
    }
    for (i = 0; i < 3; i++) {
        const struct pg_dn_attr *a = find_attr(dn, mandatory[i]);

        if (a == NULL || a->value_len == 0) {
            char why[96];

            snprintf(why, sizeof(why),
                     "lacks the mandatory attribute \"%s\" (C, ST or S, and O are required)",
                     mandatory[i]);
            return dn_error(err, PG_ERR_PARSE, what, s, len, why);
        }
    }
    qsort(dn->attrs, dn->n, sizeof(dn->attrs[0]), cmp_attr);
    return PG_OK;
}

static int is_blank(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (strchr(" \t\n\v\f\r", s[i]) == NULL || s[i] == '\0') {
            return 0;
        }
    }
    return 1;
}

/* The whole of notation's ParseDistinguishedName over s[0..len). */
static enum pg_status parse_dn(const char *s, size_t len, const char *what, struct pg_dn *out_dn,
                               struct pg_err *err)
{
    struct raw_list list = {NULL, 0};
    struct pg_dn dn = {NULL, 0};
    enum pg_status rc;

    if (s == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no %s given", what);
    }
    if (memmem(s, len, "=#", 2) != NULL) {
        return dn_error(err, PG_ERR_PARSE, what, s, len,
                        "contains \"=#\"; hex-encoded attribute values are not supported");
    }
    if (!is_blank(s, len)) {
        rc = split_dn(s, len, what, &list, err);
        if (rc != PG_OK) {
            goto out;
        }
    }
    dn.attrs = pg_calloc(list.n + 1, sizeof(*dn.attrs));
    if (dn.attrs == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory parsing a distinguished name");
        goto out;
    }
    rc = apply_rules(&list, what, s, len, &dn, err);
    if (rc != PG_OK) {
        goto out;
    }
    *out_dn = dn;
    dn.attrs = NULL;
    dn.n = 0;
out:
    pg_dn_clear(&dn);
    raw_list_clear(&list);
    return rc;
}

enum pg_status pg_dn_parse(const char *s, struct pg_dn *out_dn, struct pg_err *err)
{
    if (s == NULL || out_dn == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no distinguished name given");
    }
    return parse_dn(s, strlen(s), "distinguished name", out_dn, err);
}

/* Go's PrintableString alphabet (with '*' and '&', which Go tolerates). */
static int is_go_printable(unsigned char b)
{
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
           (b >= '\'' && b <= ')') || (b >= '+' && b <= '/') || b == ' ' || b == ':' || b == '=' ||
           b == '?' || b == '*' || b == '&';
}

/* Go's BMPString decoding: UCS-2 big endian, surrogate pairs joined. */
static int bmp_to_utf8(const unsigned char *p, size_t n, struct buf *out)
{
    size_t i;

    if (n % 2 != 0) {
        return -1;
    }
    if (n >= 2 && p[n - 1] == 0 && p[n - 2] == 0) {
        n -= 2;
    }
    for (i = 0; i < n; i += 2) {
        uint32_t u = (uint32_t)p[i] << 8 | p[i + 1];
        uint32_t v = i + 3 < n ? ((uint32_t)p[i + 2] << 8 | p[i + 3]) : 0;

        if (u >= 0xd800 && u < 0xdc00 && v >= 0xdc00 && v < 0xe000) {
            u = 0x10000 + ((u - 0xd800) << 10) + (v - 0xdc00);
            i += 2;
        } else if (u >= 0xd800 && u < 0xe000) {
            u = 0xfffd;
        }
        if (buf_put_rune(out, u) != 0) {
            return -2;
        }
    }
    return 0;
}

/* One byte-per-character string whose bytes must all pass ok(). */
static int bytes_if(const unsigned char *p, size_t n, int (*ok)(unsigned char), struct buf *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!ok(p[i])) {
            return -1;
        }
    }
    return buf_put(out, p, n) == 0 ? 0 : -2;
}

static int is_ascii(unsigned char b)
{
    return b < 0x80;
}

static int is_numeric(unsigned char b)
{
    return (b >= '0' && b <= '9') || b == ' ';
}

/*
 * An attribute value as Go's certificate parser reads it. Returns 0, -1 when
 * Go would refuse the string, -2 when memory runs out.
 */
static int value_to_utf8(const ASN1_STRING *v, struct buf *out)
{
    const unsigned char *p = ASN1_STRING_get0_data(v);
    size_t n = (size_t)ASN1_STRING_length(v);
    size_t i;

    switch (ASN1_STRING_type(v)) {
    case V_ASN1_UTF8STRING:
        return !utf8_valid(p, n) ? -1 : buf_put(out, p, n) == 0 ? 0 : -2;
    case V_ASN1_PRINTABLESTRING:
        return bytes_if(p, n, is_go_printable, out);
    case V_ASN1_IA5STRING:
        return bytes_if(p, n, is_ascii, out);
    case V_ASN1_NUMERICSTRING:
        return bytes_if(p, n, is_numeric, out);
    case V_ASN1_T61STRING:
        /* read as Latin-1, as Go does */
        for (i = 0; i < n; i++) {
            if (buf_put_rune(out, p[i]) != 0) {
                return -2;
            }
        }
        return 0;
    case V_ASN1_BMPSTRING:
        return bmp_to_utf8(p, n, out);
    default:
        return -1;
    }
}

/* Appends value escaped as pkix.Name.String() escapes it. */
static int put_escaped(struct buf *out, const char *v, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++) {
        char c = v[k];
        int esc = c != '\0' && strchr(",+\"\\<>;", c) != NULL;

        esc = esc || (c == ' ' && (k == 0 || k == n - 1)) || (c == '#' && k == 0);
        if ((esc && buf_putc(out, '\\') != 0) || buf_putc(out, c) != 0) {
            return -1;
        }
    }
    return 0;
}

/* One RDN of the rendered subject: its type name (or dotted OID) and values. */
struct rdn_text {
    const char *type;
    char oid[80];
    const struct buf *values; /* for named types: the collected values */
    size_t n_values;
    struct buf hex; /* for unnamed types: "#<hex of the DER value>" */
};

/* Go's asn1.Marshal of a string: PrintableString when it can, else UTF8String. */
static int marshal_hex(const struct buf *v, struct buf *out)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char head[6];
    size_t hn = 0;
    size_t i;
    int printable = 1;

    for (i = 0; i < v->len; i++) {
        unsigned char b = (unsigned char)v->p[i];

        printable = printable && is_go_printable(b) && b != '*' && b != '&';
    }
    head[hn++] = printable ? 0x13 : 0x0c;
    if (v->len < 0x80) {
        head[hn++] = (unsigned char)v->len;
    } else {
        size_t bytes = v->len > 0xffffff ? 4 : v->len > 0xffff ? 3 : v->len > 0xff ? 2 : 1;

        head[hn++] = (unsigned char)(0x80 | bytes);
        while (bytes-- > 0) {
            head[hn++] = (unsigned char)(v->len >> (8 * bytes));
        }
    }
    for (i = 0; i < hn + v->len; i++) {
        unsigned char b = i < hn ? head[i] : (unsigned char)v->p[i - hn];

        if (buf_putc(out, digits[b >> 4]) != 0 || buf_putc(out, digits[b & 15]) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Writes the RDNs last to first, as RDNSequence.String() does. */
static int render_rdns(const struct rdn_text *rdns, size_t n, struct buf *out)
{
    size_t i;
    size_t j;

    for (i = n; i-- > 0;) {
        const struct rdn_text *r = &rdns[i];

        if (i + 1 < n && buf_putc(out, ',') != 0) {
            return -1;
        }
        if (r->type == NULL) {
            if (buf_put(out, r->oid, strlen(r->oid)) != 0 || buf_put(out, "=#", 2) != 0 ||
                buf_put(out, r->hex.p, r->hex.len) != 0) {
                return -1;
            }
            continue;
        }
        for (j = 0; j < r->n_values; j++) {
            const struct buf *v = &r->values[j];

            if ((j > 0 && buf_putc(out, '+') != 0) || buf_put(out, r->type, strlen(r->type)) != 0 ||
                buf_putc(out, '=') != 0 || put_escaped(out, v->p, v->len) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

struct subject {
    struct buf named[N_NAMED][PG_DN_MAX_ATTRS]; /* values per named type */
    size_t n_named[N_NAMED];
    struct rdn_text rdns[N_NAMED + PG_DN_MAX_ATTRS];
    size_t n_rdns;
};

static void subject_clear(struct subject *sj)
{
    size_t i;
    size_t j;

    for (i = 0; i < N_NAMED; i++) {
        for (j = 0; j < PG_DN_MAX_ATTRS; j++) {
            pg_free(sj->named[i][j].p);
        }
    }
    for (i = 0; i < sj->n_rdns; i++) {
        pg_free(sj->rdns[i].hex.p);
    }
}

static int named_index(int nid)
{
    size_t i;

    for (i = 0; i < N_NAMED; i++) {
        if (named_types[i].nid == nid) {
            return (int)i;
        }
    }
    return -1;
}

/* Files one subject entry: a value of a named type, or an RDN of its own. */
static enum pg_status subject_add(struct subject *sj, const X509_NAME_ENTRY *e, struct pg_err *err)
{
    const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
    int k = named_index(OBJ_obj2nid(obj));
    struct buf v = {0};
    char oid[80];
    int rc;

    OBJ_obj2txt(oid, sizeof(oid), obj, 1);
    rc = value_to_utf8(X509_NAME_ENTRY_get_data(e), &v);
    if (rc == 0 && v.p == NULL) {
        rc = buf_put(&v, "", 0) == 0 ? 0 : -2;
    }
    if (rc != 0) {
        pg_free(v.p);
        return rc == -2 ? pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a subject")
                        : pg_err_set(err, PG_ERR_PARSE,
                                     "certificate subject attribute %s has a string type or "
                                     "content that certificate parsers refuse",
                                     oid);
    }
    if (k >= 0 && named_types[k].is_single) {
        /* a later CN or SERIALNUMBER replaces an earlier one */
        pg_free(sj->named[k][0].p);
        sj->named[k][0] = v;
        sj->n_named[k] = 1;
        return PG_OK;
    }
    if (k >= 0) {
        sj->named[k][sj->n_named[k]++] = v;
        return PG_OK;
    }
    memcpy(sj->rdns[sj->n_rdns].oid, oid, sizeof(oid));
    rc = marshal_hex(&v, &sj->rdns[sj->n_rdns].hex);
    sj->n_rdns++;
    pg_free(v.p);
    return rc == 0 ? PG_OK : pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a subject");
}

enum pg_status pg_dn_cert_subject_text(X509 *cert, char **out_text, size_t *out_len,
                                       struct pg_err *err)
{
    struct subject *sj = NULL;
    const X509_NAME *name = cert != NULL ? X509_get_subject_name(cert) : NULL;
    struct buf out = {0};
    enum pg_status rc = PG_OK;
    int i;

    if (name == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no certificate subject given");
    }
    if (X509_NAME_entry_count(name) > PG_DN_MAX_ATTRS) {
        return pg_err_set(err, PG_ERR_LIMIT, "certificate subject has more than %d attributes",
                          PG_DN_MAX_ATTRS);
    }
    sj = pg_calloc(1, sizeof(*sj));
    if (sj == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading a subject");
    }
    for (i = 0; i < X509_NAME_entry_count(name) && rc == PG_OK; i++) {
        rc = subject_add(sj, X509_NAME_get_entry(name, i), err);
    }
    for (i = 0; i < (int)N_NAMED && rc == PG_OK; i++) {
        if (sj->n_named[i] > 0) {
            struct rdn_text *r = &sj->rdns[sj->n_rdns++];

            r->type = named_types[i].name;
            r->values = sj->named[i];
            r->n_values = sj->n_named[i];
        }
    }
    if (rc == PG_OK && (render_rdns(sj->rdns, sj->n_rdns, &out) != 0 ||
                        (out.p == NULL && buf_put(&out, "", 0) != 0))) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory rendering a subject");
    }
    if (rc == PG_OK) {
        *out_text = out.p;
        *out_len = out.len;
        out.p = NULL;
    }
    pg_free(out.p);
    subject_clear(sj);
    pg_free(sj);
    return rc;
}

enum pg_status pg_dn_from_cert(X509 *cert, struct pg_dn *out_dn, struct pg_err *err)
{
    char *text = NULL;
    size_t len = 0;
    enum pg_status rc;

    if (out_dn == NULL) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "no place for the subject given");
    }
    rc = pg_dn_cert_subject_text(cert, &text, &len, err);
    if (rc == PG_OK) {
        rc = parse_dn(text, len, "certificate subject", out_dn, err);
    }
    pg_free(text);
    return rc;
}

const struct pg_dn_attr *pg_dn_get(const struct pg_dn *dn, const char *type)
{
    return dn != NULL && type != NULL ? find_attr(dn, type) : NULL;
}

int pg_dn_is_subset(const struct pg_dn *sub, const struct pg_dn *super)
{
    size_t i;
    size_t j = 0;

    for (i = 0; i < sub->n; i++) {
        const struct pg_dn_attr *a = &sub->attrs[i];
        int c = 1;

        while (j < super->n && (c = strcmp(super->attrs[j].type, a->type)) < 0) {
            j++;
        }
        if (j < super->n && c == 0) {
            const struct pg_dn_attr *b = &super->attrs[j];

            if (a->value_len != b->value_len || memcmp(a->value, b->value, a->value_len) != 0) {
                return 0;
            }
        } else if (a->value_len != 0) {
            return 0;
        }
    }
    return 1;
}

void pg_dn_clear(struct pg_dn *dn)
{
    size_t i;

    if (dn == NULL) {
        return;
    }
    for (i = 0; i < dn->n; i++) {
        pg_free(dn->attrs[i].type);
        pg_free(dn->attrs[i].value);
    }
    pg_free(dn->attrs);
    dn->attrs = NULL;
    dn->n = 0;
}
