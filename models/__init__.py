"""The theme classifier: encoder, multi-label head, label readers, registry and training."""
