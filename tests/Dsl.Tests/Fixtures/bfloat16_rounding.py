"""Prints the bfloat16 bits PyTorch rounds some float32 values to (torch.Tensor.bfloat16): the table in
tests/Dsl.Tests/Runtime/HalfPrecisionTests.cs (BFloat16RoundsAsPyTorch). Run with Debian's python3-torch 1.13."""
import torch

values = [1.0, 1.00390625, 1.005859375, 1.01171875, -2.5e-40, 3.4028234e38, -3.39e38, float('inf'), float('-inf'), 1e-45,
          0.1, -0.1, 65504.0, 3.14159265, -0.0, 1.17549435e-38, 3.3895314e38, 3.3961775e38]
x = torch.tensor(values, dtype=torch.float32)
bits = x.bfloat16().view(torch.int16).tolist()
for v, b in zip(x.view(torch.int32).tolist(), bits):
    print(f"        (0x{v & 0xFFFFFFFF:08X}, 0x{b & 0xFFFF:04X}),")
