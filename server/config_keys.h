/*
 * The config's key table, shared by the loader (server/config.c), the
 * table itself (server/config_keys.c) and the unit tests; nothing else
 * includes it.
 *
 * Every key is one row: its name and section, how its value is parsed,
 * where it is stored, its range, its default (the text a user would
 * write, parsed by the same code as the file's values) and whether a
 * reload applies it.  A new key is one row in config_keys.c and one
 * line in docs/config.md; the unit suite "config" fails when the two
 * disagree on the keys or their defaults.
 */
#ifndef SL_CONFIG_KEYS_H
#define SL_CONFIG_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "server/config.h"

/* The sections a key may belong to.  The last three are named
 * ([app:NAME]) and repeat; the first four are parts of sl_config. */
enum sl_config_section {
    SL_SECTION_SERVER,
    SL_SECTION_HTTP,
    SL_SECTION_CLUSTER,
    SL_SECTION_WEB,
    SL_SECTION_APP,       /* struct sl_app_config */
    SL_SECTION_RENDITION, /* struct sl_rendition_config */
    SL_SECTION_RELAY,     /* struct sl_relay_config */
    SL_SECTION_COUNT
};

/* How a value is parsed and stored.  Numbers go into a 4-byte field (int
 * or uint32_t) in the unit the field's name says; min and max bound the
 * stored number. */
enum sl_config_type {
    SL_KEY_BOOL,     /* on/off, yes/no, true/false, 1/0 -> 1 or 0 */
    SL_KEY_UINT,     /* a decimal number */
    SL_KEY_SIZE,     /* bytes; k and m are KiB and MiB */
    SL_KEY_RATE,     /* bits/s; k and m are 1000 and 1000000 */
    SL_KEY_DURATION, /* ms; ms, s, m or h, a bare number in `unit` ms */
    SL_KEY_ENUM,     /* one of `choices` ("a|b|c"); stores its index */
    SL_KEY_WORD,     /* letters, digits, _ - . (one of `choices` if set),
                      * copied into a char[size] */
    SL_KEY_SECRET,   /* min..max printable characters without spaces;
                      * never quoted in an error */
    SL_KEY_PATH,     /* a file name of 1..size-1 characters, kept as is */
    SL_KEY_ADDR,     /* HOST:PORT, [V6]:PORT or PORT ("" or * = every
                      * address), or off with SL_KEY_OFF */
    SL_KEY_CUSTOM    /* parse() does it all */
};

/* Row flags. */
#define SL_KEY_START_ONLY 1u /* a reload does not apply it */
#define SL_KEY_EVEN 2u       /* SL_KEY_UINT: even numbers only */
#define SL_KEY_OFF 4u        /* SL_KEY_ADDR: "off" allowed, 0 in on_off */

/* A duration's max when only the field bounds it: its range reads
 * ">= min". */
#define SL_KEY_NO_MAX UINT32_MAX

struct sl_config_load;

struct sl_config_key {
    const char            *name;
    enum sl_config_section section;
    enum sl_config_type    type;
    unsigned               flags;
    size_t                 off;  /* the field in the section's struct */
    size_t                 size; /* its size: 4, or a string's capacity */
    uint64_t               min, max;
    /* The default as a user writes it; NULL: none (the field stays
     * zero, or a check derives it), and docs/config.md shows nodef. */
    const char *def;
    const char *nodef;
    uint32_t    unit;    /* SL_KEY_DURATION: ms a bare number stands for */
    const char *choices; /* SL_KEY_ENUM, SL_KEY_WORD: "a|b|c" */
    size_t      port_off, on_off; /* SL_KEY_ADDR: uint16_t port, int on */
    /* SL_KEY_CUSTOM: parses v into the section at base, calling
     * sl_config_fail() on a problem.  Never start-only. */
    void (*parse)(struct sl_config_load *ctx, const struct sl_config_key *k,
                  void *base, const char *v);
    const char *help; /* one line */
    /* An older name the file may still use for this key (NULL: none);
     * errors and listings say name. */
    const char *alias;
};

extern const struct sl_config_key sl_config_keys[];
extern const size_t               sl_config_nkeys;
#define SL_CONFIG_KEYS_MAX 128 /* room in sl_config_load.line_of */

/* One load in progress (the loader's, passed to custom parsers). */
struct sl_config_load {
    FILE             *fp;
    int               line; /* the line being read; 0: none */
    struct sl_config *cfg;
    char             *err;
    size_t            errlen;
    int               failed;
    int line_of[SL_CONFIG_KEYS_MAX]; /* last line that set each key */
};

/* Records the first problem of a load as "FILE:LINE: message" (or "FILE:
 * message" when line is 0); later calls do nothing. */
void sl_config_fail(struct sl_config_load *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The row of key (its name or its alias) in section, or NULL. */
const struct sl_config_key *sl_config_key_find(enum sl_config_section section,
                                               const char            *key);

/* The index of the named section (app, rendition or relay) called name,
 * or -1. */
int sl_config_find(const struct sl_config *c, enum sl_config_section section,
                   const char *name);

/* Where each section lives in sl_config: the unnamed ones (max 0) are
 * parts of it, the named ones arrays of structs whose first member is
 * the name, with their count and bound. */
struct sl_config_section_info {
    const char *name;
    size_t      array, count, elem; /* offsets in sl_config; struct size */
    int         max;
};
extern const struct sl_config_section_info sl_config_sections[SL_SECTION_COUNT];

/* The i-th struct of a named section. */
static inline char *
sl_config_section_at(const struct sl_config *c, enum sl_config_section s, int i)
{
    return (char *) c + sl_config_sections[s].array +
           (size_t) i * sl_config_sections[s].elem;
}

/* "server", "http", "cluster", "web", "app", "rendition", "relay". */
const char *sl_config_section_name(enum sl_config_section section);

/* What needs the whole file (config_keys.c): a rung's width or height
 * and bit rate, a relay's url, two listeners on one address, the TLS
 * files.  Run after every key is read, with ctx->line 0. */
void sl_config_check(struct sl_config_load *ctx);

#endif
