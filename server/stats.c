/*
 * Snapshots, the sampler and the provider registry (see stats.h).
 *
 * The sampler thread wakes once a second, copies the server's totals and
 * every publisher's byte and frame counts, and appends them to rings of
 * SL_STATS_HISTORY samples together with the rates over the window that
 * ends there.  A request's snapshot takes fresh totals and divides the
 * difference to the sample about SL_STATS_WINDOW_S seconds old by the
 * time between them, so a rate is as fresh as the request.  Streams are
 * keyed by their publisher's session id: a publisher that reconnects is
 * a new stream history.
 *
 * Locks: hist_lock guards the rings (sampler writes, requests read);
 * prov_lock the provider registry.  Neither is held while calling into
 * sessions or providers... except prov_lock around a provider call, so
 * that unregistering waits for calls in progress.  Both are leaves.
 */
#include "server/stats.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pool/clock.h"
#include "server/cluster.h"
#include "server/hub.h"
#include "server/server.h"
#include "server/session_info.h"

/* ---- providers ---- */

static pthread_mutex_t           prov_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_stats_providers prov;

void
sl_stats_set_providers(const struct sl_stats_providers *p)
{
    pthread_mutex_lock(&prov_lock);
    if (p != NULL)
        prov = *p;
    else
        memset(&prov, 0, sizeof(prov));
    pthread_mutex_unlock(&prov_lock);
}

void
sl_stats_redact_url(char *url)
{
    char *q = strchr(url, '?'), *scheme, *host, *at, *slash;

    if (q != NULL)
        *q = '\0';
    scheme = strstr(url, "://");
    host = scheme != NULL ? scheme + 3 : url;
    slash = strchr(host, '/');
    at = strchr(host, '@');
    if (at != NULL && (slash == NULL || at < slash))
        memmove(host, at + 1, strlen(at + 1) + 1);
}

static int
prov_relay_count(void)
{
    int n = 0;

    pthread_mutex_lock(&prov_lock);
    if (prov.relay_count != NULL)
        n = prov.relay_count(prov.ctx);
    pthread_mutex_unlock(&prov_lock);
    return n > 0 ? n : 0;
}

static int
prov_hls_viewers(void)
{
    int n = 0;

    pthread_mutex_lock(&prov_lock);
    if (prov.hls_viewers != NULL)
        n = prov.hls_viewers(prov.ctx, NULL, NULL);
    pthread_mutex_unlock(&prov_lock);
    return n > 0 ? n : 0;
}

static void
prov_stream(struct sl_snap_stream *st)
{
    int n;

    pthread_mutex_lock(&prov_lock);
    if (prov.renditions != NULL) {
        n = prov.renditions(prov.ctx, st->app, st->name, st->renditions,
                            SL_STATS_MAX_REND);
        st->nrenditions = n < 0                   ? 0
                          : n > SL_STATS_MAX_REND ? SL_STATS_MAX_REND
                                                  : n;
    }
    if (prov.relays != NULL) {
        n = prov.relays(prov.ctx, st->app, st->name, st->relays,
                        SL_STATS_MAX_RELAYS);
        st->nrelays = n < 0                     ? 0
                      : n > SL_STATS_MAX_RELAYS ? SL_STATS_MAX_RELAYS
                                                : n;
    }
    if (prov.recording != NULL)
        st->has_recording =
            prov.recording(prov.ctx, st->app, st->name, &st->recording) > 0;
    if (prov.hls != NULL)
        st->has_hls = prov.hls(prov.ctx, st->app, st->name, &st->hls) > 0;
    if (prov.hls_viewers != NULL) {
        n = prov.hls_viewers(prov.ctx, st->app, st->name);
        st->players_by_protocol[SL_PROTO_HLS] = n > 0 ? n : 0;
    }
    pthread_mutex_unlock(&prov_lock);
    st->recording.file[sizeof(st->recording.file) - 1] = '\0';
    st->recording.state[sizeof(st->recording.state) - 1] = '\0';
    /* Providers are code of ours, but what they copy came from config
     * files and peers: terminate and redact here, once. */
    for (int i = 0; i < st->nrenditions; i++)
        st->renditions[i].name[sizeof(st->renditions[i].name) - 1] = '\0';
    for (int i = 0; i < st->nrelays; i++) {
        struct sl_stats_relay *r = &st->relays[i];

        r->name[sizeof(r->name) - 1] = '\0';
        r->state[sizeof(r->state) - 1] = '\0';
        r->url[sizeof(r->url) - 1] = '\0';
        sl_stats_redact_url(r->url);
    }
}

/* ---- the process ---- */

static double
cpu_seconds(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static uint64_t
rss_bytes(void)
{
    FILE              *f = fopen("/proc/self/statm", "re");
    unsigned long long size = 0, rss = 0;

    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    return (uint64_t) rss * (uint64_t) sysconf(_SC_PAGESIZE);
}

static double
unix_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- history ---- */

struct sample {
    uint64_t mono_ms;
    double   t;
    uint64_t in, out; /* totals */
    double   cpu_s;
    uint64_t rss;
    uint64_t rate_in, rate_out; /* over the window ending here */
    double   cpu_pct;
};

struct ssample {
    uint64_t mono_ms;
    double   t;
    uint64_t bytes, frames;
    uint64_t rate;
};

struct hstream {
    uint64_t       pub_id;
    char           app[SL_NAME_MAX];
    char           name[SL_NAME_MAX];
    uint64_t       seen_tick;
    int            n, head; /* ring: newest at head - 1 */
    struct ssample s[SL_STATS_HISTORY];
};

struct sl_stats {
    struct sl_server *srv;
    char              path[256];
    uint64_t          start_mono_ms;
    double            start_unix;

    pthread_t       thread;
    int             started;
    pthread_mutex_t stop_lock;
    pthread_cond_t  stop_cond;
    int             stop;

    pthread_mutex_t  hist_lock;
    uint64_t         tick;
    int              n, head;
    struct sample    s[SL_STATS_HISTORY];
    int              nstreams, cap_streams;
    struct hstream **streams;
};

#define RING_AT(ring, head, n, i)                                              \
    (ring)[((head) - (n) + (i) + SL_STATS_HISTORY) % SL_STATS_HISTORY]

/* Bits per second from the sample about a window old (or the oldest
 * there is) to now.  0 when less than half a second lies between. */
static uint64_t
rate_since(uint64_t then_ms, uint64_t then_total, uint64_t now_ms,
           uint64_t now_total)
{
    uint64_t dt = now_ms - then_ms;

    if (now_ms <= then_ms || dt < 500 || now_total < then_total)
        return 0;
    return (now_total - then_total) * 8 * 1000 / dt;
}

/* Index (0 = oldest) of the newest sample at least a window older than
 * now_ms, or 0.  Caller holds hist_lock. */
static int
window_start(const struct sample *ring, int head, int n, uint64_t now_ms)
{
    int best = 0;

    for (int i = 0; i < n; i++)
        if (RING_AT(ring, head, n, i).mono_ms + SL_STATS_WINDOW_S * 1000 <=
            now_ms)
            best = i;
    return best;
}

static int
swindow_start(const struct hstream *h, uint64_t now_ms)
{
    int best = 0;

    for (int i = 0; i < h->n; i++)
        if (RING_AT(h->s, h->head, h->n, i).mono_ms +
                SL_STATS_WINDOW_S * 1000 <=
            now_ms)
            best = i;
    return best;
}

static struct hstream *
find_hstream(struct sl_stats *st, uint64_t pub_id)
{
    for (int i = 0; i < st->nstreams; i++)
        if (st->streams[i]->pub_id == pub_id)
            return st->streams[i];
    return NULL;
}

/* Appends the server's totals in smp to the ring, with the rates over
 * the window that ends there.  Caller holds hist_lock. */
static void
push_sample(struct sl_stats *st, struct sample *smp)
{
    if (st->n > 0) {
        const struct sample *o =
            &RING_AT(st->s, st->head, st->n,
                     window_start(st->s, st->head, st->n, smp->mono_ms));
        double dt = (double) (smp->mono_ms - o->mono_ms) / 1000.0;

        smp->rate_in = rate_since(o->mono_ms, o->in, smp->mono_ms, smp->in);
        smp->rate_out = rate_since(o->mono_ms, o->out, smp->mono_ms, smp->out);
        smp->cpu_pct = dt >= 0.5 ? 100.0 * (smp->cpu_s - o->cpu_s) / dt : 0;
    } else {
        smp->rate_in = smp->rate_out = 0;
        smp->cpu_pct = 0;
    }
    /* The freshest window rate, for the agent and admission (cluster.h),
     * which must not take hist_lock on every play. */
    atomic_store_explicit(&st->srv->out_bps, smp->rate_out,
                          memory_order_relaxed);
    st->s[st->head] = *smp;
    st->head = (st->head + 1) % SL_STATS_HISTORY;
    if (st->n < SL_STATS_HISTORY)
        st->n++;
}

/* A history for a publication seen for the first time, or NULL when out
 * of memory.  Caller holds hist_lock. */
static struct hstream *
new_hstream(struct sl_stats *st, const struct sl_sess_snap *pub)
{
    struct hstream *h;

    if (st->nstreams == st->cap_streams) {
        int              ncap = st->cap_streams ? 2 * st->cap_streams : 8;
        struct hstream **nv = realloc(st->streams, (size_t) ncap * sizeof(*nv));

        if (nv == NULL)
            return NULL;
        st->streams = nv;
        st->cap_streams = ncap;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->pub_id = pub->id;
    memcpy(h->app, pub->app, sizeof(h->app));
    memcpy(h->name, pub->name, sizeof(h->name));
    /* The publication began at zero bytes: that is the first sample, so
     * the first rates cover its whole life. */
    h->s[0] = (struct ssample){pub->since_ms, 0, 0, 0, 0};
    h->n = h->head = 1;
    st->streams[st->nstreams++] = h;
    return h;
}

/* Appends a publisher's counts, taken with smp, to its history.  Caller
 * holds hist_lock. */
static void
push_stream_sample(struct sl_stats *st, const struct sl_sess_snap *pub,
                   const struct sample *smp)
{
    struct hstream       *h = find_hstream(st, pub->id);
    struct ssample        ss = {smp->mono_ms, smp->t, pub->media_bytes,
                                pub->video_frames, 0};
    const struct ssample *o;

    /* A standby publisher has no history of its own (it starts one when
     * it takes over). */
    if (sl_hub_standby_id(st->srv->hub, pub->app, pub->name) == pub->id)
        return;
    if (h == NULL && (h = new_hstream(st, pub)) == NULL)
        return;
    o = &RING_AT(h->s, h->head, h->n, swindow_start(h, ss.mono_ms));
    ss.rate = rate_since(o->mono_ms, o->bytes, ss.mono_ms, ss.bytes);
    h->s[h->head] = ss;
    h->head = (h->head + 1) % SL_STATS_HISTORY;
    if (h->n < SL_STATS_HISTORY)
        h->n++;
    h->seen_tick = st->tick;
}

/* Forgets the publications that were not seen this tick: they ended.
 * Caller holds hist_lock. */
static void
forget_ended(struct sl_stats *st)
{
    for (int i = 0; i < st->nstreams;) {
        if (st->streams[i]->seen_tick != st->tick) {
            free(st->streams[i]);
            st->streams[i] = st->streams[--st->nstreams];
        } else {
            i++;
        }
    }
}

static void
sample_once(struct sl_stats *st)
{
    struct sl_server    *srv = st->srv;
    struct sl_sess_snap *pubs = NULL;
    struct sample        smp;
    int                  npubs;

    smp.mono_ms = sl_now_ms();
    smp.t = unix_now();
    smp.in = atomic_load_explicit(&srv->bytes_in, memory_order_relaxed);
    smp.out = atomic_load_explicit(&srv->bytes_out, memory_order_relaxed);
    smp.cpu_s = cpu_seconds();
    smp.rss = rss_bytes();
    npubs = sl_session_collect(srv, 1, &pubs);

    pthread_mutex_lock(&st->hist_lock);
    st->tick++;
    push_sample(st, &smp);
    for (int i = 0; i < npubs; i++)
        push_stream_sample(st, &pubs[i], &smp);
    forget_ended(st);
    pthread_mutex_unlock(&st->hist_lock);
    free(pubs);
}

static void *
sampler_main(void *arg)
{
    struct sl_stats *st = arg;

    pthread_mutex_lock(&st->stop_lock);
    while (!st->stop) {
        struct timespec ts;

        pthread_mutex_unlock(&st->stop_lock);
        sample_once(st);
        pthread_mutex_lock(&st->stop_lock);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        while (!st->stop &&
               pthread_cond_timedwait(&st->stop_cond, &st->stop_lock, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&st->stop_lock);
    return NULL;
}

struct sl_stats *
sl_stats_new(struct sl_server *srv, const char *config_path)
{
    struct sl_stats   *st = calloc(1, sizeof(*st));
    pthread_condattr_t ca;

    if (st == NULL)
        return NULL;
    st->srv = srv;
    snprintf(st->path, sizeof(st->path), "%s", config_path);
    st->start_mono_ms = sl_now_ms();
    st->start_unix = unix_now();
    pthread_mutex_init(&st->stop_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->stop_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&st->hist_lock, NULL);
    return st;
}

int
sl_stats_start(struct sl_stats *st)
{
    int rc = pthread_create(&st->thread, NULL, sampler_main, st);

    if (rc != 0)
        return -rc;
    st->started = 1;
    return 0;
}

void
sl_stats_free(struct sl_stats *st)
{
    if (st == NULL)
        return;
    if (st->started) {
        pthread_mutex_lock(&st->stop_lock);
        st->stop = 1;
        pthread_cond_signal(&st->stop_cond);
        pthread_mutex_unlock(&st->stop_lock);
        pthread_join(st->thread, NULL);
    }
    for (int i = 0; i < st->nstreams; i++)
        free(st->streams[i]);
    free(st->streams);
    pthread_mutex_destroy(&st->hist_lock);
    pthread_mutex_destroy(&st->stop_lock);
    pthread_cond_destroy(&st->stop_cond);
    free(st);
}

/* ---- snapshots ---- */

static int
cmp_stream(const void *a, const void *b)
{
    const struct sl_snap_stream *x = a, *y = b;
    int                          c = strcmp(x->app, y->app);

    return c != 0 ? c : strcmp(x->name, y->name);
}

static int
cmp_hstream(const void *a, const void *b)
{
    const struct sl_hist_stream *x = a, *y = b;
    int                          c = strcmp(x->app, y->app);

    return c != 0 ? c : strcmp(x->name, y->name);
}

static void
fill_stream(struct sl_snap_stream *o, const struct sl_sess_snap *p,
            uint64_t now_ms)
{
    const struct sl_media_facts *m = &p->media;

    memcpy(o->app, p->app, sizeof(o->app));
    memcpy(o->name, p->name, sizeof(o->name));
    o->publisher_id = p->id;
    snprintf(o->publisher_addr, sizeof(o->publisher_addr), "%s", p->peer);
    memcpy(o->client, p->client, sizeof(o->client));
    memcpy(o->encoder, m->encoder, sizeof(o->encoder));
    memcpy(o->protocol, p->proto, sizeof(o->protocol));
    o->srt = p->srt;
    memcpy(o->vcodec, m->vcodec, sizeof(o->vcodec));
    memcpy(o->acodec, m->acodec, sizeof(o->acodec));
    /* The SPS is what the decoder will see; metadata is what the
     * encoder claims.  Prefer the first. */
    o->width = m->sps_width > 0 ? m->sps_width : m->meta_width;
    o->height = m->sps_height > 0 ? m->sps_height : m->meta_height;
    o->fps = m->meta_fps > 0 ? m->meta_fps : m->sps_fps;
    o->sample_rate = m->asc_rate > 0 ? m->asc_rate : m->meta_rate;
    o->channels = m->asc_channels;
    o->bytes_in = p->media_bytes;
    o->uptime_s = now_ms > p->since_ms ? (now_ms - p->since_ms) / 1000.0 : 0;
}

/* Rates and, when nothing declared one, the measured frame rate.
 * Caller holds hist_lock. */
static void
stream_rates(struct sl_stats *st, struct sl_snap_stream *o,
             const struct sl_sess_snap *p, uint64_t now_ms)
{
    struct hstream       *h = find_hstream(st, p->id);
    const struct ssample *old;
    double                dt;

    if (h == NULL) {
        /* Younger than the first sample: the rate of its life so far. */
        o->bitrate = rate_since(p->since_ms, 0, now_ms, p->media_bytes);
        return;
    }
    old = &RING_AT(h->s, h->head, h->n, swindow_start(h, now_ms));
    o->bitrate = rate_since(old->mono_ms, old->bytes, now_ms, p->media_bytes);
    dt = (double) (now_ms - old->mono_ms) / 1000.0;
    if (o->fps <= 0 && dt >= 0.5 && p->video_frames >= old->frames)
        o->fps = (double) (p->video_frames - old->frames) / dt;
}

#define MAX_SERVED 256

/* The streams no session publishes (renditions, edge pulls), for app/name
 * or all (app NULL).  A new array the caller frees; the count. */
static int
prov_served(const char *app, const char *name, struct sl_stats_served **out)
{
    int n = 0, k = 0;

    *out = calloc(MAX_SERVED, sizeof(**out));
    if (*out == NULL)
        return 0;
    pthread_mutex_lock(&prov_lock);
    if (prov.served != NULL)
        n = prov.served(prov.ctx, *out, MAX_SERVED);
    pthread_mutex_unlock(&prov_lock);
    n = n < 0 ? 0 : n > MAX_SERVED ? MAX_SERVED : n;
    for (int i = 0; i < n; i++) {
        struct sl_stats_served *x = &(*out)[i];

        x->app[sizeof(x->app) - 1] = '\0';
        x->name[sizeof(x->name) - 1] = '\0';
        x->origin[sizeof(x->origin) - 1] = '\0';
        x->client[sizeof(x->client) - 1] = '\0';
        x->vcodec[sizeof(x->vcodec) - 1] = '\0';
        x->acodec[sizeof(x->acodec) - 1] = '\0';
        sl_stats_redact_url(x->origin);
        if (app == NULL || (!strcmp(x->app, app) && !strcmp(x->name, name)))
            (*out)[k++] = *x;
    }
    return k;
}

static void
fill_served(struct sl_snap_stream *o, const struct sl_stats_served *x)
{
    memcpy(o->app, x->app, sizeof(o->app));
    memcpy(o->name, x->name, sizeof(o->name));
    snprintf(o->publisher_addr, sizeof(o->publisher_addr), "%s", x->origin);
    snprintf(o->client, sizeof(o->client), "%s", x->client);
    memcpy(o->vcodec, x->vcodec, sizeof(o->vcodec));
    memcpy(o->acodec, x->acodec, sizeof(o->acodec));
    o->width = x->width;
    o->height = x->height;
    o->fps = x->fps;
    o->bitrate = x->bitrate;
    o->uptime_s = x->uptime_s;
}

/* 1 when v is a publisher the snapshot asks for (every one when app is
 * NULL, else the one of app/name). */
static int
wanted_publisher(const struct sl_sess_snap *v, const char *app,
                 const char *name)
{
    return v->role == SL_SNAP_ROLE_PUBLISHER &&
           (app == NULL || (!strcmp(v->app, app) && !strcmp(v->name, name)));
}

/* 1 when v plays the stream o. */
static int
plays(const struct sl_sess_snap *v, const struct sl_snap_stream *o)
{
    return v->role == SL_SNAP_ROLE_PLAYER && !strcmp(v->app, o->app) &&
           !strcmp(v->name, o->name);
}

/* A standby publisher (backup_publish) is no stream of its own: the
 * stream is listed once, with its primary.  Its role is cleared. */
static void
hide_standbys(struct sl_stats *st, struct sl_sess_snap *v, int n)
{
    for (int i = 0; i < n; i++)
        if (v[i].role == SL_SNAP_ROLE_PUBLISHER &&
            sl_hub_standby_id(st->srv->hub, v[i].app, v[i].name) == v[i].id)
            v[i].role = 0;
}

/* Counts the players of o among the n sessions of v and, with
 * SL_SNAP_PLAYERS, lists them.  0 or -ENOMEM. */
static int
fill_players(struct sl_snap_stream *o, const struct sl_sess_snap *v, int n,
             int flags, uint64_t now_ms)
{
    int j = 0;

    for (int i = 0; i < n; i++)
        if (plays(&v[i], o)) {
            int id = sl_proto_id_of(v[i].proto);

            o->nplayers++;
            if (id >= 0)
                o->players_by_protocol[id]++;
        }
    if (!(flags & SL_SNAP_PLAYERS) || o->nplayers == 0)
        return 0;
    o->players = calloc((size_t) o->nplayers, sizeof(*o->players));
    if (o->players == NULL)
        return -ENOMEM;
    for (int i = 0; i < n && j < o->nplayers; i++) {
        struct sl_snap_player *pl = &o->players[j];

        if (!plays(&v[i], o))
            continue;
        pl->id = v[i].id;
        memcpy(pl->address, v[i].peer, sizeof(pl->address));
        snprintf(pl->protocol, sizeof(pl->protocol), "%s", v[i].proto);
        pl->bytes_sent = v[i].bytes_out;
        pl->lag_ms = v[i].lag_ms;
        pl->skips = v[i].skips;
        pl->srt = v[i].srt;
        pl->dropped_frames = v[i].dropped;
        pl->uptime_s =
            now_ms > v[i].since_ms ? (now_ms - v[i].since_ms) / 1000.0 : 0;
        j++;
    }
    return 0;
}

static int
build_streams(struct sl_stats *st, struct sl_snapshot *snap, int flags,
              const char *app, const char *name, uint64_t now_ms)
{
    struct sl_sess_snap    *v = NULL;
    struct sl_stats_served *served = NULL;
    int                     n, npubs = 0, nserved;

    n = sl_session_collect(st->srv, 0, &v);
    if (n < 0)
        return n;
    hide_standbys(st, v, n);
    /* The server's players by protocol, from every session (a player
     * waiting for its publisher belongs to no listed stream). */
    for (int i = 0; i < n; i++) {
        int id = sl_proto_id_of(v[i].proto);

        if (v[i].role == SL_SNAP_ROLE_PLAYER && id >= 0)
            snap->players_by_protocol[id]++;
    }
    /* HLS viewers have no session: the packager counts them by id. */
    snap->players_by_protocol[SL_PROTO_HLS] = prov_hls_viewers();
    nserved = prov_served(app, name, &served);
    npubs = nserved;
    for (int i = 0; i < n; i++)
        if (wanted_publisher(&v[i], app, name))
            npubs++;
    snap->streams =
        calloc(npubs > 0 ? (size_t) npubs : 1, sizeof(*snap->streams));
    if (snap->streams == NULL) {
        free(v);
        free(served);
        return -ENOMEM;
    }
    pthread_mutex_lock(&st->hist_lock);
    for (int i = 0; i < n; i++) {
        struct sl_snap_stream *o;

        if (!wanted_publisher(&v[i], app, name))
            continue;
        o = &snap->streams[snap->nstreams++];
        fill_stream(o, &v[i], now_ms);
        o->standby_id = sl_hub_standby_id(st->srv->hub, o->app, o->name);
        stream_rates(st, o, &v[i], now_ms);
    }
    pthread_mutex_unlock(&st->hist_lock);
    for (int i = 0; i < nserved; i++)
        fill_served(&snap->streams[snap->nstreams++], &served[i]);
    free(served);
    for (int k = 0; k < snap->nstreams; k++) {
        if (fill_players(&snap->streams[k], v, n, flags, now_ms) < 0) {
            free(v);
            return -ENOMEM;
        }
        prov_stream(&snap->streams[k]);
    }
    free(v);
    qsort(snap->streams, (size_t) snap->nstreams, sizeof(*snap->streams),
          cmp_stream);
    return 0;
}

struct sl_snapshot *
sl_stats_snapshot(struct sl_stats *st, int flags, const char *app,
                  const char *name)
{
    struct sl_server   *srv = st->srv;
    struct sl_snapshot *snap = calloc(1, sizeof(*snap));
    uint64_t            now_ms = sl_now_ms();

    if (snap == NULL)
        return NULL;
    snprintf(snap->version, sizeof(snap->version), "%s", SL_VERSION);
    snprintf(snap->config_path, sizeof(snap->config_path), "%s", st->path);
    snap->now = unix_now();
    snap->uptime_s = (now_ms - st->start_mono_ms) / 1000.0;
    snap->stopping = atomic_load(&srv->stopping);
    snap->nworkers = sl_sched_workers(srv->sched);
    snap->workers = calloc((size_t) snap->nworkers + 1, sizeof(*snap->workers));
    if (snap->workers == NULL) {
        free(snap);
        return NULL;
    }
    for (int i = 0; i < snap->nworkers; i++) {
        struct sl_worker_stats ws;

        sl_sched_worker_stats(srv->sched, i, &ws);
        snap->workers[i] = (struct sl_snap_worker){ws.tasks_run, ws.steals,
                                                   ws.injected, ws.parks};
    }
    snap->sessions = atomic_load(&srv->nsessions);
    snap->publishers = atomic_load(&srv->publishers);
    snap->players = atomic_load(&srv->players);
    snap->relays = prov_relay_count();
    snap->bytes_in = atomic_load_explicit(&srv->bytes_in, memory_order_relaxed);
    snap->bytes_out =
        atomic_load_explicit(&srv->bytes_out, memory_order_relaxed);
    for (int i = 0; i < SL_PROTO_IDS; i++)
        snap->bytes_out_by_protocol[i] =
            atomic_load_explicit(&srv->bytes_out_by[i], memory_order_relaxed);
    snap->players_dropped = atomic_load(&srv->players_dropped);
    for (int i = 0; i < SL_REFUSE_N; i++)
        snap->refused[i] =
            atomic_load_explicit(&srv->refused[i], memory_order_relaxed);
    snap->plays_refused_capacity = atomic_load_explicit(
        &srv->plays_refused_capacity, memory_order_relaxed);
    snap->plays_refused_per_ip =
        atomic_load_explicit(&srv->plays_refused_per_ip, memory_order_relaxed);
    snap->cpu_seconds = cpu_seconds();
    snap->rss_bytes = rss_bytes();

    pthread_mutex_lock(&st->hist_lock);
    if (st->n > 0) {
        const struct sample *o =
            &RING_AT(st->s, st->head, st->n,
                     window_start(st->s, st->head, st->n, now_ms));
        double dt = (double) (now_ms - o->mono_ms) / 1000.0;

        snap->bitrate_in =
            rate_since(o->mono_ms, o->in, now_ms, snap->bytes_in);
        snap->bitrate_out =
            rate_since(o->mono_ms, o->out, now_ms, snap->bytes_out);
        snap->cpu_percent =
            dt >= 0.5 ? 100.0 * (snap->cpu_seconds - o->cpu_s) / dt : 0;
    }
    pthread_mutex_unlock(&st->hist_lock);
    {
        struct sl_cluster_limits l;

        sl_cluster_limits_get(&l);
        snap->capacity_mbps = l.capacity_mbps;
        snap->max_players = l.max_players;
        snap->load = sl_cluster_load(&l, snap->bitrate_out, snap->players);
    }

    if (build_streams(st, snap, flags, app, name, now_ms) < 0) {
        sl_snapshot_free(snap);
        return NULL;
    }
    return snap;
}

void
sl_snapshot_free(struct sl_snapshot *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->nstreams; i++)
        free(s->streams[i].players);
    free(s->streams);
    free(s->workers);
    free(s);
}

struct sl_history *
sl_stats_history(struct sl_stats *st)
{
    struct sl_history *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    pthread_mutex_lock(&st->hist_lock);
    h->streams = calloc(st->nstreams > 0 ? (size_t) st->nstreams : 1,
                        sizeof(*h->streams));
    if (h->streams == NULL) {
        pthread_mutex_unlock(&st->hist_lock);
        free(h);
        return NULL;
    }
    h->n = st->n;
    for (int i = 0; i < st->n; i++) {
        const struct sample *s = &RING_AT(st->s, st->head, st->n, i);

        h->t[i] = s->t;
        h->bitrate_in[i] = s->rate_in;
        h->bitrate_out[i] = s->rate_out;
        h->cpu_percent[i] = s->cpu_pct;
        h->rss_bytes[i] = s->rss;
    }
    h->nstreams = st->nstreams;
    for (int k = 0; k < st->nstreams; k++) {
        const struct hstream  *src = st->streams[k];
        struct sl_hist_stream *dst = &h->streams[k];

        memcpy(dst->app, src->app, sizeof(dst->app));
        memcpy(dst->name, src->name, sizeof(dst->name));
        /* The publication's start is an entry without a Unix time, not a
         * sample: left out. */
        for (int i = 0; i < src->n; i++) {
            const struct ssample *s = &RING_AT(src->s, src->head, src->n, i);

            if (s->t == 0)
                continue;
            dst->t[dst->n] = s->t;
            dst->bitrate[dst->n] = s->rate;
            dst->n++;
        }
    }
    pthread_mutex_unlock(&st->hist_lock);
    qsort(h->streams, (size_t) h->nstreams, sizeof(*h->streams), cmp_hstream);
    return h;
}

void
sl_history_free(struct sl_history *h)
{
    if (h == NULL)
        return;
    free(h->streams);
    free(h);
}
