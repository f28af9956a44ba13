/*
 * Address rules, stream keys and signed URLs (see access.h).
 */
#include "server/access.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/query.h"

#define KEYSET_MAX 100000 /* lines; a bigger file is refused */
#define KEY_MAX 256
#define SIGN_HEX_LEN 64

int
sl_cidr_parse(const char *s, struct sl_cidr *out)
{
    char        host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t      hlen = slash != NULL ? (size_t) (slash - s) : strlen(s);
    int         maxbits;
    long        bits;

    memset(out, 0, sizeof(*out));
    if (hlen == 0 || hlen >= sizeof(host))
        return -1;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        maxbits = 32;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        maxbits = 128;
    } else {
        return -1;
    }
    bits = maxbits;
    if (slash != NULL) {
        char *end;

        if (!isdigit((unsigned char) slash[1]))
            return -1;
        errno = 0;
        bits = strtol(slash + 1, &end, 10);
        if (errno != 0 || *end != '\0' || bits < 0 || bits > maxbits)
            return -1;
    }
    out->bits = (uint8_t) bits;
    return 0;
}

static int
prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, (size_t) whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((a[whole] ^ b[whole]) & (0xff << (8 - rest))) == 0;
}

int
sl_cidr_list_match(const struct sl_cidr_list     *l,
                   const struct sockaddr_storage *ss)
{
    uint8_t              v4[4], v6[16];
    int                  has4 = 0, has6 = 0;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};

    if (ss->ss_family == AF_INET) {
        memcpy(v4, &((const struct sockaddr_in *) ss)->sin_addr, 4);
        has4 = 1;
    } else if (ss->ss_family == AF_INET6) {
        memcpy(v6, &((const struct sockaddr_in6 *) ss)->sin6_addr, 16);
        has6 = 1;
        /* A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d. */
        if (!memcmp(v6, mapped, sizeof(mapped))) {
            memcpy(v4, v6 + 12, 4);
            has4 = 1;
        }
    }
    for (int i = 0; i < l->n; i++) {
        const struct sl_cidr *c = &l->v[i];

        if (c->family == AF_INET && has4 && prefix_equal(c->addr, v4, c->bits))
            return 1;
        if (c->family == AF_INET6 && has6 && prefix_equal(c->addr, v6, c->bits))
            return 1;
    }
    return 0;
}

int
sl_cidr_allowed(const struct sl_cidr_list     *allow,
                const struct sl_cidr_list     *deny,
                const struct sockaddr_storage *ss)
{
    if (sl_cidr_list_match(deny, ss))
        return 0;
    return allow->n == 0 || sl_cidr_list_match(allow, ss);
}

/* ---- stream keys ---- */

struct key_entry {
    char *key;
    char *name; /* the key itself when the line names none */
};

struct sl_keyset {
    int               n;
    struct key_entry *v; /* sorted by key */
};

static int
cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct key_entry *) a)->key,
                  ((const struct key_entry *) b)->key);
}

static int
printable_word(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if ((unsigned char) *s <= ' ' || (unsigned char) *s >= 0x7f ||
            *s == '?' || *s == '/')
            return 0;
    return 1;
}

void
sl_keyset_free(struct sl_keyset *k)
{
    if (k == NULL)
        return;
    for (int i = 0; i < k->n; i++) {
        if (k->v[i].name != k->v[i].key)
            free(k->v[i].name);
        free(k->v[i].key);
    }
    free(k->v);
    free(k);
}

int
sl_keyset_count(const struct sl_keyset *k)
{
    return k != NULL ? k->n : 0;
}

/* Parses one line into e; 0 added, 1 nothing on the line, -1 bad. */
static int
parse_key_line(char *line, struct key_entry *e)
{
    char *save = NULL, *key, *name, *extra;

    line[strcspn(line, "\r\n")] = '\0';
    key = strtok_r(line, " \t", &save);
    if (key == NULL || key[0] == '#')
        return 1;
    name = strtok_r(NULL, " \t", &save);
    extra = name != NULL ? strtok_r(NULL, " \t", &save) : NULL;
    if (extra != NULL || strlen(key) >= KEY_MAX || !printable_word(key) ||
        (name != NULL && (strlen(name) >= KEY_MAX || !printable_word(name))))
        return -1;
    e->key = strdup(key);
    e->name = name != NULL ? strdup(name) : e->key;
    if (e->key == NULL || e->name == NULL) {
        if (e->name != e->key)
            free(e->name);
        free(e->key);
        return -1;
    }
    return 0;
}

struct sl_keyset *
sl_keyset_load(const char *path, char *err, size_t errlen)
{
    struct sl_keyset *k = calloc(1, sizeof(*k));
    FILE             *fp;
    char              line[2 * KEY_MAX + 8];
    int               cap = 0, lineno = 0;

    if (k == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        free(k);
        return NULL;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        struct key_entry e;
        int              rc;

        lineno++;
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            goto bad;
        }
        rc = parse_key_line(line, &e);
        if (rc == 1)
            continue;
        if (rc < 0) {
            /* Never quote the line: it holds a key. */
            snprintf(err, errlen,
                     "%s:%d: not 'KEY' or 'KEY NAME' (printable, no spaces, "
                     "'/' or '?', under %d characters)",
                     path, lineno, KEY_MAX);
            goto bad;
        }
        if (k->n == KEYSET_MAX) {
            snprintf(err, errlen, "%s: more than %d keys", path, KEYSET_MAX);
            if (e.name != e.key)
                free(e.name);
            free(e.key);
            goto bad;
        }
        if (k->n == cap) {
            int               ncap = cap ? cap * 2 : 16;
            struct key_entry *nv = realloc(k->v, (size_t) ncap * sizeof(*nv));

            if (nv == NULL) {
                snprintf(err, errlen, "out of memory");
                if (e.name != e.key)
                    free(e.name);
                free(e.key);
                goto bad;
            }
            k->v = nv;
            cap = ncap;
        }
        k->v[k->n++] = e;
    }
    fclose(fp);
    if (k->n > 0)
        qsort(k->v, (size_t) k->n, sizeof(k->v[0]), cmp_entry);
    return k;
bad:
    fclose(fp);
    sl_keyset_free(k);
    return NULL;
}

const char *
sl_keyset_lookup(const struct sl_keyset *k, const char *key)
{
    struct key_entry        probe = {.key = (char *) key};
    const struct key_entry *e;

    if (k == NULL || k->n == 0)
        return NULL;
    /* The search's path depends on the key's order, not on how many of
     * its bytes match; the final check is a constant-time compare, so a
     * guess learns nothing from how long a refusal took beyond "which
     * side of a listed key it sorts on", which a list of random keys
     * does not narrow. */
    e = bsearch(&probe, k->v, (size_t) k->n, sizeof(k->v[0]), cmp_entry);
    if (e == NULL)
        return NULL;
    if (strlen(e->key) != strlen(key) ||
        CRYPTO_memcmp(e->key, key, strlen(key)) != 0)
        return NULL;
    return e->name;
}

/* ---- signed URLs ---- */

void
sl_sign_make(const char *secret, const char *app, const char *name,
             long long expires, char out[65])
{
    char          msg[1024];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int  maclen = 0;
    int           n;

    n = snprintf(msg, sizeof(msg), "%s/%s?expires=%lld", app, name, expires);
    if (n < 0 || (size_t) n >= sizeof(msg))
        n = (int) sizeof(msg) - 1;
    HMAC(EVP_sha256(), secret, (int) strlen(secret),
         (const unsigned char *) msg, (size_t) n, mac, &maclen);
    for (unsigned int i = 0; i < maclen && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    out[SIGN_HEX_LEN] = '\0';
}

const char *
sl_sign_check(const char *secret, const char *app, const char *name,
              const char *query, time_t now)
{
    char      expires_s[32], sign[SIGN_HEX_LEN + 2], want[SIGN_HEX_LEN + 1];
    long long expires;
    char     *end;

    int elen, slen;

    elen = query != NULL
               ? sl_query_get(query, "expires", expires_s, sizeof(expires_s))
               : -ENOENT;
    slen = query != NULL ? sl_query_get(query, "sign", sign, sizeof(sign))
                         : -ENOENT;
    if (elen == -ENOENT || slen == -ENOENT)
        return "no signature (expires= and sign= are required)";
    /* Decoded values may hold a NUL: the lengths must agree. */
    if (elen < 0 || (size_t) elen != strlen(expires_s) ||
        !isdigit((unsigned char) expires_s[0]))
        return "malformed expires";
    if (slen < 0 || (size_t) slen != strlen(sign))
        return "malformed signature";
    errno = 0;
    expires = strtoll(expires_s, &end, 10);
    if (errno != 0 || *end != '\0')
        return "malformed expires";
    if (strlen(sign) != SIGN_HEX_LEN)
        return "malformed signature";
    for (int i = 0; i < SIGN_HEX_LEN; i++) {
        if (!isxdigit((unsigned char) sign[i]))
            return "malformed signature";
        sign[i] = (char) tolower((unsigned char) sign[i]);
    }
    sl_sign_make(secret, app, name, expires, want);
    if (CRYPTO_memcmp(want, sign, SIGN_HEX_LEN) != 0)
        return "wrong signature";
    /* Checked after the signature, so a forged URL learns nothing about
     * the clock from the reason. */
    if ((long long) now > expires)
        return "signature expired";
    return NULL;
}

void
sl_mask(const char *secret, char *out, size_t cap)
{
    size_t len = strlen(secret);

    if (len <= 4)
        snprintf(out, cap, "*** (%zu chars)", len);
    else
        snprintf(out, cap, "%.2s*** (%zu chars)", secret, len);
}
