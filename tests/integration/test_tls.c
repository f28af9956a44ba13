/*
 * RTMPS as a user sees it.  Each server gets two self-signed
 * certificates made at test time by the openssl CLI (CN sluice-cert-one
 * and sluice-cert-two) and listens for RTMP and RTMPS on free ports.
 *
 * - ffmpeg publishes over rtmps:// and plays over rtmps:// and rtmp://;
 *   ffmpeg publishes over rtmp:// and plays over rtmps://, both at once
 *   on one server.  Every recording has the whole stream (H.264 of the
 *   right size that decodes, AAC) in order.
 * - SIGHUP with the other certificate: `openssl s_client` sees the new
 *   one on a new connection while an RTMPS player that started before
 *   keeps receiving; a reload with a key that does not match is refused
 *   at its FILE:LINE and the certificate in use stays.
 * - Plain RTMP, random bytes and silence on the RTMPS port: each such
 *   connection is closed with a WARN line naming it, while an RTMPS
 *   player next to them gets every frame, and the server stops cleanly.
 * - The web port's HTTPS ([web] tls_listen) serves the same certificate
 *   and gets the new one on SIGHUP; while it is open a reload without a
 *   certificate is refused.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itest.h"

#define CN_ONE "sluice-cert-one"
#define CN_TWO "sluice-cert-two"

struct tls_srv {
    struct sl_srv srv;
    int           tls_port;
    char          dir[PATH_MAX]; /* certificates and client output */
    char          cert[2][PATH_MAX + 16];
    char          key[2][PATH_MAX + 16];
};

/* Certificate i (0 or 1) of t, for CN=cn. */
static int
make_cert(struct tls_srv *t, int i, const char *cn)
{
    char log[PATH_MAX + 32];

    snprintf(t->cert[i], sizeof(t->cert[i]), "%s/%d.crt", t->dir, i);
    snprintf(t->key[i], sizeof(t->key[i]), "%s/%d.key", t->dir, i);
    snprintf(log, sizeof(log), "%s/openssl-req-%d.log", t->dir, i);
    return sl_itest_make_cert(cn, t->cert[i], t->key[i], log);
}

/* The [server] keys for RTMPS with certificate cert and key key.  A
 * short publish_grace: players here end with the stream, and nothing in
 * this suite waits for a publisher to come back. */
static void
tls_keys(const struct tls_srv *t, int cert, int key, char *out, size_t cap)
{
    snprintf(out, cap,
             "tls_listen = 127.0.0.1:%d\ntls_cert = %s\ntls_key = %s\n"
             "publish_grace = 250ms\n",
             t->tls_port, t->cert[cert], t->key[key]);
}

/* Starts a server with certificate one and the extra [server] keys
 * (or NULL). */
static void
tls_start(struct tls_srv *t, const char *extra)
{
    char keys[3 * PATH_MAX + 256];

    memset(t, 0, sizeof(*t));
    CU_ASSERT_FATAL(sl_tmpdir(t->dir) == 0);
    CU_ASSERT_FATAL(make_cert(t, 0, CN_ONE) == 0);
    CU_ASSERT_FATAL(make_cert(t, 1, CN_TWO) == 0);
    t->tls_port = sl_free_port();
    CU_ASSERT_FATAL(t->tls_port > 0);
    tls_keys(t, 0, 0, keys, sizeof(keys));
    if (extra != NULL)
        snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), "%s", extra);
    IT_START(&t->srv, keys, NULL);
    CU_ASSERT_FATAL(sl_wait_port(t->tls_port, IT_S(5)) == 0);
    CU_ASSERT(sl_file_count(t->srv.log, "(rtmps, certificate CN=" CN_ONE ")") ==
              1);
}

static void
tls_url(const struct tls_srv *t, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "rtmps://127.0.0.1:%d/live/%s", t->tls_port, name);
}

/* Starts ffmpeg playing url into out (its output in log), writing each
 * packet to the file as it arrives (-flush_packets 1): the file's size
 * then follows what the player received, where ffmpeg's 32 KiB write
 * buffer would make wait_grows() wait for seconds of a small stream. */
static int
live_player(struct sl_proc *p, const char *url, const char *out,
            const char *log)
{
    const char *args[] = {"-y", "-i", url,   "-c", "copy", "-flush_packets",
                          "1",  "-f", "flv", out,  NULL};

    return sl_ffmpeg_spawn(p, args, log);
}

/* The "subject=" line `openssl s_client` prints for a new connection to
 * the RTMPS port, into out ("" when there was none). */
static void
served_subject(const struct tls_srv *t, const char *tag, char *out, size_t cap)
{
    char  addr[32], path[PATH_MAX + 32];
    char *argv[] = {"openssl", "s_client", "-connect", addr, NULL};
    char *text, *line;

    out[0] = '\0';
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", t->tls_port);
    snprintf(path, sizeof(path), "%s/s_client-%s.out", t->dir, tag);
    if (sl_proc_run(argv, path, path, IT_S(10)) != 0) {
        sl_show_tail("openssl s_client", path);
        return;
    }
    text = sl_read_file(path);
    line = text != NULL ? strstr(text, "\nsubject=") : NULL;
    if (line != NULL)
        snprintf(out, cap, "%.*s", (int) strcspn(line + 1, "\n"), line + 1);
    free(text);
}

/* Video frames ffprobe decodes from file, with the codec and picture
 * size it reports; -1 when ffprobe failed. */
static long
decoded_frames(const char *file, char *codec, size_t cap, int *w, int *h)
{
    char  out[PATH_MAX + 32], err[PATH_MAX + 32];
    char *argv[] = {
        "ffprobe",       "-v",
        "error",         "-select_streams",
        "v:0",           "-count_frames",
        "-show_entries", "stream=codec_name,width,height,nb_read_frames",
        "-of",           "default=nw=1",
        (char *) file,   NULL};
    char *text, *p;
    long  n = -1;

    codec[0] = '\0';
    *w = *h = 0;
    snprintf(out, sizeof(out), "%s.frames", file);
    snprintf(err, sizeof(err), "%s.frames.err", file);
    if (sl_proc_run(argv, out, err, IT_S(30)) != 0 ||
        (text = sl_read_file(out)) == NULL)
        return -1;
    if ((p = strstr(text, "codec_name=")) != NULL)
        snprintf(codec, cap, "%.*s", (int) strcspn(p + 11, "\n"), p + 11);
    if ((p = strstr(text, "width=")) != NULL)
        *w = atoi(p + 6);
    if ((p = strstr(text, "height=")) != NULL)
        *h = atoi(p + 7);
    if ((p = strstr(text, "nb_read_frames=")) != NULL)
        n = atol(p + 15);
    free(text);
    return n;
}

/* A player's recording holds the whole stream av sent: H.264 of the
 * right size whose frames decode, AAC, in order, no frame missing. */
static void
expect_whole_stream(const char *file, const struct sl_av *av, const char *what)
{
    struct sl_probe pr;
    long            sent = (long) av->fps * av->seconds, frames;
    char            codec[32];
    int             w, h;

    CU_ASSERT_FATAL(sl_probe_file(file, &pr) == 0);
    sl_probe_print(what, &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.width == av->width && pr.height == av->height);
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
    CU_ASSERT(pr.audio_packets > 0);
    CU_ASSERT(sl_within_pct(pr.video_packets, sent, 2));
    CU_ASSERT(pr.first_video_key);
    CU_ASSERT(pr.video_dts_monotonic);
    CU_ASSERT(pr.audio_dts_monotonic);
    frames = decoded_frames(file, codec, sizeof(codec), &w, &h);
    fprintf(stderr, "  %s: %ld frames decoded (%s %dx%d), %ld sent\n", what,
            frames, codec, w, h, sent);
    CU_ASSERT_STRING_EQUAL(codec, "h264");
    CU_ASSERT(w == av->width && h == av->height);
    CU_ASSERT(sl_within_pct(frames, sent, 2));
}

/* ---- 1 and 2: one server, two publications ---- */

/* ffmpeg publishing over RTMPS (1) and over plain RTMP (2) do not
 * interfere: one server takes both at once, each stream with its
 * players, which wait before their publisher starts.  The first of the
 * two tests to run drives it (shared_run) and keeps what only the moment
 * can tell (exit statuses, whether the server stopped cleanly); the
 * recordings stay until the suite ends, and each test checks its own. */

enum { PLAY_X_TLS, PLAY_X_PLAIN, PLAY_Y_TLS, NPLAY };

static const struct sl_av SHARED_AV = {320, 240, 30, 3, 30, 0};

static struct {
    int            state; /* 0 not run, -1 failed on the way, 1 done */
    struct tls_srv t;
    int            playing[2];              /* live/x had 2 players, live/y 1 */
    int            pub_ended[2], pub_ok[2]; /* to x (RTMPS), to y (RTMP) */
    char           pub_log[2][PATH_MAX + 32];
    int            play_ended[NPLAY], play_ok[NPLAY];
    char           out[NPLAY][PATH_MAX + 32];
    int            stopped; /* sl_srv_stop() said 0 */
} SH;

/* Runs the shared server once, whichever of tests 1 and 2 comes first;
 * 1 when it got through, -1 when it failed on the way (the test that
 * ran it says where). */
static int
shared_run(void)
{
    static const char *const tags[NPLAY] = {"play-x-rtmps", "play-x-rtmp",
                                            "play-y-rtmps"};
    struct sl_proc           pub[2], play[NPLAY];
    char                     url[NPLAY][256], pub_url[2][256];
    char                     log[PATH_MAX + 32], f[64];

    if (SH.state != 0)
        return SH.state;
    memset(&SH, 0, sizeof(SH));
    SH.state = -1; /* until the end is reached */
    tls_start(&SH.t, NULL);
    /* 1: x published over RTMPS, played over RTMPS and RTMP; 2: y
     * published over RTMP, played over RTMPS. */
    tls_url(&SH.t, "x", url[PLAY_X_TLS], sizeof(url[0]));
    sl_srv_url(&SH.t.srv, "live", "x", url[PLAY_X_PLAIN], sizeof(url[0]));
    tls_url(&SH.t, "y", url[PLAY_Y_TLS], sizeof(url[0]));
    tls_url(&SH.t, "x", pub_url[0], sizeof(pub_url[0]));
    sl_srv_url(&SH.t.srv, "live", "y", pub_url[1], sizeof(pub_url[1]));
    for (int i = 0; i < NPLAY; i++) {
        snprintf(f, sizeof(f), "%s.flv", tags[i]);
        sl_srv_path(&SH.t.srv, f, SH.out[i], sizeof(SH.out[i]));
        snprintf(f, sizeof(f), "%s.log", tags[i]);
        sl_srv_path(&SH.t.srv, f, log, sizeof(log));
        CU_ASSERT_FATAL(sl_ffmpeg_play(&play[i], url[i], SH.out[i], log) == 0);
    }
    SH.playing[0] =
        sl_wait_file_count(SH.t.srv.log, "playing live/x", 2, IT_S(10)) == 0;
    SH.playing[1] =
        sl_wait_file_count(SH.t.srv.log, "playing live/y", 1, IT_S(10)) == 0;
    for (int i = 0; i < 2; i++) {
        snprintf(f, sizeof(f), "publish-%c.log", "xy"[i]);
        sl_srv_path(&SH.t.srv, f, SH.pub_log[i], sizeof(SH.pub_log[i]));
        CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub[i], pub_url[i], &SHARED_AV,
                                          SH.pub_log[i]) == 0);
    }
    for (int i = 0; i < 2; i++) {
        SH.pub_ended[i] = sl_proc_wait(&pub[i], IT_S(30)) == 0;
        SH.pub_ok[i] = sl_proc_exited_with(&pub[i], 0);
        sl_proc_kill(&pub[i]);
    }
    /* publish_grace later the players hear the end and finish. */
    for (int i = 0; i < NPLAY; i++) {
        SH.play_ended[i] = sl_proc_wait(&play[i], IT_S(20)) == 0;
        SH.play_ok[i] = sl_proc_exited_with(&play[i], 0);
        sl_proc_kill(&play[i]);
    }
    SH.stopped = sl_srv_stop(&SH.t.srv) == 0;
    SH.state = 1;
    return 1;
}

/* ffmpeg publishes over RTMPS; one player over RTMPS and one over plain
 * RTMP, both waiting before it starts, get the whole stream. */
static void
test_rtmps_publish(void)
{
    CU_ASSERT_FATAL(shared_run() == 1);
    CU_ASSERT(SH.playing[0]);
    CU_ASSERT(SH.pub_ended[0]);
    IT_EXPECT_LOGS(SH.pub_ok[0], SH.pub_log[0], SH.t.srv.log);
    CU_ASSERT(SH.play_ended[PLAY_X_TLS]);
    CU_ASSERT(SH.play_ok[PLAY_X_TLS]);
    CU_ASSERT(SH.play_ended[PLAY_X_PLAIN]);
    CU_ASSERT(SH.play_ok[PLAY_X_PLAIN]);
    expect_whole_stream(SH.out[PLAY_X_TLS], &SHARED_AV, "rtmps player");
    expect_whole_stream(SH.out[PLAY_X_PLAIN], &SHARED_AV, "rtmp player");
    /* SIGTERM: exit 0, no sanitizer report, no ERROR line. */
    CU_ASSERT(SH.stopped);
}

/* ffmpeg publishes over plain RTMP; an RTMPS player gets it all. */
static void
test_rtmp_publish_rtmps_play(void)
{
    CU_ASSERT_FATAL(shared_run() == 1);
    CU_ASSERT(SH.playing[1]);
    CU_ASSERT(SH.pub_ended[1]);
    CU_ASSERT(SH.pub_ok[1]);
    CU_ASSERT(SH.play_ended[PLAY_Y_TLS]);
    CU_ASSERT(SH.play_ok[PLAY_Y_TLS]);
    expect_whole_stream(SH.out[PLAY_Y_TLS], &SHARED_AV, "rtmps player");
    CU_ASSERT(SH.stopped);
}

/* The line of the ini that sets key, or 0. */
static int
ini_line_of(const char *ini, const char *key)
{
    char  *text = sl_read_file(ini), *p;
    int    line = 1, found = 0;
    size_t klen = strlen(key);

    for (p = text; p != NULL && *p != '\0' && !found; line++) {
        found = strncmp(p, key, klen) == 0 && p[klen] == ' ';
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    free(text);
    return found ? line - 1 : 0;
}

/* Waits up to timeout_s until path is larger than size. */
static int
wait_grows(const char *path, long size, double timeout_s)
{
    double deadline = sl_now() + timeout_s;

    while (sl_file_size(path) <= size) {
        if (sl_now() >= deadline)
            return -ETIMEDOUT;
        sl_sleep(0.1);
    }
    return 0;
}

/* Largest step between consecutive video timestamps of a recording, in
 * ms (a player that stalled or reconnected shows a hole). */
static long
largest_video_gap(const char *file)
{
    struct sl_pkts pk;
    long           prev = LONG_MIN, gap = -1;

    if (sl_probe_packets(file, &pk) < 0)
        return -1;
    for (size_t i = 0; i < pk.n; i++) {
        if (pk.p[i].type != 'v' || pk.p[i].pts == LONG_MIN)
            continue;
        if (prev != LONG_MIN && pk.p[i].pts - prev > gap)
            gap = pk.p[i].pts - prev;
        prev = pk.p[i].pts;
    }
    sl_pkts_free(&pk);
    return gap;
}

/* The player records across two reloads; the publication outlasts them
 * (they end about 2 s into it here, which is checked), with room for
 * slower machines through SLUICE_TIME_SCALE. */
static void
test_reload_certificate(void)
{
    struct sl_av   av = {320, 240, 30, (int) (5 * sl_time_scale()), 30, 0};
    struct tls_srv t;
    struct sl_proc pub, play;
    char           url[256], subject[256], keys[3 * PATH_MAX], want[64];
    char           out[PATH_MAX + 32], log[PATH_MAX + 32];
    long           size;
    int            line;

    tls_start(&t, NULL);
    t.srv.allow_error = 1; /* the refused reload is an ERROR line */
    tls_url(&t, "z", url, sizeof(url));
    sl_srv_path(&t.srv, "play.flv", out, sizeof(out));
    sl_srv_path(&t.srv, "play.log", log, sizeof(log));
    CU_ASSERT_FATAL(live_player(&play, url, out, log) == 0);
    CU_ASSERT(sl_wait_file_count(t.srv.log, "playing live/z", 1, IT_S(10)) ==
              0);
    sl_srv_path(&t.srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, log) == 0);
    /* The player is receiving before anything changes. */
    CU_ASSERT(wait_grows(out, 16384, IT_S(10)) == 0);

    served_subject(&t, "before", subject, sizeof(subject));
    fprintf(stderr, "  before the reload: %s\n", subject);
    CU_ASSERT_PTR_NOT_NULL(strstr(subject, CN_ONE));
    CU_ASSERT_PTR_NULL(strstr(subject, CN_TWO));

    /* The other certificate: new connections get it... */
    tls_keys(&t, 1, 1, keys, sizeof(keys));
    CU_ASSERT(sl_srv_write_ini(&t.srv, keys, NULL) == 0);
    CU_ASSERT(sl_proc_signal(&t.srv.proc, SIGHUP) == 0);
    CU_ASSERT(sl_wait_file_count(t.srv.log, "certificate CN=" CN_TWO, 1,
                                 IT_S(5)) == 0);
    served_subject(&t, "after", subject, sizeof(subject));
    fprintf(stderr, "  after the reload: %s\n", subject);
    CU_ASSERT_PTR_NOT_NULL(strstr(subject, CN_TWO));
    CU_ASSERT_PTR_NULL(strstr(subject, CN_ONE));
    /* ...and the player that started before goes on receiving. */
    size = sl_file_size(out);
    CU_ASSERT(wait_grows(out, size, IT_S(5)) == 0);

    /* The first certificate with the second key: refused at the line of
     * tls_key, and the second certificate stays. */
    tls_keys(&t, 0, 1, keys, sizeof(keys));
    CU_ASSERT(sl_srv_write_ini(&t.srv, keys, NULL) == 0);
    line = ini_line_of(t.srv.ini, "tls_key");
    CU_ASSERT(line > 0);
    CU_ASSERT(sl_proc_signal(&t.srv.proc, SIGHUP) == 0);
    CU_ASSERT(sl_wait_file_count(t.srv.log, "reload failed", 1, IT_S(5)) == 0);
    snprintf(want, sizeof(want), ":%d: tls_key: ", line);
    IT_EXPECT_LOGS(sl_file_count(t.srv.log, want) == 1, t.srv.log, NULL);
    CU_ASSERT(sl_file_count(t.srv.log, "does not match the certificate") == 1);
    served_subject(&t, "refused", subject, sizeof(subject));
    CU_ASSERT_PTR_NOT_NULL(strstr(subject, CN_TWO));
    size = sl_file_size(out);
    CU_ASSERT(wait_grows(out, size, IT_S(5)) == 0);
    /* All of that happened while the stream flowed. */
    CU_ASSERT(sl_proc_wait(&pub, 0) == -ETIMEDOUT);

    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    CU_ASSERT(sl_proc_wait(&play, IT_S(20)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    sl_proc_kill(&pub);
    sl_proc_kill(&play);
    /* Every frame, with no hole where the reloads happened. */
    expect_whole_stream(out, &av, "rtmps player across reloads");
    CU_ASSERT(largest_video_gap(out) > 0 && largest_video_gap(out) < 500);
    CU_ASSERT(sl_file_count(t.srv.log, " ERROR ") == 1);
    IT_STOP(&t.srv);
}

/* The bad clients take about handshake_timeout (2 s); the publication
 * outlasts them (checked below), with room for slower machines through
 * SLUICE_TIME_SCALE. */
static void
test_not_tls(void)
{
    struct sl_av   av = {320, 240, 30, (int) (5 * sl_time_scale()), 30, 0};
    struct tls_srv t;
    struct sl_proc pub, play;
    struct sl_rc  *c, *silent;
    unsigned char  junk[4096];
    char           url[256], out[PATH_MAX + 32], log[PATH_MAX + 32];

    tls_start(&t, NULL);
    tls_url(&t, "w", url, sizeof(url));
    sl_srv_path(&t.srv, "play.flv", out, sizeof(out));
    sl_srv_path(&t.srv, "play.log", log, sizeof(log));
    CU_ASSERT_FATAL(live_player(&play, url, out, log) == 0);
    CU_ASSERT(sl_wait_file_count(t.srv.log, "playing live/w", 1, IT_S(10)) ==
              0);
    sl_srv_path(&t.srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, log) == 0);
    CU_ASSERT(wait_grows(out, 16384, IT_S(10)) == 0);

    /* Silence: handshake_timeout (2 s here) covers the TLS handshake.
     * Opened first, so its wait runs beside the cases below. */
    silent = sl_rc_open(t.tls_port, 0, IT_S(5));
    CU_ASSERT_FATAL(silent != NULL);

    /* A plain RTMP client on the RTMPS port: C0 (version 3) and C1
     * (time 0, zeros, then random-looking bytes). */
    memset(junk, 0, sizeof(junk));
    junk[0] = 3;
    for (int i = 9; i < 1537; i++)
        junk[i] = (unsigned char) (i * 131 + 7);
    c = sl_rc_open(t.tls_port, 0, IT_S(5));
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(sl_rc_send_raw(c, junk, 1537) == 0);
    CU_ASSERT(
        sl_itest_expect_closed(&t.srv, c, "TLS handshake failed", IT_S(5)));
    sl_rc_close(c);

    /* Random bytes. */
    srand(20240601u);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char) rand();
    c = sl_rc_open(t.tls_port, 0, IT_S(5));
    CU_ASSERT_FATAL(c != NULL);
    sl_rc_send_raw(c, junk, sizeof(junk)); /* may meet the close */
    CU_ASSERT(sl_itest_expect_closed(&t.srv, c, "TLS handshake", IT_S(5)));
    sl_rc_close(c);

    /* The silent one. */
    CU_ASSERT(sl_itest_expect_closed(&t.srv, silent, "TLS handshake timeout",
                                     IT_S(8)));
    sl_rc_close(silent);

    /* The plain port still speaks plain RTMP. */
    c = sl_rc_open(t.srv.port, 0, IT_S(5));
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(sl_rc_handshake(c, IT_S(5)) == 0);
    sl_rc_close(c);
    /* All of that happened while the stream flowed. */
    CU_ASSERT(sl_proc_wait(&pub, 0) == -ETIMEDOUT);

    /* The RTMPS player next to all that got everything. */
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    CU_ASSERT(sl_proc_wait(&play, IT_S(20)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    sl_proc_kill(&pub);
    sl_proc_kill(&play);
    expect_whole_stream(out, &av, "rtmps player beside bad clients");
    /* SIGTERM: exit 0, no sanitizer report, no ERROR line. */
    IT_STOP(&t.srv);
}

/* A player that stops reading (SIGSTOP) while a heavy stream goes on:
 * the server's TLS writes block with a record half sent and plaintext
 * staged; after SIGCONT the player resumes and gets every frame intact,
 * so the staged bytes and the chunk stream stayed in step.  The pause
 * (5 s of about 2 MB/s) outgrows the socket buffers, and max_lag is
 * raised so that no skip hides a lost byte. */
static void
test_paused_player(void)
{
    struct sl_av   av = {1280, 720, 30, (int) (7 * sl_time_scale()), 30, 1};
    struct tls_srv t;
    struct sl_proc pub, play;
    char           surl[256], purl[256], out[PATH_MAX + 32], log[PATH_MAX + 32];

    tls_start(&t, "max_lag = 15s\nidle_timeout = 30s\n");
    tls_url(&t, "p", surl, sizeof(surl));
    sl_srv_url(&t.srv, "live", "p", purl, sizeof(purl));
    sl_srv_path(&t.srv, "play.flv", out, sizeof(out));
    sl_srv_path(&t.srv, "play.log", log, sizeof(log));
    {
        /* A small receive buffer: the pause fills the pipe sooner. */
        const char *args[] = {
            "-y",   "-recv_buffer_size", "16384", "-i", surl,  "-c",
            "copy", "-flush_packets",    "1",     "-f", "flv", out,
            NULL};

        CU_ASSERT_FATAL(sl_ffmpeg_spawn(&play, args, log) == 0);
    }
    CU_ASSERT(sl_wait_file_count(t.srv.log, "playing live/p", 1, IT_S(10)) ==
              0);
    sl_srv_path(&t.srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, purl, &av, log) == 0);
    CU_ASSERT(wait_grows(out, 1 << 20, IT_S(15)) == 0);

    CU_ASSERT(sl_proc_signal(&play, SIGSTOP) == 0);
    sl_sleep(5);
    /* The stream flowed all through the pause. */
    CU_ASSERT(sl_proc_wait(&pub, 0) == -ETIMEDOUT);
    CU_ASSERT(sl_proc_signal(&play, SIGCONT) == 0);

    CU_ASSERT(sl_proc_wait(&pub, IT_S(40)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    CU_ASSERT(sl_proc_wait(&play, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    sl_proc_kill(&pub);
    sl_proc_kill(&play);
    CU_ASSERT(sl_file_count(t.srv.log, "skipped") == 0);
    expect_whole_stream(out, &av, "rtmps player after a pause");
    IT_STOP(&t.srv);
}

/* [web] tls_listen alone (no RTMPS port): the certificate of [server]
 * tls_cert/tls_key, reloaded with it; a reload that would leave the
 * HTTPS port without one is refused. */
static void
test_web_https(void)
{
    struct tls_srv t;
    char           keys[3 * PATH_MAX], sec[64], subject[256], line[128];

    memset(&t, 0, sizeof(t));
    CU_ASSERT_FATAL(sl_tmpdir(t.dir) == 0);
    CU_ASSERT_FATAL(make_cert(&t, 0, CN_ONE) == 0);
    CU_ASSERT_FATAL(make_cert(&t, 1, CN_TWO) == 0);
    t.tls_port = sl_free_port(); /* here the web port's HTTPS */
    CU_ASSERT_FATAL(t.tls_port > 0);
    snprintf(keys, sizeof(keys), "tls_cert = %s\ntls_key = %s\n", t.cert[0],
             t.key[0]);
    snprintf(sec, sizeof(sec), "[web]\ntls_listen = 127.0.0.1:%d\n",
             t.tls_port);
    IT_START(&t.srv, keys, sec);
    t.srv.allow_error = 1; /* the refused reload is an ERROR line */
    CU_ASSERT_FATAL(sl_wait_port(t.tls_port, IT_S(5)) == 0);
    snprintf(line, sizeof(line),
             "web on 127.0.0.1:%d (https, certificate CN=" CN_ONE ")",
             t.tls_port);
    CU_ASSERT(sl_file_count(t.srv.log, line) == 1);
    CU_ASSERT(sl_file_count(t.srv.log, "(rtmps") == 0);
    served_subject(&t, "web-before", subject, sizeof(subject));
    fprintf(stderr, "  web https before the reload: %s\n", subject);
    CU_ASSERT_PTR_NOT_NULL(strstr(subject, CN_ONE));

    /* The other certificate: new HTTPS connections get it. */
    snprintf(keys, sizeof(keys), "tls_cert = %s\ntls_key = %s\n", t.cert[1],
             t.key[1]);
    CU_ASSERT(sl_srv_write_ini(&t.srv, keys, sec) == 0);
    CU_ASSERT(sl_proc_signal(&t.srv.proc, SIGHUP) == 0);
    CU_ASSERT(sl_wait_file_count(t.srv.log, "certificate CN=" CN_TWO, 1,
                                 IT_S(5)) == 0);
    served_subject(&t, "web-after", subject, sizeof(subject));
    CU_ASSERT_PTR_NOT_NULL(strstr(subject, CN_TWO));

    /* tls_listen off and no certificate: tls_listen waits for a restart,
     * so the port stays open and the reload is refused. */
    CU_ASSERT(sl_srv_write_ini(&t.srv, NULL, "[web]\ntls_listen = off\n") == 0);
    CU_ASSERT(sl_proc_signal(&t.srv.proc, SIGHUP) == 0);
    CU_ASSERT(sl_wait_file_count(t.srv.log, "reload failed", 1, IT_S(5)) == 0);
    CU_ASSERT(sl_file_count(t.srv.log, "needed while a TLS port") == 1);
    served_subject(&t, "web-refused", subject, sizeof(subject));
    CU_ASSERT_PTR_NOT_NULL(strstr(subject, CN_TWO));
    IT_STOP(&t.srv);
}

/* After each test: whatever it left running goes.  The folders stay
 * until the suite ends: tests 1 and 2 read the shared server's. */
static void
after_test(void)
{
    sl_proc_kill_all();
}

void
sl_itest_suite_tls(void)
{
    CU_pSuite s = sl_itest_suite_shared("tls", NULL, after_test);

    CU_add_test(s, "ffmpeg publishes over RTMPS, plays over RTMPS and RTMP",
                test_rtmps_publish);
    CU_add_test(s, "ffmpeg publishes over RTMP, plays over RTMPS",
                test_rtmp_publish_rtmps_play);
    CU_add_test(s,
                "SIGHUP: new connections get the new certificate, a player "
                "plays on; a mismatched key is refused",
                test_reload_certificate);
    CU_add_test(s,
                "plain RTMP, random bytes and silence on the RTMPS port: "
                "closed with a WARN, a player beside them unaffected",
                test_not_tls);
    CU_add_test(s,
                "an RTMPS player paused while a heavy stream flows resumes "
                "with every frame",
                test_paused_player);
    CU_add_test(s,
                "[web] tls_listen: the certificate, reloaded; a reload "
                "without one is refused",
                test_web_https);
}
