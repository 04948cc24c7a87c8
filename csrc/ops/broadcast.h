/* Numpy-style shape broadcasting for ops: the output shape of two shapes, and
 * the stride plan (qie_bcast) binary kernels iterate with. */
#ifndef QIE_OPS_BROADCAST_H
#define QIE_OPS_BROADCAST_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernels/elementwise.h"

/* Right-aligns the shapes and combines each dim pair (equal, or one of them 1).
 * Writes max(a_rank, b_rank) dims to out_dims. Returns false if the shapes do
 * not broadcast, a rank is outside [0, QIE_BCAST_RANK] or a dim is negative. */
bool qie_broadcast_shape(const int32_t* a_dims, int a_rank, const int32_t* b_dims, int b_rank,
                         int32_t* out_dims, int* out_rank);

/* Builds the iteration plan over out for inputs a and b (shapes must broadcast
 * to exactly out; check with qie_broadcast_shape first). Adjacent dims are merged
 * where both inputs are contiguous (or both broadcast) across them, so same-shape
 * inputs become one row. Returns false on invalid shapes. */
bool qie_broadcast_plan(const int32_t* a_dims, int a_rank, const int32_t* b_dims, int b_rank,
                        const int32_t* out_dims, int out_rank, qie_bcast* plan);

#endif
