/* Every optimized kernel of every family this CPU runs against the reference, bit
 * for bit, over random shapes, strides, paddings, dilations, channel counts
 * (1, odd, not multiples of any vector width), zero points and multipliers at
 * their extremes, both requantization modes, and random splits of the work items
 * (as threads would make them). Guard bytes catch writes past any buffer.
 * QIE_SWEEP_ROUNDS sets the cases per kernel (default 400). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/conv.h"
#include "../kernels/dispatch.h"
#include "check.h"

#define GUARD 64
#define POISON 0xA5

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}
/* Uniform in [lo, hi]. */
static int32_t range(int32_t lo, int32_t hi) {
  const uint64_t span = (uint64_t)((int64_t)hi - lo + 1);
  const uint64_t r = ((uint64_t)rnd() << 32 | rnd()) % span;
  return (int32_t)(lo + (int64_t)r);
}
static int chance(int percent) { return range(0, 99) < percent; }
static float frand(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() % 1000001) / 1e6f; }

/* A buffer with POISON guard bytes after `bytes`. */
static void* guarded(size_t bytes) {
  unsigned char* p = aligned_alloc(64, (bytes + GUARD + 63) / 64 * 64);
  memset(p, POISON, bytes + GUARD);
  return p;
}
static int guard_intact(const void* buf, size_t bytes) {
  const unsigned char* p = (const unsigned char*)buf + bytes;
  for (int i = 0; i < GUARD; ++i)
    if (p[i] != POISON) return 0;
  return 1;
}

/* ---- random parameters ---- */

/* One spatial axis: kernel k, stride, dilation, pads; returns the output size. */
static int32_t axis(int32_t in, int32_t* k, int32_t* stride, int32_t* dilation, int32_t* pad) {
  *k = chance(30) ? 1 : (chance(60) ? 3 : range(1, 5));
  *stride = chance(60) ? 1 : range(1, 3);
  *dilation = chance(85) ? 1 : range(2, 3);
  const int32_t dk = (*k - 1) * *dilation + 1;
  int32_t pa = chance(40) ? 0 : range(0, dk - 1), pb = chance(40) ? 0 : range(0, dk - 1);
  if (in + pa + pb < dk) pa = dk - in, pb = 0; /* the window must fit the padded input */
  *pad = pa;
  return (in + pa + pb - dk) / *stride + 1;
}

static int32_t channels(void) {
  if (chance(15)) return 1;
  if (chance(25)) return range(2, 9);
  if (chance(30)) return 8 * range(1, 10); /* vector-width multiples */
  return range(2, 80);
}

static qie_conv_geom conv_geom(int depthwise) {
  qie_conv_geom g;
  memset(&g, 0, sizeof g);
  g.batches = chance(85) ? 1 : 2;
  g.in_h = chance(10) ? 1 : range(1, 14);
  g.in_w = chance(10) ? 1 : range(1, 14);
  g.in_c = channels();
  g.out_h = axis(g.in_h, &g.k_h, &g.stride_h, &g.dilation_h, &g.pad_top);
  g.out_w = axis(g.in_w, &g.k_w, &g.stride_w, &g.dilation_w, &g.pad_left);
  if (depthwise && chance(20)) {
    /* one input channel fanned out to 8..40 (a first layer on a grey image): wide
     * enough rows for the kernels that take eight pixels at once, often 3x3 */
    g.in_c = 1;
    g.in_w = range(8, 40);
    g.in_h = range(3, 12);
    g.out_h = axis(g.in_h, &g.k_h, &g.stride_h, &g.dilation_h, &g.pad_top);
    g.out_w = axis(g.in_w, &g.k_w, &g.stride_w, &g.dilation_w, &g.pad_left);
    if (chance(60)) {
      g.k_h = g.k_w = 3, g.dilation_h = g.dilation_w = 1, g.stride_w = g.stride_h = range(1, 2);
      g.pad_top = range(0, 1), g.pad_left = range(0, 1);
      g.out_h = (g.in_h + 2 * g.pad_top - 3) / g.stride_h + 1; /* pads the same on both sides */
      g.out_w = (g.in_w + 2 * g.pad_left - 3) / g.stride_w + 1;
    }
    g.depth_multiplier = 8 * range(1, 5);
    g.out_c = g.depth_multiplier;
    g.filter_in_c = 1;
  } else if (depthwise) {
    if (chance(15)) {
      /* 3x3 at stride 1 or 2 over rows wide enough for the kernels' row paths,
       * with channels a multiple of 8 (mobilenet's depthwise layers) */
      g.in_c = 8 * range(1, 6);
      g.in_w = range(3, 24);
      g.k_h = g.k_w = 3, g.stride_w = range(1, 2), g.dilation_w = 1, g.pad_left = range(0, 1);
      g.out_w = (g.in_w + 2 * g.pad_left - 3) / g.stride_w + 1; /* pads the same on both sides */
      g.stride_h = range(1, 2), g.dilation_h = chance(85) ? 1 : 2, g.pad_top = range(0, 2);
      g.in_h = range(2 * g.dilation_h + 1, 10);
      g.out_h = (g.in_h + 2 * g.pad_top - (2 * g.dilation_h + 1)) / g.stride_h + 1;
    }
    g.depth_multiplier = chance(80) ? 1 : range(2, 3);
    g.out_c = g.in_c * g.depth_multiplier;
    g.filter_in_c = 1;
  } else {
    g.depth_multiplier = 1;
    const int32_t groups = chance(90) ? 1 : range(2, 4);
    g.filter_in_c = g.in_c;
    g.out_c = channels();
    if (groups > 1) {
      g.filter_in_c = range(1, 8);
      g.in_c = g.filter_in_c * groups;
      g.out_c = groups * range(1, 6);
    }
  }
  return g;
}

typedef struct {
  int32_t mult[512], shift[512];
  float scale[512];
} requant_store;

static qie_qs8_requant requant(int32_t channels, requant_store* s) {
  qie_qs8_requant rq;
  memset(&rq, 0, sizeof rq);
  rq.input_zp = chance(20) ? (chance(50) ? -128 : 127) : range(-128, 127);
  rq.filter_zp = chance(85) ? 0 : range(-128, 127);
  rq.output_zp = chance(20) ? (chance(50) ? -128 : 127) : range(-128, 127);
  rq.act_min = -128, rq.act_max = 127;
  if (chance(30)) {
    rq.act_min = range(-128, 100);
    rq.act_max = range(rq.act_min, 127);
  }
  rq.mode = chance(30) ? QIE_RQ_FLOAT : QIE_RQ_FIXED;
  const int per_channel = chance(70);
  /* every right shift in [1, 20] (x86's one-rounding epilogue; its ends often),
   * zero multipliers with any shift */
  const int one_rounding = chance(35);
  for (int32_t c = 0; c < channels; ++c) {
    if (c > 0 && !per_channel) {
      s->mult[c] = s->mult[0], s->shift[c] = s->shift[0], s->scale[c] = s->scale[0];
      continue;
    }
    s->mult[c] = chance(10) ? INT32_MAX : (chance(5) ? 0 : range(1 << 30, INT32_MAX));
    s->shift[c] = chance(10) ? -31 : (chance(10) ? range(1, 4) : range(-20, 0));
    if (one_rounding && s->mult[c] != 0)
      s->shift[c] = chance(15) ? -1 : (chance(15) ? -20 : range(-20, -1));
    s->scale[c] = chance(10) ? frand(1.0f, 40.0f) : frand(1e-6f, 0.05f);
  }
  rq.multiplier = s->mult, rq.shift = s->shift, rq.scale = s->scale;
  return rq;
}

static void fill_i8(int8_t* p, size_t n) {
  const int mode = range(0, 9);
  for (size_t i = 0; i < n; ++i)
    p[i] = mode == 0 ? -128 : (mode == 1 ? 127 : (int8_t)range(-128, 127));
}
static void fill_bias(int32_t* p, size_t n) {
  const int32_t span = chance(10) ? (1 << 30) : (1 << 16);
  /* sometimes at the int32 ends, so accumulators reach (and wrap past) the limits */
  const int edge = chance(8);
  for (size_t i = 0; i < n; ++i)
    p[i] = edge ? (chance(50) ? range(INT32_MAX - (1 << 22), INT32_MAX) : range(INT32_MIN, INT32_MIN + (1 << 22)))
                : range(-span, span);
}
static void fill_f32(float* p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = frand(-2.0f, 2.0f);
}

/* ---- running a kernel through the contract with a random split ---- */

/* Splits [0, items) into up to 4 ranges, run in a random order, each with freshly
 * poisoned scratch, as threads would. */
#define RUN_SPLIT(k, p, args, scratch, scratch_bytes)                              \
  do {                                                                             \
    const int32_t items_ = (k)->work_items(p);                                     \
    int32_t cut_[5] = {0, 0, 0, 0, items_};                                        \
    const int parts_ = items_ > 1 ? range(1, 4) : 1;                               \
    for (int i_ = 1; i_ < parts_; ++i_) cut_[i_] = range(0, items_);               \
    cut_[parts_] = items_;                                                         \
    for (int i_ = 1; i_ < parts_; ++i_) /* sort the cuts */                        \
      for (int j_ = i_ + 1; j_ < parts_; ++j_)                                     \
        if (cut_[j_] < cut_[i_]) {                                                 \
          int32_t t_ = cut_[i_];                                                   \
          cut_[i_] = cut_[j_];                                                     \
          cut_[j_] = t_;                                                           \
        }                                                                          \
    const int reverse_ = chance(50);                                               \
    for (int i_ = 0; i_ < parts_; ++i_) {                                          \
      const int part_ = reverse_ ? parts_ - 1 - i_ : i_;                           \
      memset(scratch, POISON, scratch_bytes);                                      \
      (k)->run(p, args, cut_[part_], cut_[part_ + 1], scratch);                    \
    }                                                                              \
  } while (0)

static int tested_cases, skipped_cases;

static void report_mismatch(const char* family, const char* kernel, const char* what,
                            const qie_conv_geom* g) {
  fprintf(stderr,
          "  %s %s: %s (in %dx%dx%dx%d k %dx%d s %d,%d d %d,%d pad %d,%d out %dx%dx%d dm %d fic %d)\n",
          family, kernel, what, g->batches, g->in_h, g->in_w, g->in_c, g->k_h, g->k_w,
          g->stride_h, g->stride_w, g->dilation_h, g->dilation_w, g->pad_top, g->pad_left,
          g->out_h, g->out_w, g->out_c, g->depth_multiplier, g->filter_in_c);
}

static void sweep_qs8_conv(const char* family, const qie_qs8_conv_kernel* k, int depthwise,
                           int rounds) {
  for (int r = 0; r < rounds; ++r) {
    static requant_store store;
    qie_qs8_conv_params p;
    p.g = conv_geom(depthwise);
    p.rq = requant(p.g.out_c, &store);
    if (k->supports && !k->supports(&p)) {
      ++skipped_cases;
      continue;
    }
    ++tested_cases;
    const qie_conv_geom* g = &p.g;
    const size_t in_n = (size_t)g->batches * g->in_h * g->in_w * g->in_c;
    const size_t w_n = depthwise ? (size_t)g->k_h * g->k_w * g->out_c
                                 : (size_t)g->out_c * g->k_h * g->k_w * g->filter_in_c;
    const size_t out_n = (size_t)g->batches * g->out_h * g->out_w * g->out_c;
    int8_t* in = guarded(in_n);
    int8_t* w = guarded(w_n);
    int32_t* bias = chance(85) ? guarded(g->out_c * sizeof(int32_t)) : NULL;
    int8_t* want = guarded(out_n);
    int8_t* got = guarded(out_n);
    fill_i8(in, in_n);
    fill_i8(w, w_n);
    if (bias) fill_bias(bias, g->out_c);
    if (depthwise)
      qie_qs8_dwconv2d_nhwc__ref(&p, in, w, bias, want);
    else
      qie_qs8_conv2d_nhwc__ref(&p, in, w, bias, want);
    const size_t packed_n = k->packed_bytes ? k->packed_bytes(&p) : 0;
    void* packed = packed_n ? guarded(packed_n) : NULL;
    if (packed) k->pack(&p, w, bias, packed);
    const size_t scratch_n = k->scratch_bytes ? k->scratch_bytes(&p) : 0;
    void* scratch = guarded(scratch_n);
    const qie_kernel_args a = {in, w, bias, packed, got};
    RUN_SPLIT(k, &p, &a, scratch, scratch_n);
    if (memcmp(want, got, out_n) != 0) report_mismatch(family, k->name, "output differs", g);
    CHECK(memcmp(want, got, out_n) == 0);
    CHECK(guard_intact(got, out_n));
    CHECK(!packed || guard_intact(packed, packed_n));
    CHECK(guard_intact(scratch, scratch_n));
    free(in), free(w), free(bias), free(want), free(got), free(packed), free(scratch);
  }
}

static void sweep_f32_conv(const char* family, const qie_f32_conv_kernel* k, int depthwise,
                           int rounds) {
  for (int r = 0; r < rounds; ++r) {
    qie_f32_conv_params p;
    p.g = conv_geom(depthwise);
    p.act_min = chance(50) ? -3.4e38f : frand(-1.0f, 0.0f);
    p.act_max = chance(50) ? 3.4e38f : frand(0.0f, 6.0f);
    if (k->supports && !k->supports(&p)) {
      ++skipped_cases;
      continue;
    }
    ++tested_cases;
    const qie_conv_geom* g = &p.g;
    const size_t in_n = (size_t)g->batches * g->in_h * g->in_w * g->in_c;
    const size_t w_n = depthwise ? (size_t)g->k_h * g->k_w * g->out_c
                                 : (size_t)g->out_c * g->k_h * g->k_w * g->filter_in_c;
    const size_t out_n = (size_t)g->batches * g->out_h * g->out_w * g->out_c;
    float* in = guarded(in_n * 4);
    float* w = guarded(w_n * 4);
    float* bias = chance(85) ? guarded(g->out_c * 4) : NULL;
    float* want = guarded(out_n * 4);
    float* got = guarded(out_n * 4);
    fill_f32(in, in_n);
    fill_f32(w, w_n);
    if (bias) fill_f32(bias, g->out_c);
    if (depthwise)
      qie_f32_dwconv2d_nhwc__ref(&p, in, w, bias, want);
    else
      qie_f32_conv2d_nhwc__ref(&p, in, w, bias, want);
    const size_t packed_n = k->packed_bytes ? k->packed_bytes(&p) : 0;
    void* packed = packed_n ? guarded(packed_n) : NULL;
    if (packed) k->pack(&p, w, bias, packed);
    const size_t scratch_n = k->scratch_bytes ? k->scratch_bytes(&p) : 0;
    void* scratch = guarded(scratch_n);
    const qie_kernel_args a = {in, w, bias, packed, got};
    RUN_SPLIT(k, &p, &a, scratch, scratch_n);
    /* bit for bit: the same operations in the same order as the reference */
    if (memcmp(want, got, out_n * 4) != 0) report_mismatch(family, k->name, "output differs", g);
    CHECK(memcmp(want, got, out_n * 4) == 0);
    CHECK(guard_intact(got, out_n * 4));
    CHECK(!packed || guard_intact(packed, packed_n));
    CHECK(guard_intact(scratch, scratch_n));
    free(in), free(w), free(bias), free(want), free(got), free(packed), free(scratch);
  }
}

static void sweep_qs8_fc(const char* family, const qie_qs8_fc_kernel* k, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    static requant_store store;
    qie_qs8_fc_params p;
    p.batches = chance(60) ? 1 : range(2, 5);
    p.depth = chance(10) ? 1 : (chance(30) ? 16 * range(1, 20) : range(2, 300));
    /* long rows: past the stack row buffer of single-row kernels */
    if (chance(5)) p.depth = range(4000, 4200);
    p.units = chance(10) ? 1 : (chance(30) ? 8 * range(1, 12) : range(2, 70));
    p.rq = requant(p.units, &store);
    if (k->supports && !k->supports(&p)) {
      ++skipped_cases;
      continue;
    }
    ++tested_cases;
    const size_t in_n = (size_t)p.batches * p.depth, w_n = (size_t)p.units * p.depth;
    const size_t out_n = (size_t)p.batches * p.units;
    int8_t* in = guarded(in_n);
    int8_t* w = guarded(w_n);
    int32_t* bias = chance(85) ? guarded(p.units * sizeof(int32_t)) : NULL;
    int8_t* want = guarded(out_n);
    int8_t* got = guarded(out_n);
    fill_i8(in, in_n);
    fill_i8(w, w_n);
    if (bias) fill_bias(bias, p.units);
    qie_qs8_fc__ref_full(&p, in, w, bias, want);
    const size_t packed_n = k->packed_bytes ? k->packed_bytes(&p) : 0;
    void* packed = packed_n ? guarded(packed_n) : NULL;
    if (packed) k->pack(&p, w, bias, packed);
    const size_t scratch_n = k->scratch_bytes ? k->scratch_bytes(&p) : 0;
    void* scratch = guarded(scratch_n);
    const qie_kernel_args a = {in, w, bias, packed, got};
    RUN_SPLIT(k, &p, &a, scratch, scratch_n);
    if (memcmp(want, got, out_n) != 0)
      fprintf(stderr, "  %s %s: output differs (batches %d depth %d units %d mode %d)\n", family,
              k->name, p.batches, p.depth, p.units, p.rq.mode);
    CHECK(memcmp(want, got, out_n) == 0);
    CHECK(guard_intact(got, out_n));
    CHECK(!packed || guard_intact(packed, packed_n));
    CHECK(guard_intact(scratch, scratch_n));
    free(in), free(w), free(bias), free(want), free(got), free(packed), free(scratch);
  }
}

static void sweep_f32_fc(const char* family, const qie_f32_fc_kernel* k, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    qie_f32_fc_params p;
    p.batches = chance(60) ? 1 : range(2, 5);
    p.depth = chance(10) ? 1 : range(2, 300);
    p.units = chance(10) ? 1 : range(2, 70);
    p.act_min = chance(50) ? -3.4e38f : frand(-1.0f, 0.0f);
    p.act_max = chance(50) ? 3.4e38f : frand(0.0f, 6.0f);
    if (k->supports && !k->supports(&p)) {
      ++skipped_cases;
      continue;
    }
    ++tested_cases;
    const size_t in_n = (size_t)p.batches * p.depth, w_n = (size_t)p.units * p.depth;
    const size_t out_n = (size_t)p.batches * p.units;
    float* in = guarded(in_n * 4);
    float* w = guarded(w_n * 4);
    float* bias = chance(85) ? guarded(p.units * 4) : NULL;
    float* want = guarded(out_n * 4);
    float* got = guarded(out_n * 4);
    fill_f32(in, in_n);
    fill_f32(w, w_n);
    if (bias) fill_f32(bias, p.units);
    qie_f32_fc__ref_full(&p, in, w, bias, want);
    const size_t packed_n = k->packed_bytes ? k->packed_bytes(&p) : 0;
    void* packed = packed_n ? guarded(packed_n) : NULL;
    if (packed) k->pack(&p, w, bias, packed);
    const size_t scratch_n = k->scratch_bytes ? k->scratch_bytes(&p) : 0;
    void* scratch = guarded(scratch_n);
    const qie_kernel_args a = {in, w, bias, packed, got};
    RUN_SPLIT(k, &p, &a, scratch, scratch_n);
    if (memcmp(want, got, out_n * 4) != 0)
      fprintf(stderr, "  %s %s: output differs (batches %d depth %d units %d)\n", family, k->name,
              p.batches, p.depth, p.units);
    CHECK(memcmp(want, got, out_n * 4) == 0);
    CHECK(guard_intact(got, out_n * 4));
    CHECK(!packed || guard_intact(packed, packed_n));
    CHECK(guard_intact(scratch, scratch_n));
    free(in), free(w), free(bias), free(want), free(got), free(packed), free(scratch);
  }
}

/* A GEMM deeper than any packer sizes (2^25) goes to the reference kernel in
 * every family: the packers' plans index it in int32. */
static void check_deep_gemm_declined(const char* family, const qie_kernel_table* t) {
  requant_store s;
  qie_qs8_fc_params fc;
  memset(&fc, 0, sizeof fc);
  fc.batches = 2, fc.depth = 1 << 25, fc.units = 8;
  fc.rq = requant(8, &s);
  fc.rq.filter_zp = 0;
  for (const qie_qs8_fc_kernel* const* k = t->qs8_fc; *k; ++k)
    if ((*k)->packed_bytes && (!(*k)->supports || (*k)->supports(&fc))) {
      fprintf(stderr, "%s: %s takes a depth of 2^25\n", family, (*k)->name);
      CHECK(0);
    }
  qie_qs8_conv_params cv;
  memset(&cv, 0, sizeof cv);
  cv.g = (qie_conv_geom){1, 1, 1, 1 << 25, 1, 1, 8, 1, 1, 1 << 25, 1, 1, 1, 1, 1, 0, 0};
  cv.rq = fc.rq;
  for (const qie_qs8_conv_kernel* const* k = t->qs8_conv; *k; ++k)
    if ((*k)->packed_bytes && (!(*k)->supports || (*k)->supports(&cv))) {
      fprintf(stderr, "%s: %s takes a depth of 2^25\n", family, (*k)->name);
      CHECK(0);
    }
  CHECK(1);
}

int main(void) {
  static const char* const families[] = {"ref", "avx2", "avx512vnni", "neon", "neondot"};
  const char* env = getenv("QIE_SWEEP_ROUNDS");
  const int rounds = env && atoi(env) > 0 ? atoi(env) : 400;
  for (size_t f = 0; f < sizeof families / sizeof families[0]; ++f) {
    const qie_kernel_table* t = qie_select_kernels(families[f]);
    if (!t) {
      printf("kernel sweep: %s not available here (%s)\n", families[f],
             qie_kernels_unavailable_reason(families[f]));
      continue;
    }
    check_deep_gemm_declined(families[f], t);
    const int before = tested_cases;
    int kernels = 0;
    for (const qie_qs8_conv_kernel* const* k = t->qs8_conv; *k; ++k, ++kernels)
      sweep_qs8_conv(families[f], *k, 0, rounds);
    for (const qie_qs8_conv_kernel* const* k = t->qs8_dwconv; *k; ++k, ++kernels)
      sweep_qs8_conv(families[f], *k, 1, rounds);
    for (const qie_qs8_fc_kernel* const* k = t->qs8_fc; *k; ++k, ++kernels)
      sweep_qs8_fc(families[f], *k, rounds);
    for (const qie_f32_conv_kernel* const* k = t->f32_conv; *k; ++k, ++kernels)
      sweep_f32_conv(families[f], *k, 0, rounds);
    for (const qie_f32_conv_kernel* const* k = t->f32_dwconv; *k; ++k, ++kernels)
      sweep_f32_conv(families[f], *k, 1, rounds);
    for (const qie_f32_fc_kernel* const* k = t->f32_fc; *k; ++k, ++kernels)
      sweep_f32_fc(families[f], *k, rounds);
    printf("kernel sweep: %s: %d kernels, %d cases compared\n", families[f], kernels,
           tested_cases - before);
  }
  printf("kernel sweep: %d cases skipped by supports()\n", skipped_cases);
  return CHECK_DONE("test_kernel_sweep");
}
