/*
 * A strict reader of the Prometheus text exposition format (0.0.4), for
 * the tests: it enforces what promtool's "check metrics" and the format
 * rules require and keeps every sample for lookups.
 *
 * Enforced: "# HELP name text" and "# TYPE name type" at most once per
 * family, both before its first sample; every family has both; a known
 * type; names [a-zA-Z_:][a-zA-Z0-9_:]*; label names [a-zA-Z_][a-zA-Z0-9_]*
 * not starting with "__", no label twice; label values escape only \\,
 * \" and \n; a family's samples are contiguous; counters end in _total
 * and are not negative; a value is a float, NaN or +-Inf; no series
 * twice; the text ends with a newline.
 */
#ifndef SL_TEST_PROM_H
#define SL_TEST_PROM_H

#include <stddef.h>

struct sl_prom;

/* Parses text.  NULL with "line N: problem" in err when the text breaks
 * a rule (or memory ran out). */
struct sl_prom *sl_prom_parse(const char *text, char *err, size_t errlen);
void            sl_prom_free(struct sl_prom *p);

/* The value of the sample name{labels}.  labels is the label set as
 * name="value" pairs joined by commas, in the order the text has them,
 * values unescaped ("" for none).  0 with *v set, or -1. */
int sl_prom_value(const struct sl_prom *p, const char *name, const char *labels,
                  double *v);

/* The TYPE of a family, or NULL. */
const char *sl_prom_type(const struct sl_prom *p, const char *family);

/* Number of samples of a family. */
int sl_prom_count(const struct sl_prom *p, const char *family);

#endif
