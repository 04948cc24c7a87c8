/* qie-run-plan: runs plans without Node, for sanitizer builds and cross builds
 * under qemu. `--check LIST` reads a case list written by test/tools/dump-plans:
 *
 *   case NAME PLAN_FILE
 *   in FILE          (one per model input, in order)
 *   out FILE f32|raw (one per model output: expected bytes)
 *   out FILE near1 TOP1   (an int8 output judged by acceptance, not bytes: its
 *                    largest element at TOP1 and >= 99% of elements within 1)
 *   again            (optional: run again on the same inputs, state carried
 *                    over; the `out` lines after it are that invoke's outputs)
 *   limit FAMILIES THREADS (optional: run only with these families, comma-
 *                    separated, "auto" = the best this CPU has, at this count;
 *                    elsewhere the case is skipped and not counted)
 *   end
 *   notice TEXT      (printed; a list of only notices is not an error)
 *
 * and checks every output (bytes equal; float32 within 1e-5 relative) and that
 * no heap allocation happens inside qie_model_run.
 *
 * Every case runs with every kernel family this CPU has (QIE_KERNELS: just that
 * one) at 1, 2 and 4 threads (QIE_THREADS: just that count): all must give the
 * golden bytes.
 *
 * `--fuzz PLAN N SEED` flips bytes in the plan's tables (header, tensors, ops,
 * indices, quantization, names; not the weights) N times; each variant must be
 * refused by validation or run to completion, on the families in turn. Built with
 * sanitizers, this is the proof that the runtime checks every bound it takes from
 * a plan.
 *
 * `--plans BUNDLE` runs the plans of mutated models (written by
 * test/tools/fuzz-child.js dump: u32 count, then u32 size + plan bytes each) on
 * every family: each must be refused or run, and every family must do the same
 * with it (the same output bytes, or a refusal with the same status). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../include/qie.h"
#include "../kernels/dispatch.h"

static long g_allocs = 0;
static void* counting_alloc(size_t n, void* u) {
  ++g_allocs;
  return malloc(n);
}
static void counting_free(void* p, void* u) { free(p); }

static unsigned char* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char* buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = n > 0 ? (size_t)n : 0;
  return buf;
}

#define MAX_IO 16
#define MAX_OUT 64 /* outputs over all invokes of a case */
enum { CMP_RAW, CMP_F32, CMP_NEAR1 };
typedef struct {
  char name[256], plan[1024];
  char in[MAX_IO][1024], out[MAX_OUT][1024];
  int out_cmp[MAX_OUT], out_top1[MAX_OUT];
  int n_in, n_out; /* n_out: over all invokes, n_out / n_runs per invoke */
  int n_runs;
  char limit_families[128];
  int limit_threads; /* 0: every count */
} test_case;

/* share of int8 elements that must be within 1 of the golden under CMP_NEAR1 */
#define NEAR1_PERMILLE 990

static int compare(const test_case* c, int at, int k, const void* got, size_t got_bytes, const unsigned char* want,
                   size_t want_bytes) {
  if (got_bytes != want_bytes) {
    printf("  output %d: %zu bytes, golden has %zu\n", k, got_bytes, want_bytes);
    return 1;
  }
  if (c->out_cmp[at] == CMP_NEAR1) {
    const signed char* g = got;
    size_t near = 0, best = 0;
    for (size_t i = 0; i < got_bytes; ++i) {
      near += abs(g[i] - (signed char)want[i]) <= 1;
      if (g[i] > g[best]) best = i;
    }
    const int permille = got_bytes ? (int)(near * 1000 / got_bytes) : 1000;
    printf("  output %d: top-1 %zu (expected %d), %.2f%% within +-1\n", k, best, c->out_top1[at],
           got_bytes ? 100.0 * (double)near / (double)got_bytes : 100.0);
    return (int)best != c->out_top1[at] || permille < NEAR1_PERMILLE;
  }
  if (c->out_cmp[at] == CMP_RAW) {
    size_t diff = 0;
    for (size_t i = 0; i < got_bytes; ++i) diff += ((const unsigned char*)got)[i] != want[i];
    if (diff) printf("  output %d: %zu of %zu bytes differ\n", k, diff, got_bytes);
    return diff != 0;
  }
  size_t bad = 0;
  for (size_t i = 0; i < got_bytes / 4; ++i) {
    float a, b;
    memcpy(&a, (const unsigned char*)got + 4 * i, 4);
    memcpy(&b, want + 4 * i, 4);
    if (!(fabsf(a - b) <= 1e-5f * fabsf(b) + 1e-7f)) ++bad;
  }
  if (bad) printf("  output %d: %zu floats beyond 1e-5 relative\n", k, bad);
  return bad != 0;
}

static int g_threads = 1; /* QIE_THREADS: the pool size every case loads with */

/* A `limit` line's families and thread count; `best` says the family is the best
 * this CPU has, which is what "auto" selects. */
static int case_selected(const test_case* c, const char* family, int best) {
  if (!c->limit_families[0]) return 1;
  if (c->limit_threads > 0 && g_threads != c->limit_threads) return 0;
  char key[40];
  snprintf(key, sizeof key, ",%s,", family);
  return strstr(c->limit_families, key) != NULL || (best && strstr(c->limit_families, ",auto,") != NULL);
}

static int run_case(const test_case* c, const char* kernels) {
  size_t plan_size = 0;
  unsigned char* plan = read_file(c->plan, &plan_size);
  if (!plan) {
    printf("FAIL %s: cannot read %s\n", c->name, c->plan);
    return 1;
  }
  qie_model* m = NULL;
  char err[QIE_ERR_LEN];
  qie_options opts = {g_threads, kernels};
  qie_status s = qie_model_create(plan, plan_size, &opts, &m, err);
  free(plan);
  if (s != QIE_OK) {
    printf("FAIL %s: create: %s\n", c->name, err);
    return 1;
  }
  int failed = 0;
  const int runs = c->n_runs > 0 ? c->n_runs : 1, per_run = c->n_out / runs;
  if (qie_model_num_inputs(m) != c->n_in || qie_model_num_outputs(m) != per_run || per_run * runs != c->n_out) {
    printf("FAIL %s: model has %d inputs / %d outputs, case %d / %d over %d invoke(s)\n", c->name,
           qie_model_num_inputs(m), qie_model_num_outputs(m), c->n_in, c->n_out, runs);
    qie_model_destroy(m);
    return 1;
  }
  /* every invoke gets the inputs again (the arena may reuse an input's bytes once it
   * is read), as the goldens' interpreter did; recurrent state carries over */
  for (int r = 0; r < runs && !failed; ++r) {
    for (int k = 0; k < c->n_in && !failed; ++k) {
      size_t n = 0;
      unsigned char* data = read_file(c->in[k], &n);
      qie_tensor_info ti;
      qie_model_input_info(m, k, &ti);
      if (!data || n != ti.bytes) {
        printf("FAIL %s: input %d: %zu bytes, model wants %zu\n", c->name, k, n, ti.bytes);
        failed = 1;
      } else {
        memcpy(qie_model_input_data(m, k), data, n);
      }
      free(data);
    }
    if (failed) break;
    long before = g_allocs;
    s = qie_model_run(m, err);
    long during = g_allocs - before;
    if (s != QIE_OK) {
      printf("FAIL %s: run %d: %s\n", c->name, r + 1, err);
      failed = 1;
    } else if (during != 0) {
      printf("FAIL %s: %ld heap allocations during run %d\n", c->name, during, r + 1);
      failed = 1;
    }
    for (int k = 0; k < per_run && !failed; ++k) {
      const int at = r * per_run + k;
      size_t n = 0;
      unsigned char* want = read_file(c->out[at], &n);
      qie_tensor_info ti;
      qie_model_output_info(m, k, &ti);
      if (!want || compare(c, at, k, qie_model_output_data(m, k), ti.bytes, want, n)) {
        if (runs > 1) printf("  (invoke %d)\n", r + 1);
        failed = 1;
      }
      free(want);
    }
  }
  printf("%s %s [%s, %d thread%s] (arena %zu bytes%s)\n", failed ? "FAIL" : "ok  ", c->name,
         kernels ? kernels : "auto", g_threads, g_threads == 1 ? "" : "s", qie_model_arena_bytes(m),
         runs > 1 ? ", every invoke" : "");
  qie_model_destroy(m);
  return failed;
}

static const char* const g_all_families[] = {"ref", "avx2", "avx512vnni", "neon", "neondot"};

/* The families to run: QIE_KERNELS alone, or every one this CPU has. */
static int select_families(const char* kernels, const char** families) {
  int n = 0;
  if (kernels) {
    families[n++] = kernels;
  } else {
    for (int i = 0; i < 5; ++i)
      if (qie_select_kernels(g_all_families[i])) families[n++] = g_all_families[i];
  }
  return n;
}

static uint32_t fuzz_next(uint32_t* state) { /* xorshift32 */
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

static uint32_t rd32le(const unsigned char* p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int fuzz(const char* path, long rounds, uint32_t seed, const char* kernels) {
  const char* families[5];
  const int n_families = select_families(kernels, families);
  size_t size = 0;
  unsigned char* plan = read_file(path, &size);
  if (!plan || size < 80) {
    fprintf(stderr, "cannot read plan %s\n", path);
    free(plan);
    return 2;
  }
  /* the blob (weights) starts at header word 16: mutate what comes before it */
  size_t tables = rd32le(plan + 64);
  if (tables > size) tables = size;
  unsigned char* variant = malloc(size);
  long ran = 0, refused = 0;
  uint32_t state = seed ? seed : 1;
  for (long r = 0; r < rounds; ++r) {
    memcpy(variant, plan, size);
    int flips = 1 + (int)(fuzz_next(&state) % 3);
    for (int k = 0; k < flips; ++k) {
      size_t at = fuzz_next(&state) % tables;
      uint32_t how = fuzz_next(&state);
      variant[at] = (how & 1) ? (unsigned char)(variant[at] ^ (1u << ((how >> 1) % 8)))
                              : (unsigned char)(how >> 8);
    }
    qie_model* m = NULL;
    char err[QIE_ERR_LEN];
    const qie_options opts = {1, families[r % n_families]};
    if (qie_model_create(variant, size, &opts, &m, err) != QIE_OK) {
      ++refused;
      continue;
    }
    for (int i = 0; i < qie_model_num_inputs(m); ++i) {
      qie_tensor_info ti;
      qie_model_input_info(m, i, &ti);
      memset(qie_model_input_data(m, i), (int)(fuzz_next(&state) & 0xff), ti.bytes);
    }
    if (qie_model_run(m, err) == QIE_OK) ++ran;
    else ++refused;
    qie_model_destroy(m);
  }
  free(variant);
  free(plan);
  printf("fuzz %s: %ld variants, %ld ran, %ld refused (%d families in turn)\n", path, rounds, ran,
         refused, n_families);
  return 0;
}

/* One plan on one family: its status (create, then run) and a hash of its outputs. */
static qie_status run_mutant(const unsigned char* plan, size_t size, const char* family, uint32_t fill,
                             uint64_t* hash) {
  qie_model* m = NULL;
  char err[QIE_ERR_LEN];
  const qie_options opts = {1, family};
  qie_status s = qie_model_create(plan, size, &opts, &m, err);
  *hash = 0;
  if (s != QIE_OK) return s;
  for (int i = 0; i < qie_model_num_inputs(m); ++i) {
    qie_tensor_info ti;
    qie_model_input_info(m, i, &ti);
    unsigned char* in = qie_model_input_data(m, i);
    for (size_t k = 0; k < ti.bytes; ++k) in[k] = (unsigned char)(k * 37 + fill);
  }
  s = qie_model_run(m, err);
  uint64_t h = 1469598103934665603ull; /* FNV-1a over every output's bytes */
  for (int i = 0; s == QIE_OK && i < qie_model_num_outputs(m); ++i) {
    qie_tensor_info ti;
    qie_model_output_info(m, i, &ti);
    const unsigned char* out = qie_model_output_data(m, i);
    for (size_t k = 0; k < ti.bytes; ++k) h = (h ^ out[k]) * 1099511628211ull;
  }
  *hash = h;
  qie_model_destroy(m);
  return s;
}

static int run_plans(const char* path, const char* kernels) {
  size_t size = 0;
  unsigned char* bundle = read_file(path, &size);
  if (!bundle || size < 4) {
    fprintf(stderr, "cannot read plans %s\n", path);
    free(bundle);
    return 2;
  }
  const char* families[5];
  const int n_families = select_families(kernels, families);
  long ran[5] = {0}, refused[5] = {0}, disagree = 0;
  const uint32_t count = rd32le(bundle);
  size_t at = 4;
  uint32_t n = 0;
  for (; n < count && at + 4 <= size; ++n) {
    const size_t len = rd32le(bundle + at);
    if (len > size - at - 4) break;
    const unsigned char* plan = bundle + at + 4;
    at += 4 + len;
    qie_status first = QIE_OK;
    uint64_t first_hash = 0;
    for (int f = 0; f < n_families; ++f) {
      uint64_t hash;
      const qie_status s = run_mutant(plan, len, families[f], n, &hash);
      if (s == QIE_OK) ++ran[f];
      else ++refused[f];
      if (f == 0) {
        first = s;
        first_hash = hash;
      } else if (s != first || hash != first_hash) {
        printf("FAIL plan %u: %s gives %s, %s gives %s\n", n, families[0], qie_status_name(first),
               families[f], qie_status_name(s));
        ++disagree;
      }
    }
  }
  free(bundle);
  printf("mutated models %s: %u plans", path, n);
  for (int f = 0; f < n_families; ++f) printf("; %s %ld ran, %ld refused", families[f], ran[f], refused[f]);
  printf("; %ld disagreements\n", disagree);
  return n == count && disagree == 0 ? 0 : 1;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

/* Developer timing (not a test): median of `runs` warm runs on zeroed inputs;
 * with `per_op`, each op's median as well, to show where a run's time goes. */
static int time_plan(const char* path, int runs, const char* kernels, int per_op) {
  size_t size = 0;
  unsigned char* plan = read_file(path, &size);
  qie_model* m = NULL;
  char err[QIE_ERR_LEN];
  qie_options opts = {g_threads, kernels};
  if (!plan || qie_model_create(plan, size, &opts, &m, err) != QIE_OK) {
    fprintf(stderr, "cannot load %s: %s\n", path, plan ? err : "unreadable");
    free(plan);
    return 2;
  }
  free(plan);
  if (runs < 1) runs = 1;
  const int n_ops = qie_model_num_ops(m);
  double* t = malloc(sizeof(double) * (size_t)runs);
  double* op_t = per_op ? malloc(sizeof(double) * (size_t)runs * (size_t)n_ops) : NULL;
  qie_model_run(m, err);
  for (int i = 0; i < runs; ++i) {
    const double t0 = now_ms();
    if (per_op) {
      double prev = t0;
      for (int o = 0; o < n_ops; ++o) {
        qie_model_run_op(m, o, err);
        const double now = now_ms();
        op_t[(size_t)o * runs + i] = now - prev;
        prev = now;
      }
    } else {
      qie_model_run(m, err);
    }
    t[i] = now_ms() - t0;
  }
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  printf("%s: median %.3f ms, min %.3f ms over %d runs, %d threads\n", path, t[runs / 2], t[0], runs,
         g_threads);
  for (int o = 0; o < n_ops && per_op; ++o) {
    double* ot = op_t + (size_t)o * runs;
    qsort(ot, (size_t)runs, sizeof *ot, cmp_double);
    printf("  op %3d  %8.4f ms  %5.1f%%  %s\n", o, ot[runs / 2], 100.0 * ot[runs / 2] / t[runs / 2],
           qie_model_op_kernel(m, o));
  }
  for (int i = 0; i < n_ops && !per_op && getenv("QIE_SHOW_KERNELS"); ++i)
    printf("  op %d: %s\n", i, qie_model_op_kernel(m, i));
  free(op_t);
  free(t);
  qie_model_destroy(m);
  return 0;
}

int main(int argc, char** argv) {
  const char* kernels = getenv("QIE_KERNELS");
  if (getenv("QIE_THREADS")) g_threads = atoi(getenv("QIE_THREADS"));
  if (argc == 5 && strcmp(argv[1], "--fuzz") == 0)
    return fuzz(argv[2], atol(argv[3]), (uint32_t)strtoul(argv[4], NULL, 10), kernels);
  if (argc == 3 && strcmp(argv[1], "--plans") == 0) return run_plans(argv[2], kernels);
  if (argc == 4 && strcmp(argv[1], "--time") == 0) return time_plan(argv[2], atoi(argv[3]), kernels, 0);
  if (argc == 4 && strcmp(argv[1], "--profile") == 0) return time_plan(argv[2], atoi(argv[3]), kernels, 1);
  if (argc != 3 || strcmp(argv[1], "--check") != 0) {
    fprintf(stderr, "usage: qie-run-plan --check CASE_LIST | --fuzz PLAN ROUNDS SEED | --plans BUNDLE | --time PLAN RUNS | --profile PLAN RUNS\n");
    return 2;
  }
  qie_allocator counting = {counting_alloc, counting_free, NULL};
  qie_set_allocator(&counting);
  FILE* f = fopen(argv[2], "r");
  if (!f) {
    fprintf(stderr, "cannot read %s\n", argv[2]);
    return 2;
  }
  const char* families[5];
  const int n_families = select_families(kernels, families);
  int thread_counts[3] = {1, 2, 4}, n_threads = 3;
  if (getenv("QIE_THREADS")) thread_counts[0] = g_threads, n_threads = 1;
  int passed = 0, failed = 0, notices = 0;
  for (int fi = 0; fi < n_families; ++fi) {
    for (int ti = 0; ti < n_threads; ++ti) {
      g_threads = thread_counts[ti];
      rewind(f);
      char line[2200];
      test_case c;
      memset(&c, 0, sizeof c);
      while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char kind[8] = {0}, a[1100] = {0}, b[1100] = {0};
        int top1 = -1;
        int n = sscanf(line, "%7s %1099s %1099s %d", kind, a, b, &top1);
        if (n < 1) continue;
        if (!strcmp(kind, "notice")) {
          if (fi == 0 && ti == 0) printf("NOTICE:%s\n", line + 6);
          ++notices;
        } else if (!strcmp(kind, "case") && n == 3) {
          memset(&c, 0, sizeof c);
          c.n_runs = 1;
          snprintf(c.name, sizeof c.name, "%s", a);
          snprintf(c.plan, sizeof c.plan, "%s", b);
        } else if (!strcmp(kind, "in") && n >= 2 && c.n_in < MAX_IO) {
          snprintf(c.in[c.n_in++], sizeof c.in[0], "%s", a);
        } else if (!strcmp(kind, "out") && n >= 3 && c.n_out < MAX_OUT) {
          c.out_cmp[c.n_out] = !strcmp(b, "f32") ? CMP_F32 : !strcmp(b, "near1") ? CMP_NEAR1 : CMP_RAW;
          c.out_top1[c.n_out] = top1;
          snprintf(c.out[c.n_out++], sizeof c.out[0], "%s", a);
        } else if (!strcmp(kind, "again")) {
          ++c.n_runs;
        } else if (!strcmp(kind, "limit") && n == 3) {
          snprintf(c.limit_families, sizeof c.limit_families, ",%s,", a);
          c.limit_threads = atoi(b);
        } else if (!strcmp(kind, "end")) {
          if (!case_selected(&c, families[fi], !kernels && fi == n_families - 1)) continue;
          if (run_case(&c, families[fi])) ++failed;
          else ++passed;
        }
      }
    }
  }
  fclose(f);
  printf("qie-run-plan: %d passed, %d failed\n", passed, failed);
  /* an empty list is a broken list, unless it says why it is empty */
  return failed || (passed == 0 && notices == 0) ? 1 : 0;
}
