/*
 * A tiny blocking HTTP/1.1 client for the tests: one request per
 * connection (Connection: close) to 127.0.0.1, bounded in time by
 * SO_RCVTIMEO/SO_SNDTIMEO and an overall deadline.  Any thread.
 */
#ifndef SL_TEST_HTTP_CLIENT_H
#define SL_TEST_HTTP_CLIENT_H

#include <stddef.h>

struct sl_http_resp {
    int    status; /* 0 when no status line came */
    char  *head;   /* the header block, NUL-terminated */
    char  *body;   /* NUL-terminated (binary bodies: use body_len) */
    size_t body_len;
};

/* method path to 127.0.0.1:port; extra_headers ("Name: v\r\n"...) may
 * be NULL.  0 with *r filled (free it with sl_http_resp_free), or
 * -errno (-ETIMEDOUT when the bound passed). */
int sl_http_request(int port, const char *method, const char *path,
                    const char *extra_headers, double timeout_s,
                    struct sl_http_resp *r);

/* GET shorthand: returns the status (or -errno), body in *r. */
int sl_http_get(int port, const char *path, struct sl_http_resp *r);

void sl_http_resp_free(struct sl_http_resp *r);

/* The value of header name (case-insensitive) copied into out, or NULL
 * when absent. */
const char *sl_http_header(const struct sl_http_resp *r, const char *name,
                           char *out, size_t cap);

#endif
