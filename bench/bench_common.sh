# bench_common.sh — the start the bench/bench_<part>.sh scripts share. A script sets NAME (for
# messages) and sources this file with its own arguments still in place:
#     NAME=bench_x; . "$(dirname "$0")/bench_common.sh"
# It gets B (the build folder, $1, default build), FX (the fixtures, $2, default
# ../shared/fixtures), HERE (this bench/ folder), W (the wafer binary, checked to exist),
# TMP (a temporary folder removed on exit; an interrupt exits 130) and die MESSAGE (to stderr,
# exit 2), plus two checks:
#     bench_need_fixtures    FX exists
#     bench_need_node        node is on the PATH (bench.sh installs it with onnxruntime-node)
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
