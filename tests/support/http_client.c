/*
 * See http_client.h.
 */
#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

int
sl_http_request(int port, const char *method, const char *path,
                const char *extra_headers, double timeout_s,
                struct sl_http_resp *r)
{
    struct sockaddr_in a;
    struct timeval     tv;
    char               req[4096];
    char              *buf = NULL, *sep;
    size_t             len = 0, cap = 0;
    int                fd, n, rc = 0;
    double             deadline = now_s() + timeout_s;

    memset(r, 0, sizeof(*r));
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    tv.tv_sec = 1;
    tv.tv_usec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 "Connection: close\r\n%s\r\n",
                 method, path, port, extra_headers ? extra_headers : "");
    if (n < 0 || (size_t) n >= sizeof(req) ||
        send(fd, req, (size_t) n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -EIO;
    }
    for (;;) {
        ssize_t got;

        if (cap - len < 4096) {
            char *nb = realloc(buf, cap + 65536);

            if (nb == NULL) {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
            cap += 65536;
        }
        got = recv(fd, buf + len, cap - len - 1, 0);
        if (got > 0) {
            len += (size_t) got;
            continue;
        }
        if (got == 0)
            break;
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && now_s() < deadline)
            continue;
        rc = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        break;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    if (buf == NULL)
        return -EPROTO;
    buf[len] = '\0';
    sep = strstr(buf, "\r\n\r\n");
    if (sep == NULL || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        free(buf);
        return -EPROTO;
    }
    *sep = '\0';
    r->head = buf;
    r->body_len = len - (size_t) (sep + 4 - buf);
    r->body = malloc(r->body_len + 1);
    if (r->body == NULL) {
        free(buf);
        r->head = NULL;
        return -ENOMEM;
    }
    memcpy(r->body, sep + 4, r->body_len);
    r->body[r->body_len] = '\0';
    return 0;
}

int
sl_http_get(int port, const char *path, struct sl_http_resp *r)
{
    int rc = sl_http_request(port, "GET", path, NULL, 10, r);

    return rc < 0 ? rc : r->status;
}

void
sl_http_resp_free(struct sl_http_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

const char *
sl_http_header(const struct sl_http_resp *r, const char *name, char *out,
               size_t cap)
{
    size_t      nlen = strlen(name);
    const char *p = r->head;

    while (p != NULL && (p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            size_t      n;

            while (*v == ' ')
                v++;
            n = strcspn(v, "\r\n");
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
    }
    return NULL;
}
