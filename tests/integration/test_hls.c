/*
 * LL-HLS on the web port (hls/, web/http_conn.c) as a viewer checks it,
 * with real clients: ffmpeg publishes over RTMP, ffprobe and ffmpeg read
 * HLS over HTTP, and a raw HTTP client (tests/support/http_client.h)
 * looks at the protocol's details.
 *
 * One server serves the suite: [app:live] with hls = on, a ladder of two
 * cheap rungs (r180: 240x180, r144: 192x144, ultrafast) and
 * keyframe_interval = 1s, so segments are 1 s, and hls_path (its files
 * in a temporary folder too); [app:signed] with hls,
 * play_secret and the r144 rung; [app:plain] without hls.  ffmpeg
 * publishes live/cam and signed/sec (320x240, 25 fps, a keyframe every
 * 25 frames) from the start; the tests stop them when they are done
 * with them.  publish_grace is 1 s.
 *
 * - the master playlist: ffprobe finds every variant at its size; the
 *   playlist gives each BANDWIDTH, RESOLUTION, FRAME-RATE and CODECS;
 * - ffmpeg decodes 4 s of the master playlist (>= 90 % of the frames);
 * - segments: the same segment of every variant starts with a video
 *   keyframe at the same media time (1 ms); segments are matched by
 *   number, or by EXT-X-PROGRAM-DATE-TIME where the numbers differ
 *   across variants (said on stderr);
 * - no part longer than PART-TARGET (a maximum);
 * - blocking reloads, the hinted part, the 400s, delta updates;
 * - signed URLs: the master's token reaches every URI, nothing plays
 *   without it;
 * - bad input (traversal, unknown names), HEAD, the preflight and the
 *   response headers;
 * - byte ranges of a segment and an init: 206 with Content-Range and
 *   exactly those bytes (A-B, A-, -N, B past the end); 416 with
 *   the length in its Content-Range for a range past the end;
 * - parts sent from their segments' memory files (sendfile): a part over
 *   HTTP, over HTTPS (curl; the copying path) and in hls_path are the
 *   same bytes, a range and HEAD of it; a reader that stops reading a
 *   segment while two requests wait pipelined behind it gets all of it
 *   after the segment left the window; the server's memory files stay
 *   at a window's worth (/proc/PID/fd);
 * - the publisher leaves: EXT-X-ENDLIST after publish_grace, on the web
 *   port and in the hls_path files;
 * - /api/v1/server counts the bytes as hls;
 * - the server stops cleanly (exit 0, no ERROR line, no sanitizer
 *   report).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "tests/integration/itest.h"
#include "tests/support/flvpub.h"
#include "tests/support/http_client.h"

#define PLAY_SECRET "hls-play-s3cret-4-tests"
#define FPS 25
#define NVARIANTS 3
#define MAX_SEGS 40
#define MAX_URIS 128
#define URI_MAX 512

/* The rungs are small and fast; the source's keyframes (every 25
 * frames at 25 fps) fall on the ladder's 1 s keyframe times, so the
 * source lines up with the rungs too. */
#define SECTIONS                                                                   \
    "hls = on\nrenditions = r180,r144\nkeyframe_interval = 1s\n" /* A window       \
                                                                  * longer         \
                                                                  * than           \
                                                                  * CAN-SKIP-UNTIL \
                                                                  * (6 s), so      \
                                                                  * a delta        \
                                                                  * update has     \
                                                                  * something      \
                                                                  * to skip.       \
                                                                  */               \
    "hls_segments = 10\n"                                                          \
    "[app:signed]\nhls = on\nplay_secret = " PLAY_SECRET "\n"                      \
    "renditions = r144\nkeyframe_interval = 1s\n"                                  \
    "[app:plain]\n"                                                                \
    "[app:switch]\nhls = on\nhls_segments = 10\n"                                  \
    "[rendition:r180]\nheight = 180\nvideo_bitrate = 300k\n"                       \
    "preset = ultrafast\n"                                                         \
    "[rendition:r144]\nheight = 144\nvideo_bitrate = 120k\n"                       \
    "preset = ultrafast\n"

/* live/cam's variants: the source first, as the master lists them. */
static const struct {
    const char *stream;
    int         width, height;
} VARIANT[NVARIANTS] = {
    {"cam", 320, 240},
    {"cam_r180", 240, 180},
    {"cam_r144", 192, 144},
};

/* The server every test shares, its publishers and the callback
 * server that [app:live]'s on_play and on_done ask. */
static struct {
    struct sl_srv      srv;
    struct sl_proc     pub_live, pub_signed;
    struct sl_itest_cb cb; /* tests/support/callback_server.py */
    char               dir[PATH_MAX];
    char               disk[PATH_MAX + 8]; /* [app:live]'s hls_path */
    char               cert[PATH_MAX + 16], key[PATH_MAX + 16];
    int                tls_port; /* [web] tls_listen */
    /* Body bytes of the 200 answers our own GETs got from the web port:
     * a lower bound of what the API must count as hls. */
    uint64_t got_bytes;
} H;

/* ---- the shared server ---- */

/* Starts ffmpeg publishing a 320x240 clip of seconds to app/name and
 * waits until the server says it publishes. */
static int
publish(struct sl_proc *p, const char *app, const char *name, int width,
        int height, int seconds)
{
    struct sl_av av = {width, height, FPS, seconds, FPS, 0};
    char         url[256], log[PATH_MAX + 32], f[96], line[128];
    int          before;

    sl_srv_url(&H.srv, app, name, url, sizeof(url));
    snprintf(f, sizeof(f), "pub-%s-%s.log", app, name);
    sl_srv_path(&H.srv, f, log, sizeof(log));
    snprintf(line, sizeof(line), "publishing %s/%s\n", app, name);
    before = sl_file_count(H.srv.log, line);
    if (sl_ffmpeg_publish(p, url, &av, log) < 0)
        return -1;
    if (sl_wait_file_count(H.srv.log, line, before + 1, IT_S(10)) < 0) {
        fprintf(stderr, "  %s/%s: not published\n", app, name);
        sl_show_tail("publisher", log);
        return -1;
    }
    return 0;
}

/* A request to the web port within bound seconds: its status, or -errno
 * (said on stderr).  r is the caller's to free (also on failure). */
static int
web(const char *method, const char *path, const char *headers, double bound,
    struct sl_http_resp *r)
{
    int rc = sl_http_request(H.srv.web_port, method, path, headers, bound, r);

    if (rc < 0) {
        fprintf(stderr, "  %s %s: no answer (%s)\n", method, path,
                strerror(-rc));
        return rc;
    }
    if (r->status == 200 && strcmp(method, "GET") == 0)
        H.got_bytes += r->body_len;
    return r->status;
}

static int
get(const char *path, struct sl_http_resp *r)
{
    return web("GET", path, NULL, IT_S(15), r);
}

/* Waits until path answers 200 (a master playlist is answered once its
 * variants have segments). */
static int
wait_200(const char *path, double timeout_s)
{
    for (double end = sl_now() + timeout_s; sl_now() < end; sl_sleep(0.2)) {
        struct sl_http_resp r;
        int                 st = get(path, &r);

        sl_http_resp_free(&r);
        if (st == 200)
            return 0;
    }
    fprintf(stderr, "  %s: no 200 within %.0f s\n", path, timeout_s);
    return -1;
}

static int
suite_init(void)
{
    char keys[3 * PATH_MAX], log[PATH_MAX + 16];
    char sections[PATH_MAX + sizeof(SECTIONS) + 320];

    memset(&H, 0, sizeof(H));
    if (sl_tmpdir(H.dir) < 0)
        return -1;
    if (sl_itest_cb_start(&H.cb, H.dir) != 0) {
        fprintf(stderr, "hls: the callback server did not start\n");
        return -1;
    }
    /* HTTPS beside HTTP: parts go out with a copy through TLS. */
    snprintf(H.cert, sizeof(H.cert), "%s/web.crt", H.dir);
    snprintf(H.key, sizeof(H.key), "%s/web.key", H.dir);
    snprintf(log, sizeof(log), "%s/cert.log", H.dir);
    if (sl_itest_make_cert("localhost", H.cert, H.key, log) != 0)
        return -1;
    H.tls_port = sl_free_port();
    snprintf(keys, sizeof(keys),
             "publish_grace = 1s\n"
             /* ffprobe, ffmpeg and the tests open many short
              * connections at once. */
             "connection_rate_per_ip = 0\n"
             "max_connections_per_ip = 0\n"
             "tls_cert = %s\ntls_key = %s\n",
             H.cert, H.key);
    /* [app:live] writes its files to disk too (hls_path). */
    snprintf(H.disk, sizeof(H.disk), "%s/hls", H.dir);
    if (mkdir(H.disk, 0755) < 0)
        return -1;
    /* [app:live] asks on_play and tells on_done; an HLS viewer ends
     * 2 s after its last playlist request. */
    snprintf(sections, sizeof(sections),
             "hls_path = %s\non_play = http://127.0.0.1:%d/allow\n"
             "on_done = http://127.0.0.1:%d/allow\n%s"
             "[web]\nhls_viewer_timeout = 2s\ntls_listen = 127.0.0.1:%d\n",
             H.disk, H.cb.port, H.cb.port, SECTIONS, H.tls_port);
    if (sl_srv_start(&H.srv, keys, sections) < 0)
        return -1;
    /* Long clips: the tests stop them when they are done with them. */
    if (publish(&H.pub_live, "live", "cam", 320, 240, 120) < 0 ||
        publish(&H.pub_signed, "signed", "sec", 320, 240, 120) < 0)
        return -1;
    /* The master is answered once the source has two segments and each
     * rung one. */
    if (wait_200("/live/cam.m3u8", IT_S(20)) < 0) {
        sl_show_tail("server", H.srv.log);
        return -1;
    }
    return 0;
}

/* After each test: what it left running goes, but for the server and
 * the publishers the next tests use. */
static void
test_teardown(void)
{
    pid_t keep[4] = {H.srv.proc.pid, H.pub_live.pid, H.pub_signed.pid,
                     H.cb.proc.pid};

    sl_proc_kill_all_except(keep, 4);
}

/* ---- playlists ---- */

struct seg {
    uint64_t msn;
    char     pdt[40];      /* EXT-X-PROGRAM-DATE-TIME */
    char     map[URI_MAX]; /* the EXT-X-MAP URI in effect */
};

struct media_pl {
    struct seg segs[MAX_SEGS]; /* complete segments, in order */
    int        nsegs;
    int        has_hint;
    uint64_t   hint_msn;
    unsigned   hint_part;
    char       hint_uri[URI_MAX];
};

/* The value of URI="..." in a tag line into out, or "" (with NULL
 * returned). */
static const char *
uri_attr(const char *line, char *out, size_t cap)
{
    const char *p = strstr(line, "URI=\"");
    size_t      n;

    out[0] = '\0';
    if (p == NULL)
        return NULL;
    p += 5;
    n = strcspn(p, "\"\n");
    snprintf(out, cap, "%.*s", (int) n, p);
    return out;
}

static void
parse_media(const char *text, struct media_pl *pl)
{
    char        pdt[40] = "", map[URI_MAX] = "", uri[URI_MAX];
    const char *l = text;

    memset(pl, 0, sizeof(*pl));
    while (l != NULL && *l != '\0') {
        size_t len = strcspn(l, "\r\n");
        char   line[1024];

        snprintf(line, sizeof(line), "%.*s", (int) len, l);
        if (!strncmp(line, "#EXT-X-PROGRAM-DATE-TIME:", 25)) {
            snprintf(pdt, sizeof(pdt), "%.*s", (int) sizeof(pdt) - 1,
                     line + 25);
        } else if (!strncmp(line, "#EXT-X-MAP:", 11)) {
            uri_attr(line, map, sizeof(map));
        } else if (!strncmp(line, "#EXT-X-PRELOAD-HINT:", 20) &&
                   strstr(line, "TYPE=PART") != NULL &&
                   uri_attr(line, uri, sizeof(uri)) != NULL &&
                   sscanf(uri, "p%" SCNu64 ".%u.m4s", &pl->hint_msn,
                          &pl->hint_part) == 2) {
            pl->has_hint = 1;
            snprintf(pl->hint_uri, sizeof(pl->hint_uri), "%s", uri);
        } else if (line[0] == 's' && pl->nsegs < MAX_SEGS) {
            struct seg *s = &pl->segs[pl->nsegs];

            if (sscanf(line, "s%" SCNu64 ".m4s", &s->msn) == 1) {
                snprintf(s->pdt, sizeof(s->pdt), "%s", pdt);
                snprintf(s->map, sizeof(s->map), "%s", map);
                pl->nsegs++;
            }
        }
        l += len;
        while (*l == '\r' || *l == '\n')
            l++;
    }
}

/* GETs /APP/STREAM/media.m3u8 (with query when not NULL) and parses it;
 * its text in *text when not NULL (the caller frees it).  The status. */
static int
get_media(const char *app, const char *stream, const char *query,
          struct media_pl *pl, char **text)
{
    struct sl_http_resp r;
    char                path[1024];
    int                 st;

    snprintf(path, sizeof(path), "/%s/%s/media.m3u8%s%s", app, stream,
             query ? "?" : "", query ? query : "");
    st = get(path, &r);
    parse_media(st == 200 ? r.body : "", pl);
    if (text != NULL) {
        *text = r.body;
        r.body = NULL;
    }
    sl_http_resp_free(&r);
    return st;
}

/* The URIs a playlist lists: its lines that are not tags, and every
 * URI="..." of its tags.  How many (at most max) into out. */
static int
list_uris(const char *text, char (*out)[URI_MAX], int max)
{
    const char *l = text;
    int         n = 0;

    while (l != NULL && *l != '\0' && n < max) {
        size_t len = strcspn(l, "\r\n");
        char   line[1024];

        snprintf(line, sizeof(line), "%.*s", (int) len, l);
        if (line[0] != '#' && line[0] != '\0')
            snprintf(out[n++], URI_MAX, "%.*s", URI_MAX - 1, line);
        else if (line[0] == '#' && uri_attr(line, out[n], URI_MAX) != NULL)
            n++;
        l += len;
        while (*l == '\r' || *l == '\n')
            l++;
    }
    return n;
}

/* The value of attribute name (NAME=...) of a tag line into out: up to
 * the next comma, or the quoted string. */
static const char *
attr(const char *line, const char *name, char *out, size_t cap)
{
    char        key[64];
    const char *p = line;

    snprintf(key, sizeof(key), "%s=", name);
    out[0] = '\0';
    while ((p = strstr(p, key)) != NULL) {
        /* A whole attribute name: after ':' or ','. */
        if (p > line && (p[-1] == ':' || p[-1] == ',')) {
            p += strlen(key);
            if (*p == '"')
                snprintf(out, cap, "%.*s", (int) strcspn(p + 1, "\""), p + 1);
            else
                snprintf(out, cap, "%.*s", (int) strcspn(p, ",\r\n"), p);
            return out;
        }
        p++;
    }
    return NULL;
}

static int
header_has(const struct sl_http_resp *r, const char *name, const char *want)
{
    char v[256];

    if (sl_http_header(r, name, v, sizeof(v)) == NULL) {
        fprintf(stderr, "  no %s header\n", name);
        return 0;
    }
    if (strstr(v, want) == NULL) {
        fprintf(stderr, "  %s: %s (wanted %s)\n", name, v, want);
        return 0;
    }
    return 1;
}

/* ---- 1. the master playlist ---- */

static void
test_master(void)
{
    struct sl_http_resp r;
    char  out[PATH_MAX + 32], err[PATH_MAX + 32], url[256], *text, *save = NULL;
    char *argv[] = {"ffprobe",
                    "-v",
                    "error",
                    "-show_entries",
                    "stream=index,codec_type,width,height",
                    "-of",
                    "compact=p=0",
                    url,
                    NULL};
    int   found[NVARIANTS] = {0}, listed[NVARIANTS] = {0}, rc;
    int   seen[64] = {0};

    /* ffprobe: one video stream per variant, at the variant's size. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/live/cam.m3u8",
             H.srv.web_port);
    snprintf(out, sizeof(out), "%s/ffprobe-master.txt", H.dir);
    snprintf(err, sizeof(err), "%s/ffprobe-master.err", H.dir);
    rc = sl_proc_run(argv, out, err, IT_S(30));
    CU_ASSERT(rc == 0);
    if (rc != 0)
        sl_show_tail("ffprobe", err);
    text = sl_read_file(out);
    CU_ASSERT_FATAL(text != NULL);
    for (char *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        int         w = 0, h = 0, index = -1;
        const char *p;

        /* ffprobe lists a stream under its program and again on its
         * own: each index counts once. */
        if (strstr(l, "codec_type=video") == NULL ||
            (p = strstr(l, "index=")) == NULL || (index = atoi(p + 6)) < 0 ||
            index >= 64 || seen[index]++)
            continue;
        if ((p = strstr(l, "width=")) != NULL)
            w = atoi(p + 6);
        if ((p = strstr(l, "height=")) != NULL)
            h = atoi(p + 7);
        fprintf(stderr, "  ffprobe: stream %d, video %dx%d\n", index, w, h);
        for (int i = 0; i < NVARIANTS; i++)
            if (w == VARIANT[i].width && h == VARIANT[i].height)
                found[i]++;
    }
    free(text);
    for (int i = 0; i < NVARIANTS; i++) {
        if (found[i] != 1)
            fprintf(stderr, "  %s (%dx%d): found %d times by ffprobe\n",
                    VARIANT[i].stream, VARIANT[i].width, VARIANT[i].height,
                    found[i]);
        CU_ASSERT(found[i] == 1);
    }

    /* The playlist itself: every variant with its attributes. */
    CU_ASSERT_FATAL(get("/live/cam.m3u8", &r) == 200);
    CU_ASSERT(strncmp(r.body, "#EXTM3U", 7) == 0);
    save = NULL;
    for (char *l = strtok_r(r.body, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        char  bw[32], avg[32], res[32], fr[32], codecs[96], uri[256], want[64];
        char *next;
        int   i;

        if (strncmp(l, "#EXT-X-STREAM-INF:", 18) != 0)
            continue;
        next = strtok_r(NULL, "\n", &save);
        CU_ASSERT_FATAL(next != NULL);
        snprintf(uri, sizeof(uri), "%s", next);
        /* The viewer's id (sid) follows the path: compare the path. */
        CU_ASSERT(strstr(uri, "?sid=") != NULL);
        if (strchr(uri, '?') != NULL)
            *strchr(uri, '?') = '\0';
        for (i = 0; i < NVARIANTS; i++) {
            snprintf(want, sizeof(want), "%s/media.m3u8", VARIANT[i].stream);
            if (strcmp(uri, want) == 0)
                break;
        }
        fprintf(stderr, "  master: %s %s\n", l + 18, uri);
        CU_ASSERT(i < NVARIANTS);
        if (i == NVARIANTS)
            continue;
        listed[i]++;
        CU_ASSERT(attr(l, "BANDWIDTH", bw, sizeof(bw)) && atol(bw) > 0);
        /* AVERAGE-BANDWIDTH, where given, is at most the peak. */
        if (attr(l, "AVERAGE-BANDWIDTH", avg, sizeof(avg)))
            CU_ASSERT(atol(avg) > 0 && atol(avg) <= atol(bw));
        snprintf(want, sizeof(want), "%dx%d", VARIANT[i].width,
                 VARIANT[i].height);
        CU_ASSERT(attr(l, "RESOLUTION", res, sizeof(res)) &&
                  strcmp(res, want) == 0);
        CU_ASSERT(attr(l, "FRAME-RATE", fr, sizeof(fr)) &&
                  fabs(atof(fr) - FPS) < 0.5);
        CU_ASSERT(attr(l, "CODECS", codecs, sizeof(codecs)) &&
                  strstr(codecs, "avc1.") != NULL &&
                  strstr(codecs, "mp4a.40.2") != NULL);
    }
    for (int i = 0; i < NVARIANTS; i++) {
        if (listed[i] != 1)
            fprintf(stderr, "  %s listed %d times\n", VARIANT[i].stream,
                    listed[i]);
        CU_ASSERT(listed[i] == 1);
    }
    sl_http_resp_free(&r);
}

/* ---- 2. segments line up ---- */

/* Writes init + segment of /live/STREAM into a file and has ffprobe
 * give its first video packet: pts (s) and whether it is a keyframe.
 * 0, or -1 (said on stderr). */
static int
first_video(const char *stream, const struct seg *s, double *pts, int *key)
{
    struct sl_http_resp r;
    char                path[1024], file[PATH_MAX + 64], out[PATH_MAX + 80],
        err[PATH_MAX + 80], *text, *p;
    char *argv[] = {"ffprobe",
                    "-v",
                    "error",
                    "-select_streams",
                    "v:0",
                    "-show_entries",
                    "packet=pts_time,flags",
                    "-of",
                    "compact=p=0",
                    file,
                    NULL};
    FILE *f;
    int   ok = 1;

    snprintf(file, sizeof(file), "%s/%s-%" PRIu64 ".mp4", H.dir, stream,
             s->msn);
    f = fopen(file, "wb");
    if (f == NULL)
        return -1;
    snprintf(path, sizeof(path), "/live/%s/%s", stream, s->map);
    if (get(path, &r) != 200 || fwrite(r.body, 1, r.body_len, f) != r.body_len)
        ok = 0;
    sl_http_resp_free(&r);
    snprintf(path, sizeof(path), "/live/%s/s%" PRIu64 ".m4s", stream, s->msn);
    if (!ok || get(path, &r) != 200 || r.body_len == 0 ||
        fwrite(r.body, 1, r.body_len, f) != r.body_len)
        ok = 0;
    sl_http_resp_free(&r);
    if (fclose(f) != 0 || !ok) {
        fprintf(stderr, "  %s: init + segment %" PRIu64 " not fetched\n",
                stream, s->msn);
        return -1;
    }
    snprintf(out, sizeof(out), "%s.packets", file);
    snprintf(err, sizeof(err), "%s.err", file);
    if (sl_proc_run(argv, out, err, IT_S(20)) != 0) {
        sl_show_tail("ffprobe", err);
        return -1;
    }
    text = sl_read_file(out);
    p = text != NULL ? strstr(text, "pts_time=") : NULL;
    if (p == NULL) {
        fprintf(stderr, "  %s: no video packet in %s\n", stream, file);
        free(text);
        return -1;
    }
    *pts = atof(p + 9);
    p = strstr(p, "flags=");
    *key = p != NULL && p[6] == 'K';
    free(text);
    return 0;
}

/* The segment of pl with number msn (by_pdt 0) or date pdt (by_pdt 1). */
static const struct seg *
find_seg(const struct media_pl *pl, uint64_t msn, const char *pdt, int by_pdt)
{
    for (int i = 0; i < pl->nsegs; i++)
        if (by_pdt ? strcmp(pl->segs[i].pdt, pdt) == 0 : pl->segs[i].msn == msn)
            return &pl->segs[i];
    return NULL;
}

/* Every EXT-X-PART's DURATION in text is at most its PART-TARGET (a
 * maximum, RFC 8216bis 4.4.4.9); how many parts were checked, or -1
 * after a longer one (said on stderr). */
static int
parts_within_target(const char *text, const char *stream)
{
    const char *t = strstr(text, "PART-TARGET=");
    const char *l = text;
    double      target;
    int         n = 0;

    if (t == NULL)
        return -1;
    target = strtod(t + 12, NULL);
    while ((l = strstr(l, "#EXT-X-PART:")) != NULL) {
        const char *d = strstr(l, "DURATION=");
        const char *eol = strchr(l, '\n');
        double      dur;

        if (d == NULL || (eol != NULL && d > eol))
            return -1;
        dur = strtod(d + 9, NULL);
        if (dur > target + 1e-9) {
            fprintf(stderr, "  %s: a part of %.3f s, PART-TARGET %.3f s\n",
                    stream, dur, target);
            return -1;
        }
        n++;
        l += 12;
    }
    return n;
}

static void
test_segments_line_up(void)
{
    static struct media_pl pl[NVARIANTS];
    int                    by_pdt = 0, compared = 0;

    for (int i = 0; i < NVARIANTS; i++) {
        char *text = NULL;

        CU_ASSERT_FATAL(
            get_media("live", VARIANT[i].stream, NULL, &pl[i], &text) == 200);
        CU_ASSERT_FATAL(pl[i].nsegs > 0);
        /* No part longer than the playlist says parts are. */
        CU_ASSERT(text != NULL &&
                  parts_within_target(text, VARIANT[i].stream) > 0);
        free(text);
    }
    /* The same number should name the same media (the same date, one
     * clock for the group) in every variant.  Where it does not, the
     * numbers differ across variants and segments are matched by
     * EXT-X-PROGRAM-DATE-TIME instead. */
    for (int i = 1; i < NVARIANTS; i++)
        for (int k = 0; k < pl[0].nsegs; k++) {
            const struct seg *o = find_seg(&pl[i], pl[0].segs[k].msn, NULL, 0);

            if (o != NULL && strcmp(o->pdt, pl[0].segs[k].pdt) != 0) {
                if (!by_pdt)
                    fprintf(stderr,
                            "  s%" PRIu64 " is %s in %s, %s in %s: segment "
                            "numbers differ across variants\n",
                            o->msn, pl[0].segs[k].pdt, VARIANT[0].stream,
                            o->pdt, VARIANT[i].stream);
                by_pdt = 1;
            }
        }
    /* The newest three that every variant has. */
    for (int k = pl[0].nsegs - 1; k >= 0 && compared < 3; k--) {
        const struct seg *s[NVARIANTS];
        double            pts[NVARIANTS];
        int               key[NVARIANTS], all = 1;

        s[0] = &pl[0].segs[k];
        for (int i = 1; i < NVARIANTS; i++) {
            s[i] = find_seg(&pl[i], s[0]->msn, s[0]->pdt, by_pdt);
            all = all && s[i] != NULL;
        }
        if (!all)
            continue;
        for (int i = 0; i < NVARIANTS; i++) {
            CU_ASSERT_FATAL(
                first_video(VARIANT[i].stream, s[i], &pts[i], &key[i]) == 0);
            fprintf(stderr, "  %s s%" PRIu64 " (%s): first video at %.3f s%s\n",
                    VARIANT[i].stream, s[i]->msn, s[i]->pdt, pts[i],
                    key[i] ? ", keyframe" : ", NOT a keyframe");
            CU_ASSERT(key[i]);
            CU_ASSERT(fabs(pts[i] - pts[0]) <= 0.001);
        }
        compared++;
    }
    fprintf(stderr, "  %d segments compared across %d variants\n", compared,
            NVARIANTS);
    CU_ASSERT(compared > 0);
}

/* ---- 3. ffmpeg plays the master playlist ---- */

static void
test_ffmpeg_decodes(void)
{
    struct sl_proc p;
    char           url[256], prog[PATH_MAX + 32], log[PATH_MAX + 32], *text, *s;
    const char    *args[] = {"-i",        url,  "-map", "0:v:0", "-t", "4",
                             "-progress", prog, "-f",   "null",  "-",  NULL};
    long           frames = -1, want = 4 * FPS;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/live/cam.m3u8",
             H.srv.web_port);
    snprintf(prog, sizeof(prog), "%s/ffmpeg-hls.progress", H.dir);
    snprintf(log, sizeof(log), "%s/ffmpeg-hls.log", H.dir);
    CU_ASSERT_FATAL(sl_ffmpeg_spawn(&p, args, log) == 0);
    sl_itest_expect_exit0(&p, "ffmpeg reading HLS", log, IT_S(30));
    text = sl_read_file(prog);
    for (s = text; s != NULL && (s = strstr(s, "frame=")) != NULL; s += 6)
        if (s == text || s[-1] == '\n')
            frames = atol(s + 6);
    free(text);
    fprintf(stderr, "  ffmpeg decoded %ld video frames of 4 s (%ld)\n", frames,
            want);
    CU_ASSERT(frames * 100 >= want * 90);
}

/* ---- 4. blocking reloads, the hinted part, delta updates ---- */

/* 1 when text has an EXT-X-PART line for uri. */
static int
lists_part(const char *text, const char *uri)
{
    char want[URI_MAX + 8];

    snprintf(want, sizeof(want), "URI=\"%s\"", uri);
    for (const char *p = strstr(text, want); p; p = strstr(p + 1, want)) {
        const char *bol = p;

        while (bol > text && bol[-1] != '\n')
            bol--;
        if (strncmp(bol, "#EXT-X-PART:", 12) == 0)
            return 1;
    }
    return 0;
}

static void
test_blocking_reload(void)
{
    struct media_pl     pl;
    struct sl_http_resp r;
    char                path[1024], *text;

    for (int i = 0; i < NVARIANTS; i++) {
        const char *v = VARIANT[i].stream;
        char        hint[URI_MAX];

        /* The part the playlist hints at: a blocking reload for it is
         * answered once it is cut, and lists it. */
        CU_ASSERT_FATAL(get_media("live", v, NULL, &pl, NULL) == 200);
        CU_ASSERT_FATAL(pl.has_hint);
        snprintf(hint, sizeof(hint), "%s", pl.hint_uri);
        snprintf(path, sizeof(path),
                 "/live/%s/media.m3u8?_HLS_msn=%" PRIu64 "&_HLS_part=%u", v,
                 pl.hint_msn, pl.hint_part);
        CU_ASSERT(web("GET", path, NULL, IT_S(5), &r) == 200);
        fprintf(stderr, "  %s: blocking reload for %s answered %d\n", v, hint,
                r.status);
        CU_ASSERT(r.body != NULL && lists_part(r.body, hint));
        CU_ASSERT(
            header_has(&r, "Content-Type", "application/vnd.apple.mpegurl"));
        sl_http_resp_free(&r);

        /* The hinted part fetched at once: held until cut, then all of
         * it (a CMAF fragment), and the playlist then lists it. */
        CU_ASSERT_FATAL(get_media("live", v, NULL, &pl, NULL) == 200);
        CU_ASSERT_FATAL(pl.has_hint);
        snprintf(path, sizeof(path), "/live/%s/%s", v, pl.hint_uri);
        CU_ASSERT(web("GET", path, NULL, IT_S(5), &r) == 200);
        fprintf(stderr, "  %s: hinted part %s: %d, %zu bytes\n", v, pl.hint_uri,
                r.status, r.body_len);
        CU_ASSERT(r.body_len > 8 && memcmp(r.body + 4, "moof", 4) == 0);
        CU_ASSERT(header_has(&r, "Content-Type", "video/iso.segment"));
        {
            char cl[32];

            CU_ASSERT(sl_http_header(&r, "Content-Length", cl, sizeof(cl)) &&
                      strtoul(cl, NULL, 10) == r.body_len);
        }
        sl_http_resp_free(&r);
        snprintf(hint, sizeof(hint), "%s", pl.hint_uri);
        CU_ASSERT(get_media("live", v, NULL, &pl, &text) == 200);
        CU_ASSERT(text != NULL && lists_part(text, hint));
        free(text);
    }

    /* More than two segments ahead of the live edge: 400 at once (not
     * held, which would end in a 200).  Four ahead of the segment being
     * written, so a segment cut meanwhile changes nothing. */
    CU_ASSERT_FATAL(get_media("live", "cam", NULL, &pl, NULL) == 200);
    CU_ASSERT_FATAL(pl.has_hint);
    snprintf(path, sizeof(path), "/live/cam/media.m3u8?_HLS_msn=%" PRIu64,
             pl.hint_msn + 4);
    CU_ASSERT(web("GET", path, NULL, IT_S(5), &r) == 400);
    sl_http_resp_free(&r);
    snprintf(path, sizeof(path),
             "/live/cam/media.m3u8?_HLS_msn=%" PRIu64 "&_HLS_part=0",
             pl.hint_msn + 4);
    CU_ASSERT(web("GET", path, NULL, IT_S(5), &r) == 400);
    sl_http_resp_free(&r);
    /* _HLS_part without _HLS_msn. */
    CU_ASSERT(web("GET", "/live/cam/media.m3u8?_HLS_part=1", NULL, IT_S(5),
                  &r) == 400);
    sl_http_resp_free(&r);

    /* A delta update: a playlist; one that skips says version 9. */
    CU_ASSERT(get("/live/cam/media.m3u8?_HLS_skip=YES", &r) == 200);
    CU_ASSERT(r.body != NULL && strncmp(r.body, "#EXTM3U", 7) == 0);
    CU_ASSERT(r.body != NULL && strstr(r.body, "#EXT-X-TARGETDURATION:"));
    if (r.body != NULL && strstr(r.body, "#EXT-X-SKIP:") != NULL) {
        fprintf(stderr, "  _HLS_skip=YES: a delta update with EXT-X-SKIP\n");
        CU_ASSERT(strstr(r.body, "#EXT-X-VERSION:9\n") != NULL);
    } else {
        fprintf(stderr, "  _HLS_skip=YES: a whole playlist (nothing to "
                        "skip)\n");
    }
    sl_http_resp_free(&r);
}

/* ---- 5. signed URLs ---- */

/* How many of the URIs of text lack query in their own query (each
 * named on stderr); their count in *n. */
static int
uris_without(const char *text, const char *query, int *n)
{
    char(*u)[URI_MAX] = calloc(MAX_URIS, URI_MAX);
    int bad = 0;

    *n = u != NULL ? list_uris(text, u, MAX_URIS) : 0;
    for (int i = 0; i < *n; i++) {
        const char *q = strchr(u[i], '?');

        if (q == NULL || strstr(q + 1, query) == NULL) {
            fprintf(stderr, "  URI without the token: %s\n", u[i]);
            bad++;
        }
    }
    free(u);
    return bad;
}

static void
test_signed(void)
{
    struct sl_http_resp r;
    struct media_pl     pl;
    char                sig[65], query[160], path[1024], bad[160];
    long long           e = (long long) time(NULL) + 600;
    char(*u)[URI_MAX] = calloc(MAX_URIS, URI_MAX);
    int n, nvar = 0;

    CU_ASSERT_FATAL(u != NULL);
    sl_itest_sign(PLAY_SECRET, "signed", "sec", e, sig);
    snprintf(query, sizeof(query), "expires=%lld&sign=%s", e, sig);

    /* No signature, or a wrong one: 403. */
    CU_ASSERT(get("/signed/sec.m3u8", &r) == 403);
    sl_http_resp_free(&r);
    snprintf(bad, sizeof(bad), "/signed/sec.m3u8?expires=%lld&sign=%064d", e,
             0);
    CU_ASSERT(get(bad, &r) == 403);
    sl_http_resp_free(&r);

    /* Signed: every URI of the master carries the token. */
    snprintf(path, sizeof(path), "/signed/sec.m3u8?%s", query);
    CU_ASSERT_FATAL(get(path, &r) == 200);
    CU_ASSERT(uris_without(r.body, query, &n) == 0);
    n = list_uris(r.body, u, MAX_URIS);
    for (int i = 0; i < n; i++)
        nvar += strstr(u[i], "media.m3u8?") != NULL;
    fprintf(stderr, "  signed master: %d variants\n", nvar);
    CU_ASSERT(nvar == 2); /* the source and r144 */
    sl_http_resp_free(&r);

    /* ... and every URI of each variant's playlist, fetched by the URI
     * the master gave (a rung plays with its source's token). */
    for (int i = 0; i < n; i++) {
        char stream[128];
        int  m;

        snprintf(path, sizeof(path), "/signed/%s", u[i]);
        CU_ASSERT_FATAL(get(path, &r) == 200);
        CU_ASSERT(uris_without(r.body, query, &m) == 0);
        fprintf(stderr, "  %s: %d URIs, all with the token\n", u[i], m);
        CU_ASSERT(m > 3);
        parse_media(r.body, &pl);
        sl_http_resp_free(&r);
        CU_ASSERT_FATAL(pl.nsegs > 0);
        snprintf(stream, sizeof(stream), "%.*s", (int) strcspn(u[i], "/"),
                 u[i]);

        /* The playlist, a segment, a part and the init without the
         * token: 403; with it: 200. */
        {
            const char *what[4];
            char        seg[64], part[64];

            snprintf(seg, sizeof(seg), "s%" PRIu64 ".m4s",
                     pl.segs[pl.nsegs - 1].msn);
            snprintf(part, sizeof(part), "p%" PRIu64 ".0.m4s",
                     pl.segs[pl.nsegs - 1].msn);
            what[0] = "media.m3u8";
            what[1] = seg;
            what[2] = part;
            what[3] = pl.segs[0].map;
            for (int k = 0; k < 4; k++) {
                char plain[256];
                int  st;

                snprintf(plain, sizeof(plain), "%.*s",
                         (int) strcspn(what[k], "?"), what[k]);
                snprintf(path, sizeof(path), "/signed/%s/%s", stream, plain);
                CU_ASSERT((st = get(path, &r)) == 403);
                if (st != 403)
                    fprintf(stderr, "  GET %s: %d, not 403\n", path, st);
                sl_http_resp_free(&r);
                snprintf(path, sizeof(path), "/signed/%s/%s?%s", stream, plain,
                         query);
                CU_ASSERT((st = get(path, &r)) == 200);
                if (st != 200)
                    fprintf(stderr, "  GET %s: %d, not 200\n", path, st);
                CU_ASSERT(k == 0 || r.body_len > 0);
                sl_http_resp_free(&r);
            }
        }
    }
    free(u);
    /* Done with it. */
    sl_proc_stop(&H.pub_signed, SIGINT, IT_S(5));
}

/* ---- 7. bad input and headers ---- */

static void
test_bad_input_and_headers(void)
{
    static const char *const traversal[] = {
        "/live/..%2f..%2fetc/passwd",
        "/live/cam/../x",
        "/live/cam/../../../../etc/passwd",
        "/live/cam/..%2f..%2f..%2fetc%2fpasswd",
        "/live/%2e%2e/%2e%2e/etc/passwd",
        "/live/cam/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/../../etc/passwd",
        "/live/cam/..\\..\\etc\\passwd",
    };
    static const char *const unknown[] = {
        "/live/nosuch.m3u8",     "/live/nosuch/media.m3u8",
        "/live/nosuch/s1.m4s",   "/live/cam_r999/media.m3u8",
        "/nope/cam.m3u8",        "/nope/cam/media.m3u8",
        "/live/cam/sXYZ.m4s",    "/live/cam/s1.m4s",
        "/live/cam/p1.0.m4s",    "/live/cam/init999.mp4",
        "/live/cam/media.m3u8x", "/live/cam/passwd",
    };
    struct sl_http_resp r;
    struct sl_proc      plain;
    struct media_pl     pl;
    char                path[1024], cl[32], seg[64];
    int                 st;

    for (size_t i = 0; i < sizeof(traversal) / sizeof(traversal[0]); i++) {
        st = web("GET", traversal[i], NULL, IT_S(5), &r);
        fprintf(stderr, "  GET %s: %d\n", traversal[i], st);
        CU_ASSERT(st == 400 || st == 404);
        CU_ASSERT(r.body == NULL || strstr(r.body, "root:") == NULL);
        sl_http_resp_free(&r);
    }
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        st = get(unknown[i], &r);
        if (st != 404)
            fprintf(stderr, "  GET %s: %d, not 404\n", unknown[i], st);
        CU_ASSERT(st == 404);
        sl_http_resp_free(&r);
    }
    /* An app without hls: 404 while its stream is live (its HTTP-FLV
     * answers). */
    CU_ASSERT_FATAL(publish(&plain, "plain", "cam", 160, 120, 30) == 0);
    CU_ASSERT(web("HEAD", "/plain/cam.flv", NULL, IT_S(5), &r) == 200);
    sl_http_resp_free(&r);
    CU_ASSERT(get("/plain/cam.m3u8", &r) == 404);
    sl_http_resp_free(&r);
    CU_ASSERT(get("/plain/cam/media.m3u8", &r) == 404);
    sl_http_resp_free(&r);
    sl_proc_stop(&plain, SIGINT, IT_S(5));

    /* Playlists: their type, no-cache, CORS. */
    CU_ASSERT(get("/live/cam.m3u8", &r) == 200);
    CU_ASSERT(header_has(&r, "Content-Type", "application/vnd.apple.mpegurl"));
    CU_ASSERT(header_has(&r, "Cache-Control", "no-cache"));
    CU_ASSERT(header_has(&r, "Access-Control-Allow-Origin", "*"));
    sl_http_resp_free(&r);
    CU_ASSERT_FATAL(get_media("live", "cam_r144", NULL, &pl, NULL) == 200);
    CU_ASSERT(get("/live/cam_r144/media.m3u8", &r) == 200);
    CU_ASSERT(header_has(&r, "Content-Type", "application/vnd.apple.mpegurl"));
    CU_ASSERT(header_has(&r, "Cache-Control", "no-cache"));
    CU_ASSERT(header_has(&r, "Access-Control-Allow-Origin", "*"));
    sl_http_resp_free(&r);

    /* A segment and a part: their type, immutable, CORS. */
    CU_ASSERT_FATAL(pl.nsegs > 0);
    snprintf(seg, sizeof(seg), "s%" PRIu64 ".m4s", pl.segs[pl.nsegs - 1].msn);
    snprintf(path, sizeof(path), "/live/cam_r144/%s", seg);
    CU_ASSERT(get(path, &r) == 200);
    CU_ASSERT(header_has(&r, "Content-Type", "video/iso.segment"));
    CU_ASSERT(header_has(&r, "Cache-Control", "immutable"));
    CU_ASSERT(header_has(&r, "Access-Control-Allow-Origin", "*"));
    {
        size_t get_len = r.body_len;

        sl_http_resp_free(&r);
        /* HEAD: the same Content-Length, no body. */
        CU_ASSERT(web("HEAD", path, NULL, IT_S(5), &r) == 200);
        CU_ASSERT(sl_http_header(&r, "Content-Length", cl, sizeof(cl)) &&
                  strtoul(cl, NULL, 10) == get_len && get_len > 0);
        CU_ASSERT(header_has(&r, "Content-Type", "video/iso.segment"));
        CU_ASSERT(r.body_len == 0);
        fprintf(stderr, "  HEAD %s: Content-Length %s, %zu body bytes\n", path,
                cl, r.body_len);
        sl_http_resp_free(&r);
    }
    snprintf(path, sizeof(path), "/live/cam_r144/p%" PRIu64 ".0.m4s",
             pl.segs[pl.nsegs - 1].msn);
    CU_ASSERT(get(path, &r) == 200);
    CU_ASSERT(header_has(&r, "Content-Type", "video/iso.segment"));
    CU_ASSERT(header_has(&r, "Cache-Control", "immutable"));
    CU_ASSERT(header_has(&r, "Access-Control-Allow-Origin", "*"));
    sl_http_resp_free(&r);

    /* The CORS preflight a browser sends before a request of its own. */
    CU_ASSERT((st = web("OPTIONS", "/live/cam/media.m3u8",
                        "Origin: http://player.example\r\n"
                        "Access-Control-Request-Method: GET\r\n"
                        "Access-Control-Request-Headers: range\r\n",
                        IT_S(5), &r)) == 204 ||
              st == 200);
    CU_ASSERT(header_has(&r, "Access-Control-Allow-Origin", "*"));
    CU_ASSERT(header_has(&r, "Access-Control-Allow-Methods", "GET"));
    sl_http_resp_free(&r);
}

/* ---- 7b. byte ranges ---- */

/* GET path with "Range: bytes=range": the status, r filled (the caller
 * frees it). */
static int
get_range(const char *path, const char *range, struct sl_http_resp *r)
{
    char h[96];

    snprintf(h, sizeof(h), "Range: bytes=%s\r\n", range);
    return web("GET", path, h, IT_S(5), r);
}

/* A 206 for [first, last] of whole (len bytes): its Content-Range and
 * Content-Length say so and its bytes are the same slice. */
static int
is_slice(const struct sl_http_resp *r, int st, const uint8_t *whole, size_t len,
         size_t first, size_t last)
{
    char want[96], cr[96] = "", cl[32] = "";
    int  ok;

    snprintf(want, sizeof(want), "bytes %zu-%zu/%zu", first, last, len);
    sl_http_header(r, "Content-Range", cr, sizeof(cr));
    sl_http_header(r, "Content-Length", cl, sizeof(cl));
    ok = st == 206 && strcmp(cr, want) == 0 &&
         r->body_len == last - first + 1 &&
         strtoul(cl, NULL, 10) == r->body_len &&
         memcmp(r->body, whole + first, r->body_len) == 0;
    if (!ok)
        fprintf(stderr,
                "  wanted 206 \"%s\": got %d \"%s\", %zu bytes "
                "(Content-Length %s)\n",
                want, st, cr, r->body_len, cl);
    return ok;
}

static void
test_byte_ranges(void)
{
    struct sl_http_resp whole, r;
    struct media_pl     pl;
    char                path[1024], range[64], cr[96] = "", want[96];
    size_t              len;
    int                 st;

    /* A segment (immutable while the window holds it), whole. */
    CU_ASSERT_FATAL(get_media("live", "cam_r144", NULL, &pl, NULL) == 200);
    CU_ASSERT_FATAL(pl.nsegs > 0);
    snprintf(path, sizeof(path), "/live/cam_r144/s%" PRIu64 ".m4s",
             pl.segs[pl.nsegs - 1].msn);
    CU_ASSERT_FATAL(get(path, &whole) == 200);
    len = whole.body_len;
    CU_ASSERT_FATAL(len > 200);
    CU_ASSERT(header_has(&whole, "Accept-Ranges", "bytes"));

    /* bytes=A-B: exactly those. */
    st = get_range(path, "10-99", &r);
    CU_ASSERT(is_slice(&r, st, (const uint8_t *) whole.body, len, 10, 99));
    CU_ASSERT(header_has(&r, "Content-Type", "video/iso.segment"));
    sl_http_resp_free(&r);
    /* From A to the end, the last N, and a B past the end (cut there). */
    snprintf(range, sizeof(range), "%zu-", len - 20);
    st = get_range(path, range, &r);
    CU_ASSERT(
        is_slice(&r, st, (const uint8_t *) whole.body, len, len - 20, len - 1));
    sl_http_resp_free(&r);
    st = get_range(path, "-16", &r);
    CU_ASSERT(
        is_slice(&r, st, (const uint8_t *) whole.body, len, len - 16, len - 1));
    sl_http_resp_free(&r);
    snprintf(range, sizeof(range), "100-%zu", len + 1000);
    st = get_range(path, range, &r);
    CU_ASSERT(
        is_slice(&r, st, (const uint8_t *) whole.body, len, 100, len - 1));
    sl_http_resp_free(&r);

    /* Past the end: 416, with the object's length. */
    snprintf(range, sizeof(range), "%zu-%zu", len, len + 100);
    st = get_range(path, range, &r);
    snprintf(want, sizeof(want), "bytes */%zu", len);
    sl_http_header(&r, "Content-Range", cr, sizeof(cr));
    fprintf(stderr, "  %s (%zu bytes), Range: bytes=%s: %d, Content-Range %s\n",
            path, len, range, st, cr);
    CU_ASSERT(st == 416);
    CU_ASSERT_STRING_EQUAL(cr, want);
    sl_http_resp_free(&r);
    sl_http_resp_free(&whole);

    /* The init segment too: its first box's size and type. */
    snprintf(path, sizeof(path), "/live/cam_r144/%s", pl.segs[0].map);
    CU_ASSERT_FATAL(get(path, &whole) == 200);
    CU_ASSERT_FATAL(whole.body_len > 8);
    st = get_range(path, "0-7", &r);
    CU_ASSERT(
        is_slice(&r, st, (const uint8_t *) whole.body, whole.body_len, 0, 7));
    CU_ASSERT(r.body_len == 8 && memcmp(r.body + 4, "ftyp", 4) == 0);
    sl_http_resp_free(&r);
    sl_http_resp_free(&whole);
}

/* ---- 7c. parts sent from memory files ---- */

/* The URI of the newest complete part media.m3u8 of app/stream lists
 * (its last EXT-X-PART) into out; 0, or -1. */
static int
newest_part(const char *app, const char *stream, char *out, size_t cap)
{
    struct media_pl pl;
    char           *text = NULL, uri[URI_MAX];
    const char     *l;
    int             found = -1;

    if (get_media(app, stream, NULL, &pl, &text) != 200) {
        free(text);
        return -1;
    }
    for (l = text; l != NULL && (l = strstr(l, "#EXT-X-PART:")) != NULL; l++) {
        size_t len = strcspn(l, "\r\n");
        char   line[1024];

        snprintf(line, sizeof(line), "%.*s", (int) len, l);
        if (uri_attr(line, uri, sizeof(uri)) != NULL) {
            snprintf(out, cap, "%s", uri);
            found = 0;
        }
    }
    free(text);
    return found;
}

/* The whole file path into *data (the caller frees it), waiting up to
 * bound seconds for the writer thread to put it there.  Its length, or
 * -1. */
static long
read_file(const char *path, double bound, char **data)
{
    for (double end = sl_now() + bound;; sl_sleep(0.1)) {
        FILE *f = fopen(path, "rb");
        long  n;

        if (f == NULL) {
            if (sl_now() < end)
                continue;
            fprintf(stderr, "  %s: %s\n", path, strerror(errno));
            return -1;
        }
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        *data = malloc((size_t) n + 1);
        if (*data == NULL || fread(*data, 1, (size_t) n, f) != (size_t) n) {
            fclose(f);
            free(*data);
            return -1;
        }
        fclose(f);
        return n;
    }
}

/* Descriptors of process pid that are segment memory files. */
static int
count_memfds_of(int pid)
{
    char           dir[64], link[PATH_MAX + 80], target[256];
    DIR           *d;
    struct dirent *e;
    int            n = 0;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        ssize_t len;

        snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
        len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (strstr(target, "memfd:sluice-hls-segment") != NULL)
            n++;
    }
    closedir(d);
    return n;
}

/* The server's segment memory files: those of the process the test
 * started and of its children (the serving process, where a master
 * process supervises it). */
static int
count_memfds(void)
{
    char  path[96];
    FILE *f;
    int   pid = (int) H.srv.proc.pid, child, n = count_memfds_of(pid);

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
    f = fopen(path, "r");
    while (f != NULL && fscanf(f, "%d", &child) == 1)
        n += count_memfds_of(child);
    if (f != NULL)
        fclose(f);
    return n;
}

/* GETs path over HTTPS with curl into file out; curl's exit status. */
static int
https_get(const char *path, const char *out)
{
    char  url[URI_MAX + 1024], err[PATH_MAX + 16];
    char *argv[] = {"curl", "-sSfk",      "--max-time", "10",
                    "-o",   (char *) out, url,          NULL};

    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", H.tls_port, path);
    snprintf(err, sizeof(err), "%s/curl.log", H.dir);
    return sl_proc_run(argv, NULL, err, IT_S(15));
}

/* One part over HTTP, over HTTPS and as hls_path wrote it: the same
 * bytes; a range of it; HEAD. */
static int
check_part(const char *stream, const char *uri)
{
    struct sl_http_resp r, head;
    char  path[URI_MAX + 64], file[PATH_MAX + URI_MAX + 64], out[PATH_MAX + 32];
    char *disk = NULL, *tls = NULL, cl[32] = "";
    long  dlen, tlen;
    int   ok = 1, st;

    snprintf(path, sizeof(path), "/live/%s/%s", stream, uri);
    snprintf(file, sizeof(file), "%s/live/%s/%s", H.disk, stream, uri);
    snprintf(out, sizeof(out), "%s/part-tls.m4s", H.dir);
    dlen = read_file(file, IT_S(5), &disk);
    if (dlen <= 0 || get(path, &r) != 200) {
        fprintf(stderr, "  %s: not on disk or not served\n", path);
        free(disk);
        return 0;
    }
    if (r.body_len != (size_t) dlen || memcmp(r.body, disk, (size_t) dlen)) {
        fprintf(stderr, "  %s over HTTP: %zu bytes, not the %ld on disk\n",
                path, r.body_len, dlen);
        ok = 0;
    }
    unlink(out);
    st = https_get(path, out);
    tlen = st == 0 ? read_file(out, 1, &tls) : -1;
    if (tlen != dlen || memcmp(tls, disk, (size_t) dlen) != 0) {
        fprintf(stderr, "  %s over HTTPS: curl %d, %ld bytes (%ld on disk)\n",
                path, st, tlen, dlen);
        ok = 0;
    }
    free(tls);
    sl_http_resp_free(&r);
    /* A range inside the part, and HEAD: the length, no body. */
    st = get_range(path, "5-104", &r);
    ok &= is_slice(&r, st, (const uint8_t *) disk, (size_t) dlen, 5, 104);
    sl_http_resp_free(&r);
    st = web("HEAD", path, NULL, IT_S(5), &head);
    sl_http_header(&head, "Content-Length", cl, sizeof(cl));
    if (st != 200 || strtol(cl, NULL, 10) != dlen || head.body_len != 0) {
        fprintf(stderr, "  HEAD %s: %d, Content-Length %s, %zu body bytes\n",
                path, st, cl, head.body_len);
        ok = 0;
    }
    sl_http_resp_free(&head);
    free(disk);
    return ok;
}

/* A raw connection to the web port whose receive buffer is small, so a
 * big answer waits in the server's send queue while we do not read. */
static int
slow_connect(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t) H.srv.web_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval     tv = {5, 0};
    int                fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads the pipelined answers to n requests from fd (the last one
 * closes the connection): answer i's status and body (HEAD: heads[i]
 * set, no body) into st[i], body[i] (the caller frees), blen[i].  The
 * answers read whole. */
static int
read_answers(int fd, int n, const int *is_head, int *st, char **body,
             size_t *blen)
{
    size_t cap = 1 << 20, len = 0, at = 0;
    char  *buf = malloc(cap);
    int    got = 0;

    if (buf == NULL)
        return 0;
    for (double end = sl_now() + IT_S(20); sl_now() < end;) {
        ssize_t k;

        if (len == cap) {
            char *nb = realloc(buf, cap * 2);

            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        k = read(fd, buf + len, cap - len);
        if (k <= 0)
            break;
        len += (size_t) k;
    }
    for (int i = 0; i < n; i++) {
        char       *eoh;
        const char *cl;
        size_t      hlen, clen = 0;

        st[i] = 0;
        body[i] = NULL;
        blen[i] = 0;
        eoh = at < len ? memmem(buf + at, len - at, "\r\n\r\n", 4) : NULL;
        if (eoh == NULL)
            break;
        hlen = (size_t) (eoh + 4 - (buf + at));
        sscanf(buf + at, "HTTP/1.1 %d", &st[i]);
        cl = memmem(buf + at, hlen, "Content-Length: ", 16);
        if (cl != NULL)
            clen = strtoul(cl + 16, NULL, 10);
        at += hlen;
        if (is_head[i])
            clen = 0;
        if (len - at < clen)
            break;
        body[i] = malloc(clen + 1);
        if (body[i] == NULL)
            break;
        memcpy(body[i], buf + at, clen);
        blen[i] = clen;
        at += clen;
        got++;
    }
    free(buf);
    return got;
}

static void
test_parts_from_memory_files(void)
{
    char                uri[URI_MAX], seg[1024], req[4 * URI_MAX + 512];
    char               *body[3] = {NULL, NULL, NULL};
    struct media_pl     pl;
    struct sl_http_resp whole;
    int      before, after, fd, st[3] = {0, 0, 0}, is_head[3] = {0, 0, 1};
    size_t   blen[3] = {0, 0, 0};
    uint64_t oldest;
    double   end;

    /* Served while its files are in use: at least one per variant. */
    before = count_memfds();
    fprintf(stderr, "  segment memory files open: %d\n", before);
    CU_ASSERT(before >= NVARIANTS);

    /* A part of the source and of a rung: HTTP, HTTPS and the file on
     * disk agree, a range and HEAD of it too. */
    CU_ASSERT_FATAL(newest_part("live", "cam", uri, sizeof(uri)) == 0);
    CU_ASSERT(check_part("cam", uri));
    CU_ASSERT_FATAL(newest_part("live", "cam_r144", uri, sizeof(uri)) == 0);
    CU_ASSERT(check_part("cam_r144", uri));

    /* A slow reader asks for the window's oldest segment, then two
     * requests pipelined behind it, and reads nothing while that
     * segment leaves the window: what it then reads is still that
     * segment, whole, and the answers behind it. */
    CU_ASSERT_FATAL(get_media("live", "cam", NULL, &pl, NULL) == 200);
    CU_ASSERT_FATAL(pl.nsegs > 1);
    oldest = pl.segs[0].msn;
    snprintf(seg, sizeof(seg), "/live/cam/s%" PRIu64 ".m4s", oldest);
    CU_ASSERT_FATAL(get(seg, &whole) == 200);
    CU_ASSERT_FATAL(newest_part("live", "cam", uri, sizeof(uri)) == 0);
    fd = slow_connect();
    CU_ASSERT_FATAL(fd >= 0);
    snprintf(
        req, sizeof(req),
        "GET %s HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /live/cam/%s HTTP/1.1\r\nHost: t\r\n\r\n"
        "HEAD /live/cam/%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        seg, uri, uri);
    CU_ASSERT_FATAL(write(fd, req, strlen(req)) == (ssize_t) strlen(req));
    for (end = sl_now() + IT_S(30); sl_now() < end; sl_sleep(0.5)) {
        if (get_media("live", "cam", NULL, &pl, NULL) == 200 && pl.nsegs > 0 &&
            pl.segs[0].msn > oldest + 1)
            break;
    }
    fprintf(stderr, "  s%" PRIu64 " left the window: oldest now s%" PRIu64 "\n",
            oldest, pl.nsegs > 0 ? pl.segs[0].msn : 0);
    CU_ASSERT(pl.nsegs > 0 && pl.segs[0].msn > oldest);
    CU_ASSERT(read_answers(fd, 3, is_head, st, body, blen) == 3);
    close(fd);
    CU_ASSERT(st[0] == 200 && blen[0] == whole.body_len && body[0] != NULL &&
              memcmp(body[0], whole.body, whole.body_len) == 0);
    CU_ASSERT(st[1] == 200 && blen[1] > 0);
    CU_ASSERT(st[2] == 200 && blen[2] == 0);
    for (int i = 0; i < 3; i++)
        free(body[i]);
    sl_http_resp_free(&whole);

    /* Parts are still served right after many segments rolled out, and
     * the files of those segments are gone: no more open than a window's
     * worth per variant (10 segments and the open one for live/cam's
     * three, 6 and one for signed/sec's two, and one more each for a
     * segment a slow reader may still hold); a leak would pass that
     * within a few segments. */
    CU_ASSERT_FATAL(newest_part("live", "cam", uri, sizeof(uri)) == 0);
    CU_ASSERT(check_part("cam", uri));
    after = count_memfds();
    fprintf(stderr, "  segment memory files open after: %d\n", after);
    CU_ASSERT(after >= NVARIANTS && after <= NVARIANTS * 12 + 2 * 8);
}

/* ---- 10. an HLS viewer's on_play and on_done ---- */

/* The callbacks of action (e.g. "on_play_done") the callback server
 * logged for live/NAME from client id (0: any): how many; the newest
 * one's client_id, tc_url and addr into the non-NULL ones. */
static int
cb_seen(const char *action, const char *name, uint64_t id, uint64_t *last_id,
        char *tc_url, char *addr)
{
    char *text = sl_read_file(H.cb.log), *save = NULL;
    int   n = 0;

    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        json_t     *j = json_loads(l, 0, NULL);
        json_t     *b = j ? json_object_get(j, "body") : NULL;
        json_t     *cid = b ? json_object_get(b, "client_id") : NULL;
        const char *a =
            b ? json_string_value(json_object_get(b, "action")) : NULL;
        const char *nm =
            b ? json_string_value(json_object_get(b, "name")) : NULL;
        const char *app =
            b ? json_string_value(json_object_get(b, "app")) : NULL;

        if (a && nm && app && !strcmp(a, action) && !strcmp(nm, name) &&
            !strcmp(app, "live") && json_is_integer(cid) &&
            (id == 0 || (uint64_t) json_integer_value(cid) == id)) {
            const char *t = json_string_value(json_object_get(b, "tc_url"));
            const char *ad = json_string_value(json_object_get(b, "addr"));

            n++;
            if (last_id != NULL)
                *last_id = (uint64_t) json_integer_value(cid);
            if (tc_url != NULL)
                snprintf(tc_url, 256, "%s", t ? t : "");
            if (addr != NULL)
                snprintf(addr, 64, "%s", ad ? ad : "");
        }
        json_decref(j);
    }
    free(text);
    return n;
}

/* A viewer as a player starts one: GET the master playlist, take the
 * first variant's URI (it carries the viewer's id), and the client id
 * the on_play for it named.  0, or -1. */
static int
start_viewer(char *variant, size_t cap, uint64_t *id)
{
    struct sl_http_resp r;
    int                 plays = cb_seen("on_play", "cam", 0, NULL, NULL, NULL);
    char               *save = NULL;

    variant[0] = '\0';
    if (get("/live/cam.m3u8", &r) != 200) {
        sl_http_resp_free(&r);
        return -1;
    }
    for (char *l = strtok_r(r.body, "\n", &save); l && !variant[0];
         l = strtok_r(NULL, "\n", &save))
        if (l[0] != '#' && strstr(l, "sid=") != NULL)
            snprintf(variant, cap, "/live/%s", l);
    sl_http_resp_free(&r);
    /* The on_play was answered before the playlist went out. */
    if (cb_seen("on_play", "cam", 0, id, NULL, NULL) != plays + 1 ||
        !variant[0]) {
        fprintf(stderr, "  no on_play for the master, or no variant\n");
        return -1;
    }
    return 0;
}

/* GETs the viewer's variant playlist (as a player reloads it). */
static int
viewer_reload(const char *variant)
{
    struct sl_http_resp r;
    int                 st = get(variant, &r);

    sl_http_resp_free(&r);
    return st;
}

/* An HLS viewer gets one on_play (its master playlist) and, once it
 * stops asking for its playlist, one on_done (hls_viewer_timeout is 2 s
 * here) with the fields an RTMP player's carries; none while it is
 * still asking. */
static void
test_viewer_on_done(void)
{
    char     variant[URI_MAX + 16], tc_url[256] = "", addr[64] = "";
    uint64_t id = 0;
    double   stopped;
    int      n = 0;

    CU_ASSERT_FATAL(start_viewer(variant, sizeof(variant), &id) == 0);
    fprintf(stderr, "  viewer c%" PRIu64 ": %s\n", id, variant);
    /* It watches for 2.5 s, longer than the timeout, reloading its
     * playlist every half second: it has not ended. */
    for (double end = sl_now() + 2.5; sl_now() < end; sl_sleep(0.5))
        CU_ASSERT(viewer_reload(variant) == 200);
    CU_ASSERT(cb_seen("on_play_done", "cam", id, NULL, NULL, NULL) == 0);
    /* It stops: on_done within the timeout and the next second's check
     * (bounded generously), once. */
    stopped = sl_now();
    while (n == 0 && sl_now() < stopped + 2 + IT_S(10)) {
        sl_sleep(0.2);
        n = cb_seen("on_play_done", "cam", id, NULL, tc_url, addr);
    }
    fprintf(stderr,
            "  on_play_done for c%" PRIu64 " %.1f s after its last "
            "request: tc_url %s, addr %s\n",
            id, sl_now() - stopped, tc_url, addr);
    CU_ASSERT(n == 1);
    CU_ASSERT_STRING_EQUAL(tc_url, "/live/cam.m3u8");
    CU_ASSERT_STRING_EQUAL(addr, "127.0.0.1");
    /* Another of the server's checks (once a second): still one. */
    sl_sleep(1.2);
    CU_ASSERT(cb_seen("on_play_done", "cam", id, NULL, NULL, NULL) == 1);
    CU_ASSERT(cb_seen("on_play", "cam", id, NULL, NULL, NULL) == 1);
}

/* ---- 6. the publisher leaves ---- */

static void
test_publisher_leaves(void)
{
    char     variant[URI_MAX + 16];
    uint64_t id = 0;
    int      done = 0;

    /* A viewer that keeps reloading its playlist after the end: its
     * on_done comes with the stream's end, not its silence. */
    CU_ASSERT_FATAL(start_viewer(variant, sizeof(variant), &id) == 0);
    sl_proc_stop(&H.pub_live, SIGINT, IT_S(5));
    viewer_reload(variant);
    CU_ASSERT(sl_wait_file_count(H.srv.log, "unpublished live/cam\n", 1,
                                 IT_S(5)) == 0);
    for (int i = 0; i < NVARIANTS; i++) {
        struct media_pl pl;
        char           *text = NULL;
        int             ended = 0;

        /* publish_grace (1 s), and then some. */
        for (double end = sl_now() + 1 + IT_S(10); !ended && sl_now() < end;
             sl_sleep(0.2)) {
            free(text);
            text = NULL;
            /* The viewer reloads along, well within its timeout. */
            viewer_reload(variant);
            if (get_media("live", VARIANT[i].stream, NULL, &pl, &text) == 200 &&
                strstr(text, "#EXT-X-ENDLIST") != NULL)
                ended = 1;
        }
        fprintf(stderr, "  %s: %s\n", VARIANT[i].stream,
                ended ? "ended" : "no EXT-X-ENDLIST");
        CU_ASSERT(ended);
        if (ended) {
            size_t len = strlen(text);

            /* The last line, and no hint of a part to come. */
            while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                text[--len] = '\0';
            CU_ASSERT(len >= 14 &&
                      strcmp(text + len - 14, "#EXT-X-ENDLIST") == 0);
            CU_ASSERT(strstr(text, "#EXT-X-PRELOAD-HINT") == NULL);
            CU_ASSERT(pl.nsegs > 0);
        }
        free(text);
    }
    /* The viewer still reloads every 0.2 s: its on_done comes because
     * its stream ended, within a second of the end. */
    for (double end = sl_now() + IT_S(5); !done && sl_now() < end;
         sl_sleep(0.2)) {
        viewer_reload(variant);
        done = cb_seen("on_play_done", "cam", id, NULL, NULL, NULL);
    }
    fprintf(stderr, "  viewer c%" PRIu64 ": %s\n", id,
            done ? "on_play_done as its stream ended"
                 : "no on_play_done while it reloads");
    CU_ASSERT(done == 1);
    /* hls_path: the playlists on disk end too (written again within a
     * second of publish_grace). */
    for (int i = 0; i < NVARIANTS; i++) {
        char path[2 * PATH_MAX], *text = NULL;
        int  ended = 0;

        snprintf(path, sizeof(path), "%s/live/%s/media.m3u8", H.disk,
                 VARIANT[i].stream);
        for (double end = sl_now() + IT_S(5); !ended && sl_now() < end;
             sl_sleep(0.2)) {
            size_t len;

            free(text);
            text = sl_read_file(path);
            len = text != NULL ? strlen(text) : 0;
            while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                text[--len] = '\0';
            ended = len >= 14 && strcmp(text + len - 14, "#EXT-X-ENDLIST") == 0;
        }
        fprintf(stderr, "  %s: %s\n", path,
                ended          ? "ends with EXT-X-ENDLIST"
                : text == NULL ? "missing"
                               : "no EXT-X-ENDLIST");
        CU_ASSERT(ended);
        free(text);
    }
}

/* ---- 9. an encoding that changes mid-stream ---- */

/* Writes /APP/STREAM/MAP and /APP/STREAM/sMSN.m4s one after the other
 * into file: a segment as a player decodes it.  0, or -1. */
static int
fetch_segment(const char *app, const char *stream, const char *map,
              uint64_t msn, const char *file)
{
    struct sl_http_resp r;
    char                path[3 * URI_MAX];
    FILE               *f = fopen(file, "wb");
    int                 ok = f != NULL;

    for (int i = 0; i < 2 && ok; i++) {
        if (i == 0)
            snprintf(path, sizeof(path), "/%s/%s/%s", app, stream, map);
        else
            snprintf(path, sizeof(path), "/%s/%s/s%" PRIu64 ".m4s", app, stream,
                     msn);
        ok = get(path, &r) == 200 && r.body_len > 0 &&
             fwrite(r.body, 1, r.body_len, f) == r.body_len;
        sl_http_resp_free(&r);
    }
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* The video sizes ffprobe decodes from url, counted: how many frames
 * were w0 x h0 and how many w1 x h1 (others are said on stderr).  0, or
 * -1 when ffprobe failed. */
static int
decoded_sizes(const char *url, int w0, int h0, int w1, int h1, int *n0, int *n1)
{
    char  out[PATH_MAX + 32], err[PATH_MAX + 32], *text, *save = NULL;
    char  u[PATH_MAX + 64];
    char *argv[] = {"ffprobe",
                    "-v",
                    "error",
                    "-select_streams",
                    "v:0",
                    "-show_entries",
                    "frame=width,height",
                    "-of",
                    "csv=p=0",
                    u,
                    NULL};
    int   other = 0;

    snprintf(u, sizeof(u), "%s", url);
    snprintf(out, sizeof(out), "%s/ffprobe-switch.txt", H.dir);
    snprintf(err, sizeof(err), "%s/ffprobe-switch.err", H.dir);
    *n0 = *n1 = 0;
    if (sl_proc_run(argv, out, err, IT_S(30)) != 0) {
        sl_show_tail("ffprobe", err);
        return -1;
    }
    text = sl_read_file(out);
    for (char *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        int w = 0, h = 0;

        if (sscanf(l, "%d,%d", &w, &h) != 2)
            continue;
        if (w == w0 && h == h0)
            (*n0)++;
        else if (w == w1 && h == h1)
            (*n1)++;
        else if (other++ == 0)
            fprintf(stderr, "  ffprobe: a frame of %dx%d\n", w, h);
    }
    free(text);
    return 0;
}

/* A publisher switches from 320x240 to 160x120 on the same connection
 * (a new AVC sequence header, as an encoder sends it, the timeline
 * going on): the media playlist has one EXT-X-DISCONTINUITY, right
 * before the EXT-X-MAP of a new init, before the first segment of the
 * new size; ffprobe decodes the last segment before it with its init
 * as 320x240 only and the first one after it with the new init as
 * 160x120 only, and the whole playlist as both.  Then the 160x120 clip again,
 * its headers the same bytes (an encoder that sends its sequence header again):
 * no second discontinuity, no third init. The clips are 2 s each, a keyframe a
 * second, sent as fast as the socket takes them (the packager cuts on media
 * time). */
static void
test_encoding_change(void)
{
    struct sl_flv_file f[3];
    char               file[2][PATH_MAX + 32], log[PATH_MAX + 32];
    char               before[URI_MAX] = "", cur[URI_MAX] = "", *text = NULL;
    char               seg[2][URI_MAX], probe[PATH_MAX + 32];
    uint64_t           msn[2] = {0, 0};
    struct media_pl    pl;
    struct sl_rc      *c;
    const char        *l;
    int                ended = 0, ndisc = 0, map_after = 0, segs_before = 0;
    int                nmaps = 0;
    int                segs_after = 0, n320 = 0, n160 = 0, rc;

    for (int i = 0; i < 2; i++) {
        snprintf(file[i], sizeof(file[i]), "%s/switch%d.flv", H.dir, i);
        snprintf(log, sizeof(log), "%s/switch%d.log", H.dir, i);
        CU_ASSERT_FATAL(sl_flvpub_make(file[i], log, i ? 160 : 320,
                                       i ? 120 : 240, FPS, 2, FPS,
                                       IT_S(30)) == 0);
        CU_ASSERT_FATAL(sl_flv_file_load(&f[i], file[i]) == 0);
    }
    f[2] = f[1]; /* the same tags again (freed once) */
    c = sl_rc_open(H.srv.port, 0, IT_S(5));
    rc = c == NULL                                        ? -ECONNREFUSED
         : (rc = sl_rc_handshake(c, IT_S(5))) < 0         ? rc
         : (rc = sl_rc_connect(c, "switch", IT_S(5))) < 0 ? rc
         : (rc = sl_rc_create_stream(c, IT_S(5))) < 0     ? rc
         : (rc = sl_rc_send_publish(c, "sw")) < 0         ? rc
         : (rc = sl_rc_wait_status(c, "NetStream.Publish.Start", IT_S(5))) < 0
             ? rc
             : sl_flvpub_send(c, f, 3, 0, sl_now() + IT_S(10));
    sl_rc_close(c);
    sl_flv_file_free(&f[0]);
    sl_flv_file_free(&f[1]);
    if (rc < 0)
        fprintf(stderr, "  publishing switch/sw: %s\n", strerror(-rc));
    CU_ASSERT_FATAL(rc == 0);

    /* The publisher left: the playlist ends after publish_grace (1 s),
     * with every segment still in the window. */
    for (double end = sl_now() + 1 + IT_S(10); !ended && sl_now() < end;
         sl_sleep(0.2)) {
        free(text);
        text = NULL;
        ended = get_media("switch", "sw", NULL, &pl, &text) == 200 &&
                strstr(text, "#EXT-X-ENDLIST") != NULL;
    }
    CU_ASSERT_FATAL(ended);
    fprintf(stderr, "  switch/sw/media.m3u8:\n%s", text);
    /* One discontinuity, the next line a new EXT-X-MAP, segments of the
     * old init before it and of the new one after. */
    for (l = text; l != NULL && *l != '\0';
         l += strcspn(l, "\n"), l += *l != 0) {
        char uri[URI_MAX];

        if (!strncmp(l, "#EXT-X-MAP:", 11)) {
            nmaps++;
            uri_attr(l, cur, sizeof(cur));
            if (ndisc == 0)
                snprintf(before, sizeof(before), "%s", cur);
        }
        if (!strncmp(l, "#EXT-X-DISCONTINUITY\n", 21)) {
            const char *next = l + 21;

            ndisc++;
            map_after = !strncmp(next, "#EXT-X-MAP:", 11) &&
                        uri_attr(next, uri, sizeof(uri)) != NULL &&
                        strcmp(uri, before) != 0;
        }
        /* The last segment before the tag and the first after it. */
        if (l[0] == 's' && (ndisc == 0 || segs_after == 0)) {
            int k = ndisc > 0;

            sscanf(l, "s%" SCNu64 ".m4s", &msn[k]);
            snprintf(seg[k], sizeof(seg[k]), "%s", cur);
        }
        if (l[0] == 's')
            ndisc == 0 ? segs_before++ : segs_after++;
    }
    fprintf(
        stderr,
        "  %d discontinuities, %d maps, a new map after it: %s, %d segments "
        "before, %d after\n",
        ndisc, nmaps, map_after ? "yes" : "no", segs_before, segs_after);
    CU_ASSERT(ndisc == 1);
    CU_ASSERT(nmaps == 2);
    CU_ASSERT(map_after);
    CU_ASSERT(segs_before >= 1 && segs_after >= 1);
    CU_ASSERT(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:0\n") != NULL);
    free(text);

    /* Each side of the change decodes at its own size with the init its
     * EXT-X-MAP names. */
    for (int k = 0; k < 2 && segs_before > 0 && segs_after > 0; k++) {
        snprintf(probe, sizeof(probe), "%s/switch-s%" PRIu64 ".mp4", H.dir,
                 msn[k]);
        CU_ASSERT_FATAL(fetch_segment("switch", "sw", seg[k], msn[k], probe) ==
                        0);
        CU_ASSERT(decoded_sizes(probe, 320, 240, 160, 120, &n320, &n160) == 0);
        fprintf(stderr,
                "  s%" PRIu64 " with %s: %d frames of 320x240, %d of "
                "160x120\n",
                msn[k], seg[k], n320, n160);
        CU_ASSERT(k == 0 ? n320 > 0 && n160 == 0 : n160 > 0 && n320 == 0);
    }
    /* ffprobe reading the playlist, which keeps the first init's
     * decoder across the EXT-X-MAP change, decodes both sizes too: the
     * first keyframe of the new encoding brings its parameter sets. */
    snprintf(probe, sizeof(probe), "http://127.0.0.1:%d/switch/sw/media.m3u8",
             H.srv.web_port);
    CU_ASSERT(decoded_sizes(probe, 320, 240, 160, 120, &n320, &n160) == 0);
    fprintf(stderr, "  the playlist: %d frames of 320x240, %d of 160x120\n",
            n320, n160);
    CU_ASSERT(n320 > 0 && n160 > 0);
}

/* ---- 8. the API ---- */

static void
test_api_counts_hls(void)
{
    json_t *j = sl_itest_get_json(H.srv.http_port, "/api/v1/server", 200, NULL);
    json_t *v = j ? sl_itest_jpath(j, "bytes_sent_by_protocol.hls") : NULL;

    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT(json_is_integer(v));
    fprintf(stderr,
            "  bytes_sent_by_protocol.hls: %lld (our GETs got %" PRIu64
            " body bytes)\n",
            v ? (long long) json_integer_value(v) : -1LL, H.got_bytes);
    CU_ASSERT(v != NULL && json_integer_value(v) > 0 &&
              (uint64_t) json_integer_value(v) >= H.got_bytes);
    json_decref(j);
}

static void
test_stop(void)
{
    IT_STOP(&H.srv);
    CU_ASSERT(sl_proc_stop(&H.cb.proc, SIGTERM, IT_S(5)) == 0);
}

void
sl_itest_suite_hls(void)
{
    CU_pSuite s = sl_itest_suite_shared("hls", suite_init, test_teardown);

    CU_add_test(s, "ffprobe finds every variant of the master playlist",
                test_master);
    /* Before the segments' test, which then finds more segments in
     * every variant's window. */
    CU_add_test(s, "ffmpeg decodes the master playlist", test_ffmpeg_decodes);
    CU_add_test(s,
                "every variant's segment starts with a keyframe at the "
                "same time",
                test_segments_line_up);
    CU_add_test(s, "blocking reloads, the hinted part, the 400s, delta updates",
                test_blocking_reload);
    CU_add_test(s, "a signed master's token reaches every URI; none without",
                test_signed);
    CU_add_test(s, "bad paths, unknown names, HEAD, preflight, headers",
                test_bad_input_and_headers);
    CU_add_test(s, "byte ranges: 206 with the slice, 416 past the end",
                test_byte_ranges);
    CU_add_test(s,
                "parts from memory files: HTTP, HTTPS and disk agree; a slow "
                "reader, pipelining; no file left behind",
                test_parts_from_memory_files);
    CU_add_test(s,
                "a new encoding mid-stream: EXT-X-DISCONTINUITY and a new "
                "EXT-X-MAP; both sizes decode",
                test_encoding_change);
    CU_add_test(s, "an HLS viewer: on_play, then on_done once it stops asking",
                test_viewer_on_done);
    CU_add_test(s, "the playlists end after publish_grace",
                test_publisher_leaves);
    CU_add_test(s, "/api/v1 counts the bytes as hls", test_api_counts_hls);
    CU_add_test(s, "the server stops cleanly", test_stop);
}
