/*
 * Per-address connection limits: how many pending connections an
 * address holds now (accepted, but neither publishing nor playing yet),
 * how many players, and a token bucket of how fast it may open new
 * connections.  The acceptors ask before a session exists
 * (sl_iplimit_acquire: a new connection is pending); the session moves
 * its slot as its connection takes a role and gives it up
 * (sl_iplimit_move, conn.c), and gives the slot back when it is
 * destroyed (sl_iplimit_release).
 *
 * Only pending connections are capped by default: they are what a
 * flood is made of, while hundreds of real viewers behind one NAT,
 * office or proxy are one address too.  Players have a cap of their own
 * (max_players_per_ip), off by default.
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
    uint32_t max_pending; /* pending connections at once; 0: no limit */
    uint32_t rate;        /* new connections per second; 0: no limit */
    uint32_t burst;       /* bucket size, >= 1 when rate > 0 */
    /* Players at once; 0: no limit.  Not checked by acquire (see
     * sl_iplimit_may_play), but a connection the table has no room for
     * is admitted untracked only when this is off too. */
    uint32_t max_players;
};

/* Why a connection was refused; also the index of the refusal counters
 * (struct sl_server.refused) and the metric's reason label. */
enum sl_refuse {
    SL_REFUSE_PER_IP = 0, /* the address holds max_pending already */
    SL_REFUSE_RATE,       /* the address's bucket is empty */
    SL_REFUSE_PENDING,    /* max_pending sessions are pending */
    SL_REFUSE_MAX,        /* max_connections reached */
    SL_REFUSE_TABLE_FULL, /* no room in the address table */
    SL_REFUSE_N
};

/* "per_ip", "rate", "pending", "max", "table_full". */
const char *sl_refuse_name(enum sl_refuse r);

/* What a held slot's connection counts as in its address's entry
 * (besides the count of all its connections, which keeps the entry). */
enum sl_ipstate {
    SL_IPSTATE_PENDING = 0, /* in a handshake, or connected without a
                             * role: counts against max_pending */
    SL_IPSTATE_OTHER,       /* publishing, or closing after a role:
                             * counts in neither cap */
    SL_IPSTATE_PLAYER       /* playing: counts against max_players */
};

/* A slot held for one connection.  held is 1 between a successful
 * acquire and the release; release clears it, so a second release of
 * the same ticket does nothing.  state is the ticket's (enum
 * sl_ipstate), changed by sl_iplimit_move only.  A ticket has one owner
 * at a time (the acceptor, then its session), which alone may move or
 * release it. */
struct sl_ipticket {
    struct sl_ipkey    key;
    struct sl_iplimit *table;
    uint8_t            held;
    uint8_t            state;
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
 * milliseconds, passed in so tests can drive the clock), as pending.
 * The pending count is checked before the bucket, and a refused attempt
 * takes no token.  Returns 0 with *tk held and pending (it carries a
 * table reference), or -EUSERS (the address holds max_pending pending
 * connections), -EAGAIN (its bucket is empty), -ENOSPC (no room in the
 * table).  With every limit of c off (0) a table without room admits: 0
 * with *tk not held.  Any thread. */
int sl_iplimit_acquire(struct sl_iplimit *t, const struct sl_ipkey *key,
                       const struct sl_iplimit_conf *c, uint64_t now_ms,
                       struct sl_ipticket *tk);
/* The refusal reason of a negative acquire result. */
enum sl_refuse sl_iplimit_reason(int rc);

/* Moves the connection of tk to state to (from whatever it counts as
 * now).  Entering SL_IPSTATE_PENDING from another state checks the
 * address's pending count against max (0: no limit) and refuses with
 * -EUSERS when it holds max already: tk is then left as it was.  Every
 * other move succeeds whatever max says (a play is checked before it
 * starts, by sl_iplimit_may_play).  0 also when tk is not held (nothing
 * is counted) or already in that state.  The ticket's owner; the count
 * changes under the stripe's lock, so acceptors and other sessions of
 * the address may run at the same time. */
int sl_iplimit_move(struct sl_ipticket *tk, enum sl_ipstate to, uint32_t max);

/* Whether the connection of tk may start playing under max_players
 * (0: no limit): 0, or -EUSERS when the address holds max_players
 * players already (a connection that plays already is never refused).
 * It only looks: the count changes when the play has started
 * (sl_iplimit_move).  So plays of one address that start at the same
 * moment on different workers can pass together, and the address can
 * hold a few more than max_players: at most one more per other worker.
 * The ticket's owner. */
int sl_iplimit_may_play(const struct sl_ipticket *tk, uint32_t max_players);

/* Gives back the slot of tk if it is held, whatever its state (then
 * clears held and drops the table reference it carried).  Any thread. */
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
 * how many of them are pending and how many play, entries in use, and
 * releases or moves that found nothing to count down (a bug if ever
 * > 0). */
uint32_t sl_iplimit_live(struct sl_iplimit *t, const struct sl_ipkey *key);
uint32_t sl_iplimit_pending(struct sl_iplimit *t, const struct sl_ipkey *key);
uint32_t sl_iplimit_players(struct sl_iplimit *t, const struct sl_ipkey *key);
size_t   sl_iplimit_used(struct sl_iplimit *t);
uint64_t sl_iplimit_underflows(struct sl_iplimit *t);

#endif
