# RUN: %python %s | %FileCheck %s
# BSR from a torch BSR tensor, and from a dense tensor named with the format language.
import warnings

import torch

from fuseflow.frontend import import_model

warnings.simplefilter("ignore")


class RowSum(torch.nn.Module):
    def forward(self, a, x):
        return a @ x + a.sum(1).unsqueeze(1)


a = torch.ones(8, 8)
print(import_model(RowSum(), (a.to_sparse_bsr((2, 4)), torch.ones(8, 3))))
# CHECK: [[B24:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 4 : compressed, d0 mod 2 : dense, d1 mod 4 : dense), posWidth = 64, crdWidth = 64 }>
# CHECK: func.func @main(%arg0: tensor<8x8xf32, [[B24]]>, %arg1: tensor<8x3xf32>)
print(import_model(RowSum(), (a, torch.ones(8, 3)), sparse={"a": "bsr4"}))
# CHECK: [[B4:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 4 : dense, d1 floordiv 4 : compressed, d0 mod 4 : dense, d1 mod 4 : dense), posWidth = 64, crdWidth = 64 }>
# CHECK: func.func @main(%arg0: tensor<8x8xf32, [[B4]]>, %arg1: tensor<8x3xf32>)
