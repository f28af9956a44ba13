/*
 * The API's view of sessions (see session_info.h).  Everything here runs
 * either on the session's own task (the writers) or on the HTTP and
 * sampler threads (collect, kick), never on both for one field without
 * the info lock or an atomic.
 */
#include "server/session_info.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool/clock.h"
#include "rtmp/amf.h"
#include "rtmp/codec.h"
#include "rtmp/flv.h"
#include "rtmp/meta.h"
#include "server/hub.h"
#include "server/server.h"

void
sl_session_info_init(struct sl_sess_info *info, uint64_t id, const char *peer,
                     struct sl_task *task)
{
    info->id = id;
    snprintf(info->peer, sizeof(info->peer), "%s", peer);
    info->task = task;
    sl_list_init(&info->link);
    pthread_mutex_init(&info->lock, NULL);
}

void
sl_session_info_destroy(struct sl_sess_info *info)
{
    pthread_mutex_destroy(&info->lock);
}

void
sl_session_info_list(struct sl_server *srv, struct sl_sess_info *info)
{
    pthread_mutex_lock(&srv->lock);
    sl_list_insert_tail(&srv->sessions, &info->link);
    pthread_mutex_unlock(&srv->lock);
}

void
sl_session_info_unlist(struct sl_server *srv, struct sl_sess_info *info)
{
    pthread_mutex_lock(&srv->lock);
    sl_list_remove(&info->link);
    pthread_mutex_unlock(&srv->lock);
}

/* Copies a peer-supplied string for display: printable ASCII only, so
 * it can never break a log line or a JSON string. */
static void
copy_printable(char *dst, size_t cap, const char *src, size_t n)
{
    size_t j = 0;

    for (size_t i = 0; i < n && j + 1 < cap; i++) {
        unsigned char c = (unsigned char) src[i];

        dst[j++] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }
    dst[j] = '\0';
}

void
sl_session_info_client(struct sl_sess_info *info, const char *client, size_t n)
{
    pthread_mutex_lock(&info->lock);
    copy_printable(info->client, sizeof(info->client), client, n);
    pthread_mutex_unlock(&info->lock);
}

void
sl_session_info_role(struct sl_sess_info *info, int role, const char *app,
                     const char *name, const char *proto)
{
    pthread_mutex_lock(&info->lock);
    info->role = role;
    snprintf(info->proto, sizeof(info->proto), "%s", proto);
    if (role != 0) {
        snprintf(info->app, sizeof(info->app), "%s", app);
        snprintf(info->name, sizeof(info->name), "%s", name);
        info->since_ms = sl_now_ms();
    }
    if (role == SL_SNAP_ROLE_PUBLISHER) {
        memset(&info->media, 0, sizeof(info->media));
        atomic_store_explicit(&info->media_bytes, 0, memory_order_relaxed);
        atomic_store_explicit(&info->video_frames, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&info->role_a, role, memory_order_relaxed);
    pthread_mutex_unlock(&info->lock);
}

/* A metadata number the API can show: 0 unless 0..1e6. */
static double
meta_number(const struct sl_amf_doc *d, const struct sl_amf_node *obj,
            const char *key)
{
    double v = sl_meta_number(d, obj, key);

    return v <= 1e6 ? v : 0;
}

/* onMetaData: what the encoder says about its output. */
static void
info_metadata(struct sl_sess_info *info, const uint8_t *p, size_t len)
{
    struct sl_amf_node        nodes[256];
    struct sl_amf_doc         d;
    const struct sl_amf_node *obj, *enc;
    struct sl_media_facts    *m = &info->media;

    sl_amf_doc_init(&d, nodes, 256);
    if (!sl_meta_find(&d, p, len, &obj) || obj == NULL)
        return;
    pthread_mutex_lock(&info->lock);
    m->meta_width = (int) meta_number(&d, obj, "width");
    m->meta_height = (int) meta_number(&d, obj, "height");
    m->meta_fps = meta_number(&d, obj, "framerate");
    if (m->meta_fps == 0)
        m->meta_fps = meta_number(&d, obj, "videoframerate");
    m->meta_rate = (int) meta_number(&d, obj, "audiosamplerate");
    enc = sl_amf_prop(&d, obj, "encoder");
    if (enc != NULL && enc->type == SL_AMF_STRING)
        copy_printable(m->encoder, sizeof(m->encoder), (const char *) enc->str,
                       enc->str_len);
    pthread_mutex_unlock(&info->lock);
}

void
sl_session_info_media(struct sl_sess_info *info, uint8_t type, const uint8_t *p,
                      size_t len)
{
    struct sl_media_facts *m = &info->media;
    struct sl_flv_info     fi;
    char                   name[16];

    atomic_fetch_add_explicit(&info->media_bytes, len, memory_order_relaxed);
    if (type == SL_MSG_DATA_AMF0) {
        info_metadata(info, p, len);
        return;
    }
    sl_flv_inspect(type, p, len, &fi);
    if (fi.video && !fi.seq_header && !fi.seq_end && !fi.command)
        atomic_fetch_add_explicit(&info->video_frames, 1, memory_order_relaxed);
    /* This task is the only writer, so it reads its own fields without
     * the lock; it takes the lock only to change them. */
    if (fi.video && (fi.seq_header || m->vcodec[0] == '\0')) {
        struct sl_avc_info avc;
        int                have_sps = 0;

        sl_flv_codec_name(&fi, name, sizeof(name));
        if (fi.seq_header && !fi.enhanced && fi.codec == SL_FLV_VIDEO_AVC &&
            len > 5)
            have_sps = sl_avc_parse_config(p + 5, len - 5, &avc) == 0;
        pthread_mutex_lock(&info->lock);
        snprintf(m->vcodec, sizeof(m->vcodec), "%s", name);
        if (have_sps) {
            m->sps_width = avc.width;
            m->sps_height = avc.height;
            m->sps_fps = avc.fps;
        }
        pthread_mutex_unlock(&info->lock);
    } else if (fi.audio && (fi.seq_header || m->acodec[0] == '\0')) {
        struct sl_aac_info aac;
        int                rate = 0, channels = 0;

        sl_flv_codec_name(&fi, name, sizeof(name));
        if (fi.seq_header && !fi.enhanced && fi.codec == SL_FLV_AUDIO_AAC &&
            len > 2 && sl_aac_parse_asc(p + 2, len - 2, &aac) == 0) {
            rate = aac.sample_rate;
            channels = aac.channels;
        } else if (!fi.enhanced && fi.codec != SL_FLV_AUDIO_AAC && len > 0) {
            /* Classic FLV audio: the rate and channels are in the tag
             * header (the four rates FLV knows). */
            static const int rates[4] = {5512, 11025, 22050, 44100};

            rate = rates[(p[0] >> 2) & 3];
            channels = (p[0] & 1) + 1;
        }
        pthread_mutex_lock(&info->lock);
        snprintf(m->acodec, sizeof(m->acodec), "%s", name);
        if (rate > 0) {
            m->asc_rate = rate;
            m->asc_channels = channels;
        }
        pthread_mutex_unlock(&info->lock);
    }
}

void
sl_session_info_srt(struct sl_sess_info *info, const struct sl_srt_facts *f)
{
    pthread_mutex_lock(&info->lock);
    info->srt = *f;
    pthread_mutex_unlock(&info->lock);
}

static void
snap_one(struct sl_sess_info *in, struct sl_sess_snap *o)
{
    o->id = in->id;
    snprintf(o->peer, sizeof(o->peer), "%s", in->peer); /* immutable */
    pthread_mutex_lock(&in->lock);
    o->role = in->role;
    memcpy(o->proto, in->proto, sizeof(o->proto));
    memcpy(o->app, in->app, sizeof(o->app));
    memcpy(o->name, in->name, sizeof(o->name));
    memcpy(o->client, in->client, sizeof(o->client));
    o->media = in->media;
    o->srt = in->srt;
    o->since_ms = in->since_ms;
    pthread_mutex_unlock(&in->lock);
    o->bytes_in = atomic_load_explicit(&in->bytes_in, memory_order_relaxed);
    o->bytes_out = atomic_load_explicit(&in->bytes_out, memory_order_relaxed);
    o->media_bytes =
        atomic_load_explicit(&in->media_bytes, memory_order_relaxed);
    o->video_frames =
        atomic_load_explicit(&in->video_frames, memory_order_relaxed);
    o->skips = atomic_load_explicit(&in->skips, memory_order_relaxed);
    o->dropped = atomic_load_explicit(&in->dropped, memory_order_relaxed);
    o->lag_ms = atomic_load_explicit(&in->lag_ms, memory_order_relaxed);
}

int
sl_session_collect(struct sl_server *srv, int publishers_only,
                   struct sl_sess_snap **out)
{
    struct sl_list      *pos, *tmp;
    struct sl_sess_snap *v = NULL;
    int                  n = 0, cap = 0;

    /* A session stays in the list until it unlists itself under this
     * lock, and drops its owner reference only after that, so every
     * info seen here is alive while the lock is held. */
    pthread_mutex_lock(&srv->lock);
    sl_list_foreach_safe(pos, tmp, &srv->sessions)
    {
        struct sl_sess_info *in = sl_list_entry(pos, struct sl_sess_info, link);
        int role = atomic_load_explicit(&in->role_a, memory_order_relaxed);

        if (role == 0 || (publishers_only && role != SL_SNAP_ROLE_PUBLISHER))
            continue;
        if (n == cap) {
            int                  ncap = cap ? cap * 2 : 16;
            struct sl_sess_snap *nv = realloc(v, (size_t) ncap * sizeof(*v));

            if (nv == NULL) {
                pthread_mutex_unlock(&srv->lock);
                free(v);
                return -ENOMEM;
            }
            v = nv;
            cap = ncap;
        }
        snap_one(in, &v[n]);
        if (v[n].role != 0) /* it may have left meanwhile */
            n++;
    }
    pthread_mutex_unlock(&srv->lock);
    *out = v;
    return n;
}

/* Sets the kick flag of the publishers of app/name (only the one with
 * client id only_id, unless it is 0).  How many were found. */
static int
kick_where(struct sl_server *srv, const char *app, const char *name,
           uint64_t only_id)
{
    struct sl_list *pos, *tmp;
    int             found = 0;

    pthread_mutex_lock(&srv->lock);
    sl_list_foreach_safe(pos, tmp, &srv->sessions)
    {
        struct sl_sess_info *in = sl_list_entry(pos, struct sl_sess_info, link);
        int                  hit;

        if (atomic_load_explicit(&in->role_a, memory_order_relaxed) !=
                SL_SNAP_ROLE_PUBLISHER ||
            (only_id != 0 && in->id != only_id))
            continue;
        pthread_mutex_lock(&in->lock);
        hit = in->role == SL_SNAP_ROLE_PUBLISHER && !strcmp(in->app, app) &&
              !strcmp(in->name, name);
        pthread_mutex_unlock(&in->lock);
        if (hit) {
            atomic_store_explicit(&in->kick, 1, memory_order_relaxed);
            sl_task_wake(in->task);
            found++;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    return found;
}

int
sl_session_kick_publisher(struct sl_server *srv, const char *app,
                          const char *name)
{
    uint64_t standby = sl_hub_standby_id(srv->hub, app, name);
    int      found = 0;

    /* A standby (backup_publish) goes first, and is gone before the
     * primary is cut, or it would take over the stream the operator
     * ended.  Bounded: a session acts on a kick at its next run. */
    if (standby != 0 && kick_where(srv, app, name, standby) > 0) {
        found = 1;
        for (int i = 0;
             i < 200 && sl_hub_standby_id(srv->hub, app, name) == standby;
             i++) {
            struct timespec ts = {0, 5 * 1000 * 1000};

            nanosleep(&ts, NULL);
        }
    }
    found += kick_where(srv, app, name, 0);
    return found > 0 ? 0 : -ENOENT;
}
