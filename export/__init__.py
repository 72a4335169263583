"""Keras run -> TFLite (float32, float16, int8) with parity report, GPU-delegate check and model card."""
