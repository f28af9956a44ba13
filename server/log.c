#include "server/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = SL_LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void
sl_log_set_level(enum sl_log_level level)
{
    atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int
sl_log_level_parse(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int
sl_log_enabled(enum sl_log_level level)
{
    return (int) level <=
           atomic_load_explicit(&log_level, memory_order_relaxed);
}

void
sl_log(enum sl_log_level level, const char *fmt, ...)
{
    char           line[1024];
    struct timeval tv;
    struct tm      tm;
    va_list        ap;
    int            n, m;

    if (!sl_log_enabled(level))
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int) (tv.tv_usec / 1000),
                 level_names[level]);
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int) sizeof(line) - 2)
        n = (int) sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line keeps concurrent lines whole; a failed log write
     * has nowhere better to be reported. */
    if (write(STDERR_FILENO, line, (size_t) n) < 0)
        return;
}
