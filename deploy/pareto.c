/*
 * pareto.c — the Pareto front of (weight bytes, quality) points: a variant is on the front
 * when no other variant is at least as small and at least as good with one of the two
 * strictly better. O(n^2) pairwise dominance: sweeps have tens of variants.
 */
#include "deploy.h"

void deploy_pareto_mark(const double *x, const double *y, int n, int higher_better, int *on_front) {
    for (int i = 0; i < n; i++) {
        on_front[i] = 1;
        for (int j = 0; j < n && on_front[i]; j++) {
            if (j == i) continue;
            double yi = higher_better ? y[i] : -y[i], yj = higher_better ? y[j] : -y[j];
            int no_worse = x[j] <= x[i] && yj >= yi;
            int better = x[j] < x[i] || yj > yi;
            if (no_worse && better) on_front[i] = 0;
        }
    }
}
