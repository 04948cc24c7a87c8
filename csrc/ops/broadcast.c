#include "broadcast.h"

#include <stddef.h>
#include <stdint.h>

/* dim i counted from the right, 1 beyond the rank */
static int32_t dim_from_right(const int32_t* dims, int rank, int i) {
  return i < rank ? dims[rank - 1 - i] : 1;
}

bool qie_broadcast_shape(const int32_t* a_dims, int a_rank, const int32_t* b_dims, int b_rank,
                         int32_t* out_dims, int* out_rank) {
  if (a_rank < 0 || b_rank < 0 || a_rank > QIE_BCAST_RANK || b_rank > QIE_BCAST_RANK) return false;
  const int rank = a_rank > b_rank ? a_rank : b_rank;
  for (int i = 0; i < rank; ++i) {
    const int32_t da = dim_from_right(a_dims, a_rank, i), db = dim_from_right(b_dims, b_rank, i);
    if (da < 0 || db < 0) return false;
    int32_t d;
    if (da == db || db == 1) d = da;
    else if (da == 1) d = db;
    else return false;
    out_dims[rank - 1 - i] = d;
  }
  *out_rank = rank;
  return true;
}

/* Contiguous element strides of a shape left-padded to QIE_BCAST_RANK, with 0
 * where the dim is 1 (broadcast or trivially so). False on size_t overflow. */
static bool padded_strides(const int32_t* dims, int rank, size_t* strides) {
  size_t step = 1;
  for (int i = 0; i < QIE_BCAST_RANK; ++i) {
    const int k = QIE_BCAST_RANK - 1 - i;
    const int32_t d = dim_from_right(dims, rank, i);
    strides[k] = d == 1 ? 0 : step;
    if (d > 0 && step > SIZE_MAX / (size_t)d) return false;
    step *= (size_t)d;
  }
  return true;
}

bool qie_broadcast_plan(const int32_t* a_dims, int a_rank, const int32_t* b_dims, int b_rank,
                        const int32_t* out_dims, int out_rank, qie_bcast* plan) {
  int32_t want[QIE_BCAST_RANK];
  int want_rank = 0;
  if (out_rank < 0 || out_rank > QIE_BCAST_RANK) return false;
  if (!qie_broadcast_shape(a_dims, a_rank, b_dims, b_rank, want, &want_rank)) return false;
  if (want_rank != out_rank) return false;
  for (int i = 0; i < out_rank; ++i)
    if (want[i] != out_dims[i]) return false;

  size_t sa[QIE_BCAST_RANK], sb[QIE_BCAST_RANK], so[QIE_BCAST_RANK];
  if (!padded_strides(a_dims, a_rank, sa) || !padded_strides(b_dims, b_rank, sb) ||
      !padded_strides(out_dims, out_rank, so))
    return false;

  size_t count = 1;
  for (int i = 0; i < out_rank; ++i) count *= (size_t)out_dims[i]; /* fits: checked above */

  /* Drop extent-1 dims, then merge each dim into the group inside it when both
   * inputs step across the boundary as if the two were one dim. */
  size_t gd[QIE_BCAST_RANK], ga[QIE_BCAST_RANK], gb[QIE_BCAST_RANK];
  int groups = 0;
  for (int i = 0; i < QIE_BCAST_RANK; ++i) {
    const int k = QIE_BCAST_RANK - 1 - i;
    const size_t d = (size_t)dim_from_right(out_dims, out_rank, i);
    if (d == 1) continue;
    if (groups > 0 && sa[k] == ga[groups - 1] * gd[groups - 1] &&
        sb[k] == gb[groups - 1] * gd[groups - 1]) {
      gd[groups - 1] *= d;
      continue;
    }
    gd[groups] = d;
    ga[groups] = sa[k];
    gb[groups] = sb[k];
    ++groups;
  }
  for (int k = 0; k < QIE_BCAST_RANK; ++k) {
    plan->dims[k] = 1;
    plan->sa[k] = 0;
    plan->sb[k] = 0;
  }
  for (int g = 0; g < groups; ++g) {
    const int k = QIE_BCAST_RANK - 1 - g;
    plan->dims[k] = gd[g];
    plan->sa[k] = ga[g];
    plan->sb[k] = gb[g];
  }
  plan->count = count;
  return true;
}
