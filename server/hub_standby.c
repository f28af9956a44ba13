/*
 * The hot standby ([app] backup_publish).  A second publisher of a live
 * name stands by: under the stream lock its messages are only kept (its
 * newest metadata and codec headers, and its GOP since its last video
 * keyframe, bounded by the GOP limits, as its own bodies and
 * timestamps).  It takes over when the primary unpublishes, or when one
 * of its messages arrives and the primary's last one is ingest_ms old
 * (hub_ingest.c judges that, on the standby's task): the caches are
 * cleared, the timeline restarts after the last timestamp out, and what
 * it kept is replayed through the normal path (ring, caches, taps: by
 * hub_ingest.c, so this file calls nothing of the ingest path);
 * without a kept keyframe the new primary's inter frames wait for one.
 * Players keep their cursors; observers and taps see no end.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool/buf.h"
#include "server/hub.h"
#include "server/hub_int.h"
#include "server/log.h"

/* Drops the standby's kept GOP.  Stream lock held. */
static void
sb_gop_clear(struct sl_standby *sb)
{
    for (uint32_t i = 0; i < sb->n; i++)
        sl_buf_unref(sb->gop[i].pl);
    sb->n = 0;
    sb->bytes = 0;
    sb->gop_ok = 0;
}

/* Forgets the standby and everything it kept.  Stream lock held (or
 * the stream private to the caller). */
void
sl_standby_forget(struct sl_standby *sb)
{
    sb_gop_clear(sb);
    free(sb->gop);
    for (int i = 0; i < 3; i++)
        sl_buf_unref(sb->hdr[i].pl);
    memset(sb, 0, sizeof(*sb));
}

/* Keeps one message of the standby: the newest metadata and headers,
 * and the GOP since its last video keyframe (audio and data only with
 * video: without it any audio frame is a place to start, so a takeover
 * needs none kept).  Stream lock held. */
void
sl_standby_keep(struct sl_stream *s, const struct sl_ingest_msg *m, uint32_t ts)
{
    const struct sl_hub_limits *lim = &s->hub->lim;
    struct sl_standby          *sb = &s->sb;
    struct sl_standby_ent      *slot = NULL;

    sb->have_ts = 1;
    sb->last_ts = ts;
    if (m->is_meta)
        slot = &sb->hdr[0];
    else if (m->info.seq_header)
        slot = &sb->hdr[m->info.video ? 1 : 2];
    if (slot != NULL) {
        if (m->info.video)
            sb->has_video = 1;
        sl_buf_unref(slot->pl);
        *slot = (struct sl_standby_ent){sl_buf_ref(m->payload), ts, m->type};
        return;
    }
    if (m->info.video && m->info.keyframe) {
        sb_gop_clear(sb);
        sb->gop_ok = 1;
        sb->has_video = 1;
    }
    if (!sb->gop_ok || !sb->has_video)
        return;
    if (sb->n >= lim->gop_max_msgs ||
        sb->bytes + m->payload->len > lim->gop_max_bytes) {
        sb_gop_clear(sb); /* too long: wait for the next keyframe */
        return;
    }
    if (sb->n == sb->cap) {
        uint32_t               ncap = sb->cap ? 2 * sb->cap : 64;
        struct sl_standby_ent *nv;

        if (ncap > lim->gop_max_msgs)
            ncap = lim->gop_max_msgs;
        nv = realloc(sb->gop, (size_t) ncap * sizeof(*nv));
        if (nv == NULL) {
            sb_gop_clear(sb);
            return;
        }
        sb->gop = nv;
        sb->cap = ncap;
    }
    sb->gop[sb->n++] =
        (struct sl_standby_ent){sl_buf_ref(m->payload), ts, m->type};
    sb->bytes += m->payload->len;
}

/* The standby becomes the primary; demoted (the old primary, which
 * stalled) becomes the standby, or nobody when NULL (the primary
 * left).  Players, taps and observers see no end: the caller replays
 * what the standby kept, its metadata and headers and then its GOP from
 * its last keyframe, on the same timeline (a new publication's first
 * message continues right after the last one out).  Stream lock held. */
void
sl_standby_promote(struct sl_stream *s, uint64_t now_ms, const void *demoted,
                   struct sl_standby *kept)
{
    uint64_t old_id = s->pub_id;
    uint64_t gap = now_ms > s->pub_last_ms ? now_ms - s->pub_last_ms : 0;

    *kept = s->sb; /* moved out: the slot may be refilled */
    memset(&s->sb, 0, sizeof(s->sb));
    s->publisher = kept->who;
    s->pub_id = kept->id;
    if (demoted != NULL) {
        s->sb.who = demoted;
        s->sb.id = old_id;
    }
    /* Late joiners and skips must start from the new primary's headers
     * and keyframes; the ring entries stay for players reading them. */
    sl_ring_caches_clear(s);
    s->have_ts = 0;
    s->need_key = 1;
    atomic_fetch_add(&s->hub->takeovers, 1);
    if (demoted != NULL)
        sl_log_info("%s/%s: standby c%llu took over after primary c%llu "
                    "sent no media for %llu ms (%u kept messages); c%llu "
                    "is the standby now",
                    s->app, s->name, (unsigned long long) kept->id,
                    (unsigned long long) old_id, (unsigned long long) gap,
                    kept->n, (unsigned long long) old_id);
    else
        sl_log_info("%s/%s: standby c%llu took over after primary c%llu "
                    "left (gap %llu ms, %u kept messages)",
                    s->app, s->name, (unsigned long long) kept->id,
                    (unsigned long long) old_id, (unsigned long long) gap,
                    kept->n);
}
