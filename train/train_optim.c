/*
 * train_optim.c — SGD with momentum and Adam over a model's parameters, with L2 weight decay
 * and the learning-rate schedules, in PyTorch's formulation (so its hyper-parameters carry):
 *   g = grad + wd w
 *   SGD:  v = mu v + g (v = g at the first step); w -= lr v
 *   Adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; t = step count
 *         w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * The update reads the gradient the backward pass left in each parameter's dx.
 */
#include <math.h>

#include "train.h"

#define TRAIN_PI 3.14159265358979323846

void train_optim_default(TrainOptim *o) {
    o->kind = TRAIN_OPT_ADAM;
    o->lr = 1e-3;
    o->momentum = 0.9;
    o->beta1 = 0.9, o->beta2 = 0.999, o->eps = 1e-8;
    o->weight_decay = 0;
    o->steps = 0;
}

double train_lr_at(TrainLrKind k, double lr, int64_t e, int64_t E) {
    if (k == TRAIN_LR_CONSTANT || E <= 0) return lr;
    return lr * 0.5 * (1.0 + cos(TRAIN_PI * (double)e / (double)E));
}

int train_optim_step(TrainOptim *o, TrainModel *m, double lr, RtError *err) {
    if (!(lr >= 0) || !isfinite(lr)) return rt_error_set(err, "learning rate %g is not a finite number >= 0", lr);
    o->steps++;
    double bc1 = 1.0 - pow(o->beta1, (double)o->steps), bc2 = 1.0 - pow(o->beta2, (double)o->steps);
    for (int i = 0; i < m->n_params; i++) {
        TrainParam *p = &m->p[i];
        const float *g = m->t[p->value].dx;
        float *w = p->w, *mm = p->m, *vv = p->v;
        float wd = (float)o->weight_decay, flr = (float)lr;
        if (o->kind == TRAIN_OPT_SGD) {
            float mu = (float)o->momentum;
            for (int64_t j = 0; j < p->n; j++) {
                float gj = g[j] + wd * w[j];
                mm[j] = o->steps == 1 ? gj : mu * mm[j] + gj;
                w[j] -= flr * mm[j];
            }
            continue;
        }
        float b1 = (float)o->beta1, b2 = (float)o->beta2;
        double step = lr / bc1, sq = sqrt(bc2);
        for (int64_t j = 0; j < p->n; j++) {
            float gj = g[j] + wd * w[j];
            mm[j] = b1 * mm[j] + (1.0f - b1) * gj;
            vv[j] = b2 * vv[j] + (1.0f - b2) * gj * gj;
            w[j] -= (float)(step * mm[j] / (sqrt(vv[j]) / sq + o->eps));
        }
    }
    return RT_OK;
}
