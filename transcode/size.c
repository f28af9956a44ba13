#include "transcode/size.h"

static int
round_even(double x)
{
    int n = (int) (x / 2.0 + 0.5) * 2;

    return n < 2 ? 2 : n;
}

int
sl_rung_size(int src_w, int src_h, int cfg_w, int cfg_h, int *w, int *h)
{
    double scale;

    if (src_w <= 0 || src_h <= 0 || cfg_w < 0 || cfg_h < 0 ||
        (cfg_w == 0 && cfg_h == 0))
        return -1;
    if (cfg_w > src_w || cfg_h > src_h)
        return -1;
    /* Fit inside the box: the tighter side decides. */
    if (cfg_w == 0)
        scale = (double) cfg_h / src_h;
    else if (cfg_h == 0)
        scale = (double) cfg_w / src_w;
    else
        scale = (double) cfg_w / src_w < (double) cfg_h / src_h
                    ? (double) cfg_w / src_w
                    : (double) cfg_h / src_h;
    *w = round_even(src_w * scale);
    *h = round_even(src_h * scale);
    return 0;
}
