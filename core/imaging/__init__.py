"""Imaging: pixels, the image encoder, embeddings and Grad-CAM."""
