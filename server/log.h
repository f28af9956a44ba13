/*
 * Logging: one line per event on stderr, "TIME LEVEL message", written
 * with a single write() so lines from different threads never interleave.
 * Any thread.  Messages about a connection start with its id and peer
 * ("[c12 127.0.0.1:50422] ...") so one client's story can be grepped.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

enum sl_log_level {
    SL_LOG_ERROR = 0, /* something Sluice itself could not do */
    SL_LOG_WARN,      /* a peer misbehaved, or a limit was hit */
    SL_LOG_INFO,      /* lifecycle: start, publish, play, close */
    SL_LOG_DEBUG      /* protocol detail */
};

void sl_log_set_level(enum sl_log_level level);
/* Parses "error", "warn", "info", "debug"; -1 when unknown. */
int sl_log_level_parse(const char *s);
int sl_log_enabled(enum sl_log_level level);

void sl_log(enum sl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define sl_log_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)
#define sl_log_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_log_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_log_debug(...)                                                      \
    do {                                                                       \
        if (sl_log_enabled(SL_LOG_DEBUG))                                      \
            sl_log(SL_LOG_DEBUG, __VA_ARGS__);                                 \
    } while (0)

/* A line about one connection: "[cID PEER] ...".  c is anything with an
 * integer id and a peer string (a session, its command state). */
#define sl_log_conn(lvl, c, fmt, ...)                                          \
    sl_log(lvl, "[c%llu %s] " fmt, (unsigned long long) (c)->id, (c)->peer,    \
           ##__VA_ARGS__)

#endif
