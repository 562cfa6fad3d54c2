/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signature discovery: the Referrers API filtered by the Notary signature
 * artifact type, else (only when that API answers 404) the sha256-<hex> tag
 * schema; then the signature manifest and its single envelope blob.
 */
#ifndef PG_DISCOVER_H
#define PG_DISCOVER_H

#include "registry.h"

#define PG_ARTIFACT_TYPE_SIGNATURE "application/vnd.cncf.notary.signature"
#define PG_MEDIA_TYPE_JWS "application/jose+json"
#define PG_MEDIA_TYPE_COSE "application/cose"

/*
 * Lists the signature manifests whose subject is subject->digest, in listing
 * order, at most max of them (more are dropped). Zero found is PG_OK with
 * *out_n == 0.
 */
enum pg_status pg_discover_signatures(struct pg_registry_session *session,
                                      const struct pg_descriptor *subject, size_t max,
                                      struct pg_descriptor **out_list, size_t *out_n,
                                      struct pg_err *err);

/*
 * Fetches one signature manifest by its descriptor (digest and size checked),
 * checks its shape (both the artifactType form and the legacy config media
 * type form), and fetches its single layer. out_media_type is the layer's
 * media type, which selects the envelope parser. All outputs owned by caller.
 */
enum pg_status pg_discover_fetch_envelope(struct pg_registry_session *session,
                                          const struct pg_descriptor *sig_manifest,
                                          struct pg_blob *out_envelope, char **out_media_type,
                                          struct pg_err *err);

/* Manifest parsing, exposed for tests and fuzzing (no network). */
enum pg_status pg_discover_parse_index(const unsigned char *data, size_t len,
                                       struct pg_descriptor **out_list, size_t *out_n,
                                       struct pg_err *err);
/* media_type is the signature descriptor's: an OCI artifact manifest keeps
 * its envelope in "blobs", an image manifest in "layers". */
enum pg_status pg_discover_parse_signature_manifest(const unsigned char *data, size_t len,
                                                    const char *media_type,
                                                    struct pg_descriptor *out_layer,
                                                    struct pg_err *err);

#endif
