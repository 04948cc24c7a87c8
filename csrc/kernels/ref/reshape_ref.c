/* Reshape moves no data between positions: the bytes are copied as they are. */
#include <string.h>

#include "../shape_ops.h"

void qie_copy_bytes_ref(void* dst, const void* src, size_t bytes) {
  /* the planner may give input and output the same buffer */
  if (dst != src && bytes) memmove(dst, src, bytes);
}
