/*
 * The master process (see supervisor.h).
 */
#include "server/supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pool/clock.h"
#include "server/agent.h"
#include "server/http.h"
#include "server/listener.h"
#include "server/log.h"

#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 30000
/* A serving process asked to stop gets this long before SIGKILL: its own
 * graceful stop is bounded well below it. */
#define STOP_KILL_MS 30000

/* The web ports' sockets, as the RTMP port's; an error names the key. */
static int
bind_web(const char *key, const char *host, uint16_t port, int count, int *fds,
         char *err, size_t errlen)
{
    char why[256];

    if (sl_listener_bind(host, port, count, fds, why, sizeof(why)) == 0)
        return 0;
    snprintf(err, errlen, "[web] %s: %s", key, why);
    return -1;
}

int
sl_sockets_open(const struct sl_config *cfg, struct sl_sockets *s, char *err,
                size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->http = -1;
    s->agent = -1;
    if (cfg->acceptors > SL_MAX_ACCEPTORS) {
        snprintf(err, errlen, "more than %d acceptors", SL_MAX_ACCEPTORS);
        return -1;
    }
    if (sl_listener_bind(cfg->listen_host, cfg->listen_port, cfg->acceptors,
                         s->rtmp, err, errlen) < 0)
        return -1;
    s->nrtmp = cfg->acceptors;
    if (cfg->tls_enabled) {
        if (sl_listener_bind(cfg->tls_host, cfg->tls_port, cfg->acceptors,
                             s->tls, err, errlen) < 0) {
            sl_sockets_close(s);
            return -1;
        }
        s->ntls = cfg->acceptors;
    }
    if (cfg->web_enabled) {
        if (bind_web("listen", cfg->web_host, cfg->web_port, cfg->acceptors,
                     s->web, err, errlen) < 0) {
            sl_sockets_close(s);
            return -1;
        }
        s->nweb = cfg->acceptors;
    }
    if (cfg->web_tls_enabled) {
        if (bind_web("tls_listen", cfg->web_tls_host, cfg->web_tls_port,
                     cfg->acceptors, s->web_tls, err, errlen) < 0) {
            sl_sockets_close(s);
            return -1;
        }
        s->nweb_tls = cfg->acceptors;
    }
    if (cfg->http_enabled) {
        s->http = sl_http_bind(cfg, err, errlen);
        if (s->http < 0) {
            sl_sockets_close(s);
            return -1;
        }
    }
    if (cfg->agent_enabled) {
        s->agent = sl_agent_bind(cfg->agent_host, cfg->agent_port, err, errlen);
        if (s->agent < 0) {
            sl_sockets_close(s);
            return -1;
        }
    }
    return 0;
}

void
sl_sockets_close(struct sl_sockets *s)
{
    for (int i = 0; i < s->nrtmp; i++)
        close(s->rtmp[i]);
    for (int i = 0; i < s->ntls; i++)
        close(s->tls[i]);
    for (int i = 0; i < s->nweb; i++)
        close(s->web[i]);
    for (int i = 0; i < s->nweb_tls; i++)
        close(s->web_tls[i]);
    if (s->http >= 0)
        close(s->http);
    if (s->agent >= 0)
        close(s->agent);
    s->nrtmp = s->ntls = s->nweb = s->nweb_tls = 0;
    s->http = s->agent = -1;
}

unsigned
sl_supervise_backoff_ms(unsigned long long lived_ms, int *young)
{
    unsigned ms = BACKOFF_FIRST_MS;

    if (lived_ms >= SL_SUPERVISE_SETTLED_MS) {
        *young = 0;
        return 0;
    }
    for (int i = 0; i < *young && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    (*young)++;
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

/* The serving process: a restart reads the file again (it may have been
 * edited and reloaded since the master last read it), falling back to
 * the master's copy when it no longer loads. */
static void __attribute__((noreturn))
serve_child(pid_t master, const char *path, struct sl_config *cfg,
            struct sl_sockets *socks, sl_serve_fn serve, int restarts)
{
    sigset_t none;

    /* If the master dies (even by SIGKILL), so do we: an orphan would
     * hold the ports' copies with nobody to restart it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != master)
        _exit(1);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (restarts > 0) {
        char              err[512];
        struct sl_config *fresh = sl_config_load(path, err, sizeof(err));

        if (fresh != NULL) {
            sl_config_unref(cfg);
            cfg = fresh;
        } else {
            sl_log_warn("%s; starting with the last good config", err);
        }
    }
    exit(serve(path, cfg, socks, restarts));
}

static void
describe(int status, char *out, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(out, cap, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
}

static int
exit_status(int status)
{
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* Re-reads the file for the next restart (the serving process reloads
 * on its own and logs the outcome). */
static void
reread(const char *path, struct sl_config **cfg)
{
    char              err[512];
    struct sl_config *fresh = sl_config_load(path, err, sizeof(err));

    if (fresh == NULL)
        return;
    sl_config_unref(*cfg);
    *cfg = fresh;
}

/* The master's view of its serving process. */
struct master {
    const char        *path;
    struct sl_config  *cfg; /* the newest config that loaded */
    struct sl_sockets *socks;
    sl_serve_fn        serve;
    pid_t              self;
    pid_t              child;    /* the serving process; 0 while none runs */
    int                young;    /* deaths in a row soon after a start */
    int                restarts; /* serving processes started again */
    int                stopping; /* SIGTERM or SIGINT came */
    uint64_t           started;  /* when child was forked */
    uint64_t           start_at; /* when the next one may be forked */
    uint64_t           kill_at;  /* when a stopping child gets SIGKILL */
};

/* Forks the serving process.  0, or -1 (logged) when fork failed. */
static int
start_child(struct master *m, uint64_t now)
{
    m->child = fork();
    if (m->child < 0) {
        sl_log_error("cannot start the serving process: %s", strerror(errno));
        m->child = 0;
        return -1;
    }
    if (m->child == 0)
        serve_child(m->self, m->path, m->cfg, m->socks, m->serve, m->restarts);
    m->started = now;
    sl_log_info("serving process %d started", (int) m->child);
    return 0;
}

/* SIGTERM and SIGINT start a stop, SIGHUP re-reads the file; each is
 * passed on to the serving process.  Any other sig (0 or -1: none came)
 * does nothing. */
static void
on_signal(struct master *m, int sig, uint64_t now)
{
    if (sig == SIGTERM || sig == SIGINT) {
        if (!m->stopping)
            sl_log_info("%s: stopping the serving process",
                        sig == SIGINT ? "SIGINT" : "SIGTERM");
        m->stopping = 1;
        if (m->kill_at == 0)
            m->kill_at = now + STOP_KILL_MS;
        if (m->child > 0)
            kill(m->child, sig);
    } else if (sig == SIGHUP) {
        reread(m->path, &m->cfg);
        if (m->child > 0)
            kill(m->child, SIGHUP);
    }
}

/* A serving process that has not stopped STOP_KILL_MS after it was asked
 * to gets SIGKILL (again every STOP_KILL_MS). */
static void
kill_if_late(struct master *m, uint64_t now)
{
    if (!m->stopping || m->child <= 0 || now < m->kill_at)
        return;
    sl_log_error("serving process %d did not stop in %d s: killing it",
                 (int) m->child, STOP_KILL_MS / 1000);
    kill(m->child, SIGKILL);
    m->kill_at = now + STOP_KILL_MS;
}

/* The serving process ended with status.  1 when the master is done
 * too (its exit status in *rc), 0 when a restart is scheduled. */
static int
child_ended(struct master *m, int status, uint64_t now, int *rc)
{
    unsigned delay;
    char     why[96];

    describe(status, why, sizeof(why));
    if (m->stopping) {
        *rc = exit_status(status);
        if (*rc != 0)
            sl_log_warn("serving process %s while stopping", why);
        return 1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        /* It stopped by itself, cleanly: nothing to recover. */
        sl_log_info("serving process exited");
        return 1;
    }
    delay = sl_supervise_backoff_ms(now - m->started, &m->young);
    m->restarts++;
    sl_log_error("serving process %s after %.1f s; restarting in %u ms "
                 "(restart %d)",
                 why, (double) (now - m->started) / 1000.0, delay, m->restarts);
    m->start_at = now + delay;
    return 0;
}

int
sl_supervise(const char *path, struct sl_config *cfg, struct sl_sockets *socks,
             sl_serve_fn serve)
{
    struct master m = {.path = path,
                       .cfg = cfg,
                       .socks = socks,
                       .serve = serve,
                       .self = getpid(),
                       .start_at = sl_now_ms()};
    sigset_t      set;
    int           rc = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    for (;;) {
        uint64_t        now = sl_now_ms(), wait_ms = 1000;
        struct timespec ts;
        siginfo_t       si;
        int             sig, status;

        if (m.child == 0 && !m.stopping && now >= m.start_at &&
            start_child(&m, now) < 0) {
            rc = 1;
            break;
        }
        if (m.child == 0 && m.stopping)
            break;
        if (m.child == 0 && m.start_at > now)
            wait_ms = m.start_at - now;
        ts.tv_sec = (time_t) (wait_ms / 1000);
        ts.tv_nsec = (long) (wait_ms % 1000) * 1000000L;
        sig = sigtimedwait(&set, &si, &ts);
        now = sl_now_ms();
        on_signal(&m, sig, now);
        kill_if_late(&m, now);
        if (m.child <= 0 || waitpid(m.child, &status, WNOHANG) != m.child)
            continue;
        m.child = 0;
        if (child_ended(&m, status, now, &rc))
            break;
    }
    sl_sockets_close(socks);
    sl_config_unref(m.cfg);
    return rc;
}
