/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bounded worker pool: a ring of jobs under one mutex, threads waiting on
 * a condition variable. What the jobs do is the submitter's business.
 */
#include "workers.h"

#include <pthread.h>
#include <string.h>

#include "mem.h"

struct job {
    pg_workers_job_fn fn;
    void *arg;
};

struct pg_workers {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *ring;
    int capacity;
    int head;                     /* next job to run */
    int count;                    /* jobs queued */
    struct pg_workers_job *first; /* jobs queued ahead, outside the bound */
    struct pg_workers_job *first_tail;
    int running; /* jobs being run */
    int stopping;
    pthread_t *threads;
    int nthreads; /* threads started */
};

static void *worker_main(void *arg)
{
    struct pg_workers *pool = arg;
    struct job job;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->count == 0 && pool->first == NULL && !pool->stopping) {
            pthread_cond_wait(&pool->wake, &pool->lock);
        }
        if (pool->first != NULL) {
            job.fn = pool->first->fn;
            job.arg = pool->first->arg;
            pool->first = pool->first->next;
            if (pool->first == NULL) {
                pool->first_tail = NULL;
            }
        } else if (pool->count > 0) {
            job = pool->ring[pool->head];
            pool->head = (pool->head + 1) % pool->capacity;
            pool->count--;
        } else {
            break; /* stopping and nothing left */
        }
        pool->running++;
        pthread_mutex_unlock(&pool->lock);
        job.fn(job.arg);
        pthread_mutex_lock(&pool->lock);
        pool->running--;
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

enum pg_status pg_workers_create(int threads, int queue_length, struct pg_workers **out_pool,
                                 struct pg_err *err)
{
    struct pg_workers *pool = NULL;
    enum pg_status rc = PG_OK;

    if (threads < 1 || threads > 256 || queue_length < 1 || queue_length > 65536) {
        return pg_err_set(err, PG_ERR_INVALID_ARG,
                          "worker pool: %d threads, queue of %d: out of range", threads,
                          queue_length);
    }
    pool = pg_calloc(1, sizeof(*pool));
    if (pool == NULL) {
        return pg_err_set(err, PG_ERR_NOMEM, "worker pool: out of memory");
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->capacity = queue_length;
    pool->ring = pg_calloc((size_t)queue_length, sizeof(*pool->ring));
    pool->threads = pg_calloc((size_t)threads, sizeof(*pool->threads));
    if (pool->ring == NULL || pool->threads == NULL) {
        rc = pg_err_set(err, PG_ERR_NOMEM, "worker pool: out of memory");
        goto out;
    }
    for (; pool->nthreads < threads; pool->nthreads++) {
        int e = pthread_create(&pool->threads[pool->nthreads], NULL, worker_main, pool);

        if (e != 0) {
            rc = pg_err_set(err, PG_ERR_INTERNAL, "worker pool: cannot start a thread: %s",
                            strerror(e));
            goto out;
        }
    }
    *out_pool = pool;
    pool = NULL;
out:
    pg_workers_free(pool);
    return rc;
}

enum pg_status pg_workers_submit(struct pg_workers *pool, pg_workers_job_fn fn, void *arg)
{
    enum pg_status rc = PG_OK;

    pthread_mutex_lock(&pool->lock);
    if (pool->stopping) {
        rc = PG_ERR_CANCELLED;
    } else if (pool->count == pool->capacity) {
        rc = PG_ERR_LIMIT;
    } else {
        pool->ring[(pool->head + pool->count) % pool->capacity] = (struct job){fn, arg};
        pool->count++;
        pthread_cond_signal(&pool->wake);
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

enum pg_status pg_workers_submit_first(struct pg_workers *pool, struct pg_workers_job *job)
{
    enum pg_status rc = PG_OK;

    pthread_mutex_lock(&pool->lock);
    if (pool->stopping) {
        rc = PG_ERR_CANCELLED;
    } else {
        job->next = NULL;
        if (pool->first_tail != NULL) {
            pool->first_tail->next = job;
        } else {
            pool->first = job;
        }
        pool->first_tail = job;
        pthread_cond_signal(&pool->wake);
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

int pg_workers_pending(struct pg_workers *pool)
{
    int n;

    pthread_mutex_lock(&pool->lock);
    n = pool->count + pool->running;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

void pg_workers_free(struct pg_workers *pool)
{
    int i;

    if (pool == NULL) {
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (i = 0; i < pool->nthreads; i++) {
        pthread_join(pool->threads[i], NULL);
    }
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    pg_free(pool->threads);
    pg_free(pool->ring);
    pg_free(pool);
}
