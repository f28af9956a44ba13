/*
 * Relay URLs: where a stream goes (a configured url with the stream name
 * appended, or put in place of "{name}"), and the form safe to log or
 * show (no user:password, no query string: CDN credentials live there).
 * Pure.
 */
#ifndef SL_RELAY_URL_H
#define SL_RELAY_URL_H

#include <stddef.h>

/* The target for stream name: base with every "{name}" replaced, or,
 * without the placeholder, "/" + name appended to base's path (before
 * its query string, if any).  0, or -1 when it does not fit in cap. */
int sl_relay_url(const char *base, const char *name, char *out, size_t cap);

/* url without its user information and query string, into out
 * (truncated to cap). */
void sl_relay_url_public(const char *url, char *out, size_t cap);

#endif
