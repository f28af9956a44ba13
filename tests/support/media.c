/*
 * ffmpeg publishers and players, and ffprobe's view of a file.  See
 * media.h.
 */
#include "tests/support/media.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_TIMEOUT_S 30

int
sl_ffmpeg_publish(struct sl_proc *p, const char *url, const struct sl_av *av,
                  const char *log)
{
    char  vsrc[128], asrc[96], gop[16], qp[16];
    char *argv[40];
    int   n = 0;

    snprintf(vsrc, sizeof(vsrc), "testsrc2=size=%dx%d:rate=%d:duration=%d",
             av->width, av->height, av->fps, av->seconds);
    snprintf(asrc, sizeof(asrc),
             "sine=frequency=440:sample_rate=44100:duration=%d", av->seconds);
    snprintf(gop, sizeof(gop), "%d", av->gop);
    snprintf(qp, sizeof(qp), "%d", av->qp);
    argv[n++] = "ffmpeg";
    argv[n++] = "-hide_banner";
    argv[n++] = "-nostdin";
    argv[n++] = "-loglevel";
    argv[n++] = "warning";
    argv[n++] = "-re";
    argv[n++] = "-f";
    argv[n++] = "lavfi";
    argv[n++] = "-i";
    argv[n++] = vsrc;
    argv[n++] = "-re";
    argv[n++] = "-f";
    argv[n++] = "lavfi";
    argv[n++] = "-i";
    argv[n++] = asrc;
    argv[n++] = "-c:v";
    argv[n++] = "libx264";
    argv[n++] = "-preset";
    argv[n++] = "ultrafast";
    argv[n++] = "-tune";
    argv[n++] = "zerolatency";
    argv[n++] = "-pix_fmt";
    argv[n++] = "yuv420p";
    argv[n++] = "-g";
    argv[n++] = gop;
    if (av->qp > 0) {
        argv[n++] = "-qp";
        argv[n++] = qp;
    }
    argv[n++] = "-c:a";
    argv[n++] = "aac";
    argv[n++] = "-b:a";
    argv[n++] = "64k";
    argv[n++] = "-f";
    argv[n++] = "flv";
    argv[n++] = (char *) url;
    argv[n] = NULL;
    return sl_proc_spawn(p, argv, log, log);
}

int
sl_ffmpeg_play(struct sl_proc *p, const char *url, const char *out,
               const char *log)
{
    char *argv[] = {
        "ffmpeg", "-hide_banner", "-nostdin",   "-loglevel", "warning",
        "-y",     "-i",           (char *) url, "-c",        "copy",
        "-f",     "flv",          (char *) out, NULL};

    return sl_proc_spawn(p, argv, log, log);
}

/* The value of key in a compact "k=v|k=v" line into out, or "". */
static void
field(const char *line, const char *key, char *out, size_t cap)
{
    size_t      klen = strlen(key);
    const char *p = line;

    out[0] = '\0';
    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *v = p + klen + 1;
            size_t      n = strcspn(v, "|\n");

            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return;
        }
        p = strchr(p, '|');
        if (p != NULL)
            p++;
    }
}

static int
run_probe(const char *file, const char *entries, const char *out)
{
    char  err[PATH_MAX + 16];
    char *argv[] = {"ffprobe",
                    "-v",
                    "error",
                    "-show_entries",
                    (char *) entries,
                    "-of",
                    "compact=p=0",
                    (char *) file,
                    NULL};

    snprintf(err, sizeof(err), "%s.err", out);
    return sl_proc_run(argv, out, err, PROBE_TIMEOUT_S * sl_time_scale());
}

int
sl_probe_file(const char *file, struct sl_probe *pr)
{
    char  sout[PATH_MAX + 16], pout[PATH_MAX + 16], v[64];
    char *text, *save = NULL;
    long  last_v = LONG_MIN, last_a = LONG_MIN;
    int   rc;

    memset(pr, 0, sizeof(*pr));
    pr->video_dts_monotonic = 1;
    pr->audio_dts_monotonic = 1;
    pr->first_video_dts = -1;
    snprintf(sout, sizeof(sout), "%s.streams", file);
    snprintf(pout, sizeof(pout), "%s.packets", file);
    rc = run_probe(file, "stream=codec_type,codec_name,width,height", sout);
    if (rc != 0)
        return rc < 0 ? rc : -EINVAL;
    rc = run_probe(file, "packet=codec_type,dts,flags", pout);
    if (rc != 0)
        return rc < 0 ? rc : -EINVAL;
    pr->ok = 1;

    text = sl_read_file(sout);
    if (text == NULL)
        return -EIO;
    for (char *l = strtok_r(text, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        field(l, "codec_type", v, sizeof(v));
        if (!strcmp(v, "video") && pr->vcodec[0] == '\0') {
            field(l, "codec_name", pr->vcodec, sizeof(pr->vcodec));
            field(l, "width", v, sizeof(v));
            pr->width = atoi(v);
            field(l, "height", v, sizeof(v));
            pr->height = atoi(v);
        } else if (!strcmp(v, "audio") && pr->acodec[0] == '\0') {
            field(l, "codec_name", pr->acodec, sizeof(pr->acodec));
        }
    }
    free(text);

    text = sl_read_file(pout);
    if (text == NULL)
        return -EIO;
    save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        char type[16], flags[16];
        long dts;

        field(l, "codec_type", type, sizeof(type));
        field(l, "dts", v, sizeof(v));
        field(l, "flags", flags, sizeof(flags));
        dts = strcmp(v, "N/A") ? atol(v) : LONG_MIN;
        if (!strcmp(type, "video")) {
            if (pr->video_packets == 0) {
                pr->first_video_key = strchr(flags, 'K') != NULL;
                pr->first_video_dts = dts;
            }
            if (dts < last_v)
                pr->video_dts_monotonic = 0;
            last_v = dts;
            pr->video_packets++;
        } else if (!strcmp(type, "audio")) {
            if (dts < last_a)
                pr->audio_dts_monotonic = 0;
            last_a = dts;
            pr->audio_packets++;
        }
    }
    free(text);
    return 0;
}

void
sl_probe_print(const char *what, const struct sl_probe *pr)
{
    fprintf(stderr,
            "  %s: video %s %dx%d %ld packets (first key %d, monotonic %d), "
            "audio %s %ld packets (monotonic %d)\n",
            what, pr->vcodec[0] ? pr->vcodec : "-", pr->width, pr->height,
            pr->video_packets, pr->first_video_key, pr->video_dts_monotonic,
            pr->acodec[0] ? pr->acodec : "-", pr->audio_packets,
            pr->audio_dts_monotonic);
}

int
sl_within_pct(long got, long want, double pct)
{
    return fabs((double) got - (double) want) <= (double) want * pct / 100.0;
}

int
sl_ffmpeg_spawn(struct sl_proc *p, const char *const args[], const char *log)
{
    static const char *const head[] = {"ffmpeg", "-hide_banner", "-nostdin",
                                       "-loglevel", "warning"};
    enum { NHEAD = sizeof(head) / sizeof(head[0]), MAX_ARGS = 96 };
    char  *argv[MAX_ARGS];
    size_t n = 0;

    for (size_t i = 0; i < NHEAD; i++)
        argv[n++] = (char *) head[i];
    for (size_t i = 0; args[i] != NULL; i++) {
        if (n + 1 >= MAX_ARGS)
            return -E2BIG;
        argv[n++] = (char *) args[i];
    }
    argv[n] = NULL;
    return sl_proc_spawn(p, argv, log, log);
}

int
sl_ffmpeg_record(struct sl_proc *p, const char *url, const char *out,
                 const char *log)
{
    const char *args[] = {"-y",   "-copyts", "-i",  url, "-c",
                          "copy", "-f",      "flv", out, NULL};

    return sl_ffmpeg_spawn(p, args, log);
}

static long
parse_ts(const char *v)
{
    return v[0] != '\0' && strcmp(v, "N/A") != 0 ? atol(v) : LONG_MIN;
}

int
sl_probe_packets(const char *file, struct sl_pkts *out)
{
    char   path[PATH_MAX + 16], v[64];
    char  *text, *save = NULL;
    size_t cap = 0;
    int    rc;

    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "%s.pktlist", file);
    rc = run_probe(file, "packet=codec_type,pts,dts,size,flags", path);
    if (rc != 0)
        return rc < 0 ? rc : -EINVAL;
    text = sl_read_file(path);
    if (text == NULL)
        return -EIO;
    for (char *l = strtok_r(text, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        struct sl_pkt k;

        if (strstr(l, "codec_type=") == NULL)
            continue;
        field(l, "codec_type", v, sizeof(v));
        k.type = !strcmp(v, "video") ? 'v' : !strcmp(v, "audio") ? 'a' : '?';
        field(l, "flags", v, sizeof(v));
        k.key = strchr(v, 'K') != NULL;
        field(l, "pts", v, sizeof(v));
        k.pts = parse_ts(v);
        field(l, "dts", v, sizeof(v));
        k.dts = parse_ts(v);
        field(l, "size", v, sizeof(v));
        k.size = atol(v);
        if (out->n == cap) {
            size_t         ncap = cap ? cap * 2 : 1024;
            struct sl_pkt *np = realloc(out->p, ncap * sizeof(*np));

            if (np == NULL) {
                free(text);
                sl_pkts_free(out);
                return -ENOMEM;
            }
            out->p = np;
            cap = ncap;
        }
        out->p[out->n++] = k;
    }
    free(text);
    return 0;
}

void
sl_pkts_free(struct sl_pkts *pk)
{
    free(pk->p);
    pk->p = NULL;
    pk->n = 0;
}

size_t
sl_pkts_span(const struct sl_pkts *pk, char type, long *first, long *last)
{
    size_t count = 0;

    for (size_t i = 0; i < pk->n; i++) {
        const struct sl_pkt *k = &pk->p[i];

        if (k->type != type || k->pts == LONG_MIN)
            continue;
        if (count == 0 || k->pts < *first)
            *first = k->pts;
        if (count == 0 || k->pts > *last)
            *last = k->pts;
        count++;
    }
    return count;
}

size_t
sl_pkts_keyframes(const struct sl_pkts *pk, long *out, size_t cap)
{
    size_t count = 0;

    for (size_t i = 0; i < pk->n; i++) {
        const struct sl_pkt *k = &pk->p[i];

        if (k->type != 'v' || !k->key || k->pts == LONG_MIN)
            continue;
        if (count < cap)
            out[count] = k->pts;
        count++;
    }
    return count;
}

double
sl_pkts_kbps(const struct sl_pkts *pk, char type, long from, long to)
{
    double bits = 0;

    if (to <= from)
        return -1;
    for (size_t i = 0; i < pk->n; i++) {
        const struct sl_pkt *k = &pk->p[i];

        if (k->type == type && k->pts != LONG_MIN && k->pts >= from &&
            k->pts < to)
            bits += 8.0 * (double) k->size;
    }
    return bits / (double) (to - from);
}

int
sl_pkts_has_pts(const struct sl_pkts *pk, char type, long pts, long tol)
{
    for (size_t i = 0; i < pk->n; i++) {
        const struct sl_pkt *k = &pk->p[i];

        if (k->type == type && k->pts != LONG_MIN && k->pts >= pts - tol &&
            k->pts <= pts + tol)
            return 1;
    }
    return 0;
}
