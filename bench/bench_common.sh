# bench_common.sh — the start the bench/bench_<part>.sh scripts share. A script sets NAME (for
# messages) and sources this file with its own arguments still in place:
#     NAME=bench_x; . "$(dirname "$0")/bench_common.sh"
# It gets B (the build folder, $1, default build), FX (the fixtures, $2, default
# ../shared/fixtures), HERE (this bench/ folder), W (the wafer binary, checked to exist),
# TMP (a temporary folder removed on exit; an interrupt exits 130) and die MESSAGE (to stderr,
# exit 2), plus two checks:
#     bench_need_fixtures    FX exists
#     bench_need_node        node is on the PATH (bench.sh installs it with onnxruntime-node)
# and, for one-model cases written as $TMP/<case>.onnx with inputs $TMP/<case>_<input>.npy:
#     case_wafer_ms CASE / case_ort_ms CASE   median ms of 20 runs after 3 warmup, 1 thread, in wafer
#                                   bench / bench/ort_bench.js (onnxruntime-node)
#     lowest A B                     the smaller of two numbers (A may be empty)
#     case_row CASE LABEL            a table row: the lowest median of 3 alternating rounds of
#                                   each, and their ratio wafer / onnxruntime
set -u
B=${1:-build}
FX=${2:-../shared/fixtures}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$B/wafer

die() {
    echo "$NAME: $*" >&2
    exit 2
}
bench_need_fixtures() {
    [ -d "$FX" ] || die "fixtures folder $FX not found"
}
bench_need_node() {
    command -v node >/dev/null 2>&1 || die "node is needed (bench.sh installs it)"
}
[ -x "$W" ] || die "$W not found (run make first)"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

case_args() { # CASE PREFIX -> NAME=FILE list (PREFIX "--input " for wafer)
    for f in "$TMP/$1"_*.npy; do
        n=${f##*/$1_}
        printf ' %s%s=%s' "$2" "${n%.npy}" "$f"
    done
}
case_wafer_ms() {
    # shellcheck disable=SC2046
    "$W" bench "$TMP/$1.onnx" $(case_args "$1" "--input ") --iters 20 --warmup 3 --threads 1 2>/dev/null |
        sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
}
case_ort_ms() {
    # shellcheck disable=SC2046
    node "$HERE/ort_bench.js" run "$TMP/$1.onnx" $(case_args "$1" "") --iters 20 --warmup 3 --threads 1 2>/dev/null |
        sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p'
}
lowest() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
case_row() {
    w="" o=""
    for _ in 1 2 3; do
        v=$(case_wafer_ms "$1") && [ -n "$v" ] || die "wafer bench failed on $1"
        w=$(lowest "$w" "$v")
        v=$(case_ort_ms "$1") && [ -n "$v" ] || die "ort_bench.js failed on $1 (is onnxruntime-node installed?)"
        o=$(lowest "$o" "$v")
    done
    printf '%-62s %9.3f %9.3f %7.2f\n' "$2" "$w" "$o" "$(awk -v a="$w" -v b="$o" 'BEGIN { print a / b }')"
}
