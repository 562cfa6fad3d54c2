/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg-cri: a small CRI client for the tests and the demo, on the gRPC core API.
 * It makes one ImageService or RuntimeService call on any unix socket
 * (containerd directly, or pullgate in front of it) and prints the response
 * as JSON with fields sorted by name and repeated values sorted, so two
 * answers can be compared with diff. A failed call prints
 * `code=<n> message=<text>`. Exit codes: 0 OK, 1 gRPC or decode error,
 * 2 usage error. The messages come from proto/cri_test_v1.proto.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "cri_test_v1.pb-c.h"
#include "mem.h"

#define MAX_MESSAGES 10000
#define MAX_MSG_BYTES (64 * 1024 * 1024)

/* A growing output buffer; `failed` records an allocation failure. */
struct sbuf {
    char *p;
    size_t len;
    size_t cap;
    int failed;
};

/* Options and the request being built. */
struct opts {
    const char *socket;
    const char *api;
    long timeout_ms;
    long max_msgs;
    int verbose;
    const char *auth_user;
    const char *auth_pass;
    const char *auth_b64;
    const char *identity_token;
    const char *registry_token;
    const char *server_address;
    const char *filter;
    const char *cmd;
    const char *arg;
};

/* What a call brought back. */
struct reply {
    grpc_status_code code;
    char *details;
    grpc_byte_buffer *msgs[MAX_MESSAGES];
    size_t n_msgs;
    int is_truncated;
};

/* One subcommand: its service, method, response type and request builder. */
struct command {
    const char *name;
    const char *service;
    const char *method;
    const ProtobufCMessageDescriptor *resp;
    int needs_arg;
    int (*build)(const struct opts *o, uint8_t **out_buf, size_t *out_len);
};

static int is_map_entry(const ProtobufCMessageDescriptor *d);
static void render_message(struct sbuf *sb, const ProtobufCMessage *m, int indent);

static void sb_add(struct sbuf *sb, const char *s, size_t n)
{
    if (sb->failed) {
        return;
    }
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < sb->len + n + 1) {
            cap *= 2;
        }
        char *p = pg_realloc(sb->p, cap);
        if (p == NULL) {
            sb->failed = 1;
            return;
        }
        sb->p = p;
        sb->cap = cap;
    }
    memcpy(sb->p + sb->len, s, n);
    sb->len += n;
    sb->p[sb->len] = '\0';
}

static void sb_puts(struct sbuf *sb, const char *s)
{
    sb_add(sb, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *sb, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        sb->failed = 1;
        return;
    }
    sb_add(sb, tmp, (size_t)n);
}

static void sb_indent(struct sbuf *sb, int indent)
{
    for (int i = 0; i < indent; i++) {
        sb_add(sb, " ", 1);
    }
}

/* A JSON string; bytes outside printable ASCII become \u00XX. */
static void sb_json_string(struct sbuf *sb, const char *s, size_t n)
{
    sb_add(sb, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            sb_printf(sb, "\\%c", c);
        } else if (c < 0x20 || c >= 0x7f) {
            sb_printf(sb, "\\u%04x", c);
        } else {
            sb_add(sb, (const char *)&c, 1);
        }
    }
    sb_add(sb, "\"", 1);
}

static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4;
    }
}

static void render_bytes(struct sbuf *sb, const ProtobufCBinaryData *b)
{
    sb_add(sb, "\"", 1);
    for (size_t i = 0; i < b->len; i++) {
        sb_printf(sb, "%02x", b->data[i]);
    }
    sb_add(sb, "\"", 1);
}

/* One scalar or message value of field f stored at p. */
static void render_value(struct sbuf *sb, const ProtobufCFieldDescriptor *f, const void *p,
                         int indent)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        sb_printf(sb, "%d", (int)*(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        sb_printf(sb, "%u", (unsigned)*(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        sb_printf(sb, "%lld", (long long)*(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        sb_printf(sb, "%llu", (unsigned long long)*(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        sb_printf(sb, "%.9g", (double)*(const float *)p);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        sb_printf(sb, "%.17g", *(const double *)p);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        sb_puts(sb, *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        sb_json_string(sb, s ? s : "", s ? strlen(s) : 0);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES:
        render_bytes(sb, p);
        break;
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
        if (m == NULL) {
            sb_puts(sb, "null");
        } else {
            render_message(sb, m, indent);
        }
        break;
    }
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A map entry as `"key": value`, for sorting among its siblings. */
static void render_entry(struct sbuf *sb, const ProtobufCMessage *e, int indent)
{
    const ProtobufCFieldDescriptor *fk = &e->descriptor->fields[0];
    const ProtobufCFieldDescriptor *fv = &e->descriptor->fields[1];

    sb_indent(sb, indent);
    render_value(sb, fk, (const char *)e + fk->offset, indent);
    sb_puts(sb, ": ");
    render_value(sb, fv, (const char *)e + fv->offset, indent);
}

/* Renders every element alone, sorts the texts, then joins them. */
static void render_repeated(struct sbuf *sb, const ProtobufCFieldDescriptor *f, const void *arr,
                            size_t n, int indent)
{
    int is_map = f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor);
    char **texts = n ? pg_calloc(n, sizeof(*texts)) : NULL;
    size_t esz = elem_size(f->type);

    if (n == 0) {
        sb_puts(sb, is_map ? "{}" : "[]");
        return;
    }
    if (texts == NULL) {
        sb->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct sbuf one = {0};
        const void *p = (const char *)arr + i * esz;
        if (is_map) {
            render_entry(&one, *(ProtobufCMessage *const *)p, indent + 2);
        } else {
            sb_indent(&one, indent + 2);
            render_value(&one, f, p, indent + 2);
        }
        sb->failed |= one.failed;
        texts[i] = one.p;
    }
    if (!sb->failed) {
        qsort(texts, n, sizeof(*texts), cmp_str);
        sb_puts(sb, is_map ? "{\n" : "[\n");
        for (size_t i = 0; i < n; i++) {
            sb_puts(sb, texts[i]);
            sb_puts(sb, i + 1 < n ? ",\n" : "\n");
        }
        sb_indent(sb, indent);
        sb_puts(sb, is_map ? "}" : "]");
    }
    for (size_t i = 0; i < n; i++) {
        pg_free(texts[i]);
    }
    pg_free(texts);
}

static int is_map_entry(const ProtobufCMessageDescriptor *d)
{
    return d->n_fields == 2 && strcmp(d->fields[0].name, "key") == 0 &&
           strcmp(d->fields[1].name, "value") == 0;
}

static const ProtobufCMessageDescriptor *sort_desc;

static int cmp_field(const void *a, const void *b)
{
    unsigned ia = *(const unsigned *)a;
    unsigned ib = *(const unsigned *)b;
    return strcmp(sort_desc->fields[ia].name, sort_desc->fields[ib].name);
}

static void render_field(struct sbuf *sb, const ProtobufCMessage *m,
                         const ProtobufCFieldDescriptor *f, int indent)
{
    const char *base = (const char *)m;

    sb_indent(sb, indent);
    sb_printf(sb, "\"%s\": ", f->name);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(const size_t *)(base + f->quantifier_offset);
        const void *arr = *(void *const *)(base + f->offset);
        render_repeated(sb, f, arr, n, indent);
    } else {
        render_value(sb, f, base + f->offset, indent);
    }
}

/* Fields in name order; the numbers of fields this client does not know
 * are listed under "_unknown_fields" so that nothing passes unseen. */
static void render_message(struct sbuf *sb, const ProtobufCMessage *m, int indent)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    unsigned order[64];
    unsigned n = d->n_fields < 64 ? d->n_fields : 64;

    if (n == 0 && m->n_unknown_fields == 0) {
        sb_puts(sb, "{}");
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        order[i] = i;
    }
    sort_desc = d;
    qsort(order, n, sizeof(order[0]), cmp_field);
    sb_puts(sb, "{\n");
    for (unsigned i = 0; i < n; i++) {
        render_field(sb, m, &d->fields[order[i]], indent + 2);
        sb_puts(sb, i + 1 < n || m->n_unknown_fields ? ",\n" : "\n");
    }
    if (m->n_unknown_fields) {
        sb_indent(sb, indent + 2);
        sb_puts(sb, "\"_unknown_fields\": [");
        for (unsigned i = 0; i < m->n_unknown_fields; i++) {
            sb_printf(sb, "%s%u", i ? ", " : "", m->unknown_fields[i].tag);
        }
        sb_puts(sb, "]\n");
    }
    sb_indent(sb, indent);
    sb_puts(sb, "}");
}

/* ---- requests ---- */

static int pack(const ProtobufCMessage *m, uint8_t **out_buf, size_t *out_len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = pg_malloc(n ? n : 1);

    if (buf == NULL) {
        return -1;
    }
    protobuf_c_message_pack(m, buf);
    *out_buf = buf;
    *out_len = n;
    return 0;
}

static int build_empty(const struct opts *o, uint8_t **out_buf, size_t *out_len)
{
    (void)o;
    *out_buf = pg_malloc(1);
    *out_len = 0;
    return *out_buf ? 0 : -1;
}

static int build_version(const struct opts *o, uint8_t **out_buf, size_t *out_len)
{
    Pgtest__Cri__VersionRequest r = PGTEST__CRI__VERSION_REQUEST__INIT;

    (void)o;
    r.version = "0.1.0";
    return pack(&r.base, out_buf, out_len);
}

static int build_pull(const struct opts *o, uint8_t **out_buf, size_t *out_len)
{
    Pgtest__Cri__PullImageRequest r = PGTEST__CRI__PULL_IMAGE_REQUEST__INIT;
    Pgtest__Cri__ImageSpec spec = PGTEST__CRI__IMAGE_SPEC__INIT;
    Pgtest__Cri__AuthConfig auth = PGTEST__CRI__AUTH_CONFIG__INIT;

    spec.image = (char *)o->arg;
    r.image = &spec;
    if (o->auth_user || o->auth_pass || o->auth_b64 || o->identity_token || o->registry_token ||
        o->server_address) {
        auth.username = (char *)(o->auth_user ? o->auth_user : "");
        auth.password = (char *)(o->auth_pass ? o->auth_pass : "");
        auth.auth = (char *)(o->auth_b64 ? o->auth_b64 : "");
        auth.identity_token = (char *)(o->identity_token ? o->identity_token : "");
        auth.registry_token = (char *)(o->registry_token ? o->registry_token : "");
        auth.server_address = (char *)(o->server_address ? o->server_address : "");
        r.auth = &auth;
    }
    return pack(&r.base, out_buf, out_len);
}

static int build_images(const struct opts *o, uint8_t **out_buf, size_t *out_len)
{
    Pgtest__Cri__ListImagesRequest r = PGTEST__CRI__LIST_IMAGES_REQUEST__INIT;
    Pgtest__Cri__ImageFilter filter = PGTEST__CRI__IMAGE_FILTER__INIT;
    Pgtest__Cri__ImageSpec spec = PGTEST__CRI__IMAGE_SPEC__INIT;

    if (o->filter) {
        spec.image = (char *)o->filter;
        filter.image = &spec;
        r.filter = &filter;
    }
    return pack(&r.base, out_buf, out_len);
}

static int build_inspecti(const struct opts *o, uint8_t **out_buf, size_t *out_len)
{
    Pgtest__Cri__ImageStatusRequest r = PGTEST__CRI__IMAGE_STATUS_REQUEST__INIT;
    Pgtest__Cri__ImageSpec spec = PGTEST__CRI__IMAGE_SPEC__INIT;

    spec.image = (char *)o->arg;
    r.image = &spec;
    r.verbose = o->verbose;
    return pack(&r.base, out_buf, out_len);
}

static int build_rmi(const struct opts *o, uint8_t **out_buf, size_t *out_len)
{
    Pgtest__Cri__RemoveImageRequest r = PGTEST__CRI__REMOVE_IMAGE_REQUEST__INIT;
    Pgtest__Cri__ImageSpec spec = PGTEST__CRI__IMAGE_SPEC__INIT;

    spec.image = (char *)o->arg;
    r.image = &spec;
    return pack(&r.base, out_buf, out_len);
}

static int build_status(const struct opts *o, uint8_t **out_buf, size_t *out_len)
{
    Pgtest__Cri__StatusRequest r = PGTEST__CRI__STATUS_REQUEST__INIT;

    r.verbose = o->verbose;
    return pack(&r.base, out_buf, out_len);
}

static int build_stat(const struct opts *o, uint8_t **out_buf, size_t *out_len)
{
    Pgtest__Cri__ContainerStatsRequest r = PGTEST__CRI__CONTAINER_STATS_REQUEST__INIT;

    r.container_id = (char *)o->arg;
    return pack(&r.base, out_buf, out_len);
}

static const struct command commands[] = {
    {"version", "RuntimeService", "Version", &pgtest__cri__version_response__descriptor, 0,
     build_version},
    {"pull", "ImageService", "PullImage", &pgtest__cri__pull_image_response__descriptor, 1,
     build_pull},
    {"images", "ImageService", "ListImages", &pgtest__cri__list_images_response__descriptor, 0,
     build_images},
    {"inspecti", "ImageService", "ImageStatus", &pgtest__cri__image_status_response__descriptor, 1,
     build_inspecti},
    {"rmi", "ImageService", "RemoveImage", &pgtest__cri__remove_image_response__descriptor, 1,
     build_rmi},
    {"imagefsinfo", "ImageService", "ImageFsInfo", &pgtest__cri__image_fs_info_response__descriptor,
     0, build_empty},
    {"status", "RuntimeService", "Status", &pgtest__cri__status_response__descriptor, 0,
     build_status},
    {"pods", "RuntimeService", "ListPodSandbox",
     &pgtest__cri__list_pod_sandbox_response__descriptor, 0, build_empty},
    {"ps", "RuntimeService", "ListContainers", &pgtest__cri__list_containers_response__descriptor,
     0, build_empty},
    {"stats", "RuntimeService", "ListContainerStats",
     &pgtest__cri__list_container_stats_response__descriptor, 0, build_empty},
    {"stat", "RuntimeService", "ContainerStats", &pgtest__cri__container_stats_response__descriptor,
     1, build_stat},
    {"runtimeconfig", "RuntimeService", "RuntimeConfig",
     &pgtest__cri__runtime_config_response__descriptor, 0, build_empty},
    {"events", "RuntimeService", "GetContainerEvents",
     &pgtest__cri__container_event_response__descriptor, 0, build_empty},
};

/* ---- the call ---- */

enum { TAG_SEND = 1, TAG_STATUS, TAG_RECV };

static grpc_call_error start_recv(grpc_call *call, grpc_byte_buffer **slot)
{
    grpc_op op;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = slot;
    return grpc_call_start_batch(call, &op, 1, (void *)(intptr_t)TAG_RECV, NULL);
}

static grpc_call_error start_send(grpc_call *call, grpc_byte_buffer *req,
                                  grpc_metadata_array *initial_md)
{
    grpc_op ops[4];

    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = initial_md;
    return grpc_call_start_batch(call, ops, 4, (void *)(intptr_t)TAG_SEND, NULL);
}

static grpc_call_error start_status(grpc_call *call, grpc_metadata_array *trailers,
                                    grpc_status_code *code, grpc_slice *details)
{
    grpc_op op;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op.data.recv_status_on_client.trailing_metadata = trailers;
    op.data.recv_status_on_client.status = code;
    op.data.recv_status_on_client.status_details = details;
    return grpc_call_start_batch(call, &op, 1, (void *)(intptr_t)TAG_STATUS, NULL);
}

/* Pumps the queue until the send batch, the status and the receives are
 * done. Stops receiving (and cancels) after max_msgs messages. */
static void pump(grpc_completion_queue *cq, grpc_call *call, grpc_byte_buffer **slot,
                 struct reply *r, size_t max_msgs)
{
    int pending = 3;

    while (pending > 0) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type != GRPC_OP_COMPLETE) {
            break;
        }
        pending--;
        if ((intptr_t)ev.tag != TAG_RECV || *slot == NULL) {
            continue;
        }
        r->msgs[r->n_msgs++] = *slot;
        *slot = NULL;
        if (r->n_msgs >= max_msgs || r->n_msgs >= MAX_MESSAGES) {
            r->is_truncated = r->n_msgs >= MAX_MESSAGES;
            grpc_call_cancel(call, NULL);
        } else if (start_recv(call, slot) == GRPC_CALL_OK) {
            pending++;
        }
    }
}

static grpc_channel *open_channel(const char *socket)
{
    grpc_arg args[2];
    grpc_channel_args ch_args = {2, args};
    char target[512];
    const char *path = socket;

    if (strncmp(path, "unix://", 7) == 0) {
        path += 7;
    } else if (strncmp(path, "unix:", 5) == 0) {
        path += 5;
    }
    if ((size_t)snprintf(target, sizeof(target), "unix:%s", path) >= sizeof(target)) {
        return NULL;
    }
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = MAX_MSG_BYTES;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_ENABLE_RETRIES;
    args[1].value.integer = 0;
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, creds, &ch_args);
    grpc_channel_credentials_release(creds);
    return ch;
}

static void drain(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
}

/* One call of `path` with the encoded request; fills r. Returns -1 when the
 * call could not be started at all. */
static int do_call(grpc_channel *ch, const char *path, const uint8_t *req, size_t req_len,
                   long timeout_ms, size_t max_msgs, struct reply *r)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_metadata_array initial_md, trailers;
    grpc_slice method = grpc_slice_from_copied_string(path);
    grpc_slice req_slice = grpc_slice_from_copied_buffer((const char *)req, req_len);
    grpc_byte_buffer *req_bb = grpc_raw_byte_buffer_create(&req_slice, 1);
    grpc_slice details = grpc_empty_slice();
    gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    grpc_byte_buffer *slot = NULL;
    int rc = -1;

    grpc_slice_unref(req_slice);
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailers);
    if (timeout_ms > 0) {
        deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    }
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
                                               deadline, NULL);
    grpc_slice_unref(method);
    if (call == NULL) {
        goto out;
    }
    if (start_status(call, &trailers, &r->code, &details) != GRPC_CALL_OK ||
        start_send(call, req_bb, &initial_md) != GRPC_CALL_OK ||
        start_recv(call, &slot) != GRPC_CALL_OK) {
        grpc_call_cancel(call, NULL);
        goto out;
    }
    pump(cq, call, &slot, r, max_msgs ? max_msgs : MAX_MESSAGES);
    r->details = grpc_slice_to_c_string(details);
    rc = 0;
out:
    if (call != NULL) {
        grpc_call_unref(call);
    }
    drain(cq);
    grpc_slice_unref(details);
    grpc_byte_buffer_destroy(req_bb);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailers);
    return rc;
}

/* ---- output ---- */

static int print_message(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader rd;
    struct sbuf sb = {0};
    int rc = 1;

    if (!grpc_byte_buffer_reader_init(&rd, bb)) {
        return 1;
    }
    grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    if (m == NULL) {
        fprintf(stderr, "pg-cri: cannot decode the %zu-byte response as %s\n",
                (size_t)GRPC_SLICE_LENGTH(all), d->name);
        goto out;
    }
    render_message(&sb, m, 0);
    if (sb.failed) {
        fprintf(stderr, "pg-cri: out of memory rendering the response\n");
        goto out;
    }
    printf("%s\n", sb.p);
    rc = 0;
out:
    protobuf_c_message_free_unpacked(m, NULL);
    grpc_slice_unref(all);
    pg_free(sb.p);
    return rc;
}

/* Prints the messages, then the status when it is not OK. */
static int print_reply(const struct command *c, const struct reply *r)
{
    int rc = 0;

    for (size_t i = 0; i < r->n_msgs; i++) {
        if (print_message(c->resp, r->msgs[i]) != 0) {
            rc = 1;
        }
    }
    if (r->is_truncated) {
        fprintf(stderr, "pg-cri: stopped after %d messages\n", MAX_MESSAGES);
    }
    if (r->code != GRPC_STATUS_OK) {
        struct sbuf sb = {0};
        const char *d = r->details ? r->details : "";
        sb_json_string(&sb, d, strlen(d));
        printf("code=%d message=%s\n", (int)r->code, sb.failed ? "?" : sb.p);
        pg_free(sb.p);
        rc = 1;
    }
    return rc;
}

/* ---- command line ---- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pg-cri --socket PATH [--api v1|v1alpha2] [--timeout MS] COMMAND [ARG]\n"
            "commands:\n"
            "  version                      RuntimeService/Version\n"
            "  pull IMAGE [--auth-user U --auth-pass P | --auth B64 | --identity-token T |\n"
            "             --registry-token T] [--server-address S]   ImageService/PullImage\n"
            "  images [--filter IMAGE]      ImageService/ListImages\n"
            "  inspecti IMAGE [--verbose]   ImageService/ImageStatus\n"
            "  rmi IMAGE                    ImageService/RemoveImage\n"
            "  imagefsinfo                  ImageService/ImageFsInfo\n"
            "  status [--verbose]           RuntimeService/Status\n"
            "  pods | ps | stats            ListPodSandbox, ListContainers, ListContainerStats\n"
            "  stat ID                      RuntimeService/ContainerStats\n"
            "  runtimeconfig                RuntimeService/RuntimeConfig\n"
            "  events [--max N]             RuntimeService/GetContainerEvents (stream)\n"
            "The socket may also come from $PG_CRI_SOCKET. Output: JSON, fields sorted;\n"
            "on failure `code=N message=\"...\"`. Exit 0 OK, 1 call failed, 2 usage.\n");
}

static int parse_long(const char *s, long *out)
{
    char *end = NULL;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < 0) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Options taking a value; returns the slot or NULL. */
static const char **value_slot(struct opts *o, const char *name)
{
    static const char *const names[] = {"--socket",         "--api",
                                        "--auth-user",      "--auth-pass",
                                        "--auth",           "--identity-token",
                                        "--registry-token", "--server-address",
                                        "--filter"};
    const char **slots[] = {&o->socket,         &o->api,
                            &o->auth_user,      &o->auth_pass,
                            &o->auth_b64,       &o->identity_token,
                            &o->registry_token, &o->server_address,
                            &o->filter};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            return slots[i];
        }
    }
    return NULL;
}

static int parse_one(struct opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char **slot = value_slot(o, a);

    if (slot != NULL || strcmp(a, "--timeout") == 0 || strcmp(a, "--max") == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "pg-cri: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++*i];
        if (slot != NULL) {
            *slot = v;
            return 0;
        }
        return parse_long(v, strcmp(a, "--timeout") == 0 ? &o->timeout_ms : &o->max_msgs);
    }
    if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
        o->verbose = 1;
    } else if (a[0] == '-' && a[1] != '\0') {
        fprintf(stderr, "pg-cri: unknown option %s\n", a);
        return -1;
    } else if (o->cmd == NULL) {
        o->cmd = a;
    } else if (o->arg == NULL) {
        o->arg = a;
    } else {
        fprintf(stderr, "pg-cri: unexpected argument %s\n", a);
        return -1;
    }
    return 0;
}

static const struct command *parse_args(struct opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (parse_one(o, argc, argv, &i) != 0) {
            return NULL;
        }
    }
    if (o->socket == NULL) {
        o->socket = getenv("PG_CRI_SOCKET");
    }
    if (o->cmd == NULL || o->socket == NULL ||
        (strcmp(o->api, "v1") != 0 && strcmp(o->api, "v1alpha2") != 0)) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const struct command *c = &commands[i];
        if (strcmp(o->cmd, c->name) == 0 && (c->needs_arg != 0) == (o->arg != NULL)) {
            return c;
        }
    }
    return NULL;
}

static int run(const struct command *c, const struct opts *o)
{
    char path[128];
    uint8_t *req = NULL;
    size_t req_len = 0;
    struct reply *r = pg_calloc(1, sizeof(*r));
    int rc = 1;

    snprintf(path, sizeof(path), "/runtime.%s.%s/%s", o->api, c->service, c->method);
    grpc_channel *ch = open_channel(o->socket);
    if (r == NULL || ch == NULL || c->build(o, &req, &req_len) != 0) {
        fprintf(stderr, "pg-cri: cannot set up the call to %s\n", path);
        goto out;
    }
    if (do_call(ch, path, req, req_len, o->timeout_ms, (size_t)o->max_msgs, r) != 0) {
        fprintf(stderr, "pg-cri: cannot start the call to %s\n", path);
        goto out;
    }
    rc = print_reply(c, r);
out:
    if (r != NULL) {
        for (size_t i = 0; i < r->n_msgs; i++) {
            grpc_byte_buffer_destroy(r->msgs[i]);
        }
        gpr_free(r->details);
    }
    pg_free(r);
    pg_free(req);
    if (ch != NULL) {
        grpc_channel_destroy(ch);
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o = {.api = "v1", .timeout_ms = 10000};

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    const struct command *c = parse_args(&o, argc, argv);
    if (c == NULL) {
        usage(stderr);
        return 2;
    }
    grpc_init();
    int rc = run(c, &o);
    grpc_shutdown();
    return rc;
}
