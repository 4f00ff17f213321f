#!/bin/sh
# bench_attention23.sh — ONNX Attention (opset 23) as the PyTorch dynamo / onnxscript exporters
# write it, wafer against onnxruntime on the same one-node models:
#   prefill  Q/K/V [1, 8|2, 512, 64] (GQA 8 query heads over 2 key/value heads), is_causal,
#            present key/value outputs
#   decode   one query over a 511-position cache (past_key/past_value [1, 2, 511, 64]),
#            is_causal, present outputs
#   mha-mask 3-D Q/K/V [1, 256, 12*64] (12 heads), a float mask [256, 256]
#
# Usage: sh bench/bench_attention23.sh BUILD_DIR   (bench.sh's first argument; needs node and
# onnxruntime-node in bench/node_modules, which bench.sh installs)
#
# Method: a small node script (below) writes each model (protobuf by hand: ModelProto, IR 11,
# opset 23) and random float32 inputs; each number is the lowest median of 3 alternating runs
# (wafer bench / bench/ort_bench.js: 20 timed runs after 3 warmup) at 1 thread, so both are
# measured in the same minutes of a shared machine. Ratio: wafer / onnxruntime.
NAME=bench_attention23
. "$(dirname "$0")/bench_common.sh"
bench_need_node

# writes $TMP/<case>.onnx and $TMP/<case>_<input>.npy
cat >"$TMP/mk.js" <<'EOF'
'use strict';
const fs = require('fs');
const dir = process.argv[2];
const { varint, key, vint, bytes, str, f32, attrI } = require(process.argv[3]); // bench/onnx_pb.js
const vinfo = (name, dims) => {
  const shape = Buffer.concat((dims || []).map((d) => bytes(1, vint(1, d))));
  const tt = Buffer.concat([vint(1, 1), dims ? bytes(2, shape) : Buffer.alloc(0)]);
  return Buffer.concat([str(1, name), bytes(2, bytes(1, tt))]);
};
function model(name, ins, outs, attrs, inputs) {
  const node = Buffer.concat([...ins.map((s) => str(1, s)), ...outs.map((s) => str(2, s)), str(3, 'att'),
    str(4, 'Attention'), ...attrs.map((a) => bytes(5, a))]);
  const graph = Buffer.concat([bytes(1, node), str(2, name), ...inputs.map(([n, d]) => bytes(11, vinfo(n, d))),
    ...outs.filter((s) => s).map((s) => bytes(12, vinfo(s, null)))]);
  const m = Buffer.concat([vint(1, 11), str(2, 'bench_attention23'), bytes(7, graph), bytes(8, Buffer.concat([str(1, ''), vint(2, 23)]))]);
  fs.writeFileSync(`${dir}/${name}.onnx`, m);
  let s = 12345;
  for (const [n, d] of inputs) {
    const count = d.reduce((a, b) => a * b, 1);
    let hdr = `{'descr': '<f4', 'fortran_order': False, 'shape': (${d.join(', ')}${d.length === 1 ? ',' : ''}), }`;
    hdr += ' '.repeat(63 - ((10 + hdr.length) % 64)) + '\n';
    const h = Buffer.alloc(10); h.write('\x93NUMPY', 0, 'latin1'); h[6] = 1; h[7] = 0; h.writeUInt16LE(hdr.length, 8);
    const data = Buffer.alloc(4 * count);
    for (let i = 0; i < count; i++) { s = (s * 1664525 + 1013904223) >>> 0; data.writeFloatLE((s / 4294967296) * 2 - 1, 4 * i); }
    fs.writeFileSync(`${dir}/${name}_${n}.npy`, Buffer.concat([h, Buffer.from(hdr, 'latin1'), data]));
  }
}
model('prefill', ['q', 'k', 'v'], ['y', 'pk_out', 'pv_out'], [attrI('is_causal', 1)],
  [['q', [1, 8, 512, 64]], ['k', [1, 2, 512, 64]], ['v', [1, 2, 512, 64]]]);
model('decode', ['q', 'k', 'v', '', 'pk', 'pv'], ['y', 'pk_out', 'pv_out'], [attrI('is_causal', 1)],
  [['q', [1, 8, 1, 64]], ['k', [1, 2, 1, 64]], ['v', [1, 2, 1, 64]], ['pk', [1, 2, 511, 64]], ['pv', [1, 2, 511, 64]]]);
model('mhamask', ['q', 'k', 'v', 'm'], ['y'], [attrI('q_num_heads', 12), attrI('kv_num_heads', 12)],
  [['q', [1, 256, 768]], ['k', [1, 256, 768]], ['v', [1, 256, 768]], ['m', [256, 256]]]);
EOF
node "$TMP/mk.js" "$TMP" "$HERE/onnx_pb.js" || die "writing the models failed"

printf '%-62s %9s %9s %7s\n' "Attention-23, 1 thread, median ms" "wafer" "ort" "w/ort"
for c in prefill decode mhamask; do
    case $c in
    prefill) d="prefill GQA 8/2 heads, 512 x 512, causal, present out" ;;
    decode) d="decode GQA 8/2 heads, 1 query, 511 cached, causal" ;;
    *) d="3-D MHA 12 heads, 256 x 256, float mask" ;;
    esac
    case_row $c "$d"
done
