# RUN: %python %s | %FileCheck %s
# CSC: level order (d1, d0); mv (which torch cannot trace on sparse tensors) imports densely
# and reads the CSC argument.
import warnings

import torch

from fuseflow.frontend import import_model

warnings.simplefilter("ignore")


class MV(torch.nn.Module):
    def forward(self, a, x):
        return torch.mv(a, x)


m = import_model(MV(), (torch.eye(6).to_sparse_csc(), torch.ones(6)))
print(m)
# CHECK: [[CSC:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed), posWidth = 64, crdWidth = 64 }>
# CHECK: func.func @main(%arg0: tensor<6x6xf32, [[CSC]]>, %arg1: tensor<6xf32>) -> tensor<6xf32>
# CHECK: linalg.generic
# CHECK-SAME: ins(%arg0, {{.*}} : tensor<6x6xf32, [[CSC]]>
