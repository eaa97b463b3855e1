# RUN: %python %s | %FileCheck %s
# A torch CSR input becomes a CSR-encoded function argument read by the matmul.
import warnings

import torch

from fuseflow.frontend import import_model

warnings.simplefilter("ignore")


class SpMMRelu(torch.nn.Module):
    def forward(self, a, b):
        return torch.relu(a @ b)


m = import_model(SpMMRelu(), (torch.eye(8).to_sparse_csr(), torch.ones(8, 4)))
print(m)
print(m.describe())
# CHECK: [[CSR:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 64, crdWidth = 64 }>
# CHECK: func.func @main(%arg0: tensor<8x8xf32, [[CSR]]>, %arg1: tensor<8x4xf32>) -> tensor<8x4xf32>
# CHECK: linalg.matmul ins(%arg0, %arg1 : tensor<8x8xf32, [[CSR]]>, tensor<8x4xf32>)
# CHECK: arith.select
# CHECK: {{^}}func @main
# CHECK-NEXT: in  a: [8, 8] float32 csr (input)
# CHECK-NEXT: in  b: [8, 4] float32 dense (input)
# CHECK-NEXT: out result0: [8, 4] float32 dense (output)
