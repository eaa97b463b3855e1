# RUN: %python %s 2>&1 | %FileCheck %s
# User errors are FuseflowErrors with readable messages: an unsupported op names the op and
# the user's source line; a format that does not fit the tensor is rejected.
import warnings

import torch

from fuseflow.errors import FuseflowError
from fuseflow.frontend import import_model

warnings.simplefilter("ignore")


class FFT(torch.nn.Module):
    def forward(self, a, x):
        return torch.fft.fft(a @ x).real  # the unsupported op


def attempt(model, args, sparse):
    try:
        import_model(model, args, sparse=sparse)
    except FuseflowError as e:
        print(f"{type(e).__name__}: {e}")


attempt(FFT(), (torch.eye(4), torch.ones(4, 4)), {"a": "csr"})
# CHECK: FrontendError: unsupported operation 'aten.fft_fft' (torch-mlir cannot lower it to linalg)
# CHECK-NEXT: at {{.*}}import_errors.py:16
attempt(FFT(), (torch.eye(4), torch.ones(4, 4)), {"a": "bsr3"})
# CHECK: FormatError: format 'bsr(3,3)': block size 3 does not divide dimension 0 (size 4) of input 'a' with shape [4, 4]
attempt(FFT(), (torch.eye(4), torch.ones(4, 4)), {"a": "d0:dense"})
# CHECK: FormatError: format 'd0:dense' is for rank-1 tensors but input 'a' has shape [4, 4] (rank 2)
attempt(FFT(), (torch.eye(4), torch.ones(4, 4)), {"w": "csr"})
# CHECK: FormatError: sparse={...} names ['w'] which are neither forward() arguments (a, x) nor parameters/buffers of the model
attempt(FFT(), (torch.eye(4), torch.ones(4, 4)), {"a": "cssr"})
# CHECK: FormatError: unknown format 'cssr'; known formats: dense, csr, csc
