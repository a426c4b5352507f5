// Reads an ONNX file's metadata_props (ModelProto field 14) for display: the model's name, sample
// rate, widths and their cost. Streaming needs none of it (spec §9); the page shows it.
//
// The protobuf wire format: each field is a varint key (field number << 3 | wire type), then a
// varint (type 0), 8 bytes (type 1), a varint length and that many bytes (type 2) or 4 bytes
// (type 5). Only the top level and each metadata entry are walked; everything else is skipped.

function varint(bytes, at) {
  let value = 0, scale = 1;
  for (;;) {
    if (at >= bytes.length) throw new Error('truncated ONNX file');
    const b = bytes[at++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, at];
    scale *= 128;
    if (scale > 2 ** 56) throw new Error('malformed ONNX file (varint too long)');
  }
}

function* fields(bytes, start = 0, end = bytes.length) {
  let at = start;
  while (at < end) {
    let key, value;
    [key, at] = varint(bytes, at);
    const field = Math.floor(key / 8), type = key & 7;
    if (type === 0) {
      [value, at] = varint(bytes, at);
      yield {field, value};
    } else if (type === 2) {
      let length;
      [length, at] = varint(bytes, at);
      if (at + length > end) throw new Error('truncated ONNX file');
      yield {field, start: at, end: at + length};
      at += length;
    } else if (type === 1 || type === 5) {
      at += type === 1 ? 8 : 4;
    } else {
      throw new Error(`not an ONNX file (wire type ${type})`);
    }
  }
}

/** The metadata_props of an ONNX model as a plain object of strings. */
export function onnxMetadata(buffer) {
  const bytes = new Uint8Array(buffer);
  const text = new TextDecoder();
  const meta = {};
  for (const f of fields(bytes)) {
    if (f.field !== 14 || f.start === undefined) continue;
    let key = '', value = '';
    for (const e of fields(bytes, f.start, f.end)) {
      if (e.start === undefined) continue;
      const s = text.decode(bytes.subarray(e.start, e.end));
      if (e.field === 1) key = s; else if (e.field === 2) value = s;
    }
    meta[key] = value;
  }
  return meta;
}

/** What the page shows about a namx ONNX file: name, rate, and one row per width. */
export function describe(meta) {
  const list = (key) => (meta[key] ? meta[key].split(',') : []);
  const labels = list('namx.widths');
  const values = list('namx.width_values').map(Number);
  const weights = list('namx.weights').map(Number);
  const macs = list('namx.macs_per_sample').map(Number);
  const fixed = meta['namx.graph'] === 'fixed';
  return {
    name: meta['nam.name'] || meta['nam.architecture'] || 'model',
    sampleRate: Number(meta['namx.sample_rate']) || null,
    fixed,
    fixedWidth: fixed ? meta['namx.width'] : null,
    widths: labels.map((label, i) => ({label, value: values[i], weights: weights[i], macs: macs[i]})),
  };
}
