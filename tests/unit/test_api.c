/*
 * The HTTP API's pure half: routing (paths from the peer), the JSON
 * renderers (read back with jansson, every field checked) and the
 * Prometheus renderer (read back by the strict parser in
 * tests/support/prom.c), token checks and URL redaction.
 */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"
#include "server/session_info.h"
#include "tests/support/prom.h"

static enum sl_api_kind
route(const char *path, struct sl_api_route *r)
{
    return sl_api_route(path, strlen(path), r);
}

static void
test_route(void)
{
    struct sl_api_route r;

    CU_ASSERT(route("/", &r) == SL_API_ASSET);
    CU_ASSERT_STRING_EQUAL(r.asset, "index.html");
    CU_ASSERT(route("/app.js", &r) == SL_API_ASSET);
    CU_ASSERT(route("/healthz", &r) == SL_API_HEALTHZ);
    CU_ASSERT(route("/metrics", &r) == SL_API_METRICS);
    CU_ASSERT(route("/api/v1/server", &r) == SL_API_SERVER);
    CU_ASSERT_EQUAL(r.methods, SL_API_GET);
    CU_ASSERT(route("/api/v1/streams", &r) == SL_API_STREAMS);
    CU_ASSERT(route("/api/v1/history", &r) == SL_API_HISTORY);
    CU_ASSERT(route("/api/v1/reload", &r) == SL_API_RELOAD);
    CU_ASSERT_EQUAL(r.methods, SL_API_POST);
    CU_ASSERT_STRING_EQUAL(sl_api_allow(r.methods), "POST");

    CU_ASSERT(route("/api/v1/streams/live/x", &r) == SL_API_STREAM);
    CU_ASSERT_STRING_EQUAL(r.app, "live");
    CU_ASSERT_STRING_EQUAL(r.name, "x");
    CU_ASSERT_EQUAL(r.methods, SL_API_GET | SL_API_DELETE);
    /* Stream names may hold slashes; a trailing one is not the name's. */
    CU_ASSERT(route("/api/v1/streams/live/a/b/", &r) == SL_API_STREAM);
    CU_ASSERT_STRING_EQUAL(r.name, "a/b");

    CU_ASSERT(route("/api/v1/streams/live", &r) == SL_API_NOT_FOUND);
    CU_ASSERT(route("/api/v1/streams/live/", &r) == SL_API_BAD);
    CU_ASSERT(route("/api/v1/streams//x", &r) == SL_API_BAD);
    CU_ASSERT(route("/api/v1/streams/li ve/x", &r) == SL_API_BAD);
    CU_ASSERT(route("/api/v1/streams/live/\x01", &r) == SL_API_BAD);
    CU_ASSERT(route("/api/v1/serverx", &r) == SL_API_NOT_FOUND);
    CU_ASSERT(route("/API/v1/server", &r) == SL_API_NOT_FOUND);
    CU_ASSERT(route("", &r) == SL_API_NOT_FOUND);
    CU_ASSERT(route("/../etc/passwd", &r) == SL_API_NOT_FOUND);
    {
        char long_name[400];

        memset(long_name, 'a', sizeof(long_name));
        memcpy(long_name, "/api/v1/streams/live/", 21);
        long_name[sizeof(long_name) - 1] = '\0';
        CU_ASSERT(route(long_name, &r) == SL_API_BAD);
    }
    /* A NUL inside the path is part of the bytes, not an end. */
    CU_ASSERT(sl_api_route("/metrics\0x", 10, &r) == SL_API_NOT_FOUND);
}

/* A snapshot with one stream whose names need escaping, a rendition and
 * a relay, as the providers would report them. */
static struct sl_snapshot *
sample_snapshot(void)
{
    struct sl_snapshot    *s = calloc(1, sizeof(*s));
    struct sl_snap_stream *st;

    strcpy(s->version, "9.9.9");
    strcpy(s->config_path, "/etc/sluice.ini");
    s->now = 1700000000;
    s->uptime_s = 12.5;
    s->nworkers = 2;
    s->workers = calloc(2, sizeof(*s->workers));
    s->workers[0] = (struct sl_snap_worker){100, 3, 40, 7};
    s->workers[1] = (struct sl_snap_worker){200, 5, 60, 9};
    s->sessions = 4;
    s->publishers = 1;
    s->players = 3;
    s->relays = 1;
    s->bytes_in = 123456789;
    s->bytes_out = 987654321;
    s->bitrate_in = 2000000;
    s->bitrate_out = 4000000;
    s->players_dropped = 1;
    /* Two players of the stream and one waiting for its publisher. */
    s->players_by_protocol[SL_PROTO_RTMP] = 2;
    s->players_by_protocol[SL_PROTO_HTTP_FLV] = 1;
    s->bytes_out_by_protocol[SL_PROTO_RTMP] = 987000000;
    s->bytes_out_by_protocol[SL_PROTO_HTTP_FLV] = 654000;
    s->bytes_out_by_protocol[SL_PROTO_HTTP] = 321;
    s->cpu_seconds = 3.25;
    s->cpu_percent = 12.345;
    s->rss_bytes = 50u << 20;
    s->nstreams = 1;
    s->streams = st = calloc(1, sizeof(*st));
    strcpy(st->app, "live");
    strcpy(st->name, "we\"ird\\na\nme");
    st->publisher_id = 7;
    strcpy(st->publisher_addr, "127.0.0.1:5000");
    strcpy(st->client, "FMLE/3.0 (compatible; Lavf59.27.100)");
    strcpy(st->encoder, "Lavf59.27.100");
    strcpy(st->vcodec, "h264");
    st->width = 1280;
    st->height = 720;
    st->fps = 29.97002997;
    strcpy(st->acodec, "aac");
    st->sample_rate = 48000;
    st->channels = 2;
    st->bytes_in = 5555;
    st->bitrate = 2000000;
    st->uptime_s = 10;
    st->nplayers = 2;
    st->players = calloc(2, sizeof(*st->players));
    st->players[0] = (struct sl_snap_player){
        8, "127.0.0.1:6000", "rtmp", 1000, 40, 1, 12, 3.5, {0}};
    st->players[1] = (struct sl_snap_player){
        9, "127.0.0.1:6001", "http-flv", 2000, 0, 0, 0, 1.0, {0}};
    /* An SRT publisher: its link figures beside the usual ones. */
    strcpy(st->protocol, "srt");
    st->srt = (struct sl_srt_facts){.on = 1,
                                    .rtt_ms = 40.25,
                                    .bandwidth_mbps = 9.5,
                                    .buffer_ms = 300,
                                    .pkts_lost = 17,
                                    .pkts_retransmitted = 16,
                                    .pkts_dropped = 1};
    st->players_by_protocol[SL_PROTO_RTMP] = 1;
    st->players_by_protocol[SL_PROTO_HTTP_FLV] = 1;
    st->nrenditions = 1;
    st->renditions[0] =
        (struct sl_stats_rendition){"720p", 1280, 720, 30.0, 0.98, 4, 1500000};
    st->nrelays = 1;
    st->relays[0] = (struct sl_stats_relay){
        "cdn", "live", "rtmp://cdn.example/live/x", 2, 777};
    return s;
}

static void
test_server_json(void)
{
    struct sl_snapshot *s = sample_snapshot();
    char               *text = sl_api_server_json(s);
    json_error_t        e;
    json_t             *j = json_loads(text, 0, &e), *w;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "version")),
                           "9.9.9");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "config")),
                           "/etc/sluice.ini");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(j, "uptime_s")),
                           12.5, 1e-9);
    w = json_object_get(j, "workers");
    CU_ASSERT_EQUAL(json_array_size(w), 2);
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(json_array_get(w, 1), "tasks_run")),
        200);
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(json_array_get(w, 1), "steals")), 5);
    w = json_object_get(j, "connections");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "publishers")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "players")), 3);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "relays")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "total")), 4);
    w = json_object_get(j, "bytes");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "in")), 123456789);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "out")), 987654321);
    w = json_object_get(j, "bitrate");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "in")), 2000000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "window_s")), 5);
    w = json_object_get(j, "process");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(w, "cpu_percent")),
                           12.35, 1e-9);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "rss_bytes")),
                    50 << 20);
    CU_ASSERT(json_is_false(json_object_get(j, "stopping")));
    /* Players by the protocols that can play, bytes by every protocol
     * (they add up to bytes.out). */
    w = json_object_get(j, "players_by_protocol");
    CU_ASSERT_FATAL(json_is_object(w));
    CU_ASSERT_EQUAL(json_object_size(w), SL_PROTO_PLAYING);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "rtmp")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "http-flv")), 1);
    CU_ASSERT_PTR_NULL(json_object_get(w, "http"));
    w = json_object_get(j, "bytes_sent_by_protocol");
    CU_ASSERT_FATAL(json_is_object(w));
    CU_ASSERT_EQUAL(json_object_size(w), SL_PROTO_IDS);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "rtmp")), 987000000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "http-flv")), 654000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "http")), 321);
    {
        json_int_t  sum = 0;
        const char *k;
        json_t     *x;

        json_object_foreach(w, k, x) sum += json_integer_value(x);
        CU_ASSERT_EQUAL(sum, json_integer_value(json_object_get(
                                 json_object_get(j, "bytes"), "out")));
    }
    json_decref(j);
    free(text);
    sl_snapshot_free(s);
}

static void
test_streams_json(void)
{
    struct sl_snapshot *s = sample_snapshot();
    char               *text = sl_api_streams_json(s, 1);
    json_error_t        e;
    json_t             *j = json_loads(text, 0, &e), *st, *o, *w;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    st = json_array_get(json_object_get(j, "streams"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "name")),
                           "we\"ird\\na\nme");
    o = json_object_get(st, "publisher");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "address")),
                           "127.0.0.1:5000");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "client")),
                           "FMLE/3.0 (compatible; Lavf59.27.100)");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "protocol")),
                           "srt");
    w = json_object_get(o, "srt");
    CU_ASSERT_FATAL(json_is_object(w));
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(w, "rtt_ms")),
                           40.25, 1e-9);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "buffer_ms")), 300);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "packets_lost")), 17);
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(w, "packets_retransmitted")), 16);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "packets_dropped")),
                    1);
    o = json_object_get(st, "video");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "codec")),
                           "h264");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "width")), 1280);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "height")), 720);
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "fps")), 29.97,
                           1e-9);
    o = json_object_get(st, "audio");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "sample_rate")),
                    48000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "bitrate")),
                    2000000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "players")), 2);
    o = json_object_get(st, "players_by_protocol");
    CU_ASSERT_FATAL(json_is_object(o));
    CU_ASSERT_EQUAL(json_object_size(o), SL_PROTO_PLAYING);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "rtmp")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "http-flv")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "srt")), 0);
    o = json_object_get(st, "player_list");
    CU_ASSERT_EQUAL(json_array_size(o), 2);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(o, 1), "protocol")),
        "http-flv");
    /* Not SRT players: no link figures. */
    CU_ASSERT(json_is_null(json_object_get(json_array_get(o, 0), "srt")));
    o = json_array_get(o, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "protocol")),
                           "rtmp");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "bytes_sent")), 1000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "lag_ms")), 40);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "dropped_frames")),
                    12);
    o = json_array_get(json_object_get(st, "renditions"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "name")),
                           "720p");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "speed")), 0.98,
                           1e-9);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "dropped_frames")),
                    4);
    o = json_array_get(json_object_get(st, "relays"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "state")),
                           "live");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "reconnects")), 2);
    json_decref(j);
    free(text);

    /* Without the list: no player_list key; no media yet: nulls. */
    s->streams[0].vcodec[0] = '\0';
    s->streams[0].nrenditions = 0;
    text = sl_api_stream_json(&s->streams[0], 0);
    j = json_loads(text, 0, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_PTR_NULL(json_object_get(j, "player_list"));
    /* The counts by protocol come without the list too. */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(
                        json_object_get(j, "players_by_protocol"), "http-flv")),
                    1);
    CU_ASSERT(json_is_null(json_object_get(j, "video")));
    CU_ASSERT(json_is_array(json_object_get(j, "renditions")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "renditions")), 0);
    json_decref(j);
    free(text);
    /* A string that is not UTF-8 (from a peer) cannot break the JSON. */
    strcpy(s->streams[0].encoder, "bad \xff\xfe utf8");
    text = sl_api_stream_json(&s->streams[0], 0);
    j = json_loads(text, 0, &e);
    CU_ASSERT_PTR_NOT_NULL(j);
    json_decref(j);
    free(text);
    sl_snapshot_free(s);
}

static void
test_metrics(void)
{
    struct sl_snapshot *s = sample_snapshot();
    size_t              len = 0;
    char               *text = sl_api_metrics(s, &len);
    char                err[256] = "";
    struct sl_prom     *p;
    double              v;

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(len, strlen(text));
    p = sl_prom_parse(text, err, sizeof(err));
    if (p == NULL)
        fprintf(stderr, "metrics rejected: %s\n%s", err, text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT(
        sl_prom_value(p, "sluice_connections", "role=\"publisher\"", &v) == 0 &&
        v == 1);
    CU_ASSERT(sl_prom_value(p, "sluice_connections", "role=\"player\"", &v) ==
                  0 &&
              v == 3);
    CU_ASSERT(sl_prom_value(p, "sluice_connections", "role=\"relay\"", &v) ==
                  0 &&
              v == 1);
    CU_ASSERT(sl_prom_value(p, "sluice_bytes_received_total", "", &v) == 0 &&
              v == 123456789);
    CU_ASSERT_STRING_EQUAL(sl_prom_type(p, "sluice_bytes_sent_total"),
                           "counter");
    /* The escaped label reads back as the original name. */
    CU_ASSERT(sl_prom_value(p, "sluice_stream_bitrate_bits",
                            "app=\"live\",name=\"we\"ird\\na\nme\"", &v) == 0 &&
              v == 2000000);
    CU_ASSERT(sl_prom_value(p, "sluice_stream_players",
                            "app=\"live\",name=\"we\"ird\\na\nme\"", &v) == 0 &&
              v == 2);
    CU_ASSERT(sl_prom_value(p, "sluice_transcode_dropped_frames_total",
                            "app=\"live\",name=\"we\"ird\\na\nme\","
                            "rendition=\"720p\"",
                            &v) == 0 &&
              v == 4);
    CU_ASSERT(sl_prom_value(p, "sluice_relay_reconnects_total",
                            "app=\"live\",name=\"we\"ird\\na\nme\","
                            "relay=\"cdn\"",
                            &v) == 0 &&
              v == 2);
    CU_ASSERT(sl_prom_value(p, "sluice_worker_steals_total", "worker=\"1\"",
                            &v) == 0 &&
              v == 5);
    CU_ASSERT(sl_prom_value(p, "process_resident_memory_bytes", "", &v) == 0 &&
              v == 50 << 20);
    /* By protocol: new families; the unlabelled lines stay as they
     * were, alone in theirs (so sum() counts nothing twice). */
    CU_ASSERT_STRING_EQUAL(sl_prom_type(p, "sluice_players"), "gauge");
    CU_ASSERT_EQUAL(sl_prom_count(p, "sluice_players"), SL_PROTO_PLAYING);
    CU_ASSERT(sl_prom_value(p, "sluice_players", "protocol=\"rtmp\"", &v) ==
                  0 &&
              v == 2);
    CU_ASSERT(sl_prom_value(p, "sluice_players", "protocol=\"http-flv\"", &v) ==
                  0 &&
              v == 1);
    CU_ASSERT_EQUAL(sl_prom_count(p, "sluice_bytes_sent_total"), 1);
    CU_ASSERT(sl_prom_value(p, "sluice_bytes_sent_total", "", &v) == 0 &&
              v == 987654321);
    CU_ASSERT_STRING_EQUAL(
        sl_prom_type(p, "sluice_bytes_sent_by_protocol_total"), "counter");
    CU_ASSERT_EQUAL(sl_prom_count(p, "sluice_bytes_sent_by_protocol_total"),
                    SL_PROTO_IDS);
    CU_ASSERT(sl_prom_value(p, "sluice_bytes_sent_by_protocol_total",
                            "protocol=\"rtmp\"", &v) == 0 &&
              v == 987000000);
    CU_ASSERT(sl_prom_value(p, "sluice_bytes_sent_by_protocol_total",
                            "protocol=\"http-flv\"", &v) == 0 &&
              v == 654000);
    CU_ASSERT(sl_prom_value(p, "sluice_bytes_sent_by_protocol_total",
                            "protocol=\"http\"", &v) == 0 &&
              v == 321);
    CU_ASSERT_STRING_EQUAL(sl_prom_type(p, "sluice_stream_players_by_protocol"),
                           "gauge");
    CU_ASSERT_EQUAL(sl_prom_count(p, "sluice_stream_players_by_protocol"),
                    SL_PROTO_PLAYING);
    CU_ASSERT(sl_prom_value(p, "sluice_stream_players_by_protocol",
                            "app=\"live\",name=\"we\"ird\\na\nme\","
                            "protocol=\"rtmp\"",
                            &v) == 0 &&
              v == 1);
    CU_ASSERT(sl_prom_value(p, "sluice_stream_players_by_protocol",
                            "app=\"live\",name=\"we\"ird\\na\nme\","
                            "protocol=\"http-flv\"",
                            &v) == 0 &&
              v == 1);
    CU_ASSERT(sl_prom_value(p, "process_cpu_seconds_total", "", &v) == 0 &&
              v == 3.25);
    sl_prom_free(p);
    free(text);

    /* No streams: every family still has its HELP and TYPE. */
    s->nstreams = 0;
    text = sl_api_metrics(s, &len);
    p = sl_prom_parse(text, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(sl_prom_count(p, "sluice_stream_bitrate_bits"), 0);
    CU_ASSERT_STRING_EQUAL(sl_prom_type(p, "sluice_stream_bitrate_bits"),
                           "gauge");
    CU_ASSERT_EQUAL(sl_prom_count(p, "sluice_stream_players_by_protocol"), 0);
    CU_ASSERT_STRING_EQUAL(sl_prom_type(p, "sluice_stream_players_by_protocol"),
                           "gauge");
    CU_ASSERT_EQUAL(sl_prom_count(p, "sluice_players"), SL_PROTO_PLAYING);
    sl_prom_free(p);
    free(text);
    s->nstreams = 1;
    sl_snapshot_free(s);
}

/* The test parser itself must refuse what promtool refuses. */
static void
test_prom_parser_rules(void)
{
    static const char *const bad[] = {
        "x 1\n",                                        /* no TYPE/HELP */
        "# HELP x h\n# TYPE x counter\nx 1\n",          /* no _total */
        "# HELP x h\n# TYPE x gauge\nx{a=\"\\q\"} 1\n", /* bad escape */
        "# HELP x h\n# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",
        "# HELP x h\n# TYPE x gauge\nx 1\nx 2\n", /* series twice */
        "# HELP x h\n# TYPE x gauge\nx one\n",
        /* not together */
        ("# HELP x h\n# TYPE x gauge\n# HELP y h\n# TYPE y gauge\n"
         "x 1\ny 1\nx{a=\"b\"} 1\n"),
        "# HELP x h\n# TYPE x gauge\nx 1", /* no newline */
        "# HELP x h\n# TYPE x frob\nx 1\n",
        "# HELP 1x h\n# TYPE 1x gauge\n1x 1\n",
    };
    char            err[256];
    struct sl_prom *p;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = sl_prom_parse(bad[i], err, sizeof(err));
        CU_ASSERT_PTR_NULL(p);
        sl_prom_free(p);
    }
    p = sl_prom_parse("# HELP x_total h\n# TYPE x_total counter\n"
                      "x_total{a=\"q\\\"\\\\\\n\"} 1.5e3\n",
                      err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(p);
    sl_prom_free(p);
}

/* The protocol names the API counts by map to their rows and back;
 * anything else has no row. */
static void
test_proto_ids(void)
{
    for (int i = 0; i < SL_PROTO_IDS; i++)
        CU_ASSERT_EQUAL(sl_proto_id_of(sl_proto_id_name(i)), i);
    CU_ASSERT_EQUAL(sl_proto_id_of("rtmp"), SL_PROTO_RTMP);
    CU_ASSERT_EQUAL(sl_proto_id_of("http-flv"), SL_PROTO_HTTP_FLV);
    CU_ASSERT_EQUAL(sl_proto_id_of("http"), SL_PROTO_HTTP);
    CU_ASSERT_EQUAL(sl_proto_id_of("http-fl"), -1); /* a truncated name */
    CU_ASSERT_EQUAL(sl_proto_id_of(""), -1);
    CU_ASSERT_EQUAL(sl_proto_id_of(NULL), -1);
    CU_ASSERT_STRING_EQUAL(sl_proto_id_name(SL_PROTO_IDS), "");
    CU_ASSERT_STRING_EQUAL(sl_proto_id_name(-1), "");
    /* Every name fits where the sessions' facts and the snapshot keep
     * it (a cut "http-flv" would count in no protocol). */
    for (int i = 0; i < SL_PROTO_IDS; i++) {
        struct sl_sess_info   info;
        struct sl_sess_snap   snap;
        struct sl_snap_player pl;

        CU_ASSERT(strlen(sl_proto_id_name(i)) < sizeof(info.proto));
        CU_ASSERT(strlen(sl_proto_id_name(i)) < sizeof(snap.proto));
        CU_ASSERT(strlen(sl_proto_id_name(i)) < sizeof(pl.protocol));
    }
}

static void
test_token(void)
{
    CU_ASSERT(sl_api_token_ok("Bearer s3cret", "s3cret"));
    CU_ASSERT(!sl_api_token_ok("Bearer s3cre", "s3cret"));
    CU_ASSERT(!sl_api_token_ok("Bearer s3cret2", "s3cret"));
    CU_ASSERT(!sl_api_token_ok("bearer s3cret", "s3cret"));
    CU_ASSERT(!sl_api_token_ok("Basic s3cret", "s3cret"));
    CU_ASSERT(!sl_api_token_ok(NULL, "s3cret"));
    CU_ASSERT(!sl_api_token_ok("Bearer ", ""));
    CU_ASSERT(!sl_api_token_ok("Bearer x", NULL));
}

static void
test_redact(void)
{
    char u1[] = "rtmp://user:pw@cdn.example:1935/live/key?auth=1";
    char u2[] = "rtmp://cdn.example/live/a@b";
    char u3[] = "rtmps://k@h/app";

    sl_stats_redact_url(u1);
    CU_ASSERT_STRING_EQUAL(u1, "rtmp://cdn.example:1935/live/key");
    sl_stats_redact_url(u2);
    CU_ASSERT_STRING_EQUAL(u2, "rtmp://cdn.example/live/a@b");
    sl_stats_redact_url(u3);
    CU_ASSERT_STRING_EQUAL(u3, "rtmps://h/app");
}

static void
test_errors_json(void)
{
    char        *t = sl_api_error_json("not_found", "no \"such\" path");
    json_error_t e;
    json_t      *j = json_loads(t, 0, &e);

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")),
                           "not_found");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "message")),
                           "no \"such\" path");
    json_decref(j);
    free(t);
}

void
sl_test_suite_api(void)
{
    CU_pSuite s = CU_add_suite("api", NULL, NULL);

    CU_add_test(s, "router: paths, names, methods, junk", test_route);
    CU_add_test(s, "server JSON carries every field", test_server_json);
    CU_add_test(s, "streams JSON: fields, players, providers, nulls",
                test_streams_json);
    CU_add_test(s, "metrics parse under promtool's rules", test_metrics);
    CU_add_test(s, "the metrics test parser refuses bad text",
                test_prom_parser_rules);
    CU_add_test(s, "protocol names and rows", test_proto_ids);
    CU_add_test(s, "bearer token check", test_token);
    CU_add_test(s, "relay URLs lose credentials", test_redact);
    CU_add_test(s, "error bodies", test_errors_json);
}
