/*
 * Config loading: inih reads the file, and every key goes through one
 * applier that looks its row up in the key table (config_keys.c),
 * parses the value by the row's type, checks the row's range and words
 * the error from the same numbers.  Defaults are the table's default
 * texts, applied by the same code when a section starts.
 *
 * To report the line of a bad key we feed inih through our own line
 * reader, which counts lines, so the count is the line inih just handed
 * us.
 */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/config_keys.h"
#include "server/tls.h"

/* Numbers are stored through a uint32_t into int or uint32_t fields;
 * a non-negative int has the same representation (C11 6.2.6.2). */
_Static_assert(sizeof(int) == sizeof(uint32_t), "int fields are 4 bytes");

static char *
read_line(char *str, int num, void *stream)
{
    struct sl_config_load *ctx = stream;
    char                  *r = fgets(str, num, ctx->fp);

    if (r != NULL)
        ctx->line++;
    return r;
}

/* ---- values ---- */

static int
parse_bool(const char *v, uint64_t *out)
{
    if (!strcasecmp(v, "on") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "true") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcasecmp(v, "off") || !strcasecmp(v, "no") ||
             !strcasecmp(v, "false") || !strcmp(v, "0"))
        *out = 0;
    else
        return -EINVAL;
    return 0;
}

/* Digits only: no sign, blank or fraction ("2.5m" is an error, not a
 * silent 2m). */
static int
parse_uint(const char *v, uint64_t max, uint64_t *out)
{
    char              *end;
    unsigned long long n;

    if (!isdigit((unsigned char) *v))
        return -EINVAL;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || n > max)
        return -EINVAL;
    *out = n;
    return 0;
}

/* A number with an optional suffix: the value times per.  The product
 * fits a uint32_t. */
static int
parse_suffixed(const char *v, size_t suffix_len, uint64_t per, uint64_t *out)
{
    char   num[32];
    size_t n = strlen(v);

    if (n <= suffix_len || n >= sizeof(num))
        return -EINVAL;
    memcpy(num, v, n - suffix_len);
    num[n - suffix_len] = '\0';
    if (parse_uint(num, UINT32_MAX / per, out) < 0)
        return -EINVAL;
    *out *= per;
    return 0;
}

/* Sizes (base 1024) and bit rates (base 1000): k is base, m base^2. */
static int
parse_scaled(const char *v, uint64_t base, uint64_t *out)
{
    size_t n = strlen(v);
    char   last = n > 0 ? (char) tolower((unsigned char) v[n - 1]) : '\0';

    if (last == 'k')
        return parse_suffixed(v, 1, base, out);
    if (last == 'm')
        return parse_suffixed(v, 1, base * base, out);
    return parse_suffixed(v, 0, 1, out);
}

/* Durations in ms: ms, s, m or h; a bare number is in unit ms. */
static int
parse_duration(const char *v, uint64_t unit, uint64_t *out)
{
    size_t n = strlen(v);

    if (n > 2 && !strcmp(v + n - 2, "ms"))
        return parse_suffixed(v, 2, 1, out);
    switch (n > 0 ? v[n - 1] : '\0') {
    case 's':
        return parse_suffixed(v, 1, 1000, out);
    case 'm':
        return parse_suffixed(v, 1, 60 * 1000, out);
    case 'h':
        return parse_suffixed(v, 1, 3600 * 1000, out);
    }
    return parse_suffixed(v, 0, unit, out);
}

/* The index of v in choices ("a|b|c"). */
static int
parse_choice(const char *choices, const char *v, uint64_t *out)
{
    size_t n = strlen(v);

    for (uint64_t i = 0; *choices != '\0'; i++) {
        size_t len = strcspn(choices, "|");

        if (len == n && !strncmp(choices, v, n)) {
            *out = i;
            return 0;
        }
        choices += len + (choices[len] == '|');
    }
    return -EINVAL;
}

/* HOST:PORT, [V6]:PORT or PORT; "*" or no host = every address. */
static int
parse_addr(const char *v, char *out_host, size_t host_cap, uint16_t *out_port)
{
    const char *colon = strrchr(v, ':');
    const char *host = v;
    size_t      hlen;
    uint64_t    port;

    if (colon == NULL) {
        host = "";
        hlen = 0;
        colon = v - 1;
    } else {
        hlen = (size_t) (colon - v);
        if (hlen >= 2 && v[0] == '[' && v[hlen - 1] == ']') {
            host = v + 1;
            hlen -= 2;
        }
    }
    if (hlen >= host_cap || parse_uint(colon + 1, 65535, &port) < 0 ||
        port == 0)
        return -EINVAL;
    memcpy(out_host, host, hlen);
    out_host[hlen] = '\0';
    if (!strcmp(out_host, "*"))
        out_host[0] = '\0';
    *out_port = (uint16_t) port;
    return 0;
}

/* ---- wording ---- */

/* A unit of a number's text; `least` is the smallest count written in
 * it (a minute reads better as 60s). */
struct unit {
    uint64_t    per;
    const char *suffix;
    uint64_t    least;
};

/* n as a user would write it in the row's unit: 100ms, 60s, 64k, 1000m. */
static void
print_amount(const struct sl_config_key *k, uint64_t n, char *out, size_t cap)
{
    static const struct unit dur[] = {{3600000, "h", 1},
                                      {60000, "m", 2},
                                      {1000, "s", 1},
                                      {1, "ms", 1}},
                             size[] = {{1 << 20, "m", 1},
                                       {1 << 10, "k", 1},
                                       {1, "", 1}},
                             rate[] = {
                                 {1000000, "m", 1}, {1000, "k", 1}, {1, "", 1}};
    const struct unit *u = k->type == SL_KEY_DURATION ? dur
                           : k->type == SL_KEY_SIZE   ? size
                           : k->type == SL_KEY_RATE   ? rate
                                                      : NULL;

    /* Every list ends with per 1, which takes anything. */
    while (u != NULL && n != 0 && (n % u->per != 0 || n / u->per < u->least))
        u++;
    if (u == NULL || n == 0)
        snprintf(out, cap, "%llu", (unsigned long long) n);
    else
        snprintf(out, cap, "%llu%s", (unsigned long long) (n / u->per),
                 u->suffix);
}

/* "a|b|c" -> "a, b or c" */
static void
print_choices(const char *choices, char *out, size_t cap)
{
    const char *p = choices;
    size_t      n = 0;

    out[0] = '\0';
    while (*p != '\0' && n < cap) {
        size_t      len = strcspn(p, "|");
        const char *sep = p[len] == '\0'             ? ""
                          : strchr(p + len + 1, '|') ? ", "
                                                     : " or ";

        n += (size_t) snprintf(out + n, cap - n, "%.*s%s", (int) len, p, sep);
        p += len + (p[len] == '|');
    }
}

/* What the row accepts, worded from the numbers the check uses, as the
 * end of "KEY: 'V' is not ...". */
static void
print_range(const struct sl_config_key *k, char *out, size_t cap)
{
    static const char *const what[] = {[SL_KEY_UINT] = "",
                                       [SL_KEY_SIZE] = "a size ",
                                       [SL_KEY_RATE] = "a bit rate ",
                                       [SL_KEY_DURATION] = "a duration "};
    char                     lo[32], hi[32];

    if (k->type == SL_KEY_BOOL) {
        snprintf(out, cap, "on or off");
    } else if (k->choices != NULL) {
        print_choices(k->choices, out, cap);
    } else if (k->max != SL_KEY_NO_MAX) {
        print_amount(k, k->min, lo, sizeof(lo));
        print_amount(k, k->max, hi, sizeof(hi));
        snprintf(out, cap, "%s%s%s..%s",
                 k->flags & SL_KEY_EVEN ? "an even number " : "", what[k->type],
                 lo, hi);
    } else if (k->min > 0) {
        print_amount(k, k->min, lo, sizeof(lo));
        snprintf(out, cap, "%s>= %s", what[k->type], lo);
    } else {
        /* "a duration", without the space before a range */
        snprintf(out, cap, "%.*s", (int) strlen(what[k->type]) - 1,
                 what[k->type]);
    }
}

/* ---- the applier ---- */

/* Letters, digits, _ - . : names and plain words. */
static int
plain(const char *s)
{
    return s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789_-.")] == '\0';
}

static void
set_string(struct sl_config_load *ctx, const struct sl_config_key *k,
           char *field, const char *v)
{
    size_t      len = strlen(v);
    uint64_t    i;
    const char *p;
    char        range[96];

    if (k->type == SL_KEY_SECRET) {
        /* Not quoted: the value is a secret. */
        for (p = v; (unsigned char) *p > ' ' && (unsigned char) *p < 0x7f; p++)
            ;
        if (len < k->min || len > k->max || *p != '\0')
            sl_config_fail(ctx,
                           "%s: not %llu..%llu printable characters without "
                           "spaces (value not shown)",
                           k->name, (unsigned long long) k->min,
                           (unsigned long long) k->max);
    } else if (k->type == SL_KEY_PATH) {
        if (len == 0 || len >= k->size)
            sl_config_fail(ctx, "%s: not a file name of 1..%zu characters",
                           k->name, k->size - 1);
    } else if (k->choices != NULL) {
        if (parse_choice(k->choices, v, &i) < 0) {
            print_range(k, range, sizeof(range));
            sl_config_fail(ctx, "%s: '%s' is not %s", k->name, v, range);
        }
    } else if (len == 0 || len >= k->size) {
        sl_config_fail(ctx, "%s: '%s' is empty or too long", k->name, v);
    } else if (!plain(v)) {
        sl_config_fail(ctx, "%s: '%s' is not a plain word", k->name, v);
    }
    if (!ctx->failed && len < k->size)
        memcpy(field, v, len + 1);
}

static void
set_addr(struct sl_config_load *ctx, const struct sl_config_key *k, char *base,
         const char *v)
{
    int      on = strcasecmp(v, "off") != 0 || !(k->flags & SL_KEY_OFF);
    uint16_t port;

    if (on && parse_addr(v, base + k->off, k->size, &port) < 0) {
        sl_config_fail(ctx, "%s: '%s' is not HOST:PORT%s", k->name, v,
                       k->flags & SL_KEY_OFF ? ", PORT or off" : " or PORT");
        return;
    }
    if (on)
        memcpy(base + k->port_off, &port, sizeof(port));
    if (k->flags & SL_KEY_OFF)
        memcpy(base + k->on_off, &on, sizeof(on));
}

/* Parses v as row k wants and stores it in the section at base; the
 * first problem is recorded in ctx. */
static void
apply(struct sl_config_load *ctx, const struct sl_config_key *k, void *base,
      const char *v)
{
    uint64_t n = 0;
    uint32_t u;
    int      rc = -EINVAL;
    char     range[96];

    switch (k->type) {
    case SL_KEY_CUSTOM:
        k->parse(ctx, k, base, v);
        return;
    case SL_KEY_WORD:
    case SL_KEY_SECRET:
    case SL_KEY_PATH:
        set_string(ctx, k, (char *) base + k->off, v);
        return;
    case SL_KEY_ADDR:
        set_addr(ctx, k, base, v);
        return;
    case SL_KEY_BOOL:
        rc = parse_bool(v, &n);
        break;
    case SL_KEY_ENUM:
        rc = parse_choice(k->choices, v, &n);
        break;
    case SL_KEY_UINT:
        rc = parse_uint(v, UINT32_MAX, &n);
        break;
    case SL_KEY_SIZE:
        rc = parse_scaled(v, 1024, &n);
        break;
    case SL_KEY_RATE:
        rc = parse_scaled(v, 1000, &n);
        break;
    case SL_KEY_DURATION:
        rc = parse_duration(v, k->unit, &n);
        break;
    }
    /* A parsed on/off or choice is in range by itself. */
    if (rc == 0 && k->type != SL_KEY_BOOL && k->type != SL_KEY_ENUM &&
        (n < k->min || n > k->max || ((k->flags & SL_KEY_EVEN) && n % 2)))
        rc = -ERANGE;
    if (rc < 0) {
        print_range(k, range, sizeof(range));
        sl_config_fail(ctx, "%s: '%s' is not %s", k->name, v, range);
        return;
    }
    u = (uint32_t) n;
    memcpy((char *) base + k->off, &u, sizeof(u));
}

/* ---- sections ---- */

/* Applies every default of section s to the struct at base. */
static void
apply_defaults(struct sl_config_load *ctx, enum sl_config_section s, void *base)
{
    for (size_t i = 0; i < sl_config_nkeys && !ctx->failed; i++)
        if (sl_config_keys[i].section == s && sl_config_keys[i].def != NULL)
            apply(ctx, &sl_config_keys[i], base, sl_config_keys[i].def);
}

/* The section a header names, or -1 (with the problem recorded); *name
 * is the part after "app:" for a named section. */
static int
section_kind(struct sl_config_load *ctx, const char *header, const char **name)
{
    for (int s = 0; s < SL_SECTION_COUNT; s++) {
        size_t n = strlen(sl_config_sections[s].name);

        if (strncmp(header, sl_config_sections[s].name, n) != 0)
            continue;
        if (sl_config_sections[s].max == 0 && header[n] == '\0')
            return *name = "", s;
        if (sl_config_sections[s].max == 0 || header[n] != ':')
            continue;
        *name = header + n + 1;
        if (strlen(*name) >= SL_NAME_MAX || !plain(*name) || **name == '\0') {
            sl_config_fail(ctx, "bad %s name '%s' (letters, digits, _ - .)",
                           sl_config_sections[s].name, *name);
            return -1;
        }
        return s;
    }
    sl_config_fail(ctx, "unknown section [%s]", header);
    return -1;
}

/* The struct that section s called name fills, made (with its defaults)
 * on first sight; NULL when there is no room. */
static void *
section_base(struct sl_config_load *ctx, enum sl_config_section s,
             const char *name)
{
    struct sl_config *c = ctx->cfg;
    int               i, *count;
    char             *base;

    if (sl_config_sections[s].max == 0)
        return c;
    i = sl_config_find(c, s, name);
    if (i >= 0)
        return sl_config_section_at(c, s, i);
    count = (int *) ((char *) c + sl_config_sections[s].count);
    if (*count == sl_config_sections[s].max) {
        sl_config_fail(ctx, "too many [%s:...] sections (limit %d)",
                       sl_config_sections[s].name, sl_config_sections[s].max);
        return NULL;
    }
    base = sl_config_section_at(c, s, (*count)++);
    memset(base, 0, sl_config_sections[s].elem);
    snprintf(base, SL_NAME_MAX, "%s", name);
    apply_defaults(ctx, s, base);
    return base;
}

/* ---- loading ---- */

static int
on_key(void *user, const char *section, const char *key, const char *value)
{
    struct sl_config_load      *ctx = user;
    const struct sl_config_key *k;
    const char                 *name;
    void                       *base;
    int                         s;

    /* inih calls with key NULL at a new section only when built with
     * INI_CALL_HANDLER_ON_NEW_SECTION; guard anyway. */
    if (ctx->failed || key == NULL)
        return 1;
    s = section_kind(ctx, section, &name);
    base = s < 0 ? NULL : section_base(ctx, s, name);
    if (base == NULL)
        return 1;
    k = sl_config_key_find(s, key);
    if (k == NULL) {
        sl_config_fail(ctx, "unknown key '%s' in [%s]", key, section);
        return 1;
    }
    ctx->line_of[k - sl_config_keys] = ctx->line;
    apply(ctx, k, base, value);
    return 1;
}

/* Section headers make apps even when they hold no keys, which inih does
 * not report; a first pass over the file picks those up (and an unknown
 * section is reported at its header even when it is empty). */
static void
scan_sections(struct sl_config_load *ctx)
{
    char        line[512];
    const char *name;
    int         s;

    while (!ctx->failed && fgets(line, sizeof(line), ctx->fp) != NULL) {
        char *h = line, *end;

        ctx->line++;
        while (isspace((unsigned char) *h))
            h++;
        end = strchr(h, ']');
        if (*h != '[' || end == NULL)
            continue; /* a key, a comment, or a syntax error inih reports */
        *end = '\0';
        s = section_kind(ctx, h + 1, &name);
        if (s >= 0)
            section_base(ctx, s, name);
    }
}

/* What a config owns besides itself: the apps' key sets and the TLS
 * context. */
static void
config_free(struct sl_config *c)
{
    for (int i = 0; i < c->napps; i++)
        sl_keyset_free(c->apps[i].publish_keys);
    sl_tls_ctx_unref(c->tls);
    free(c);
}

/* A config with the defaults of the unnamed sections ([server],
 * [http], [cluster], [web]); NULL without memory (or with a default the
 * table's own parser refuses, which the unit tests rule out). */
static struct sl_config *
new_config(struct sl_config_load *ctx, const char *path)
{
    ctx->cfg = calloc(1, sizeof(*ctx->cfg));
    if (ctx->cfg == NULL)
        return NULL;
    atomic_init(&ctx->cfg->refs, 1);
    snprintf(ctx->cfg->path, sizeof(ctx->cfg->path), "%s", path);
    for (int s = 0; s < SL_SECTION_COUNT; s++)
        if (sl_config_sections[s].max == 0)
            apply_defaults(ctx, s, ctx->cfg);
    if (ctx->failed) {
        config_free(ctx->cfg);
        ctx->cfg = NULL;
    }
    return ctx->cfg;
}

struct sl_config *
sl_config_defaults(void)
{
    char                  err[256];
    struct sl_config_load ctx = {.err = err, .errlen = sizeof(err)};

    return new_config(&ctx, "");
}

struct sl_config *
sl_config_load(const char *path, char *err, size_t errlen)
{
    struct sl_config_load ctx = {.err = err, .errlen = errlen};
    int                   rc;

    if (new_config(&ctx, path) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    ctx.fp = fopen(path, "r");
    if (ctx.fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        config_free(ctx.cfg);
        return NULL;
    }
    scan_sections(&ctx);
    if (!ctx.failed) {
        rewind(ctx.fp);
        ctx.line = 0;
        rc = ini_parse_stream(read_line, &ctx, on_key, &ctx);
        if (rc > 0 && !ctx.failed) {
            ctx.line = rc;
            sl_config_fail(&ctx, "syntax error");
        } else if (rc < 0 && !ctx.failed) {
            snprintf(err, errlen, "%s: cannot read", path);
            ctx.failed = 1;
        }
    }
    if (!ctx.failed) {
        /* Problems of a whole section have no one line to point at. */
        ctx.line = 0;
        sl_config_check(&ctx);
    }
    fclose(ctx.fp);
    if (ctx.failed) {
        config_free(ctx.cfg);
        return NULL;
    }
    return ctx.cfg;
}

/* ---- reload ---- */

/* Whether row k (of an unnamed section: [server], [http], [cluster],
 * [web]) holds the same value in a and b. */
static int
same_value(const struct sl_config_key *k, const struct sl_config *a,
           const struct sl_config *b)
{
    const char *x = (const char *) a, *y = (const char *) b;

    switch (k->type) {
    case SL_KEY_ADDR:
        if ((k->flags & SL_KEY_OFF) &&
            memcmp(x + k->on_off, y + k->on_off, sizeof(int)) != 0)
            return 0;
        return !strcmp(x + k->off, y + k->off) &&
               !memcmp(x + k->port_off, y + k->port_off, sizeof(uint16_t));
    case SL_KEY_WORD:
    case SL_KEY_SECRET:
    case SL_KEY_PATH:
        return !strcmp(x + k->off, y + k->off);
    case SL_KEY_CUSTOM:
        return 1; /* never start-only */
    default:
        return !memcmp(x + k->off, y + k->off, sizeof(uint32_t));
    }
}

int
sl_config_describe_start_only_changes(const struct sl_config *old,
                                      const struct sl_config *next, char *out,
                                      size_t cap)
{
    size_t n = 0;
    int    changed = 0;

    if (cap > 0)
        out[0] = '\0';
    for (size_t i = 0; i < sl_config_nkeys; i++) {
        const struct sl_config_key *k = &sl_config_keys[i];
        int                         w;

        if (!(k->flags & SL_KEY_START_ONLY) || same_value(k, old, next))
            continue;
        w = snprintf(n < cap ? out + n : NULL, n < cap ? cap - n : 0,
                     "%s[%s] %s", changed ? ", " : "",
                     sl_config_sections[k->section].name, k->name);
        n += w > 0 ? (size_t) w : 0;
        changed++;
    }
    if (n >= cap && cap >= 4)
        memcpy(out + cap - 4, "...", 4); /* cut: say so */
    return changed;
}

/* ---- references and the current config ---- */

void
sl_config_ref(struct sl_config *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void
sl_config_unref(struct sl_config *c)
{
    if (c == NULL)
        return;
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    config_free(c);
}

int
sl_config_origin_allowed(const struct sl_config *c, const char *origin,
                         size_t len)
{
    const struct sl_origin_list *l = &c->web_cors_origins;

    if (l->any)
        return 1;
    for (int i = 0; i < l->n; i++)
        if (strlen(l->v[i]) == len && !strncasecmp(l->v[i], origin, len))
            return 1;
    return 0;
}

const struct sl_app_config *
sl_config_app(const struct sl_config *c, const char *name)
{
    int i = sl_config_find(c, SL_SECTION_APP, name);

    return i < 0 ? NULL : &c->apps[i];
}

/* The current config pointer is swapped under a mutex: reloads are rare
 * and getters take a reference, which a bare atomic pointer load could
 * not do safely against a concurrent final unref. */
static pthread_mutex_t   current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_config *current;

struct sl_config *
sl_config_get(void)
{
    struct sl_config *c;

    pthread_mutex_lock(&current_lock);
    c = current;
    if (c != NULL)
        sl_config_ref(c);
    pthread_mutex_unlock(&current_lock);
    return c;
}

void
sl_config_set(struct sl_config *c)
{
    struct sl_config *old;

    pthread_mutex_lock(&current_lock);
    old = current;
    current = c;
    pthread_mutex_unlock(&current_lock);
    sl_config_unref(old);
}
