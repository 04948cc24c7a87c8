/* qs8 depthwise convolution (depth multiplier 1, or one input channel fanned
 * out to every output), NEON SMLAL, for aarch64 and
 * armv7 (the dot-product family uses it too: a depthwise tap has one input
 * channel, so there is no depth to dot over). A work item is one output row.
 * Channels go eight at a time, widened to int16 with the zero points removed
 * (weights at pack time); out-of-image taps are skipped as in the reference. */
#include "neon_common.h"

#if defined(QIE_NEON_ENABLED)

#if defined(__aarch64__)
#define QIE_NEON_DW_TILE "16c"
#else
#define QIE_NEON_DW_TILE "8c"
#endif

static int32_t dw_channels_padded(const qie_qs8_conv_params* p) {
  return qie_neon_round_up(p->g.out_c, QIE_NEON_NR);
}

static bool dw_sizes_ok(const qie_qs8_conv_params* p) {
  const qie_conv_geom* g = &p->g;
  if ((int64_t)g->k_h * g->k_w > (1 << 16) || g->out_c > (1 << 24)) return false;
  if (!qie_neon_packed_fits(g->out_c, (int64_t)g->k_h * g->k_w)) return false;
  if ((int64_t)g->batches * g->out_h > INT32_MAX) return false;
  return qie_neon_requant_ok(&p->rq, g->out_c);
}

static bool one_to_one(const qie_conv_geom* g) { return g->depth_multiplier == 1 && g->out_c == g->in_c; }
/* one input channel fanned out to every output (a first layer on a grey image) */
static bool fanned_out(const qie_conv_geom* g) {
  return g->in_c == 1 && g->depth_multiplier == g->out_c && g->out_c > 1;
}

static bool dw_supports(const qie_qs8_conv_params* p) {
  return (one_to_one(&p->g) || fanned_out(&p->g)) && dw_sizes_ok(p);
}

static bool dw_supports_3x3(const qie_qs8_conv_params* p) {
  return one_to_one(&p->g) && p->g.k_h == 3 && p->g.k_w == 3 && dw_sizes_ok(p);
}

static size_t dw_packed_bytes(const qie_qs8_conv_params* p) {
  const int32_t cp = dw_channels_padded(p);
  return qie_neon_requant_bytes(cp) + (size_t)p->g.k_h * p->g.k_w * cp * sizeof(int16_t);
}

/* Weights: per tap, cp int16 values (w - filter_zp), zeros past the channels. */
static void dw_pack(const qie_qs8_conv_params* p, const void* filter, const void* bias,
                    void* packed) {
  const int32_t cp = dw_channels_padded(p), c = p->g.out_c;
  const int32_t taps = p->g.k_h * p->g.k_w;
  const int8_t* w = (const int8_t*)filter;
  qie_neon_pack_requant(&p->rq, (const int32_t*)bias, c, cp, packed);
  int16_t* dst = (int16_t*)qie_neon_packed_view(packed, cp).weights;
  for (int32_t t = 0; t < taps; ++t)
    for (int32_t ch = 0; ch < cp; ++ch)
      *dst++ = (int16_t)(ch < c ? w[(size_t)t * c + ch] - p->rq.filter_zp : 0);
}

static int32_t dw_items(const qie_qs8_conv_params* p) { return p->g.batches * p->g.out_h; }

static inline int32x4_t mac_lo(int32x4_t acc, int16x8_t x, int16x8_t w) {
  return vmlal_s16(acc, vget_low_s16(x), vget_low_s16(w));
}
static inline int32x4_t mac_hi(int32x4_t acc, int16x8_t x, int16x8_t w) {
  return vmlal_s16(acc, vget_high_s16(x), vget_high_s16(w));
}

/* Eight channels of one tap: int8 input widened, input zero point removed. */
static inline int16x8_t load_x(const int8_t* x, int32_t nc, int16x8_t izp) {
  return vsubq_s16(vmovl_s8(qie_neon_load_i8(x, nc)), izp);
}

/* Any kernel size: taps looked up per pixel. Fanned out, a tap is one input byte,
 * multiplied into eight channels' weights by element. */
static void dw_run(const qie_qs8_conv_params* p, const qie_kernel_args* args, int32_t begin,
                   int32_t end, void* scratch) {
  (void)scratch;
  const qie_conv_geom* g = &p->g;
  const int32_t cp = dw_channels_padded(p), c = g->out_c;
  const qie_neon_packed pk = qie_neon_packed_view(args->packed, cp);
  const qie_neon_epilogue e = qie_neon_epilogue_init(&p->rq, &pk);
  const int16x8_t izp = vdupq_n_s16((int16_t)p->rq.input_zp);
  const int16_t* wbase = (const int16_t*)pk.weights;
  const int8_t* input = (const int8_t*)args->input;
  const int32_t in_c = g->in_c; /* c, or 1 fanned out */
  const bool fan = in_c == 1 && c > 1;
  for (int32_t item = begin; item < end; ++item) {
    const int32_t b = item / g->out_h, oy = item - b * g->out_h;
    const int32_t y0 = oy * g->stride_h - g->pad_top;
    const int8_t* image = input + (size_t)b * g->in_h * g->in_w * in_c;
    int8_t* out_row = (int8_t*)args->output + (size_t)item * g->out_w * c;
    for (int32_t ox = 0; ox < g->out_w; ++ox) {
      const int32_t x0 = ox * g->stride_w - g->pad_left;
      for (int32_t ch = 0; ch < c; ch += QIE_NEON_NR) {
        const int32_t nc = c - ch < QIE_NEON_NR ? c - ch : QIE_NEON_NR;
        int32x4_t lo = vld1q_s32(pk.bias + ch), hi = vld1q_s32(pk.bias + ch + 4);
        for (int32_t ky = 0; ky < g->k_h; ++ky) {
          const int32_t iy = y0 + ky * g->dilation_h;
          if (iy < 0 || iy >= g->in_h) continue;
          for (int32_t kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = x0 + kx * g->dilation_w;
            if (ix < 0 || ix >= g->in_w) continue;
            const int16x8_t w = vld1q_s16(wbase + (size_t)(ky * g->k_w + kx) * cp + ch);
            const int8_t* at = image + ((size_t)iy * g->in_w + ix) * in_c;
            if (fan) {
              const int16_t x = (int16_t)(*at - p->rq.input_zp);
              lo = vmlal_n_s16(lo, vget_low_s16(w), x);
              hi = vmlal_n_s16(hi, vget_high_s16(w), x);
            } else {
              const int16x8_t x = load_x(at + ch, nc, izp);
              lo = mac_lo(lo, x, w);
              hi = mac_hi(hi, x, w);
            }
          }
        }
        qie_neon_store_i8(out_row + (size_t)ox * c + ch, qie_neon_requant8(lo, hi, &e, ch), nc);
      }
    }
  }
}

#if defined(__aarch64__)
/* 3x3, sixteen channels from ch on one output row: eighteen weight registers
 * (of aarch64's 32) stay put while the pixels stream past. */
static void dw3x3_row16(const qie_conv_geom* g, const int8_t* image, int32_t y0, int32_t ch,
                        int32_t cp, const qie_neon_packed* pk, const qie_neon_epilogue* e,
                        int32_t input_zp, int8_t* out_row) {
  const int32_t c = g->out_c;
  const int16_t* wbase = (const int16_t*)pk->weights;
  const int8x16_t izp = vdupq_n_s8((int8_t)input_zp);
  int16x8_t wl[9], wh[9];
  for (int32_t t = 0; t < 9; ++t) {
    wl[t] = vld1q_s16(wbase + (size_t)t * cp + ch);
    wh[t] = vld1q_s16(wbase + (size_t)t * cp + ch + 8);
  }
  const int32x4_t b0 = vld1q_s32(pk->bias + ch), b1 = vld1q_s32(pk->bias + ch + 4);
  const int32x4_t b2 = vld1q_s32(pk->bias + ch + 8), b3 = vld1q_s32(pk->bias + ch + 12);
  for (int32_t ox = 0; ox < g->out_w; ++ox) {
    const int32_t x0 = ox * g->stride_w - g->pad_left;
    int32x4_t a0 = b0, a1 = b1, a2 = b2, a3 = b3;
#pragma GCC unroll 3
    for (int32_t ky = 0; ky < 3; ++ky) {
      const int32_t iy = y0 + ky * g->dilation_h;
      if (iy < 0 || iy >= g->in_h) continue;
      const int8_t* in_row = image + (size_t)iy * g->in_w * c + ch;
#pragma GCC unroll 3
      for (int32_t kx = 0; kx < 3; ++kx) {
        const int32_t ix = x0 + kx * g->dilation_w;
        if (ix < 0 || ix >= g->in_w) continue;
        const int8x16_t x = vld1q_s8(in_row + (size_t)ix * c);
        const int16x8_t xl = vsubl_s8(vget_low_s8(x), vget_low_s8(izp));
        const int16x8_t xh = vsubl_high_s8(x, izp);
        const int32_t t = ky * 3 + kx;
        a0 = vmlal_s16(a0, vget_low_s16(xl), vget_low_s16(wl[t]));
        a1 = vmlal_high_s16(a1, xl, wl[t]);
        a2 = vmlal_s16(a2, vget_low_s16(xh), vget_low_s16(wh[t]));
        a3 = vmlal_high_s16(a3, xh, wh[t]);
      }
    }
    int8_t* dst = out_row + (size_t)ox * c + ch;
    vst1_s8(dst, qie_neon_requant8(a0, a1, e, ch));
    vst1_s8(dst + 8, qie_neon_requant8(a2, a3, e, ch + 8));
  }
}
#endif

/* 3x3: for each group of eight channels the nine weight vectors stay in
 * registers while the row's pixels stream past (sixteen at a time on aarch64). */
static void dw_run_3x3(const qie_qs8_conv_params* p, const qie_kernel_args* args, int32_t begin,
                       int32_t end, void* scratch) {
  (void)scratch;
  const qie_conv_geom* g = &p->g;
  const int32_t cp = dw_channels_padded(p), c = g->out_c;
  const qie_neon_packed pk = qie_neon_packed_view(args->packed, cp);
  const qie_neon_epilogue e = qie_neon_epilogue_init(&p->rq, &pk);
  const int16x8_t izp = vdupq_n_s16((int16_t)p->rq.input_zp);
  const int16_t* wbase = (const int16_t*)pk.weights;
  const int8_t* input = (const int8_t*)args->input;
  for (int32_t item = begin; item < end; ++item) {
    const int32_t b = item / g->out_h, oy = item - b * g->out_h;
    const int32_t y0 = oy * g->stride_h - g->pad_top;
    const int8_t* image = input + (size_t)b * g->in_h * g->in_w * c;
    int8_t* out_row = (int8_t*)args->output + (size_t)item * g->out_w * c;
    int32_t ch = 0;
#if defined(__aarch64__)
    for (; ch + 16 <= c; ch += 16)
      dw3x3_row16(g, image, y0, ch, cp, &pk, &e, p->rq.input_zp, out_row);
#endif
    for (; ch < c; ch += QIE_NEON_NR) {
      const int32_t nc = c - ch < QIE_NEON_NR ? c - ch : QIE_NEON_NR;
      int16x8_t w[9];
      for (int32_t t = 0; t < 9; ++t) w[t] = vld1q_s16(wbase + (size_t)t * cp + ch);
      const int32x4_t blo = vld1q_s32(pk.bias + ch), bhi = vld1q_s32(pk.bias + ch + 4);
      for (int32_t ox = 0; ox < g->out_w; ++ox) {
        const int32_t x0 = ox * g->stride_w - g->pad_left;
        int32x4_t lo = blo, hi = bhi;
#pragma GCC unroll 3
        for (int32_t ky = 0; ky < 3; ++ky) {
          const int32_t iy = y0 + ky * g->dilation_h;
          if (iy < 0 || iy >= g->in_h) continue;
          const int8_t* in_row = image + (size_t)iy * g->in_w * c + ch;
#pragma GCC unroll 3
          for (int32_t kx = 0; kx < 3; ++kx) {
            const int32_t ix = x0 + kx * g->dilation_w;
            if (ix < 0 || ix >= g->in_w) continue;
            const int16x8_t x = load_x(in_row + (size_t)ix * c, nc, izp);
            lo = mac_lo(lo, x, w[ky * 3 + kx]);
            hi = mac_hi(hi, x, w[ky * 3 + kx]);
          }
        }
        qie_neon_store_i8(out_row + (size_t)ox * c + ch, qie_neon_requant8(lo, hi, &e, ch), nc);
      }
    }
  }
}

const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc_3x3__neon = {
    "qs8_dwconv_nhwc_3x3_" QIE_NEON_DW_TILE "__neon", dw_supports_3x3, dw_packed_bytes, dw_pack,
    NULL, dw_items, dw_run_3x3};
const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc__neon = {
    "qs8_dwconv_nhwc_8c__neon", dw_supports, dw_packed_bytes, dw_pack, NULL, dw_items, dw_run};

#endif
