/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finds Notary signatures of a manifest: the Referrers API, else the
 * sha256-<hex> tag schema; then checks a signature manifest's shape and
 * fetches its single envelope. Whether an envelope verifies is sigverify.c's
 * question.
 */
#include "discover.h"

#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "log.h"
#include "mem.h"
#include "reference.h"

static int is_signature(const struct pg_descriptor *d)
{
    return d->artifact_type != NULL && strcmp(d->artifact_type, PG_ARTIFACT_TYPE_SIGNATURE) == 0;
}

/* Keeps the signature entries of list, in order, at most max; frees the rest. */
static void keep_signatures(struct pg_descriptor *list, size_t *n, size_t max)
{
    size_t kept = 0;

    for (size_t i = 0; i < *n; i++) {
        if (kept < max && is_signature(&list[i])) {
            list[kept++] = list[i];
        } else {
            pg_descriptor_clear(&list[i]);
        }
    }
    *n = kept;
}

/* The sha256-<hex> tag index; a missing tag means no signatures. */
static enum pg_status from_tag_schema(struct pg_registry_session *session, const char *digest,
                                      struct pg_descriptor **out_list, size_t *out_n,
                                      struct pg_err *err)
{
    struct pg_blob body = {0};
    struct pg_descriptor desc = {0};
    struct pg_err local;
    char tag[200];
    const char *colon = strchr(digest, ':');
    enum pg_status rc;

    snprintf(tag, sizeof(tag), "%.*s-%s", (int)(colon - digest), digest, colon + 1);
    pg_err_init(&local);
    rc = pg_registry_get_manifest(session, tag, &body, &desc, &local);
    if (rc == PG_ERR_NOT_FOUND) {
        pg_log(LOG_DEBUG, "no signature tag %s: %s", tag, local.msg);
        *out_list = NULL;
        *out_n = 0;
        return PG_OK;
    }
    if (rc != PG_OK) {
        pg_err_set(err, rc, "%s", local.msg);
        goto out;
    }
    if (strcmp(desc.media_type, PG_MT_OCI_INDEX) != 0) {
        rc = pg_err_set(err, PG_ERR_REGISTRY, "signature tag %s is a %s, not an image index", tag,
                        desc.media_type);
        goto out;
    }
    rc = pg_jsonutil_index(body.data, body.len, "signature tag index", out_list, out_n, NULL, err);
out:
    pg_blob_clear(&body);
    pg_descriptor_clear(&desc);
    return rc;
}

enum pg_status pg_discover_signatures(struct pg_registry_session *session,
                                      const struct pg_descriptor *subject, size_t max,
                                      struct pg_descriptor **out_list, size_t *out_n,
                                      struct pg_err *err)
{
    struct pg_descriptor *list = NULL;
    size_t n = 0;
    struct pg_err local;
    enum pg_status rc;

    if (subject == NULL || !pg_ref_is_digest(subject->digest)) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "signature discovery needs a subject digest");
    }
    pg_err_init(&local);
    rc = pg_registry_get_referrers(session, subject->digest, PG_ARTIFACT_TYPE_SIGNATURE, &list, &n,
                                   &local);
    if (rc == PG_ERR_UNSUPPORTED) {
        pg_log(LOG_DEBUG, "no referrers API for %s, trying the tag schema", subject->digest);
        rc = from_tag_schema(session, subject->digest, &list, &n, err);
    } else if (rc != PG_OK) {
        pg_err_set(err, rc, "%s", local.msg);
    }
    if (rc != PG_OK) {
        return rc;
    }
    keep_signatures(list, &n, max);
    *out_list = list;
    *out_n = n;
    return PG_OK;
}

/*
 * As notation reads a signature manifest fetched from a registry: its
 * layers (an artifact manifest's blobs), which must be exactly one. The
 * manifest's own mediaType, schemaVersion, config and artifactType are not
 * checked (notation-go's getSignatureBlobDesc does not); the binding to the
 * image is the signed payload's.
 */
enum pg_status pg_discover_parse_signature_manifest(const unsigned char *data, size_t len,
                                                    const char *media_type,
                                                    struct pg_descriptor *out_layer,
                                                    struct pg_err *err)
{
    int is_artifact = media_type != NULL && strcmp(media_type, PG_MT_OCI_ARTIFACT) == 0;
    const char *member = is_artifact ? "blobs" : "layers";
    json_t *root = NULL;
    const json_t *layers;
    enum pg_status rc;

    rc = pg_jsonutil_parse(data, len, "signature manifest", &root, err);
    if (rc != PG_OK) {
        return rc;
    }
    layers = json_object_get(root, member);
    if (!json_is_array(layers) || json_array_size(layers) != 1) {
        rc = pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                        "signature manifest must have exactly one entry in %s, has %zu", member,
                        json_is_array(layers) ? json_array_size(layers) : 0);
    }
    if (rc == PG_OK) {
        rc = pg_jsonutil_descriptor(json_array_get(layers, 0), "signature manifest layer",
                                    out_layer, err);
    }
    json_decref(root);
    return rc;
}

enum pg_status pg_discover_parse_index(const unsigned char *data, size_t len,
                                       struct pg_descriptor **out_list, size_t *out_n,
                                       struct pg_err *err)
{
    return pg_jsonutil_index(data, len, "image index", out_list, out_n, NULL, err);
}

/* A signature is an OCI image manifest, or the withdrawn OCI artifact
 * manifest that notation still reads. */
static enum pg_status check_descriptor(const struct pg_descriptor *d, struct pg_err *err)
{
    if (d == NULL || d->media_type == NULL || !pg_ref_is_digest(d->digest)) {
        return pg_err_set(err, PG_ERR_INVALID_ARG, "invalid signature descriptor");
    }
    if (strcmp(d->media_type, PG_MT_OCI_MANIFEST) != 0 &&
        strcmp(d->media_type, PG_MT_OCI_ARTIFACT) != 0) {
        char esc[160];

        pg_escape(esc, sizeof(esc), d->media_type, strlen(d->media_type));
        return pg_err_set(err, PG_ERR_SIG_INTEGRITY,
                          "signature %s has media type \"%s\", not an OCI image manifest",
                          d->digest, esc);
    }
    if (d->size < 0 || d->size > (int64_t)PG_REGISTRY_MAX_MANIFEST) {
        return pg_err_set(err, PG_ERR_LIMIT, "signature manifest %s is %lld bytes, over %u",
                          d->digest, (long long)d->size, PG_REGISTRY_MAX_MANIFEST);
    }
    return PG_OK;
}

enum pg_status pg_discover_fetch_envelope(struct pg_registry_session *session,
                                          const struct pg_descriptor *sig_manifest,
                                          struct pg_blob *out_envelope, char **out_media_type,
                                          struct pg_err *err)
{
    struct pg_blob body = {0};
    struct pg_descriptor got = {0};
    struct pg_descriptor layer = {0};
    struct pg_blob env = {0};
    char *mt = NULL;
    enum pg_status rc;

    rc = check_descriptor(sig_manifest, err);
    if (rc == PG_OK) {
        rc = pg_registry_get_manifest(session, sig_manifest->digest, &body, &got, err);
    }
    if (rc == PG_OK && got.size != sig_manifest->size) {
        rc = pg_err_set(err, PG_ERR_REGISTRY, "signature manifest %s is %lld bytes, listed as %lld",
                        sig_manifest->digest, (long long)got.size, (long long)sig_manifest->size);
    }
    if (rc == PG_OK) {
        rc = pg_discover_parse_signature_manifest(body.data, body.len, sig_manifest->media_type,
                                                  &layer, err);
    }
    if (rc == PG_OK) {
        rc = pg_registry_get_blob(session, &layer, 0, &env, err);
    }
    if (rc == PG_OK && (mt = pg_strdup(layer.media_type)) == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "out of memory");
    }
    if (rc == PG_OK) {
        *out_envelope = env;
        env.data = NULL; /* the caller owns the envelope now */
        *out_media_type = mt;
        mt = NULL;
    }
    pg_free(mt);
    pg_blob_clear(&env);
    pg_descriptor_clear(&layer);
    pg_descriptor_clear(&got);
    pg_blob_clear(&body);
    return rc;
}
