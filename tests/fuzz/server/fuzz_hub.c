/*
 * Fuzzes what the hub does with a publisher's messages: codec detection
 * (classic and Enhanced RTMP headers), metadata AMF decoding and
 * re-encoding, timestamp correction and the GOP cache, with a player
 * subscribed.  Input: records of [type u8][timestamp u32][len u16][body].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool/buf.h"
#include "pool/sched.h"
#include "server/hub.h"
#include "server/outq.h"
#include "rtmp/rd.h"

static struct sl_sched *sched;

static void
nothing(struct sl_task *t)
{
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_hub_limits lim = {.chunk_size = 128, .merge_write_ms = 0,
                                .gop_cache = 1, .gop_max_msgs = 16,
                                .gop_max_bytes = 4096};
    struct sl_hub       *hub;
    struct sl_stream    *s;
    struct sl_task       task;
    struct sl_outq       q;
    struct sl_sub        sub = {0};
    struct sl_rd         r;
    struct iovec         iov[64];
    uint64_t             now = 1000;
    int                  pub;

    if (sched == NULL) {
        sched = sl_sched_new(1, 64);
        if (sched == NULL || sl_sched_start(sched) < 0)
            abort();
    }
    hub = sl_hub_new(&lim);
    sl_task_init(&task, sched, nothing, nothing);
    if (hub == NULL || sl_outq_init(&q, 64) < 0)
        abort();
    sub.q = &q;
    sub.task = &task;
    sub.max_lag_ms = 2000;
    sl_hub_subscribe(hub, "live", "f", &sub);
    if (sl_hub_publish(hub, "live", "f", &pub, &s) < 0)
        abort();
    sl_rd_init(&r, data, size);
    while (sl_rd_left(&r) > 0) {
        uint8_t        type = sl_rd_u8(&r);
        uint32_t       ts = sl_rd_u32(&r);
        uint16_t       len = sl_rd_u16(&r);
        const uint8_t *body = sl_rd_bytes(&r, len);
        struct sl_buf *b;
        int            n;

        if (r.err)
            break;
        b = sl_buf_from(body, len);
        sl_hub_media(s, type, ts, b, now);
        sl_buf_unref(b);
        now += 10;
        /* Drain like a player, every other message, so the private
         * queue keeps moving and the cursor both keeps up and lags. */
        if (now % 20 == 0) {
            struct sl_sub_msg m[16];
            size_t            total = 0;

            n = sl_outq_collect(&q, iov, 64, 0);
            for (int i = 0; i < n; i++)
                total += iov[i].iov_len;
            sl_outq_consume(&q, 0, total);
            n = sl_sub_collect(&sub, m, 16);
            for (int i = 0; i < n; i++)
                sl_buf_unref(m[i].buf);
        }
    }
    sl_hub_unpublish(s, &pub);
    sl_hub_unsubscribe(&sub);
    /* Wait for the scheduler to be done with the stack task. */
    while (atomic_load(&task.refs) != 1 ||
           atomic_load(&task.state) != SL_TASK_IDLE)
        ;
    sl_outq_destroy(&q);
    sl_hub_free(hub);
    return 0;
}
