#include "record/segment.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static enum sl_seg_action
open_at(struct sl_seg *s, int64_t ts, int video)
{
    s->open = 1;
    s->file_video = video;
    s->start_ts = s->holding ? s->hold_ts : ts;
    s->holding = 0;
    return SL_SEG_OPEN;
}

enum sl_seg_action
sl_seg_next(struct sl_seg *s, enum sl_seg_kind kind, int64_t ts)
{
    int due = s->open && ts - s->start_ts >= (int64_t) s->segment_ms;

    switch (kind) {
    case SL_SEG_VIDEO_KEY:
        /* A keyframe also ends an audio-only file: video began late. */
        if (!s->open || !s->file_video || due)
            return open_at(s, ts, 1);
        return SL_SEG_WRITE;
    case SL_SEG_VIDEO:
        return s->open && s->file_video ? SL_SEG_WRITE : SL_SEG_SKIP;
    case SL_SEG_AUDIO:
    default:
        if (s->open)
            return !s->file_video && due ? open_at(s, ts, 0) : SL_SEG_WRITE;
        if (s->has_video)
            return SL_SEG_SKIP; /* the file starts at a keyframe */
        if (!s->holding) {
            s->holding = 1;
            s->hold_ts = ts;
        }
        if (ts - s->hold_ts < SL_SEG_AUDIO_ONLY_MS)
            return SL_SEG_HOLD;
        return open_at(s, ts, 0);
    }
}

void
sl_seg_video_header(struct sl_seg *s)
{
    s->has_video = 1;
    s->holding = 0;
}

void
sl_seg_closed(struct sl_seg *s)
{
    s->open = 0;
    s->file_video = 0;
}

/* Copies src with every character a file name should not carry made
 * '_'. */
static void
safe_part(char *dst, size_t cap, const char *src)
{
    size_t i = 0;

    for (; src[i] != '\0' && i + 1 < cap; i++) {
        char c = src[i];

        dst[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                         c == '.'
                     ? c
                     : '_';
    }
    dst[i] = '\0';
}

int
sl_seg_file_name(char *out, size_t cap, const char *dir, const char *app,
                 const char *name, time_t t, int n)
{
    char      a[128], b[256], when[32], num[16] = "";
    struct tm tm;
    int       len;

    safe_part(a, sizeof(a), app);
    safe_part(b, sizeof(b), name);
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
    if (n > 0)
        snprintf(num, sizeof(num), "-%d", n);
    len = snprintf(out, cap, "%s/%s-%s-%s%s.flv", dir, a, b, when, num);
    if (len < 0 || (size_t) len >= cap)
        return -ENAMETOOLONG;
    return len;
}
