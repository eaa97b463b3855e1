# RUN: %python %s | %FileCheck %s
# The GPT-3 + BigBird decoder block through import and fuseflow-normalize: two layernorms, a
# GELU, and the masked softmax rewritten over the BSR mask's stored entries, whose 3-D result
# (heads x seq x seq) keeps the BSR levels under a dense head level and feeds P @ V sparse.
import re
import warnings

from fuseflow.frontend import import_model
from fuseflow.models import GPTBigBirdBlock
from fuseflow.passes import run_pipeline

warnings.simplefilter("ignore")

model = GPTBigBirdBlock(d_model=16, heads=2, ffn=32)
x, mask = model.example_inputs(seq=16, block=4)
m = import_model(model, (x, mask), sparse={"mask": "bsr4"})
run_pipeline(m, "builtin.module(fuseflow-normalize)")
text = str(m)
groups = sorted(set(re.findall(r'fuseflow.group = (\d+) : i64, fuseflow.kind = "\w+", fuseflow.pattern = "(\w+)"', text)))
for gid, pattern in groups:
    print("group", gid, pattern)
print("kinds", " ".join(sorted(set(re.findall(r'fuseflow.kind = "(\w+)"', text)))))
for line in text.splitlines():
    if "#sparse_tensor.encoding" in line or "role = \"div\"" in line:
        print(line.strip())
# CHECK: group 0 layernorm
# CHECK-NEXT: group 1 masked_softmax
# CHECK-NEXT: group 2 layernorm
# CHECK: kinds {{.*}}gelu{{.*}}sample
# CHECK: [[BSR:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 4 : dense, d1 floordiv 4 : compressed, d0 mod 4 : dense, d1 mod 4 : dense), posWidth = 64, crdWidth = 64 }>
# CHECK: [[HBSR:#sparse[0-9]*]] = #sparse_tensor.encoding<{ map = (d0, d1, d2) -> (d0 : dense, d1 floordiv 4 : dense, d2 floordiv 4 : compressed, d1 mod 4 : dense, d2 mod 4 : dense), posWidth = 64, crdWidth = 64 }>
# CHECK: outs(%{{.*}} : tensor<2x16x16xf32, [[HBSR]]>) attrs = {fuseflow.group = 1 : i64, fuseflow.kind = "div", fuseflow.pattern = "masked_softmax", fuseflow.role = "div"}
