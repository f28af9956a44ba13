/*
 * FLV file loading for the bench: see flvfile.h.
 */
#include "bench/flvfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/flv.h"
#include "rtmp/rd.h"

static int
read_whole(const char *path, uint8_t **data, size_t *len)
{
    FILE    *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long     size;
    int      rc = -EIO;

    if (fp == NULL) {
        rc = -errno;
        fprintf(stderr, "sluice-bench: %s: %s\n", path, strerror(errno));
        return rc;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc(size > 0 ? (size_t) size : 1);
    if (buf == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    if (fread(buf, 1, (size_t) size, fp) != (size_t) size)
        goto out;
    *data = buf;
    *len = (size_t) size;
    buf = NULL;
    rc = 0;
out:
    if (rc == -EIO)
        fprintf(stderr, "sluice-bench: %s: read error\n", path);
    free(buf);
    fclose(fp);
    return rc;
}

/* Reads the next tag from rd into t; t->type is the whole type byte.
 * -EAGAIN when the tag is cut short (the file's last, being written). */
static int
next_tag(struct sl_rd *rd, struct sl_flv_tag *t)
{
    uint8_t type = sl_rd_u8(rd);

    t->len = sl_rd_u24(rd);
    t->ts = sl_rd_u24(rd);
    t->ts |= (uint32_t) sl_rd_u8(rd) << 24;
    sl_rd_u24(rd); /* stream id, always 0 */
    t->body = sl_rd_bytes(rd, t->len);
    sl_rd_u32(rd); /* previous tag size */
    if (rd->err)
        return -EAGAIN;
    t->type = type;
    return 0;
}

/* Appends t to f's tags, doubling the array as it fills.  0 or
 * -ENOMEM. */
static int
append_tag(struct sl_flv_file *f, size_t *cap, const struct sl_flv_tag *t)
{
    if (f->ntags == *cap) {
        size_t             ncap = *cap ? *cap * 2 : 1024;
        struct sl_flv_tag *nt = realloc(f->tags, ncap * sizeof(*nt));

        if (nt == NULL)
            return -ENOMEM;
        f->tags = nt;
        *cap = ncap;
    }
    f->tags[f->ntags++] = *t;
    return 0;
}

/* Reads every audio, video and script tag from rd into f, counting the
 * video frames, the interval between the last two and the last
 * timestamp.  0, -EPROTO (encrypted tags) or -ENOMEM. */
static int
read_tags(struct sl_flv_file *f, struct sl_rd *rd, const char *path,
          uint32_t *video_gap)
{
    size_t   cap = 0;
    uint32_t last_video_ts = 0;

    while (sl_rd_left(rd) >= 11) {
        struct sl_flv_tag  t;
        struct sl_flv_info info;

        if (next_tag(rd, &t) < 0)
            break; /* a truncated last tag */
        if (t.type & 0x20) {
            fprintf(stderr, "sluice-bench: %s: encrypted tags\n", path);
            return -EPROTO;
        }
        t.type &= 0x1f;
        if (t.type != 8 && t.type != 9 && t.type != 18)
            continue;
        sl_flv_inspect(t.type, t.body, t.len, &info);
        t.seq_header = info.seq_header;
        t.keyframe = info.keyframe;
        if (append_tag(f, &cap, &t) < 0)
            return -ENOMEM;
        if (t.type == 9 && !t.seq_header) {
            if (f->nvideo > 0 && t.ts > last_video_ts)
                *video_gap = t.ts - last_video_ts;
            last_video_ts = t.ts;
            f->nvideo++;
        }
        if (t.ts > f->duration_ms)
            f->duration_ms = t.ts;
    }
    return 0;
}

int
sl_flv_file_load(struct sl_flv_file *f, const char *path)
{
    struct sl_rd rd;
    uint32_t     hdr_size, video_gap = 0;
    int          rc;

    memset(f, 0, sizeof(*f));
    rc = read_whole(path, &f->data, &f->len);
    if (rc < 0)
        return rc;
    sl_rd_init(&rd, f->data, f->len);
    if (f->len < 13 || memcmp(f->data, "FLV", 3) != 0) {
        fprintf(stderr, "sluice-bench: %s: not an FLV file\n", path);
        goto bad;
    }
    sl_rd_bytes(&rd, 5);
    hdr_size = sl_rd_u32(&rd);
    if (hdr_size < 9 || hdr_size > f->len - 4)
        goto bad;
    sl_rd_init(&rd, f->data + hdr_size + 4, f->len - hdr_size - 4);
    rc = read_tags(f, &rd, path, &video_gap);
    if (rc == -ENOMEM) {
        sl_flv_file_free(f);
        return rc;
    }
    if (rc < 0)
        goto bad;
    if (f->nvideo < 2) {
        fprintf(stderr,
                "sluice-bench: %s: needs at least two video "
                "frames\n",
                path);
        goto bad;
    }
    f->duration_ms += video_gap ? video_gap : 40;
    return 0;
bad:
    sl_flv_file_free(f);
    return -EPROTO;
}

void
sl_flv_file_free(struct sl_flv_file *f)
{
    free(f->tags);
    free(f->data);
    memset(f, 0, sizeof(*f));
}
