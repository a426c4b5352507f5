// Stream raw audio through a namx ONNX graph with onnxruntime-node alone (spec §9): no metadata,
// no protobuf parsing, no namx.
//
//   node stream.mjs MODEL.onnx IN.f32 OUT.f32 [--width W | --schedule S:W,...] [--block N]
//   node stream.mjs --jobs JOBS.json
//
// IN and OUT are raw little-endian float32 mono at the model's sample rate. --width (all-widths
// graphs) is the int64 to feed as `width` (default: the widest); --schedule 0:3,4800:8 changes it
// at the given samples (a block is cut there, so a change takes effect exactly at its sample).
// --block is the samples per call (default 64). --jobs runs many streams in one process: a JSON
// list of {"model", "input", "output", "width"?, "schedule"?, "block"?}.
//
// The whole binding, as this program uses it:
// - feed `audio` (float32 [T], T >= 1) and, if the graph has a `width` input, `width` (int64 []);
// - feed every `next_state.<name>` output back as input `state.<name>` on the next call;
// - to start (or reset), feed `state.level` = -1 and, for the other states, any tensor of the
//   declared shape (zeros; a dimension the graph leaves open as 0): the graph then runs from its
//   initial state and ignores them;
// - an all-widths graph restarts a newly selected width from its own initial state by itself.
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

const WIDEST = 2n ** 62n; // a width above every offered value selects the widest level (spec §9.3)

class UsageError extends Error {}

function parseSchedule(text) {
  const changes = text.split(",").map((pair) => {
    const m = /^(\d+):(-?\d+)$/.exec(pair.trim());
    if (!m) throw new UsageError(`--schedule: '${pair}' is not SAMPLE:WIDTH`);
    return [Number(m[1]), BigInt(m[2])];
  });
  if (changes[0][0] !== 0) throw new UsageError("--schedule: must start at sample 0");
  for (let i = 1; i < changes.length; i++) {
    if (changes[i][0] <= changes[i - 1][0]) throw new UsageError("--schedule: samples must increase");
  }
  return changes;
}

function readF32(path) {
  const bytes = readFileSync(path);
  if (bytes.length % 4) throw new UsageError(`${path}: size is not a whole number of float32 samples`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const x = new Float32Array(bytes.length / 4);
  for (let i = 0; i < x.length; i++) x[i] = view.getFloat32(4 * i, true);
  return x;
}

function writeF32(path, y) {
  const out = Buffer.alloc(4 * y.length);
  for (let i = 0; i < y.length; i++) out.writeFloatLE(y[i], 4 * i);
  writeFileSync(path, out);
}

const sessions = new Map();

async function open(path) {
  if (!sessions.has(path)) {
    const session = await ort.InferenceSession.create(path, {
      executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1,
    });
    sessions.set(path, session);
  }
  return sessions.get(path);
}

async function stream({ model, input, output, width, schedule, block = 64 }) {
  if (!Number.isInteger(block) || block < 1) throw new UsageError(`--block must be an integer >= 1 (got ${block})`);
  const changes = schedule !== undefined ? parseSchedule(schedule)
    : [[0, width !== undefined ? BigInt(width) : WIDEST]];
  const session = await open(model);
  const dynamic = session.inputNames.includes("width");
  if (!dynamic && (width !== undefined || schedule !== undefined)) {
    throw new UsageError(`${model}: a fixed-width graph has no width input`);
  }
  const x = readF32(input);
  const y = new Float32Array(x.length);
  const stateOutputs = session.outputNames.filter((n) => n.startsWith("next_state."));
  let state = startState(session);
  let next = 0; // index into changes
  let current;
  for (let start = 0; start < x.length;) {
    while (next < changes.length && changes[next][0] <= start) current = changes[next++][1];
    const cut = next < changes.length ? changes[next][0] : x.length;
    const end = Math.min(start + block, cut, x.length);
    const feeds = { audio: new ort.Tensor("float32", x.subarray(start, end), [end - start]), ...state };
    if (dynamic) feeds.width = new ort.Tensor("int64", BigInt64Array.of(current), []);
    const result = await session.run(feeds);
    y.set(result.audio_out.data, start);
    state = {};
    for (const name of stateOutputs) state["state." + name.slice("next_state.".length)] = result[name];
    start = end;
  }
  writeF32(output, y);
}

function startState(session) {
  const state = {};
  for (const input of session.inputMetadata) {
    if (!input.name.startsWith("state.")) continue;
    const dims = input.shape.map((d) => (typeof d === "number" ? d : 0));
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    if (input.name === "state.level") data[0] = -1;
    state[input.name] = new ort.Tensor("float32", data, dims);
  }
  return state;
}

function parseArgs(argv) {
  const args = { positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (["--width", "--block", "--schedule", "--jobs"].includes(a)) {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      args[a.slice(2)] = argv[++i];
    } else if (a.startsWith("--")) {
      throw new UsageError(`unknown option ${a}`);
    } else {
      args.positional.push(a);
    }
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.jobs !== undefined) {
    for (const job of JSON.parse(readFileSync(args.jobs, "utf8"))) await stream(job);
    return;
  }
  if (args.positional.length !== 3) {
    throw new UsageError("usage: node stream.mjs MODEL.onnx IN.f32 OUT.f32 [--width W | --schedule S:W,...] "
      + "[--block N]");
  }
  if (args.width !== undefined && args.schedule !== undefined) {
    throw new UsageError("--width and --schedule exclude each other");
  }
  if (args.width !== undefined && !/^-?\d+$/.test(args.width)) {
    throw new UsageError(`--width must be an integer (got ${args.width})`);
  }
  const [model, input, output] = args.positional;
  await stream({ model, input, output, width: args.width, schedule: args.schedule,
    block: args.block === undefined ? 64 : Number(args.block) });
}

main().catch((e) => {
  console.error(`stream.mjs: ${e instanceof UsageError ? e.message : String(e.message || e).split("\n")[0]}`);
  process.exit(2);
});
