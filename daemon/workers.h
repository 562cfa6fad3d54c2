/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded worker pool: a fixed number of threads taking jobs from a queue
 * of fixed length. Blocking work (the PullImage hooks) runs here so the
 * completion-queue threads never wait on it. A full queue is reported to the
 * caller at once, never waited out.
 */
#ifndef PG_WORKERS_H
#define PG_WORKERS_H

#include "status.h"

struct pg_workers;

typedef void (*pg_workers_job_fn)(void *arg);

/* A job the caller keeps in memory for pg_workers_submit_first. */
struct pg_workers_job {
    pg_workers_job_fn fn;
    void *arg;
    struct pg_workers_job *next; /* the pool's */
};

/* Starts `threads` threads (1..256) sharing a queue of `queue_length` jobs. */
enum pg_status pg_workers_create(int threads, int queue_length, struct pg_workers **out_pool,
                                 struct pg_err *err);

/*
 * Queues fn(arg). PG_ERR_LIMIT when the queue is full, PG_ERR_CANCELLED when
 * the pool is stopping; fn is not called then and arg stays the caller's.
 */
enum pg_status pg_workers_submit(struct pg_workers *pool, pg_workers_job_fn fn, void *arg);

/*
 * Queues job ahead of every ordinary job and outside the queue bound: for
 * work that finishes something already admitted (the post-pull hook), which
 * must not be refused for a full queue. The caller keeps job alive until it
 * ran. PG_ERR_CANCELLED when the pool is stopping.
 */
enum pg_status pg_workers_submit_first(struct pg_workers *pool, struct pg_workers_job *job);

/* Jobs queued or running right now. */
int pg_workers_pending(struct pg_workers *pool);

/* Runs the jobs already queued, joins the threads and frees the pool. NULL is fine. */
void pg_workers_free(struct pg_workers *pool);

#endif
