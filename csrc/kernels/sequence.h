/* Stateful sequence kernels (SVDF, LSTM): plain parameter structs, no tensors.
 * State buffers are read and updated in place. Arithmetic follows TFLite Micro's
 * reference kernels bit for bit. */
#ifndef QIE_KERNELS_SEQUENCE_H
#define QIE_KERNELS_SEQUENCE_H

#include <stdint.h>

/* ---- SVDF ----
 * state is [batch, num_filters, memory_size]; each call drops the oldest column,
 * writes the feature projection of the input into the newest one, then reduces
 * the time dimension against weights_time. num_units = num_filters / rank. */
typedef struct {
  int batch, input_size, num_filters, memory_size, rank;
  int32_t input_zp, state_zp, output_zp;
  int32_t mult1; /* input * weights_feature -> state */
  int shift1;
  int32_t mult2; /* state * weights_time -> output */
  int shift2;
} qie_svdf_q_params;

/* int8 input/feature weights/output, int16 time weights and state, int32 bias
 * (may be NULL). scratch: batch*num_filters int32; scratch_out: batch*num_units. */
void qie_svdf_s8_s16_ref(const qie_svdf_q_params* p, const int8_t* input,
                         const int8_t* weights_feature, const int16_t* weights_time,
                         const int32_t* bias, int16_t* state, int32_t* scratch,
                         int32_t* scratch_out, int8_t* output);

typedef struct {
  int batch, input_size, num_filters, memory_size, rank;
  int activation; /* TFLite fused activation number, 0..6 (6: sigmoid) */
} qie_svdf_f_params;

/* bias may be NULL; scratch: batch*num_filters floats. */
void qie_svdf_f32_ref(const qie_svdf_f_params* p, const float* input,
                      const float* weights_feature, const float* weights_time,
                      const float* bias, float* state, float* scratch, float* output);

/* ---- LSTM (no CIFG, no peephole, no projection, no layer norm) ----
 * Gate order everywhere: input, forget, cell, output (TFLite's input order). */
enum { QIE_LSTM_GATE_I = 0, QIE_LSTM_GATE_F = 1, QIE_LSTM_GATE_C = 2, QIE_LSTM_GATE_O = 3 };

typedef struct {
  int batch, time_steps, input_size, state_size;
  int time_major;      /* input [time, batch, input] instead of [batch, time, input] */
  int cell_activation; /* 4: tanh, 6: sigmoid */
  float cell_clip;     /* <= 0: no clipping */
} qie_lstm_f32_params;

typedef struct {
  const float* w_in[4];  /* [state, input] */
  const float* w_rec[4]; /* [state, state] */
  const float* bias[4];  /* [state] */
} qie_lstm_f32_weights;

/* hidden, cell: [batch, state] (updated). output: like input with state columns.
 * scratch: 4 * batch * state floats. */
void qie_lstm_f32_ref(const qie_lstm_f32_params* p, const qie_lstm_f32_weights* w,
                      const float* input, float* hidden, float* cell, float* output,
                      float* scratch);

typedef struct {
  int batch, time_steps, input_size, state_size;
  int time_major, cell_activation;
  int32_t input_zp, hidden_zp;
  int32_t w_in_zp[4], w_rec_zp[4];
  int32_t in_mult[4], rec_mult[4]; /* FC to the gate's Q3.12 int16 pre-activation */
  int in_shift[4], rec_shift[4];
  int32_t fc_mult, ic_mult, h_mult; /* forget*cell, input*cellgate, tanh(cell)*output */
  int fc_shift, ic_shift, h_shift;
  int cell_scale_power; /* cell state scale = 2^cell_scale_power */
  int has_cell_clip;
  int16_t cell_clip_q;
} qie_lstm_q_params;

typedef struct {
  const int8_t* w_in[4];
  const int8_t* w_rec[4];
  const int32_t* bias[4];
} qie_lstm_q_weights;

/* int8 input/hidden/output, int8 weights, int16 cell, int32 bias.
 * scratch: 4 * batch * state int16. */
void qie_lstm_s8_s16_ref(const qie_lstm_q_params* p, const qie_lstm_q_weights* w,
                         const int8_t* input, int8_t* hidden, int16_t* cell, int8_t* output,
                         int16_t* scratch);

/* TFLite's 16-bit logistic / tanh on int16 (exposed for tests). For logistic the
 * input is Q3.12 (multiplier 3, no shift); tanh takes TFLite's multiplier/shift pair. */
int16_t qie_lstm_sigmoid_s16(int16_t x);
int16_t qie_lstm_tanh_s16(int16_t x, int32_t multiplier, int right_shift);
float qie_lstm_sigmoid_f32(float x);

#endif
