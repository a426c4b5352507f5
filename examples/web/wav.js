// The sample rate and channel count a WAV file declares (its 'fmt ' chunk). The browser decodes
// the samples (decodeAudioData), but it silently resamples to the context's rate, so the
// scriptable mode checks the declared rate first: a test input must be at the model's rate.
export function wavFormat(buffer, name) {
  const view = new DataView(buffer);
  const tag = (at) => String.fromCharCode(...new Uint8Array(buffer, at, 4));
  if (buffer.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error(`${name}: not a WAV file`);
  // Chunks follow one another, each at least 8 bytes: this walk is linear in the file size.
  for (let at = 12; at + 8 <= buffer.byteLength;) {
    const size = view.getUint32(at + 4, true);
    if (tag(at) === 'fmt ' && at + 16 <= buffer.byteLength) {
      return {channels: view.getUint16(at + 10, true), sampleRate: view.getUint32(at + 12, true)};
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${name}: WAV file has no 'fmt ' chunk`);
}
