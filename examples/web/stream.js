// The ONNX binding (spec §9) in JavaScript: stream audio through a namx ONNX graph with
// onnxruntime (web or node). Runs anywhere `ort` runs: the AudioWorklet and the page use it.

const LEVEL = 'state.level';  // the level index the previous block ran; -1 starts (spec §9.3)

export class NamxStream {
  static async open(ort, modelBytes) {
    const session = await ort.InferenceSession.create(modelBytes, {executionProviders: ['wasm']});
    return new NamxStream(ort, session);
  }

  /** A stream over an onnxruntime session; it knows the graph only by its input names and shapes. */
  constructor(ort, session) {
    if (!session.inputNames.includes(LEVEL)) {
      throw new Error(`not a namx streaming graph with ${LEVEL} (convert the model again with namx)`);
    }
    this.ort = ort;
    this.session = session;
    this.stateNames = session.inputNames.filter((n) => n.startsWith('state.'));
    this.hasWidth = session.inputNames.includes('width');
    this.width = null;  // all-widths graphs: set before the first block
    this.initial = this.startState();
    this.reset();
  }

  /** A state that makes the graph start from its initial state: level -1, other states ignored
   * (any values; a dimension the graph leaves open is given size 0). */
  startState() {
    const state = {};
    for (const name of this.stateNames) {
      const {shape, type} = this.session.inputMetadata.find((m) => m.name === name);
      const dims = shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 0));
      const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
      if (name === LEVEL) data.fill(-1);
      state[name] = new this.ort.Tensor(type || 'float32', data, dims);
    }
    return state;
  }

  /** Back to the prewarmed initial state. */
  reset() {
    this.state = {...this.initial};
  }

  /** The width value for the next block (all-widths graphs; the graph applies the change rule). */
  setWidth(value) {
    this.width = Number(value);
  }

  /** One block (length >= 1) in, one block out. */
  async process(block) {
    const feeds = {audio: new this.ort.Tensor('float32', block, [block.length]), ...this.state};
    if (this.hasWidth) {
      if (this.width === null) throw new Error('an all-widths graph needs a width');
      feeds.width = new this.ort.Tensor('int64', BigInt64Array.of(BigInt(this.width)), []);
    }
    const result = await this.session.run(feeds);
    for (const name of this.stateNames) this.state[name] = result['next_' + name];
    return result.audio_out.data;
  }

  /** A whole signal in blocks of `block`, switching width at the schedule's [sample, value] pairs. */
  async run(x, block, schedule = []) {
    const y = new Float32Array(x.length);
    const switches = [...schedule].sort((a, b) => a[0] - b[0]);
    for (let start = 0; start < x.length;) {
      while (switches.length && switches[0][0] <= start) this.setWidth(switches.shift()[1]);
      // A block ends early at the next switch, so every switch lands on a block boundary.
      const stop = Math.min(x.length, start + block, switches.length ? switches[0][0] : Infinity);
      y.set(await this.process(x.subarray(start, stop)), start);
      start = stop;
    }
    return y;
  }
}

/** '0:3,4800:8' -> [[0, '3'], [4800, '8']]: sample positions and width labels. */
export function parseSchedule(text) {
  const pairs = text.split(',').map((item) => {
    const m = /^(\d+):(\w+)$/.exec(item.trim());
    if (!m) throw new Error(`schedule=${text}: each item must be SAMPLE:WIDTH (got '${item}')`);
    return [Number(m[1]), m[2]];
  });
  for (let i = 1; i < pairs.length; i++) {
    if (pairs[i][0] <= pairs[i - 1][0]) throw new Error(`schedule=${text}: sample positions must increase`);
  }
  return pairs;
}
