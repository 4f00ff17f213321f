/*
 * cli_threads.c — --threads T for run, eval and bench: T threads for wafer's own kernels (a
 * runtime thread pool, passed to the executor through RtRunOptions.pool) and OpenBLAS's
 * thread count set to T for the float GEMMs. Without --threads the kernels run on the
 * calling thread and OpenBLAS keeps its own setting (OPENBLAS_NUM_THREADS, else its
 * core count).
 */
#include <stdlib.h>
#include <string.h>

#include "../runtime/rt_threads.h"
#include "cli.h"

/* OpenBLAS's thread control, from its cblas.h (whose folder the CLI's flags do not add). */
void openblas_set_num_threads(int num_threads);

int cli_threads_start(int64_t threads, const char *cmd, struct RtThreadPool **pool, RtError *err) {
    *pool = NULL;
    if (threads <= 0) return CLI_OK;
    openblas_set_num_threads((int)threads);
    if (threads == 1) return CLI_OK;
    *pool = rt_pool_new((int)threads, NULL);
    if (!*pool) {
        rt_error_set(err, "%s: could not start %lld threads", cmd, (long long)threads);
        return CLI_BAD_INPUT;
    }
    return CLI_OK;
}

void cli_threads_stop(struct RtThreadPool *pool) { rt_pool_free(pool); }

int cli_ref_only(void) {
    const char *v = getenv("WAFER_RT_REF");
    return v && strcmp(v, "1") == 0;
}
