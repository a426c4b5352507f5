/* A C99 test bench for the namx conformance vectors: plays every stream of a vectors folder
 * through a vendor's runtime (bench.h) and writes one output file per stream, which
 * `namx conform check-vectors VECTORS --outputs OUT` judges.
 *
 *   namx conform export-vectors VECTORS MODEL        (writes VECTORS/vectors.h among others)
 *   cc -std=c99 -I VECTORS -I examples/vendor examples/vendor/bench.c my_runtime.c -o bench
 *   ./bench VECTORS OUT
 *   namx conform check-vectors VECTORS --outputs OUT
 *
 * No dependencies beyond the C standard library; files are raw little-endian float32 (the bench
 * assumes a little-endian host, as it checks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "vectors.h"

#define PATH_BYTES 4096

static int join(char *dst, const char *folder, const char *name) {
  int n = snprintf(dst, PATH_BYTES, "%s/%s", folder, name);
  return n > 0 && n < PATH_BYTES ? 0 : -1;
}

static int read_samples(const char *path, float *x, unsigned long n) {
  FILE *f = fopen(path, "rb");
  int ok = f != NULL && fread(x, sizeof(float), n, f) == n && fgetc(f) == EOF;
  if (f != NULL) fclose(f);
  if (!ok) fprintf(stderr, "bench: %s: cannot read %lu float32 samples\n", path, n);
  return ok ? 0 : -1;
}

static int write_samples(const char *path, const float *y, unsigned long n) {
  FILE *f = fopen(path, "wb");
  int ok = f != NULL && fwrite(y, sizeof(float), n, f) == n;
  if (f != NULL) ok = (fclose(f) == 0) && ok;
  if (!ok) fprintf(stderr, "bench: %s: cannot write\n", path);
  return ok ? 0 : -1;
}

/* One stream: start at the schedule's first width, request each later width at its sample (always
 * a block start), process block by block. */
static int play(const struct namx_vec_stream *s, const float *x, float *y) {
  unsigned long at = 0, block = 0, next = 1;
  int w = s->schedule[0].width;
  if (vendor_start(w, namx_vec_width_label[w]) != 0) return -1;
  while (at < NAMX_VEC_SAMPLES) {
    unsigned long n;
    if (s->block == 0 && block == s->num_lengths) return -1; /* lengths end before the input */
    n = s->block ? s->block : s->lengths[block];
    if (n > NAMX_VEC_SAMPLES - at) n = NAMX_VEC_SAMPLES - at;
    if (next < s->num_switches && s->schedule[next].sample == at) {
      w = s->schedule[next++].width;
      if (vendor_set_width(w, namx_vec_width_label[w]) != 0) return -1;
    }
    if (vendor_process(x + at, y + at, n) != 0) return -1;
    at += n;
    block++;
  }
  return 0;
}

int main(int argc, char **argv) {
  const unsigned int one = 1;
  char path[PATH_BYTES];
  float *x, *y;
  int i, failed = 0;
  if (argc != 3) {
    fprintf(stderr, "usage: %s VECTORS OUT  (OUT must exist)\n", argv[0]);
    return 2;
  }
  if (*(const unsigned char *)&one != 1) {
    fprintf(stderr, "bench: this host is big-endian; the vectors are little-endian float32\n");
    return 2;
  }
  x = (float *)malloc(NAMX_VEC_SAMPLES * sizeof(float));
  y = (float *)malloc(NAMX_VEC_SAMPLES * sizeof(float));
  if (x == NULL || y == NULL || join(path, argv[1], NAMX_VEC_INPUT) != 0 ||
      read_samples(path, x, NAMX_VEC_SAMPLES) != 0) {
    free(x);
    free(y);
    return 2;
  }
  for (i = 0; i < NAMX_VEC_NUM_STREAMS; ++i) {
    const struct namx_vec_stream *s = &namx_vec_streams[i];
    memset(y, 0, NAMX_VEC_SAMPLES * sizeof(float));
    if (play(s, x, y) != 0) {
      fprintf(stderr, "bench: %s: the runtime failed; no output written\n", s->output);
      failed = 1;
    } else if (join(path, argv[2], s->output) != 0 || write_samples(path, y, NAMX_VEC_SAMPLES) != 0) {
      failed = 1;
    } else {
      printf("%s\n", path);
    }
  }
  free(x);
  free(y);
  return failed;
}
