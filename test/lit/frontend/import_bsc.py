# RUN: %python %s | %FileCheck %s
# BSC: block columns outer, blocks stored column-major.
import warnings

import torch

from fuseflow.frontend import import_model

warnings.simplefilter("ignore")


class MM(torch.nn.Module):
    def forward(self, a, x):
        return a @ x


print(import_model(MM(), (torch.ones(4, 6).to_sparse_bsc((2, 3)), torch.ones(6, 2))))
# CHECK: [[BSC:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 floordiv 3 : dense, d0 floordiv 2 : compressed, d1 mod 3 : dense, d0 mod 2 : dense), posWidth = 64, crdWidth = 64 }>
# CHECK: func.func @main(%arg0: tensor<4x6xf32, [[BSC]]>, %arg1: tensor<6x2xf32>) -> tensor<4x2xf32>
