// The audio thread: a namx ONNX model in onnxruntime-web (wasm, one thread) inside an
// AudioWorkletProcessor. The main thread only sends the model and controls and draws the stats.
//
// AudioWorklet process() must return at once, but session.run() resolves a promise. So input
// render quanta go into a queue that a pump feeds to the model one model block at a time, and
// process() plays model output LATENCY_BLOCKS behind the input; when the model falls behind,
// process() plays silence and counts an underrun. The dry signal is delayed the same way, so
// the A/B toggle compares aligned signals.
import './worklet-scope.js';
import * as ort from './node_modules/onnxruntime-web/dist/ort.wasm.bundle.min.mjs';
import {NamxStream} from './stream.js';

const QUANTUM = 128;         // Web Audio's render quantum: also the model's block
const LATENCY_BLOCKS = 2;    // output delay in quanta (5.3 ms at 48 kHz)
const STATS_EVERY = 20;      // quanta between stats messages (about 50 ms at 48 kHz)

class NamxProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const {wasm, model, width} = options.processorOptions;
    this.pending = [];          // input quanta not yet run
    this.wet = Array.from({length: LATENCY_BLOCKS}, () => new Float32Array(QUANTUM));
    this.dry = Array.from({length: LATENCY_BLOCKS}, () => new Float32Array(QUANTUM));
    this.bypass = false;
    this.running = false;
    this.stats = {blocks: 0, underruns: 0, busyMs: 0, runs: 0, inPeak: 0, outPeak: 0};
    this.perWidth = {};         // width -> {ms, runs}
    ort.env.wasm.wasmBinary = wasm;
    ort.env.wasm.numThreads = 1;
    NamxStream.open(ort, new Uint8Array(model)).then((stream) => {
      this.stream = stream;
      if (width !== undefined && width !== null) stream.setWidth(width);
      this.port.postMessage({type: 'ready', width: stream.width});
    }).catch((e) => this.port.postMessage({type: 'error', message: String(e.message || e)}));
    this.port.onmessage = ({data}) => {
      if (data.type === 'width' && this.stream) this.stream.setWidth(data.width);
      else if (data.type === 'bypass') this.bypass = data.bypass;
      else if (data.type === 'reset' && this.stream) this.stream.reset();
    };
  }

  async pump() {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.length && this.stream) {
        const block = this.pending.shift();
        const width = this.stream.width;
        const t0 = Date.now();
        const out = await this.stream.process(block);
        const ms = Date.now() - t0;  // the worklet scope has no performance.now(): ms ticks, summed
        this.wet.push(out);
        this.stats.busyMs += ms;
        this.stats.runs += 1;
        const w = (this.perWidth[width] ||= {ms: 0, runs: 0});
        w.ms += ms;
        w.runs += 1;
      }
    } catch (e) {
      this.port.postMessage({type: 'error', message: String(e.message || e)});
      this.stream = null;
    } finally {
      this.running = false;
    }
  }

  process(inputs, outputs) {
    const input = inputs[0] && inputs[0][0] ? inputs[0][0] : new Float32Array(QUANTUM);
    const output = outputs[0][0];
    if (!this.stream) {
      output.fill(0);
      return true;
    }
    const block = Float32Array.from(input);
    this.pending.push(block);
    this.dry.push(block);
    this.pump();
    const dry = this.dry.shift();
    const wet = this.wet.shift();
    if (wet === undefined) {
      // The model is late: play silence, and delay the dry signal by the same block.
      this.stats.underruns += 1;
      this.dry.unshift(dry);
      output.fill(0);
    } else {
      output.set(this.bypass ? dry : wet);
    }
    const s = this.stats;
    s.blocks += 1;
    for (let i = 0; i < QUANTUM; i++) {
      s.inPeak = Math.max(s.inPeak, Math.abs(input[i] || 0));
      s.outPeak = Math.max(s.outPeak, Math.abs(output[i]));
    }
    if (s.blocks % STATS_EVERY === 0) {
      this.port.postMessage({type: 'stats', ...s, width: this.stream.width, perWidth: this.perWidth,
                             sampleRate, quantum: QUANTUM});
      s.inPeak = s.outPeak = 0;
    }
    return true;
  }
}

registerProcessor('namx-processor', NamxProcessor);
