/*
 * A response head's status line and header lines (see httphead.h).
 */
#include "bench/httphead.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int
sl_bench_why(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (cap == 0)
        return -EPROTO;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    for (char *s = why; *s; s++)
        if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7f)
            *s = '?';
    return -EPROTO;
}

const char *
sl_bench_find_crlf(const char *s, const char *end)
{
    for (; s + 1 < end; s++)
        if (s[0] == '\r' && s[1] == '\n')
            return s;
    return NULL;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int
sl_bench_http_status(const char *s, const char *end, const char **eol,
                     char *why, size_t cap)
{
    const char *e = sl_bench_find_crlf(s, end);

    if (e == NULL || e - s < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
        !is_digit(s[7]) || s[8] != ' ' || !is_digit(s[9]) || !is_digit(s[10]) ||
        !is_digit(s[11]) || (e - s > 12 && s[12] != ' '))
        return sl_bench_why(why, cap, "malformed status line");
    *eol = e;
    return (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
}

int
sl_bench_http_field(const char **pos, const char *end,
                    struct sl_bench_http_field *f, char *why, size_t cap)
{
    const char *line = *pos, *eol, *colon, *v;

    if (line >= end)
        return 0;
    eol = sl_bench_find_crlf(line, end);
    if (eol == NULL || eol == line)
        return 0; /* the blank line */
    colon = memchr(line, ':', (size_t) (eol - line));
    if (colon == NULL)
        return sl_bench_why(why, cap, "malformed header line");
    for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
        ;
    f->name = line;
    f->colon = colon;
    f->value = v;
    f->eol = eol;
    *pos = eol + 2;
    return 1;
}

int
sl_bench_http_field_is(const struct sl_bench_http_field *f, const char *name)
{
    size_t n = strlen(name);

    return (size_t) (f->colon - f->name) == n &&
           strncasecmp(f->name, name, n) == 0;
}
