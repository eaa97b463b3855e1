# RUN: %python %s | %FileCheck %s
# Sparse parameters named in sparse={...} are lifted to trailing arguments (the model is not
# rewritten); the other parameters stay constants.
import warnings

import torch

from fuseflow.frontend import import_model

warnings.simplefilter("ignore")


class Enc(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = torch.nn.Linear(8, 4)

    def forward(self, x):
        return torch.relu(self.enc(x))


m = import_model(Enc(), (torch.ones(2, 8),), sparse={"enc.weight": "csr"})
print(m)
print(m.describe())
# CHECK: func.func @main(%arg0: tensor<2x8xf32>, %arg1: tensor<4x8xf32, [[CSR:#sparse[0-9]*]]>) -> tensor<2x4xf32>
# CHECK: arith.constant dense_resource
# CHECK: linalg.transpose ins(%arg1 : tensor<4x8xf32, [[CSR]]>)
# CHECK: in  x: [2, 8] float32 dense (input)
# CHECK-NEXT: in  enc.weight: [4, 8] float32 csr (weight)
