/*
 * The hls_path writer (see disk.h).
 */
#include "hls/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pool/clock.h"
#include "pool/queue.h"
#include "server/log.h"

#define TICK_MS 1000

struct job {
    struct sl_list link;
    char           path[PATH_MAX];
    int            nbufs; /* -1: remove */
    struct sl_buf *bufs[SL_HLS_DISK_MAX_BUFS];
};

struct sl_hls_disk {
    pthread_mutex_t lock;
    pthread_cond_t  cond; /* on CLOCK_MONOTONIC */
    pthread_t       thread;
    void (*tick)(void *ctx);
    void          *tick_ctx;
    struct sl_list jobs;
    int            njobs;
    int            stopping;
    uint64_t       dropped;
    uint64_t       warned_ms;
};

/* Makes the folders of path (not its last part). */
static void
make_dirs(const char *path)
{
    char tmp[PATH_MAX];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(tmp, 0755);
        *p = '/';
    }
}

static int
write_file(const struct job *j)
{
    char         tmp[PATH_MAX + 8];
    struct iovec iov[SL_HLS_DISK_MAX_BUFS];
    size_t       total = 0;
    ssize_t      n;
    int          fd;

    snprintf(tmp, sizeof(tmp), "%s.tmp", j->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        make_dirs(j->path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (fd < 0)
        return -errno;
    for (int i = 0; i < j->nbufs; i++) {
        iov[i].iov_base = j->bufs[i]->data;
        iov[i].iov_len = j->bufs[i]->len;
        total += j->bufs[i]->len;
    }
    n = writev(fd, iov, j->nbufs);
    if (close(fd) < 0 || n != (ssize_t) total) {
        unlink(tmp);
        return n < 0 ? -errno : -EIO;
    }
    return rename(tmp, j->path) < 0 ? -errno : 0;
}

static void
run_job(struct job *j)
{
    int rc;

    if (j->nbufs < 0)
        rc = unlink(j->path) < 0 && errno != ENOENT ? -errno : 0;
    else
        rc = write_file(j);
    if (rc < 0)
        sl_log_warn("hls_path: %s: %s", j->path, strerror(-rc));
    for (int i = 0; i < j->nbufs; i++)
        sl_buf_unref(j->bufs[i]);
    free(j);
}

static void *
writer_main(void *arg)
{
    struct sl_hls_disk *d = arg;

    uint64_t next_tick = sl_now_ms() + TICK_MS;

    pthread_mutex_lock(&d->lock);
    for (;;) {
        struct job *j;

        while (sl_list_empty(&d->jobs) && !d->stopping &&
               sl_now_ms() < next_tick) {
            struct timespec ts;

            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&d->cond, &d->lock, &ts);
        }
        if (sl_now_ms() >= next_tick && !d->stopping) {
            next_tick = sl_now_ms() + TICK_MS;
            pthread_mutex_unlock(&d->lock);
            d->tick(d->tick_ctx);
            pthread_mutex_lock(&d->lock);
            continue;
        }
        if (sl_list_empty(&d->jobs))
            break;
        j = sl_list_entry(d->jobs.next, struct job, link);
        sl_list_remove(&j->link);
        d->njobs--;
        pthread_mutex_unlock(&d->lock);
        run_job(j);
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

struct sl_hls_disk *
sl_hls_disk_new(void (*tick)(void *ctx), void *ctx)
{
    struct sl_hls_disk *d = calloc(1, sizeof(*d));
    pthread_condattr_t  attr;

    if (d == NULL)
        return NULL;
    d->tick = tick;
    d->tick_ctx = ctx;
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cond, &attr);
    pthread_condattr_destroy(&attr);
    sl_list_init(&d->jobs);
    if (pthread_create(&d->thread, NULL, writer_main, d) != 0) {
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->cond);
        free(d);
        return NULL;
    }
    return d;
}

void
sl_hls_disk_free(struct sl_hls_disk *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = 1;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
    free(d);
}

static void
enqueue(struct sl_hls_disk *d, struct job *j)
{
    uint64_t now = sl_now_ms();

    pthread_mutex_lock(&d->lock);
    if (d->njobs >= SL_HLS_DISK_JOBS) {
        d->dropped++;
        if (now - d->warned_ms >= 10000) {
            d->warned_ms = now;
            sl_log_warn("hls_path: the disk does not keep up: %llu files "
                        "not written so far",
                        (unsigned long long) d->dropped);
        }
        pthread_mutex_unlock(&d->lock);
        for (int i = 0; i < j->nbufs; i++)
            sl_buf_unref(j->bufs[i]);
        free(j);
        return;
    }
    sl_list_insert_tail(&d->jobs, &j->link);
    d->njobs++;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static struct job *
job_new(const char *dir, const char *name)
{
    struct job *j = calloc(1, sizeof(*j));

    if (j == NULL)
        return NULL;
    if (snprintf(j->path, sizeof(j->path), "%s/%s", dir, name) >=
        (int) sizeof(j->path)) {
        free(j);
        return NULL;
    }
    return j;
}

void
sl_hls_disk_write(struct sl_hls_disk *d, const char *dir, const char *name,
                  struct sl_buf *const *bufs, int n)
{
    struct job *j;

    if (d == NULL || n < 0 || n > SL_HLS_DISK_MAX_BUFS ||
        (j = job_new(dir, name)) == NULL)
        return;
    for (int i = 0; i < n; i++)
        j->bufs[i] = sl_buf_ref(bufs[i]);
    j->nbufs = n;
    enqueue(d, j);
}

void
sl_hls_disk_remove(struct sl_hls_disk *d, const char *dir, const char *name)
{
    struct job *j;

    if (d == NULL || (j = job_new(dir, name)) == NULL)
        return;
    j->nbufs = -1;
    enqueue(d, j);
}
