#include "tests/support/test_server.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "server/callback.h"

int
sl_test_server_init(struct sl_server *srv, const struct sl_hub_limits *lim)
{
    memset(srv, 0, sizeof(*srv));
    pthread_mutex_init(&srv->lock, NULL);
    sl_list_init(&srv->sessions);
    srv->chunk_size = lim->chunk_size;
    srv->sched = sl_sched_new(1, 256);
    srv->hub = sl_hub_new(lim);
    if (srv->sched == NULL || srv->hub == NULL ||
        sl_sched_start(srv->sched) < 0)
        return -1;
    return 0;
}

void
sl_test_server_free(struct sl_server *srv)
{
    sl_callbacks_free(atomic_load(&srv->callbacks));
    atomic_store(&srv->callbacks, NULL);
    if (srv->sched != NULL)
        sl_sched_stop(srv->sched);
    sl_sched_free(srv->sched);
    sl_hub_free(srv->hub);
    pthread_mutex_destroy(&srv->lock);
}

int
sl_test_task_quiet(struct sl_task *task)
{
    struct timespec ts = {0, 1000000};

    for (int i = 0; i < 5000; i++) {
        if (atomic_load(&task->refs) == 1 &&
            atomic_load(&task->state) == SL_TASK_IDLE)
            return 0;
        nanosleep(&ts, NULL);
    }
    return -1;
}
