/* Every Arm kernel (neon and, where the core has it, neondot) against the
 * reference on random conv / depthwise / fully connected shapes: odd and single
 * channel counts, strides, dilations, paddings, zero points and multipliers at
 * their extremes, both requantization modes, bias sums that wrap. Each kernel's
 * work is also run split in two ranges. Passes with a notice without NEON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/conv.h"
#include "../kernels/dispatch.h"
#include "../kernels/quant.h"
#include "check.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}
static int32_t range(int32_t lo, int32_t hi) { return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1)); }
static int32_t pick_zp(void) {
  const uint32_t r = rnd() % 4;
  return r == 0 ? -128 : r == 1 ? 127 : range(-128, 127);
}
static void fill_i8(int8_t* p, size_t n) {
  const int extreme = rnd() % 4 == 0;
  for (size_t i = 0; i < n; ++i) p[i] = extreme ? (rnd() & 1 ? 127 : -128) : (int8_t)rnd();
}

typedef struct {
  int32_t mult[64], shift[64];
  float scale[64];
} rq_arrays;

static void random_requant(qie_qs8_requant* rq, rq_arrays* r, int32_t channels, bool fzp_zero) {
  memset(rq, 0, sizeof *rq);
  rq->input_zp = pick_zp();
  rq->filter_zp = fzp_zero ? 0 : pick_zp();
  rq->output_zp = pick_zp();
  rq->act_min = -128, rq->act_max = 127;
  if (rnd() % 3 == 0) {
    rq->act_min = range(-128, 0);
    rq->act_max = range(rq->act_min, 127);
  }
  rq->mode = rnd() % 3 == 0 ? QIE_RQ_FLOAT : QIE_RQ_FIXED;
  for (int32_t c = 0; c < channels; ++c) {
    int sh;
    qie_quantize_multiplier((double)(1 + rnd() % 1000) / (double)(1u << range(4, 22)),
                            &r->mult[c], &sh);
    r->shift[c] = sh;
    if (rnd() % 16 == 0) r->mult[c] = INT32_MAX, r->shift[c] = range(-31, 2);
    r->scale[c] = (float)(1 + rnd() % 1000) / (float)(1u << range(4, 22));
    if (rnd() % 16 == 0) r->scale[c] = 0.5f;
  }
  rq->multiplier = r->mult, rq->shift = r->shift, rq->scale = r->scale;
}

static void random_bias(int32_t* b, int32_t n) {
  const int big = rnd() % 8 == 0;
  for (int32_t i = 0; i < n; ++i) b[i] = big ? (int32_t)rnd() : range(-5000, 5000);
}

/* Runs kernel k over its items in two ranges split at a random point. */
#define RUN_SPLIT(k, p, args)                                                              \
  do {                                                                                     \
    const size_t pb_ = (k)->packed_bytes ? (k)->packed_bytes(p) : 0;                       \
    void* packed_ = pb_ ? malloc(pb_) : NULL;                                              \
    if (pb_) (k)->pack(p, (args).filter, (args).bias, packed_);                            \
    (args).packed = packed_;                                                               \
    const size_t sb_ = (k)->scratch_bytes ? (k)->scratch_bytes(p) : 0;                     \
    void* scratch_ = sb_ ? malloc(sb_) : NULL;                                             \
    const int32_t items_ = (k)->work_items(p);                                             \
    const int32_t cut_ = items_ > 0 ? range(0, items_) : 0;                                \
    (k)->run(p, &(args), 0, cut_, scratch_);                                               \
    (k)->run(p, &(args), cut_, items_, scratch_);                                          \
    free(scratch_);                                                                        \
    free(packed_);                                                                         \
  } while (0)

static int kernels_tested = 0;
static struct {
  const char* name;
  int runs;
} tally[32];

static void count(const char* name) {
  ++kernels_tested;
  for (int i = 0; i < 32; ++i) {
    if (!tally[i].name) tally[i].name = name;
    if (tally[i].name == name) {
      ++tally[i].runs;
      return;
    }
  }
}

static void conv_case(const qie_kernel_table* t, bool depthwise) {
  qie_qs8_conv_params p;
  memset(&p, 0, sizeof p);
  qie_conv_geom* g = &p.g;
  g->batches = range(1, 2);
  g->in_h = range(1, 9), g->in_w = range(1, 9);
  g->in_c = rnd() % 4 == 0 ? 1 : range(1, 40);
  g->k_h = range(1, 4), g->k_w = range(1, 4);
  if (rnd() % 3 == 0) g->k_h = g->k_w = rnd() % 2 ? 1 : 3;
  const bool pointwise = rnd() % 4 == 0; /* 1x1 unpadded: the direct kernels */
  if (pointwise) g->k_h = g->k_w = 1;
  g->stride_h = range(1, 3), g->stride_w = range(1, 3);
  g->dilation_h = range(1, 2), g->dilation_w = range(1, 2);
  g->pad_top = range(0, 2), g->pad_left = range(0, 2);
  const int32_t pad_bottom = pointwise ? 0 : range(0, 2), pad_right = pointwise ? 0 : range(0, 2);
  if (pointwise || rnd() % 3 == 0) g->pad_top = g->pad_left = 0;
  const int32_t eh = (g->k_h - 1) * g->dilation_h + 1, ew = (g->k_w - 1) * g->dilation_w + 1;
  const int32_t span_h = g->in_h + g->pad_top + pad_bottom - eh;
  const int32_t span_w = g->in_w + g->pad_left + pad_right - ew;
  if (span_h < 0 || span_w < 0) return;
  g->out_h = span_h / g->stride_h + 1, g->out_w = span_w / g->stride_w + 1;
  g->filter_in_c = depthwise ? 1 : g->in_c;
  g->depth_multiplier = 1;
  g->out_c = depthwise ? g->in_c : (rnd() % 4 == 0 ? 1 : range(1, 40));
  rq_arrays ra;
  random_requant(&p.rq, &ra, g->out_c, rnd() % 2);
  const size_t in_n = (size_t)g->batches * g->in_h * g->in_w * g->in_c;
  const size_t w_n = depthwise ? (size_t)g->k_h * g->k_w * g->out_c
                               : (size_t)g->out_c * g->k_h * g->k_w * g->in_c;
  const size_t out_n = (size_t)g->batches * g->out_h * g->out_w * g->out_c;
  int8_t* in = malloc(in_n);
  int8_t* w = malloc(w_n);
  int32_t bias[64];
  int8_t* want = malloc(out_n);
  int8_t* got = malloc(out_n);
  fill_i8(in, in_n);
  fill_i8(w, w_n);
  random_bias(bias, g->out_c);
  const int32_t* b = rnd() % 5 ? bias : NULL;
  if (depthwise)
    qie_qs8_dwconv2d_nhwc__ref(&p, in, w, b, want);
  else
    qie_qs8_conv2d_nhwc__ref(&p, in, w, b, want);
  const qie_qs8_conv_kernel* const* list = depthwise ? t->qs8_dwconv : t->qs8_conv;
  for (; *list; ++list) {
    const qie_qs8_conv_kernel* k = *list;
    if (strstr(k->name, "__ref") || (k->supports && !k->supports(&p))) continue;
    memset(got, 0x5a, out_n);
    qie_kernel_args args = {in, w, b, NULL, got};
    RUN_SPLIT(k, &p, args);
    count(k->name);
    const int same = memcmp(got, want, out_n) == 0;
    if (!same)
      fprintf(stderr,
              "%s: in %dx%dx%dx%d out %dx%dx%d k %dx%d s %d,%d d %d,%d pad %d,%d zp %d/%d/%d mode %d\n",
              k->name, g->batches, g->in_h, g->in_w, g->in_c, g->out_h, g->out_w, g->out_c, g->k_h,
              g->k_w, g->stride_h, g->stride_w, g->dilation_h, g->dilation_w, g->pad_top,
              g->pad_left, p.rq.input_zp, p.rq.filter_zp, p.rq.output_zp, p.rq.mode);
    CHECK(same);
  }
  free(in), free(w), free(want), free(got);
}

static void fc_case(const qie_kernel_table* t) {
  qie_qs8_fc_params p;
  memset(&p, 0, sizeof p);
  p.batches = rnd() % 2 ? 1 : range(1, 9);
  p.depth = rnd() % 4 == 0 ? range(1, 5) : range(1, 300);
  p.units = rnd() % 4 == 0 ? 1 : range(1, 64);
  rq_arrays ra;
  random_requant(&p.rq, &ra, p.units, rnd() % 2);
  const size_t in_n = (size_t)p.batches * p.depth, w_n = (size_t)p.units * p.depth;
  const size_t out_n = (size_t)p.batches * p.units;
  int8_t* in = malloc(in_n);
  int8_t* w = malloc(w_n);
  int32_t bias[64];
  int8_t* want = malloc(out_n);
  int8_t* got = malloc(out_n);
  fill_i8(in, in_n);
  fill_i8(w, w_n);
  random_bias(bias, p.units);
  const int32_t* b = rnd() % 5 ? bias : NULL;
  qie_qs8_fc__ref_full(&p, in, w, b, want);
  for (const qie_qs8_fc_kernel* const* list = t->qs8_fc; *list; ++list) {
    const qie_qs8_fc_kernel* k = *list;
    if (strstr(k->name, "__ref") || (k->supports && !k->supports(&p))) continue;
    memset(got, 0x5a, out_n);
    qie_kernel_args args = {in, w, b, NULL, got};
    RUN_SPLIT(k, &p, args);
    count(k->name);
    const int same = memcmp(got, want, out_n) == 0;
    if (!same)
      fprintf(stderr, "%s: batches %d depth %d units %d zp %d/%d/%d mode %d\n", k->name, p.batches,
              p.depth, p.units, p.rq.input_zp, p.rq.filter_zp, p.rq.output_zp, p.rq.mode);
    CHECK(same);
  }
  free(in), free(w), free(want), free(got);
}

/* QIE_EXPECT_AUTO (set by scripts/test-cross.sh per emulated CPU) names the
 * family "auto" must pick there; a family the CPU lacks must be refused. */
static void check_selection(void) {
  const char* expect = getenv("QIE_EXPECT_AUTO");
  if (!expect) return;
  const qie_kernel_table* t = qie_select_kernels("auto");
  printf("test_arm_kernels: auto selects %s (expected %s)\n", t ? t->isa : "nothing", expect);
  CHECK(t && strcmp(t->isa, expect) == 0);
  if (strcmp(expect, "neondot") != 0) CHECK(qie_select_kernels("neondot") == NULL);
  if (strcmp(expect, "ref") == 0) CHECK(qie_select_kernels("neon") == NULL);
}

int main(void) {
  static const char* const families[] = {"neon", "neondot"};
  check_selection();
  int tables = 0;
  for (size_t f = 0; f < sizeof families / sizeof families[0]; ++f) {
    const qie_kernel_table* t = qie_select_kernels(families[f]);
    if (!t) {
      printf("test_arm_kernels: NOTICE %s not available here\n", families[f]);
      continue;
    }
    ++tables;
    for (int i = 0; i < 600; ++i) {
      conv_case(t, false);
      conv_case(t, true);
      fc_case(t);
    }
  }
  printf("test_arm_kernels: %d tables, %d kernel runs compared\n", tables, kernels_tested);
  for (int i = 0; i < 32 && tally[i].name; ++i) printf("  %-36s %d\n", tally[i].name, tally[i].runs);
  return CHECK_DONE("test_arm_kernels");
}
