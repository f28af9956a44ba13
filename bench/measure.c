/*
 * The generator's measurements: which frames were sent when, which of
 * them every player received and how late, and what the server and the
 * generator cost over the window (/proc and getrusage).
 *
 * How a received video message is matched to the one sent.  For every
 * video frame the publisher writes, we keep (timestamp, length, hash of
 * its first bytes, wall-clock write time) in an array ordered by
 * timestamp.  Servers pass the publisher's timestamps through, but may
 * shift them by a constant (nginx-rtmp and Sluice both may re-base a
 * player's stream).  So a player's first video frame is found by its
 * length and hash among the frames sent, newest first, which gives the
 * player's offset (sent timestamp minus received timestamp); every later
 * frame is looked up by received timestamp plus offset, and its length
 * and hash are checked.  A mismatch (the server re-based again) re-runs
 * the search; a frame found nowhere is counted as unmatched.
 *
 * Delivered ratio: the frames whose publish-write time falls inside the
 * window are the ones expected; a player's count is the number of those
 * it received, however late, until a drain period after the window ends.
 * Latency: read time minus publish-write time, for the same frames, into
 * one log-linear histogram shared by all players.  Audio is published
 * too (the load is realistic) but only video is scored.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/hist.h"
#include "rtmp/flv.h"
#include "rtmp/msg.h"

#define HASH_BYTES SL_BENCH_HASH_BYTES /* bytes of a frame body hashed */
#define SATURATED_PCT 90.0

/* A video frame as published. */
struct sent {
    uint32_t ts;
    uint32_t len;
    uint64_t hash;
    int64_t  at_us; /* when its bytes were handed to the socket */
};

static struct {
    struct sent   *sent; /* ordered by timestamp */
    size_t         nsent, sent_cap;
    int64_t        win_start_us, win_end_us;
    struct sl_hist lat;
    uint64_t       mismatches;

    /* Samples at the window's edges; -1 where not taken.  cores[0] is
     * the server's pinned CPU, cores[1] ours (-1: not pinned to one).
     * The server's ticks are kept as user and system apart; also_* are
     * those of --also-pid, a second process measured alike. */
    long      rss_base, rss_end;
    long long srv_ticks0, srv_ticks1;
    long long srv_user0, srv_user1, srv_sys0, srv_sys1;
    long long also_ticks0, also_ticks1;
    int64_t   gen_cpu_us; /* at the start, then the window's use */
    int       cores[2];
    long long core0[2], core1[2];
} M;

void
sl_bench_measure_init(void)
{
    sl_hist_init(&M.lat);
    M.rss_base = M.rss_end = -1;
    M.srv_ticks0 = M.srv_ticks1 = -1;
    M.also_ticks0 = M.also_ticks1 = -1;
    for (int i = 0; i < 2; i++) {
        M.cores[i] = -1;
        M.core0[i] = M.core1[i] = -1;
    }
}

void
sl_bench_measure_free(void)
{
    free(M.sent);
    M.sent = NULL;
    M.nsent = M.sent_cap = 0;
}

/* ---- /proc ------------------------------------------------------------ */

/* utime + stime of every thread of pid, in clock ticks, and each of
 * them apart where user and sys are not NULL; -1 on error. */
static long long
proc_cpu_ticks(int pid, long long *user, long long *sys)
{
    char      path[64], buf[1024], *p;
    FILE     *fp;
    size_t    n;
    long long ut, st;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields are
     * counted from the last ')'.  utime and stime are fields 14 and 15,
     * i.e. the 12th and 13th after it. */
    p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld",
               &ut, &st) != 2)
        return -1;
    if (user != NULL)
        *user = ut;
    if (sys != NULL)
        *sys = st;
    return ut + st;
}

/* VmRSS of pid in KiB; -1 on error. */
static long
proc_rss_kb(int pid)
{
    char  path[64], line[256];
    FILE *fp;
    long  kb = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof(line), fp) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(fp);
    return kb;
}

/* Ticks one CPU spent running tasks (user, nice, system) or taken by
 * the hypervisor (steal), from /proc/stat; -1 on error.  Interrupt and
 * softirq ticks are left out: the kernel may charge that same time to
 * the task it interrupted, and counting it twice would make a quiet
 * machine look busy. */
static long long
cpu_busy_ticks(int cpu)
{
    char      line[512], name[16];
    FILE     *fp = fopen("/proc/stat", "r");
    long long busy = -1;

    if (fp == NULL)
        return -1;
    snprintf(name, sizeof(name), "cpu%d ", cpu);
    while (fgets(line, sizeof(line), fp) != NULL) {
        long long v[8] = {0};

        if (strncmp(line, name, strlen(name)) != 0)
            continue;
        if (sscanf(line + strlen(name),
                   "%lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
            busy = v[0] + v[1] + v[2] + v[7];
        break;
    }
    fclose(fp);
    return busy;
}

/* The one CPU pid is pinned to, or -1 when it may run on several. */
static int
pinned_cpu(pid_t pid)
{
    cpu_set_t set;
    int       cpu = -1;

    if (sched_getaffinity(pid, sizeof(set), &set) < 0 || CPU_COUNT(&set) != 1)
        return -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set))
            cpu = i;
    return cpu;
}

static int64_t
self_cpu_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (int64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* ---- the frames sent ---------------------------------------------------- */

/* FNV-1a over the body's length and its first HASH_BYTES bytes: cheap,
 * and frames of one encode differ there (slice headers, sizes). */
static uint64_t
frame_hash(const uint8_t *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    size_t   n = len < HASH_BYTES ? len : HASH_BYTES;

    for (unsigned i = 0; i < 4; i++) {
        h ^= (uint8_t) (len >> (8 * i));
        h *= 1099511628211ull;
    }
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

int
sl_bench_record_sent(const struct sl_flv_tag *t, uint32_t ts, int64_t at)
{
    struct sent *s;

    if (M.nsent == M.sent_cap) {
        size_t       ncap = M.sent_cap ? M.sent_cap * 2 : 4096;
        struct sent *ns = realloc(M.sent, ncap * sizeof(*ns));

        if (ns == NULL)
            return -ENOMEM;
        M.sent = ns;
        M.sent_cap = ncap;
    }
    s = &M.sent[M.nsent++];
    s->ts = ts;
    s->len = t->len;
    s->hash = frame_hash(t->body, t->len);
    s->at_us = at;
    return 0;
}

/* ---- scoring a player's video ------------------------------------------ */

/* The sent frame with timestamp ts, or NULL.  Sent frames are ordered by
 * timestamp (the file's order, passes appended). */
static const struct sent *
find_sent_ts(uint32_t ts)
{
    size_t lo = 0, hi = M.nsent;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (M.sent[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < M.nsent && M.sent[lo].ts == ts ? &M.sent[lo] : NULL;
}

/* The newest sent frame with this length and hash, or NULL. */
static const struct sent *
find_sent_hash(uint32_t len, uint64_t hash)
{
    for (size_t i = M.nsent; i-- > 0;)
        if (M.sent[i].len == len && M.sent[i].hash == hash)
            return &M.sent[i];
    return NULL;
}

void
sl_bench_score_video(struct sl_bench_conn *c, uint32_t ts, const uint8_t *head,
                     uint32_t len, int64_t at)
{
    const struct sent *s = NULL;
    struct sl_flv_info info;
    uint64_t           hash;

    /* The classification reads a few bytes; head holds up to 64. */
    sl_flv_inspect(SL_MSG_VIDEO, head, len < HASH_BYTES ? len : HASH_BYTES,
                   &info);
    if (info.seq_header || info.command || info.seq_end)
        return;
    hash = frame_hash(head, len);
    if (c->synced) {
        s = find_sent_ts(ts + (uint32_t) c->offset);
        if (s != NULL && (s->len != len || s->hash != hash)) {
            M.mismatches++;
            s = NULL;
        }
    }
    if (s == NULL) {
        s = find_sent_hash(len, hash);
        if (s == NULL) {
            c->unmatched++;
            return;
        }
        c->offset = (int32_t) (s->ts - ts);
        c->synced = 1;
    }
    if (c->in_window && s->at_us >= M.win_start_us && s->at_us < M.win_end_us) {
        c->got++;
        sl_hist_add(&M.lat, (uint64_t) (at > s->at_us ? at - s->at_us : 0));
    }
}

/* The result, human-readable or as one CSV line (see run.sh). */

/* ---- the window --------------------------------------------------------- */

void
sl_bench_measure_baseline(void)
{
    if (sl_bench.opt.server_pid > 0)
        M.rss_base = proc_rss_kb(sl_bench.opt.server_pid);
}

int64_t
sl_bench_window_open(int64_t now)
{
    int pid = sl_bench.opt.server_pid;

    /* Only players live at the start are scored; all others count as
     * 0% delivered. */
    for (unsigned i = 0; i < sl_bench.opt.players; i++)
        sl_bench.players[i].in_window = sl_bench.players[i].state == ST_LIVE;
    M.win_start_us = now;
    M.win_end_us = now + (int64_t) (sl_bench.opt.duration_s * 1e6);
    if (pid > 0)
        M.srv_ticks0 = proc_cpu_ticks(pid, &M.srv_user0, &M.srv_sys0);
    if (sl_bench.opt.also_pid > 0)
        M.also_ticks0 = proc_cpu_ticks(sl_bench.opt.also_pid, NULL, NULL);
    M.gen_cpu_us = self_cpu_us();
    /* What else ran on the two pinned cores tells whether the machine
     * was quiet (see print_table()). */
    M.cores[0] = pid > 0 ? pinned_cpu(pid) : -1;
    M.cores[1] = pinned_cpu(0);
    for (int i = 0; i < 2; i++)
        M.core0[i] = M.cores[i] >= 0 ? cpu_busy_ticks(M.cores[i]) : -1;
    return M.win_end_us;
}

void
sl_bench_window_close(int64_t now)
{
    int pid = sl_bench.opt.server_pid;

    if (pid > 0) {
        M.srv_ticks1 = proc_cpu_ticks(pid, &M.srv_user1, &M.srv_sys1);
        M.rss_end = proc_rss_kb(pid);
    }
    if (sl_bench.opt.also_pid > 0)
        M.also_ticks1 = proc_cpu_ticks(sl_bench.opt.also_pid, NULL, NULL);
    M.gen_cpu_us = self_cpu_us() - M.gen_cpu_us;
    for (int i = 0; i < 2; i++)
        M.core1[i] = M.cores[i] >= 0 ? cpu_busy_ticks(M.cores[i]) : -1;
    M.win_end_us = now;
}

/* ---- the result --------------------------------------------------------- */

/* Everything the result line shows. */
struct result {
    unsigned n, below;
    size_t   expected;
    double   min_pct, sum_pct, conn_rate;
    uint64_t unmatched;
    double   p50, p99, p999, maxl, rss_pp;
    double   window_s, srv_cpu, srv_user, srv_sys, gen_cpu;
    double   other[2]; /* others' use of the two pinned cores; -1 unknown */
    int      saturated;
};

/* CPU in % of a core over ticks t0..t1 of the window; -1 unknown. */
static double
pct(long long t0, long long t1, double window_s)
{
    if (t0 < 0 || t1 < 0 || window_s <= 0)
        return -1;
    return 100.0 * (double) (t1 - t0) / (double) sysconf(_SC_CLK_TCK) /
           window_s;
}

void
sl_bench_window_loads(struct sl_bench_loads *l)
{
    int also_here;

    l->window_s = (M.win_end_us - M.win_start_us) / 1e6;
    l->srv_cpu = pct(M.srv_ticks0, M.srv_ticks1, l->window_s);
    l->srv_user = pct(M.srv_user0, M.srv_user1, l->window_s);
    l->srv_sys = pct(M.srv_sys0, M.srv_sys1, l->window_s);
    l->also_cpu = pct(M.also_ticks0, M.also_ticks1, l->window_s);
    l->gen_cpu = 100.0 * (double) M.gen_cpu_us / 1e6 / l->window_s;
    l->rss_base = M.rss_base;
    l->rss_end = M.rss_end;
    /* A second process pinned to the server's core is ours too, not
     * other load. */
    also_here = l->also_cpu >= 0 && M.cores[0] >= 0 &&
                pinned_cpu(sl_bench.opt.also_pid) == M.cores[0];
    for (int i = 0; i < 2; i++) {
        double own = i == 1 ? l->gen_cpu
                     : l->srv_cpu < 0
                         ? -1
                         : l->srv_cpu + (also_here ? l->also_cpu : 0);

        l->other[i] = -1; /* unknown: not pinned to one core */
        if (M.core0[i] >= 0 && M.core1[i] >= 0 && own >= 0) {
            l->other[i] = pct(M.core0[i], M.core1[i], l->window_s) - own;
            if (l->other[i] < 0)
                l->other[i] = 0; /* tick rounding */
        }
    }
    l->saturated = l->gen_cpu > SATURATED_PCT;
}

int
sl_bench_in_window(int64_t at)
{
    return M.win_start_us != 0 && at >= M.win_start_us && at < M.win_end_us;
}

/* The loads the result line shows. */
static void
window_loads(struct result *r)
{
    struct sl_bench_loads l;

    sl_bench_window_loads(&l);
    r->window_s = l.window_s;
    r->srv_cpu = l.srv_cpu;
    r->srv_user = l.srv_user;
    r->srv_sys = l.srv_sys;
    r->gen_cpu = l.gen_cpu;
    r->other[0] = l.other[0];
    r->other[1] = l.other[1];
    r->saturated = l.saturated;
}

/* Delivered ratios, connection rate, latency and memory per player. */
static void
window_delivery(struct result *r)
{
    r->n = sl_bench.opt.players;
    r->min_pct = 100.0;
    for (size_t i = 0; i < M.nsent; i++)
        if (M.sent[i].at_us >= M.win_start_us && M.sent[i].at_us < M.win_end_us)
            r->expected++;
    /* Every player counts, also those that never played or dropped: a
     * player that got nothing delivered 0%. */
    for (unsigned i = 0; i < r->n; i++) {
        struct sl_bench_conn *c = &sl_bench.players[i];
        double pct = r->expected ? 100.0 * c->got / (double) r->expected : 0;

        if (pct > 100.0)
            pct = 100.0;
        if (pct < r->min_pct)
            r->min_pct = pct;
        if (pct < 98.0)
            r->below++;
        r->sum_pct += pct;
        r->unmatched += c->unmatched;
    }
    if (r->n == 0)
        r->min_pct = 0;
    if (sl_bench.playing > 0 &&
        sl_bench.last_start_us > sl_bench.first_connect_us)
        r->conn_rate =
            sl_bench.playing * 1e6 /
            (double) (sl_bench.last_start_us - sl_bench.first_connect_us);
    r->p50 = sl_hist_quantile(&M.lat, 0.50) / 1000.0;
    r->p99 = sl_hist_quantile(&M.lat, 0.99) / 1000.0;
    r->p999 = sl_hist_quantile(&M.lat, 0.999) / 1000.0;
    r->maxl = M.lat.max / 1000.0;
    r->rss_pp = -1;
    if (M.rss_base >= 0 && M.rss_end >= 0 && r->n > 0)
        r->rss_pp = (double) (M.rss_end - M.rss_base) / r->n;
}

/* The result as one CSV line (see run.sh). */
static void
print_csv(const struct result *r)
{
    /* players,playing,failed,dropped,expected,min%,avg%,below98,
     * p50,p99,p999,max,conn/s,srv_cpu%,rss_base,rss_end,rss/player,
     * gen_cpu%,saturated,unmatched,mismatches,window_s,
     * other_on_server_core%,other_on_generator_core%,srv_user%,
     * srv_sys% (the last two added later: scripts that count fields
     * from the start are not disturbed) */
    printf("%u,%u,%u,%u,%zu,%.2f,%.2f,%u,%.1f,%.1f,%.1f,%.1f,%.0f,"
           "%.1f,%ld,%ld,%.2f,%.1f,%d,%llu,%llu,%.1f,%.1f,%.1f,%.2f,%.2f\n",
           r->n, sl_bench.playing, sl_bench.failed, sl_bench.dropped,
           r->expected, r->min_pct, r->n ? r->sum_pct / r->n : 0, r->below,
           r->p50, r->p99, r->p999, r->maxl, r->conn_rate, r->srv_cpu,
           M.rss_base, M.rss_end, r->rss_pp, r->gen_cpu, r->saturated,
           (unsigned long long) r->unmatched, (unsigned long long) M.mismatches,
           r->window_s, r->other[0], r->other[1], r->srv_user, r->srv_sys);
}

/* The result, human-readable. */
static void
print_table(const struct result *r)
{
    printf("players %u: playing %u, failed %u, dropped %u\n", r->n,
           sl_bench.playing, sl_bench.failed, sl_bench.dropped);
    printf("delivered: %zu frames expected per player in %.1f s; "
           "min %.2f%%, avg %.2f%%, %u players below 98%%\n",
           r->expected, r->window_s, r->min_pct, r->n ? r->sum_pct / r->n : 0,
           r->below);
    printf("latency: p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms "
           "(%llu frames)\n",
           r->p50, r->p99, r->p999, r->maxl, (unsigned long long) M.lat.count);
    printf("connections: %.0f per second\n", r->conn_rate);
    if (sl_bench.opt.server_pid > 0)
        printf("server: cpu %.1f%%, rss %ld KiB before players, %ld KiB at "
               "end, %.2f KiB per player\n",
               r->srv_cpu, M.rss_base, M.rss_end, r->rss_pp);
    printf("generator: cpu %.1f%%%s\n", r->gen_cpu,
           r->saturated ? "  SATURATED: the numbers above are suspect" : "");
    /* Time on the pinned cores beyond the server's and our own: other
     * processes (pinning keeps us off other cores, not others off ours)
     * and steal.  Much of it means latency and delivery are noisy. */
    if (r->other[0] >= 0 || r->other[1] >= 0)
        printf("other load: %.1f%% on the server's core, %.1f%% on ours\n",
               r->other[0], r->other[1]);
    if (r->unmatched || M.mismatches)
        printf("unmatched frames %llu, timestamp/content mismatches %llu\n",
               (unsigned long long) r->unmatched,
               (unsigned long long) M.mismatches);
}

void
sl_bench_report(void)
{
    struct result r = {0};

    window_loads(&r);
    window_delivery(&r);
    if (sl_bench.opt.csv)
        print_csv(&r);
    else
        print_table(&r);
}
