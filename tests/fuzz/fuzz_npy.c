/*
 * fuzz_npy.c — libFuzzer target for the .npy reader (io/npy.c): each input is a whole file
 * handed to npy_read and npy_read_header. A refusal is fine; a crash, a sanitizer report or
 * a leak is a bug. On success the tensor's data must cover its shape (checked by touching
 * the last byte, which ASan turns into a report if the buffer is short).
 */
#include "fuzz_memfile.h"

#include <string.h>

#include "../../io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_memfile(data, size);
    RtError err;
    memset(&err, 0, sizeof err);
    RtTensor t;
    memset(&t, 0, sizeof t);
    if (npy_read(path, &t, &err) == RT_OK) {
        int64_t bytes = rt_nbytes(&t);
        if (bytes > 0 && t.data) {
            volatile uint8_t last = ((const uint8_t *)t.data)[bytes - 1];
            (void)last;
        }
        free(t.data);
    }
    RtTensor h;
    memset(&h, 0, sizeof h);
    int64_t off = 0;
    int swap = 0;
    (void)npy_read_header(path, &h, &off, &swap, &err);
    return 0;
}
