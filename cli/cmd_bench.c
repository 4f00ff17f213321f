/*
 * cmd_bench.c — `wafer bench MODEL --input NAME=FILE.npy ... [--iters N] [--warmup N]
 * [--threads T] [--json FILE]`: how fast a model loads and runs.
 *
 * load_ms covers everything between a file on disk and a graph ready to run: for ONNX,
 * parsing, binding the input shapes from the given .npy files (ir_bind_input), simplifying
 * (pass_simplify: shape chains and constants fold away for those shapes), lowering to the
 * executor and planning its memory (rt_plan_build: one arena, no allocation per run); a .wafer
 * file is opened by the companion runtime (wafer_rt_open_file: mapped, checked, planned), as an
 * application would. The JSON report adds the arena's bytes and, for .wafer, the weights'. Then `warmup` untimed runs and `iters` timed runs of the executor, each timed
 * with CLOCK_MONOTONIC; median (mean of the middle two for even counts) and p90 (nearest
 * rank) are reported in ms, with peak resident memory (getrusage ru_maxrss) in bytes.
 * --threads T runs wafer's kernels on a pool of T threads and sets OpenBLAS's thread count
 * (the float GEMMs) to T; without it the kernels run on one and OpenBLAS keeps its setting.
 * --profile also times every node during the timed runs (RtRunOptions.node_ns, or the
 * runtime's wafer_rt_profile for .wafer files) and prints the nodes by time, then the time per
 * op type: where a model's run goes, to decide what to optimize. The clock reads add ~50 ns
 * per node to the timed runs.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../format/wafer_file.h"
#include "../passes/passes.h"
#include "../runtime/rt_plan.h"
#include "cli.h"

/* OpenBLAS's thread count, from its cblas.h (whose folder the CLI's flags do not add). */
int openblas_get_num_threads(void);

static const char *const bench_usage =
    "usage: wafer bench MODEL --input NAME=FILE.npy ... [options]\n"
    "\n"
    "Times loading (parse, bind input shapes, simplify, lower) and running MODEL on the\n"
    "given inputs: median and p90 per run in ms, and peak resident memory.\n"
    "\n"
    "  --iters N      timed runs (default 20)\n"
    "  --warmup N     untimed runs first (default 3)\n"
    "  --threads T    threads for wafer's kernels and OpenBLAS's GEMMs (default: the kernels\n"
    "                 run on 1 thread, OpenBLAS keeps its own setting)\n"
    "  --json FILE    write {model, iters, warmup, threads, load_ms, median_ms, p90_ms,\n"
    "                 peak_rss_bytes}\n"
    "  --profile      also time each node over the timed runs and print the nodes by time\n"
    "                 (share, us per run, op, name), then the time per op type; a chain\n"
    "                 the runtime fuses (attention) counts on the node that runs it (its\n"
    "                 last), the chain's other nodes show 0\n"
    "\n"
    "Exit status 0 ok, 2 bad input.\n";

typedef struct {
    const char *model, *json;   /* borrowed (argv) */
    int64_t iters, warmup, threads;  /* threads 0 = not given */
    int profile;                /* --profile */
    CliInputs inputs;
    struct RtThreadPool *pool;  /* owned (cli_threads_start); NULL = kernels on one thread */
} BenchArgs;

typedef struct {
    double load_ms, median_ms, p90_ms;
    int64_t peak_rss_bytes;
    int64_t arena_bytes;     /* the memory plan's arena, -1 when the graph ran unplanned */
    int64_t weight_bytes;    /* a .wafer file's constant data (mapped, not copied); -1 for ONNX */
    int threads;                /* OpenBLAS threads in effect */
} BenchResult;

static int bench_args_parse(int argc, char **argv, BenchArgs *a, RtError *err) {
    a->iters = 20;
    a->warmup = 3;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = 0;
#define OPT(name) ((r = cli_opt(argc, argv, &i, name, &v, "bench", err)) != 0)
        if (OPT("--input")) {
            if (r > 0 && cli_inputs_add(&a->inputs, v, "bench", err) != CLI_OK) return CLI_BAD_INPUT;
        } else if (OPT("--iters")) {
            if (r > 0 && cli_parse_i64(v, 1, 1000000, "--iters", "bench", &a->iters, err) != CLI_OK)
                return CLI_BAD_INPUT;
        } else if (OPT("--warmup")) {
            if (r > 0 && cli_parse_i64(v, 0, 1000000, "--warmup", "bench", &a->warmup, err) != CLI_OK)
                return CLI_BAD_INPUT;
        } else if (OPT("--threads")) {
            if (r > 0 && cli_parse_i64(v, 1, 1024, "--threads", "bench", &a->threads, err) != CLI_OK)
                return CLI_BAD_INPUT;
        } else if (OPT("--json")) {
            a->json = v;
        } else if (strcmp(argv[i], "--profile") == 0) {
            a->profile = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error(err, "bench", "unknown option '%s'", argv[i]);
        } else if (a->model) {
            return cli_usage_error(err, "bench", "one MODEL only (got '%s' and '%s')", a->model, argv[i]);
        } else {
            a->model = argv[i];
        }
#undef OPT
        if (r < 0) return CLI_BAD_INPUT;
    }
    if (!a->model) return cli_usage_error(err, "bench", "missing MODEL");
    return CLI_OK;
}

/* Load, bind the given shapes, simplify, lower: the part load_ms measures. */
static IrLowered *bench_prepare(const BenchArgs *a, IrGraph **g, RtTensor **ins, RtError *err) {
    *g = cli_model_load(a->model, 0, err);
    if (!*g) return NULL;
    *ins = calloc((size_t)((*g)->n_inputs ? (*g)->n_inputs : 1), sizeof **ins);
    if (!*ins) return rt_error_set(err, "out of memory"), NULL;
    if (cli_inputs_match(*g, &a->inputs, 0, *ins, err) != CLI_OK) return NULL;
    for (int i = 0; i < (*g)->n_inputs; i++)
        if (ir_bind_input(*g, i, (*ins)[i].rank, (*ins)[i].dims, err) != RT_OK) {
            cli_error_name_file(err, a->model);
            return NULL;
        }
    if (pass_simplify(*g, err) != RT_OK) {
        cli_error_name_file(err, a->model);
        return NULL;
    }
    IrLowered *l = ir_lower(*g, err);
    if (!l) cli_error_name_file(err, a->model);
    return l;
}

/* The executor for the timed runs: a memory plan over one arena when every value's shape is
 * known from the bound inputs (no allocation per run), else the dynamic executor. */
typedef struct {
    const RtGraph *rg;
    RtPlan plan;
    void *arena;     /* NULL = run unplanned */
    void **node_state; /* [n_nodes] kernels' cached state across the runs (packed weights) */
    /* a .wafer file runs through the companion runtime instead (rt != NULL) */
    WaferRtModel *rt;
    WaferRtTensor *rt_ins, *rt_outs;
    int64_t *node_ns;  /* [n_nodes] --profile totals of the unplanned/planned executor, or NULL */
} BenchExec;

/* A .wafer file: open it with the runtime (the load time an application sees) and order the
 * inputs. */
static int bench_exec_init_rt(BenchExec *x, const BenchArgs *a, RtError *err) {
    memset(x, 0, sizeof x[0]);
    if (cli_rt_open(a->model, a->threads, &x->rt, err) != CLI_OK) return CLI_BAD_INPUT;
    int ni = wafer_rt_num_inputs(x->rt), no = wafer_rt_num_outputs(x->rt);
    x->rt_ins = calloc((size_t)(ni ? ni : 1), sizeof *x->rt_ins);
    x->rt_outs = calloc((size_t)(no ? no : 1), sizeof *x->rt_outs);
    if (!x->rt_ins || !x->rt_outs) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
    return cli_rt_inputs(x->rt, a->model, &a->inputs, x->rt_ins, err);
}

static int bench_exec_init(BenchExec *x, const RtGraph *rg, const RtTensor *ins, RtError *err) {
    memset(x, 0, sizeof *x);
    x->rg = rg;
    x->node_state = calloc((size_t)(rg->n_nodes > 0 ? rg->n_nodes : 1), sizeof(void *));
    if (!x->node_state) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
    int r = rt_plan_build(rg, ins, &x->plan, err);
    if (r == RT_SHAPE_UNKNOWN) {
        err->msg[0] = '\0';
        return CLI_OK;
    }
    if (r != RT_OK) return CLI_BAD_INPUT;
    x->arena = rt_allocator_default()->alloc(NULL, (size_t)(x->plan.arena_bytes ? x->plan.arena_bytes : 1));
    if (!x->arena) return rt_error_set(err, "out of memory for a %lld-byte arena", (long long)x->plan.arena_bytes), CLI_BAD_INPUT;
    return CLI_OK;
}

static void bench_exec_free(BenchExec *x) {
    if (x->node_state) rt_node_state_free(x->node_state, x->rg->n_nodes, rt_allocator_default());
    free(x->node_state);
    wafer_rt_close(x->rt);
    free(x->rt_ins);
    free(x->rt_outs);
    free(x->node_ns);
    if (x->arena) rt_allocator_default()->free(NULL, x->arena);
    rt_plan_free(&x->plan);
}

static int run_once(const BenchExec *x, const RtTensor *ins, RtTensor *outs, const char *model,
                    struct RtThreadPool *pool, RtError *err) {
    if (x->rt) {
        WaferRtError e;
        if (wafer_rt_run(x->rt, x->rt_ins, wafer_rt_num_inputs(x->rt), x->rt_outs, wafer_rt_num_outputs(x->rt),
                         &e) != WAFER_RT_OK) {
            rt_error_set(err, "%s", e.msg);
            cli_error_name_file(err, model);
            return CLI_BAD_INPUT;
        }
        return CLI_OK;
    }
    const RtAllocator *al = rt_allocator_default();
    RtRunOptions o = {.alloc = al, .pool = pool, .ref_only = cli_ref_only(), .node_state = x->node_state,
                      .node_ns = x->node_ns};
    int r = x->arena ? rt_plan_run(x->rg, &x->plan, x->arena, ins, outs, &o, err)
                     : rt_graph_run_opts(x->rg, ins, outs, &o, err);
    if (r != RT_OK) {
        cli_error_name_file(err, model);
        return CLI_BAD_INPUT;
    }
    if (!x->arena)
        for (int k = 0; k < x->rg->n_outputs; k++) rt_tensor_free(al, &outs[k]);
    return CLI_OK;
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Starts --profile's per-node timing (after the warmup runs). */
static int bench_profile_start(BenchExec *x, RtError *err) {
    if (x->rt) {
        WaferRtError e;
        if (wafer_rt_profile_enable(x->rt, 1, &e) != WAFER_RT_OK) return rt_error_set(err, "%s", e.msg), CLI_BAD_INPUT;
        return CLI_OK;
    }
    x->node_ns = calloc((size_t)(x->rg->n_nodes > 0 ? x->rg->n_nodes : 1), sizeof *x->node_ns);
    return x->node_ns ? CLI_OK : (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
}

static int cmp_time_desc(const void *pa, const void *pb) {
    double a = ((const WaferRtNodeTime *)pa)->total_ms, b = ((const WaferRtNodeTime *)pb)->total_ms;
    return (a < b) - (a > b);
}

/* --profile's tables: every node by time, then the sums per op type, per timed run. */
static int bench_profile_print(FILE *out, const BenchExec *x, int64_t iters, RtError *err) {
    int n = x->rt ? wafer_rt_profile(x->rt, NULL, 0, NULL) : x->rg->n_nodes;
    WaferRtNodeTime *t = calloc((size_t)(n > 0 ? n : 1), sizeof *t), *ops = calloc((size_t)(n > 0 ? n : 1), sizeof *ops);
    if (!t || !ops) return free(t), free(ops), rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
    if (x->rt) {
        wafer_rt_profile(x->rt, t, n, NULL);
    } else {
        for (int k = 0; k < n; k++) {
            const RtNode *nd = &x->rg->nodes[k];
            t[k] = (WaferRtNodeTime){nd->name ? nd->name : "", rt_op_name(nd->op), (double)x->node_ns[k] / 1e6};
        }
    }
    double total = 0;
    int n_ops = 0;
    for (int k = 0; k < n; k++) {
        total += t[k].total_ms;
        int j = 0;
        while (j < n_ops && strcmp(ops[j].op, t[k].op) != 0) j++;
        if (j == n_ops) ops[n_ops++] = (WaferRtNodeTime){"", t[k].op, 0};
        ops[j].total_ms += t[k].total_ms;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_time_desc);
    qsort(ops, (size_t)n_ops, sizeof *ops, cmp_time_desc);
    double per = iters > 0 ? 1e3 / (double)iters : 0, pct = total > 0 ? 100 / total : 0;
    fprintf(out, "profile: %d nodes, %.3f us per run in nodes (mean of %lld timed runs)\n", n, total * per,
            (long long)iters);
    fprintf(out, "  %6s %10s  %-20s %s\n", "share", "us/run", "op", "node");
    for (int k = 0; k < n; k++)
        fprintf(out, "  %5.1f%% %10.3f  %-20s %s\n", t[k].total_ms * pct, t[k].total_ms * per, t[k].op, t[k].name);
    fprintf(out, "profile by op type:\n");
    for (int j = 0; j < n_ops; j++)
        fprintf(out, "  %5.1f%% %10.3f  %s\n", ops[j].total_ms * pct, ops[j].total_ms * per, ops[j].op);
    free(t);
    free(ops);
    return CLI_OK;
}

static int bench_runs(const BenchArgs *a, BenchExec *x, const RtTensor *ins, BenchResult *res,
                      RtError *err) {
    int n_out = x->rt ? wafer_rt_num_outputs(x->rt) : x->rg->n_outputs;
    RtTensor *outs = calloc((size_t)(n_out ? n_out : 1), sizeof *outs);
    double *ms = calloc((size_t)a->iters, sizeof *ms);
    int status = (outs && ms) ? CLI_OK : (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
    for (int64_t i = 0; i < a->warmup && status == CLI_OK; i++)
        status = run_once(x, ins, outs, a->model, a->pool, err);
    if (a->profile && status == CLI_OK) status = bench_profile_start(x, err);
    for (int64_t i = 0; i < a->iters && status == CLI_OK; i++) {
        double t0 = cli_now();
        status = run_once(x, ins, outs, a->model, a->pool, err);
        ms[i] = (cli_now() - t0) * 1e3;
    }
    if (status == CLI_OK) {
        size_t n = (size_t)a->iters;
        qsort(ms, n, sizeof *ms, cmp_double);
        res->median_ms = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
        size_t p90 = (9 * n + 9) / 10; /* nearest rank: ceil(0.9 n), 1-based */
        res->p90_ms = ms[p90 - 1];
    }
    free(outs);
    free(ms);
    return status;
}

static int bench_report(FILE *out, const BenchArgs *a, const BenchResult *r, RtError *err) {
    fprintf(out, "%s: load %.2f ms, median %.3f ms, p90 %.3f ms (%lld runs after %lld warmup, threads %d), "
                 "peak RSS %.1f MB\n",
            a->model, r->load_ms, r->median_ms, r->p90_ms, (long long)a->iters, (long long)a->warmup, r->threads,
            (double)r->peak_rss_bytes / 1e6);
    if (!a->json) return CLI_OK;
    TextBuf b;
    memset(&b, 0, sizeof b);
    text_buf_printf(&b, "{\"model\":");
    text_buf_json_str(&b, a->model);
    text_buf_printf(&b, ",\"iters\":%lld,\"warmup\":%lld,\"threads\":%d,\"load_ms\":", (long long)a->iters,
                   (long long)a->warmup, r->threads);
    text_buf_json_num(&b, r->load_ms);
    text_buf_printf(&b, ",\"median_ms\":");
    text_buf_json_num(&b, r->median_ms);
    text_buf_printf(&b, ",\"p90_ms\":");
    text_buf_json_num(&b, r->p90_ms);
    text_buf_printf(&b, ",\"peak_rss_bytes\":%lld,\"arena_bytes\":%lld,\"weight_bytes\":%lld}\n",
                   (long long)r->peak_rss_bytes, (long long)r->arena_bytes, (long long)r->weight_bytes);
    int rc = b.oom ? rt_error_set(err, "%s: out of memory", a->json) : io_file_write_atomic(a->json, b.s, b.len, err);
    text_buf_free(&b);
    return rc == RT_OK ? CLI_OK : CLI_BAD_INPUT;
}

int cmd_bench(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(bench_usage, out);
        return CLI_OK;
    }
    BenchArgs a;
    BenchResult r;
    memset(&a, 0, sizeof a);
    memset(&r, 0, sizeof r);
    int status = bench_args_parse(argc, argv, &a, err);
    if (status == CLI_OK) status = cli_inputs_read(&a.inputs, err);
    IrGraph *g = NULL;
    RtTensor *ins = NULL;
    IrLowered *l = NULL;
    BenchExec x;
    memset(&x, 0, sizeof x);
    if (status == CLI_OK) status = cli_threads_start(a.threads, "bench", &a.pool, err);
    if (status == CLI_OK) {
        r.threads = openblas_get_num_threads();
        double t0 = cli_now();
        if (wafer_file_is(a.model)) {
            status = bench_exec_init_rt(&x, &a, err);
        } else {
            l = bench_prepare(&a, &g, &ins, err);
            if (!l) status = CLI_BAD_INPUT;
            if (status == CLI_OK) status = bench_exec_init(&x, ir_lowered_graph(l), ins, err);
            if (status != CLI_OK) cli_error_name_file(err, a.model);
        }
        r.load_ms = (cli_now() - t0) * 1e3;
        if (x.rt) r.threads = a.threads > 1 ? (int)a.threads : 1; /* the runtime's own pool */
    }
    if (status == CLI_OK) status = bench_runs(&a, &x, ins, &r, err);
    if (status == CLI_OK) {
        r.arena_bytes = x.rt ? (int64_t)wafer_rt_arena_bytes(x.rt) : x.arena ? x.plan.arena_bytes : -1;
        r.weight_bytes = x.rt ? (int64_t)wafer_rt_weight_bytes(x.rt) : -1;
    }
    if (status == CLI_OK) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        r.peak_rss_bytes = (int64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
        status = bench_report(out, &a, &r, err);
    }
    if (status == CLI_OK && a.profile) status = bench_profile_print(out, &x, a.iters, err);
    bench_exec_free(&x);
    ir_lowered_free(l);
    free(ins);
    ir_graph_free(g);
    cli_inputs_free(&a.inputs);
    cli_threads_stop(a.pool);
    return status;
}
