/*
 * The per-address table.  See iplimit.h for the contract.
 *
 * Layout: NSTRIPES stripes, each a power-of-two array of entries under
 * its own mutex.  A key's hash picks the stripe and a home slot; the key
 * may sit anywhere in the WINDOW slots from its home (wrapping inside
 * the stripe).  Lookups always scan the whole window instead of stopping
 * at an empty slot, so freeing an entry is just clearing it: no
 * tombstones, no rehash, and every operation costs at most WINDOW
 * compares under one short lock.
 *
 * The hash is keyed with random seeds chosen when the table is made, so
 * a client cannot pick addresses that all land in one window (it never
 * sees the hash).
 *
 * Room: an entry whose address holds no connection is only rate
 * history.  It is freed at once when its bucket is full at release (it
 * would be recreated identical), and otherwise reused for a new address
 * when the window has no free slot (the least recently used first:
 * losing its history only makes us more lenient to that address).  Only
 * a window full of addresses that all hold connections refuses.
 *
 * Tokens are counted in thousandths so a refill over a few milliseconds
 * at a low rate is not rounded away.
 *
 * Counts: live is every connection the address holds (it keeps the
 * entry); pending and players are the parts of live its tickets say
 * (enum sl_ipstate), so pending + players <= live, the rest being
 * publishers and connections closing after a role.  A ticket's state
 * and the counts change together under the stripe's lock; the state
 * field itself is the owner's alone.
 */
#include "server/iplimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define NSTRIPES 64
#define WINDOW 32
#define MIN_CAPACITY 1024
#define MAX_CAPACITY (1u << 22)
#define MILLI 1000u
#define NLOGGED 3   /* per-entry log state: per_ip, rate, pending */
#define LOG_RATE 20 /* lines a second for all addresses together */

struct ent {
    struct sl_ipkey key;
    uint8_t         used;
    uint32_t        live;            /* connections the address holds now */
    uint32_t        pending;         /* of them: neither publish nor play */
    uint32_t        players;         /* of them: playing */
    uint32_t        rate;            /* the limits of the last acquire, so a */
    uint32_t        burst;           /* release can tell a full bucket */
    uint64_t        tokens;          /* thousandths of a token, as of stamp */
    uint64_t        stamp;           /* ms of the last refill */
    uint64_t        log_ms[NLOGGED]; /* last line per reason, 0: none */
    uint32_t        quiet[NLOGGED];  /* refusals not logged since */
};

struct stripe {
    pthread_mutex_t lock;
    struct ent     *ents;
};

struct sl_iplimit {
    atomic_uint   refs;
    size_t        per_stripe; /* power of two */
    uint64_t      seed[2];
    atomic_size_t used;
    atomic_ullong underflows;

    /* The line budget shared by all addresses, and the log state of
     * refusals that have no entry (table full, max_connections).  A
     * leaf lock: taken under a stripe lock, nothing under it. */
    pthread_mutex_t log_lock;
    uint64_t        budget; /* thousandths of a line */
    uint64_t        budget_stamp;
    uint64_t        glog_ms[SL_REFUSE_N];
    uint32_t        gquiet[SL_REFUSE_N];

    struct stripe stripes[NSTRIPES];
};

static const char *const refuse_names[SL_REFUSE_N] = {
    "per_ip", "rate", "pending", "max", "table_full",
};

const char *
sl_refuse_name(enum sl_refuse r)
{
    return (unsigned) r < SL_REFUSE_N ? refuse_names[r] : "?";
}

enum sl_refuse
sl_iplimit_reason(int rc)
{
    if (rc == -EUSERS)
        return SL_REFUSE_PER_IP;
    if (rc == -EAGAIN)
        return SL_REFUSE_RATE;
    return SL_REFUSE_TABLE_FULL;
}

struct sl_iplimit *
sl_iplimit_new(size_t capacity)
{
    struct sl_iplimit *t = calloc(1, sizeof(*t));
    size_t             cap = MIN_CAPACITY;

    if (t == NULL)
        return NULL;
    while (cap < capacity && cap < MAX_CAPACITY)
        cap *= 2;
    atomic_init(&t->refs, 1);
    atomic_init(&t->used, 0);
    atomic_init(&t->underflows, 0);
    t->per_stripe = cap / NSTRIPES;
    if (getrandom(t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed)) {
        /* No entropy yet (early boot): the address of the table and the
         * clock are weak seeds, but still not known to a client. */
        t->seed[0] = (uint64_t) (uintptr_t) t ^ 0x5bd1e995u;
        t->seed[1] = (uint64_t) time(NULL) * 0x9e3779b97f4a7c15ull;
    }
    pthread_mutex_init(&t->log_lock, NULL);
    t->budget = (uint64_t) LOG_RATE * MILLI;
    for (int i = 0; i < NSTRIPES; i++)
        pthread_mutex_init(&t->stripes[i].lock, NULL);
    for (int i = 0; i < NSTRIPES; i++) {
        t->stripes[i].ents = calloc(t->per_stripe, sizeof(struct ent));
        if (t->stripes[i].ents == NULL) {
            sl_iplimit_unref(t);
            return NULL;
        }
    }
    return t;
}

void
sl_iplimit_ref(struct sl_iplimit *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void
sl_iplimit_unref(struct sl_iplimit *t)
{
    if (t == NULL ||
        atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (int i = 0; i < NSTRIPES; i++) {
        free(t->stripes[i].ents);
        pthread_mutex_destroy(&t->stripes[i].lock);
    }
    pthread_mutex_destroy(&t->log_lock);
    free(t);
}

int
sl_ipkey_from_sockaddr(const struct sockaddr_storage *ss, struct sl_ipkey *k)
{
    memset(k, 0, sizeof(*k));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *) ss;

        k->b[10] = k->b[11] = 0xff;
        memcpy(k->b + 12, &a->sin_addr, 4);
        return 0;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *) ss;

        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            memcpy(k->b, &a->sin6_addr, 16);
        else
            memcpy(k->b, &a->sin6_addr, 8); /* the /64 prefix */
        return 0;
    }
    return -EAFNOSUPPORT;
}

static int
key_is_v4(const struct sl_ipkey *k)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};

    return memcmp(k->b, prefix, sizeof(prefix)) == 0;
}

void
sl_ipkey_format(const struct sl_ipkey *k, char *buf, size_t cap)
{
    char s[INET6_ADDRSTRLEN] = "?";

    if (key_is_v4(k)) {
        inet_ntop(AF_INET, k->b + 12, s, sizeof(s));
        snprintf(buf, cap, "%s", s);
    } else {
        inet_ntop(AF_INET6, k->b, s, sizeof(s));
        snprintf(buf, cap, "%s/64", s);
    }
}

static uint64_t
mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 32);
}

static uint64_t
hash_key(const struct sl_iplimit *t, const struct sl_ipkey *k)
{
    uint64_t lo, hi;

    memcpy(&lo, k->b, 8);
    memcpy(&hi, k->b + 8, 8);
    return mix(mix(lo ^ t->seed[0]) ^ hi ^ t->seed[1]);
}

/* The stripe of key (locked by the caller) and its home slot. */
static struct stripe *
stripe_of(struct sl_iplimit *t, const struct sl_ipkey *k, size_t *home)
{
    uint64_t h = hash_key(t, k);

    *home = (size_t) (h >> 8) & (t->per_stripe - 1);
    return &t->stripes[h % NSTRIPES];
}

static size_t
window(const struct sl_iplimit *t)
{
    return t->per_stripe < WINDOW ? t->per_stripe : WINDOW;
}

static struct ent *
find(struct sl_iplimit *t, struct stripe *st, size_t home,
     const struct sl_ipkey *k)
{
    for (size_t i = 0; i < window(t); i++) {
        struct ent *e = &st->ents[(home + i) & (t->per_stripe - 1)];

        if (e->used && memcmp(&e->key, k, sizeof(*k)) == 0)
            return e;
    }
    return NULL;
}

/* A slot for a new key: a free one, else the least recently refilled
 * entry that holds no connection; NULL when every slot is live. */
static struct ent *
make_room(struct sl_iplimit *t, struct stripe *st, size_t home)
{
    struct ent *idle = NULL;

    for (size_t i = 0; i < window(t); i++) {
        struct ent *e = &st->ents[(home + i) & (t->per_stripe - 1)];

        if (!e->used)
            return e;
        if (e->live == 0 && (idle == NULL || e->stamp < idle->stamp))
            idle = e;
    }
    if (idle != NULL)
        atomic_fetch_sub_explicit(&t->used, 1, memory_order_relaxed);
    return idle;
}

static void
refill(struct ent *e, uint64_t now)
{
    uint64_t cap = (uint64_t) e->burst * MILLI;

    if (e->rate == 0) {
        e->tokens = cap;
    } else if (now > e->stamp) {
        uint64_t dt = now - e->stamp;

        /* rate tokens a second are rate thousandths a millisecond; a
         * long pause just fills the bucket (and cannot overflow). */
        if (dt > cap / e->rate + 1)
            e->tokens = cap;
        else
            e->tokens += dt * e->rate;
    }
    if (e->tokens > cap)
        e->tokens = cap;
    if (now > e->stamp)
        e->stamp = now;
}

int
sl_iplimit_acquire(struct sl_iplimit *t, const struct sl_ipkey *key,
                   const struct sl_iplimit_conf *c, uint64_t now_ms,
                   struct sl_ipticket *tk)
{
    struct stripe *st;
    struct ent    *e;
    size_t         home;
    int            rc = 0;

    tk->held = 0;
    st = stripe_of(t, key, &home);
    pthread_mutex_lock(&st->lock);
    e = find(t, st, home, key);
    if (e == NULL) {
        e = make_room(t, st, home);
        if (e == NULL) {
            pthread_mutex_unlock(&st->lock);
            /* With every per-address limit off there is nothing to
             * enforce: admit it untracked rather than refuse. */
            if (c->max_pending == 0 && c->rate == 0 && c->max_players == 0)
                return 0;
            return -ENOSPC;
        }
        memset(e, 0, sizeof(*e));
        e->used = 1;
        e->key = *key;
        e->stamp = now_ms;
        e->tokens = (uint64_t) (c->burst ? c->burst : 1) * MILLI;
        atomic_fetch_add_explicit(&t->used, 1, memory_order_relaxed);
    }
    /* A reload may have changed the limits: the bucket takes the new
     * ones from now on. */
    e->rate = c->rate;
    e->burst = c->burst ? c->burst : 1;
    refill(e, now_ms);
    if (c->max_pending != 0 && e->pending >= c->max_pending)
        rc = -EUSERS;
    else if (c->rate != 0 && e->tokens < MILLI)
        rc = -EAGAIN;
    if (rc == 0) {
        if (c->rate != 0)
            e->tokens -= MILLI;
        e->live++;
        e->pending++;
    }
    pthread_mutex_unlock(&st->lock);
    if (rc == 0) {
        sl_iplimit_ref(t);
        tk->key = *key;
        tk->table = t;
        tk->held = 1;
        tk->state = SL_IPSTATE_PENDING;
    }
    return rc;
}

/* The count of e that state s is part of; NULL for SL_IPSTATE_OTHER. */
static uint32_t *
count_of(struct ent *e, unsigned s)
{
    return s == SL_IPSTATE_PENDING  ? &e->pending
           : s == SL_IPSTATE_PLAYER ? &e->players
                                    : NULL;
}

/* Takes one from *n; an empty count is our bug, counted as such. */
static void
count_down(struct sl_iplimit *t, uint32_t *n)
{
    if (n == NULL)
        return;
    if (*n == 0)
        atomic_fetch_add_explicit(&t->underflows, 1, memory_order_relaxed);
    else
        (*n)--;
}

int
sl_iplimit_move(struct sl_ipticket *tk, enum sl_ipstate to, uint32_t max)
{
    struct sl_iplimit *t = tk->table;
    struct stripe     *st;
    struct ent        *e;
    size_t             home;
    uint32_t          *n;
    int                rc = 0;

    if (!tk->held || tk->state == (uint8_t) to)
        return 0;
    st = stripe_of(t, &tk->key, &home);
    pthread_mutex_lock(&st->lock);
    e = find(t, st, home, &tk->key);
    if (e == NULL) {
        /* A held ticket's entry is live and never reused: our bug.  The
         * ticket still follows, so its release counts the right way. */
        atomic_fetch_add_explicit(&t->underflows, 1, memory_order_relaxed);
    } else if (to == SL_IPSTATE_PENDING && max != 0 && e->pending >= max) {
        rc = -EUSERS;
    } else {
        count_down(t, count_of(e, tk->state));
        n = count_of(e, to);
        if (n != NULL)
            (*n)++;
    }
    pthread_mutex_unlock(&st->lock);
    if (rc == 0)
        tk->state = (uint8_t) to;
    return rc;
}

int
sl_iplimit_may_play(const struct sl_ipticket *tk, uint32_t max_players)
{
    struct sl_iplimit *t = tk->table;
    struct stripe     *st;
    struct ent        *e;
    size_t             home;
    int                rc = 0;

    if (!tk->held || max_players == 0 || tk->state == SL_IPSTATE_PLAYER)
        return 0;
    st = stripe_of(t, &tk->key, &home);
    pthread_mutex_lock(&st->lock);
    e = find(t, st, home, &tk->key);
    if (e != NULL && e->players >= max_players)
        rc = -EUSERS;
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void
sl_iplimit_release(struct sl_ipticket *tk)
{
    struct sl_iplimit *t = tk->table;
    struct stripe     *st;
    struct ent        *e;
    size_t             home;

    if (!tk->held)
        return;
    tk->held = 0;
    st = stripe_of(t, &tk->key, &home);
    pthread_mutex_lock(&st->lock);
    e = find(t, st, home, &tk->key);
    if (e == NULL || e->live == 0) {
        /* Live entries are never reused, so this is our bug. */
        atomic_fetch_add_explicit(&t->underflows, 1, memory_order_relaxed);
    } else {
        count_down(t, count_of(e, tk->state));
        if (--e->live == 0 &&
            (e->rate == 0 || e->tokens >= (uint64_t) e->burst * MILLI)) {
            /* Nothing of it is worth keeping: no rate limit, or a
             * bucket that was full at the last acquire.  Otherwise it
             * stays as rate history until its slot is needed. */
            e->used = 0;
            atomic_fetch_sub_explicit(&t->used, 1, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&st->lock);
    sl_iplimit_unref(t);
}

/* Takes one line from the shared budget: LOG_RATE a second, up to two
 * seconds' worth saved.  log_lock held. */
static int
take_line(struct sl_iplimit *t, uint64_t now)
{
    uint64_t cap = (uint64_t) LOG_RATE * 2 * MILLI;

    if (now > t->budget_stamp) {
        uint64_t dt = now - t->budget_stamp;

        t->budget = dt > cap ? cap : t->budget + dt * LOG_RATE;
        if (t->budget > cap)
            t->budget = cap;
        t->budget_stamp = now;
    }
    if (t->budget < MILLI)
        return 0;
    t->budget -= MILLI;
    return 1;
}

/* At most one line per interval_ms for one log state (last, quiet),
 * within the shared budget.  log_lock held. */
static int
decide(struct sl_iplimit *t, uint64_t *last, uint32_t *quiet, uint64_t now,
       uint32_t interval_ms, uint32_t *suppressed)
{
    if ((*last != 0 && now < *last + interval_ms) || !take_line(t, now)) {
        if (*quiet < UINT32_MAX)
            (*quiet)++;
        return 0;
    }
    *suppressed = *quiet;
    *quiet = 0;
    *last = now ? now : 1; /* 0 means never */
    return 1;
}

int
sl_iplimit_should_log(struct sl_iplimit *t, const struct sl_ipkey *key,
                      enum sl_refuse reason, uint64_t now_ms,
                      uint32_t interval_ms, uint32_t *suppressed)
{
    int rc;

    *suppressed = 0;
    if ((unsigned) reason >= SL_REFUSE_N)
        return 0;
    if (key != NULL && (unsigned) reason < NLOGGED) {
        struct stripe *st;
        struct ent    *e;
        size_t         home;

        st = stripe_of(t, key, &home);
        pthread_mutex_lock(&st->lock);
        e = find(t, st, home, key);
        if (e != NULL) {
            /* Lock order: stripe, then log_lock (a leaf). */
            pthread_mutex_lock(&t->log_lock);
            rc = decide(t, &e->log_ms[reason], &e->quiet[reason], now_ms,
                        interval_ms, suppressed);
            pthread_mutex_unlock(&t->log_lock);
            pthread_mutex_unlock(&st->lock);
            return rc;
        }
        pthread_mutex_unlock(&st->lock);
    }
    /* No entry for it (table full, max_connections, or an entry freed
     * meanwhile): one line per reason for all such refusals together. */
    pthread_mutex_lock(&t->log_lock);
    rc = decide(t, &t->glog_ms[reason], &t->gquiet[reason], now_ms, interval_ms,
                suppressed);
    pthread_mutex_unlock(&t->log_lock);
    return rc;
}

/* One count of key's entry (0 when it has none), by its offset. */
static uint32_t
count_at(struct sl_iplimit *t, const struct sl_ipkey *key, size_t off)
{
    struct stripe *st;
    struct ent    *e;
    size_t         home;
    uint32_t       n = 0;

    st = stripe_of(t, key, &home);
    pthread_mutex_lock(&st->lock);
    e = find(t, st, home, key);
    if (e != NULL)
        memcpy(&n, (const char *) e + off, sizeof(n));
    pthread_mutex_unlock(&st->lock);
    return n;
}

uint32_t
sl_iplimit_live(struct sl_iplimit *t, const struct sl_ipkey *key)
{
    return count_at(t, key, offsetof(struct ent, live));
}

uint32_t
sl_iplimit_pending(struct sl_iplimit *t, const struct sl_ipkey *key)
{
    return count_at(t, key, offsetof(struct ent, pending));
}

uint32_t
sl_iplimit_players(struct sl_iplimit *t, const struct sl_ipkey *key)
{
    return count_at(t, key, offsetof(struct ent, players));
}

size_t
sl_iplimit_used(struct sl_iplimit *t)
{
    return atomic_load_explicit(&t->used, memory_order_relaxed);
}

uint64_t
sl_iplimit_underflows(struct sl_iplimit *t)
{
    return atomic_load_explicit(&t->underflows, memory_order_relaxed);
}
