/*
 * Files compiled into the binary (the Makefile turns each folder into a
 * generated C file with tools/embed.sh), so a page works with no
 * network beyond Sluice itself: the admin dashboard (server/www/, served
 * by server/http.c) and the viewers' player page (web/www/ and its
 * browser libraries, served by web/page.c).  Read-only data: any thread.
 */
#ifndef SL_ASSETS_H
#define SL_ASSETS_H

#include <stddef.h>

struct sl_asset {
    const char          *name; /* file name, without its folder */
    const char          *type; /* Content-Type */
    const unsigned char *data;
    size_t               len;
};

/* The dashboard's files. */
extern const struct sl_asset sl_assets[];
extern const size_t          sl_nassets;

/* The player page's own files (web/www/). */
extern const struct sl_asset sl_player_assets[];
extern const size_t          sl_player_nassets;

/* The browser libraries the page plays with and their licences, from
 * npm at pinned, hash-checked versions (tools/web_libs.sh); each name
 * carries its version. */
extern const struct sl_asset sl_player_libs[];
extern const size_t          sl_player_nlibs;

#endif
