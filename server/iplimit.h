/*
 * Per-address connection limits: how many connections an address holds
 * now, and a token bucket of how fast it may open new ones.  The
 * acceptors ask before a session exists (sl_iplimit_acquire); a session
 * gives its slot back when it is destroyed (sl_iplimit_release).
 *
 * An address is an IPv4 address, or the /64 prefix of an IPv6 address
 * (one subscriber usually gets a whole /64, so single IPv6 addresses
 * would be free for the taking).  IPv4-mapped IPv6 addresses (a dual
 * stack listener) count as the IPv4 address.
 *
 * The table is a fixed array of entries cut into stripes, each with its
 * own mutex; it never grows.  An entry lives while its address holds a
 * connection; after that it is kept only for its rate history and is
 * reused for another address when space runs out (see iplimit.c).  When
 * every candidate slot is held by live connections, acquire refuses
 * (SL_IPLIMIT_FULL).
 *
 * The table is refcounted: whoever creates it holds one reference and
 * every slot held by a connection holds one, so a session that ends
 * after the listener stopped still releases into live memory.
 */
#ifndef SL_IPLIMIT_H
#define SL_IPLIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address as the table counts it: IPv4 as ::ffff:a.b.c.d, IPv6 as
 * its first 8 bytes followed by zeros. */
struct sl_ipkey {
    uint8_t b[16];
};

/* The limits in force for one acquire (the current config's). */
struct sl_iplimit_conf {
    uint32_t max_per_ip; /* connections held at once; 0: no limit */
    uint32_t rate;       /* new connections per second; 0: no limit */
    uint32_t burst;      /* bucket size, >= 1 when rate > 0 */
};

/* Why a connection was refused; also the index of the refusal counters
 * (struct sl_server.refused) and the metric's reason label. */
enum sl_refuse {
    SL_REFUSE_PER_IP = 0, /* the address holds max_per_ip already */
    SL_REFUSE_RATE,       /* the address's bucket is empty */
    SL_REFUSE_PENDING,    /* max_pending sessions are pending */
    SL_REFUSE_MAX,        /* max_connections reached */
    SL_REFUSE_TABLE_FULL, /* no room in the address table */
    SL_REFUSE_N
};

/* "per_ip", "rate", "pending", "max", "table_full". */
const char *sl_refuse_name(enum sl_refuse r);

/* A slot held for one connection.  held is 1 between a successful
 * acquire and the release; release clears it, so a second release of
 * the same ticket does nothing. */
struct sl_ipticket {
    struct sl_ipkey    key;
    struct sl_iplimit *table;
    uint8_t            held;
};

struct sl_iplimit;

/* A table of at least capacity entries (rounded up to a power of two,
 * at least 1024, at most 1 << 22), with one reference for the caller.
 * NULL when out of memory. */
struct sl_iplimit *sl_iplimit_new(size_t capacity);
/* Any thread.  The last unref frees the table. */
void sl_iplimit_ref(struct sl_iplimit *t);
void sl_iplimit_unref(struct sl_iplimit *t);

/* The key of a peer address.  0, or -EAFNOSUPPORT for anything that is
 * not IPv4 or IPv6 (such a peer is not limited). */
int sl_ipkey_from_sockaddr(const struct sockaddr_storage *ss,
                           struct sl_ipkey               *k);
/* "192.0.2.1" or "2001:db8:1:2::/64" into buf. */
void sl_ipkey_format(const struct sl_ipkey *k, char *buf, size_t cap);

/* Admits one more connection of key under c at time now_ms (monotonic
 * milliseconds, passed in so tests can drive the clock).  The count is
 * checked before the bucket, and a refused attempt takes no token.
 * Returns 0 with *tk held (it carries a table reference), or
 * -EUSERS (the address holds max_per_ip), -EAGAIN (its bucket is
 * empty), -ENOSPC (no room in the table).  With both limits off (0) a
 * table without room admits: 0 with *tk not held.  Any thread. */
int sl_iplimit_acquire(struct sl_iplimit *t, const struct sl_ipkey *key,
                       const struct sl_iplimit_conf *c, uint64_t now_ms,
                       struct sl_ipticket *tk);
/* The refusal reason of a negative acquire result. */
enum sl_refuse sl_iplimit_reason(int rc);

/* Gives back the slot of tk if it is held (then clears held and drops
 * the table reference it carried).  Any thread. */
void sl_iplimit_release(struct sl_ipticket *tk);

/* Whether a refusal of key for reason should be logged now: at most one
 * line per address and reason per interval_ms, and a line budget for
 * all addresses together (20 a second) so that a flood from many
 * addresses cannot flood the log either.  Returns 1 with *suppressed
 * set to the refusals not logged since the last line, or 0 (this one
 * is counted as suppressed).  Any thread. */
int sl_iplimit_should_log(struct sl_iplimit *t, const struct sl_ipkey *key,
                          enum sl_refuse reason, uint64_t now_ms,
                          uint32_t interval_ms, uint32_t *suppressed);

/* For tests and the API: connections key holds now (0 when unknown),
 * entries in use, and releases that found nothing to release (a bug if
 * ever > 0). */
uint32_t sl_iplimit_live(struct sl_iplimit *t, const struct sl_ipkey *key);
size_t   sl_iplimit_used(struct sl_iplimit *t);
uint64_t sl_iplimit_underflows(struct sl_iplimit *t);

#endif
