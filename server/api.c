/*
 * Router and renderers of the HTTP API (see api.h and docs/api.md).
 */
#include "server/api.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- routing ---- */

static int
seg_ok(const char *p, size_t n, size_t cap)
{
    if (n == 0 || n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) p[i] <= 0x20 || (unsigned char) p[i] >= 0x7f)
            return 0;
    return 1;
}

static int
is(const char *path, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(path, lit, len) == 0;
}

enum sl_api_kind
sl_api_route(const char *path, size_t len, struct sl_api_route *r)
{
    static const char streams[] = "/api/v1/streams/";
    const size_t      slen = sizeof(streams) - 1;

    memset(r, 0, sizeof(*r));
    r->methods = SL_API_GET;
    if (is(path, len, "/") || is(path, len, "/index.html")) {
        r->asset = "index.html";
        return r->kind = SL_API_ASSET;
    }
    if (is(path, len, "/app.js")) {
        r->asset = "app.js";
        return r->kind = SL_API_ASSET;
    }
    if (is(path, len, "/style.css")) {
        r->asset = "style.css";
        return r->kind = SL_API_ASSET;
    }
    if (is(path, len, "/healthz"))
        return r->kind = SL_API_HEALTHZ;
    if (is(path, len, "/metrics"))
        return r->kind = SL_API_METRICS;
    if (is(path, len, "/api/v1/server"))
        return r->kind = SL_API_SERVER;
    if (is(path, len, "/api/v1/history"))
        return r->kind = SL_API_HISTORY;
    if (is(path, len, "/api/v1/streams") || is(path, len, "/api/v1/streams/"))
        return r->kind = SL_API_STREAMS;
    if (is(path, len, "/api/v1/reload")) {
        r->methods = SL_API_POST;
        return r->kind = SL_API_RELOAD;
    }
    if (len > slen && memcmp(path, streams, slen) == 0) {
        const char *app = path + slen, *end = path + len, *slash;
        size_t      alen, nlen;

        slash = memchr(app, '/', (size_t) (end - app));
        r->methods = SL_API_GET | SL_API_DELETE;
        if (slash == NULL)
            return r->kind = SL_API_NOT_FOUND; /* an app, no stream */
        alen = (size_t) (slash - app);
        nlen = (size_t) (end - slash - 1);
        /* A trailing slash is not part of the name (RTMP names never
         * end with one either). */
        if (nlen > 0 && slash[nlen] == '/')
            nlen--;
        /* RTMP names never start or end with a slash either (the
         * session trims them), so such a path names nothing. */
        if (!seg_ok(app, alen, sizeof(r->app)) ||
            !seg_ok(slash + 1, nlen, sizeof(r->name)) || slash[1] == '/' ||
            slash[nlen] == '/')
            return r->kind = SL_API_BAD;
        memcpy(r->app, app, alen);
        r->app[alen] = '\0';
        memcpy(r->name, slash + 1, nlen);
        r->name[nlen] = '\0';
        return r->kind = SL_API_STREAM;
    }
    r->methods = 0;
    return r->kind = SL_API_NOT_FOUND;
}

const char *
sl_api_allow(int methods)
{
    switch (methods) {
    case SL_API_GET:
        return "GET, HEAD";
    case SL_API_POST:
        return "POST";
    case SL_API_GET | SL_API_DELETE:
        return "GET, HEAD, DELETE";
    default:
        return "";
    }
}

/* ---- JSON ---- */

/* Rounds to 2 decimals, so 29.97002997 prints as 29.97. */
static json_t *
real2(double v)
{
    if (!isfinite(v))
        v = 0;
    return json_real(round(v * 100.0) / 100.0);
}

static json_t *
uint_j(uint64_t v)
{
    return json_integer(v > (uint64_t) INT64_MAX ? INT64_MAX : (json_int_t) v);
}

/* A string that is not valid UTF-8 (it came from a peer) becomes "". */
static json_t *
str_j(const char *s)
{
    json_t *j = json_string(s);

    return j != NULL ? j : json_string("");
}

static char *
dump(json_t *j)
{
    char *out;

    if (j == NULL)
        return NULL;
    out = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(j);
    return out;
}

/* {"rtmp": v[SL_PROTO_RTMP], "http-flv": ...} for the first n rows of
 * enum sl_proto_id. */
static json_t *
by_protocol(const int *v, int n)
{
    json_t *o = json_object();

    for (int i = 0; o != NULL && i < n; i++)
        json_object_set_new(o, sl_proto_id_name(i), json_integer(v[i]));
    return o;
}

static json_t *
by_protocol_u64(const uint64_t *v, int n)
{
    json_t *o = json_object();

    for (int i = 0; o != NULL && i < n; i++)
        json_object_set_new(o, sl_proto_id_name(i), uint_j(v[i]));
    return o;
}

char *
sl_api_server_json(const struct sl_snapshot *s)
{
    json_t *workers = json_array(), *o;

    for (int i = 0; i < s->nworkers; i++)
        json_array_append_new(
            workers, json_pack("{s:i,s:o,s:o,s:o,s:o}", "id", i, "tasks_run",
                               uint_j(s->workers[i].tasks_run), "steals",
                               uint_j(s->workers[i].steals), "injected",
                               uint_j(s->workers[i].injected), "parks",
                               uint_j(s->workers[i].parks)));
    o = json_pack(
        "{s:s,s:o,s:o,s:s,s:b,s:o,s:{s:i,s:i,s:i,s:i},s:i,"
        "s:{s:o,s:o},s:{s:o,s:o,s:i},s:o,s:{s:o,s:o,s:o},"
        "s:{s:o,s:i,s:i,s:o}}",
        "version", s->version, "uptime_s", real2(s->uptime_s), "time",
        real2(s->now), "config", s->config_path, "stopping", s->stopping,
        "workers", workers, "connections", "total", s->sessions, "publishers",
        s->publishers, "players", s->players, "relays", s->relays, "streams",
        s->nstreams, "bytes", "in", uint_j(s->bytes_in), "out",
        uint_j(s->bytes_out), "bitrate", "in", uint_j(s->bitrate_in), "out",
        uint_j(s->bitrate_out), "window_s", SL_STATS_WINDOW_S,
        "players_dropped", uint_j(s->players_dropped), "process", "cpu_percent",
        real2(s->cpu_percent), "cpu_seconds", real2(s->cpu_seconds),
        "rss_bytes", uint_j(s->rss_bytes), "cluster", "load",
        json_real(floor(s->load * 1000.0) / 1000.0), "capacity_mbps",
        (int) s->capacity_mbps, "max_players", (int) s->max_players,
        "plays_refused", uint_j(s->plays_refused_capacity));
    /* Players only in the protocols that can play; bytes in every
     * protocol, so that they add up to bytes.out. */
    if (o != NULL) {
        json_object_set_new(
            o, "players_by_protocol",
            by_protocol(s->players_by_protocol, SL_PROTO_PLAYING));
        json_object_set_new(
            o, "bytes_sent_by_protocol",
            by_protocol_u64(s->bytes_out_by_protocol, SL_PROTO_IDS));
    }
    return dump(o);
}

/* An SRT connection's link figures, or null for another protocol. */
static json_t *
srt_obj(const struct sl_srt_facts *f)
{
    if (!f->on)
        return json_null();
    return json_pack("{s:o,s:o,s:i,s:o,s:o,s:o}", "rtt_ms", real2(f->rtt_ms),
                     "bandwidth_mbps", real2(f->bandwidth_mbps), "buffer_ms",
                     f->buffer_ms, "packets_lost", uint_j(f->pkts_lost),
                     "packets_retransmitted", uint_j(f->pkts_retransmitted),
                     "packets_dropped", uint_j(f->pkts_dropped));
}

static json_t *
stream_obj(const struct sl_snap_stream *st, int with_players)
{
    json_t *video = json_null(), *audio = json_null();
    json_t *rend = json_array(), *relays = json_array(), *o;
    json_t *rec = json_null(), *standby = json_null(), *hls = json_null();
    json_t *srt = json_null();

    if (st->vcodec[0] != '\0')
        video =
            json_pack("{s:o,s:i,s:i,s:o}", "codec", str_j(st->vcodec), "width",
                      st->width, "height", st->height, "fps", real2(st->fps));
    if (st->acodec[0] != '\0')
        audio =
            json_pack("{s:o,s:i,s:i}", "codec", str_j(st->acodec),
                      "sample_rate", st->sample_rate, "channels", st->channels);
    for (int i = 0; i < st->nrenditions; i++) {
        const struct sl_stats_rendition *r = &st->renditions[i];

        json_array_append_new(rend, json_pack("{s:o,s:i,s:i,s:o,s:o,s:o,s:o}",
                                              "name", str_j(r->name), "width",
                                              r->width, "height", r->height,
                                              "fps", real2(r->fps), "speed",
                                              real2(r->speed), "dropped_frames",
                                              uint_j(r->dropped_frames),
                                              "bitrate", uint_j(r->bitrate)));
    }
    for (int i = 0; i < st->nrelays; i++) {
        const struct sl_stats_relay *r = &st->relays[i];

        json_array_append_new(
            relays, json_pack("{s:o,s:o,s:o,s:o,s:o}", "name", str_j(r->name),
                              "state", str_j(r->state), "url", str_j(r->url),
                              "reconnects", uint_j(r->reconnects), "bytes_sent",
                              uint_j(r->bytes_sent)));
    }
    if (st->has_recording)
        rec = json_pack(
            "{s:o,s:o,s:o,s:o,s:o}", "file", str_j(st->recording.file), "state",
            str_j(st->recording.state), "bytes", uint_j(st->recording.bytes),
            "files", uint_j(st->recording.files), "dropped_frames",
            uint_j(st->recording.dropped_frames));
    if (st->standby_id != 0)
        standby = json_pack("{s:o}", "id", uint_j(st->standby_id));
    srt = srt_obj(&st->srt);
    o = json_pack("{s:o,s:o,s:{s:o,s:o,s:o,s:o,s:o,s:o},s:o,s:o,s:o,s:o,s:o,"
                  "s:i,s:o,s:o,s:o,s:o,s:o}",
                  "app", str_j(st->app), "name", str_j(st->name), "publisher",
                  "id", uint_j(st->publisher_id), "address",
                  str_j(st->publisher_addr), "client", str_j(st->client),
                  "encoder", str_j(st->encoder), "protocol",
                  str_j(st->protocol), "srt", srt, "video", video, "audio",
                  audio, "bitrate", uint_j(st->bitrate), "bytes_in",
                  uint_j(st->bytes_in), "uptime_s", real2(st->uptime_s),
                  "players", st->nplayers, "renditions", rend, "relays", relays,
                  "recording", rec, "standby", standby, "hls", hls);
    if (o != NULL)
        json_object_set_new(
            o, "players_by_protocol",
            by_protocol(st->players_by_protocol, SL_PROTO_PLAYING));
    if (o != NULL && with_players) {
        json_t *list = json_array();

        for (int i = 0; st->players != NULL && i < st->nplayers; i++) {
            const struct sl_snap_player *p = &st->players[i];

            json_array_append_new(
                list,
                json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
                          uint_j(p->id), "address", str_j(p->address),
                          "protocol", str_j(p->protocol), "bytes_sent",
                          uint_j(p->bytes_sent), "lag_ms", uint_j(p->lag_ms),
                          "skips", uint_j(p->skips), "dropped_frames",
                          uint_j(p->dropped_frames), "uptime_s",
                          real2(p->uptime_s), "srt", srt_obj(&p->srt)));
        }
        json_object_set_new(o, "player_list", list);
    }
    return o;
}

char *
sl_api_streams_json(const struct sl_snapshot *s, int with_players)
{
    json_t *arr = json_array();

    for (int i = 0; i < s->nstreams; i++)
        json_array_append_new(arr, stream_obj(&s->streams[i], with_players));
    return dump(json_pack("{s:o}", "streams", arr));
}

char *
sl_api_stream_json(const struct sl_snap_stream *st, int with_players)
{
    return dump(stream_obj(st, with_players));
}

char *
sl_api_history_json(const struct sl_history *h)
{
    json_t *t = json_array(), *in = json_array(), *out = json_array();
    json_t *cpu = json_array(), *rss = json_array(), *streams = json_array();

    for (int i = 0; i < h->n; i++) {
        json_array_append_new(t, real2(h->t[i]));
        json_array_append_new(in, uint_j(h->bitrate_in[i]));
        json_array_append_new(out, uint_j(h->bitrate_out[i]));
        json_array_append_new(cpu, real2(h->cpu_percent[i]));
        json_array_append_new(rss, uint_j(h->rss_bytes[i]));
    }
    for (int k = 0; k < h->nstreams; k++) {
        const struct sl_hist_stream *s = &h->streams[k];
        json_t                      *st = json_array(), *sb = json_array();

        for (int i = 0; i < s->n; i++) {
            json_array_append_new(st, real2(s->t[i]));
            json_array_append_new(sb, uint_j(s->bitrate[i]));
        }
        json_array_append_new(
            streams, json_pack("{s:o,s:o,s:o,s:o}", "app", str_j(s->app),
                               "name", str_j(s->name), "t", st, "bitrate", sb));
    }
    return dump(json_pack("{s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:o}", "interval_s", 1,
                          "window_s", SL_STATS_WINDOW_S, "t", t, "bitrate_in",
                          in, "bitrate_out", out, "cpu_percent", cpu,
                          "rss_bytes", rss, "streams", streams));
}

char *
sl_api_dropped_json(const char *app, const char *name)
{
    return dump(json_pack("{s:o,s:o,s:b}", "app", str_j(app), "name",
                          str_j(name), "dropped", 1));
}

char *
sl_api_reloaded_json(void)
{
    return dump(json_pack("{s:b}", "reloaded", 1));
}

char *
sl_api_error_json(const char *code, const char *message)
{
    return dump(json_pack("{s:o,s:o}", "error", str_j(code), "message",
                          str_j(message)));
}

/* ---- Prometheus text format ---- */

/* A label value: backslash, double quote and line feed escaped. */
static void
label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            fputs("\\\\", f);
        else if (*v == '"')
            fputs("\\\"", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
stream_labels(FILE *f, const struct sl_snap_stream *st)
{
    fputs("{app=\"", f);
    label(f, st->app);
    fputs("\",name=\"", f);
    label(f, st->name);
    fputc('"', f);
}

/* One sample per stream of a value picked by what. */
enum pick { P_BITRATE, P_PLAYERS, P_BYTES, P_UPTIME };

/* One counter family of the SRT publishers' link figures (the
 * uint64_t at off in struct sl_srt_facts). */
static void
srt_counter(FILE *f, const struct sl_snapshot *s, const char *name,
            const char *help, size_t off)
{
    family(f, name, "counter", help);
    for (int i = 0; i < s->nstreams; i++) {
        const struct sl_snap_stream *st = &s->streams[i];
        uint64_t                     v;

        if (!st->srt.on)
            continue;
        memcpy(&v, (const char *) &st->srt + off, sizeof(v));
        fputs(name, f);
        stream_labels(f, st);
        fprintf(f, "} %llu\n", (unsigned long long) v);
    }
}

static void
per_stream(FILE *f, const struct sl_snapshot *s, enum pick what)
{
    for (int i = 0; i < s->nstreams; i++) {
        const struct sl_snap_stream *st = &s->streams[i];
        const char *name = what == P_BITRATE   ? "sluice_stream_bitrate_bits"
                           : what == P_PLAYERS ? "sluice_stream_players"
                           : what == P_BYTES
                               ? "sluice_stream_bytes_received_total"
                               : "sluice_stream_uptime_seconds";

        fputs(name, f);
        stream_labels(f, st);
        if (what == P_BITRATE)
            fprintf(f, "} %llu\n", (unsigned long long) st->bitrate);
        else if (what == P_PLAYERS)
            fprintf(f, "} %d\n", st->nplayers);
        else if (what == P_BYTES)
            fprintf(f, "} %llu\n", (unsigned long long) st->bytes_in);
        else
            fprintf(f, "} %.3f\n", st->uptime_s);
    }
}

char *
sl_api_metrics(const struct sl_snapshot *s, size_t *len)
{
    char  *buf = NULL;
    size_t n = 0;
    FILE  *f = open_memstream(&buf, &n);

    if (f == NULL)
        return NULL;
    family(f, "sluice_build_info", "gauge", "Version of this Sluice build.");
    fputs("sluice_build_info{version=\"", f);
    label(f, s->version);
    fputs("\"} 1\n", f);
    family(f, "sluice_uptime_seconds", "gauge",
           "Seconds since the server started.");
    fprintf(f, "sluice_uptime_seconds %.3f\n", s->uptime_s);
    family(f, "sluice_up", "gauge",
           "1 while the server accepts connections, 0 while it stops.");
    fprintf(f, "sluice_up %d\n", !s->stopping);

    family(f, "sluice_connections", "gauge", "Open connections by role.");
    fprintf(f, "sluice_connections{role=\"publisher\"} %d\n", s->publishers);
    fprintf(f, "sluice_connections{role=\"player\"} %d\n", s->players);
    fprintf(f, "sluice_connections{role=\"relay\"} %d\n", s->relays);
    family(f, "sluice_players", "gauge",
           "Players by protocol (rtmp: RTMP and RTMPS; http-flv: the web "
           "port).");
    for (int i = 0; i < SL_PROTO_PLAYING; i++)
        fprintf(f, "sluice_players{protocol=\"%s\"} %d\n", sl_proto_id_name(i),
                s->players_by_protocol[i]);
    family(f, "sluice_sessions", "gauge",
           "Open RTMP connections, whatever their role.");
    fprintf(f, "sluice_sessions %d\n", s->sessions);
    family(f, "sluice_streams", "gauge", "Streams with a publisher.");
    fprintf(f, "sluice_streams %d\n", s->nstreams);

    family(f, "sluice_bytes_received_total", "counter",
           "Bytes read from RTMP sockets.");
    fprintf(f, "sluice_bytes_received_total %llu\n",
            (unsigned long long) s->bytes_in);
    family(f, "sluice_bytes_sent_total", "counter",
           "Bytes written to RTMP sockets.");
    fprintf(f, "sluice_bytes_sent_total %llu\n",
            (unsigned long long) s->bytes_out);
    /* A family of its own: protocol samples beside the unlabelled total
     * in sluice_bytes_sent_total would make sum() count every byte
     * twice. */
    family(f, "sluice_bytes_sent_by_protocol_total", "counter",
           "Bytes written to sockets, by the protocol the connection "
           "spoke; they add up to sluice_bytes_sent_total.");
    for (int i = 0; i < SL_PROTO_IDS; i++)
        fprintf(f,
                "sluice_bytes_sent_by_protocol_total{protocol=\"%s\"} %llu\n",
                sl_proto_id_name(i),
                (unsigned long long) s->bytes_out_by_protocol[i]);
    family(f, "sluice_bitrate_in_bits", "gauge",
           "Bits per second read, over the last 5 seconds.");
    fprintf(f, "sluice_bitrate_in_bits %llu\n",
            (unsigned long long) s->bitrate_in);
    family(f, "sluice_bitrate_out_bits", "gauge",
           "Bits per second written, over the last 5 seconds.");
    fprintf(f, "sluice_bitrate_out_bits %llu\n",
            (unsigned long long) s->bitrate_out);
    family(f, "sluice_players_dropped_total", "counter",
           "Players disconnected for falling behind.");
    fprintf(f, "sluice_players_dropped_total %llu\n",
            (unsigned long long) s->players_dropped);
    family(f, "sluice_connections_refused_total", "counter",
           "Connections closed at accept by a limit, by reason.");
    for (int i = 0; i < SL_REFUSE_N; i++)
        fprintf(f, "sluice_connections_refused_total{reason=\"%s\"} %llu\n",
                sl_refuse_name((enum sl_refuse) i),
                (unsigned long long) s->refused[i]);

    family(f, "sluice_plays_refused_total", "counter",
           "Plays refused, by reason (capacity: the node was full; per_ip: "
           "the address played max_players_per_ip streams).");
    fprintf(f, "sluice_plays_refused_total{reason=\"capacity\"} %llu\n",
            (unsigned long long) s->plays_refused_capacity);
    fprintf(f, "sluice_plays_refused_total{reason=\"per_ip\"} %llu\n",
            (unsigned long long) s->plays_refused_per_ip);
    family(f, "sluice_cluster_load", "gauge",
           "Load against [cluster] capacity_mbps and max_players; 1 = full.");
    fprintf(f, "sluice_cluster_load %.3f\n", s->load);

    family(f, "sluice_worker_tasks_total", "counter",
           "Task runs completed by each pool worker.");
    for (int i = 0; i < s->nworkers; i++)
        fprintf(f, "sluice_worker_tasks_total{worker=\"%d\"} %llu\n", i,
                (unsigned long long) s->workers[i].tasks_run);
    family(f, "sluice_worker_steals_total", "counter",
           "Tasks each pool worker stole from another.");
    for (int i = 0; i < s->nworkers; i++)
        fprintf(f, "sluice_worker_steals_total{worker=\"%d\"} %llu\n", i,
                (unsigned long long) s->workers[i].steals);

    family(f, "sluice_stream_bitrate_bits", "gauge",
           "Input bits per second of each stream, over the last 5 seconds.");
    per_stream(f, s, P_BITRATE);
    family(f, "sluice_stream_players", "gauge", "Players of each stream.");
    per_stream(f, s, P_PLAYERS);
    family(f, "sluice_stream_players_by_protocol", "gauge",
           "Players of each stream, by protocol.");
    for (int i = 0; i < s->nstreams; i++)
        for (int k = 0; k < SL_PROTO_PLAYING; k++) {
            fputs("sluice_stream_players_by_protocol", f);
            stream_labels(f, &s->streams[i]);
            fprintf(f, ",protocol=\"%s\"} %d\n", sl_proto_id_name(k),
                    s->streams[i].players_by_protocol[k]);
        }
    family(f, "sluice_srt_rtt_seconds", "gauge",
           "Round trip time of each SRT publisher's link.");
    for (int i = 0; i < s->nstreams; i++)
        if (s->streams[i].srt.on) {
            fputs("sluice_srt_rtt_seconds", f);
            stream_labels(f, &s->streams[i]);
            fprintf(f, "} %.4f\n", s->streams[i].srt.rtt_ms / 1000.0);
        }
    srt_counter(f, s, "sluice_srt_packets_lost_total",
                "Packets each SRT publisher's link lost (before resends).",
                offsetof(struct sl_srt_facts, pkts_lost));
    srt_counter(f, s, "sluice_srt_packets_retransmitted_total",
                "Packets each SRT publisher sent again.",
                offsetof(struct sl_srt_facts, pkts_retransmitted));
    srt_counter(f, s, "sluice_srt_packets_dropped_total",
                "Packets each SRT publisher's link dropped for arriving "
                "too late to play.",
                offsetof(struct sl_srt_facts, pkts_dropped));
    family(f, "sluice_stream_bytes_received_total", "counter",
           "Media bytes each stream's publisher sent.");
    per_stream(f, s, P_BYTES);
    family(f, "sluice_stream_uptime_seconds", "gauge",
           "Seconds since each stream's publisher started.");
    per_stream(f, s, P_UPTIME);

    family(f, "sluice_transcode_dropped_frames_total", "counter",
           "Frames each rendition dropped rather than queued.");
    for (int i = 0; i < s->nstreams; i++)
        for (int k = 0; k < s->streams[i].nrenditions; k++) {
            fputs("sluice_transcode_dropped_frames_total", f);
            stream_labels(f, &s->streams[i]);
            fputs(",rendition=\"", f);
            label(f, s->streams[i].renditions[k].name);
            fprintf(f, "\"} %llu\n",
                    (unsigned long long) s->streams[i]
                        .renditions[k]
                        .dropped_frames);
        }
    family(f, "sluice_transcode_speed_ratio", "gauge",
           "Source time the ladder processes per second of its "
           "working time (below 1: it cannot keep real time).");
    for (int i = 0; i < s->nstreams; i++)
        for (int k = 0; k < s->streams[i].nrenditions; k++) {
            fputs("sluice_transcode_speed_ratio", f);
            stream_labels(f, &s->streams[i]);
            fputs(",rendition=\"", f);
            label(f, s->streams[i].renditions[k].name);
            fprintf(f, "\"} %.3f\n", s->streams[i].renditions[k].speed);
        }
    family(f, "sluice_relay_reconnects_total", "counter",
           "Times each relay reconnected.");
    for (int i = 0; i < s->nstreams; i++)
        for (int k = 0; k < s->streams[i].nrelays; k++) {
            fputs("sluice_relay_reconnects_total", f);
            stream_labels(f, &s->streams[i]);
            fputs(",relay=\"", f);
            label(f, s->streams[i].relays[k].name);
            fprintf(f, "\"} %llu\n",
                    (unsigned long long) s->streams[i].relays[k].reconnects);
        }
    family(f, "sluice_relay_bytes_sent_total", "counter",
           "Bytes each relay sent downstream.");
    for (int i = 0; i < s->nstreams; i++)
        for (int k = 0; k < s->streams[i].nrelays; k++) {
            fputs("sluice_relay_bytes_sent_total", f);
            stream_labels(f, &s->streams[i]);
            fputs(",relay=\"", f);
            label(f, s->streams[i].relays[k].name);
            fprintf(f, "\"} %llu\n",
                    (unsigned long long) s->streams[i].relays[k].bytes_sent);
        }

    family(f, "sluice_recording_bytes_total", "counter",
           "Bytes each stream's recording wrote, every file together.");
    for (int i = 0; i < s->nstreams; i++)
        if (s->streams[i].has_recording) {
            fputs("sluice_recording_bytes_total", f);
            stream_labels(f, &s->streams[i]);
            fprintf(f, "} %llu\n",
                    (unsigned long long) s->streams[i].recording.bytes);
        }
    family(f, "sluice_recording_dropped_frames_total", "counter",
           "Frames a recording dropped because its queue was full.");
    for (int i = 0; i < s->nstreams; i++)
        if (s->streams[i].has_recording) {
            fputs("sluice_recording_dropped_frames_total", f);
            stream_labels(f, &s->streams[i]);
            fprintf(
                f, "} %llu\n",
                (unsigned long long) s->streams[i].recording.dropped_frames);
        }

    family(f, "process_cpu_seconds_total", "counter",
           "User and system CPU time spent in seconds.");
    fprintf(f, "process_cpu_seconds_total %.3f\n", s->cpu_seconds);
    family(f, "process_cpu_percent", "gauge",
           "CPU use over the last 5 seconds; 100 is one core.");
    fprintf(f, "process_cpu_percent %.2f\n", s->cpu_percent);
    family(f, "process_resident_memory_bytes", "gauge",
           "Resident memory size in bytes.");
    fprintf(f, "process_resident_memory_bytes %llu\n",
            (unsigned long long) s->rss_bytes);
    family(f, "process_start_time_seconds", "gauge",
           "Start time of the process since the Unix epoch in seconds.");
    fprintf(f, "process_start_time_seconds %.3f\n", s->now - s->uptime_s);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* ---- tokens ---- */

int
sl_api_token_ok(const char *auth, const char *token)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    const char   *given;

    if (auth == NULL || token == NULL || token[0] == '\0' ||
        strncmp(auth, "Bearer ", 7) != 0)
        return 0;
    given = auth + 7;
    while (*given == ' ')
        given++;
    /* Equal-length digests: the comparison time depends on neither the
     * token's length nor where a guess goes wrong. */
    SHA256((const unsigned char *) given, strlen(given), a);
    SHA256((const unsigned char *) token, strlen(token), b);
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}
