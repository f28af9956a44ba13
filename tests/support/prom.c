/*
 * See prom.h.  Lines are parsed one by one; a family is the metric name
 * (the exposition we check has no histograms or summaries, whose
 * families span several sample names, so a sample name that is not a
 * family of its own is an error).
 */
#include "tests/support/prom.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sample {
    char  *name;
    char  *labels; /* canonical: name="unescaped value",... */
    double v;
};

struct family {
    char *name;
    char *type;
    int   help, nsamples, closed;
};

struct sl_prom {
    struct sample *s;
    int            ns, caps;
    struct family *f;
    int            nf, capf;
};

static int
fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
    va_list ap;
    int     n = snprintf(err, errlen, "line %d: ", line);

    va_start(ap, fmt);
    if (n >= 0 && (size_t) n < errlen)
        vsnprintf(err + n, errlen - (size_t) n, fmt, ap);
    va_end(ap);
    return -1;
}

static int
name_ok(const char *p, size_t n, int label)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char) p[i];

        if (!(isalpha(c) || c == '_' || (!label && c == ':') ||
              (i > 0 && isdigit(c))))
            return 0;
    }
    return !(label && n >= 2 && p[0] == '_' && p[1] == '_');
}

static struct family *
find_family(const struct sl_prom *p, const char *name)
{
    for (int i = 0; i < p->nf; i++)
        if (!strcmp(p->f[i].name, name))
            return &p->f[i];
    return NULL;
}

static struct family *
get_family(struct sl_prom *p, const char *name)
{
    struct family *f = find_family(p, name);

    if (f != NULL)
        return f;
    if (p->nf == p->capf) {
        int            ncap = p->capf ? 2 * p->capf : 32;
        struct family *nf = realloc(p->f, (size_t) ncap * sizeof(*nf));

        if (nf == NULL)
            return NULL;
        p->f = nf;
        p->capf = ncap;
    }
    f = &p->f[p->nf++];
    memset(f, 0, sizeof(*f));
    f->name = strdup(name);
    return f->name != NULL ? f : NULL;
}

/* "# HELP name text" / "# TYPE name type" */
static int
meta_line(struct sl_prom *p, const char *l, int line, char *err, size_t errlen)
{
    int            help = !strncmp(l, "# HELP ", 7);
    const char    *name = l + 7, *end;
    char           nm[256];
    struct family *f;

    end = name + strcspn(name, " ");
    if (!name_ok(name, (size_t) (end - name), 0) ||
        (size_t) (end - name) >= sizeof(nm))
        return fail(err, errlen, line, "bad metric name in '%s'", l);
    memcpy(nm, name, (size_t) (end - name));
    nm[end - name] = '\0';
    f = get_family(p, nm);
    if (f == NULL)
        return fail(err, errlen, line, "out of memory");
    if (f->nsamples > 0)
        return fail(err, errlen, line, "%s after samples of %s",
                    help ? "HELP" : "TYPE", nm);
    if (help) {
        if (f->help)
            return fail(err, errlen, line, "second HELP for %s", nm);
        if (*end != ' ' || end[1] == '\0')
            return fail(err, errlen, line, "HELP without text for %s", nm);
        f->help = 1;
        return 0;
    }
    if (f->type != NULL)
        return fail(err, errlen, line, "second TYPE for %s", nm);
    if (*end != ' ')
        return fail(err, errlen, line, "TYPE without a type for %s", nm);
    end++;
    if (strcmp(end, "counter") && strcmp(end, "gauge") &&
        strcmp(end, "untyped") && strcmp(end, "histogram") &&
        strcmp(end, "summary"))
        return fail(err, errlen, line, "unknown type '%s'", end);
    if (!strcmp(end, "counter") &&
        (strlen(nm) < 6 || strcmp(nm + strlen(nm) - 6, "_total")))
        return fail(err, errlen, line, "counter %s does not end in _total", nm);
    f->type = strdup(end);
    return f->type != NULL ? 0 : fail(err, errlen, line, "out of memory");
}

/* *last is the index of the family of the previous sample (-1: none),
 * not a pointer: a HELP line of a new family may move p->f. */
static int
sample_line(struct sl_prom *p, const char *l, int line, char *err,
            size_t errlen, int *last)
{
    const char    *q = l + strcspn(l, "{ ");
    char           name[256], labels[2048], seen[32][64];
    size_t         ln = 0;
    int            nseen = 0;
    char          *end;
    double         v;
    struct family *f;

    if (!name_ok(l, (size_t) (q - l), 0) || (size_t) (q - l) >= sizeof(name))
        return fail(err, errlen, line, "bad metric name in '%s'", l);
    memcpy(name, l, (size_t) (q - l));
    name[q - l] = '\0';
    labels[0] = '\0';
    if (*q == '{') {
        q++;
        while (*q != '}') {
            const char *ln_end = q + strcspn(q, "=");

            if (*ln_end != '=' || !name_ok(q, (size_t) (ln_end - q), 1) ||
                ln_end - q >= 64)
                return fail(err, errlen, line, "bad label name in '%s'", l);
            for (int i = 0; i < nseen; i++)
                if (strlen(seen[i]) == (size_t) (ln_end - q) &&
                    !strncmp(seen[i], q, (size_t) (ln_end - q)))
                    return fail(err, errlen, line, "label twice in '%s'", l);
            if (nseen < 32) {
                memcpy(seen[nseen], q, (size_t) (ln_end - q));
                seen[nseen++][ln_end - q] = '\0';
            }
            if (ln + (size_t) (ln_end - q) + 4 >= sizeof(labels))
                return fail(err, errlen, line, "labels too long");
            if (ln > 0)
                labels[ln++] = ',';
            memcpy(labels + ln, q, (size_t) (ln_end - q + 1));
            ln += (size_t) (ln_end - q + 1);
            labels[ln++] = '"';
            q = ln_end + 1;
            if (*q != '"')
                return fail(err, errlen, line, "unquoted label value");
            for (q++; *q != '"'; q++) {
                char c = *q;

                if (c == '\0' || c == '\n')
                    return fail(err, errlen, line, "unterminated value");
                if (c == '\\') {
                    q++;
                    if (*q == 'n')
                        c = '\n';
                    else if (*q == '\\' || *q == '"')
                        c = *q;
                    else
                        return fail(err, errlen, line, "bad escape \\%c", *q);
                }
                if (ln + 3 >= sizeof(labels))
                    return fail(err, errlen, line, "labels too long");
                labels[ln++] = c;
            }
            labels[ln++] = '"';
            labels[ln] = '\0';
            q++;
            if (*q == ',')
                q++;
            else if (*q != '}')
                return fail(err, errlen, line, "expected , or } in '%s'", l);
        }
        q++;
    }
    if (*q != ' ')
        return fail(err, errlen, line, "no value in '%s'", l);
    q++;
    if (!strcmp(q, "NaN") || !strcmp(q, "+Inf") || !strcmp(q, "-Inf")) {
        v = !strcmp(q, "NaN") ? NAN : q[0] == '+' ? INFINITY : -INFINITY;
    } else {
        v = strtod(q, &end);
        if (end == q || (*end != '\0' && *end != ' '))
            return fail(err, errlen, line, "bad value in '%s'", l);
        if (*end == ' ') { /* a timestamp: an integer */
            const char *t = end + 1;

            strtoll(t, &end, 10);
            if (end == t || *end != '\0')
                return fail(err, errlen, line, "bad timestamp in '%s'", l);
        }
    }
    f = find_family(p, name);
    if (f == NULL || f->type == NULL || !f->help)
        return fail(err, errlen, line, "%s has no HELP and TYPE before it",
                    name);
    if (f->closed)
        return fail(err, errlen, line, "samples of %s are not together", name);
    if (*last >= 0 && *last != (int) (f - p->f))
        p->f[*last].closed = 1;
    *last = (int) (f - p->f);
    if (!strcmp(f->type, "counter") && v < 0)
        return fail(err, errlen, line, "negative counter %s", name);
    for (int i = 0; i < p->ns; i++)
        if (!strcmp(p->s[i].name, name) && !strcmp(p->s[i].labels, labels))
            return fail(err, errlen, line, "series twice: %s{%s}", name,
                        labels);
    if (p->ns == p->caps) {
        int            ncap = p->caps ? 2 * p->caps : 64;
        struct sample *ns = realloc(p->s, (size_t) ncap * sizeof(*ns));

        if (ns == NULL)
            return fail(err, errlen, line, "out of memory");
        p->s = ns;
        p->caps = ncap;
    }
    p->s[p->ns].name = strdup(name);
    p->s[p->ns].labels = strdup(labels);
    p->s[p->ns].v = v;
    p->ns++;
    f->nsamples++;
    return 0;
}

struct sl_prom *
sl_prom_parse(const char *text, char *err, size_t errlen)
{
    struct sl_prom *p = calloc(1, sizeof(*p));
    int             last = -1;
    char           *copy, *save = NULL, *l;
    int             line = 0, rc = 0;
    size_t          n = strlen(text);

    if (p == NULL || (copy = strdup(text)) == NULL) {
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (n == 0 || text[n - 1] != '\n')
        rc = fail(err, errlen, 0, "the text does not end with a newline");
    /* strtok_r would skip empty lines, which the format allows anyway. */
    for (l = strtok_r(copy, "\n", &save); l != NULL && rc == 0;
         l = strtok_r(NULL, "\n", &save)) {
        line++;
        if (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7))
            rc = meta_line(p, l, line, err, errlen);
        else if (l[0] == '#')
            continue;
        else
            rc = sample_line(p, l, line, err, errlen, &last);
    }
    for (int i = 0; rc == 0 && i < p->nf; i++)
        if (p->f[i].type == NULL || !p->f[i].help)
            rc = fail(err, errlen, line, "%s lacks HELP or TYPE", p->f[i].name);
    free(copy);
    if (rc < 0) {
        sl_prom_free(p);
        return NULL;
    }
    return p;
}

void
sl_prom_free(struct sl_prom *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->ns; i++) {
        free(p->s[i].name);
        free(p->s[i].labels);
    }
    for (int i = 0; i < p->nf; i++) {
        free(p->f[i].name);
        free(p->f[i].type);
    }
    free(p->s);
    free(p->f);
    free(p);
}

int
sl_prom_value(const struct sl_prom *p, const char *name, const char *labels,
              double *v)
{
    for (int i = 0; i < p->ns; i++)
        if (!strcmp(p->s[i].name, name) && !strcmp(p->s[i].labels, labels)) {
            *v = p->s[i].v;
            return 0;
        }
    return -1;
}

const char *
sl_prom_type(const struct sl_prom *p, const char *family)
{
    const struct family *f = find_family(p, family);

    return f != NULL ? f->type : NULL;
}

int
sl_prom_count(const struct sl_prom *p, const char *family)
{
    const struct family *f = find_family(p, family);

    return f != NULL ? f->nsamples : 0;
}
