#!/bin/sh
# bench_gqa.sh — com.microsoft GroupQueryAttention as onnxruntime-genai's model builder writes
# it (rotary inside, do_rotary with cos/sin caches, a KV cache), wafer (which rewrites it onto
# RotaryEmbedding-23 + Attention-23: frontend/onnx_contrib_gqa.c) against onnxruntime on the
# same one-node models, Llama-3-8B's attention shape (32 query heads over 8 key/value heads of
# size 128, hidden 4096):
#   decode-512   one new token after a 511-token cache (past_key/past_value [1, 8, 511, 128])
#   decode-2048  one new token after a 2047-token cache
#   prefill-256  a 256-token prompt, no cache
# every case with seqlens_k / total_sequence_length inputs and present key/value outputs.
#
# Usage: sh bench/bench_gqa.sh BUILD_DIR   (bench.sh's first argument; needs node and
# onnxruntime-node in bench/node_modules, which bench.sh installs)
#
# Method (bench_attention23.sh's): a small node script writes each model (protobuf by hand:
# ModelProto, IR 10, opset 21 + com.microsoft 1) and its inputs (random float32 in [-1, 1),
# int32 lengths); each number is the lowest median of 3 alternating runs (wafer bench /
# bench/ort_bench.js: 20 timed runs after 3 warmup) at 1 thread. Ratio: wafer / onnxruntime.
# Last line: the memory floor of decode-2048 (a plain copy of its two caches, which the step
# must write into its present outputs), to read the decode row against.
NAME=bench_gqa
. "$(dirname "$0")/bench_common.sh"
bench_need_node

cat >"$TMP/mk.js" <<'EOF'
'use strict';
const fs = require('fs');
const dir = process.argv[2];
const { varint, key, vint, bytes, str, attrI } = require(process.argv[3]); // bench/onnx_pb.js
const vinfo = (name, elem, dims) => {
  const shape = Buffer.concat((dims || []).map((d) => bytes(1, vint(1, d))));
  const tt = Buffer.concat([vint(1, elem), dims ? bytes(2, shape) : Buffer.alloc(0)]);
  return Buffer.concat([str(1, name), bytes(2, bytes(1, tt))]);
};
const N = 32, NKV = 8, H = 128, MAXPOS = 4096;
function cache(name, fn) { // [MAXPOS, H/2] float32 initializer: fn(p * theta_k)
  const half = H / 2, data = Buffer.alloc(4 * MAXPOS * half);
  for (let p = 0; p < MAXPOS; p++)
    for (let k = 0; k < half; k++) data.writeFloatLE(fn(p * Math.pow(10000, -k / half)), 4 * (p * half + k));
  return Buffer.concat([vint(1, MAXPOS), vint(1, half), vint(2, 1), str(8, name), bytes(9, data)]);
}
const caches = [cache('cos', Math.cos), cache('sin', Math.sin)];
function npy(path, descr, dims, data) {
  let hdr = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`;
  hdr += ' '.repeat(63 - ((10 + hdr.length) % 64)) + '\n';
  const h = Buffer.alloc(10); h.write('\x93NUMPY', 0, 'latin1'); h[6] = 1; h[7] = 0; h.writeUInt16LE(hdr.length, 8);
  fs.writeFileSync(path, Buffer.concat([h, Buffer.from(hdr, 'latin1'), data]));
}
function model(name, S, P) {
  const ins = ['q', 'k', 'v', P ? 'pk' : '', P ? 'pv' : '', 'seqlens_k', 'total_len', 'cos', 'sin'];
  const outs = ['y', 'pk_out', 'pv_out'];
  const node = Buffer.concat([...ins.map((s) => str(1, s)), ...outs.map((s) => str(2, s)), str(3, 'gqa'),
    str(4, 'GroupQueryAttention'), bytes(5, attrI('num_heads', N)), bytes(5, attrI('kv_num_heads', NKV)),
    bytes(5, attrI('do_rotary', 1)), str(7, 'com.microsoft')]);
  const fin = [['q', [1, S, N * H]], ['k', [1, S, NKV * H]], ['v', [1, S, NKV * H]]];
  if (P) fin.push(['pk', [1, NKV, P, H]], ['pv', [1, NKV, P, H]]);
  const graph = Buffer.concat([bytes(1, node), str(2, name), ...caches.map((c) => bytes(5, c)),
    ...fin.map(([n, d]) => bytes(11, vinfo(n, 1, d))), bytes(11, vinfo('seqlens_k', 6, [1])),
    bytes(11, vinfo('total_len', 6, [])), ...outs.map((s) => bytes(12, vinfo(s, 1, null)))]);
  const m = Buffer.concat([vint(1, 10), str(2, 'bench_gqa'), bytes(7, graph),
    bytes(8, Buffer.concat([str(1, ''), vint(2, 21)])), bytes(8, Buffer.concat([str(1, 'com.microsoft'), vint(2, 1)]))]);
  fs.writeFileSync(`${dir}/${name}.onnx`, m);
  let s = 12345;
  for (const [n, d] of fin) {
    const count = d.reduce((a, b) => a * b, 1), data = Buffer.alloc(4 * count);
    for (let i = 0; i < count; i++) { s = (s * 1664525 + 1013904223) >>> 0; data.writeFloatLE((s / 4294967296) * 2 - 1, 4 * i); }
    npy(`${dir}/${name}_${n}.npy`, '<f4', d, data);
  }
  const sk = Buffer.alloc(4); sk.writeInt32LE(P + S - 1);
  const tl = Buffer.alloc(4); tl.writeInt32LE(P + S);
  npy(`${dir}/${name}_seqlens_k.npy`, '<i4', [1], sk);
  npy(`${dir}/${name}_total_len.npy`, '<i4', [], tl);
}
model('decode512', 1, 511);
model('decode2048', 1, 2047);
model('prefill256', 256, 0);
EOF
node "$TMP/mk.js" "$TMP" "$HERE/onnx_pb.js" || die "writing the models failed"

printf '%-62s %9s %9s %7s\n' "GroupQueryAttention (genai form), 1 thread, median ms" "wafer" "ort" "w/ort"
for c in decode512 decode2048 prefill256; do
    case $c in
    decode512) d="decode 32/8 heads x 128, rotary, 1 token after 511 cached" ;;
    decode2048) d="decode 32/8 heads x 128, rotary, 1 token after 2047 cached" ;;
    *) d="prefill 32/8 heads x 128, rotary, 256 tokens, no cache" ;;
    esac
    case_row $c "$d"
done

# The memory floor of the long decode: the step must write its present key/value outputs, the
# 2047 cached positions plus the new one (2 x 8 MiB), so no run beats a plain copy of the two
# caches. Timed here as node's Buffer.copy (libc memmove), median of 41, on 1 thread.
floor=$(node -e "
const n = 8 * 2047 * 128 * 4, s = [Buffer.alloc(n, 1), Buffer.alloc(n, 2)], d = [Buffer.alloc(n + 512), Buffer.alloc(n + 512)];
const t = [];
for (let i = 0; i < 41; i++) { const a = process.hrtime.bigint(); s[0].copy(d[0]); s[1].copy(d[1]); t.push(Number(process.hrtime.bigint() - a) / 1e6); }
t.sort((x, y) => x - y); console.log(t[20].toFixed(3));") || die "timing the copy failed"
printf '%-62s %9.3f\n' "floor: copying the 2 x 8 MiB cache of decode-2048 (memmove)" "$floor"
