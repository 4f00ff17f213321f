// ort_outputs.js — runs an ONNX model once in onnxruntime-node (from bench/node_modules) and
// writes its first output as a float32 .npy, for the distillation tests to compare with
// `wafer run`.
//
//   node tests/train/ort_outputs.js MODEL NAME=FILE.npy [NAME=FILE.npy ...] OUT.npy
//
// Exit status 3 when onnxruntime-node is not installed (the test then skips with a message).
// The .npy reader handles little-endian C-order float32, int64 and bool arrays (the digits
// fixtures, token ids, attention masks).
'use strict';

const fs = require('fs');
const path = require('path');

function npyRead(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const off = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, off);
  const descr = /'descr':\s*'([^']*)'/.exec(header)[1];
  const kinds = { '<f4': ['float32', 4, Float32Array], '<i8': ['int64', 8, BigInt64Array], '|b1': ['bool', 1, Uint8Array] };
  if (!kinds[descr] || /'fortran_order':\s*True/.test(header)) throw new Error(`${file}: float32, int64 or bool in C order expected`);
  const [type, size, Arr] = kinds[descr];
  const dims = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const bytes = Buffer.from(buf.subarray(off, off + size * n));
  return { type, dims, data: new Arr(bytes.buffer, bytes.byteOffset, n) };
}

function npyWrite(file, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 11, ' ') + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  let ort;
  try {
    ort = require(path.join(__dirname, '..', '..', 'bench', 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    console.error(`onnxruntime-node is not installed in bench/node_modules (${e.message})`);
    process.exit(3);
  }
  const args = process.argv.slice(2);
  const model = args[0], out = args[args.length - 1], feeds = {};
  for (const spec of args.slice(1, -1)) {
    const eq = spec.indexOf('=');
    const a = npyRead(spec.slice(eq + 1));
    const data = a.type === 'bool' ? Array.from(a.data, (v) => v !== 0) : a.data;
    feeds[spec.slice(0, eq)] = new ort.Tensor(a.type, data, a.dims);
  }
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const res = await session.run(feeds);
  const y = res[session.outputNames[0]];
  npyWrite(out, y.dims, y.data);
}

main().catch((e) => {
  console.error(e.message);
  process.exit(2);
});
