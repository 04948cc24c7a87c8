// Tests build their TFLite models with the project's writer.
export * from '../../src/model/export/tflite-writer';
