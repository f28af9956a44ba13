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
    if (s->http >= 0)
        close(s->http);
    if (s->agent >= 0)
        close(s->agent);
    s->nrtmp = s->ntls = 0;
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

int
sl_supervise(const char *path, struct sl_config *cfg, struct sl_sockets *socks,
             sl_serve_fn serve)
{
    sigset_t set;
    pid_t    master = getpid(), child = 0;
    int      young = 0, restarts = 0, stopping = 0, rc = 0;
    uint64_t started = 0, start_at = sl_now_ms(), kill_at = 0;
    unsigned delay;
    char     why[96];

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

        if (child == 0 && !stopping && now >= start_at) {
            child = fork();
            if (child < 0) {
                sl_log_error("cannot start the serving process: %s",
                             strerror(errno));
                child = 0;
                rc = 1;
                break;
            }
            if (child == 0)
                serve_child(master, path, cfg, socks, serve, restarts);
            started = now;
            sl_log_info("serving process %d started", (int) child);
        }
        if (child == 0 && stopping)
            break;
        if (child == 0 && start_at > now)
            wait_ms = start_at - now;
        ts.tv_sec = (time_t) (wait_ms / 1000);
        ts.tv_nsec = (long) (wait_ms % 1000) * 1000000L;
        sig = sigtimedwait(&set, &si, &ts);
        now = sl_now_ms();
        if (sig == SIGTERM || sig == SIGINT) {
            if (!stopping)
                sl_log_info("%s: stopping the serving process",
                            sig == SIGINT ? "SIGINT" : "SIGTERM");
            stopping = 1;
            if (kill_at == 0)
                kill_at = now + STOP_KILL_MS;
            if (child > 0)
                kill(child, sig);
        } else if (sig == SIGHUP) {
            reread(path, &cfg);
            if (child > 0)
                kill(child, SIGHUP);
        }
        if (stopping && child > 0 && now >= kill_at) {
            sl_log_error("serving process %d did not stop in %d s: killing it",
                         (int) child, STOP_KILL_MS / 1000);
            kill(child, SIGKILL);
            kill_at = now + STOP_KILL_MS;
        }
        if (child <= 0 || waitpid(child, &status, WNOHANG) != child)
            continue;
        child = 0;
        describe(status, why, sizeof(why));
        if (stopping) {
            rc = exit_status(status);
            if (rc != 0)
                sl_log_warn("serving process %s while stopping", why);
            break;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            /* It stopped by itself, cleanly: nothing to recover. */
            sl_log_info("serving process exited");
            break;
        }
        delay = sl_supervise_backoff_ms(now - started, &young);
        restarts++;
        sl_log_error("serving process %s after %.1f s; restarting in %u ms "
                     "(restart %d)",
                     why, (double) (now - started) / 1000.0, delay, restarts);
        start_at = now + delay;
    }
    sl_sockets_close(socks);
    sl_config_unref(cfg);
    return rc;
}
