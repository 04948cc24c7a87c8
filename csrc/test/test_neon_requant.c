/* The NEON requantizing epilogue against the scalar definition (conv.h), on the
 * values where a vector shortcut could differ: rounding ties of both roundings
 * on either sign, the saturating multiply (INT32_MIN * INT32_MIN), accumulators
 * and multipliers at their extremes, every shift from -31 to 30, and the float
 * mode's half-way cases. Passes trivially (with a notice) without NEON. */
#include <stdint.h>
#include <string.h>

#include "../kernels/neon/neon_common.h"
#include "check.h"

#if defined(QIE_NEON_ENABLED)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

/* Eight channels with the given constants; compares every lane to the reference. */
static void check8(const int32_t acc[8], const int32_t mult[8], const int32_t shift[8],
                   const float scale[8], int32_t mode, int32_t zp, int32_t lo, int32_t hi) {
  qie_qs8_requant rq;
  memset(&rq, 0, sizeof rq);
  rq.output_zp = zp, rq.act_min = lo, rq.act_max = hi, rq.mode = mode;
  rq.multiplier = mult, rq.shift = shift, rq.scale = scale;
  int32_t packed[5 * 8];
  qie_neon_pack_requant(&rq, NULL, 8, 8, packed);
  const qie_neon_packed pk = qie_neon_packed_view(packed, 8);
  const qie_neon_epilogue e = qie_neon_epilogue_init(&rq, &pk);
  int8_t got[8];
  vst1_s8(got, qie_neon_requant8(vld1q_s32(acc), vld1q_s32(acc + 4), &e, 0));
  for (int i = 0; i < 8; ++i) {
    const int8_t want = qie_requant_channel(&rq, acc[i], i);
    if (got[i] != want)
      fprintf(stderr, "acc %d mult %d shift %d scale %g zp %d: got %d want %d\n", acc[i], mult[i],
              shift[i], (double)scale[i], zp, got[i], want);
    CHECK_EQ_INT(got[i], want);
  }
}

static int32_t pick_acc(void) {
  static const int32_t edges[] = {0, 1, -1, 2, -2, 3, -3, INT32_MAX, INT32_MIN, INT32_MIN + 1,
                                  INT32_MAX - 1, 1 << 30, -(1 << 30), (1 << 30) + 1,
                                  -(1 << 30) - 1, 65535, -65535, 255, -255};
  const uint32_t r = next_u32();
  switch (r % 4) {
    case 0: return edges[(r >> 8) % (sizeof edges / sizeof edges[0])];
    case 1: return (int32_t)next_u32();
    case 2: return (int32_t)(next_u32() % 4097) - 2048; /* small: many exact ties */
    default: return (int32_t)((next_u32() % 64) - 32) << (next_u32() % 26);
  }
}

static int32_t pick_mult(void) {
  static const int32_t edges[] = {INT32_MAX, INT32_MIN, 1 << 30, (1 << 30) + 1, 0, 1, -1,
                                  1518500250, 2147483647 / 3};
  const uint32_t r = next_u32();
  if (r % 3 == 0) return edges[(r >> 8) % (sizeof edges / sizeof edges[0])];
  if (r % 3 == 1) return (int32_t)(next_u32() | 0x40000000u) & INT32_MAX; /* [2^30, 2^31) */
  return (int32_t)next_u32();
}

/* The fixed-point mode on every shift, with random and edge operands. */
static void test_fixed_mode(void) {
  for (int round = 0; round < 40000; ++round) {
    int32_t acc[8], mult[8], shift[8];
    float scale[8] = {0};
    for (int i = 0; i < 8; ++i) {
      acc[i] = pick_acc();
      mult[i] = pick_mult();
      shift[i] = (int32_t)(next_u32() % 62) - 31; /* -31 .. 30 */
    }
    const int32_t zp = (int32_t)(next_u32() % 256) - 128;
    int32_t lo = -128, hi = 127;
    if (round % 3 == 0) {
      lo = (int32_t)(next_u32() % 256) - 128;
      hi = lo + (int32_t)(next_u32() % (uint32_t)(128 - lo));
    }
    check8(acc, mult, shift, scale, QIE_RQ_FIXED, zp, lo, hi);
  }
}

/* Exact ties of the rounding right shift, negative and positive. */
static void test_fixed_ties(void) {
  for (int e = 1; e <= 31; ++e) {
    int32_t acc[8], mult[8], shift[8];
    float scale[8] = {0};
    for (int i = 0; i < 8; ++i) {
      const int64_t k = (int64_t)(next_u32() % 1000) - 500;
      const int64_t tie = (2 * k + 1) * ((int64_t)1 << (e - 1)); /* x.5 after the shift */
      acc[i] = tie > INT32_MAX || tie < INT32_MIN ? (i & 1 ? -(1 << (e - 1)) : 1 << (e - 1))
                                                   : (int32_t)tie;
      mult[i] = INT32_MAX; /* srdhm by ~1 keeps the tie (up to one ulp on big values) */
      shift[i] = -e;
    }
    check8(acc, mult, shift, scale, QIE_RQ_FIXED, 0, -128, 127);
    for (int i = 0; i < 8; ++i) mult[i] = 1 << 30; /* exact halving: ties in srdhm too */
    check8(acc, mult, shift, scale, QIE_RQ_FIXED, 3, -128, 127);
  }
}

static float pick_scale(void) {
  const uint32_t r = next_u32();
  switch (r % 5) {
    case 0: return 0.5f;  /* odd accumulators land on .5 */
    case 1: return 0.25f; /* .25/.75 and .5 */
    case 2: return 1e-30f;
    case 3: return 3.0e9f; /* saturates */
    default: {
      const float mant = 1.0f + (float)(next_u32() % 1000000) / 1000000.0f;
      return mant / (float)(1u << (next_u32() % 24));
    }
  }
}

static void test_float_mode(void) {
  for (int round = 0; round < 40000; ++round) {
    int32_t acc[8], mult[8] = {0}, shift[8] = {0};
    float scale[8];
    for (int i = 0; i < 8; ++i) {
      acc[i] = pick_acc();
      scale[i] = pick_scale();
    }
    const int32_t zp = (int32_t)(next_u32() % 256) - 128;
    int32_t lo = -128, hi = 127;
    if (round % 3 == 0) {
      lo = (int32_t)(next_u32() % 256) - 128;
      hi = lo + (int32_t)(next_u32() % (uint32_t)(128 - lo));
    }
    check8(acc, mult, shift, scale, QIE_RQ_FLOAT, zp, lo, hi);
  }
}

int main(void) {
  if (!qie_select_kernels("neon")) {
    printf("test_neon_requant: NOTICE this CPU has no NEON, nothing to check\n");
    return 0;
  }
  test_fixed_ties();
  test_fixed_mode();
  test_float_mode();
  return CHECK_DONE("test_neon_requant");
}

#else

int main(void) {
  printf("test_neon_requant: NOTICE no NEON in this build, nothing to check\n");
  return 0;
}

#endif
