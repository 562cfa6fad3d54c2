/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd images service calls (Get, Create, Update) made synchronously
 * on a private completion queue. The proxy's own forwarding never comes
 * here; this is pullgate speaking to containerd in its own name.
 */
#include "ctrimages.h"

#include <stdio.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "containerd_images.pb-c.h"
#include "mem.h"

#define SVC "/containerd.services.images.v1.Images/"
#define REPLY_MAX (1u << 20)

struct unary_reply {
    grpc_status_code code;
    char message[256];
    uint8_t *data;
    size_t len;
};

static gpr_timespec to_deadline(int64_t deadline_ms)
{
    int64_t left = deadline_ms - (int64_t)gpr_time_to_millis(gpr_now(GPR_CLOCK_MONOTONIC));

    if (left < 1) {
        left = 1;
    }
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(left, GPR_TIMESPAN));
}

static void read_reply(grpc_byte_buffer *bb, struct unary_reply *r)
{
    grpc_byte_buffer_reader reader;
    grpc_slice s;

    if (bb == NULL || !grpc_byte_buffer_reader_init(&reader, bb)) {
        return;
    }
    s = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    if (GRPC_SLICE_LENGTH(s) <= REPLY_MAX) {
        r->data = pg_malloc(GRPC_SLICE_LENGTH(s));
        if (r->data != NULL) {
            memcpy(r->data, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s));
            r->len = GRPC_SLICE_LENGTH(s);
        }
    }
    grpc_slice_unref(s);
}

/* One unary call: request bytes in, status and reply bytes out. */
static enum pg_status call_unary(grpc_channel *ch, const char *method, const char *ns,
                                 const uint8_t *req, size_t req_len, int64_t deadline_ms,
                                 struct unary_reply *r, struct pg_err *err)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method_slice = grpc_slice_from_static_string(method);
    grpc_slice req_slice = grpc_slice_from_copied_buffer((const char *)req, req_len);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&req_slice, 1);
    grpc_byte_buffer *recv = NULL;
    grpc_metadata md = {.key = grpc_slice_from_static_string("containerd-namespace"),
                        .value = grpc_slice_from_copied_string(ns)};
    grpc_metadata_array initial, trailing;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    grpc_call *call;
    grpc_event ev;
    char *text;

    memset(ops, 0, sizeof(ops));
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method_slice, NULL,
                                    to_deadline(deadline_ms), NULL);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = 1;
    ops[0].data.send_initial_metadata.metadata = &md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
    ops[5].data.recv_status_on_client.status = &r->code;
    ops[5].data.recv_status_on_client.status_details = &details;
    r->code = GRPC_STATUS_UNKNOWN;
    if (grpc_call_start_batch(call, ops, 6, call, NULL) == GRPC_CALL_OK) {
        ev = grpc_completion_queue_pluck(cq, call, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        (void)ev;
    }
    read_reply(recv, r);
    text = grpc_slice_to_c_string(details);
    snprintf(r->message, sizeof(r->message), "%s", text);
    gpr_free(text);
    grpc_byte_buffer_destroy(send);
    grpc_byte_buffer_destroy(recv);
    grpc_slice_unref(req_slice);
    grpc_slice_unref(md.value);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
    if (r->code != GRPC_STATUS_OK) {
        return pg_err_set(err, PG_ERR_UPSTREAM, "containerd %s failed: code %d: %s",
                          method + strlen(SVC), (int)r->code, r->message);
    }
    return PG_OK;
}

static enum pg_status get_image(grpc_channel *ch, const char *ns, const char *name,
                                int64_t deadline_ms,
                                Containerd__Services__Images__V1__GetImageResponse **out,
                                struct pg_err *err)
{
    Containerd__Services__Images__V1__GetImageRequest req =
        CONTAINERD__SERVICES__IMAGES__V1__GET_IMAGE_REQUEST__INIT;
    uint8_t buf[1024];
    struct unary_reply r = {0};
    enum pg_status rc;

    req.name = (char *)name;
    if (containerd__services__images__v1__get_image_request__get_packed_size(&req) > sizeof(buf)) {
        return pg_err_set(err, PG_ERR_LIMIT, "image name too long for containerd");
    }
    rc = call_unary(ch, SVC "Get", ns, buf,
                    containerd__services__images__v1__get_image_request__pack(&req, buf),
                    deadline_ms, &r, err);
    if (rc == PG_OK) {
        *out = containerd__services__images__v1__get_image_response__unpack(NULL, r.len, r.data);
        if (*out == NULL || (*out)->image == NULL || (*out)->image->target == NULL) {
            rc = pg_err_set(err, PG_ERR_UPSTREAM, "containerd returned no image record for %s",
                            name);
        }
    }
    pg_free(r.data);
    return rc;
}

/* Sends Create, or Update when the record exists, for image. */
static enum pg_status put_image(grpc_channel *ch, const char *ns,
                                Containerd__Services__Images__V1__Image *image, int64_t deadline_ms,
                                struct pg_err *err)
{
    Containerd__Services__Images__V1__CreateImageRequest req =
        CONTAINERD__SERVICES__IMAGES__V1__CREATE_IMAGE_REQUEST__INIT;
    struct unary_reply r = {0};
    struct pg_err ignored;
    uint8_t *buf;
    size_t len;
    enum pg_status rc;

    req.image = image;
    len = containerd__services__images__v1__create_image_request__get_packed_size(&req);
    buf = pg_malloc(len);
    if (buf == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "out of memory encoding an image record");
    }
    /* CreateImageRequest and UpdateImageRequest share field 1, so one encoding serves both. */
    containerd__services__images__v1__create_image_request__pack(&req, buf);
    pg_err_init(&ignored);
    rc = call_unary(ch, SVC "Create", ns, buf, len, deadline_ms, &r, &ignored);
    if (rc != PG_OK && r.code == GRPC_STATUS_ALREADY_EXISTS) {
        pg_free(r.data);
        memset(&r, 0, sizeof(r));
        rc = call_unary(ch, SVC "Update", ns, buf, len, deadline_ms, &r, err);
    } else if (rc != PG_OK) {
        rc = pg_err_set(err, ignored.status, "%s", ignored.msg);
    }
    pg_free(r.data);
    pg_free(buf);
    return rc;
}

/* Whether the record named tag_name already targets what pinned does. */
static int is_tagged_already(grpc_channel *ch, const char *ns, const char *tag_name,
                             const Containerd__Services__Images__V1__Descriptor *pinned,
                             int64_t deadline_ms)
{
    Containerd__Services__Images__V1__GetImageResponse *tagged = NULL;
    const Containerd__Services__Images__V1__Descriptor *t;
    struct pg_err ignored;
    int same;

    pg_err_init(&ignored);
    if (get_image(ch, ns, tag_name, deadline_ms, &tagged, &ignored) != PG_OK) {
        same = 0; /* NOT_FOUND, or anything else: write the record */
    } else {
        t = tagged->image->target;
        same = t->digest != NULL && pinned->digest != NULL &&
               strcmp(t->digest, pinned->digest) == 0 && t->media_type != NULL &&
               pinned->media_type != NULL && strcmp(t->media_type, pinned->media_type) == 0 &&
               t->size == pinned->size;
    }
    if (tagged != NULL) {
        containerd__services__images__v1__get_image_response__free_unpacked(tagged, NULL);
    }
    return same;
}

enum pg_status pg_ctrimages_tag(grpc_channel *channel, const char *ns, const char *pinned_name,
                                const char *tag_name, int64_t deadline_ms, struct pg_err *err)
{
    Containerd__Services__Images__V1__GetImageResponse *got = NULL;
    Containerd__Services__Images__V1__Image image;
    enum pg_status rc;

    rc = get_image(channel, ns, pinned_name, deadline_ms, &got, err);
    if (rc != PG_OK) {
        goto out;
    }
    /* A repeated pull finds its tag in place: a read, not a write that
     * containerd commits to disk. */
    if (is_tagged_already(channel, ns, tag_name, got->image->target, deadline_ms)) {
        goto out;
    }
    image = *got->image;
    image.name = (char *)tag_name;
    rc = put_image(channel, ns, &image, deadline_ms, err);
out:
    if (got != NULL) {
        containerd__services__images__v1__get_image_response__free_unpacked(got, NULL);
    }
    return rc;
}
