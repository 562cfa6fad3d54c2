/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI distribution client on libcurl: manifests and blobs, anonymous,
 * basic and bearer-token authentication driven by WWW-Authenticate, TLS
 * verification, limits on size and time. A client is shared and thread-safe;
 * a session is one request's view of one repository with its credentials.
 */
#ifndef PG_REGISTRY_H
#define PG_REGISTRY_H

#include <stddef.h>

#include "reference.h"
#include "status.h"
#include "types.h"

#define PG_REGISTRY_MAX_MANIFEST (4u << 20) /* manifests, indexes, referrers lists */
#define PG_REGISTRY_MAX_ENVELOPE (32u << 20)
#define PG_REGISTRY_MAX_REDIRECTS 5
#define PG_REGISTRY_MAX_PAGES 16 /* referrers pages followed through Link headers */

#define PG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define PG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define PG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define PG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define PG_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"
/* Withdrawn from the OCI specification; early notation stored signatures so. */
#define PG_MT_OCI_ARTIFACT "application/vnd.oci.artifact.manifest.v1+json"

struct pg_registry_options {
    const char *ca_file; /* NULL: the system bundle */
    /* "host" or "host:port", exactly as in references. Only these are spoken to
     * over plain HTTP; every other host (docker.io and localhost included) gets
     * https with verified TLS. Redirect targets follow the same rule. */
    const char *const *plain_http_hosts;
    size_t n_plain_http_hosts;
    long request_timeout_ms;   /* one HTTP exchange; 0 for the default (30 s) */
    long connect_timeout_ms;   /* 0 for the default (10 s) */
    size_t max_manifest_bytes; /* 0 for PG_REGISTRY_MAX_MANIFEST */
    size_t max_envelope_bytes; /* 0 for PG_REGISTRY_MAX_ENVELOPE */
    const char *docker_config; /* path of a docker config.json for the CLI; NULL: none */
    const char *user_agent;    /* NULL: "pullgate/<version>" */
};

/*
 * Credentials in the four forms of the CRI AuthConfig. Any member may be NULL.
 * As containerd does: when server_address is set it is read as a URL and the
 * credentials apply only if its host (with port) equals the registry's host;
 * a bare "host" without a scheme has no URL host and so never matches (the
 * runtime would not use such credentials either). For docker.io the hosts
 * index.docker.io and registry-1.docker.io match too. Then, in this order:
 * username/password, identity_token (an OAuth2 refresh token, traded at the
 * token endpoint by POST grant_type=refresh_token), auth (base64 "user:pass",
 * split at the first ':', trailing NULs trimmed), registry_token (sent as the
 * bearer token itself, without a token endpoint).
 */
struct pg_credentials {
    char *username;
    char *password;
    char *auth; /* base64("user:password") */
    char *server_address;
    char *identity_token; /* OAuth2 refresh token */
    char *registry_token; /* a bearer token to send as is */
};

/* Wipes and frees every member (OPENSSL_cleanse), leaving the struct empty. */
void pg_credentials_clear(struct pg_credentials *c);

struct pg_registry_client;
struct pg_registry_session;

/*
 * Whether ca_file is a regular file holding a PEM CA bundle OpenSSL loads, as
 * a registry client would need it; what names the setting in the message
 * (PG_ERR_CONFIG), as in "what \"PATH\" is not a regular file".
 */
enum pg_status pg_registry_check_ca_file(const char *ca_file, const char *what, struct pg_err *err);

/* The options are copied. Caller frees with pg_registry_client_free. */
enum pg_status pg_registry_client_new(const struct pg_registry_options *opts,
                                      struct pg_registry_client **out_client, struct pg_err *err);
void pg_registry_client_free(struct pg_registry_client *client);

/*
 * A session for ref's repository. creds may be NULL: then the docker config
 * of the options, if any (auths, credHelpers, credsStore), else anonymous.
 * creds are copied; deadline (may be NULL) is referenced and must outlive the
 * session. A session belongs to one thread at a time; the client may be
 * shared by any number of sessions on any threads.
 */
enum pg_status pg_registry_session_new(struct pg_registry_client *client, const struct pg_ref *ref,
                                       const struct pg_credentials *creds,
                                       const struct pg_deadline *deadline,
                                       struct pg_registry_session **out_session,
                                       struct pg_err *err);
void pg_registry_session_free(struct pg_registry_session *session);

/*
 * GETs the manifest named by tag_or_digest, asking for every OCI and Docker
 * manifest and index media type. out_desc gets the Content-Type, the byte
 * length and the sha256 computed over the bytes; when asked by digest, the
 * bytes must hash to it. out_body receives the bytes. Both owned by caller.
 */
enum pg_status pg_registry_get_manifest(struct pg_registry_session *session,
                                        const char *tag_or_digest, struct pg_blob *out_body,
                                        struct pg_descriptor *out_desc, struct pg_err *err);

/*
 * GETs a blob, at most max bytes (0: the client's envelope limit), checking
 * the descriptor's digest and size. out_body is the caller's.
 */
enum pg_status pg_registry_get_blob(struct pg_registry_session *session,
                                    const struct pg_descriptor *desc, size_t max,
                                    struct pg_blob *out_body, struct pg_err *err);

/*
 * GETs the OCI referrers of digest filtered by artifact_type, following
 * pagination on the same host. PG_ERR_UNSUPPORTED when the registry has no
 * Referrers API (404 without NAME_UNKNOWN, or a non-index reply).
 */
enum pg_status pg_registry_get_referrers(struct pg_registry_session *session, const char *digest,
                                         const char *artifact_type, struct pg_descriptor **out_list,
                                         size_t *out_n, struct pg_err *err);

void pg_descriptor_list_free(struct pg_descriptor *list, size_t n);

#endif
