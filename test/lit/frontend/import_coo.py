# RUN: %python %s | %FileCheck %s
# 2-D COO and 3-D COO (batched matmul).
import warnings

import torch

from fuseflow.frontend import import_model

warnings.simplefilter("ignore")


class Scale(torch.nn.Module):
    def forward(self, a):
        return a * 2.0


class BMM(torch.nn.Module):
    def forward(self, a, b):
        return torch.bmm(a, b)


print(import_model(Scale(), (torch.eye(4).to_sparse_coo(),)))
# CHECK: [[COO:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed(nonunique), d1 : singleton(soa)), posWidth = 64, crdWidth = 64 }>
# CHECK: func.func @main(%arg0: tensor<4x4xf32, [[COO]]>) -> tensor<4x4xf32>
# CHECK: arith.mulf
a3 = torch.stack([torch.eye(4), torch.eye(4)]).to_sparse_coo()
print(import_model(BMM(), (a3, torch.ones(2, 4, 3))))
# CHECK: [[COO3:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1, d2) -> (d0 : compressed(nonunique), d1 : singleton(nonunique, soa), d2 : singleton(soa)), posWidth = 64, crdWidth = 64 }>
# CHECK: func.func @main(%arg0: tensor<2x4x4xf32, [[COO3]]>, %arg1: tensor<2x4x3xf32>)
# CHECK: linalg.batch_matmul ins(%arg0, %arg1
