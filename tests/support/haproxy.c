/*
 * HAProxy as a test load balancer.  See haproxy.h.
 */
#include "tests/support/haproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HAPROXY_BIN "/usr/sbin/haproxy"

int
sl_haproxy_available(void)
{
    return access(HAPROXY_BIN, X_OK) == 0;
}

void
sl_haproxy_print_log(const struct sl_haproxy *h)
{
    sl_show_tail("haproxy output", h->out);
}

int
sl_haproxy_start(struct sl_haproxy *h, const struct sl_haproxy_server *srv,
                 int n, const char *balance, int inter_ms)
{
    char   text[4096];
    char  *argv[5];
    size_t len;
    int    rc;

    memset(h, 0, sizeof(*h));
    if (n < 1 || n > SL_HAPROXY_MAX_SERVERS)
        return -EINVAL;
    if ((rc = sl_tmpdir(h->dir)) < 0)
        return rc;
    h->port = sl_free_port();
    h->stats_port = sl_free_port();
    if (h->port < 0 || h->stats_port < 0 || h->port == h->stats_port)
        return -EADDRINUSE;
    snprintf(h->cfg, sizeof(h->cfg), "%s/haproxy.cfg", h->dir);
    snprintf(h->out, sizeof(h->out), "%s/haproxy.out", h->dir);
    /* TCP mode: HAProxy passes RTMP bytes through.  A connect that fails
     * (an edge just died) is retried on another server (redispatch)
     * before the health check has noticed; "fall 2" marks a dead edge
     * DOWN after two failed checks. */
    len = (size_t) snprintf(text, sizeof(text),
                            "global\n"
                            "    maxconn 1024\n"
                            "defaults\n"
                            "    mode tcp\n"
                            "    timeout connect 1s\n"
                            "    timeout client 60s\n"
                            "    timeout server 60s\n"
                            "    retries 2\n"
                            "    option redispatch\n"
                            "frontend rtmp\n"
                            "    bind 127.0.0.1:%d\n"
                            "    default_backend edges\n"
                            "frontend stats\n"
                            "    mode http\n"
                            "    bind 127.0.0.1:%d\n"
                            "    timeout client 5s\n"
                            "    stats enable\n"
                            "    stats uri /stats\n"
                            "backend edges\n"
                            "    balance %s\n",
                            h->port, h->stats_port, balance);
    for (int i = 0; i < n && len < sizeof(text); i++)
        len += (size_t) snprintf(
            text + len, sizeof(text) - len,
            "    server %s 127.0.0.1:%d weight 100 check inter %dms "
            "fall 2 rise 1 agent-check agent-port %d agent-inter %dms\n",
            srv[i].name, srv[i].port, inter_ms, srv[i].agent_port, inter_ms);
    if (len >= sizeof(text))
        return -ENOSPC;
    if ((rc = sl_write_file(h->cfg, text)) < 0)
        return rc;
    argv[0] = HAPROXY_BIN;
    argv[1] = "-db"; /* foreground, no daemon: our child stays ours */
    argv[2] = "-f";
    argv[3] = h->cfg;
    argv[4] = NULL;
    if ((rc = sl_proc_spawn(&h->proc, argv, h->out, h->out)) < 0) {
        fprintf(stderr, "cannot start haproxy: %s\n", strerror(-rc));
        return rc;
    }
    if (sl_wait_port(h->port, 10 * sl_time_scale()) < 0 ||
        sl_wait_port(h->stats_port, 5 * sl_time_scale()) < 0) {
        fprintf(stderr, "haproxy did not come up on port %d\n", h->port);
        sl_haproxy_print_log(h);
        sl_proc_kill(&h->proc);
        return -ETIMEDOUT;
    }
    return 0;
}

int
sl_haproxy_stop(struct sl_haproxy *h)
{
    if (h->proc.pid == 0)
        return 0;
    return sl_proc_stop(&h->proc, SIGTERM, 10 * sl_time_scale()) == 0 ? 0 : -1;
}

/* The index of column name in the CSV header line, or -1. */
static int
column(const char *header, const char *name)
{
    size_t      n = strlen(name);
    int         i = 0;
    const char *p = header;

    if (*p == '#')
        p++;
    while (*p == ' ')
        p++;
    for (;;) {
        if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\n'))
            return i;
        p = strpbrk(p, ",\n");
        if (p == NULL || *p == '\n')
            return -1;
        p++;
        i++;
    }
}

/* Field i of a CSV line (no quoting in HAProxy's stats) into out. */
static void
field(const char *line, int i, char *out, size_t cap)
{
    const char *p = line, *end;
    size_t      len;

    while (i-- > 0 && p != NULL) {
        p = strpbrk(p, ",\n");
        if (p != NULL && *p == ',')
            p++;
        else
            p = NULL;
    }
    out[0] = '\0';
    if (p == NULL)
        return;
    end = strpbrk(p, ",\n");
    len = end != NULL ? (size_t) (end - p) : strlen(p);
    if (len >= cap)
        len = cap - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

/* Joins the chunks of a chunked body from src into dst (dst <= src,
 * both in one buffer), NUL-terminated.  0 or -EPROTO. */
static int
dechunk(const char *src, char *dst)
{
    for (;;) {
        char         *end;
        unsigned long n = strtoul(src, &end, 16);

        if (end == src || strncmp(end, "\r\n", 2) != 0)
            return -EPROTO;
        src = end + 2;
        if (n == 0)
            break;
        if (strlen(src) < n + 2)
            return -EPROTO;
        memmove(dst, src, n);
        dst += n;
        src += n + 2;
    }
    *dst = '\0';
    return 0;
}

/* GET /stats;csv; the body ends with the connection (HAProxy chunks it
 * even for HTTP/1.0).  A new string the caller frees, or NULL. */
static char *
stats_csv(const struct sl_haproxy *h)
{
    static const char  req[] = "GET /stats;csv HTTP/1.0\r\n\r\n";
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t) h->stats_port)};
    struct timeval     tv = {2, 0};
    size_t             len = 0, cap = 256 * 1024;
    char              *buf = malloc(cap), *body;
    ssize_t            n = -1;
    int                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (buf == NULL || fd < 0)
        goto fail;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
        send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != sizeof(req) - 1)
        goto fail;
    while (len < cap - 1 && (n = recv(fd, buf + len, cap - 1 - len, 0)) > 0)
        len += (size_t) n;
    if (n != 0)
        goto fail;
    buf[len] = '\0';
    body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) || strstr(buf, " 200 ") != buf + 8 ||
        body == NULL)
        goto fail;
    if (strcasestr(buf, "transfer-encoding: chunked") != NULL &&
        strcasestr(buf, "transfer-encoding: chunked") < body) {
        if (dechunk(body + 4, buf) < 0)
            goto fail;
    } else {
        memmove(buf, body + 4, strlen(body + 4) + 1);
    }
    close(fd);
    return buf;

fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

int
sl_haproxy_server_status(const struct sl_haproxy *h, const char *name,
                         char *out, size_t cap, int *weight)
{
    char       *csv = stats_csv(h);
    char        want[64], w[16];
    const char *line;
    int         cs, cw, rc = -ENOENT;

    if (csv == NULL)
        return -EIO;
    cs = column(csv, "status");
    cw = column(csv, "weight");
    snprintf(want, sizeof(want), "\nedges,%s,", name);
    line = strstr(csv, want);
    if (cs >= 0 && line != NULL) {
        field(line + 1, cs, out, cap);
        if (weight != NULL && cw >= 0) {
            field(line + 1, cw, w, sizeof(w));
            *weight = atoi(w);
        }
        rc = 0;
    }
    free(csv);
    return rc;
}

int
sl_haproxy_wait_status(const struct sl_haproxy *h, const char *name,
                       const char *want, double timeout_s)
{
    double deadline = sl_now() + timeout_s;
    char   st[64] = "";

    do {
        if (sl_haproxy_server_status(h, name, st, sizeof(st), NULL) == 0 &&
            !strncmp(st, want, strlen(want)))
            return 0;
        sl_sleep(0.1);
    } while (sl_now() < deadline);
    fprintf(stderr, "  haproxy: %s is '%s', not '%s' after %.1f s\n", name, st,
            want, timeout_s);
    return -ETIMEDOUT;
}
