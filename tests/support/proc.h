/*
 * Child processes, ports, temporary folders and the server under test,
 * for the integration tests.
 *
 * Every child is started with posix_spawn (safe while test threads run),
 * has its stdout and stderr in files, and is remembered in a table until
 * it is reaped, so sl_proc_kill_all() can SIGKILL and reap whatever a
 * failed test left behind.  Nothing here waits without a bound: every
 * wait takes a timeout in seconds and polls.  All functions are meant
 * for the test's main thread unless they say otherwise.
 */
#ifndef SL_TEST_PROC_H
#define SL_TEST_PROC_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct sl_proc {
    pid_t pid;    /* 0 once reaped (or never started) */
    int   status; /* waitpid() status once reaped */
    int   killed; /* 1 when we had to SIGKILL it */
};

/* Starts argv[0] (searched in PATH) with stdin from /dev/null, stdout to
 * out_path and stderr to err_path (either may be NULL for /dev/null; the
 * same path for both gives one file).  0, or -errno. */
int sl_proc_spawn(struct sl_proc *p, char *const argv[], const char *out_path,
                  const char *err_path);

/* Waits up to timeout_s for the child to exit and reaps it.  0 when it
 * exited (p->status is set), -ETIMEDOUT when it is still running. */
int sl_proc_wait(struct sl_proc *p, double timeout_s);

/* Sends sig; 0 or -errno (-ESRCH once reaped). */
int sl_proc_signal(struct sl_proc *p, int sig);

/* Sends sig, waits up to timeout_s, then SIGKILLs and reaps.  Returns 0
 * when the child went by itself after sig, 1 when it had to be killed.
 * Always leaves the child reaped. */
int sl_proc_stop(struct sl_proc *p, int sig, double timeout_s);

/* SIGKILL and reap (no-op when already reaped). */
void sl_proc_kill(struct sl_proc *p);

/* 1 when the child exited normally with status code. */
int sl_proc_exited_with(const struct sl_proc *p, int code);

/* Spawns, waits up to timeout_s, kills on timeout.  Returns the exit
 * status (0..255), -ETIMEDOUT when it had to be killed, -1 for a death by
 * signal, or -errno when it could not start. */
int sl_proc_run(char *const argv[], const char *out_path, const char *err_path,
                double timeout_s);

/* SIGKILLs and reaps every child still in the table.  Any thread. */
void sl_proc_kill_all(void);

/* The same, but the n children in keep stay running and in the table
 * (0 entries are ignored): the teardown of a suite whose tests share a
 * server.  Any thread. */
void sl_proc_kill_all_except(const pid_t *keep, size_t n);

/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0,
 * read back, closed), or -errno. */
int sl_free_port(void);

/* The same for UDP (an SRT port), or -errno. */
int sl_free_udp_port(void);

/* Waits up to timeout_s until 127.0.0.1:port accepts a connection.
 * 0 or -ETIMEDOUT. */
int sl_wait_port(int port, double timeout_s);

/* Creates /tmp/sluice-it-XXXXXX into out (PATH_MAX bytes) and remembers
 * it for sl_tmpdir_remove_all().  0 or -errno. */
int sl_tmpdir(char *out);

/* Removes every folder sl_tmpdir() made (unless SLUICE_KEEP_TMP is set
 * in the environment, for debugging a failure). */
void sl_tmpdir_remove_all(void);

/* Writes text to path (truncating).  0 or -errno. */
int sl_write_file(const char *path, const char *text);

/* Reads a whole file into a new NUL-terminated string (caller frees),
 * or NULL. */
char *sl_read_file(const char *path);

/* Occurrences of needle in the file (0 when it cannot be read). */
int sl_file_count(const char *path, const char *needle);

/* Waits up to timeout_s until the file holds needle at least n times.
 * 0 or -ETIMEDOUT. */
int sl_wait_file_count(const char *path, const char *needle, int n,
                       double timeout_s);

/* Size of a file in bytes, or -1. */
long sl_file_size(const char *path);

/* Sleeps for s seconds (a pause between steps, never a check). */
void sl_sleep(double s);

/* Seconds on the monotonic clock. */
double sl_now(void);

/* Multiplier for every bound (SLUICE_TIME_SCALE, default 1; raise it
 * for slow machines or sanitizer builds). */
double sl_time_scale(void);

/* Prints the last 3000 bytes of the file at path to stderr under a
 * heading that names it what (a log, a child's output), for a test that
 * failed.  Prints nothing when path is NULL or unreadable.  Reads the
 * file once; never waits.  Any thread. */
void sl_show_tail(const char *what, const char *path);

/* ---- the server under test ---- */

struct sl_srv {
    struct sl_proc proc;
    int            port;
    int            http_port;     /* [http] listen = 127.0.0.1:http_port */
    int            web_port;      /* [web] listen = 127.0.0.1:web_port */
    char           dir[PATH_MAX]; /* this server's temp folder */
    char           ini[PATH_MAX + 16];
    char           log[PATH_MAX + 16];
    int            allow_error; /* ERROR lines expected by the test */
};

/* Writes the ini for srv (listen on srv->port, the HTTP API on
 * srv->http_port, the web port on srv->web_port or off when it is 0,
 * all on 127.0.0.1, so no test server ever binds the default
 * 0.0.0.0:8088; short test timeouts unless server_keys sets them;
 * [app:live] plus extra_sections, which may add keys to [http] or [web]
 * with a section of their own). */
int sl_srv_write_ini(struct sl_srv *srv, const char *server_keys,
                     const char *extra_sections);

/* The server binary the tests run: $SLUICE_BIN, or build/sluice when
 * it is unset.  The string belongs to the environment (or is static);
 * the caller neither frees nor keeps it past a setenv. */
const char *sl_srv_bin(void);

/* Picks three free ports (RTMP, HTTP and web) and a temp folder, writes
 * the ini, starts sl_srv_bin() with -c and waits up to 10 s (scaled) until
 * it logs that it listens.  0, or -errno with the reason and the log's
 * tail on stderr: -ECHILD when it exited first, -ETIMEDOUT when it was
 * killed at the bound; either way the child is reaped. */
int sl_srv_start(struct sl_srv *srv, const char *server_keys,
                 const char *extra_sections);

/* Starts a stopped (reaped) srv again with the ini, ports and folder it
 * had, so on the same ports, with its output in a new log, logname
 * inside srv->dir, which srv->log then names.  A server that exits
 * before it listens (the bind of a port that a killed server held can
 * fail for a moment) is started again, until timeout_s has passed; then
 * the child is killed and reaped.  0, -EBUSY when srv still runs,
 * -ETIMEDOUT, or -errno from the spawn. */
int sl_srv_restart(struct sl_srv *srv, const char *logname, double timeout_s);

/* SIGTERM, then requires exit status 0 within a bound and a log free of
 * sanitizer reports (and of ERROR lines unless allow_error).  0 when all
 * of that holds; otherwise -1 and the reason and the log's tail on
 * stderr.  The process is always reaped. */
int sl_srv_stop(struct sl_srv *srv);

/* Waits up to timeout_s for a server log line about the client whose
 * local port is lport that contains needle and, unless level is NULL,
 * the level word (" WARN ").  0 or -ETIMEDOUT. */
int sl_srv_wait_conn_log(const struct sl_srv *srv, int lport, const char *level,
                         const char *needle, double timeout_s);

/* The server's RTMP URL for app/name into out. */
void sl_srv_url(const struct sl_srv *srv, const char *app, const char *name,
                char *out, size_t cap);

/* A path inside srv->dir. */
void sl_srv_path(const struct sl_srv *srv, const char *file, char *out,
                 size_t cap);

#endif
