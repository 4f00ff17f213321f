/*
 * price_csv.c — price observations for `wafer plan`: a CSV file with a header line naming the
 * columns date, device, unit, price, available, lead_time_days (any order, extra columns
 * ignored), one observation per line:
 *
 *   date,device,unit,price,available,lead_time_days
 *   2026-01-05,c7i.large,hour,0.085,yes,0
 *   2026-01-05,jetson-orin-nano,unit,499,no,120
 *
 * unit "hour" marks a cloud instance (price per hour), "unit" a device bought outright (price
 * per unit). Fields are split on commas (no quoting: names and numbers need none); spaces
 * around a field are trimmed; blank lines and '#' comments are skipped. Every error names the
 * line and the field. Dates are proleptic Gregorian, counted in days from 1970-01-01 (the
 * days-from-civil algorithm of Howard Hinnant) so windows are exact day counts.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

enum { COL_DATE, COL_DEVICE, COL_UNIT, COL_PRICE, COL_AVAILABLE, COL_LEAD, COL_COUNT };
static const char *const col_names[COL_COUNT] = {"date", "device", "unit", "price", "available", "lead_time_days"};

#define CSV_MAX_FIELDS 32

int32_t deploy_date_days(const char *s, int *ok) {
    int y, m, d, n = 0;
    *ok = 0;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || y < 1900 || y > 9999) return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap) return -1;
    /* days from civil: shift the year to start in March so the leap day is the year's last */
    y -= m <= 2;
    int era = y / 400, yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *ok = 1;
    return era * 146097 + doe - 719468;
}

void deploy_prices_free(DeployPrices *p) {
    free(p->rows);
    memset(p, 0, sizeof *p);
}

/* Splits line (modified in place) on commas into trimmed fields; returns the count. */
static int csv_split(char *line, char **f) {
    int n = 0;
    char *p = line;
    for (;;) {
        char *end = strchr(p, ',');
        if (end) *end = '\0';
        while (isspace((unsigned char)*p)) p++;
        size_t len = strlen(p);
        while (len && isspace((unsigned char)p[len - 1])) p[--len] = '\0';
        if (n < CSV_MAX_FIELDS) f[n] = p;
        n++;
        if (!end) return n;
        p = end + 1;
    }
}

static int parse_header(char **f, int nf, const char *path, int line, int *col, RtError *err) {
    for (int c = 0; c < COL_COUNT; c++) col[c] = -1;
    for (int k = 0; k < nf && k < CSV_MAX_FIELDS; k++)
        for (int c = 0; c < COL_COUNT; c++)
            if (strcmp(f[k], col_names[c]) == 0) col[c] = k;
    for (int c = 0; c < COL_COUNT; c++)
        if (col[c] < 0)
            return rt_error_set(err,
                                "%s:%d: the header has no column '%s' (expected "
                                "date,device,unit,price,available,lead_time_days)",
                                path, line, col_names[c]);
    return RT_OK;
}

static int parse_number(const char *s, double *x) {
    char *end;
    if (!*s) return -1;
    *x = strtod(s, &end);
    return *end || *x != *x ? -1 : 0;
}

static int parse_row(char **f, int nf, const int *col, const char *path, int line, DeployPriceRow *r,
                     RtError *err) {
    int need = 0;
    for (int c = 0; c < COL_COUNT; c++) need = col[c] + 1 > need ? col[c] + 1 : need;
    if (nf < need || nf > CSV_MAX_FIELDS)
        return rt_error_set(err, "%s:%d: %d fields, the header has %d", path, line, nf, need);
    memset(r, 0, sizeof *r);
    r->line = line;
    int ok;
    const char *s = f[col[COL_DATE]];
    r->day = deploy_date_days(s, &ok);
    if (!ok) return rt_error_set(err, "%s:%d: field 'date': '%s' is not a date YYYY-MM-DD", path, line, s);
    s = f[col[COL_DEVICE]];
    if (!*s || strlen(s) >= sizeof r->device)
        return rt_error_set(err, "%s:%d: field 'device': %s", path, line, *s ? "name too long" : "empty");
    strcpy(r->device, s);
    s = f[col[COL_UNIT]];
    if (strcmp(s, "hour") != 0 && strcmp(s, "unit") != 0)
        return rt_error_set(err, "%s:%d: field 'unit': '%s' is neither 'hour' (cloud) nor 'unit' (device)", path,
                            line, s);
    r->per_hour = strcmp(s, "hour") == 0;
    s = f[col[COL_PRICE]];
    if (parse_number(s, &r->price) != 0 || r->price < 0)
        return rt_error_set(err, "%s:%d: field 'price': '%s' is not a price (a number >= 0)", path, line, s);
    s = f[col[COL_AVAILABLE]];
    if (strcmp(s, "yes") != 0 && strcmp(s, "no") != 0)
        return rt_error_set(err, "%s:%d: field 'available': '%s' is neither 'yes' nor 'no'", path, line, s);
    r->available = strcmp(s, "yes") == 0;
    s = f[col[COL_LEAD]];
    if (parse_number(s, &r->lead_days) != 0 || r->lead_days < 0)
        return rt_error_set(err, "%s:%d: field 'lead_time_days': '%s' is not a number of days >= 0", path, line, s);
    return RT_OK;
}

static int prices_push(DeployPrices *p, const DeployPriceRow *r, RtError *err) {
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        DeployPriceRow *nr = realloc(p->rows, (size_t)cap * sizeof *nr);
        if (!nr) return rt_error_set(err, "%s: out of memory", p->path);
        p->rows = nr;
        p->cap = cap;
    }
    p->rows[p->n++] = *r;
    return RT_OK;
}

int deploy_prices_parse(const char *text, const char *path, DeployPrices *p, RtError *err) {
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    char *copy = strdup(text);
    if (!copy) return rt_error_set(err, "%s: out of memory", path);
    int col[COL_COUNT], have_header = 0, rc = RT_OK, line = 0;
    char *save = NULL;
    for (char *s = copy; s && rc == RT_OK; s = save) {
        char *nl = strchr(s, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        line++;
        size_t len = strlen(s);
        if (len && s[len - 1] == '\r') s[len - 1] = '\0';
        const char *t = s;
        while (isspace((unsigned char)*t)) t++;
        if (!*t || *t == '#') continue;
        char *f[CSV_MAX_FIELDS];
        int nf = csv_split(s, f);
        if (!have_header) {
            rc = parse_header(f, nf, path, line, col, err);
            have_header = 1;
            continue;
        }
        DeployPriceRow r;
        rc = parse_row(f, nf, col, path, line, &r, err);
        if (rc == RT_OK) rc = prices_push(p, &r, err);
    }
    free(copy);
    if (rc == RT_OK && !have_header)
        rc = rt_error_set(err, "%s: empty file (expected a header date,device,unit,price,available,lead_time_days)",
                          path);
    else if (rc == RT_OK && p->n == 0)
        rc = rt_error_set(err, "%s: no price observations after the header (empty series)", path);
    if (rc != RT_OK) deploy_prices_free(p);
    return rc;
}

int deploy_prices_load(const char *path, DeployPrices *p, RtError *err) {
    memset(p, 0, sizeof *p);
    TextBuf b;
    memset(&b, 0, sizeof b);
    int got = text_buf_read_file(&b, path);
    if (got != 0) {
        text_buf_free(&b);
        return rt_error_set(err, "%s: cannot %s the price file", path, got == -1 ? "open" : "read");
    }
    int rc = deploy_prices_parse(b.s ? b.s : "", path, p, err);
    text_buf_free(&b);
    return rc;
}

int deploy_prices_stats(const DeployPrices *p, const char *device, int window_days, DeploySeriesStats *s,
                        RtError *err) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->rows[i].device, device) == 0 && (!s->last || p->rows[i].day >= s->last->day))
            s->last = &p->rows[i];
    if (!s->last) return rt_error_set(err, "%s: no observations for '%s' (empty series)", p->path, device);
    double sum = 0;
    for (int i = 0; i < p->n; i++) {
        const DeployPriceRow *r = &p->rows[i];
        if (strcmp(r->device, device) == 0 && r->day <= s->last->day && r->day > s->last->day - window_days) {
            sum += r->price;
            s->n_window++;
        }
    }
    s->mean = sum / s->n_window;
    return RT_OK;
}
