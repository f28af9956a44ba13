/*
 * nginx-rtmp as a test downstream.  See nginx.h.
 */
#include "tests/support/nginx.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NGINX_MODULE "/usr/lib/nginx/modules/ngx_rtmp_module.so"

static const char *
nginx_bin(void)
{
    return access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
}

int
sl_nginx_available(void)
{
    return access(NGINX_MODULE, R_OK) == 0 &&
           (access("/usr/sbin/nginx", X_OK) == 0 ||
            access("/usr/bin/nginx", X_OK) == 0);
}

void
sl_nginx_print_log(const struct sl_nginx *n)
{
    sl_show_tail("nginx output", n->out);
    sl_show_tail("nginx error log", n->log);
}

int
sl_nginx_start(struct sl_nginx *n)
{
    char  text[2048];
    char *argv[8];
    int   rc;

    memset(n, 0, sizeof(*n));
    if ((rc = sl_tmpdir(n->dir)) < 0)
        return rc;
    n->port = sl_free_port();
    if (n->port < 0)
        return n->port;
    snprintf(n->conf, sizeof(n->conf), "%s/nginx.conf", n->dir);
    snprintf(n->log, sizeof(n->log), "%s/error.log", n->dir);
    snprintf(n->out, sizeof(n->out), "%s/nginx.out", n->dir);
    /* One process in the foreground: nothing forks away from our table,
     * and no user switch is needed when the tests run as root.  Every
     * path nginx writes is inside the temp folder (-p and -e keep it
     * from touching /var/log/nginx even before it reads the config). */
    rc = snprintf(text, sizeof(text),
                  "load_module %s;\n"
                  "worker_processes 1;\n"
                  "daemon off;\n"
                  "master_process off;\n"
                  "pid %s/nginx.pid;\n"
                  "error_log %s info;\n"
                  "events {\n"
                  "    worker_connections 256;\n"
                  "}\n"
                  "rtmp {\n"
                  "    server {\n"
                  "        listen 127.0.0.1:%d;\n"
                  "        application live {\n"
                  "            live on;\n"
                  "            idle_streams off;\n"
                  "        }\n"
                  "    }\n"
                  "}\n",
                  NGINX_MODULE, n->dir, n->log, n->port);
    if (rc < 0 || (size_t) rc >= sizeof(text))
        return -ENOSPC;
    if ((rc = sl_write_file(n->conf, text)) < 0)
        return rc;
    argv[0] = (char *) nginx_bin();
    argv[1] = "-p";
    argv[2] = n->dir;
    argv[3] = "-c";
    argv[4] = n->conf;
    argv[5] = "-e";
    argv[6] = n->log;
    argv[7] = NULL;
    if ((rc = sl_proc_spawn(&n->proc, argv, n->out, n->out)) < 0) {
        fprintf(stderr, "cannot start nginx: %s\n", strerror(-rc));
        return rc;
    }
    if (sl_wait_port(n->port, 10 * sl_time_scale()) < 0) {
        fprintf(stderr, "nginx did not come up on port %d\n", n->port);
        sl_nginx_print_log(n);
        sl_proc_kill(&n->proc);
        return -ETIMEDOUT;
    }
    return 0;
}

int
sl_nginx_stop(struct sl_nginx *n)
{
    if (n->proc.pid == 0)
        return 0;
    return sl_proc_stop(&n->proc, SIGTERM, 10 * sl_time_scale()) == 0 ? 0 : -1;
}
