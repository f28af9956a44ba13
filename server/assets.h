/*
 * The dashboard's files, compiled into the binary (the Makefile turns
 * server/www/ into a generated C file), so the page works with no
 * network beyond Sluice itself.
 */
#ifndef SL_ASSETS_H
#define SL_ASSETS_H

#include <stddef.h>

struct sl_asset {
    const char          *name; /* file name in server/www/ */
    const char          *type; /* Content-Type */
    const unsigned char *data;
    size_t               len;
};

extern const struct sl_asset sl_assets[];
extern const size_t          sl_nassets;

#endif
