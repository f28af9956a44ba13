/*
 * The transcoding ladder: publishing live/KEY makes every rung of the
 * app's ladder appear as live/KEY_NAME, a stream players play like any
 * other.  What a user checks with real players and ffprobe:
 *
 *  - full ladder: each rung has its configured size, its configured
 *    average bit rate, a keyframe every keyframe_interval at the same
 *    timestamps on every rung, AAC audio, and the source's timeline for
 *    both tracks (so audio and video stay in sync, and a player can move
 *    between rungs); its metadata names its own size;
 *  - a source smaller than a rung: that rung is skipped (a log line says
 *    so) and gets no media, the others play;
 *  - the publisher leaves and returns: the rungs end and come back;
 *  - the source changes resolution mid-stream: rung players go on;
 *  - a video codec the transcoder cannot take (Sorenson H.263): a log
 *    line, no rungs, and the source still plays;
 *  - latency = low: the rung carries no B-frames, where the same rung
 *    with the default setting does.
 *
 * Tests that do not interfere share a server and run at once: 2, 5 and
 * 6 on one, 3 and 4 on another; the full ladder has one of its own (it
 * takes both of the machine's cores).  Recorders run ffmpeg with -copyts
 * so every recording keeps the server's timestamps and recordings of
 * different streams compare time for time.  Sources are ffmpeg's testsrc2 at 25
 * fps (40 ms frames, so 2000 ms is a whole number of frames) and a 44.1 kHz
 * sine.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/flvfile.h"
#include "rtmp/amf.h"
#include "rtmp/rtmp.h"
#include "tests/integration/itest.h"
#include "tests/support/flvpub.h"

#define KEY "cam"
#define FPS 25
#define FRAME_MS 40 /* 1000 / FPS */
#define GOP_MS 2000 /* keyframe_interval below */
#define MAX_KF 64
#define NRUNGS 3

/* The ladder of the spec with bit rates testsrc2 plus temporal noise
 * reaches at every size, and the fastest preset, so the machine's two
 * cores keep up.  480p gives only a height and 360p only a width: the
 * other side is derived from the source's aspect ratio (16:9 here, so
 * 854x480 and 640x360). */
#define RENDITION_SECTIONS                                                     \
    "[rendition:720p]\nwidth = 1280\nheight = 720\nvideo_bitrate = 1200k\n"    \
    "preset = ultrafast\n"                                                     \
    "[rendition:480p]\nheight = 480\nvideo_bitrate = 600k\n"                   \
    "preset = ultrafast\n"                                                     \
    "[rendition:360p]\nwidth = 640\nvideo_bitrate = 300k\n"                    \
    "preset = ultrafast\n"

/* The [server] keys of every server here: a short publish_grace, since
 * players end with the stream and no test waits for a publisher to come
 * back within it. */
#define KEYS "publish_grace = 250ms\n"

static const char LADDER[] = "renditions = 720p,480p,360p\n"
                             "keyframe_interval = 2s\n" RENDITION_SECTIONS;
static const char LADDER_LOW[] = "renditions = 480p,360p\n"
                                 "keyframe_interval = 2s\n" RENDITION_SECTIONS;

/* The spec's ladder plus two rungs of one size at veryfast (a preset
 * with B-frames), one quality first and one low latency: the ladder of
 * the server that tests 2, 5 and 6 share. */
static const char LADDER_SHARED[] =
    "renditions = 720p,480p,360p,normal,low\n"
    "keyframe_interval = 2s\n" RENDITION_SECTIONS
    "[rendition:normal]\nheight = 180\nvideo_bitrate = 300k\n"
    "preset = veryfast\n"
    "[rendition:low]\nheight = 180\nvideo_bitrate = 300k\n"
    "preset = veryfast\nlatency = low\n";

/* ---- publishers ---- */

struct src {
    int         width, height, seconds;
    int         noise;   /* temporal noise: content that is hard to code */
    const char *vcodec;  /* ffmpeg encoder: "libx264", or "flv" (FLV's
                            Sorenson H.263, codec flv1) */
    const char *bitrate; /* of the published video */
};

/* Starts ffmpeg publishing src to live/name in real time.  x264 with a
 * keyframe every 70 frames (2.8 s): not the ladder's 2 s, so keyframes
 * on 2 s boundaries in a rung can only come from the transcoder. */
static int
publish(struct sl_proc *p, const struct sl_srv *srv, const char *name,
        const struct src *s, const char *log)
{
    char vsrc[192], asrc[96], url[256];

    snprintf(vsrc, sizeof(vsrc), "testsrc2=size=%dx%d:rate=%d:duration=%d%s",
             s->width, s->height, FPS, s->seconds,
             s->noise ? ",noise=alls=12:allf=t" : "");
    snprintf(asrc, sizeof(asrc),
             "sine=frequency=440:sample_rate=44100:duration=%d", s->seconds);
    sl_srv_url(srv, "live", name, url, sizeof(url));
    if (!strcmp(s->vcodec, "libx264")) {
        const char *args[] = {
            "-re",         "-f",       "lavfi",    "-i",        vsrc,
            "-re",         "-f",       "lavfi",    "-i",        asrc,
            "-c:v",        "libx264",  "-preset",  "ultrafast", "-tune",
            "zerolatency", "-pix_fmt", "yuv420p",  "-g",        "70",
            "-b:v",        s->bitrate, "-maxrate", s->bitrate,  "-bufsize",
            s->bitrate,    "-c:a",     "aac",      "-b:a",      "64k",
            "-f",          "flv",      url,        NULL};

        return sl_ffmpeg_spawn(p, args, log);
    } else {
        const char *args[] = {"-re",  "-f",      "lavfi", "-i",       vsrc,
                              "-re",  "-f",      "lavfi", "-i",       asrc,
                              "-c:v", s->vcodec, "-b:v",  s->bitrate, "-g",
                              "50",   "-c:a",    "aac",   "-b:a",     "64k",
                              "-f",   "flv",     url,     NULL};

        return sl_ffmpeg_spawn(p, args, log);
    }
}

/* ---- the server's log ---- */

/* 1 when line holds, for every group of words (a NULL-ended list of
 * NULL-ended lists), one of the group's words, ignoring case. */
static int
line_matches(const char *line, const char *const *const groups[])
{
    for (int g = 0; groups[g] != NULL; g++) {
        int found = 0;

        for (int i = 0; groups[g][i] != NULL && !found; i++)
            found = strcasestr(line, groups[g][i]) != NULL;
        if (!found)
            return 0;
    }
    return 1;
}

/* Waits up to timeout_s for a server log line that line_matches groups;
 * copies it into line.  0 or -ETIMEDOUT. */
static int
wait_log_line(const struct sl_srv *srv, const char *const *const groups[],
              char *line, size_t cap, double timeout_s)
{
    double deadline = sl_now() + timeout_s;

    line[0] = '\0';
    for (;;) {
        char *text = sl_read_file(srv->log);
        int   found = 0;

        if (text != NULL) {
            char *save = NULL;

            for (char *l = strtok_r(text, "\n", &save); l != NULL && !found;
                 l = strtok_r(NULL, "\n", &save)) {
                if (line_matches(l, groups)) {
                    snprintf(line, cap, "%s", l);
                    found = 1;
                }
            }
            free(text);
        }
        if (found)
            return 0;
        if (sl_now() >= deadline)
            return -ETIMEDOUT;
        sl_sleep(0.1);
    }
}

/* ---- players ---- */

/* Plays live/name with the test client until n video messages came.
 * The client, still playing, or NULL (the reason and the server log's
 * tail on stderr). */
static struct sl_rc *
wait_video(const struct sl_srv *srv, const char *name, unsigned long n,
           double timeout_s)
{
    double        deadline = sl_now() + timeout_s;
    struct sl_rc *c = sl_rc_player(srv->port, "live", name, -2, 0, IT_S(5));

    if (c == NULL)
        return NULL;
    while (sl_rc_stats(c)->video < n && sl_now() < deadline)
        if (sl_rc_pump(c, 0.2, 0) < 0)
            break;
    if (sl_rc_stats(c)->video < n) {
        fprintf(stderr, "  live/%s: %lu video messages within %.0f s\n", name,
                sl_rc_stats(c)->video, timeout_s);
        sl_show_tail("server", srv->log);
        sl_rc_close(c);
        return NULL;
    }
    return c;
}

/* Starts ffmpeg recording live/name (with the server's timestamps) into
 * srv->dir/name.flv. */
static int
record(struct sl_proc *p, const struct sl_srv *srv, const char *name, char *out,
       size_t cap)
{
    char url[256], log[PATH_MAX + 64], file[128];

    sl_srv_url(srv, "live", name, url, sizeof(url));
    snprintf(file, sizeof(file), "%s.flv", name);
    sl_srv_path(srv, file, out, cap);
    snprintf(file, sizeof(file), "%s.play.log", name);
    sl_srv_path(srv, file, log, sizeof(log));
    return sl_ffmpeg_record(p, url, out, log);
}

/* Waits for a recorder that ends with the stream: 0 when it exited
 * with status 0, -ETIMEDOUT when it had to be killed, 1 for another
 * status (the reason on stderr).  Always leaves it reaped. */
static int
recorder_ends(struct sl_proc *p, const char *what)
{
    int waited = sl_proc_wait(p, IT_S(20));
    int rc = waited != 0 ? -ETIMEDOUT : sl_proc_exited_with(p, 0) ? 0 : 1;

    if (rc != 0)
        fprintf(stderr, "  %s recorder: %s, status 0x%x\n", what,
                waited ? "still running" : "ended", p->status);
    sl_proc_kill(p);
    return rc;
}

/* The same, asserted: it ended, with status 0. */
static void
recorder_done(struct sl_proc *p, const char *what)
{
    int rc = recorder_ends(p, what);

    CU_ASSERT(rc != -ETIMEDOUT);
    CU_ASSERT(rc == 0);
}

/* A recorder of a run that several tests share: started in one test,
 * checked in another. */
struct shared_rec {
    struct sl_proc proc;
    int            started; /* record() succeeded */
    int            ended;   /* recorder_ends(): 0, or why not */
    char           out[PATH_MAX + 64];
};

static void
shared_record(struct shared_rec *r, const struct sl_srv *srv, const char *name)
{
    r->started = record(&r->proc, srv, name, r->out, sizeof(r->out)) == 0;
    r->ended = -ECHILD; /* until recorder_ends() says */
}

/* recorder_ends() for a shared recorder that started. */
static void
shared_rec_end(struct shared_rec *r, const char *what)
{
    if (r->started)
        r->ended = recorder_ends(&r->proc, what);
}

/* A shared recorder's checks: it started, ended by itself with status
 * 0. */
static void
shared_rec_check(const struct shared_rec *r)
{
    CU_ASSERT(r->started);
    CU_ASSERT(r->ended != -ETIMEDOUT);
    CU_ASSERT(r->ended == 0);
}

/* The width and height in the first onMetaData of an FLV file. */
static int
flv_meta_size(const char *path, int *w, int *h)
{
    struct sl_flv_file f;
    int                rc;

    *w = *h = 0;
    if ((rc = sl_flv_file_load(&f, path)) < 0)
        return rc;
    rc = -ENOENT;
    for (size_t i = 0; i < f.ntags && rc != 0; i++) {
        struct sl_amf_node        nodes[256];
        struct sl_amf_doc         d;
        const struct sl_amf_node *obj, *n;

        if (f.tags[i].type != SL_MSG_DATA_AMF0)
            continue;
        sl_amf_doc_init(&d, nodes, 256);
        if (sl_amf_decode(&d, f.tags[i].body, f.tags[i].len) < 0 ||
            !sl_amf_str_eq(sl_amf_at(&d, 0), "onMetaData"))
            continue;
        obj = sl_amf_at(&d, 1);
        if ((n = sl_amf_prop(&d, obj, "width")) && n->type == SL_AMF_NUMBER)
            *w = (int) n->num;
        if ((n = sl_amf_prop(&d, obj, "height")) && n->type == SL_AMF_NUMBER)
            *h = (int) n->num;
        rc = 0;
    }
    sl_flv_file_free(&f);
    return rc;
}

/* ---- 1. the full ladder ---- */

struct rung {
    const char    *name;
    int            width, height;
    double         kbps; /* video_bitrate */
    char           stream[64];
    char           out[PATH_MAX + 64], dump[PATH_MAX + 64];
    struct sl_proc play, rtmpdump;
    struct sl_pkts pk;
    long           kf[MAX_KF];
    size_t         nkf;
};

static void
print_list(const char *what, const long *v, size_t n)
{
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %ld", v[i]);
    fprintf(stderr, "\n");
}

/* Every packet of a type in the rung whose pts lies in the source
 * recording's range must sit at the time of a packet of the source:
 * audio is copied, so exactly (1 ms for rounding); each video frame is
 * made from the source frame of that time, so within tol (a transcoder
 * may move frames onto its encoder's 1/fps grid, up to half a frame).
 * A rung clock that drifts or is rebased shows up as times the source
 * does not have. */
static void
check_same_clock(const struct rung *r, const struct sl_pkts *src, char type,
                 long tol)
{
    long   sfirst = 0, slast = 0;
    size_t checked = 0, wrong = 0;

    if (sl_pkts_span(src, type, &sfirst, &slast) == 0) {
        CU_FAIL("the source recording has no packets of a track");
        return;
    }
    for (size_t i = 0; i < r->pk.n; i++) {
        const struct sl_pkt *k = &r->pk.p[i];

        if (k->type != type || k->pts < sfirst || k->pts > slast)
            continue;
        checked++;
        if (!sl_pkts_has_pts(src, type, k->pts, tol)) {
            if (wrong < 5)
                fprintf(stderr,
                        "  %s: %s packet at %ld ms: the source has none "
                        "within %ld ms\n",
                        r->name, type == 'v' ? "video" : "audio", k->pts, tol);
            wrong++;
        }
    }
    fprintf(stderr, "  %s: %zu %s packets on the source's clock, %zu not\n",
            r->name, checked - wrong, type == 'v' ? "video" : "audio", wrong);
    CU_ASSERT(checked >= 100);
    CU_ASSERT(wrong == 0);
}

static void
check_rung(struct rung *r, const struct sl_pkts *src)
{
    struct sl_probe pr;
    long            vfirst = 0, vlast = 0, afirst = 0, alast = 0;
    long            svfirst = 0, svlast = 0, safirst = 0, salast = 0;
    size_t          nv, na, bad = 0;
    int             mw, mh;

    CU_ASSERT(sl_probe_file(r->out, &pr) == 0);
    sl_probe_print(r->name, &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.width == r->width && pr.height == r->height);
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");

    /* The rung's metadata names its own size, not the source's. */
    CU_ASSERT(flv_meta_size(r->dump, &mw, &mh) == 0);
    fprintf(stderr, "  %s: onMetaData %dx%d\n", r->name, mw, mh);
    CU_ASSERT(mw == r->width && mh == r->height);

    if (sl_probe_packets(r->out, &r->pk) != 0) {
        CU_FAIL("ffprobe could not list the rung's packets");
        return;
    }
    nv = sl_pkts_span(&r->pk, 'v', &vfirst, &vlast);
    na = sl_pkts_span(&r->pk, 'a', &afirst, &alast);
    fprintf(stderr,
            "  %s: video %zu packets %ld..%ld ms, audio %zu packets "
            "%ld..%ld ms\n",
            r->name, nv, vfirst, vlast, na, afirst, alast);
    /* The recording lasted long enough for the checks below. */
    CU_ASSERT(nv > 0 && vlast - vfirst >= 12000);
    CU_ASSERT(na > 0);

    /* A keyframe exactly every 2000 ms: at 25 fps that is every 50th
     * frame, so no rounding is involved and no tolerance is needed. */
    r->nkf = sl_pkts_keyframes(&r->pk, r->kf, MAX_KF);
    print_list(r->name, r->kf, r->nkf < MAX_KF ? r->nkf : MAX_KF);
    CU_ASSERT(r->nkf >= 6 && r->nkf <= MAX_KF);
    if (r->nkf > MAX_KF)
        r->nkf = MAX_KF;
    for (size_t i = 1; i < r->nkf; i++)
        if (r->kf[i] - r->kf[i - 1] != GOP_MS)
            bad++;
    CU_ASSERT(bad == 0);

    /* Average video bit rate from the first keyframe to the last, over
     * at least 10 s: rate control holds video_bitrate over its buffer
     * (bufsize = maxrate = video_bitrate: one second), and whole GOPs
     * keep the window from taking a keyframe's bits without the cheap
     * frames after it. */
    if (r->nkf >= 2) {
        long   from = r->kf[0], to = r->kf[r->nkf - 1];
        double kbps = sl_pkts_kbps(&r->pk, 'v', from, to);

        fprintf(stderr,
                "  %s: %.0f kbit/s over %ld..%ld ms (target %.0f, "
                "+-25%%)\n",
                r->name, kbps, from, to, r->kbps);
        CU_ASSERT(to - from >= 10000);
        CU_ASSERT(fabs(kbps - r->kbps) <= 0.25 * r->kbps);
    }

    /* Both tracks on the source's clock (see check_same_clock). */
    check_same_clock(r, src, 'v', FRAME_MS / 2);
    check_same_clock(r, src, 'a', 1);
    /* A/V sync: that check cannot see a video shift by whole frames
     * (every frame time is also a source frame time), the ends can.
     * Every recorder ran to the end of the stream, so the last video and
     * the last audio timestamp must be as far apart as in the source,
     * give or take 100 ms (well under what a viewer notices; a rung whose
     * video runs late or early against its audio, or that loses its last
     * frames, fails).  The starts are no measure: a player joins a rung
     * at its cached keyframe, and audio the transcoder passed on while
     * that frame was being encoded comes before it in the stream. */
    sl_pkts_span(src, 'v', &svfirst, &svlast);
    sl_pkts_span(src, 'a', &safirst, &salast);
    fprintf(stderr, "  %s: last video - last audio %ld ms (source %ld ms)\n",
            r->name, vlast - alast, svlast - salast);
    CU_ASSERT(labs((vlast - alast) - (svlast - salast)) <= 100);
}

/* The keyframes the rungs share: in the time range every recording
 * covers, the rungs have keyframes at the same timestamps. */
static void
check_aligned(struct rung *r)
{
    long   lo = LONG_MIN, hi = LONG_MAX;
    long   ref[MAX_KF];
    size_t nref = 0;
    int    same = 1;

    for (int i = 0; i < NRUNGS; i++) {
        if (r[i].nkf == 0)
            return; /* already failed */
        if (r[i].kf[0] > lo)
            lo = r[i].kf[0];
        if (r[i].kf[r[i].nkf - 1] < hi)
            hi = r[i].kf[r[i].nkf - 1];
    }
    for (int i = 0; i < NRUNGS; i++) {
        long   in[MAX_KF];
        size_t n = 0;

        for (size_t j = 0; j < r[i].nkf; j++)
            if (r[i].kf[j] >= lo && r[i].kf[j] <= hi)
                in[n++] = r[i].kf[j];
        if (i == 0) {
            memcpy(ref, in, n * sizeof(ref[0]));
            nref = n;
        } else if (n != nref || memcmp(ref, in, n * sizeof(ref[0])) != 0) {
            same = 0;
        }
    }
    fprintf(stderr, "  keyframes in %ld..%ld ms: %zu, same on every rung %d\n",
            lo, hi, nref, same);
    if (!same)
        for (int i = 0; i < NRUNGS; i++)
            print_list(r[i].name, r[i].kf, r[i].nkf);
    CU_ASSERT(nref >= 5);
    CU_ASSERT(same);
}

static void
test_full_ladder(void)
{
    struct src      src = {1920, 1080, 16, 1, "libx264", "3M"};
    struct rung     r[NRUNGS] = {{.name = "720p", 1280, 720, 1200},
                                 {.name = "480p", 854, 480, 600},
                                 {.name = "360p", 640, 360, 300}};
    struct sl_srv   srv;
    struct sl_proc  pub, srcplay;
    struct sl_pkts  srcpk = {0};
    struct sl_probe pr;
    char            log[PATH_MAX + 64], srcout[PATH_MAX + 64];
    double          deadline;
    int             appeared = 1;

    IT_START(&srv, KEYS, LADDER);
    sl_srv_path(&srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(publish(&pub, &srv, KEY, &src, log) == 0);
    CU_ASSERT(
        sl_wait_file_count(srv.log, "publishing live/" KEY, 1, IT_S(10)) == 0);

    /* The rungs appear: each delivers video to a player.  Without them
     * nothing below can be measured. */
    deadline = sl_now() + IT_S(20);
    for (int i = 0; i < NRUNGS; i++) {
        struct sl_rc *c;

        snprintf(r[i].stream, sizeof(r[i].stream), KEY "_%s", r[i].name);
        c = wait_video(&srv, r[i].stream, 1, deadline - sl_now());
        if (c == NULL)
            appeared = 0;
        sl_rc_close(c);
    }
    CU_ASSERT_FATAL(appeared);
    /* All three recorded at once, with the source beside them; and
     * rtmpdump, which writes the metadata the server sent as it is. */
    for (int i = 0; i < NRUNGS; i++) {
        char url[256], file[128];

        CU_ASSERT(record(&r[i].play, &srv, r[i].stream, r[i].out,
                         sizeof(r[i].out)) == 0);
        sl_srv_url(&srv, "live", r[i].stream, url, sizeof(url));
        snprintf(file, sizeof(file), "%s.dump.flv", r[i].stream);
        sl_srv_path(&srv, file, r[i].dump, sizeof(r[i].dump));
        snprintf(file, sizeof(file), "%s.dump.log", r[i].stream);
        sl_srv_path(&srv, file, log, sizeof(log));
        {
            char *argv[] = {"rtmpdump", "-q",      "-v", "-r", url,
                            "-o",       r[i].dump, "-m", "10", NULL};

            CU_ASSERT(sl_proc_spawn(&r[i].rtmpdump, argv, log, log) == 0);
        }
    }
    CU_ASSERT(record(&srcplay, &srv, KEY, srcout, sizeof(srcout)) == 0);

    CU_ASSERT(sl_proc_wait(&pub, IT_S(45)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    sl_proc_kill(&pub);
    recorder_done(&srcplay, "source");
    for (int i = 0; i < NRUNGS; i++) {
        recorder_done(&r[i].play, r[i].name);
        /* rtmpdump ends on UnpublishNotify; SIGINT makes it close the
         * file cleanly if it did not. */
        sl_proc_wait(&r[i].rtmpdump, IT_S(10));
        sl_proc_stop(&r[i].rtmpdump, SIGINT, IT_S(3));
    }

    CU_ASSERT(sl_probe_file(srcout, &pr) == 0);
    sl_probe_print("source", &pr);
    CU_ASSERT(pr.width == src.width && pr.height == src.height);
    CU_ASSERT_FATAL(sl_probe_packets(srcout, &srcpk) == 0);
    for (int i = 0; i < NRUNGS; i++)
        check_rung(&r[i], &srcpk);
    check_aligned(r);
    for (int i = 0; i < NRUNGS; i++)
        sl_pkts_free(&r[i].pk);
    sl_pkts_free(&srcpk);
    IT_STOP(&srv);
}

/* ---- 2, 5 and 6: one server, two publications ---- */

/* A source smaller than some rungs (2), a video codec the transcoder
 * cannot take (5) and a rung with latency = low (6) do not interfere:
 * one server with LADDER_SHARED takes a 640x360 H.264 source as
 * live/cam and a Sorenson H.263 one as live/old at the same time, with
 * the players of all three tests beside them.  The first of the three
 * tests to run drives it (shared_run) and keeps what only the moment
 * can tell: what players got, exit statuses, whether the server stopped
 * cleanly.  The log and the recordings stay in the server's folder until
 * the suite ends; each test checks its part. */

#define KEY_OLD "old"
/* Both publications: long enough for the rungs to start and for the
 * empty rungs' players to listen for 3 s while the sources flow. */
#define SHARED_SECONDS 6

static const char *const SMALL_SKIPPED[2] = {"720p", "480p"};
static const char *const SPEC_RUNGS[NRUNGS] = {"720p", "480p", "360p"};
static const char *const LATENCY_RUNGS[2] = {"normal", "low"};

/* A player of a rung that must get no media. */
struct empty_rung {
    char                 stream[64];
    struct sl_rc        *c;
    struct sl_itest_pump pump;
    int                  played; /* the server took the play */
    unsigned long        video, audio;
};

static struct {
    int               state; /* 0 not run, -1 failed on the way, 1 done */
    struct sl_srv     srv;
    int               pub_ended[2], pub_ok[2]; /* live/cam, live/old */
    int               stopped;                 /* sl_srv_stop() said 0 */
    int               rung360;                 /* 2: live/cam_360p played */
    struct shared_rec rec360;
    struct empty_rung small[2];
    struct shared_rec rec_old; /* 5: the H.263 source */
    struct empty_rung old[NRUNGS];
    int               lat_rung[2]; /* 6: normal and low played */
    struct shared_rec rec_lat[2];
} SH;

/* A WARN or ERROR line that names live/old and its codec (the FLV codec
 * is flv1 to ffmpeg, H.263 or Sorenson Spark to others). */
static const char *const CODEC_LEVEL[] = {" WARN ", " ERROR ", NULL};
static const char *const CODEC_STREAM[] = {"live/" KEY_OLD, NULL};
static const char *const CODEC_WORDS[] = {"h263",  "h.263", "flv1", "sorenson",
                                          "spark", "codec", NULL};
static const char *const *const CODEC_LINE[] = {CODEC_LEVEL, CODEC_STREAM,
                                                CODEC_WORDS, NULL};

static void
empty_start(struct empty_rung *e, const char *key, const char *rung)
{
    snprintf(e->stream, sizeof(e->stream), "%s_%s", key, rung);
    e->c = sl_rc_player(SH.srv.port, "live", e->stream, -2, 0, IT_S(5));
    e->played = e->c != NULL;
    if (e->c != NULL && sl_itest_pump_start(&e->pump, e->c, IT_S(3), 0) < 0) {
        sl_rc_close(e->c);
        e->c = NULL;
    }
}

static void
empty_join(struct empty_rung *e)
{
    if (e->c == NULL)
        return;
    sl_itest_pump_join(&e->pump);
    e->video = sl_rc_stats(e->c)->video;
    e->audio = sl_rc_stats(e->c)->audio;
    sl_rc_close(e->c);
    e->c = NULL;
}

/* The checks of one empty rung's player. */
static void
empty_check(const struct empty_rung *e)
{
    fprintf(stderr, "  player of %s: %lu video, %lu audio\n", e->stream,
            e->video, e->audio);
    CU_ASSERT(e->played);
    if (e->played)
        CU_ASSERT(e->video == 0 && e->audio == 0);
}

/* ERROR lines in the shared server's log that are not about live/old
 * (whose codec may be reported as one). */
static int
errors_besides_old(void)
{
    char *text = sl_read_file(SH.srv.log), *save = NULL;
    int   n = 0;

    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l != NULL;
         l = strtok_r(NULL, "\n", &save))
        n += strstr(l, " ERROR ") != NULL && strstr(l, "live/" KEY_OLD) == NULL;
    free(text);
    return n;
}

/* Runs the shared server and its publications once, whichever of tests
 * 2, 5 and 6 comes first; 1 when it got through (the others then find
 * it done), -1 when it failed on the way (the test that ran it says
 * where). */
static int
shared_run(void)
{
    struct src     small = {640, 360, SHARED_SECONDS, 0, "libx264", "800k"};
    struct src     old = {1280, 720, SHARED_SECONDS, 0, "flv", "1M"};
    struct sl_proc pub[2];
    struct sl_rc  *c;
    char           log[PATH_MAX + 64], line[512];

    if (SH.state != 0)
        return SH.state;
    memset(&SH, 0, sizeof(SH));
    SH.state = -1; /* until the end is reached */
    IT_START(&SH.srv, KEYS, LADDER_SHARED);
    SH.srv.allow_error = 1; /* only about live/old: errors_besides_old() */
    sl_srv_path(&SH.srv, "publish-cam.log", log, sizeof(log));
    CU_ASSERT_FATAL(publish(&pub[0], &SH.srv, KEY, &small, log) == 0);
    sl_srv_path(&SH.srv, "publish-old.log", log, sizeof(log));
    CU_ASSERT_FATAL(publish(&pub[1], &SH.srv, KEY_OLD, &old, log) == 0);

    /* 5: the H.263 source is recorded from its start. */
    sl_wait_file_count(SH.srv.log, "publishing live/" KEY_OLD, 1, IT_S(10));
    shared_record(&SH.rec_old, &SH.srv, KEY_OLD);
    /* 2 and 6: the rungs the 640x360 source gets appear, and each is
     * recorded. */
    c = wait_video(&SH.srv, KEY "_360p", 1, IT_S(15));
    SH.rung360 = c != NULL;
    sl_rc_close(c);
    shared_record(&SH.rec360, &SH.srv, KEY "_360p");
    for (int i = 0; i < 2; i++) {
        char name[64];

        snprintf(name, sizeof(name), KEY "_%s", LATENCY_RUNGS[i]);
        c = wait_video(&SH.srv, name, 1, IT_S(15));
        SH.lat_rung[i] = c != NULL;
        sl_rc_close(c);
        shared_record(&SH.rec_lat[i], &SH.srv, name);
    }
    /* 2: players of the skipped rungs while 360p flows; 5: once the
     * server said it makes no rungs of live/old, players of those. */
    for (int i = 0; i < 2; i++)
        empty_start(&SH.small[i], KEY, SMALL_SKIPPED[i]);
    wait_log_line(&SH.srv, CODEC_LINE, line, sizeof(line), IT_S(15));
    for (int i = 0; i < NRUNGS; i++)
        empty_start(&SH.old[i], KEY_OLD, SPEC_RUNGS[i]);
    for (int i = 0; i < 2; i++)
        empty_join(&SH.small[i]);
    for (int i = 0; i < NRUNGS; i++)
        empty_join(&SH.old[i]);

    /* The end: both publishers finish, every recorder ends with the
     * stream. */
    for (int i = 0; i < 2; i++) {
        SH.pub_ended[i] = sl_proc_wait(&pub[i], IT_S(30)) == 0;
        SH.pub_ok[i] = sl_proc_exited_with(&pub[i], 0);
        sl_proc_kill(&pub[i]);
    }
    shared_rec_end(&SH.rec_old, "h263 source");
    shared_rec_end(&SH.rec360, "360p");
    for (int i = 0; i < 2; i++)
        shared_rec_end(&SH.rec_lat[i], LATENCY_RUNGS[i]);
    SH.stopped = sl_srv_stop(&SH.srv) == 0;
    SH.state = 1;
    return 1;
}

/* What every test of the shared run checks about the server. */
static void
shared_server_check(void)
{
    /* Exit status 0, no sanitizer report, and no ERROR line but one
     * about live/old. */
    CU_ASSERT(SH.stopped);
    IT_EXPECT_LOGS(errors_besides_old() == 0, SH.srv.log, NULL);
}

/* ---- 2. a source smaller than some rungs ---- */

static void
test_small_source(void)
{
    struct sl_probe pr;
    char            line[512];

    CU_ASSERT_FATAL(shared_run() == 1);
    /* 1280x720 and 854x480 would be upscaled: each is skipped, and the
     * log says so by name. */
    for (int i = 0; i < 2; i++) {
        const char *const        skip[] = {"skipped", NULL};
        const char *const        rung[] = {SMALL_SKIPPED[i], NULL};
        const char *const        stream[] = {"live/" KEY, NULL};
        const char *const *const groups[] = {skip, rung, stream, NULL};
        int rc = wait_log_line(&SH.srv, groups, line, sizeof(line), 0);

        fprintf(stderr, "  %s: %s\n", SMALL_SKIPPED[i],
                rc ? "no log line" : line);
        CU_ASSERT(rc == 0);
    }
    /* 640x360 is the source's own size: that rung is made. */
    CU_ASSERT(SH.rung360);
    /* Players of the skipped rungs got no media while 360p flowed. */
    for (int i = 0; i < 2; i++)
        empty_check(&SH.small[i]);

    CU_ASSERT(SH.pub_ended[0]);
    CU_ASSERT(SH.pub_ok[0]);
    shared_rec_check(&SH.rec360);
    CU_ASSERT(sl_probe_file(SH.rec360.out, &pr) == 0);
    sl_probe_print("360p", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.width == 640 && pr.height == 360);
    CU_ASSERT(pr.video_packets >= FPS);
    shared_server_check();
}

/* ---- 3 and 4: a publisher that returns, a source that switches ---- */

/* Publishes FLV files one after the other on one connection, paced by
 * their timestamps (tests/support/flvpub.h: the second file's headers
 * are a resolution switch as an encoder makes it).  Runs on a thread of
 * its own, bounded by deadline. */
struct flv_pub {
    pthread_t                 thread;
    int                       port;
    const char               *name;
    const struct sl_flv_file *files;
    int                       nfiles;
    double                    timeout_s;
    int                       rc;
};

static void *
flv_pub_main(void *arg)
{
    struct flv_pub *p = arg;
    double          deadline = sl_now() + p->timeout_s;
    struct sl_rc   *c = sl_rc_open(p->port, 0, IT_S(5));
    int             rc = -ECONNREFUSED;

    if (c != NULL && (rc = sl_rc_handshake(c, IT_S(5))) == 0 &&
        (rc = sl_rc_connect(c, "live", IT_S(5))) == 0 &&
        (rc = sl_rc_create_stream(c, IT_S(5))) > 0 &&
        (rc = sl_rc_send_publish(c, p->name)) == 0 &&
        (rc = sl_rc_wait_status(c, "NetStream.Publish.Start", IT_S(5))) == 0)
        rc = sl_flvpub_send(c, p->files, p->nfiles, 1, deadline);
    if (rc < 0)
        fprintf(stderr, "  FLV publisher: %s\n", strerror(-rc));
    sl_rc_close(c);
    p->rc = rc;
    return NULL;
}

/* Makes an FLV file of testsrc2 at w x h plus a sine with ffmpeg (as
 * fast as it goes), a keyframe every 2 s. */
static int
make_flv(const struct sl_srv *srv, int w, int h, int seconds, char *out,
         size_t cap)
{
    char file[64], log[PATH_MAX + 64];

    snprintf(file, sizeof(file), "src%dx%d.flv", w, h);
    sl_srv_path(srv, file, out, cap);
    snprintf(file, sizeof(file), "src%dx%d.log", w, h);
    sl_srv_path(srv, file, log, sizeof(log));
    return sl_flvpub_make(out, log, w, h, FPS, seconds, 2 * FPS, IT_S(60));
}

/* The publisher that leaves and returns (3, live/cam) and the source
 * that changes resolution (4, live/sw) do not interfere: one server with
 * LADDER_LOW takes both at once.  Test 4's FLV publisher and its rung's
 * test client run on threads of their own and its recorder beside them
 * while test 3's steps run on the test's thread.  The first of the two
 * tests to run drives both (shared_run34) and keeps what only the moment
 * can tell; the recordings stay until the suite ends, and each test
 * checks its part. */

#define KEY_SW "sw"

static struct {
    int           state; /* 0 not run, -1 failed on the way, 1 done */
    struct sl_srv srv;
    int           stopped; /* sl_srv_stop() said 0 */
    /* 3 */
    int           r_rung; /* cam_360p played (first publication) */
    int           r_pub_ended[2], r_pub_ok[2];
    int           r_pump_rc;         /* the rung player through the end */
    int           r_unpublish;       /* it heard UnpublishNotify */
    int           r_pub2;            /* the second publisher started */
    unsigned long r_before, r_after; /* its video before the return, and
                                        after it */
    struct shared_rec r_rec;         /* 360p after the return */
    /* 4 */
    struct sl_flv_file files[2];
    struct flv_pub     fp;
    uint32_t           s_switch_ts; /* the second file's first timestamp */
    int                s_thread;    /* the FLV publisher's thread ran */
    int                s_rung;      /* sw_480p played */
    int                s_pump_rc;
    struct sl_rc_stats s_st; /* its client's, at the end */
    struct shared_rec  s_rec;
} SH34;

/* Test 3's steps, on the test's thread, with the server of SH34: no
 * fatal assertion here (test 4's threads use what SH34 holds). */
static void
returns_steps(void)
{
    struct src           src = {1280, 720, 4, 0, "libx264", "1500k"};
    struct sl_proc       pub;
    struct sl_rc        *c;
    struct sl_itest_pump pump;
    double               deadline;
    char                 log[PATH_MAX + 64];

    sl_srv_path(&SH34.srv, "publish1.log", log, sizeof(log));
    if (publish(&pub, &SH34.srv, KEY, &src, log) < 0)
        return;
    c = wait_video(&SH34.srv, KEY "_360p", 1, IT_S(15));
    SH34.r_rung = c != NULL;
    if (c == NULL) {
        sl_proc_kill(&pub);
        return;
    }

    /* The publisher ends: the rung ends too, its player hears
     * UnpublishNotify (after publish_grace). */
    SH34.r_pump_rc = sl_itest_pump_start(&pump, c, IT_S(30), 1);
    SH34.r_pub_ended[0] = sl_proc_wait(&pub, IT_S(30)) == 0;
    SH34.r_pub_ok[0] = sl_proc_exited_with(&pub, 0);
    sl_proc_kill(&pub);
    if (SH34.r_pump_rc == 0)
        SH34.r_pump_rc = sl_itest_pump_join(&pump);
    SH34.r_before = sl_rc_stats(c)->video;
    SH34.r_unpublish = sl_rc_stats(c)->unpublish_notify;

    /* A new publisher of the same key: the rung comes back, for the
     * player that stayed and for a new one. */
    sl_srv_path(&SH34.srv, "publish2.log", log, sizeof(log));
    src.seconds = 4;
    SH34.r_pub2 = publish(&pub, &SH34.srv, KEY, &src, log) == 0;
    deadline = sl_now() + IT_S(15);
    while (SH34.r_pub2 && sl_rc_stats(c)->video == SH34.r_before &&
           sl_now() < deadline)
        if (sl_rc_pump(c, 0.2, 0) < 0)
            break;
    SH34.r_after = sl_rc_stats(c)->video;
    sl_rc_close(c);
    if (!SH34.r_pub2)
        return;
    shared_record(&SH34.r_rec, &SH34.srv, KEY "_360p");
    SH34.r_pub_ended[1] = sl_proc_wait(&pub, IT_S(30)) == 0;
    SH34.r_pub_ok[1] = sl_proc_exited_with(&pub, 0);
    sl_proc_kill(&pub);
    shared_rec_end(&SH34.r_rec, "360p after the return");
}

/* Runs the shared server once, whichever of tests 3 and 4 comes first;
 * 1 when it got through, -1 when it failed on the way (the test that
 * ran it says where). */
static int
shared_run34(void)
{
    struct sl_rc        *c = NULL;
    struct sl_itest_pump pump;
    char                 a[PATH_MAX + 64], b[PATH_MAX + 64];
    int                  pumping = 0;

    if (SH34.state != 0)
        return SH34.state;
    memset(&SH34, 0, sizeof(SH34));
    SH34.state = -1; /* until the end is reached */
    IT_START(&SH34.srv, KEYS, LADDER_LOW);
    /* 4: the two files, made before anything plays. */
    CU_ASSERT_FATAL(make_flv(&SH34.srv, 1280, 720, 4, a, sizeof(a)) == 0);
    CU_ASSERT_FATAL(make_flv(&SH34.srv, 960, 540, 4, b, sizeof(b)) == 0);
    CU_ASSERT_FATAL(sl_flv_file_load(&SH34.files[0], a) == 0);
    CU_ASSERT_FATAL(sl_flv_file_load(&SH34.files[1], b) == 0);
    SH34.s_switch_ts = SH34.files[0].duration_ms;
    SH34.fp.port = SH34.srv.port;
    SH34.fp.name = KEY_SW;
    SH34.fp.files = SH34.files;
    SH34.fp.nfiles = 2;
    SH34.fp.timeout_s =
        (SH34.files[0].duration_ms + SH34.files[1].duration_ms) / 1000.0 +
        IT_S(10);
    SH34.s_thread =
        pthread_create(&SH34.fp.thread, NULL, flv_pub_main, &SH34.fp) == 0;
    /* From here on nothing may end the test early: the thread reads
     * SH34.  A rung player from before the switch to the end: the test
     * client (it stops at the first UnpublishNotify) and ffmpeg. */
    if (SH34.s_thread) {
        c = wait_video(&SH34.srv, KEY_SW "_480p", 1, IT_S(15));
        SH34.s_rung = c != NULL;
        if (c != NULL)
            pumping = sl_itest_pump_start(&pump, c,
                                          SH34.fp.timeout_s + IT_S(10), 1) == 0;
        shared_record(&SH34.s_rec, &SH34.srv, KEY_SW "_480p");
    }

    /* 3, meanwhile. */
    returns_steps();

    if (SH34.s_thread) {
        pthread_join(SH34.fp.thread, NULL);
        shared_rec_end(&SH34.s_rec, "480p");
        SH34.s_pump_rc = -EINVAL;
        if (pumping) {
            SH34.s_pump_rc = sl_itest_pump_join(&pump);
            SH34.s_st = *sl_rc_stats(c);
        }
        sl_rc_close(c);
    }
    sl_flv_file_free(&SH34.files[0]);
    sl_flv_file_free(&SH34.files[1]);
    SH34.stopped = sl_srv_stop(&SH34.srv) == 0;
    SH34.state = 1;
    return 1;
}

/* ---- 3. the publisher leaves and returns ---- */

static void
test_publisher_returns(void)
{
    struct sl_probe pr;

    CU_ASSERT_FATAL(shared_run34() == 1);
    CU_ASSERT_FATAL(SH34.r_rung);
    CU_ASSERT(SH34.r_pub_ended[0]);
    CU_ASSERT(SH34.r_pub_ok[0]);
    CU_ASSERT(SH34.r_pump_rc == 0);
    fprintf(stderr, "  first publication: %lu video, UnpublishNotify %d\n",
            SH34.r_before, SH34.r_unpublish);
    CU_ASSERT(SH34.r_unpublish);

    /* The player that stayed, and a new one, got the rung back. */
    CU_ASSERT_FATAL(SH34.r_pub2);
    fprintf(stderr, "  the player that stayed: %lu video after the return\n",
            SH34.r_after - SH34.r_before);
    CU_ASSERT(SH34.r_after > SH34.r_before);
    CU_ASSERT(SH34.r_pub_ended[1]);
    CU_ASSERT(SH34.r_pub_ok[1]);
    shared_rec_check(&SH34.r_rec);
    CU_ASSERT(sl_probe_file(SH34.r_rec.out, &pr) == 0);
    sl_probe_print("360p after the return", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.width == 640 && pr.height == 360);
    CU_ASSERT(pr.video_packets >= FPS);
    CU_ASSERT(SH34.stopped);
}

/* ---- 4. the source changes resolution ---- */

static void
test_resolution_switch(void)
{
    const struct sl_rc_stats *st = &SH34.s_st;
    struct sl_probe           pr;
    struct sl_pkts            pk;
    uint32_t                  switch_ts;
    long                      after = 0, last = 0;

    CU_ASSERT_FATAL(shared_run34() == 1);
    CU_ASSERT_FATAL(SH34.s_thread);
    switch_ts = SH34.s_switch_ts;
    CU_ASSERT(SH34.fp.rc == 0);
    shared_rec_check(&SH34.s_rec);
    CU_ASSERT(SH34.s_rung);
    if (SH34.s_rung) {
        fprintf(stderr,
                "  client on 480p: %lu video, last at %u ms (switch at %u "
                "ms), monotonic %d, connection %s\n",
                st->video, st->last_video_ts, switch_ts, st->video_ts_monotonic,
                SH34.s_pump_rc == 0 ? "open" : "closed");
        CU_ASSERT(SH34.s_pump_rc == 0);
        CU_ASSERT(st->last_video_ts >= switch_ts + 3000);
        CU_ASSERT(st->video_ts_monotonic);
    }

    CU_ASSERT(sl_probe_file(SH34.s_rec.out, &pr) == 0);
    sl_probe_print("480p across the switch", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.width == 854 && pr.height == 480);
    CU_ASSERT(sl_probe_packets(SH34.s_rec.out, &pk) == 0);
    for (size_t i = 0; i < pk.n; i++)
        if (pk.p[i].type == 'v' && pk.p[i].pts > (long) switch_ts) {
            after++;
            if (pk.p[i].pts > last)
                last = pk.p[i].pts;
        }
    fprintf(stderr,
            "  480p recording: %ld video packets after the switch, "
            "the last at %ld ms\n",
            after, last);
    CU_ASSERT(after >= 2 * FPS);
    CU_ASSERT(last >= (long) switch_ts + 3000);
    sl_pkts_free(&pk);
    CU_ASSERT(SH34.stopped);
}

/* ---- 5. a video codec the transcoder cannot take ---- */

static void
test_unsupported_codec(void)
{
    struct sl_probe pr;
    char            line[512];
    int             rc;

    CU_ASSERT_FATAL(shared_run() == 1);
    CU_ASSERT(sl_file_count(SH.srv.log, "publishing live/" KEY_OLD) == 1);
    rc = wait_log_line(&SH.srv, CODEC_LINE, line, sizeof(line), 0);
    fprintf(stderr, "  %s\n",
            rc ? "no WARN or ERROR line about the codec" : line);
    CU_ASSERT(rc == 0);

    /* No rung: its players got nothing while the source flowed. */
    for (int i = 0; i < NRUNGS; i++)
        empty_check(&SH.old[i]);

    /* The source itself still plays. */
    CU_ASSERT(SH.pub_ended[1]);
    CU_ASSERT(SH.pub_ok[1]);
    shared_rec_check(&SH.rec_old);
    CU_ASSERT(sl_probe_file(SH.rec_old.out, &pr) == 0);
    sl_probe_print("flv1 source", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "flv1");
    CU_ASSERT(pr.video_packets >= FPS);
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
    /* The server stopped cleanly (an ERROR line about this stream is
     * allowed). */
    CU_ASSERT(SH.stopped);
}

/* ---- 6. latency = low ---- */

/* A rung with latency = low has no B-frames: every picture's decode time
 * is its presentation time.  The default rung beside it, with the same
 * preset, has some (so the check can see them). */
static void
test_low_latency_rung(void)
{
    struct sl_probe pr;
    struct sl_pkts  pk;

    CU_ASSERT_FATAL(shared_run() == 1);
    CU_ASSERT(SH.pub_ended[0]);
    CU_ASSERT(SH.pub_ok[0]);
    for (int i = 0; i < 2; i++) {
        size_t video = 0, reordered = 0;

        CU_ASSERT(SH.lat_rung[i]);
        shared_rec_check(&SH.rec_lat[i]);
        CU_ASSERT(sl_probe_file(SH.rec_lat[i].out, &pr) == 0);
        sl_probe_print(LATENCY_RUNGS[i], &pr);
        CU_ASSERT(pr.width == 320 && pr.height == 180);
        if (sl_probe_packets(SH.rec_lat[i].out, &pk) != 0) {
            CU_FAIL("ffprobe could not list the rung's packets");
            continue;
        }
        for (size_t j = 0; j < pk.n; j++) {
            if (pk.p[j].type != 'v')
                continue;
            video++;
            reordered += pk.p[j].pts != pk.p[j].dts;
        }
        fprintf(stderr, "  %s: %zu video packets, %zu out of order\n",
                LATENCY_RUNGS[i], video, reordered);
        CU_ASSERT(video >= FPS);
        /* normal (i = 0) has B-frames; low has none. */
        CU_ASSERT(i == 0 ? reordered > 0 : reordered == 0);
        sl_pkts_free(&pk);
    }
    shared_server_check();
}

/* After each test: whatever it left running goes (the shared run ends
 * within the test that drives it).  The folders stay until the suite
 * ends: tests 2, 5 and 6 read the shared server's. */
static void
after_test(void)
{
    sl_proc_kill_all();
}

void
sl_itest_suite_ladder(void)
{
    CU_pSuite s = sl_itest_suite_shared("ladder", NULL, after_test);

    CU_add_test(s,
                "1080p source: three rungs at their size and bit rate, "
                "keyframes aligned every 2 s, audio on the source's clock",
                test_full_ladder);
    CU_add_test(s, "a source smaller than a rung: the rung is skipped",
                test_small_source);
    CU_add_test(s, "the publisher leaves and returns: the rungs too",
                test_publisher_returns);
    CU_add_test(s, "a resolution switch in the source keeps rung players",
                test_resolution_switch);
    CU_add_test(s, "an undecodable video codec: no rungs, the source plays",
                test_unsupported_codec);
    CU_add_test(s, "latency = low: a rung without B-frames",
                test_low_latency_rung);
}
