// onnx_accuracy_level.js — a copy of an ONNX model with attribute accuracy_level = LEVEL on
// every com.microsoft MatMulNBits node of its main graph (replacing one it has), so that
// onnxruntime and wafer can run a published 4-bit model with int8 compute of A (level 4).
//
//   node onnx_accuracy_level.js IN.onnx LEVEL OUT.onnx
//
// Works on the protobuf wire format directly (no ONNX library): ModelProto field 7 is the
// graph, GraphProto field 1 a node, NodeProto field 4 its op_type and field 5 an attribute
// (AttributeProto: 1 name, 3 i, 20 type = 2 INT). Every other field is copied byte for byte.
// Prints {"nodes": N} (the nodes changed); exit 1 on a malformed file.
'use strict';

const fs = require('fs');

function readVarint(buf, pos) {
  let v = 0n, shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [v, pos];
    shift += 7n;
  }
}

const { varint } = require('./onnx_pb.js');

// The fields of one message: [{field, wire, raw (the whole field), body (length-delimited)}].
function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    let body = null;
    if (wire === 0) [, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      body = buf.subarray(pos, pos + Number(len));
      pos += Number(len);
    } else throw new Error(`wire type ${wire} unsupported`);
    if (pos > buf.length) throw new Error('truncated field');
    out.push({ field, wire, raw: buf.subarray(start, pos), body });
  }
  return out;
}

const lenField = (field, body) => Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);

function intAttribute(name, value) {
  return Buffer.concat([lenField(1, Buffer.from(name)), varint(3 << 3), varint(value), varint(20 << 3), varint(2)]);
}

let changed = 0;

function node(body, level) {
  const fs_ = fields(body);
  const op = fs_.find((f) => f.field === 4);
  if (!op || op.body.toString() !== 'MatMulNBits') return body;
  const kept = fs_.filter((f) => !(f.field === 5 && fields(f.body).some((a) => a.field === 1 && a.body.toString() === 'accuracy_level')));
  changed++;
  return Buffer.concat([...kept.map((f) => f.raw), lenField(5, intAttribute('accuracy_level', level))]);
}

function graph(body, level) {
  return Buffer.concat(fields(body).map((f) => (f.field === 1 && f.wire === 2 ? lenField(1, node(f.body, level)) : f.raw)));
}

function main() {
  const [inPath, levelText, outPath] = process.argv.slice(2);
  const level = Number(levelText);
  if (!inPath || !outPath || !Number.isInteger(level) || level < 0 || level > 4) {
    process.stderr.write('usage: node onnx_accuracy_level.js IN.onnx LEVEL(0..4) OUT.onnx\n');
    process.exit(2);
  }
  try {
    const model = fields(fs.readFileSync(inPath));
    const out = Buffer.concat(model.map((f) => (f.field === 7 && f.wire === 2 ? lenField(7, graph(f.body, level)) : f.raw)));
    fs.writeFileSync(outPath, out);
  } catch (e) {
    process.stderr.write(`onnx_accuracy_level: ${inPath}: ${e.message}\n`);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ nodes: changed }) + '\n');
}

main();
