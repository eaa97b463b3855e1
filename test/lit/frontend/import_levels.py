# RUN: %python %s | %FileCheck %s
# Formats without a torch layout (DCSR, explicit levels) named in sparse={...}; a sparse
# argument used by a non-linalg op (reshape) is read through sparse_tensor.convert.
import warnings

import torch

from fuseflow.frontend import import_model

warnings.simplefilter("ignore")


class MulT(torch.nn.Module):
    def forward(self, a, b):
        return a * b


class Flat(torch.nn.Module):
    def forward(self, a):
        return a.reshape(16) * 3.0


x = torch.ones(4, 4)
print(import_model(MulT(), (x, x), sparse={"a": "dcsr", "b": "d1:compressed,d0:dense"}))
# CHECK-DAG: [[DCSR:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed, d1 : compressed), posWidth = 64, crdWidth = 64 }>
# CHECK-DAG: [[LV:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : compressed, d0 : dense), posWidth = 64, crdWidth = 64 }>
# CHECK: func.func @main(%arg0: tensor<4x4xf32, [[DCSR]]>, %arg1: tensor<4x4xf32, [[LV]]>)
print(import_model(Flat(), (x,), sparse={"a": "csr"}))
# CHECK: func.func @main(%arg0: tensor<4x4xf32, [[CSR:#sparse[0-9]*]]>) -> tensor<16xf32>
# CHECK: %[[D:.+]] = sparse_tensor.convert %arg0 : tensor<4x4xf32, [[CSR]]> to tensor<4x4xf32>
# CHECK: tensor.collapse_shape %[[D]]
