/* Arm kernel selection: HWCAP detection, what "auto" picks on the emulated CPU
 * (QIE_EXPECT_AUTO, set by scripts/test-cross.sh), refusal of a family the CPU
 * lacks, and which kernel each family's lists give typical layers (and which
 * parameters they must hand to the reference). Kernel arithmetic is checked by
 * test_kernel_sweep. Passes with a notice off Arm. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/neon/f32_neon.h"
#include "check.h"

#if defined(QIE_NEON_ENABLED)

static int32_t mult[64], shift[64];
static float scale[64];

static qie_qs8_requant requant(void) {
  qie_qs8_requant rq;
  memset(&rq, 0, sizeof rq);
  for (int i = 0; i < 64; ++i) mult[i] = 1 << 30, shift[i] = -7, scale[i] = 0.01f;
  rq.input_zp = -128, rq.output_zp = 5, rq.act_min = -128, rq.act_max = 127;
  rq.multiplier = mult, rq.shift = shift, rq.scale = scale;
  return rq;
}

/* in 8x8xin_c, k x k, stride 1, pad, out_c (depthwise: out_c == in_c). */
static qie_qs8_conv_params conv(int32_t k, int32_t pad, int32_t in_c, int32_t out_c, bool dw) {
  qie_qs8_conv_params p;
  memset(&p, 0, sizeof p);
  qie_conv_geom* g = &p.g;
  g->batches = 1, g->in_h = g->in_w = 8, g->in_c = in_c;
  g->k_h = g->k_w = k, g->stride_h = g->stride_w = 1, g->dilation_h = g->dilation_w = 1;
  g->pad_top = g->pad_left = pad;
  g->out_h = g->out_w = 8 + 2 * pad - k + 1, g->out_c = out_c;
  g->filter_in_c = dw ? 1 : in_c, g->depth_multiplier = dw ? out_c / in_c : 1;
  p.rq = requant();
  return p;
}

static const char* pick_conv(const qie_qs8_conv_kernel* const* list, const qie_qs8_conv_params* p) {
  for (; *list; ++list)
    if (!(*list)->supports || (*list)->supports(p)) return (*list)->name;
  return "none";
}

static const char* pick_fc(const qie_qs8_fc_kernel* const* list, const qie_qs8_fc_params* p) {
  for (; *list; ++list)
    if (!(*list)->supports || (*list)->supports(p)) return (*list)->name;
  return "none";
}

static const char* pick_f32_conv(const qie_f32_conv_kernel* const* list,
                                 const qie_f32_conv_params* p) {
  for (; *list; ++list)
    if (!(*list)->supports || (*list)->supports(p)) return (*list)->name;
  return "none";
}

static const char* pick_f32_fc(const qie_f32_fc_kernel* const* list, const qie_f32_fc_params* p) {
  for (; *list; ++list)
    if (!(*list)->supports || (*list)->supports(p)) return (*list)->name;
  return "none";
}

#define CHECK_NAME(got, want)                                                             \
  do {                                                                                    \
    const char* g_ = (got);                                                               \
    const char* w_ = (want);                                                              \
    if (strcmp(g_, w_) != 0) fprintf(stderr, "%s: picked %s, want %s\n", t->isa, g_, w_); \
    CHECK(strcmp(g_, w_) == 0);                                                           \
  } while (0)

static void check_choices(const qie_kernel_table* t, bool dot) {
  /* neon: the c8 kernels, by-lane SMLAL under 16 deep; neondot: SDOT at any depth */
#if defined(__aarch64__)
  const char* conv_1x1 =
      dot ? qie_qs8_conv_nhwc_1x1__neondot.name : qie_qs8_conv_nhwc_1x1_c8__neon.name;
  const char* conv_any =
      dot ? qie_qs8_conv_nhwc_im2col__neondot.name : qie_qs8_conv_nhwc_im2col_c8__neon.name;
  const char* conv_1x1_shallow =
      dot ? qie_qs8_conv_nhwc_1x1__neondot.name : qie_qs8_conv_nhwc_1x1__neon.name;
  const char* fc = dot ? qie_qs8_fc__neondot.name : qie_qs8_fc_c8__neon.name;
  const char* fc_shallow = dot ? qie_qs8_fc__neondot.name : qie_qs8_fc__neon.name;
#else
  (void)dot;
  const char* conv_1x1 = qie_qs8_conv_nhwc_1x1_c8__neon.name;
  const char* conv_any = qie_qs8_conv_nhwc_im2col_c8__neon.name;
  const char* conv_1x1_shallow = qie_qs8_conv_nhwc_1x1__neon.name;
  const char* fc = qie_qs8_fc_c8__neon.name;
  const char* fc_shallow = qie_qs8_fc__neon.name;
#endif
  qie_qs8_conv_params p = conv(1, 0, 16, 24, false);
  CHECK_NAME(pick_conv(t->qs8_conv, &p), conv_1x1);
  p.g.stride_h = p.g.stride_w = 2, p.g.out_h = p.g.out_w = 4; /* strided 1x1: still in place */
  CHECK_NAME(pick_conv(t->qs8_conv, &p), conv_1x1);
  p = conv(1, 1, 16, 24, false); /* padded 1x1 gathers */
  CHECK_NAME(pick_conv(t->qs8_conv, &p), conv_any);
  p = conv(3, 1, 3, 32, false);
  CHECK_NAME(pick_conv(t->qs8_conv, &p), conv_any);
  p.rq.filter_zp = 3; /* any zero points: corrected for on raw int8 */
  CHECK_NAME(pick_conv(t->qs8_conv, &p), conv_any);
  p = conv(1, 0, 8, 24, false); /* 8 deep */
  CHECK_NAME(pick_conv(t->qs8_conv, &p), conv_1x1_shallow);
  p = conv(3, 1, 16, 16, false);
  p.g.filter_in_c = 8; /* grouped */
  CHECK_NAME(pick_conv(t->qs8_conv, &p), qie_qs8_conv_nhwc__ref.name);
  p = conv(1, 0, 16, 24, false);
  p.rq.act_max = 200; /* bounds beyond int8: only the reference's semantics apply */
  CHECK_NAME(pick_conv(t->qs8_conv, &p), qie_qs8_conv_nhwc__ref.name);
  p = conv(1, 0, 16, 24, false);
  shift[5] = 31; /* a left shift vshl would apply but the reference never sees */
  CHECK_NAME(pick_conv(t->qs8_conv, &p), qie_qs8_conv_nhwc__ref.name);
  p = conv(1, 0, 16, 24, false);
  p.rq.mode = QIE_RQ_FLOAT;
  CHECK_NAME(pick_conv(t->qs8_conv, &p), conv_1x1);

  p = conv(3, 1, 32, 32, true);
  CHECK_NAME(pick_conv(t->qs8_dwconv, &p), qie_qs8_dwconv_nhwc_3x3__neon.name);
  p = conv(5, 2, 32, 32, true);
  CHECK_NAME(pick_conv(t->qs8_dwconv, &p), qie_qs8_dwconv_nhwc__neon.name);
  p = conv(3, 1, 16, 32, true); /* depth multiplier 2 */
  CHECK_NAME(pick_conv(t->qs8_dwconv, &p), qie_qs8_dwconv_nhwc__ref.name);

  qie_qs8_fc_params f;
  memset(&f, 0, sizeof f);
  f.batches = 1, f.depth = 1280, f.units = 64;
  f.rq = requant();
  CHECK_NAME(pick_fc(t->qs8_fc, &f), fc);
  f.rq.filter_zp = -1;
  CHECK_NAME(pick_fc(t->qs8_fc, &f), fc);
  f.depth = 10;
  CHECK_NAME(pick_fc(t->qs8_fc, &f), fc_shallow);

  /* float32: NEON on aarch64; armv7 keeps the (VFP, subnormal-exact) reference */
  qie_f32_conv_params fp;
  memset(&fp, 0, sizeof fp);
  fp.g = conv(1, 0, 16, 24, false).g;
  fp.act_min = -1.0f, fp.act_max = 1.0f;
  qie_f32_fc_params ff;
  memset(&ff, 0, sizeof ff);
  ff.batches = 1, ff.depth = 100, ff.units = 10;
#if defined(QIE_NEON_F32_ENABLED)
  CHECK_NAME(pick_f32_conv(t->f32_conv, &fp), qie_f32_conv_nhwc_1x1__neon.name);
  fp.g = conv(3, 1, 16, 24, false).g;
  CHECK_NAME(pick_f32_conv(t->f32_conv, &fp), qie_f32_conv_nhwc_im2col__neon.name);
  fp.g = conv(3, 1, 16, 16, true).g;
  CHECK_NAME(pick_f32_conv(t->f32_dwconv, &fp), qie_f32_dwconv_nhwc__neon.name);
  fp.g.filter_in_c = 8; /* grouped */
  fp.g.depth_multiplier = 1;
  CHECK_NAME(pick_f32_conv(t->f32_conv, &fp), qie_f32_conv_nhwc__ref.name);
  CHECK_NAME(pick_f32_fc(t->f32_fc, &ff), qie_f32_fc__neon.name);
#else
  CHECK_NAME(pick_f32_conv(t->f32_conv, &fp), qie_f32_conv_nhwc__ref.name);
  CHECK_NAME(pick_f32_fc(t->f32_fc, &ff), qie_f32_fc__ref.name);
#endif
}

int main(void) {
  qie_cpu_features f;
  memset(&f, 0, sizeof f);
  qie_cpu_detect_arm(&f);
  printf("test_arm_dispatch: HWCAP neon %d, dot product %d\n", f.neon, f.neondot);
  const qie_kernel_table* neon = qie_select_kernels("neon");
  const qie_kernel_table* dot = qie_select_kernels("neondot");
  CHECK((neon != NULL) == f.neon);
  CHECK((dot != NULL) == f.neondot);
  const char* expect = getenv("QIE_EXPECT_AUTO");
  if (expect) {
    const qie_kernel_table* a = qie_select_kernels("auto");
    printf("test_arm_dispatch: auto selects %s (expected %s)\n", a ? a->isa : "nothing", expect);
    CHECK(a && strcmp(a->isa, expect) == 0);
    CHECK(qie_select_kernels(NULL) == a);
  }
  if (neon) check_choices(neon, false);
  if (dot) check_choices(dot, true);
  return CHECK_DONE("test_arm_dispatch");
}

#else

int main(void) {
  printf("test_arm_dispatch: NOTICE no NEON in this build, nothing to check\n");
  return 0;
}

#endif
