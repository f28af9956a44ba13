/*
 * Who may publish and play: the checks that need no network round trip.
 * Address rules (CIDR lists), stream keys read from a file, and signed
 * URLs (HMAC-SHA256 with an expiry).  Pure functions over immutable data
 * built when the config is loaded, so any thread may call them; the
 * session's command code (rtmp_cmd.c) runs them in this order: address,
 * key, signature, then the HTTP callback (callback.h).
 */
#ifndef SL_ACCESS_H
#define SL_ACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define SL_ACCESS_MAX_CIDRS 32

struct sl_cidr {
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t bits;   /* prefix length */
    uint8_t addr[16];
};

struct sl_cidr_list {
    int            n;
    struct sl_cidr v[SL_ACCESS_MAX_CIDRS];
};

/* "10.0.0.0/8", "192.0.2.7" (/32), "2001:db8::/32", "::1" (/128).
 * 0, or -1 when it is not an address with an optional prefix length. */
int sl_cidr_parse(const char *s, struct sl_cidr *out);

/* Whether the address (IPv4, IPv6, or IPv4-mapped IPv6, which matches
 * IPv4 rules) is inside any of the list's ranges. */
int sl_cidr_list_match(const struct sl_cidr_list     *l,
                       const struct sockaddr_storage *ss);

/* An address passes when no deny rule matches it and, if there are
 * allow rules, one of them does. */
int sl_cidr_allowed(const struct sl_cidr_list     *allow,
                    const struct sl_cidr_list     *deny,
                    const struct sockaddr_storage *ss);

/* Stream keys: a file with one key per line, optionally followed by the
 * public name the stream is published under ("KEY NAME"); blank lines
 * and lines starting with '#' are skipped.  Immutable once loaded. */
struct sl_keyset;

/* NULL with a reason (never quoting a key) in err. */
struct sl_keyset *sl_keyset_load(const char *path, char *err, size_t errlen);
void              sl_keyset_free(struct sl_keyset *k);
int               sl_keyset_count(const struct sl_keyset *k);

/* The name a publish with this key is published under (the key itself
 * when its line names none), or NULL when the key is not listed.  Keys
 * are compared in time independent of where they differ. */
const char *sl_keyset_lookup(const struct sl_keyset *k, const char *key);

/* Signed URLs: the query carries expires=UNIX and sign=HEX where
 *   HEX = hex(HMAC-SHA256(secret, "APP/NAME?expires=UNIX")).
 * Returns NULL when the signature is good and not expired at now, or the
 * reason it is refused (a constant string without any secret). */
const char *sl_sign_check(const char *secret, const char *app, const char *name,
                          const char *query, time_t now);

/* The signature for app/name expiring at expires, as 64 hex digits and
 * a NUL (tests, tools). */
void sl_sign_make(const char *secret, const char *app, const char *name,
                  long long expires, char out[65]);

/* A secret-safe rendering of a key for the log: its first two
 * characters and its length ("ab… (24 chars)"). */
void sl_mask(const char *secret, char *out, size_t cap);

#endif
