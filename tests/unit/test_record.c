/*
 * Recording (record/): file names, segment decisions, the queue's bound
 * and drop-to-keyframe policy, FLV framing and write errors, the config
 * keys, and the whole recorder fed through a real hub (publisher calls
 * on this thread standing in for a session) with files read back.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/buf.h"
#include "record/flvw.h"
#include "record/recorder.h"
#include "record/recq.h"
#include "record/segment.h"
#include "rtmp/rtmp.h"
#include "server/config.h"
#include "server/hub.h"

/* ---- message bodies as a publisher sends them ---- */

static struct sl_buf *
body(const uint8_t *head, size_t n, size_t total)
{
    struct sl_buf *b = sl_buf_new(total);

    memset(b->data, 0xab, total);
    memcpy(b->data, head, n);
    b->len = (uint32_t) total;
    return b;
}

static struct sl_buf *
vkey(size_t len)
{
    static const uint8_t h[] = {0x17, 0x01, 0, 0, 0};

    return body(h, sizeof(h), len);
}

static struct sl_buf *
vinter(size_t len)
{
    static const uint8_t h[] = {0x27, 0x01, 0, 0, 0};

    return body(h, sizeof(h), len);
}

static struct sl_buf *
vseq(uint8_t version)
{
    const uint8_t h[] = {0x17, 0x00, 0, 0, 0, 1, 0x64, 0, 0x1f, version};

    return body(h, sizeof(h), sizeof(h));
}

static struct sl_buf *
aseq(void)
{
    static const uint8_t h[] = {0xaf, 0x00, 0x12, 0x10};

    return body(h, sizeof(h), sizeof(h));
}

static struct sl_buf *
aframe(size_t len)
{
    static const uint8_t h[] = {0xaf, 0x01};

    return body(h, sizeof(h), len);
}

static struct sl_buf *
meta(void)
{
    static const uint8_t h[] = {2,   0,   10,  'o', 'n', 'M', 'e',
                                't', 'a', 'D', 'a', 't', 'a', 8,
                                0,   0,   0,   0,   0,   0,   9};

    return body(h, sizeof(h), sizeof(h));
}

/* Pushes a new body and drops the test's reference. */
static int
push(struct sl_recq *q, uint8_t type, int64_t ts, struct sl_buf *b)
{
    int rc = sl_recq_push(q, type, ts, b);

    sl_buf_unref(b);
    return rc;
}

/* ---- names ---- */

static void
test_file_name(void)
{
    char out[256];

    CU_ASSERT(sl_seg_file_name(out, sizeof(out), "/r", "live", "cam", 0, 0) >
              0);
    CU_ASSERT_STRING_EQUAL(out, "/r/live-cam-19700101-000000.flv");
    /* 2024-02-29 23:59:58 UTC, second try. */
    sl_seg_file_name(out, sizeof(out), "rec", "live", "cam_240p", 1709251198,
                     2);
    CU_ASSERT_STRING_EQUAL(out, "rec/live-cam_240p-20240229-235958-2.flv");
    /* A name never leaves the folder. */
    sl_seg_file_name(out, sizeof(out), "/r", "a", "../x/y z", 0, 0);
    CU_ASSERT_STRING_EQUAL(out, "/r/a-.._x_y_z-19700101-000000.flv");
    CU_ASSERT_EQUAL(sl_seg_file_name(out, 20, "/r", "live", "cam", 0, 0),
                    -ENAMETOOLONG);
}

/* ---- segment decisions ---- */

static void
test_segment_video(void)
{
    struct sl_seg s = {.segment_ms = 2000};

    sl_seg_video_header(&s);
    /* Nothing before the first keyframe. */
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 90), SL_SEG_SKIP);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO, 100), SL_SEG_SKIP);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO_KEY, 140), SL_SEG_OPEN);
    CU_ASSERT_EQUAL(s.start_ts, 140);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 130), SL_SEG_WRITE);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO, 180), SL_SEG_WRITE);
    /* A keyframe before the segment is over stays in the file... */
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO_KEY, 1140), SL_SEG_WRITE);
    /* ...and time alone never cuts a stream with video. */
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO, 2500), SL_SEG_WRITE);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 2600), SL_SEG_WRITE);
    /* The first keyframe at or after start + segment cuts. */
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO_KEY, 2140), SL_SEG_OPEN);
    CU_ASSERT_EQUAL(s.start_ts, 2140);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO_KEY, 4139), SL_SEG_WRITE);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO_KEY, 4140), SL_SEG_OPEN);
    /* After a write error the next file waits for a keyframe again. */
    sl_seg_closed(&s);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO, 4200), SL_SEG_SKIP);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO_KEY, 4300), SL_SEG_OPEN);
}

static void
test_segment_audio_only(void)
{
    struct sl_seg s = {.segment_ms = 1500};

    /* No video header: audio is held until one second shows there is
     * no video, then the file starts with the held frames. */
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 0), SL_SEG_HOLD);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 500), SL_SEG_HOLD);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 999), SL_SEG_HOLD);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 1000), SL_SEG_OPEN);
    CU_ASSERT_EQUAL(s.start_ts, 0);
    CU_ASSERT_FALSE(s.file_video);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 1499), SL_SEG_WRITE);
    /* Audio-only files cut on time. */
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 1500), SL_SEG_OPEN);
    CU_ASSERT_EQUAL(s.start_ts, 1500);
    /* Video that begins late starts a file of its own at its keyframe;
     * inter frames before it have no place. */
    sl_seg_video_header(&s);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO, 1600), SL_SEG_SKIP);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 1610), SL_SEG_WRITE);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO_KEY, 1640), SL_SEG_OPEN);
    CU_ASSERT(s.file_video);
}

static void
test_segment_late_video_header(void)
{
    struct sl_seg s = {.segment_ms = 1000};

    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 0), SL_SEG_HOLD);
    /* The video header shows up within the second: the held audio is
     * dropped and the file starts at the keyframe. */
    sl_seg_video_header(&s);
    CU_ASSERT_FALSE(s.holding);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_AUDIO, 1200), SL_SEG_SKIP);
    CU_ASSERT_EQUAL(sl_seg_next(&s, SL_SEG_VIDEO_KEY, 1240), SL_SEG_OPEN);
    CU_ASSERT_EQUAL(s.start_ts, 1240);
}

/* ---- the queue ---- */

static void
test_queue_classify(void)
{
    struct sl_buf *b;

    b = vkey(64);
    CU_ASSERT_EQUAL(sl_recq_classify(SL_MSG_VIDEO, b), SL_RECQ_VKEY);
    sl_buf_unref(b);
    b = vinter(64);
    CU_ASSERT_EQUAL(sl_recq_classify(SL_MSG_VIDEO, b), SL_RECQ_VIDEO);
    sl_buf_unref(b);
    b = vseq(1);
    CU_ASSERT_EQUAL(sl_recq_classify(SL_MSG_VIDEO, b), SL_RECQ_VSEQ);
    sl_buf_unref(b);
    b = aseq();
    CU_ASSERT_EQUAL(sl_recq_classify(SL_MSG_AUDIO, b), SL_RECQ_ASEQ);
    sl_buf_unref(b);
    b = aframe(20);
    CU_ASSERT_EQUAL(sl_recq_classify(SL_MSG_AUDIO, b), SL_RECQ_AUDIO);
    sl_buf_unref(b);
    b = meta();
    CU_ASSERT_EQUAL(sl_recq_classify(SL_MSG_DATA_AMF0, b), SL_RECQ_META);
    sl_buf_unref(b);
    /* End of sequence: not a frame. */
    b = body((const uint8_t[]){0x17, 0x02, 0, 0, 0}, 5, 5);
    CU_ASSERT_EQUAL(sl_recq_classify(SL_MSG_VIDEO, b), -1);
    sl_buf_unref(b);
}

static void
test_queue_bound(void)
{
    struct sl_recq q;
    struct sl_list out;
    long           live = sl_buf_live_count();
    int            queued = 0;

    /* By messages. */
    sl_recq_init(&q, 10, 1 << 20);
    for (int i = 0; i < 15; i++)
        queued += push(&q, SL_MSG_AUDIO, i * 23, aframe(100));
    CU_ASSERT_EQUAL(queued, 10);
    CU_ASSERT_EQUAL(q.n, 10);
    CU_ASSERT_EQUAL(q.dropped, 5);
    sl_recq_clear(&q);

    /* By bytes: 1000-byte frames in 4500 bytes. */
    sl_recq_init(&q, 100, 4500);
    queued = 0;
    for (int i = 0; i < 10; i++)
        queued += push(&q, SL_MSG_AUDIO, i * 23, aframe(1000));
    CU_ASSERT_EQUAL(queued, 4);
    CU_ASSERT(q.bytes <= 4500);
    CU_ASSERT_EQUAL(q.dropped, 6);
    /* Taking empties it; room again. */
    sl_list_init(&out);
    sl_recq_take(&q, &out);
    CU_ASSERT_EQUAL(q.n, 0);
    CU_ASSERT_EQUAL(q.bytes, 0);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_AUDIO, 300, aframe(1000)), 1);
    sl_recq_free_list(&out);
    sl_recq_clear(&q);
    CU_ASSERT_EQUAL(sl_buf_live_count(), live);
}

static void
test_queue_drop_to_keyframe(void)
{
    struct sl_recq       q;
    struct sl_list       out;
    struct sl_recq_item *it;
    long                 live = sl_buf_live_count();

    sl_recq_init(&q, 4, 1 << 20);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 0, vkey(100)), 1);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 40, vinter(100)), 1);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 80, vinter(100)), 1);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 120, vinter(100)), 1);
    /* Full: this inter frame goes, and so does every one after it, even
     * once the writer made room... */
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 160, vinter(100)), 0);
    sl_list_init(&out);
    sl_recq_take(&q, &out);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 200, vinter(100)), 0);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 240, vinter(100)), 0);
    /* ...while audio, which needs no keyframe, goes on. */
    CU_ASSERT_EQUAL(push(&q, SL_MSG_AUDIO, 250, aframe(50)), 1);
    CU_ASSERT_EQUAL(q.dropped, 3);
    /* The next keyframe resumes video. */
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 280, vkey(100)), 1);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 320, vinter(100)), 1);
    CU_ASSERT_EQUAL(q.dropped, 3);
    sl_recq_free_list(&out);
    sl_recq_take(&q, &out);
    it = sl_list_entry(out.next, struct sl_recq_item, link);
    CU_ASSERT_EQUAL(it->kind, SL_RECQ_AUDIO);
    it = sl_list_entry(it->link.next, struct sl_recq_item, link);
    CU_ASSERT_EQUAL(it->kind, SL_RECQ_VKEY);
    CU_ASSERT_EQUAL(it->ts, 280);
    sl_recq_free_list(&out);

    /* A keyframe that does not fit is dropped too: video waits for the
     * next one. */
    for (int i = 0; i < 4; i++)
        push(&q, SL_MSG_AUDIO, 400 + i, aframe(10));
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 440, vkey(100)), 0);
    sl_recq_take(&q, &out);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 480, vinter(100)), 0);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 520, vkey(100)), 1);
    sl_recq_free_list(&out);
    sl_recq_clear(&q);
    CU_ASSERT_EQUAL(sl_buf_live_count(), live);
}

static void
test_queue_headers(void)
{
    struct sl_recq       q;
    struct sl_list       out;
    struct sl_recq_item *it;
    int                  kinds[8], n = 0;
    long                 live = sl_buf_live_count();

    sl_recq_init(&q, 2, 1 << 20);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_DATA_AMF0, 0, meta()), 1);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 0, vseq(1)), 1);
    /* The same header again (a tap's replay): not queued. */
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 0, vseq(1)), 0);
    /* Headers may pass the bound by a little. */
    CU_ASSERT_EQUAL(push(&q, SL_MSG_AUDIO, 0, aseq()), 1);
    for (int i = 0; i < SL_RECQ_HDR_SLACK - 1; i++)
        CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 0, vseq((uint8_t) (2 + i))), 1);
    /* Past the slack a new header is dropped: video stops, and the
     * latest headers are queued again before the keyframe video
     * resumes at. */
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 0, vseq(99)), 0);
    CU_ASSERT(q.resend_headers);
    sl_list_init(&out);
    sl_recq_take(&q, &out);
    sl_recq_free_list(&out);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 40, vinter(50)), 0);
    CU_ASSERT_EQUAL(push(&q, SL_MSG_VIDEO, 80, vkey(50)), 1);
    CU_ASSERT_FALSE(q.resend_headers);
    sl_recq_take(&q, &out);
    for (struct sl_list *l = out.next; l != &out && n < 8; l = l->next) {
        it = sl_list_entry(l, struct sl_recq_item, link);
        kinds[n++] = it->kind;
        if (it->kind == SL_RECQ_VSEQ)
            CU_ASSERT_EQUAL(it->buf->data[9], 99);
    }
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(kinds[0], SL_RECQ_META);
    CU_ASSERT_EQUAL(kinds[1], SL_RECQ_VSEQ);
    CU_ASSERT_EQUAL(kinds[2], SL_RECQ_ASEQ);
    CU_ASSERT_EQUAL(kinds[3], SL_RECQ_VKEY);
    sl_recq_free_list(&out);
    sl_recq_clear(&q);
    CU_ASSERT_EQUAL(sl_buf_live_count(), live);
}

/* ---- FLV framing ---- */

static void
test_flv_framing(void)
{
    uint8_t h[SL_FLV_FILE_HDR], t[SL_FLV_TAG_HDR], tail[SL_FLV_TAG_TAIL];
    static const uint8_t want_h[] = {'F', 'L', 'V', 1, 5, 0, 0,
                                     0,   9,   0,   0, 0, 0};
    static const uint8_t want_t[] = {9,    0,    1, 0, 0x34, 0x56,
                                     0x78, 0x12, 0, 0, 0};
    static const uint8_t want_tail[] = {0, 0, 1, 11};

    sl_flv_file_header(h, 1, 1);
    CU_ASSERT(!memcmp(h, want_h, sizeof(h)));
    sl_flv_file_header(h, 1, 0);
    CU_ASSERT_EQUAL(h[4], 4);
    /* 256-byte video body at 0x12345678 ms: the top byte goes in the
     * extension. */
    sl_flv_tag_header(t, 9, 256, 0x12345678);
    CU_ASSERT(!memcmp(t, want_t, sizeof(t)));
    sl_flv_tag_trailer(tail, 256);
    CU_ASSERT(!memcmp(tail, want_tail, sizeof(tail)));
}

static void
test_flv_write_errors(void)
{
    uint8_t body[64] = {0xaf, 0x01};
    int     fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

    if (fd < 0)
        return; /* no /dev/full in this sandbox */
    CU_ASSERT_EQUAL(sl_flvw_write_tag(fd, 8, 0, body, sizeof(body)), -ENOSPC);
    CU_ASSERT_EQUAL(sl_flvw_write_all(fd, body, 4), -ENOSPC);
    close(fd);
    CU_ASSERT_EQUAL(sl_flvw_write_tag(-1, 8, 0, body, SL_FLV_MAX_BODY + 1),
                    -EMSGSIZE);
}

/* ---- config ---- */

static char tmp_root[64];

static void
make_root(void)
{
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/sl-record-XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(tmp_root) != NULL);
}

static void
remove_tree(const char *dir)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    char           p[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%.250s/%.255s", dir, e->d_name);
        if (unlink(p) < 0)
            remove_tree(p);
    }
    closedir(d);
    rmdir(dir);
}

static struct sl_config *
load_text(const char *text, char *err, size_t cap)
{
    char  ini[128];
    FILE *f;

    snprintf(ini, sizeof(ini), "%s/t.ini", tmp_root);
    f = fopen(ini, "w");
    if (f == NULL)
        return NULL;
    fputs(text, f);
    fclose(f);
    return sl_config_load(ini, err, cap);
}

static void
test_config_keys(void)
{
    char                        err[512], dir[128], want[160];
    struct sl_config           *c;
    const struct sl_app_config *a;

    make_root();
    snprintf(dir, sizeof(dir), "%s/rec", tmp_root);
    CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);

    c = load_text("[app:live]\n", err, sizeof(err));
    CU_ASSERT_FATAL(c != NULL);
    a = sl_config_app(c, "live");
    CU_ASSERT_STRING_EQUAL(a->record_dir, "");
    CU_ASSERT_EQUAL(a->record_renditions, 0);
    CU_ASSERT_EQUAL(a->record_segment_ms, 3600 * 1000);
    sl_config_unref(c);

    /* A relative folder is the config's folder's. */
    c = load_text("[app:live]\nrecord = rec\nrecord_renditions = on\n"
                  "record_segment = 2s\n",
                  err, sizeof(err));
    CU_ASSERT_FATAL(c != NULL);
    a = sl_config_app(c, "live");
    snprintf(want, sizeof(want), "%s/rec", tmp_root);
    CU_ASSERT_STRING_EQUAL(a->record_dir, want);
    CU_ASSERT_EQUAL(a->record_renditions, 1);
    CU_ASSERT_EQUAL(a->record_segment_ms, 2000);
    sl_config_unref(c);

    c = load_text("[app:live]\nrecord = off\n", err, sizeof(err));
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_STRING_EQUAL(sl_config_app(c, "live")->record_dir, "");
    sl_config_unref(c);

    /* Problems name the file and line. */
    CU_ASSERT_PTR_NULL(
        load_text("[app:live]\n\nrecord = nowhere\n", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:3: record: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file or directory"));
    CU_ASSERT_PTR_NULL(
        load_text("[app:live]\nrecord = t.ini\n", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a directory"));
    CU_ASSERT_PTR_NULL(
        load_text("[app:live]\nrecord_segment = 500ms\n", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:2: record_segment"));
    CU_ASSERT_PTR_NULL(
        load_text("[app:live]\nrecord_renditions = maybe\n", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:2: record_renditions"));
    if (geteuid() != 0) {
        /* root writes anywhere, so only a user sees this one */
        chmod(dir, 0555);
        CU_ASSERT_PTR_NULL(
            load_text("[app:live]\nrecord = rec\n", err, sizeof(err)));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "not writable"));
        chmod(dir, 0755);
    }
    remove_tree(tmp_root);
}

/* ---- the recorder fed through a hub ---- */

struct tag {
    uint8_t  type;
    uint32_t ts, len;
    uint8_t  b0, b1; /* the body's first two bytes */
};

/* Reads an FLV file's tags (at most max); -1 when it is not one. */
static int
read_tags(const char *path, struct tag *out, int max)
{
    FILE   *f = fopen(path, "rb");
    uint8_t h[SL_FLV_FILE_HDR], t[SL_FLV_TAG_HDR];
    int     n = 0;

    if (f == NULL)
        return -1;
    if (fread(h, 1, sizeof(h), f) != sizeof(h) || memcmp(h, "FLV\1", 4)) {
        fclose(f);
        return -1;
    }
    while (n < max && fread(t, 1, sizeof(t), f) == sizeof(t)) {
        struct tag *g = &out[n];
        uint8_t     b[2] = {0, 0}, tail[4];

        g->type = t[0];
        g->len = (uint32_t) t[1] << 16 | (uint32_t) t[2] << 8 | t[3];
        g->ts = (uint32_t) t[7] << 24 | (uint32_t) t[4] << 16 |
                (uint32_t) t[5] << 8 | t[6];
        if (g->len >= 2 && fread(b, 1, 2, f) != 2)
            break;
        if (fseek(f, (long) g->len - (g->len >= 2 ? 2 : 0), SEEK_CUR) < 0 ||
            fread(tail, 1, 4, f) != 4)
            break;
        g->b0 = b[0];
        g->b1 = b[1];
        n++;
    }
    fclose(f);
    return n;
}

/* The names of the .flv files in dir, sorted, into names (at most
 * max); the count. */
static int
list_files(const char *dir, char names[][256], int max)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    int            n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL && n < max)
        if (strstr(e->d_name, ".flv") != NULL)
            snprintf(names[n++], 256, "%.60s/%.190s", dir, e->d_name);
    closedir(d);
    qsort(names, (size_t) n, 256, (int (*)(const void *, const void *)) strcmp);
    return n;
}

static struct sl_hub *
start_hub(uint32_t segment_ms)
{
    struct sl_hub_limits  lim = {.chunk_size = 4096,
                                 .gop_cache = 1,
                                 .gop_max_msgs = 4096,
                                 .gop_max_bytes = 8 << 20};
    struct sl_config     *c = sl_config_defaults();
    struct sl_app_config *a = &c->apps[c->napps++];

    memset(a, 0, sizeof(*a));
    snprintf(a->name, sizeof(a->name), "live");
    snprintf(a->record_dir, sizeof(a->record_dir), "%s", tmp_root);
    a->record_segment_ms = segment_ms;
    sl_config_set(c);
    return sl_hub_new(&lim);
}

/* 25 fps video with a keyframe every 500 ms and 23 ms audio frames for
 * ms milliseconds, in time order, after metadata and headers. */
static void
feed(struct sl_stream *s, int ms)
{
    struct sl_buf *b;
    int            a = 0;

    b = meta();
    sl_hub_media(s, SL_MSG_DATA_AMF0, 0, b, 0);
    sl_buf_unref(b);
    b = vseq(1);
    sl_hub_media(s, SL_MSG_VIDEO, 0, b, 0);
    sl_buf_unref(b);
    b = aseq();
    sl_hub_media(s, SL_MSG_AUDIO, 0, b, 0);
    sl_buf_unref(b);
    for (int t = 0; t < ms; t += 40) {
        for (; a <= t; a += 23) {
            b = aframe(200);
            sl_hub_media(s, SL_MSG_AUDIO, (uint32_t) a, b, 0);
            sl_buf_unref(b);
        }
        b = t % 500 == 0 ? vkey(3000) : vinter(800);
        sl_hub_media(s, SL_MSG_VIDEO, (uint32_t) t, b, 0);
        sl_buf_unref(b);
    }
}

static void
test_recorder_files(void)
{
    struct sl_hub      *hub;
    struct sl_recorder *r;
    struct sl_stream   *s;
    char                names[8][256];
    struct tag          tags[512];
    long                live = sl_buf_live_count();
    int                 n, nt, video = 0, keys_at_start = 0, pub = 1;

    make_root();
    hub = start_hub(1000);
    r = sl_recorder_new(hub);
    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_FATAL(sl_hub_publish(hub, "live", "cam", &pub, &s) == 0);
    /* 0..2960 ms: keyframes at 0, 500, ... 2500; with 1 s segments
     * files start at 0, 1000 and 2000. */
    feed(s, 3000);
    sl_hub_unpublish(s, &pub);
    sl_recorder_free(r);
    sl_hub_free(hub);
    sl_config_set(NULL);

    n = list_files(tmp_root, names, 8);
    CU_ASSERT_EQUAL(n, 3);
    for (int i = 0; i < n; i++) {
        nt = read_tags(names[i], tags, 512);
        CU_ASSERT_FATAL(nt >= 5);
        /* onMetaData, AVC header, AAC header, then a keyframe at 0. */
        CU_ASSERT_EQUAL(tags[0].type, 18);
        CU_ASSERT_EQUAL(tags[1].type, 9);
        CU_ASSERT_EQUAL(tags[1].b1, 0);
        CU_ASSERT_EQUAL(tags[2].type, 8);
        CU_ASSERT_EQUAL(tags[2].b1, 0);
        CU_ASSERT_EQUAL(tags[3].type, 9);
        CU_ASSERT_EQUAL(tags[3].b0, 0x17);
        CU_ASSERT_EQUAL(tags[3].ts, 0);
        keys_at_start += tags[3].b0 == 0x17;
        for (int k = 3; k < nt; k++) {
            video += tags[k].type == 9;
            CU_ASSERT(tags[k].ts < 1100);
        }
    }
    CU_ASSERT_EQUAL(keys_at_start, 3);
    CU_ASSERT_EQUAL(video, 75); /* every frame, in exactly one file */
    remove_tree(tmp_root);
    CU_ASSERT_EQUAL(sl_buf_live_count(), live);
}

static void
test_recorder_write_error(void)
{
    struct sl_hub      *hub;
    struct sl_recorder *r;
    struct sl_stream   *s;
    char                names[8][256];
    long                live = sl_buf_live_count();
    int                 pub = 1;

    /* A folder that vanished after the config was loaded: the recording
     * stops with a log line, the stream goes on, nothing leaks. */
    make_root();
    hub = start_hub(1000);
    rmdir(tmp_root);
    r = sl_recorder_new(hub);
    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_FATAL(sl_hub_publish(hub, "live", "cam", &pub, &s) == 0);
    feed(s, 1000);
    sl_hub_unpublish(s, &pub);
    sl_recorder_free(r);
    sl_hub_free(hub);
    sl_config_set(NULL);
    CU_ASSERT_EQUAL(list_files(tmp_root, names, 8), 0);
    CU_ASSERT_EQUAL(sl_buf_live_count(), live);
}

void
sl_test_suite_record(void)
{
    CU_pSuite s = CU_add_suite("record", NULL, NULL);

    CU_add_test(s, "file names: UTC time, -N, safe characters", test_file_name);
    CU_add_test(s, "segments: cut at the first keyframe after the length",
                test_segment_video);
    CU_add_test(s, "segments: audio-only held 1 s, then cut on time",
                test_segment_audio_only);
    CU_add_test(s, "segments: a late video header drops held audio",
                test_segment_late_video_header);
    CU_add_test(s, "queue: message kinds", test_queue_classify);
    CU_add_test(s, "queue: bounded by messages and bytes", test_queue_bound);
    CU_add_test(s, "queue: full drops video to the next keyframe",
                test_queue_drop_to_keyframe);
    CU_add_test(s, "queue: headers deduplicated, re-sent after a loss",
                test_queue_headers);
    CU_add_test(s, "FLV framing: header, tag, previous size", test_flv_framing);
    CU_add_test(s, "FLV writes: ENOSPC and oversize bodies",
                test_flv_write_errors);
    CU_add_test(s, "config: record, record_renditions, record_segment",
                test_config_keys);
    CU_add_test(s, "recorder: segments through a hub, every frame once",
                test_recorder_files);
    CU_add_test(s, "recorder: a folder it cannot write stops the recording",
                test_recorder_write_error);
}
