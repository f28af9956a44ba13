/*
 * A rung's picture size for a given source: the rung's box (width and/or
 * height) with the source's aspect ratio kept, both sides even (what
 * H.264 4:2:0 needs, like ffmpeg's scale=-2).  Pure.
 */
#ifndef SL_TRANSCODE_SIZE_H
#define SL_TRANSCODE_SIZE_H

/* cfg_w or cfg_h may be 0 (derived from the other).  0 with *w and *h
 * set, or -1 when the rung would be larger than the source in a given
 * dimension (no upscaling) or the sizes make no sense. */
int sl_rung_size(int src_w, int src_h, int cfg_w, int cfg_h, int *w, int *h);

#endif
