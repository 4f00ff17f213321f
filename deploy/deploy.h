/*
 * deploy.h — deciding how a model is compressed and where it runs, from measurements wafer
 * makes itself and from price signals:
 *
 *   json.c          a small JSON reader (the registry file)
 *   registry.c      the variant registry: one JSON file listing a model's variants (file, hash,
 *                   target, quality, bytes, latency, cost) and measured cascades
 *   price_csv.c     price observations (date, device, unit, price, available, lead time)
 *   plan.c          `wafer plan`: bit width, distill or not, edge or cloud, cascade threshold
 *   pareto.c        the Pareto front of (bytes, quality) points
 *   svg_plot.c      a self-contained SVG scatter plot with the front marked
 *   cascade_curve.c a cascade's threshold curve from per-sample measurements
 *   mixed.c         a mixed-precision choice under a byte budget from per-layer sensitivity
 *
 * Money is in one unspecified currency throughout ("$" in messages); time in ms or hours as
 * each field's comment says. Errors: RT_ERR with a message naming the file and line or field.
 */
#ifndef WAFER_DEPLOY_H
#define WAFER_DEPLOY_H

#include <stdint.h>

#include "../io/text_buf.h"
#include "../runtime/rt_core.h"

/* ---- JSON (json.c) ---- */
typedef enum { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ } JsonKind;

typedef struct JsonValue {
    JsonKind kind;
    double num;               /* JSON_NUM */
    int b;                    /* JSON_BOOL */
    char *str;                /* JSON_STR, owned, NUL-terminated */
    struct JsonValue *items;  /* JSON_ARR / JSON_OBJ: [n] owned */
    char **keys;              /* JSON_OBJ: [n] owned keys */
    int n;
    int line;                 /* 1-based line where the value starts */
} JsonValue;

/* Parses text (NUL-terminated); messages are "path:LINE: what". Free with deploy_json_free. */
int deploy_json_parse(const char *text, const char *path, JsonValue *out, RtError *err);
void deploy_json_free(JsonValue *v);
/* The member `key` of an object, or NULL (also when obj is not an object). */
const JsonValue *deploy_json_get(const JsonValue *obj, const char *key);

/* ---- variant registry (registry.c) ---- */
#define DEPLOY_REGISTRY_VERSION 1
#define DEPLOY_NAME_MAX 64
#define DEPLOY_PATH_MAX 512

typedef enum { DEPLOY_METRIC_ACCURACY = 0, DEPLOY_METRIC_PERPLEXITY = 1 } DeployMetric;

typedef struct {
    char name[DEPLOY_NAME_MAX];      /* unique within the registry, e.g. "int4-gptq-g32" */
    char file[DEPLOY_PATH_MAX];      /* the model file */
    char hash[17];                   /* FNV-1a 64 of the file's bytes (hex), "" if unknown */
    int bits;                        /* weight bits: 32 float, 8, 4, 3, 2 */
    char method[16];                 /* "rtn", "gptq", "float", "" */
    int group;                       /* quantization group, 0 = per output channel */
    int distilled;                   /* 1 for a distilled student */
    char backend[DEPLOY_NAME_MAX];   /* e.g. "wafer-rt" */
    char target[DEPLOY_NAME_MAX];    /* hardware it was measured on (a device of the price CSV) */
    int metric;                      /* DeployMetric */
    double quality;                  /* accuracy in [0,1], or perplexity */
    int64_t weight_bytes;            /* constant data */
    int64_t arena_bytes;             /* activation arena, -1 unknown */
    double latency_ms;               /* per inference (batch 1 median, or per-sample mean) */
    double price_per_hour;           /* of target when measured, for the cost columns; <0 unknown */
} DeployVariant;

typedef struct {
    char small[DEPLOY_NAME_MAX], large[DEPLOY_NAME_MAX]; /* variant names or files */
    int margin;                      /* confidence: 0 max softmax probability, 1 margin */
    double threshold;                /* escalate when confidence < threshold */
    double accuracy;                 /* of the cascade */
    double escalated;                /* fraction of inputs the large model ran on */
    double latency_ms;               /* mean per inference */
} DeployCascade;

typedef struct {
    int version;                     /* DEPLOY_REGISTRY_VERSION */
    char model[DEPLOY_PATH_MAX];     /* the source model */
    DeployVariant *v;                /* [n] owned */
    int n, cap;
    DeployCascade *c;                /* [nc] owned */
    int nc, capc;
} DeployRegistry;

void deploy_registry_init(DeployRegistry *r);
void deploy_registry_free(DeployRegistry *r);
/* Reads a registry file; a missing file gives an empty registry when allow_missing. */
int deploy_registry_load(const char *path, int allow_missing, DeployRegistry *r, RtError *err);
int deploy_registry_parse(const char *text, const char *path, DeployRegistry *r, RtError *err);
/* The registry as JSON (schema in registry.c); write atomically with deploy_registry_save. */
void deploy_registry_json(const DeployRegistry *r, TextBuf *b);
int deploy_registry_save(const DeployRegistry *r, const char *path, RtError *err);
/* Adds v, replacing a variant of the same name. */
int deploy_registry_put(DeployRegistry *r, const DeployVariant *v, RtError *err);
int deploy_registry_put_cascade(DeployRegistry *r, const DeployCascade *c, RtError *err);
const DeployVariant *deploy_registry_find(const DeployRegistry *r, const char *name);
void deploy_variant_init(DeployVariant *v);
/* price_per_hour * latency: cost of 1,000 inferences; NaN when either is unknown. */
double deploy_variant_cost_per_1k(const DeployVariant *v);
/* cost of one inference / accuracy; NaN for perplexity or unknown cost. */
double deploy_variant_cost_per_correct(const DeployVariant *v);
/* Cost of one inference at price_per_hour for latency_ms: latency_ms / 3.6e6 h * price. */
double deploy_cost_per_inference(double latency_ms, double price_per_hour);

/* ---- price observations (price_csv.c) ---- */
typedef struct {
    int32_t day;                     /* days since 1970-01-01 */
    char device[DEPLOY_NAME_MAX];    /* instance or device type */
    int per_hour;                    /* 1: cloud instance, price per hour; 0: device, price per unit */
    double price;
    int available;                   /* 1 yes, 0 no */
    double lead_days;                /* procurement lead time */
    int line;                        /* CSV line, for messages */
} DeployPriceRow;

typedef struct {
    DeployPriceRow *rows;            /* [n] owned, in file order */
    int n, cap;
    char path[DEPLOY_PATH_MAX];
} DeployPrices;

/* CSV with the header `date,device,unit,price,available,lead_time_days` (any column order):
 * date YYYY-MM-DD, unit "hour" or "unit", available yes/no. Empty lines and lines starting
 * with '#' are skipped. Errors name the line and the field. */
int deploy_prices_parse(const char *text, const char *path, DeployPrices *p, RtError *err);
int deploy_prices_load(const char *path, DeployPrices *p, RtError *err);
void deploy_prices_free(DeployPrices *p);
/* "YYYY-MM-DD" -> days since 1970-01-01; -1 with *ok 0 when malformed. */
int32_t deploy_date_days(const char *s, int *ok);

typedef struct {
    const DeployPriceRow *last;      /* the latest observation (borrowed) */
    double mean;                     /* mean price over the window ending at last->day */
    int n_window;                    /* observations in the window */
} DeploySeriesStats;

/* The series of `device`: its latest observation and the mean over the `window_days` days
 * ending at that date (days d with last - window < d <= last). RT_ERR naming the file when
 * the device has no observations. */
int deploy_prices_stats(const DeployPrices *p, const char *device, int window_days, DeploySeriesStats *s,
                        RtError *err);

/* ---- plan (plan.c) ---- */
typedef struct {
    double traffic;                  /* inferences per month */
    double sla_latency_ms;           /* max latency; <= 0: none */
    double sla_accuracy;             /* min accuracy; <= 0: none */
    double spike;                    /* step down when price > mean * (1 + spike); default 0.25 */
    int window_days;                 /* moving average window; default 90 */
    double horizon_months;           /* projection and procurement horizon; default 12 */
    double distill_factor;           /* distill when spend > factor * distill_cost; default 3 */
    double distill_cost;             /* cost of a distillation run; default 1000 */
    double amortize_months;          /* a device's price is spread over this; default 36 */
    double maintenance;              /* per device per month; default 0 */
    int bits_now, bits_low;          /* the current width and the step-down width; 8 and 4 */
    const char *cloud;               /* cloud instance series; NULL = first "hour" device */
    const char *device;              /* edge device series; NULL = first "unit" device */
    const char *watch;               /* series whose spike steps bits down; NULL = cloud */
} DeployPlanOptions;

void deploy_plan_options_default(DeployPlanOptions *o);

typedef struct {
    int bits;                        /* chosen weight bits */
    double price_now, price_mean;    /* of the watched series */
    double rise;                     /* price_now / price_mean - 1 */
    int variant;                     /* index into the registry, -1 none meets the SLA */
    int distill;                     /* 1: distill */
    double spend;                    /* projected inference spend over the horizon (cloud) */
    int edge;                        /* 1 edge, 0 cloud */
    int edge_buyable;
    double cloud_monthly, edge_monthly; /* cost per month for the traffic */
    int64_t devices;                 /* devices needed for the traffic */
    double breakeven;                /* traffic per month where one device costs as much as the cloud */
    int cascade;                     /* index into the registry's cascades, -1 none */
    char cloud[DEPLOY_NAME_MAX], device[DEPLOY_NAME_MAX];
    char why_bits[512], why_variant[512], why_distill[512], why_place[900], why_cascade[512];
} DeployPlan;

int deploy_plan_make(const DeployPrices *p, const DeployRegistry *r, const DeployPlanOptions *o, DeployPlan *out,
                     RtError *err);
void deploy_plan_json(const DeployPlan *pl, const DeployRegistry *r, TextBuf *b);
void deploy_plan_text(const DeployPlan *pl, const DeployRegistry *r, TextBuf *b);

/* ---- Pareto front (pareto.c) ---- */
/* on_front[i] = 1 when no other point has x <= x_i and quality at least as good with one of
 * the two strictly better. higher_better: quality y is accuracy (1) or perplexity (0). */
void deploy_pareto_mark(const double *x, const double *y, int n, int higher_better, int *on_front);

/* ---- SVG plot (svg_plot.c) ---- */
typedef struct {
    double x, y;                     /* x > 0 (log scale) */
    const char *label;               /* borrowed */
    int on_front;
} DeploySvgPoint;

/* A scatter plot of quality against bytes (log2 x axis) with the Pareto front drawn as a
 * line through its points: one <circle class="variant"> per point, readable alone. */
void deploy_svg_plot(TextBuf *b, const char *title, const char *xlabel, const char *ylabel,
                     const DeploySvgPoint *pts, int n);
/* Escapes & < > " for XML text and attributes. */
void deploy_xml_text(TextBuf *b, const char *s);

/* ---- cascade threshold curve (cascade_curve.c) ---- */
typedef struct {
    double threshold;
    double accuracy;
    double escalated;                /* fraction */
    double latency_ms;               /* mean per inference: small always, large when escalated */
    double cost;                     /* per inference */
    double cost_per_correct;
} DeployCascadePoint;

/* For each threshold t: a sample escalates when conf[i] < t and takes the large model's
 * answer. lat_small/lat_large are per-inference ms; price per hour prices the time. Returns
 * the index of the cheapest point whose accuracy >= large accuracy - max_drop (-1 none). */
int deploy_cascade_curve(const double *conf, const unsigned char *small_ok, const unsigned char *large_ok, int64_t n,
                         double lat_small, double lat_large, double price_per_hour, const double *thresholds,
                         int n_thr, double max_drop, DeployCascadePoint *pts);

/* ---- mixed precision (mixed.c) ---- */
typedef struct {
    const char *name;                /* borrowed */
    int64_t bytes_high, bytes_low;   /* the layer's weight bytes at the high and the low width */
    double loss;                     /* quality loss when only this layer is lowered (>= 0 worse) */
} DeployLayerCost;

/* Chooses layers to lower so that base_bytes + sum(bytes) <= budget with the least summed
 * loss: exact 0/1 knapsack over savings when small enough, else greedy by loss per byte
 * saved. lower[i] = 1 for a lowered layer. RT_ERR when even lowering all misses the budget. */
int deploy_mixed_choose(const DeployLayerCost *l, int n, int64_t base_bytes, int64_t budget, int *lower,
                        RtError *err);

#endif
