/* qs8 fully connected on the GEMM micro-kernels of both Arm families. A work item
 * is up to four batch rows against 32 units (four blocks of eight), so even a
 * single-row layer splits across threads. Rows are read in place. */
#include "neon_common.h"

#if defined(QIE_NEON_ENABLED)

#define FC_BLOCKS_PER_ITEM 4

static int32_t fc_blocks(const qie_qs8_fc_params* p) {
  return qie_neon_round_up(p->units, QIE_NEON_NR) / QIE_NEON_NR;
}
static int32_t fc_chunks(const qie_qs8_fc_params* p) {
  return (fc_blocks(p) + FC_BLOCKS_PER_ITEM - 1) / FC_BLOCKS_PER_ITEM;
}
static int32_t fc_tiles(const qie_qs8_fc_params* p) {
  return (p->batches + QIE_NEON_MR - 1) / QIE_NEON_MR;
}

static bool fc_supports_common(const qie_qs8_fc_params* p) {
  if (p->depth > (1 << 24) || p->units > (1 << 24)) return false;
  if (!qie_neon_packed_fits(p->units, p->depth)) return false;
  if ((int64_t)fc_tiles(p) * fc_chunks(p) > INT32_MAX) return false;
  return qie_neon_requant_ok(&p->rq, p->units);
}

static int32_t fc_items(const qie_qs8_fc_params* p) { return fc_tiles(p) * fc_chunks(p); }

static void fc_run(const qie_qs8_fc_params* p, const qie_kernel_args* args, int32_t begin,
                   int32_t end, qie_neon_gemm_fn gemm) {
  const int8_t* input = (const int8_t*)args->input;
  int8_t* output = (int8_t*)args->output;
  const int32_t chunks = fc_chunks(p), blocks = fc_blocks(p);
  for (int32_t item = begin; item < end; ++item) {
    const int32_t tile = item / chunks, chunk = item - tile * chunks;
    const int32_t b0 = tile * QIE_NEON_MR;
    const int32_t mr = p->batches - b0 < QIE_NEON_MR ? p->batches - b0 : QIE_NEON_MR;
    const int8_t* a[QIE_NEON_MR];
    int8_t* out[QIE_NEON_MR];
    for (int32_t r = 0; r < QIE_NEON_MR; ++r) {
      const int32_t b = b0 + (r < mr ? r : 0);
      a[r] = input + (size_t)b * p->depth;
      out[r] = output + (size_t)b * p->units;
    }
    const int32_t nb0 = chunk * FC_BLOCKS_PER_ITEM;
    const int32_t nb1 = nb0 + FC_BLOCKS_PER_ITEM < blocks ? nb0 + FC_BLOCKS_PER_ITEM : blocks;
    gemm(mr, p->depth, a, args->packed, p->units, nb0, nb1, &p->rq, out);
  }
}

static bool mlal_supports(const qie_qs8_fc_params* p) { return fc_supports_common(p); }
static size_t mlal_packed_bytes(const qie_qs8_fc_params* p) {
  return qie_neon_mlal_packed_bytes(p->units, p->depth);
}
static void mlal_pack(const qie_qs8_fc_params* p, const void* w, const void* bias, void* packed) {
  qie_neon_mlal_pack(&p->rq, p->units, p->depth, (const int8_t*)w, (const int32_t*)bias, packed);
}
static void mlal_run(const qie_qs8_fc_params* p, const qie_kernel_args* a, int32_t begin,
                     int32_t end, void* scratch) {
  (void)scratch;
  fc_run(p, a, begin, end, qie_neon_mlal_gemm);
}

const qie_qs8_fc_kernel qie_qs8_fc__neon = {"qs8_fc_" QIE_NEON_MLAL_TILE "__neon", mlal_supports,
                                            mlal_packed_bytes, mlal_pack, NULL, fc_items,
                                            mlal_run};

/* 16-deep steps: shallower layers go to the by-lane kernel (see conv_qs8_gemm.c) */
static bool c8_supports(const qie_qs8_fc_params* p) {
  return fc_supports_common(p) && p->depth >= 16;
}
static size_t c8_packed_bytes(const qie_qs8_fc_params* p) {
  return qie_neon_c8_packed_bytes(p->units, p->depth);
}
static void c8_pack(const qie_qs8_fc_params* p, const void* w, const void* bias, void* packed) {
  qie_neon_c8_pack(&p->rq, p->units, p->depth, (const int8_t*)w, (const int32_t*)bias, packed);
}
static void c8_run(const qie_qs8_fc_params* p, const qie_kernel_args* a, int32_t begin,
                   int32_t end, void* scratch) {
  (void)scratch;
  fc_run(p, a, begin, end, qie_neon_c8_gemm);
}

const qie_qs8_fc_kernel qie_qs8_fc_c8__neon = {"qs8_fc_" QIE_NEON_C8_TILE "__neon", c8_supports,
                                               c8_packed_bytes, c8_pack, NULL, fc_items, c8_run};

#if defined(__aarch64__)
static bool dot_supports(const qie_qs8_fc_params* p) {
  return fc_supports_common(p);
}
static size_t dot_packed_bytes(const qie_qs8_fc_params* p) {
  return qie_neondot_packed_bytes(p->units, p->depth);
}
static void dot_pack(const qie_qs8_fc_params* p, const void* w, const void* bias, void* packed) {
  qie_neondot_pack(&p->rq, p->units, p->depth, (const int8_t*)w, (const int32_t*)bias, packed);
}
static void dot_run(const qie_qs8_fc_params* p, const qie_kernel_args* a, int32_t begin,
                    int32_t end, void* scratch) {
  (void)scratch;
  fc_run(p, a, begin, end, qie_neondot_gemm);
}

const qie_qs8_fc_kernel qie_qs8_fc__neondot = {"qs8_fc_" QIE_NEONDOT_TILE "__neondot",
                                               dot_supports, dot_packed_bytes, dot_pack, NULL,
                                               fc_items, dot_run};
#endif

#endif
