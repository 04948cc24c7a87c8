/* Transpose as a strided gather: output dim i walks input dim perm[i]. */
#include "../shape_ops.h"

void qie_transpose_ref(const qie_transpose_params* p, const void* in, void* out) {
  int64_t in_stride[QIE_SHAPE_MAX_RANK];
  int64_t s = 1;
  for (int d = p->rank - 1; d >= 0; --d) {
    in_stride[d] = s;
    s *= p->in_dims[d];
  }
  qie_gather_params g;
  g.rank = p->rank;
  g.start = 0;
  g.elem_size = p->elem_size;
  for (int i = 0; i < p->rank; ++i) {
    g.count[i] = p->in_dims[p->perm[i]];
    g.step[i] = in_stride[p->perm[i]];
  }
  qie_strided_gather_ref(&g, in, out);
}
