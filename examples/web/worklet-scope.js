// AudioWorkletGlobalScope has no `performance`; onnxruntime-web's wasm clock reads
// performance.timeOrigin + performance.now(). Date.now() (milliseconds) serves it.
// Imported before onnxruntime-web so it is in place when that module evaluates.
if (!globalThis.performance) globalThis.performance = {timeOrigin: 0, now: () => Date.now()};
