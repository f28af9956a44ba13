/*
 * FLV files published through the tests' RTMP client (see flvpub.h).
 */
#include "tests/support/flvpub.h"

#include <errno.h>
#include <stdio.h>

#include "tests/support/proc.h"

int
sl_flvpub_send(struct sl_rc *c, const struct sl_flv_file *files, int nfiles,
               int paced, double deadline)
{
    double   t0 = sl_now();
    uint32_t base = 0;

    for (int j = 0; j < nfiles; j++) {
        const struct sl_flv_file *f = &files[j];

        for (size_t i = 0; i < f->ntags; i++) {
            const struct sl_flv_tag *t = &f->tags[i];
            uint32_t                 ts = base + t->ts;
            double                   due = paced ? t0 + ts / 1000.0 : 0;
            uint32_t csid = t->type == 8 ? 4 : t->type == 9 ? 6 : 5;
            int      rc;

            if (t->type == 9 && t->len >= 2 && (t->body[0] & 0x0f) == 7 &&
                t->body[1] == 2)
                continue;
            if (due > deadline || sl_now() > deadline)
                return -ETIMEDOUT;
            if (due > sl_now())
                sl_sleep(due - sl_now());
            rc = sl_rc_send_msg(c, csid, t->type, 1, ts, t->body, t->len);
            if (rc < 0)
                return rc;
        }
        base += f->duration_ms;
    }
    return 0;
}

int
sl_flvpub_make(const char *out, const char *log, int w, int h, int fps,
               int seconds, int gop, double timeout_s)
{
    char  vsrc[128], asrc[96], g[16], dest[4096];
    char *argv[] = {
        "ffmpeg",   "-hide_banner", "-nostdin",  "-loglevel", "warning",
        "-y",       "-f",           "lavfi",     "-i",        vsrc,
        "-f",       "lavfi",        "-i",        asrc,        "-c:v",
        "libx264",  "-preset",      "ultrafast", "-tune",     "zerolatency",
        "-pix_fmt", "yuv420p",      "-g",        g,           "-b:v",
        "1500k",    "-c:a",         "aac",       "-b:a",      "64k",
        "-f",       "flv",          dest,        NULL};

    snprintf(vsrc, sizeof(vsrc), "testsrc2=size=%dx%d:rate=%d:duration=%d", w,
             h, fps, seconds);
    snprintf(asrc, sizeof(asrc),
             "sine=frequency=440:sample_rate=44100:duration=%d", seconds);
    snprintf(g, sizeof(g), "%d", gop);
    snprintf(dest, sizeof(dest), "%s", out);
    return sl_proc_run(argv, log, log, timeout_s);
}
