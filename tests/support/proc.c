/*
 * Child processes, ports, temporary folders and the server under test.
 * See proc.h for the contracts.
 */
#include "tests/support/proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_CHILDREN 256
#define MAX_TMPDIRS 64
#define POLL_S 0.02

/* Children not yet reaped.  A mutex because kill_all may run from any
 * thread (a CUnit teardown after a failed assertion). */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t           children[MAX_CHILDREN];
static char            tmpdirs[MAX_TMPDIRS][PATH_MAX];
static int             ntmpdirs;

static void
table_add(pid_t pid)
{
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
}

static void
table_remove(pid_t pid)
{
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == pid)
            children[i] = 0;
    pthread_mutex_unlock(&table_lock);
}

double
sl_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void
sl_sleep(double s)
{
    struct timespec ts;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t) s;
    ts.tv_nsec = (long) ((s - (double) ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

double
sl_time_scale(void)
{
    const char *e = getenv("SLUICE_TIME_SCALE");
    double      v = e != NULL ? atof(e) : 1.0;

    return v >= 1.0 ? v : 1.0;
}

int
sl_proc_spawn(struct sl_proc *p, char *const argv[], const char *out_path,
              const char *err_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t          attr;
    sigset_t                   none, dflt;
    const char                *out = out_path ? out_path : "/dev/null";
    const char                *err = err_path ? err_path : "/dev/null";
    int                        rc;

    memset(p, 0, sizeof(*p));
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    if (strcmp(out, err) == 0)
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    else
        posix_spawn_file_actions_addopen(&fa, 2, err,
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    /* The child starts with no blocked signals and default handlers for
     * the ones a test runner might ignore (SIGPIPE), whatever the calling
     * thread has. */
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGHUP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        p->pid = 0;
        fprintf(stderr, "spawn %s: %s\n", argv[0], strerror(rc));
        return -rc;
    }
    table_add(p->pid);
    return 0;
}

/* One non-blocking reap attempt: 1 when reaped. */
static int
try_reap(struct sl_proc *p)
{
    int   st;
    pid_t r;

    if (p->pid == 0)
        return 1;
    r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid || (r < 0 && errno == ECHILD)) {
        if (r == p->pid)
            p->status = st;
        table_remove(p->pid);
        p->pid = 0;
        return 1;
    }
    return 0;
}

int
sl_proc_wait(struct sl_proc *p, double timeout_s)
{
    double deadline = sl_now() + timeout_s;

    for (;;) {
        if (try_reap(p))
            return 0;
        if (sl_now() >= deadline)
            return -ETIMEDOUT;
        sl_sleep(POLL_S);
    }
}

int
sl_proc_signal(struct sl_proc *p, int sig)
{
    if (p->pid == 0)
        return -ESRCH;
    return kill(p->pid, sig) == 0 ? 0 : -errno;
}

void
sl_proc_kill(struct sl_proc *p)
{
    int st;

    if (p->pid == 0)
        return;
    kill(p->pid, SIGKILL);
    p->killed = 1;
    /* SIGKILL cannot be caught, so this wait ends. */
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
    p->status = st;
    table_remove(p->pid);
    p->pid = 0;
}

int
sl_proc_stop(struct sl_proc *p, int sig, double timeout_s)
{
    if (p->pid == 0)
        return 0;
    sl_proc_signal(p, sig);
    if (sl_proc_wait(p, timeout_s) == 0)
        return 0;
    sl_proc_kill(p);
    return 1;
}

int
sl_proc_exited_with(const struct sl_proc *p, int code)
{
    return p->pid == 0 && !p->killed && WIFEXITED(p->status) &&
           WEXITSTATUS(p->status) == code;
}

int
sl_proc_run(char *const argv[], const char *out_path, const char *err_path,
            double timeout_s)
{
    struct sl_proc p;
    int            rc = sl_proc_spawn(&p, argv, out_path, err_path);

    if (rc < 0)
        return rc;
    if (sl_proc_wait(&p, timeout_s) < 0) {
        fprintf(stderr, "%s ran past %.0f s: killed\n", argv[0], timeout_s);
        sl_proc_kill(&p);
        return -ETIMEDOUT;
    }
    if (WIFEXITED(p.status))
        return WEXITSTATUS(p.status);
    return -1;
}

void
sl_proc_kill_all(void)
{
    sl_proc_kill_all_except(NULL, 0);
}

/* 1 when pid is one of keep[0..n). */
static int
kept(pid_t pid, const pid_t *keep, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (keep[i] != 0 && keep[i] == pid)
            return 1;
    return 0;
}

void
sl_proc_kill_all_except(const pid_t *keep, size_t n_keep)
{
    pid_t pids[MAX_CHILDREN];
    int   n = 0, st;

    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == 0 || kept(children[i], keep, n_keep))
            continue;
        pids[n++] = children[i];
        children[i] = 0;
    }
    pthread_mutex_unlock(&table_lock);
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "killing leftover child %d\n", (int) pids[i]);
        kill(pids[i], SIGKILL);
        while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
            ;
    }
}

/* A port of the type on 127.0.0.1 that was free a moment ago. */
static int
free_port(int type)
{
    struct sockaddr_in a;
    socklen_t          len = sizeof(a);
    int                fd, port;

    fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *) &a, &len) < 0) {
        port = -errno;
        close(fd);
        return port;
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int
sl_free_port(void)
{
    return free_port(SOCK_STREAM);
}

int
sl_free_udp_port(void)
{
    return free_port(SOCK_DGRAM);
}

int
sl_wait_port(int port, double timeout_s)
{
    double deadline = sl_now() + timeout_s;

    for (;;) {
        struct sockaddr_in a;
        int                fd, ok;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t) port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok = connect(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return 0;
        if (sl_now() >= deadline)
            return -ETIMEDOUT;
        sl_sleep(0.05);
    }
}

int
sl_tmpdir(char *out)
{
    snprintf(out, PATH_MAX, "/tmp/sluice-it-XXXXXX");
    if (mkdtemp(out) == NULL)
        return -errno;
    pthread_mutex_lock(&table_lock);
    if (ntmpdirs < MAX_TMPDIRS)
        snprintf(tmpdirs[ntmpdirs++], PATH_MAX, "%s", out);
    pthread_mutex_unlock(&table_lock);
    return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path) < 0 ? 0 : 0; /* best effort: keep going */
}

void
sl_tmpdir_remove_all(void)
{
    int keep = getenv("SLUICE_KEEP_TMP") != NULL;

    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < ntmpdirs; i++) {
        /* Only our own pattern, so a corrupted entry can never point the
         * recursive removal somewhere else. */
        if (strncmp(tmpdirs[i], "/tmp/sluice-it-", 15) != 0)
            continue;
        /* A test may have mounted a small tmpfs here (a full disk);
         * a folder that is no mount point just gives EINVAL. */
        umount2(tmpdirs[i], MNT_DETACH);
        if (keep)
            fprintf(stderr, "kept %s\n", tmpdirs[i]);
        else
            nftw(tmpdirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    ntmpdirs = 0;
    pthread_mutex_unlock(&table_lock);
}

int
sl_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    int   rc = 0;

    if (f == NULL)
        return -errno;
    if (fputs(text, f) < 0)
        rc = -EIO;
    if (fclose(f) != 0)
        rc = -EIO;
    return rc;
}

char *
sl_read_file(const char *path)
{
    FILE  *f = fopen(path, "re");
    char  *buf = NULL;
    size_t len = 0, cap = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        size_t n;

        if (cap - len < 4096) {
            char *nb = realloc(buf, cap + 65536);

            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap += 65536;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    if (buf == NULL)
        buf = malloc(1);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

int
sl_file_count(const char *path, const char *needle)
{
    char *text = sl_read_file(path);
    int   n = 0;

    if (text == NULL)
        return 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL;
         p += strlen(needle))
        n++;
    free(text);
    return n;
}

int
sl_wait_file_count(const char *path, const char *needle, int n,
                   double timeout_s)
{
    double deadline = sl_now() + timeout_s;

    for (;;) {
        if (sl_file_count(path, needle) >= n)
            return 0;
        if (sl_now() >= deadline)
            return -ETIMEDOUT;
        sl_sleep(0.05);
    }
}

long
sl_file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long) st.st_size : -1;
}

void
sl_show_tail(const char *what, const char *path)
{
    char  *text;
    size_t len;

    if (path == NULL || (text = sl_read_file(path)) == NULL)
        return;
    len = strlen(text);
    fprintf(stderr, "---- tail of %s (%s) ----\n%s\n----\n", what, path,
            len > 3000 ? text + len - 3000 : text);
    free(text);
}

/* ---- the server under test ---- */

/* Test defaults: short enough that waits in the tests stay short.  A key
 * the test sets itself replaces the default. */
static const char *const default_keys[][2] = {
    {"workers", "2"},        {"handshake_timeout", "2s"},
    {"publish_grace", "1s"}, {"idle_timeout", "10s"},
    {"log_level", "info"},
};

int
sl_srv_write_ini(struct sl_srv *srv, const char *server_keys,
                 const char *extra_sections)
{
    char   text[8192];
    size_t n;

    n = (size_t) snprintf(text, sizeof(text),
                          "; written by the tests\n"
                          "[server]\nlisten = 127.0.0.1:%d\n",
                          srv->port);
    for (size_t i = 0; i < sizeof(default_keys) / sizeof(default_keys[0]);
         i++) {
        char probe[64];

        snprintf(probe, sizeof(probe), "%s =", default_keys[i][0]);
        if (server_keys != NULL && strstr(server_keys, probe) != NULL)
            continue;
        n += (size_t) snprintf(text + n, sizeof(text) - n, "%s = %s\n",
                               default_keys[i][0], default_keys[i][1]);
    }
    /* Every test server gets its own HTTP and web ports on loopback, so
     * servers running side by side never fight over the defaults (8080,
     * and 8088 on every address, which a test must never open). */
    n += (size_t) snprintf(text + n, sizeof(text) - n,
                           "%s\n[http]\nlisten = 127.0.0.1:%d\n",
                           server_keys ? server_keys : "", srv->http_port);
    if (srv->web_port > 0)
        n += (size_t) snprintf(text + n, sizeof(text) - n,
                               "[web]\nlisten = 127.0.0.1:%d\n", srv->web_port);
    else
        n += (size_t) snprintf(text + n, sizeof(text) - n,
                               "[web]\nlisten = off\n");
    n += (size_t) snprintf(text + n, sizeof(text) - n, "[app:live]\n%s",
                           extra_sections ? extra_sections : "");
    if (n >= sizeof(text))
        return -ENOSPC;
    return sl_write_file(srv->ini, text);
}

const char *
sl_srv_bin(void)
{
    const char *bin = getenv("SLUICE_BIN");

    return bin != NULL ? bin : "build/sluice";
}

/* Starts sl_srv_bin() -c srv->ini with its output in srv->log and waits
 * until the log says it listens, for at most timeout_s.  A server that
 * exits before that has failed to start; with retry it is started again
 * (the port of a server just killed may refuse the bind for a moment),
 * without, the start fails at once.  On failure the child is reaped and
 * the log's tail is on stderr. */
static int
srv_launch(struct sl_srv *srv, double timeout_s, int retry)
{
    char  *argv[] = {(char *) sl_srv_bin(), "-c", srv->ini, NULL};
    double deadline = sl_now() + timeout_s;
    int    rc;

    for (;;) {
        int gone;

        if ((rc = sl_proc_spawn(&srv->proc, argv, srv->log, srv->log)) < 0)
            return rc;
        do {
            gone = sl_proc_wait(&srv->proc, POLL_S) == 0;
            if (sl_file_count(srv->log, "listening on") > 0)
                return 0;
        } while (!gone && sl_now() < deadline);
        if (!gone) {
            fprintf(stderr, "server did not come up on port %d\n", srv->port);
            sl_show_tail("server", srv->log);
            sl_proc_kill(&srv->proc);
            return -ETIMEDOUT;
        }
        fprintf(stderr, "server on port %d exited before it listened\n",
                srv->port);
        sl_show_tail("server", srv->log);
        if (!retry)
            return -ECHILD;
        if (sl_now() >= deadline)
            return -ETIMEDOUT;
        sl_sleep(0.2);
    }
}

int
sl_srv_start(struct sl_srv *srv, const char *server_keys,
             const char *extra_sections)
{
    int rc;

    memset(srv, 0, sizeof(*srv));
    if ((rc = sl_tmpdir(srv->dir)) < 0)
        return rc;
    srv->port = sl_free_port();
    if (srv->port < 0)
        return srv->port;
    do
        srv->http_port = sl_free_port();
    while (srv->http_port == srv->port);
    if (srv->http_port < 0)
        return srv->http_port;
    do
        srv->web_port = sl_free_port();
    while (srv->web_port == srv->port || srv->web_port == srv->http_port);
    if (srv->web_port < 0)
        return srv->web_port;
    snprintf(srv->ini, sizeof(srv->ini), "%s/sluice.ini", srv->dir);
    snprintf(srv->log, sizeof(srv->log), "%s/sluice.log", srv->dir);
    if ((rc = sl_srv_write_ini(srv, server_keys, extra_sections)) < 0)
        return rc;
    return srv_launch(srv, 10 * sl_time_scale(), 0);
}

int
sl_srv_restart(struct sl_srv *srv, const char *logname, double timeout_s)
{
    if (srv->proc.pid != 0)
        return -EBUSY;
    snprintf(srv->log, sizeof(srv->log), "%s/%s", srv->dir, logname);
    return srv_launch(srv, timeout_s, 1);
}

int
sl_srv_stop(struct sl_srv *srv)
{
    static const char *const reports[] = {"AddressSanitizer", "runtime error",
                                          "ThreadSanitizer", "LeakSanitizer"};
    int                      ok = 1;

    if (srv->proc.pid == 0 && srv->port == 0)
        return -1; /* never started */
    if (sl_proc_stop(&srv->proc, SIGTERM, 15 * sl_time_scale()) != 0) {
        fprintf(stderr, "server did not exit within the bound after "
                        "SIGTERM: killed\n");
        ok = 0;
    } else if (!WIFEXITED(srv->proc.status) ||
               WEXITSTATUS(srv->proc.status) != 0) {
        fprintf(stderr, "server exit status 0x%x, expected 0\n",
                srv->proc.status);
        ok = 0;
    }
    for (size_t i = 0; i < sizeof(reports) / sizeof(reports[0]); i++) {
        if (sl_file_count(srv->log, reports[i]) > 0) {
            fprintf(stderr, "server log contains \"%s\"\n", reports[i]);
            ok = 0;
        }
    }
    if (!srv->allow_error && sl_file_count(srv->log, " ERROR ") > 0) {
        fprintf(stderr, "server log contains an ERROR line\n");
        ok = 0;
    }
    if (!ok)
        sl_show_tail("server", srv->log);
    return ok ? 0 : -1;
}

int
sl_srv_wait_conn_log(const struct sl_srv *srv, int lport, const char *level,
                     const char *needle, double timeout_s)
{
    double deadline = sl_now() + timeout_s;
    char   tag[64];

    /* Session lines carry "[cID 127.0.0.1:PORT]". */
    snprintf(tag, sizeof(tag), " 127.0.0.1:%d]", lport);
    for (;;) {
        char *text = sl_read_file(srv->log);
        int   found = 0;

        if (text != NULL) {
            char *save = NULL;

            for (char *line = strtok_r(text, "\n", &save);
                 line != NULL && !found; line = strtok_r(NULL, "\n", &save))
                found = strstr(line, tag) != NULL &&
                        strstr(line, needle) != NULL &&
                        (level == NULL || strstr(line, level) != NULL);
            free(text);
        }
        if (found)
            return 0;
        if (sl_now() >= deadline)
            return -ETIMEDOUT;
        sl_sleep(0.05);
    }
}

void
sl_srv_url(const struct sl_srv *srv, const char *app, const char *name,
           char *out, size_t cap)
{
    snprintf(out, cap, "rtmp://127.0.0.1:%d/%s/%s", srv->port, app, name);
}

void
sl_srv_path(const struct sl_srv *srv, const char *file, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", srv->dir, file);
}
