'use strict';
// onnx_pb.js — the protobuf wire-format pieces the bench scripts' model writers use to write
// ONNX files by hand (no onnx package here): each returns a Buffer holding one field.
//   varint(n)          an unsigned LEB128 varint (n a Number or BigInt)
//   key(f, w)          field number f with wire type w (0 varint, 2 bytes, 5 fixed32)
//   vint(f, n)         field f = varint n
//   bytes(f, b)        field f = the length-delimited Buffer b (a string, a sub-message)
//   str(f, s)          field f = the UTF-8 string s
//   f32(f, v)          field f = the float32 v (fixed32)
//   attrI(name, i)     an AttributeProto of type INT
//   attrIs(name, v)    an AttributeProto of type INTS
// Used by bench_attention23.sh, bench_gqa.sh and bench_convt.sh (their mk.js require it) and by
// onnx_accuracy_level.js.
const varint = (n) => {
  const b = [];
  n = BigInt(n);
  do {
    let x = Number(n & 127n);
    n >>= 7n;
    if (n) x |= 128;
    b.push(x);
  } while (n);
  return Buffer.from(b);
};
const key = (f, w) => varint((f << 3) | w);
const vint = (f, n) => Buffer.concat([key(f, 0), varint(n)]);
const bytes = (f, b) => Buffer.concat([key(f, 2), varint(b.length), b]);
const str = (f, s) => bytes(f, Buffer.from(s));
const f32 = (f, v) => { const b = Buffer.alloc(4); b.writeFloatLE(v); return Buffer.concat([key(f, 5), b]); };
const attrI = (name, i) => Buffer.concat([str(1, name), vint(3, i), vint(20, 2)]);
const attrIs = (name, v) => Buffer.concat([str(1, name), ...v.map((i) => vint(8, i)), vint(20, 7)]);
module.exports = { varint, key, vint, bytes, str, f32, attrI, attrIs };
