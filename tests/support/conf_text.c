#include "tests/support/conf_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "server/config.h"

struct sl_config *
sl_test_config_text(const char *text, char *err, size_t errlen)
{
    char              path[64];
    struct sl_config *c;
    FILE             *f;
    int               fd;

    snprintf(path, sizeof(path), "/tmp/sl-conf-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0) {
        snprintf(err, errlen, "mkstemp failed");
        return NULL;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(path);
        snprintf(err, errlen, "fdopen failed");
        return NULL;
    }
    fputs(text, f);
    fclose(f);
    c = sl_config_load(path, err, errlen);
    unlink(path);
    return c;
}
