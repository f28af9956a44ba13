#include "record/recq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp.h"
#include "rtmp/flv.h"

/* Headers may pass the byte bound by this much. */
#define HDR_SLACK_BYTES (1024 * 1024)

void
sl_recq_init(struct sl_recq *q, uint32_t max_msgs, uint64_t max_bytes)
{
    memset(q, 0, sizeof(*q));
    sl_list_init(&q->items);
    q->max_msgs = max_msgs;
    q->max_bytes = max_bytes;
}

int
sl_recq_classify(uint8_t type, const struct sl_buf *b)
{
    struct sl_flv_info info;

    if (b->len == 0)
        return -1;
    if (type == SL_MSG_DATA_AMF0) {
        /* The hub turned @setDataFrame into onMetaData: the body starts
         * with the AMF0 string "onMetaData". */
        static const uint8_t meta[] = {2,   0,   10,  'o', 'n', 'M', 'e',
                                       't', 'a', 'D', 'a', 't', 'a'};

        return b->len >= sizeof(meta) && !memcmp(b->data, meta, sizeof(meta))
                   ? SL_RECQ_META
                   : SL_RECQ_DATA;
    }
    if (type != SL_MSG_VIDEO && type != SL_MSG_AUDIO)
        return -1;
    sl_flv_inspect(type, b->data, b->len, &info);
    if (info.seq_header)
        return info.video ? SL_RECQ_VSEQ : SL_RECQ_ASEQ;
    if (info.seq_end || info.command)
        return -1;
    if (info.video)
        return info.keyframe ? SL_RECQ_VKEY : SL_RECQ_VIDEO;
    return info.audio ? SL_RECQ_AUDIO : -1;
}

static int
fits(const struct sl_recq *q, uint32_t len, uint32_t slack_msgs,
     uint64_t slack_bytes)
{
    return q->n < q->max_msgs + slack_msgs &&
           q->bytes + len <= q->max_bytes + slack_bytes;
}

static int
append(struct sl_recq *q, uint8_t type, int kind, int64_t ts, struct sl_buf *b)
{
    struct sl_recq_item *it = malloc(sizeof(*it));

    if (it == NULL)
        return -ENOMEM;
    it->type = type;
    it->kind = (uint8_t) kind;
    it->ts = ts;
    it->buf = sl_buf_ref(b);
    sl_list_insert_tail(&q->items, &it->link);
    q->n++;
    q->bytes += b->len;
    return 1;
}

static int
same(const struct sl_buf *a, const struct sl_buf *b)
{
    return a != NULL && a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/* After a header was lost: the latest ones again, before the frame a
 * file can resume at.  They are few and small, so not bounded here. */
static int
resend(struct sl_recq *q, int64_t ts)
{
    int rc = 0;

    q->resend_headers = 0;
    if (q->meta != NULL)
        rc = append(q, SL_MSG_DATA_AMF0, SL_RECQ_META, ts, q->meta);
    if (rc >= 0 && q->vseq != NULL)
        rc = append(q, SL_MSG_VIDEO, SL_RECQ_VSEQ, ts, q->vseq);
    if (rc >= 0 && q->aseq != NULL)
        rc = append(q, SL_MSG_AUDIO, SL_RECQ_ASEQ, ts, q->aseq);
    return rc < 0 ? rc : 0;
}

static int
push_header(struct sl_recq *q, uint8_t type, int kind, int64_t ts,
            struct sl_buf *b)
{
    struct sl_buf **latest = kind == SL_RECQ_META   ? &q->meta
                             : kind == SL_RECQ_VSEQ ? &q->vseq
                                                    : &q->aseq;

    if (same(*latest, b))
        return 0; /* a repeat (a tap's replay, a publisher's habit) */
    sl_buf_unref(*latest);
    *latest = sl_buf_ref(b);
    if (!fits(q, b->len, SL_RECQ_HDR_SLACK, HDR_SLACK_BYTES)) {
        q->resend_headers = 1;
        q->drop_video = 1;
        return 0;
    }
    return append(q, type, kind, ts, b);
}

int
sl_recq_push(struct sl_recq *q, uint8_t type, int64_t ts, struct sl_buf *b)
{
    int kind = sl_recq_classify(type, b), rc;

    switch (kind) {
    case SL_RECQ_META:
    case SL_RECQ_VSEQ:
    case SL_RECQ_ASEQ:
        return push_header(q, type, kind, ts, b);
    case SL_RECQ_VKEY:
        if (!fits(q, b->len, 0, 0)) {
            q->drop_video = 1;
            q->dropped++;
            return 0;
        }
        q->drop_video = 0;
        if (q->resend_headers && (rc = resend(q, ts)) < 0)
            return rc;
        return append(q, type, kind, ts, b);
    case SL_RECQ_VIDEO:
        if (q->drop_video || !fits(q, b->len, 0, 0)) {
            q->drop_video = 1;
            q->dropped++;
            return 0;
        }
        return append(q, type, kind, ts, b);
    case SL_RECQ_AUDIO:
    case SL_RECQ_DATA:
        if (!fits(q, b->len, 0, 0)) {
            q->dropped++;
            return 0;
        }
        /* Without video, audio is where a file resumes. */
        if (q->resend_headers && q->vseq == NULL && (rc = resend(q, ts)) < 0)
            return rc;
        return append(q, type, kind, ts, b);
    default:
        return 0;
    }
}

void
sl_recq_take(struct sl_recq *q, struct sl_list *out)
{
    while (!sl_list_empty(&q->items)) {
        struct sl_list *l = q->items.next;

        sl_list_remove(l);
        sl_list_insert_tail(out, l);
    }
    q->n = 0;
    q->bytes = 0;
}

void
sl_recq_item_free(struct sl_recq_item *it)
{
    sl_buf_unref(it->buf);
    free(it);
}

void
sl_recq_free_list(struct sl_list *l)
{
    while (!sl_list_empty(l)) {
        struct sl_recq_item *it =
            sl_list_entry(l->next, struct sl_recq_item, link);

        sl_list_remove(&it->link);
        sl_recq_item_free(it);
    }
}

void
sl_recq_clear(struct sl_recq *q)
{
    sl_recq_free_list(&q->items);
    q->n = 0;
    q->bytes = 0;
    sl_buf_unref(q->meta);
    sl_buf_unref(q->vseq);
    sl_buf_unref(q->aseq);
    q->meta = q->vseq = q->aseq = NULL;
}
