// A namx amp model streaming through TFLite-Micro: the runtime side of a firmware, as small as it
// gets. It implements the three functions of the conformance bench (examples/vendor/bench.h), so
// the same code that runs on a device is checked against namx's reference on a host (README.md).
//
// The model is A2 at its two widths, converted with
//     namx convert example --to tflite --c-array -o amp
// into amp.w3.h/.cc and amp.w8.h/.cc (one C array per width: TFLM runs one model per interpreter).
// Everything TFLM needs to know comes from those headers (spec A2 §10.6): the operators, the arena
// size, the block size, the state tensors and their initial values.
#include <stdint.h>
#include <string.h>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "amp.w3.h"
#include "amp.w8.h"
#include "bench.h"

namespace {

// Both widths feed their state back through this when TFLM placed a state output over another
// state's input (see FeedBack); sized for the larger state.
constexpr unsigned kScratchFloats =
    NAMX_AMP_W3_STATE_FLOATS > NAMX_AMP_W8_STATE_FLOATS ? NAMX_AMP_W3_STATE_FLOATS : NAMX_AMP_W8_STATE_FLOATS;
float scratch[kScratchFloats];

// One width: its C array, and the interpreter that runs it.
struct Width {
  const unsigned char *model;
  unsigned int block_size;
  unsigned int num_states;
  const unsigned int *state_bytes;
  void (*load_state)(unsigned int k, float *dst);
  tflite::MicroInterpreter *interpreter;
  bool staged;  // feed the state back through `scratch` (an output overlaps another state's input)
};

bool Overlap(const TfLiteTensor *a, const TfLiteTensor *b) {
  const uint8_t *x = a->data.uint8, *y = b->data.uint8;
  return x < y + b->bytes && y < x + a->bytes;
}

// Tensor addresses are fixed once AllocateTensors() returns, so the way the state goes back from
// outputs to inputs is decided once (spec §10.6.2).
bool Prepare(Width &w) {
  if (w.interpreter->AllocateTensors() != kTfLiteOk) return false;
  w.staged = false;
  for (unsigned int k = 0; k < w.num_states; ++k)
    for (unsigned int j = 0; j < w.num_states; ++j)
      if (j != k && Overlap(w.interpreter->output(k + 1), w.interpreter->input(j + 1))) w.staged = true;
  return true;
}

// Spec §7.1: a stream, a reset and a width change start from the initial state, which the C array
// stores compactly and load_state expands straight into the state input tensors.
void LoadInitialState(Width &w) {
  for (unsigned int k = 0; k < w.num_states; ++k) w.load_state(k, w.interpreter->input(k + 1)->data.f);
}

// After Invoke(), state input k+1 must hold state output k+1. TFLM reuses an input's memory for a
// later output, so an output may *be* its input (nothing to copy) or overlap another input.
void FeedBack(Width &w) {
  if (w.staged) {  // copy every output out of the way before any input is written
    float *at = scratch;
    for (unsigned int k = 0; k < w.num_states; ++k) {
      memcpy(at, w.interpreter->output(k + 1)->data.f, w.state_bytes[k]);
      at += w.state_bytes[k] / sizeof(float);
    }
    at = scratch;
    for (unsigned int k = 0; k < w.num_states; ++k) {
      memcpy(w.interpreter->input(k + 1)->data.f, at, w.state_bytes[k]);
      at += w.state_bytes[k] / sizeof(float);
    }
    return;
  }
  for (unsigned int k = 0; k < w.num_states; ++k) {
    float *in = w.interpreter->input(k + 1)->data.f;
    const float *out = w.interpreter->output(k + 1)->data.f;
    if (in != out) memmove(in, out, w.state_bytes[k]);
  }
}

// Per width: the resolver holds exactly the model's operators (NUM_OPS, register_ops), and the
// arena is exactly the measured ARENA_SIZE, 16-byte aligned. Two widths, two arenas here; a
// firmware short of RAM can instead build one interpreter at a time in one arena of the larger size.
tflite::MicroMutableOpResolver<NAMX_AMP_W3_NUM_OPS> resolver3;
tflite::MicroMutableOpResolver<NAMX_AMP_W8_NUM_OPS> resolver8;
alignas(NAMX_AMP_W3_ARENA_ALIGNMENT) uint8_t arena3[NAMX_AMP_W3_ARENA_SIZE];
alignas(NAMX_AMP_W8_ARENA_ALIGNMENT) uint8_t arena8[NAMX_AMP_W8_ARENA_SIZE];
tflite::MicroInterpreter interpreter3(tflite::GetModel(namx_amp_w3_model), resolver3, arena3, sizeof arena3);
tflite::MicroInterpreter interpreter8(tflite::GetModel(namx_amp_w8_model), resolver8, arena8, sizeof arena8);

Width widths[] = {
    {namx_amp_w3_model, NAMX_AMP_W3_BLOCK_SIZE, NAMX_AMP_W3_NUM_STATES, namx_amp_w3_state_bytes,
     namx_amp_w3_load_state, &interpreter3, false},
    {namx_amp_w8_model, NAMX_AMP_W8_BLOCK_SIZE, NAMX_AMP_W8_NUM_STATES, namx_amp_w8_state_bytes,
     namx_amp_w8_load_state, &interpreter8, false},
};
Width *active = nullptr;
bool ready = false, ended = false;

bool Setup() {
  if (ready) return true;
  ready = namx_amp_w3_register_ops(resolver3) && namx_amp_w8_register_ops(resolver8) && Prepare(widths[0]) &&
          Prepare(widths[1]);
  return ready;
}

// One call of the model: block_size samples in, block_size out, state carried. The order matters
// (spec §10.6.2): read the audio output, then feed the state back; the next call writes input 0.
bool Call(Width &w, const float *in, float *out, unsigned long n) {
  float *x = w.interpreter->input(0)->data.f;
  memcpy(x, in, n * sizeof(float));
  memset(x + n, 0, (w.block_size - n) * sizeof(float));
  if (w.interpreter->Invoke() != kTfLiteOk) return false;
  memcpy(out, w.interpreter->output(0)->data.f, n * sizeof(float));
  FeedBack(w);
  return true;
}

}  // namespace

// The bench's widths are the model's, narrowest first: 0 is width 3, 1 is width 8.
int vendor_start(int width, const char *) {
  if (!Setup() || width < 0 || width > 1) return 1;
  active = &widths[width];
  ended = false;
  LoadInitialState(*active);
  return 0;
}

// Spec §7.3: a different width starts from its own initial state; the width already active keeps
// its state.
int vendor_set_width(int width, const char *) {
  if (active == nullptr || width < 0 || width > 1) return 1;
  if (active != &widths[width]) {
    active = &widths[width];
    LoadInitialState(*active);
  }
  return 0;
}

// Whole calls of block_size samples; a shorter remainder is zero-padded, which is exact for the
// samples returned but leaves the state past the end of the input, so it may only end a stream.
int vendor_process(const float *in, float *out, unsigned long n) {
  if (active == nullptr || ended) return 1;
  const unsigned long b = active->block_size;
  for (unsigned long at = 0; at < n; at += b) {
    const unsigned long len = n - at < b ? n - at : b;
    if (!Call(*active, in + at, out + at, len)) return 1;
    ended = len < b;
  }
  return 0;
}
