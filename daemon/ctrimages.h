/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client of containerd's images service, used after a digest-pinned pull
 * to give the image its tag again, so that kubelet finds it by tag.
 */
#ifndef PG_CTRIMAGES_H
#define PG_CTRIMAGES_H

#include <stdint.h>

#include <grpc/grpc.h>

#include "status.h"

/* The containerd namespace the CRI plugin keeps its images in. */
#define PG_CRI_NAMESPACE "k8s.io"

/*
 * Makes image record tag_name point where pinned_name points (creating or
 * updating it), in namespace ns, on channel (a connection to containerd's
 * socket). deadline_ms is an absolute CLOCK_MONOTONIC time in milliseconds.
 * Blocking: run it off the completion-queue threads.
 */
enum pg_status pg_ctrimages_tag(grpc_channel *channel, const char *ns, const char *pinned_name,
                                const char *tag_name, int64_t deadline_ms, struct pg_err *err);

#endif
