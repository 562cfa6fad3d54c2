/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded JSON parsing, descriptors and image indexes from registry replies.
 * Policy about which descriptors matter lives with the callers.
 */
#include "jsonutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "reference.h"
#include "registry.h"

#define FILTERS_ANNOTATION "org.opencontainers.referrers.filtersApplied"
#define FIELD_MAX 256 /* media and artifact types */

enum pg_status pg_jsonutil_parse(const unsigned char *data, size_t len, const char *what,
                                 json_t **out_obj, struct pg_err *err)
{
    json_error_t jerr;
    json_t *obj;

    if (data == NULL) {
        data = (const unsigned char *)"";
        len = 0;
    }
    obj = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL) {
        char esc[200];

        pg_escape(esc, sizeof(esc), jerr.text, strlen(jerr.text));
        return pg_err_set(err, PG_ERR_PARSE, "%s is not valid JSON: %s at byte %d", what, esc,
                          jerr.position);
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        return pg_err_set(err, PG_ERR_PARSE, "%s is not a JSON object", what);
    }
    *out_obj = obj;
    return PG_OK;
}

static const char *get_string(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > FIELD_MAX ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        return NULL;
    }
    return json_string_value(v);
}

enum pg_status pg_jsonutil_descriptor(const json_t *obj, const char *what,
                                      struct pg_descriptor *out, struct pg_err *err)
{
    struct pg_descriptor d = {0};
    const json_t *size = json_object_get(obj, "size");
    const json_t *at = json_object_get(obj, "artifactType");
    const char *mt = get_string(obj, "mediaType");
    const char *dg = get_string(obj, "digest");

    if (!json_is_object(obj)) {
        return pg_err_set(err, PG_ERR_PARSE, "%s is not an object", what);
    }
    if (mt == NULL) {
        return pg_err_set(err, PG_ERR_PARSE, "%s has no valid mediaType", what);
    }
    if (dg == NULL || !pg_ref_is_digest(dg)) {
        return pg_err_set(err, PG_ERR_PARSE, "%s has no valid digest", what);
    }
    if (!json_is_integer(size) || json_integer_value(size) < 0) {
        return pg_err_set(err, PG_ERR_PARSE, "%s has no valid size", what);
    }
    if (at != NULL && !json_is_null(at) && get_string(obj, "artifactType") == NULL) {
        return pg_err_set(err, PG_ERR_PARSE, "%s has an invalid artifactType", what);
    }
    d.media_type = pg_strdup(mt);
    d.digest = pg_strdup(dg);
    d.size = (int64_t)json_integer_value(size);
    if (json_is_string(at)) {
        d.artifact_type = pg_strdup(json_string_value(at));
    }
    if (d.media_type == NULL || d.digest == NULL || (json_is_string(at) && !d.artifact_type)) {
        pg_descriptor_clear(&d);
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory reading %s", what);
    }
    *out = d;
    return PG_OK;
}

static int index_filtered(const json_t *root)
{
    const json_t *ann = json_object_get(root, "annotations");
    const json_t *v = json_is_object(ann) ? json_object_get(ann, FILTERS_ANNOTATION) : NULL;

    return json_is_string(v) && pg_jsonutil_list_has(json_string_value(v), "artifactType");
}

static enum pg_status check_index_header(const json_t *root, const char *what, struct pg_err *err)
{
    const json_t *mt = json_object_get(root, "mediaType");
    const json_t *sv = json_object_get(root, "schemaVersion");

    if (mt != NULL &&
        !(json_is_string(mt) && strcmp(json_string_value(mt), PG_MT_OCI_INDEX) == 0)) {
        return pg_err_set(err, PG_ERR_PARSE, "%s has mediaType other than %s", what,
                          PG_MT_OCI_INDEX);
    }
    if (sv != NULL && !(json_is_integer(sv) && json_integer_value(sv) == 2)) {
        return pg_err_set(err, PG_ERR_PARSE, "%s has schemaVersion other than 2", what);
    }
    if (!json_is_array(json_object_get(root, "manifests"))) {
        return pg_err_set(err, PG_ERR_PARSE, "%s has no manifests array", what);
    }
    if (json_array_size(json_object_get(root, "manifests")) > PG_JSONUTIL_MAX_ENTRIES) {
        return pg_err_set(err, PG_ERR_LIMIT, "%s lists more than %d manifests", what,
                          PG_JSONUTIL_MAX_ENTRIES);
    }
    return PG_OK;
}

enum pg_status pg_jsonutil_index(const unsigned char *data, size_t len, const char *what,
                                 struct pg_descriptor **out_list, size_t *out_n, int *out_filtered,
                                 struct pg_err *err)
{
    json_t *root = NULL;
    const json_t *arr;
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    size_t i;
    enum pg_status rc;
    char item[160];

    rc = pg_jsonutil_parse(data, len, what, &root, err);
    if (rc == PG_OK) {
        rc = check_index_header(root, what, err);
    }
    if (rc != PG_OK) {
        goto out;
    }
    arr = json_object_get(root, "manifests");
    list = pg_calloc(json_array_size(arr) + 1, sizeof(*list));
    if (list == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory reading %s", what);
        goto out;
    }
    for (i = 0; i < json_array_size(arr); i++) {
        snprintf(item, sizeof(item), "manifests[%zu] of %s", i, what);
        rc = pg_jsonutil_descriptor(json_array_get(arr, i), item, &list[n], err);
        if (rc != PG_OK) {
            goto out;
        }
        n++;
    }
    if (out_filtered != NULL) {
        *out_filtered = index_filtered(root);
    }
    *out_list = list;
    *out_n = n;
    list = NULL; /* the caller owns it now */
out:
    for (i = 0; list != NULL && i < n; i++) {
        pg_descriptor_clear(&list[i]);
    }
    pg_free(list);
    json_decref(root);
    return rc;
}

int pg_jsonutil_list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    const char *p = list;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1])) {
            len--;
        }
        if (len == n && memcmp(p, item, n) == 0) {
            return 1;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return 0;
}
