/*
 * test_emit_arm.c — the emitted C on ARM: cross-compiled for a Cortex-M4 with Debian's
 * gcc-arm-none-eabi (-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os) it
 * builds without a single warning under -std=c99 -Wall -Wextra -Werror -pedantic, and its
 * object needs no symbol beyond libc/libm basics (nm -u against the list below); built
 * for 32-bit ARM Linux with gcc-arm-linux-gnueabihf and run under qemu-arm, it gives the
 * host's outputs byte for byte (integer and float: the kernels contain nothing that rounds
 * differently, and C99 mode keeps GCC from contracting a*b+c into FMA).
 * Each test skips with a message when its toolchain is not installed (scripts/deps.sh
 * installs them).
 */
#include "emitc_util.h"

#define M4_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os"

/* What an emitted object may leave undefined: libc's memory functions, libm's exp/tanh/erf/sqrt,
 * and libgcc's soft double arithmetic (the Cortex-M4's FPU is single precision; the float
 * pools and softmax sum in double, as wafer's runtime does). Integer models need no libm
 * and no soft double. */
static const char *const allowed_undefined[] = {
    "memcpy", "memset", "memmove", "expf", "tanhf", "erff", "sqrt",
    "__aeabi_memcpy", "__aeabi_memcpy4", "__aeabi_memcpy8", "__aeabi_memset", "__aeabi_memset4", "__aeabi_memclr",
    "__aeabi_memclr4", "__aeabi_dadd", "__aeabi_dsub", "__aeabi_dmul", "__aeabi_ddiv", "__aeabi_d2f",
    "__aeabi_f2d", "__aeabi_i2d", "__aeabi_ui2d", "__aeabi_dcmplt", "__aeabi_dcmpgt", "__aeabi_dcmpeq",
};

static int have_tool(const char *tool) {
    char out[256];
    return tu_run(out, sizeof out, "command -v %s", tool) == 0;
}

/* *n_heavy = how many libm or soft-double symbols the object needs. */
static void m4_check(const char *onnx, const char *opts, int *n_heavy) {
    char dir[256], wafer[512], log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_m4"), 0);
    ecu_quantize(dir, onnx, "m", opts, wafer, sizeof wafer);
    ecu_emit(wafer, dir, 0, 0);
    int st = tu_run(log, sizeof log, "arm-none-eabi-gcc " M4_FLAGS " -std=c99 -Wall -Wextra -Werror -pedantic -c %s/model.c -o %s/model.o",
                    dir, dir);
    cr_assert_eq(st, 0, "%s %s: arm-none-eabi-gcc failed: %s", onnx, opts, log);
    cr_expect_eq(log[0], '\0', "%s %s: arm-none-eabi-gcc printed: %s", onnx, opts, log);
    st = tu_run(log, sizeof log, "arm-none-eabi-nm -u %s/model.o", dir);
    cr_assert_eq(st, 0, "%s", log);
    *n_heavy = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        char *sym = strrchr(line, ' ');
        sym = sym ? sym + 1 : line;
        int ok = 0;
        for (size_t i = 0; i < sizeof allowed_undefined / sizeof allowed_undefined[0]; i++)
            ok |= strcmp(sym, allowed_undefined[i]) == 0;
        cr_expect(ok, "%s %s: the Cortex-M4 object needs '%s'", onnx, opts, sym);
        *n_heavy += strstr(sym, "mem") == NULL;
    }
    tu_tmpdir_remove(dir);
}

#define DIGITS_CALIB "--calib image=" FIXTURES "/digits/calib_img.npy"
#define KWS_CALIB "--calib mfcc=" FIXTURES "/kws/kws_in.npy"

Test(emit_arm, cortex_m4_builds_clean_with_only_libc_symbols) {
    if (!have_tool("arm-none-eabi-gcc") || !have_tool("arm-none-eabi-nm"))
        cr_skip_test("arm-none-eabi-gcc not installed (Debian gcc-arm-none-eabi): Cortex-M4 build skipped");
    int n;
    m4_check("kws/kws_dscnn.onnx", "--weights int8 --activations int8 " KWS_CALIB, &n);
    cr_expect_eq(n, 0, "an int8 model should need no libm or soft-double symbol");
    m4_check("digits/digits_cnn.onnx", "--weights int8 --activations int8 " DIGITS_CALIB, &n);
    cr_expect_eq(n, 0, "an int8 model should need no libm or soft-double symbol");
    m4_check("kws/kws_dscnn.onnx", "--weights f32", &n);
    m4_check("digits/digits_cnn.onnx", "--weights int4 --group 32", &n);
}

/* Host build and ARM build under qemu-arm on the same inputs: identical bytes. */
static void qemu_check(const char *onnx, const char *opts, const char *input, long max_rows) {
    char dir[256], wafer[512], log[8192], path[600];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_qemu"), 0);
    ecu_quantize(dir, onnx, "m", opts, wafer, sizeof wafer);
    ecu_emit(wafer, dir, 1, 0);
    RtTensor x = tu_fixture_npy(input);
    long rows = x.dims[0] < max_rows ? (long)x.dims[0] : max_rows;
    snprintf(path, sizeof path, "%s/in.bin", dir);
    ecu_raw_write(path, x.data, (size_t)(rt_nbytes(&x) / x.dims[0] * rows));
    free(x.data);
    cr_assert_eq(ecu_compile("gcc", "-O2", dir, "h_host", log, sizeof log), 0, "%s", log);
    cr_assert_eq(ecu_compile("arm-linux-gnueabihf-gcc", "-O2 -static", dir, "h_arm", log, sizeof log), 0,
                 "arm-linux-gnueabihf-gcc: %s", log);
    cr_expect_eq(log[0], '\0', "arm-linux-gnueabihf-gcc printed: %s", log);
    int st = tu_run(log, sizeof log, "%s/h_host %s/in.bin %s/host0.bin %s/host1.bin", dir, dir, dir, dir);
    cr_assert_eq(st, 0, "%s", log);
    st = tu_run(log, sizeof log, "qemu-arm %s/h_arm %s/in.bin %s/arm0.bin %s/arm1.bin", dir, dir, dir, dir);
    cr_assert_eq(st, 0, "qemu-arm: %s", log);
    for (int i = 0; i < 2; i++) {
        char pa[600], pb[600];
        size_t na = 0, nb = 0;
        snprintf(pa, sizeof pa, "%s/host%d.bin", dir, i);
        snprintf(pb, sizeof pb, "%s/arm%d.bin", dir, i);
        unsigned char *a = tu_file_read(pa, &na), *b = tu_file_read(pb, &nb);
        cr_expect(a && b && na == nb && na > 0 && memcmp(a, b, na) == 0, "%s %s: output %d under qemu-arm differs from the host's",
                  onnx, opts, i);
        free(a);
        free(b);
    }
    tu_tmpdir_remove(dir);
}

Test(emit_arm, qemu_arm_matches_host) {
    if (!have_tool("arm-linux-gnueabihf-gcc") || !have_tool("qemu-arm"))
        cr_skip_test("arm-linux-gnueabihf-gcc or qemu-arm not installed (Debian gcc-arm-linux-gnueabihf, qemu-user): skipped");
    /* 40 digits keep the emulated run under a second */
    qemu_check("digits/digits_cnn.onnx", "--weights int8 --activations int8 " DIGITS_CALIB, "digits/test_img.npy", 40);
    qemu_check("kws/kws_dscnn.onnx", "--weights int8 --activations int8 " KWS_CALIB, "kws/kws_in.npy", 8);
}
