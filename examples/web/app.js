// The page: loads a model and an input, and either plays them live (the model runs in the
// AudioWorklet, worklet.js; this thread only draws) or, with ?autorun=1, processes the input
// offline for tests and vendors and publishes window.namxResult.
import * as ort from './node_modules/onnxruntime-web/dist/ort.wasm.bundle.min.mjs';
import {NamxStream, parseSchedule} from './stream.js';
import {describe, onnxMetadata} from './onnx-meta.js';
import {wavFormat} from './wav.js';

const WASM_URL = './node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm';
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

function readModel(bytes, name) {
  let info;
  try {
    info = describe(onnxMetadata(bytes));
  } catch (e) {
    throw new Error(`${name}: ${e.message}`);
  }
  if (!info.widths.length || !info.sampleRate) throw new Error(`${name}: not a namx ONNX file (no namx metadata)`);
  return info;
}

/** The width value (what the graph's `width` input takes) for a label as `namx run --width` takes it. */
function widthValue(info, label, name) {
  const row = info.widths.find((w) => w.label === String(label));
  if (!row) throw new Error(`${name}: width ${label} is not offered (offered: ${info.widths.map((w) => w.label).join(', ')})`);
  if (info.fixed && row.label !== info.fixedWidth) {
    throw new Error(`${name}: a fixed-width graph runs width ${info.fixedWidth} only`);
  }
  return row.value;
}

// ---- scriptable mode: ?model=URL&input=URL&width=W&block=N&schedule=0:3,4800:8&autorun=1 ----

async function decodeMono(bytes, sampleRate, name) {
  const {channels, sampleRate: rate} = wavFormat(bytes, name);
  if (channels !== 1) throw new Error(`${name}: has ${channels} channels; give a mono WAV`);
  if (rate !== sampleRate) throw new Error(`${name}: is ${rate} Hz but the model runs at ${sampleRate} Hz`);
  const buffer = await new OfflineAudioContext(1, 1, sampleRate).decodeAudioData(bytes);
  return buffer.getChannelData(0);
}

async function autorun() {
  try {
    const modelUrl = params.get('model'), inputUrl = params.get('input');
    if (!modelUrl || !inputUrl) throw new Error('autorun needs model= and input= URLs');
    const [model, wav, wasm] = await Promise.all([fetchBytes(modelUrl), fetchBytes(inputUrl), fetchBytes(WASM_URL)]);
    const info = readModel(model, modelUrl);
    const x = await decodeMono(wav, info.sampleRate, inputUrl);
    const block = Number(params.get('block') || 128);
    if (!Number.isInteger(block) || block < 1) throw new Error(`block=${params.get('block')}: must be an integer >= 1`);
    let schedule = [];
    if (params.has('schedule')) {
      if (params.has('width')) throw new Error('give width= or schedule=, not both');
      schedule = parseSchedule(params.get('schedule')).map(([at, label]) => [at, widthValue(info, label, modelUrl)]);
    } else if (params.has('width')) {
      schedule = [[0, widthValue(info, params.get('width'), modelUrl)]];
    } else {
      schedule = [[0, info.fixed ? widthValue(info, info.fixedWidth, modelUrl) : info.widths.at(-1).value]];
    }
    ort.env.wasm.wasmBinary = wasm;
    ort.env.wasm.numThreads = 1;
    const stream = await NamxStream.open(ort, new Uint8Array(model));
    const t0 = performance.now();
    const output = await stream.run(x, block, schedule);
    const seconds = (performance.now() - t0) / 1000;
    window.namxResult = {output, rtf: x.length / info.sampleRate / seconds, error: null};
    document.title = 'namx: done';
  } catch (e) {
    window.namxResult = {output: null, rtf: 0, error: String(e.message || e)};
    document.title = 'namx: error';
  }
}

// ---- interactive mode -----------------------------------------------------------------------

const player = {model: null, info: null, ctx: null, node: null, source: null, analyser: null};
window.namxLive = {ready: false, stats: null, error: null};  // for tests: what the worklet reports

function status(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
  if (isError) window.namxLive.error = text;
}

function fmt(n) {
  return Number.isFinite(n) ? n.toLocaleString('en-US') : '–';
}

function showModel(info, name) {
  $('model-info').textContent = `${info.name} (${name}) · ${info.sampleRate} Hz · ` +
    (info.fixed ? `fixed-width graph: width ${info.fixedWidth}` : `all-widths graph: ${info.widths.length} widths`);
  const rows = info.fixed ? info.widths.filter((w) => w.label === info.fixedWidth) : info.widths;
  $('widths').tBodies[0].replaceChildren(...rows.map((w) => {
    const tr = document.createElement('tr');
    tr.dataset.label = w.label;
    for (const text of [w.label, fmt(w.weights), fmt(w.macs), '–', '–']) {
      tr.appendChild(document.createElement('td')).textContent = text;
    }
    return tr;
  }));
  const slider = $('width');
  slider.max = rows.length - 1;
  slider.value = rows.length - 1;
  slider.disabled = rows.length < 2;
  player.rows = rows;
  showWidth();
  $('play').disabled = false;
}

function currentWidth() {
  return player.rows[Number($('width').value)];
}

function showWidth() {
  const w = currentWidth();
  $('width-label').textContent = w.label;
  for (const tr of $('widths').tBodies[0].rows) tr.classList.toggle('active', tr.dataset.label === w.label);
}

async function loadModel(bytes, name) {
  try {
    const info = readModel(bytes, name);
    await stop();
    player.model = bytes;
    player.info = info;
    showModel(info, name);
    status(`loaded ${name}`);
  } catch (e) {
    status(String(e.message || e), true);
  }
}

async function inputSource(ctx) {
  const choice = document.querySelector('input[name=source]:checked').value;
  if (choice === 'mic') {
    const media = await navigator.mediaDevices.getUserMedia(
      {audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
    return ctx.createMediaStreamSource(media);
  }
  let bytes;
  if (choice === 'file') {
    const file = $('input-file').files[0];
    if (!file) throw new Error('choose an input file first');
    bytes = await file.arrayBuffer();
  } else {
    bytes = await fetchBytes('di.wav');
  }
  // decodeAudioData resamples to the context's rate, which is the model's.
  const source = ctx.createBufferSource();
  source.buffer = await ctx.decodeAudioData(bytes);
  source.loop = true;
  source.start();
  return source;
}

async function play() {
  if (player.ctx) return stop();
  try {
    // The context runs at the model's rate; the browser resamples to and from the device's
    // (44.1 kHz hardware with a 48 kHz model, say).
    const ctx = new AudioContext({sampleRate: player.info.sampleRate, latencyHint: 'interactive'});
    player.ctx = ctx;
    await ctx.audioWorklet.addModule('worklet.js');
    const wasm = await fetchBytes(WASM_URL);
    const node = new AudioWorkletNode(ctx, 'namx-processor', {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
      processorOptions: {wasm, model: player.model.slice(0), width: currentWidth().value},
    });
    node.port.onmessage = ({data}) => onWorklet(data);
    player.node = node;
    player.analyser = new AnalyserNode(ctx, {fftSize: 2048});
    player.source = await inputSource(ctx);
    player.source.connect(node).connect(player.analyser).connect(ctx.destination);
    $('play').textContent = 'Stop';
    for (const id of ['ab', 'reset']) $(id).disabled = false;
    drawScope();
  } catch (e) {
    status(String(e.message || e), true);
    await stop();
  }
}

async function stop() {
  if (!player.ctx) return;
  const ctx = player.ctx;
  player.ctx = player.node = player.source = player.analyser = null;
  await ctx.close();
  $('play').textContent = 'Play';
  for (const id of ['ab', 'reset']) $(id).disabled = true;
  window.namxLive.ready = false;
}

function onWorklet(data) {
  if (data.type === 'error') return status(`model: ${data.message}`, true);
  if (data.type === 'ready') {
    window.namxLive.ready = true;
    return status('playing');
  }
  window.namxLive.stats = data;
  const blockSeconds = data.quantum / data.sampleRate;
  $('meter-in').value = Math.min(1, data.inPeak);
  $('meter-out').value = Math.min(1, data.outPeak);
  $('blocks').textContent = fmt(data.blocks);
  $('underruns').textContent = fmt(data.underruns);
  const now = data.perWidth[data.width];
  if (now && now.runs) {
    const ms = now.ms / now.runs;
    $('block-ms').textContent = `${ms.toFixed(3)} ms`;
    $('rtf').textContent = ms > 0 ? `${(blockSeconds * 1000 / ms).toFixed(1)}×` : '> 100×';
  }
  for (const tr of $('widths').tBodies[0].rows) {
    const w = player.info.widths.find((r) => r.label === tr.dataset.label);
    const t = data.perWidth[w.value];
    if (!t || !t.runs) continue;
    const ms = t.ms / t.runs;
    tr.cells[3].textContent = ms.toFixed(3);
    tr.cells[4].textContent = ms > 0 ? `${(blockSeconds * 1000 / ms).toFixed(1)}×` : '> 100×';
  }
}

function drawScope() {
  if (!player.analyser) return;
  const canvas = $('scope'), g = canvas.getContext('2d');
  const samples = new Float32Array(player.analyser.fftSize);
  player.analyser.getFloatTimeDomainData(samples);
  g.clearRect(0, 0, canvas.width, canvas.height);
  g.beginPath();
  for (let i = 0; i < samples.length; i++) {
    const x = (i / samples.length) * canvas.width;
    const y = (0.5 - 0.5 * Math.max(-1, Math.min(1, samples[i]))) * canvas.height;
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  }
  g.strokeStyle = '#36c';
  g.stroke();
  requestAnimationFrame(drawScope);
}

function wire() {
  $('model-file').onchange = async (e) => {
    const file = e.target.files[0];
    if (file) await loadModel(await file.arrayBuffer(), file.name);
  };
  $('model-load').onclick = async () => {
    const url = $('model-url').value.trim();
    try {
      await loadModel(await fetchBytes(url), url);
    } catch (e) {
      status(String(e.message || e), true);
    }
  };
  const drop = $('drop');
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer.files[0];
    if (file) await loadModel(await file.arrayBuffer(), file.name);
  };
  $('play').onclick = play;
  $('width').oninput = () => {
    showWidth();
    player.node?.port.postMessage({type: 'width', width: currentWidth().value});
  };
  $('ab').onclick = () => {
    const dry = !$('ab').classList.contains('dry');
    $('ab').classList.toggle('dry', dry);
    $('ab').textContent = dry ? 'A/B: dry' : 'A/B: amp';
    player.node?.port.postMessage({type: 'bypass', bypass: dry});
  };
  $('reset').onclick = () => player.node?.port.postMessage({type: 'reset'});
}

if (params.get('autorun') === '1') {
  autorun();
} else {
  wire();
  if (params.has('model')) {
    $('model-url').value = params.get('model');
    $('model-load').click();
  }
}
