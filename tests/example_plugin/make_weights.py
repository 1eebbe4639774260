"""Writes weights/tiny-nearest.safetensors: the conv copies each pixel into its r×r block (nearest)."""
import torch

from zoo.plugin import save_safetensors

scale = 2
w = torch.zeros(3 * scale * scale, 3, 3, 3)
for c in range(3):
    for k in range(scale * scale):
        w[c * scale * scale + k, c, 1, 1] = 1.0
digest = save_safetensors("zoo_example/weights/tiny-nearest.safetensors",
                          {"conv.weight": w, "conv.bias": torch.zeros(3 * scale * scale)},
                          {"architecture": "example-tiny"})
print(digest)
