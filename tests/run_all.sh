#!/bin/sh
# Runs every check of one build: the Criterion suites, the ONNX node conformance runners (the
# runtime, and the C emit-c writes) and the end-to-end suites (which are Criterion suites too,
# under tests/e2e and tests/cli).
# Usage: tests/run_all.sh BUILD_DIR FIXTURES. Ends with one line "N passed, N failed".
B=$1
export WAFER_FIXTURES=$2
# Suites skip their slowest end-to-end cases under the sanitizers (they run in the plain pass).
case $B in *asan*) export WAFER_SANITIZED=1 ;; esac
passed=0
failed=0
status=0
log=$(mktemp)
for t in $(find "$B/tests" -type f -name 'test_*' | sort); do
    "$t" --jobs 2 >"$log" 2>&1
    rc=$?
    summary=$(grep 'Synthesis:' "$log" | tail -n 1)
    p=$(echo "$summary" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    f=$(echo "$summary" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    c=$(echo "$summary" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    [ -n "$p" ] || p=0
    [ -n "$f" ] || f=1
    [ -n "$c" ] || c=0
    passed=$((passed + p))
    failed=$((failed + f))
    if [ $rc -ne 0 ] || [ "$f" -ne 0 ] || [ "$c" -ne 0 ]; then
        status=1
        echo "FAIL $t" >&2
        grep -v '^\[----\] *$' "$log" | grep -E '\[(FAIL|----)\]|Assertion|error|ERROR|Synthesis' | head -n 40 >&2
    else
        echo "ok   $t ($p tests)"
    fi
done
echo "== ONNX node conformance"
"$B/conformance" >"$log" 2>&1 || status=1
cat "$log"
conf_count() { # adds the runner's last line "N passed, N failed, N unsupported" to the totals
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    cp=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    cf=$(echo "$line" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p')
    [ -n "$cp" ] || { cp=0; cf=1; status=1; }
    passed=$((passed + cp))
    failed=$((failed + cf))
}
conf_count
echo "== ONNX node conformance through emit-c (the emitted C compiled and run)"
"$B/emitc_conformance" >"$log" 2>&1 || status=1
cat "$log"
conf_count
# The rest of the ONNX backend test data (same layout): small PyTorch-exported modules and
# operators (opsets 6-9: legacy broadcasting, PRelu per channel) and the simple models.
ONNX_DATA=/usr/share/libonnx-testdata/data
for set in pytorch-converted pytorch-operator simple; do
    for runner in conformance emitc_conformance; do
        echo "== ONNX $set through $runner"
        "$B/$runner" --data "$ONNX_DATA/$set" >"$log" 2>&1 || status=1
        cat "$log"
        conf_count
    done
done
rm -f "$log"
echo "$passed passed, $failed failed"
exit $status
