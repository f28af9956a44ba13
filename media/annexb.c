#include "media/annexb.h"

/* The offset of the next 00 00 01 at or after from, or len when there
 * is none. */
static size_t
find_start_code(const uint8_t *p, size_t len, size_t from)
{
    for (size_t i = from; i + 3 <= len; i++) {
        /* p[i + 2] > 1 rules out a start code at i, i + 1 and i + 2. */
        if (p[i + 2] > 1) {
            i += 2;
            continue;
        }
        if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)
            return i;
    }
    return len;
}

int
sl_annexb_next(struct sl_annexb *a, const uint8_t **nal, size_t *nal_len)
{
    for (;;) {
        size_t sc = find_start_code(a->p, a->len, a->pos);
        size_t start, end;

        if (sc == a->len) {
            a->pos = a->len;
            return 0;
        }
        start = sc + 3;
        end = find_start_code(a->p, a->len, start);
        a->pos = end;
        while (end > start && a->p[end - 1] == 0)
            end--;
        if (end > start) {
            *nal = a->p + start;
            *nal_len = end - start;
            return 1;
        }
    }
}

void
sl_annexb_init(struct sl_annexb *a, const uint8_t *p, size_t len)
{
    a->p = p;
    a->len = p == NULL ? 0 : len;
    a->pos = 0;
}

int
sl_annexb_starts(const uint8_t *p, size_t len)
{
    if (len >= 3 && p[0] == 0 && p[1] == 0 && p[2] == 1)
        return 1;
    return len >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 1;
}
