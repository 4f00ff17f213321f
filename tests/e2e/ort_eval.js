// ort_eval.js — onnxruntime-node as the independent reference for wafer's ONNX export and
// import tests (tests/e2e/test_onnx_export.c, bench/bench_onnx_export.sh).
//
//   node ort_eval.js classify MODEL NAME=X.npy LABELS.npy
//       top-1 accuracy (argmax of the last axis) over all rows, in batches of 64;
//       prints {"accuracy": A, "correct": C, "samples": S}
//   node ort_eval.js lm MODEL TOKENS.npy
//       TOKENS i64[n, T+1]: input [:, :T], targets [:, 1:]; perplexity = exp(mean next-token
//       cross-entropy), log-softmax in float64; prints {"perplexity": P, "tokens": N}
//   node ort_eval.js run MODEL NAME=FILE.npy ... --out DIR
//       one run; writes DIR/<output name>.npy (any dtype of DTYPES; other characters than
//       A-Za-z0-9._- in the name become _), prints {"outputs": [...]}
//   node ort_eval.js optimize MODEL OUT.onnx
//       saves the graph onnxruntime runs after its extended optimizations (where QDQ groups
//       become QLinearConv, QGemm, QLinearAdd, ...), prints {"saved": OUT}
//   node ort_eval.js compare A.npy REF.npy
//       float32 arrays [rows, ...]: prints {"max_rel_diff": max|A-REF| / max|REF|,
//       "top1_agree": rows whose argmax over the rest agrees, "rows": rows} (no onnxruntime)
//
// The session uses onnxruntime's default CPU options (all graph optimizations: QDQ groups
// fuse into its integer kernels), one intra-op thread so results do not depend on the
// machine's load. onnxruntime-node is looked up in $WAFER_ORT_MODULE, then in
// bench/node_modules (where bench.sh installs it); when it is absent the script prints why
// and exits 3, which the tests report as a skip. Exit 1 on any other failure.
'use strict';

const fs = require('fs');
const path = require('path');

function ortLoad() {
  const tries = [process.env.WAFER_ORT_MODULE, path.join(__dirname, '..', '..', 'bench', 'node_modules', 'onnxruntime-node'),
    'onnxruntime-node'].filter(Boolean);
  for (const t of tries) {
    try {
      return require(t);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  process.stderr.write('onnxruntime-node is not installed (looked in $WAFER_ORT_MODULE and bench/node_modules; '
    + 'bench.sh installs it)\n');
  process.exit(3);
}

const DTYPES = {
  '<f4': { ort: 'float32', size: 4, Array: Float32Array },
  '<f8': { ort: 'float64', size: 8, Array: Float64Array },
  '<f2': { ort: 'float16', size: 2, Array: Uint16Array }, // bit patterns (node has no Float16Array)
  '<i2': { ort: 'int16', size: 2, Array: Int16Array },
  '<u2': { ort: 'uint16', size: 2, Array: Uint16Array },
  '|b1': { ort: 'bool', size: 1, Array: Uint8Array },
  '<i8': { ort: 'int64', size: 8, Array: BigInt64Array },
  '<i4': { ort: 'int32', size: 4, Array: Int32Array },
  '|u1': { ort: 'uint8', size: 1, Array: Uint8Array },
  '|i1': { ort: 'int8', size: 1, Array: Int8Array },
};

function npyRead(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape || /'fortran_order':\s*True/.test(header)) throw new Error(`${file}: unsupported .npy header`);
  const dt = DTYPES[descr[1]];
  if (!dt) throw new Error(`${file}: dtype ${descr[1]} not supported here`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const numel = dims.reduce((a, b) => a * b, 1);
  const bytes = Buffer.from(buf.subarray(start + hlen, start + hlen + numel * dt.size)); // aligned copy
  if (bytes.length !== numel * dt.size) throw new Error(`${file}: truncated`);
  return { dims, dt, data: new dt.Array(bytes.buffer, bytes.byteOffset, numel) };
}

// One ORT tensor (dims, typed data) as .npy; descr is its numpy dtype, a key of DTYPES.
function npyWrite(file, descr, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 11, ' ') + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function session(ort, model) {
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };
  return ort.InferenceSession.create(model, opts);
}

// Rows [r0, r1) of a along axis 0 as an ort.Tensor.
function rows(ort, a, r0, r1) {
  const inner = a.dims.slice(1).reduce((x, y) => x * y, 1);
  return new ort.Tensor(a.dt.ort, a.data.slice(r0 * inner, r1 * inner), [r1 - r0, ...a.dims.slice(1)]);
}

async function classify(ort, model, spec, labelsFile) {
  const eq = spec.indexOf('=');
  const name = spec.slice(0, eq);
  const x = npyRead(spec.slice(eq + 1));
  const y = npyRead(labelsFile);
  const s = await session(ort, model);
  let correct = 0;
  for (let r0 = 0; r0 < x.dims[0]; r0 += 64) {
    const r1 = Math.min(r0 + 64, x.dims[0]);
    const out = (await s.run({ [name]: rows(ort, x, r0, r1) }))[s.outputNames[0]];
    const classes = out.dims[out.dims.length - 1];
    for (let i = 0; i < r1 - r0; i++) {
      let best = 0;
      for (let j = 1; j < classes; j++) if (out.data[i * classes + j] > out.data[i * classes + best]) best = j;
      if (BigInt(best) === BigInt(y.data[r0 + i])) correct++;
    }
  }
  return { accuracy: correct / x.dims[0], correct, samples: x.dims[0] };
}

async function lm(ort, model, tokensFile) {
  const t = npyRead(tokensFile);
  const [n, T1] = t.dims;
  const T = T1 - 1;
  const s = await session(ort, model);
  let nll = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const input = t.data.slice(i * T1, i * T1 + T);
    const out = (await s.run({ [s.inputNames[0]]: new ort.Tensor('int64', input, [1, T]) }))[s.outputNames[0]];
    const V = out.dims[out.dims.length - 1];
    for (let p = 0; p < T; p++) {
      const logits = out.data.subarray(p * V, (p + 1) * V);
      let max = -Infinity;
      for (let j = 0; j < V; j++) max = Math.max(max, logits[j]);
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp(logits[j] - max);
      const target = Number(t.data[i * T1 + p + 1]);
      nll += Math.log(sum) + max - logits[target];
      count++;
    }
  }
  return { perplexity: Math.exp(nll / count), tokens: count };
}

async function run(ort, model, specs, outDir) {
  const s = await session(ort, model);
  const feeds = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const a = npyRead(spec.slice(eq + 1));
    feeds[spec.slice(0, eq)] = new ort.Tensor(a.dt.ort, a.data, a.dims);
  }
  const out = await s.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  const names = [];
  for (const name of s.outputNames) {
    const t = out[name];
    const descr = Object.keys(DTYPES).find((k) => DTYPES[k].ort === t.type);
    if (!descr) throw new Error(`output ${name}: ${t.type} cannot be written as .npy here`);
    npyWrite(path.join(outDir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`), descr, t.dims, t.data);
    names.push(name);
  }
  return { outputs: names };
}

function compare(fileA, fileRef) {
  const a = npyRead(fileA);
  const r = npyRead(fileRef);
  if (a.data.length !== r.data.length) throw new Error(`${fileA} and ${fileRef} differ in size`);
  let diff = 0;
  let mag = 0;
  for (let i = 0; i < r.data.length; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - r.data[i]));
    mag = Math.max(mag, Math.abs(r.data[i]));
  }
  const rows = r.dims[0];
  const inner = r.data.length / rows;
  const argmax = (d, o) => {
    let b = 0;
    for (let j = 1; j < inner; j++) if (d[o + j] > d[o + b]) b = j;
    return b;
  };
  let agree = 0;
  for (let i = 0; i < rows; i++) agree += argmax(a.data, i * inner) === argmax(r.data, i * inner) ? 1 : 0;
  return { max_rel_diff: mag > 0 ? diff / mag : diff, top1_agree: agree, rows };
}

async function main() {
  const [cmd, model, ...rest] = process.argv.slice(2);
  if (cmd === 'compare') {
    process.stdout.write(`${JSON.stringify(compare(model, rest[0]))}\n`);
    return;
  }
  if (!cmd || !model) {
    process.stderr.write('usage: node ort_eval.js classify MODEL NAME=X.npy LABELS.npy | lm MODEL TOKENS.npy | '
      + 'run MODEL NAME=FILE.npy ... --out DIR | optimize MODEL OUT.onnx | compare A.npy REF.npy\n');
    process.exit(2);
  }
  const ort = ortLoad();
  let result;
  if (cmd === 'classify') result = await classify(ort, model, rest[0], rest[1]);
  else if (cmd === 'lm') result = await lm(ort, model, rest[0]);
  else if (cmd === 'optimize') {
    await ort.InferenceSession.create(model, { graphOptimizationLevel: 'extended', optimizedModelFilePath: rest[0] });
    result = { saved: rest[0] };
  } else if (cmd === 'run') {
    const o = rest.indexOf('--out');
    if (o < 0) throw new Error('run needs --out DIR');
    result = await run(ort, model, rest.filter((_, i) => i !== o && i !== o + 1), rest[o + 1]);
  } else throw new Error(`unknown command ${cmd}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e) => {
  process.stderr.write(`ort_eval.js: ${e.message}\n`);
  process.exit(1);
});
