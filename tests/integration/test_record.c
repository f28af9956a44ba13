/*
 * Recording ([app:NAME] record = DIR), checked with real ffmpeg
 * publishers and players and ffprobe reading the files:
 *
 *  - one publication gives one file named APP-NAME-YYYYMMDD-HHMMSS.flv
 *    with H.264 and AAC, every frame sent, a keyframe first, as long as
 *    what was sent (3 s), laid out as onMetaData, AVC header, AAC
 *    header, keyframe;
 *  - record_segment = 2s with a keyframe a second: several files, each
 *    starting with a keyframe and readable, holding every frame between
 *    them;
 *  - SIGKILL mid-recording: the file reads up to about the moment of
 *    the kill;
 *  - a record folder on a 256 KiB tmpfs: the recording stops with one
 *    ERROR line while a player gets every frame, and the server stops
 *    cleanly;
 *  - record_renditions = on: the ladder's rung gets a file of its own.
 *
 * The first, second and last share one server, which records three
 * apps published at once.  Record folders come from sl_tmpdir()
 * (absolute paths), so they exist before the server loads its config.
 * Every wait is bounded by IT_S(); nothing asserts how fast anything
 * happened.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "bench/flvfile.h"
#include "tests/integration/itest.h"
#include "tests/support/http_client.h"

#define MAX_FILES 16

/* The .flv files in dir whose name starts with prefix, sorted (which
 * is their time order), as full paths; the count. */
static int
list_flv(const char *dir, const char *prefix, char out[][PATH_MAX], int max)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    size_t         plen = strlen(prefix);
    int            n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);

        if (strncmp(e->d_name, prefix, plen) != 0 || len < 4 ||
            strcmp(e->d_name + len - 4, ".flv") != 0)
            continue;
        snprintf(out[n++], PATH_MAX, "%.2000s/%.255s", dir, e->d_name);
    }
    closedir(d);
    qsort(out, (size_t) n, PATH_MAX,
          (int (*)(const void *, const void *)) strcmp);
    return n;
}

/* 1 when the file's base name is PREFIX + YYYYMMDD-HHMMSS + [-N] .flv. */
static int
name_ok(const char *path, const char *prefix)
{
    const char *b = strrchr(path, '/');
    size_t      plen = strlen(prefix);

    b = b != NULL ? b + 1 : path;
    if (strncmp(b, prefix, plen) != 0)
        return 0;
    b += plen;
    for (int i = 0; i < 15; i++) {
        int want_dash = i == 8;

        if (want_dash ? b[i] != '-' : (b[i] < '0' || b[i] > '9'))
            return 0;
    }
    b += 15;
    if (*b == '-')
        for (b++; *b >= '0' && *b <= '9'; b++)
            ;
    return !strcmp(b, ".flv");
}

/* Starts a player of live/name (ffmpeg copying into out) and waits
 * until the server has it playing, so it sees the first frame. */
static void
start_player(struct sl_srv *srv, struct sl_proc *play, const char *name,
             char *out, size_t cap)
{
    char url[256], log[PATH_MAX + 32];

    sl_srv_url(srv, "live", name, url, sizeof(url));
    sl_srv_path(srv, "play.flv", out, cap);
    sl_srv_path(srv, "play.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_play(play, url, out, log) == 0);
    CU_ASSERT(sl_wait_file_count(srv->log, "playing live/", 1, IT_S(10)) == 0);
}

static void
start_publisher(struct sl_srv *srv, struct sl_proc *pub, const char *name,
                const struct sl_av *av)
{
    char url[256], log[PATH_MAX + 32];

    sl_srv_url(srv, "live", name, url, sizeof(url));
    sl_srv_path(srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(pub, url, av, log) == 0);
}

static void
record_keys(char *out, size_t cap, const char *dir, const char *more)
{
    snprintf(out, cap, "record = %s\n%s", dir, more ? more : "");
}

/* ---- 1, 2 and 5: one server, three apps ---- */

/* One publication's file (1), segments (2) and a rung's file (5) do not
 * interfere: one server records three apps, each into a folder of its
 * own, published at the same time.  The first of the three tests to run
 * drives it (shared_run) and keeps what only the moment can tell (exit
 * statuses, the close lines in time); the files and the log stay until
 * the suite ends, and each test checks its part. */

enum { ONE, SEG, REND, NAPPS };

static const char *const APPS[NAPPS] = {"live", "seg", "rend"};

/* 1: ~3 s, every frame; 2: 5 s cut every 2 s at a keyframe (one a
 * second); 5: a rung of its own. */
static const struct sl_av SHARED_AV[NAPPS] = {{320, 240, 25, 3, 25, 0},
                                              {320, 240, 25, 5, 25, 0},
                                              {320, 240, 25, 3, 25, 0}};

static struct {
    int           state; /* 0 not run, -1 failed on the way, 1 done */
    struct sl_srv srv;
    char          dir[NAPPS][PATH_MAX];
    int           pub_ended[NAPPS], pub_ok[NAPPS];
    int           closed[NAPPS]; /* its close line(s) came */
    int           stopped;       /* sl_srv_stop() said 0 */
} SH;

/* Runs the shared server once, whichever of tests 1, 2 and 5 comes
 * first; 1 when it got through, -1 when it failed on the way (the test
 * that ran it says where). */
static int
shared_run(void)
{
    /* How each app's recording ends: the close lines to wait for, and
     * the bound (a rung's file closes after the transcoder's flush). */
    static const char *const closed[NAPPS] = {"recording live/cam: closed",
                                              "recording seg/cam: closed",
                                              "recording rend/cam_120p: "
                                              "closed"};
    static const int         nclosed[NAPPS] = {1, 3, 1};
    static const double      bound[NAPPS] = {10, 10, 15};
    struct sl_proc           pub[NAPPS];
    char                     sect[4 * PATH_MAX + 512];

    if (SH.state != 0)
        return SH.state;
    memset(&SH, 0, sizeof(SH));
    SH.state = -1; /* until the end is reached */
    for (int i = 0; i < NAPPS; i++)
        CU_ASSERT_FATAL(sl_tmpdir(SH.dir[i]) == 0);
    snprintf(sect, sizeof(sect),
             "record = %s\n"
             "[app:seg]\nrecord = %s\nrecord_segment = 2s\n"
             "[app:rend]\nrecord = %s\nrecord_renditions = on\n"
             "renditions = 120p\nkeyframe_interval = 1s\n"
             "[rendition:120p]\nwidth = 160\nheight = 120\n"
             "video_bitrate = 100k\npreset = ultrafast\n",
             SH.dir[ONE], SH.dir[SEG], SH.dir[REND]);
    IT_START(&SH.srv, NULL, sect);
    for (int i = 0; i < NAPPS; i++) {
        char url[256], log[PATH_MAX + 32], f[32];

        sl_srv_url(&SH.srv, APPS[i], "cam", url, sizeof(url));
        snprintf(f, sizeof(f), "publish-%s.log", APPS[i]);
        sl_srv_path(&SH.srv, f, log, sizeof(log));
        CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub[i], url, &SHARED_AV[i], log) ==
                        0);
    }
    for (int i = 0; i < NAPPS; i++) {
        SH.pub_ended[i] = sl_proc_wait(&pub[i], IT_S(30)) == 0;
        SH.pub_ok[i] = sl_proc_exited_with(&pub[i], 0);
        sl_proc_kill(&pub[i]);
    }
    for (int i = 0; i < NAPPS; i++)
        SH.closed[i] = sl_wait_file_count(SH.srv.log, closed[i], nclosed[i],
                                          IT_S(bound[i])) == 0;
    SH.stopped = sl_srv_stop(&SH.srv) == 0;
    SH.state = 1;
    return 1;
}

/* ---- 1. one publication, one file ---- */

static void
test_one_file(void)
{
    const struct sl_av *av = &SHARED_AV[ONE];
    struct sl_probe     pr;
    struct sl_pkts      pk;
    struct sl_flv_file  f;
    char                files[MAX_FILES][PATH_MAX];
    long                first = 0, last = 0;
    int                 n;

    CU_ASSERT_FATAL(shared_run() == 1);
    CU_ASSERT(SH.pub_ended[ONE]);
    CU_ASSERT(SH.pub_ok[ONE]);
    CU_ASSERT(SH.closed[ONE]);
    CU_ASSERT(SH.stopped);

    n = list_flv(SH.dir[ONE], "live-cam-", files, MAX_FILES);
    IT_EXPECT_LOGS(n == 1, SH.srv.log, NULL);
    CU_ASSERT_FATAL(n >= 1);
    CU_ASSERT(name_ok(files[0], "live-cam-"));
    CU_ASSERT_FATAL(sl_probe_file(files[0], &pr) == 0);
    sl_probe_print("recording", &pr);
    CU_ASSERT(pr.ok);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
    CU_ASSERT(pr.first_video_key);
    CU_ASSERT(pr.video_dts_monotonic);
    CU_ASSERT(sl_within_pct(pr.video_packets, (long) av->fps * av->seconds, 2));
    CU_ASSERT_FATAL(sl_probe_packets(files[0], &pk) == 0);
    CU_ASSERT(sl_pkts_span(&pk, 'v', &first, &last) > 0);
    fprintf(stderr, "  video pts %ld..%ld ms\n", first, last);
    CU_ASSERT(first < 500);
    CU_ASSERT(last - first > av->seconds * 1000 - 500 &&
              last - first < av->seconds * 1000 + 500);
    sl_pkts_free(&pk);
    /* The layout a player starting at the file's head needs. */
    CU_ASSERT_FATAL(sl_flv_file_load(&f, files[0]) == 0);
    CU_ASSERT_FATAL(f.ntags > 4);
    CU_ASSERT_EQUAL(f.tags[0].type, 18);
    CU_ASSERT(f.tags[1].type == 9 && f.tags[1].seq_header);
    CU_ASSERT(f.tags[2].type == 8 && f.tags[2].seq_header);
    CU_ASSERT(f.tags[3].type == 9 && f.tags[3].keyframe);
    CU_ASSERT_EQUAL(f.tags[3].ts, 0);
    sl_flv_file_free(&f);
}

/* ---- 2. segments ---- */

static void
test_segments(void)
{
    const struct sl_av *av = &SHARED_AV[SEG];
    char                files[MAX_FILES][PATH_MAX];
    long                frames = 0;
    int                 n;

    CU_ASSERT_FATAL(shared_run() == 1);
    CU_ASSERT(SH.pub_ended[SEG]);
    CU_ASSERT(SH.closed[SEG]);
    CU_ASSERT(SH.stopped);

    /* 5 s cut every 2 s at a keyframe (one a second): files from 0, 2
     * and 4 s. */
    n = list_flv(SH.dir[SEG], "seg-cam-", files, MAX_FILES);
    fprintf(stderr, "  %d files\n", n);
    IT_EXPECT_LOGS(n >= 3, SH.srv.log, NULL);
    for (int i = 0; i < n; i++) {
        struct sl_probe pr;

        CU_ASSERT(name_ok(files[i], "seg-cam-"));
        CU_ASSERT_FATAL(sl_probe_file(files[i], &pr) == 0);
        sl_probe_print(files[i], &pr);
        CU_ASSERT(pr.ok);
        CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
        CU_ASSERT(pr.first_video_key);
        CU_ASSERT(pr.first_video_dts < 100);
        frames += pr.video_packets;
    }
    CU_ASSERT(sl_within_pct(frames, (long) av->fps * av->seconds, 2));
}

/* ---- 3. SIGKILL ---- */

static void
test_sigkill(void)
{
    struct sl_av    av = {320, 240, 25, 30, 25, 0};
    struct sl_srv   srv;
    struct sl_proc  pub;
    struct sl_probe pr;
    struct sl_pkts  pk;
    char            dir[PATH_MAX], keys[PATH_MAX + 64];
    char            files[MAX_FILES][PATH_MAX];
    double          t0, elapsed;
    long            first = 0, last = 0;
    int             n;

    CU_ASSERT_FATAL(sl_tmpdir(dir) == 0);
    record_keys(keys, sizeof(keys), dir, NULL);
    IT_START(&srv, NULL, keys);
    start_publisher(&srv, &pub, "cam", &av);
    CU_ASSERT_FATAL(
        sl_wait_file_count(srv.log, "publishing live/cam", 1, IT_S(10)) == 0);
    t0 = sl_now();
    CU_ASSERT(
        sl_wait_file_count(srv.log, "recording live/cam to", 1, IT_S(10)) == 0);
    sl_sleep(2); /* a pause: let media flow, then pull the plug */
    elapsed = sl_now() - t0;
    CU_ASSERT(sl_proc_signal(&srv.proc, SIGKILL) == 0);
    CU_ASSERT(sl_proc_wait(&srv.proc, IT_S(10)) == 0);
    CU_ASSERT(WIFSIGNALED(srv.proc.status) &&
              WTERMSIG(srv.proc.status) == SIGKILL);
    sl_proc_kill(&pub);

    n = list_flv(dir, "live-cam-", files, MAX_FILES);
    IT_EXPECT_LOGS(n == 1, srv.log, NULL);
    CU_ASSERT_FATAL(n >= 1);
    CU_ASSERT_FATAL(sl_probe_file(files[0], &pr) == 0);
    sl_probe_print("killed recording", &pr);
    CU_ASSERT(pr.ok);
    CU_ASSERT(pr.first_video_key);
    CU_ASSERT_FATAL(sl_probe_packets(files[0], &pk) == 0);
    CU_ASSERT(sl_pkts_span(&pk, 'v', &first, &last) > 0);
    fprintf(stderr, "  killed after %.2f s of publishing; last video %ld ms\n",
            elapsed, last);
    /* What was published up to the kill is in the file, give or take a
     * second (the publisher's own start, the kill's moment). */
    CU_ASSERT(fabs((double) last / 1000.0 - elapsed) <= 1.0);
    sl_pkts_free(&pk);
    CU_ASSERT(sl_file_count(srv.log, "AddressSanitizer") == 0);
    CU_ASSERT(sl_file_count(srv.log, "ThreadSanitizer") == 0);
}

/* ---- 4. disk full ---- */

/* Copies a file (ffprobe's output goes next to what it reads, and the
 * full tmpfs has no room for it).  0 or -1. */
static int
copy_file(const char *from, const char *to)
{
    FILE  *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char   buf[65536];
    size_t n;
    int    rc = in != NULL && out != NULL ? 0 : -1;

    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in != NULL)
        fclose(in);
    if (out != NULL && fclose(out) != 0)
        rc = -1;
    return rc;
}

static void
test_disk_full(void)
{
    /* A low QP makes ~1 Mbit/s: 256 KiB fill in about 2 s. */
    struct sl_av    av = {320, 240, 25, 4, 25, 12};
    struct sl_srv   srv;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    char            dir[PATH_MAX], keys[PATH_MAX + 64], out[PATH_MAX + 32];
    char            files[MAX_FILES][PATH_MAX];
    int             n;

    CU_ASSERT_FATAL(sl_tmpdir(dir) == 0);
    if (mount("tmpfs", dir, "tmpfs", 0, "size=256k") != 0) {
        fprintf(stderr,
                "  cannot mount a tmpfs on %s: %s (this test needs root "
                "or CAP_SYS_ADMIN)\n",
                dir, strerror(errno));
        CU_FAIL("mount -t tmpfs not permitted: disk-full case not run");
        return;
    }
    /* The unmount at the end runs unless a fatal assertion ends the
     * test first; the suite's cleanup (sl_tmpdir_remove_all) unmounts
     * then. */
    record_keys(keys, sizeof(keys), dir, NULL);
    /* A short publish_grace: the player ends with the stream. */
    if (sl_srv_start(&srv, "publish_grace = 250ms\n", keys) != 0) {
        CU_FAIL("server did not start");
        umount2(dir, MNT_DETACH);
        return;
    }
    srv.allow_error = 1; /* the one ERROR line this test causes */
    start_player(&srv, &play, "cam", out, sizeof(out));
    start_publisher(&srv, &pub, "cam", &av);
    CU_ASSERT(sl_wait_file_count(srv.log, "recording stopped", 1, IT_S(20)) ==
              0);
    /* The API shows the stream live and its recording failed. */
    {
        struct sl_http_resp r;
        json_t             *j = NULL, *rec;

        if (sl_http_get(srv.http_port, "/api/v1/streams/live/cam", &r) == 200)
            j = json_loads(r.body, 0, NULL);
        sl_http_resp_free(&r);
        rec = j != NULL ? json_object_get(j, "recording") : NULL;
        CU_ASSERT(json_is_object(rec));
        CU_ASSERT_STRING_EQUAL(
            json_string_value(json_object_get(rec, "state")) ?: "", "failed");
        CU_ASSERT(strstr(json_string_value(json_object_get(rec, "file")) ?: "",
                         "live-cam-") != NULL);
        CU_ASSERT(json_integer_value(json_object_get(rec, "bytes")) > 0);
        json_decref(j);
        CU_ASSERT(sl_http_get(srv.http_port, "/metrics", &r) == 200);
        CU_ASSERT(r.body != NULL &&
                  strstr(r.body, "sluice_recording_bytes_total{app=\"live\","
                                 "name=\"cam\"}") != NULL);
        sl_http_resp_free(&r);
    }
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    CU_ASSERT(sl_proc_wait(&play, IT_S(20)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    IT_STOP(&srv);
    /* One line, naming the file and the reason. */
    IT_EXPECT_LOGS(sl_file_count(srv.log, " ERROR ") == 1, srv.log, NULL);
    CU_ASSERT(sl_file_count(srv.log, "No space left on device") == 1);

    /* The player got every frame. */
    if (sl_probe_file(out, &pr) == 0) {
        sl_probe_print("player", &pr);
        CU_ASSERT(
            sl_within_pct(pr.video_packets, (long) av.fps * av.seconds, 2));
    } else {
        CU_FAIL("ffprobe could not read the player's file");
    }
    /* What fit on the disk is still a readable recording. */
    n = list_flv(dir, "live-cam-", files, MAX_FILES);
    CU_ASSERT(n == 1);
    sl_srv_path(&srv, "cut.flv", out, sizeof(out));
    if (n >= 1 && copy_file(files[0], out) == 0 &&
        sl_probe_file(out, &pr) == 0) {
        sl_probe_print("cut recording", &pr);
        CU_ASSERT(pr.ok);
        CU_ASSERT(pr.first_video_key);
        CU_ASSERT(pr.video_packets > 0);
    }
    CU_ASSERT(umount2(dir, MNT_DETACH) == 0);
}

/* ---- 5. renditions ---- */

static void
test_renditions(void)
{
    const struct sl_av *av = &SHARED_AV[REND];
    char                files[MAX_FILES][PATH_MAX];
    int                 n;

    CU_ASSERT_FATAL(shared_run() == 1);
    CU_ASSERT(SH.pub_ended[REND]);
    CU_ASSERT(SH.closed[REND]);
    CU_ASSERT(SH.stopped);

    n = list_flv(SH.dir[REND], "rend-cam-", files, MAX_FILES);
    CU_ASSERT(n == 1);
    n = list_flv(SH.dir[REND], "rend-cam_120p-", files, MAX_FILES);
    IT_EXPECT_LOGS(n == 1, SH.srv.log, NULL);
    if (n >= 1) {
        struct sl_probe pr;

        CU_ASSERT(name_ok(files[0], "rend-cam_120p-"));
        CU_ASSERT_FATAL(sl_probe_file(files[0], &pr) == 0);
        sl_probe_print("rung recording", &pr);
        CU_ASSERT(pr.ok);
        CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
        CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
        CU_ASSERT_EQUAL(pr.width, 160);
        CU_ASSERT_EQUAL(pr.height, 120);
        CU_ASSERT(pr.first_video_key);
        CU_ASSERT(pr.video_packets > (long) av->fps * av->seconds / 2);
    }
}

/* After each test: whatever it left running goes.  The folders stay
 * until the suite ends: tests 1, 2 and 5 read the shared server's. */
static void
after_test(void)
{
    sl_proc_kill_all();
}

void
sl_itest_suite_record(void)
{
    CU_pSuite s = sl_itest_suite_shared("record", NULL, after_test);

    CU_add_test(s, "one publication: one named file, every frame, all of it",
                test_one_file);
    CU_add_test(s,
                "record_segment = 2s: files start at keyframes, hold "
                "every frame",
                test_segments);
    CU_add_test(s, "SIGKILL: the file reads up to the kill", test_sigkill);
    CU_add_test(s, "disk full: recording stops, players unaffected",
                test_disk_full);
    CU_add_test(s, "record_renditions: a file per rung", test_renditions);
}
