#include "relay/url.h"

#include <stdio.h>
#include <string.h>

#define PLACEHOLDER "{name}"

int
sl_relay_url(const char *base, const char *name, char *out, size_t cap)
{
    const char *p = base, *hit;
    size_t      n = 0, plen = strlen(PLACEHOLDER);

    if (strstr(base, PLACEHOLDER) == NULL) {
        /* The name goes at the end of the path, before any query
         * string (which CDNs use for keys). */
        size_t path = strcspn(base, "?#");
        int    slash = path > 0 && base[path - 1] == '/';
        int    len = snprintf(out, cap, "%.*s%s%s%s", (int) path, base,
                           slash ? "" : "/", name, base + path);

        return len < 0 || (size_t) len >= cap ? -1 : 0;
    }
    while ((hit = strstr(p, PLACEHOLDER)) != NULL) {
        size_t lit = (size_t) (hit - p), nl = strlen(name);

        if (n + lit + nl >= cap)
            return -1;
        memcpy(out + n, p, lit);
        memcpy(out + n + lit, name, nl);
        n += lit + nl;
        p = hit + plen;
    }
    if (n + strlen(p) >= cap)
        return -1;
    memcpy(out + n, p, strlen(p) + 1);
    return 0;
}

void
sl_relay_url_public(const char *url, char *out, size_t cap)
{
    const char *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : url;
    const char *slash = strchr(auth, '/');
    const char *at = strchr(auth, '@');
    size_t      n = 0;

    if (cap == 0)
        return;
    /* scheme:// */
    if (scheme != NULL) {
        size_t len = (size_t) (auth - url);

        if (len >= cap)
            len = cap - 1;
        memcpy(out, url, len);
        n = len;
    }
    /* user:password@ only counts before the path. */
    if (at != NULL && (slash == NULL || at < slash))
        auth = at + 1;
    for (const char *p = auth; *p && *p != '?' && *p != '#' && n + 1 < cap; p++)
        out[n++] = *p;
    out[n] = '\0';
}
