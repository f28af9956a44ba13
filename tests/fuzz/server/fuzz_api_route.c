/*
 * libFuzzer target for the HTTP API router: the request path comes from
 * the peer (decoded by libmicrohttpd, NULs included).  Any bytes must
 * route without reading outside them; a stream route must yield names of
 * printable ASCII without spaces that fit their buffers, and routing the
 * path built back from them must give the same names.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_api_route r, again;
    char               *copy = malloc(size ? size : 1), back[512];

    /* An exact-size copy, so ASan catches any read past the end. */
    memcpy(copy, data, size);
    if (sl_api_route(copy, size, &r) == SL_API_STREAM) {
        for (const char *p = r.app; *p; p++)
            if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
                abort();
        for (const char *p = r.name; *p; p++)
            if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
                abort();
        if (r.app[0] == '\0' || r.name[0] == '\0')
            abort();
        snprintf(back, sizeof(back), "/api/v1/streams/%s/%s", r.app, r.name);
        if (sl_api_route(back, strlen(back), &again) != SL_API_STREAM ||
            strcmp(again.app, r.app) || strcmp(again.name, r.name))
            abort();
    }
    (void) sl_api_allow(r.methods);
    free(copy);
    return 0;
}
