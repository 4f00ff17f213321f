/*
 * mixed.c — a mixed-precision choice from per-layer sensitivity: which layers to lower (e.g.
 * 8 -> 4 bits) so that the model fits a byte budget with the least quality loss, each layer's
 * loss measured by lowering it alone (`wafer sweep --per-layer`). Losses are taken as additive.
 *
 * Exact when the table fits (MIXED_MAX_CELLS): a 0/1 knapsack by dynamic programming,
 * dp[i][s] = least summed loss over layers < i saving at least s bytes (s capped at the
 * bytes to save). Otherwise greedy: lower the layer with the least loss per byte saved until
 * the budget is met.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

#define MIXED_MAX_CELLS 4000000  /* n * units of the DP table */

static int mixed_greedy(const DeployLayerCost *l, int n, int64_t need, int *lower) {
    int64_t saved = 0;
    while (saved < need) {
        int best = -1;
        double best_rate = INFINITY;
        for (int i = 0; i < n; i++) {
            int64_t s = l[i].bytes_high - l[i].bytes_low;
            if (lower[i] || s <= 0) continue;
            double rate = fmax(l[i].loss, 0) / (double)s;
            if (rate < best_rate) best_rate = rate, best = i;
        }
        if (best < 0) return RT_ERR;
        lower[best] = 1;
        saved += l[best].bytes_high - l[best].bytes_low;
    }
    return RT_OK;
}

/* dp[i][s] = least loss using layers < i that saves >= s units (s capped at need). */
static int mixed_exact(const DeployLayerCost *l, int n, int64_t need, int64_t quantum, int *lower) {
    int64_t units = (need + quantum - 1) / quantum;
    size_t w = (size_t)units + 1;
    double *dp = malloc((size_t)(n + 1) * w * sizeof *dp);
    if (!dp) return RT_ERR_NOMEM;
    for (size_t s = 0; s < w; s++) dp[s] = s == 0 ? 0 : INFINITY;
    for (int i = 0; i < n; i++) {
        int64_t save = (l[i].bytes_high - l[i].bytes_low) / quantum;
        double loss = fmax(l[i].loss, 0);
        for (size_t s = 0; s < w; s++) {
            double keep = dp[(size_t)i * w + s];
            size_t from = save > 0 ? (s > (size_t)save ? s - (size_t)save : 0) : s;
            double take = save > 0 ? dp[(size_t)i * w + from] + loss : INFINITY;
            dp[(size_t)(i + 1) * w + s] = take < keep ? take : keep;
        }
    }
    int rc = isfinite(dp[(size_t)n * w + (size_t)units]) ? RT_OK : RT_ERR;
    for (int i = n - 1, s = (int)units; rc == RT_OK && i >= 0; i--) {
        if (dp[(size_t)(i + 1) * w + (size_t)s] == dp[(size_t)i * w + (size_t)s]) continue;
        lower[i] = 1;
        int64_t save = (l[i].bytes_high - l[i].bytes_low) / quantum;
        s = s > save ? s - (int)save : 0;
    }
    free(dp);
    return rc;
}

int deploy_mixed_choose(const DeployLayerCost *l, int n, int64_t base_bytes, int64_t budget, int *lower,
                        RtError *err) {
    memset(lower, 0, (size_t)n * sizeof *lower);
    int64_t total = base_bytes, all_low = base_bytes;
    for (int i = 0; i < n; i++) total += l[i].bytes_high, all_low += l[i].bytes_low < l[i].bytes_high ? l[i].bytes_low : l[i].bytes_high;
    if (total <= budget) return RT_OK;
    if (all_low > budget)
        return rt_error_set(err, "the budget of %lld bytes is below %lld bytes, the size with every layer lowered",
                            (long long)budget, (long long)all_low);
    int64_t need = total - budget;
    int exact = (need + 1) * (int64_t)(n + 1) <= MIXED_MAX_CELLS;
    int rc = exact ? mixed_exact(l, n, need, 1, lower) : RT_ERR;
    if (rc != RT_OK) {
        memset(lower, 0, (size_t)n * sizeof *lower);
        rc = mixed_greedy(l, n, need, lower);
    }
    if (rc != RT_OK) return rt_error_set(err, "no choice of layers meets the budget of %lld bytes", (long long)budget);
    return RT_OK;
}
