/* The allocation hook: every heap byte the runtime takes goes through here. */
#include <stdlib.h>

#include "runtime.h"

static qie_allocator g_allocator = {0};

void qie_set_allocator(const qie_allocator* allocator) {
  if (allocator) g_allocator = *allocator;
  else g_allocator = (qie_allocator){0};
}

void* qie_alloc(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (g_allocator.alloc) return g_allocator.alloc(bytes, g_allocator.user);
  return malloc(bytes);
}

void qie_free(void* ptr) {
  if (!ptr) return;
  if (g_allocator.release) g_allocator.release(ptr, g_allocator.user);
  else free(ptr);
}
