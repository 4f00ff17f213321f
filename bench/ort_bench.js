// ort_bench.js — the onnxruntime side of `make bench`, plus the .npy slicing bench.sh needs.
//
//   node ort_bench.js slice SRC.npy OUT.npy [--cols N]
//       writes SRC[0:1] (keeping axis 0, so batch 1), and with --cols only [:, :N] of axis 1,
//       as a little-endian C-order .npy version 1.0 (same dtype).
//   node ort_bench.js run MODEL NAME=FILE.npy ... [--iters N] [--warmup N] [--threads T]
//       creates an onnxruntime-node InferenceSession (intraOpNumThreads T, one inter-op
//       thread, sequential execution, all graph optimizations), then `warmup` untimed and
//       `iters` timed runs; prints one JSON line {session_ms, median_ms, p90_ms, threads, iters}
//       with the same statistics as `wafer bench` (median: mean of the middle two for even
//       counts; p90: nearest rank).
//
// Plain Node: the .npy reader handles what numpy writes for the fixtures (version 1-3,
// little-endian or single-byte dtypes, C order).
'use strict';

const fs = require('fs');

const DTYPES = {
  '<f4': { ort: 'float32', size: 4, Array: Float32Array },
  '<f8': { ort: 'float64', size: 8, Array: Float64Array },
  '<i8': { ort: 'int64', size: 8, Array: BigInt64Array },
  '<i4': { ort: 'int32', size: 4, Array: Int32Array },
  '<i2': { ort: 'int16', size: 2, Array: Int16Array },
  '<f2': { ort: 'float16', size: 2, Array: Uint16Array }, // bit patterns (node has no Float16Array)
  '|i1': { ort: 'int8', size: 1, Array: Int8Array },
  '|u1': { ort: 'uint8', size: 1, Array: Uint8Array },
  '|b1': { ort: 'bool', size: 1, Array: Uint8Array },
};

function npyRead(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const off = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, off);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${path}: malformed .npy header`);
  if (fortran[1] === 'True') throw new Error(`${path}: Fortran-order arrays are not supported`);
  const dt = DTYPES[descr[1]];
  if (!dt) throw new Error(`${path}: dtype ${descr[1]} not supported here`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const numel = dims.reduce((a, b) => a * b, 1);
  if (buf.length - off < numel * dt.size) throw new Error(`${path}: truncated`);
  // Copy so the typed array is aligned whatever the header length was.
  const bytes = Buffer.from(buf.subarray(off, off + numel * dt.size));
  return { descr: descr[1], dims, dt, bytes };
}

function npyWrite(path, descr, dims, bytes) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const tmp = `${path}.tmp${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([pre, Buffer.from(header, 'latin1'), bytes]));
  fs.renameSync(tmp, path);
}

// Rows [0, 1) of axis 0, and optionally columns [0, cols) of axis 1.
function slice(src, out, cols) {
  const a = npyRead(src);
  if (a.dims.length < 1 || a.dims[0] < 1) throw new Error(`${src}: nothing to slice`);
  const rowElems = a.dims.slice(1).reduce((x, y) => x * y, 1);
  let dims = [1, ...a.dims.slice(1)];
  let bytes = a.bytes.subarray(0, rowElems * a.dt.size);
  if (cols !== undefined) {
    if (a.dims.length < 2 || cols > a.dims[1]) throw new Error(`${src}: cannot take ${cols} columns of ${a.dims}`);
    const inner = a.dims.slice(2).reduce((x, y) => x * y, 1);
    bytes = bytes.subarray(0, cols * inner * a.dt.size);
    dims = [1, cols, ...a.dims.slice(2)];
  }
  npyWrite(out, a.descr, dims, bytes);
}

function stats(ms) {
  const s = [...ms].sort((x, y) => x - y);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const p90 = s[Math.ceil(0.9 * n) - 1];
  return { median, p90 };
}

async function run(model, specs, opts) {
  const ort = require('onnxruntime-node');
  const feeds = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new Error(`expected NAME=FILE.npy, got '${spec}'`);
    const a = npyRead(spec.slice(eq + 1));
    const data = new a.dt.Array(a.bytes.buffer, a.bytes.byteOffset, a.bytes.length / a.dt.size);
    feeds[spec.slice(0, eq)] = new ort.Tensor(a.dt.ort, a.dt.ort === 'bool' ? Uint8Array.from(data) : data, a.dims);
  }
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const sessionMs = Number(process.hrtime.bigint() - t0) / 1e6;
  for (let i = 0; i < opts.warmup; i++) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < opts.iters; i++) {
    const t = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const { median, p90 } = stats(ms);
  console.log(JSON.stringify({ session_ms: sessionMs, median_ms: median, p90_ms: p90, threads: opts.threads, iters: opts.iters }));
}

function intOpt(args, name, def) {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} expects a non-negative integer`);
  args.splice(i, 2);
  return v;
}

async function main() {
  const args = process.argv.slice(2);
  const cmd = args.shift();
  if (cmd === 'slice') {
    const cols = intOpt(args, '--cols', undefined);
    if (args.length !== 2) throw new Error('usage: ort_bench.js slice SRC.npy OUT.npy [--cols N]');
    slice(args[0], args[1], cols);
  } else if (cmd === 'run') {
    const opts = { iters: intOpt(args, '--iters', 20), warmup: intOpt(args, '--warmup', 3), threads: intOpt(args, '--threads', 1) };
    if (args.length < 2 || opts.iters < 1) throw new Error('usage: ort_bench.js run MODEL NAME=FILE.npy ... [--iters N] [--warmup N] [--threads T]');
    await run(args[0], args.slice(1), opts);
  } else {
    throw new Error('usage: ort_bench.js slice|run ... (see the comment at the top of the file)');
  }
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(2);
});
