/*
 * A config from text, for unit tests: written to a temporary file,
 * loaded with sl_config_load (the same checks as a real file), the file
 * removed.  Publish-key files and other paths a test's text names are
 * the test's to create.
 */
#ifndef SL_TEST_CONF_TEXT_H
#define SL_TEST_CONF_TEXT_H

#include <stddef.h>

struct sl_config;

/* The loaded config (one reference), or NULL with err filled. */
struct sl_config *sl_test_config_text(const char *text, char *err,
                                      size_t errlen);

#endif
