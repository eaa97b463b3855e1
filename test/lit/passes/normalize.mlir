// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(fuseflow-normalize)' | %FileCheck %s
// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(fuseflow-normalize{keep-named=true})' | %FileCheck %s --check-prefix=NAMED
// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(fuseflow-normalize,fuseflow-normalize)' | %FileCheck %s

// A GCN layer as torch-mlir imports it: relu(A @ (X @ W^T)) + S * 2 with A, S CSR.
// After normalization: all generics, the transpose folded into the matmul's indexing map,
// kinds tagged, elementwise init fills gone, S * 2 sparse.
#map = affine_map<(d0, d1) -> (d0, d1)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-LABEL: func.func @gcn
// CHECK-NOT: linalg.transpose
// CHECK-NOT: linalg.matmul
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg1, %arg2 : tensor<8x4xf32>, tensor<3x4xf32>)
// CHECK-SAME: fuseflow.kind = "matmul"
// CHECK: ins(%arg0, %{{.*}} : tensor<8x8xf32, #sparse>, tensor<8x3xf32>)
// CHECK-SAME: fuseflow.kind = "matmul"
// CHECK: fuseflow.kind = "relu"
// CHECK: outs(%{{.*}} : tensor<8x8xf32, #sparse>)
// CHECK-SAME: fuseflow.kind = "scale"
// NAMED-LABEL: func.func @gcn
// NAMED: linalg.transpose ins(%arg2 : tensor<3x4xf32>) outs(%{{.*}} : tensor<4x3xf32>) permutation = [1, 0]  {fuseflow.kind = "transpose"}
// NAMED: linalg.matmul {fuseflow.kind = "matmul"}
func.func @gcn(%a: tensor<8x8xf32, #csr>, %x: tensor<8x4xf32>, %w: tensor<3x4xf32>, %s: tensor<8x8xf32, #csr>) -> (tensor<8x3xf32>, tensor<8x8xf32>) {
  %z = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %et = tensor.empty() : tensor<4x3xf32>
  %wt = linalg.transpose ins(%w : tensor<3x4xf32>) outs(%et : tensor<4x3xf32>) permutation = [1, 0]
  %e = tensor.empty() : tensor<8x3xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8x3xf32>) -> tensor<8x3xf32>
  %xw = linalg.matmul ins(%x, %wt : tensor<8x4xf32>, tensor<4x3xf32>) outs(%f : tensor<8x3xf32>) -> tensor<8x3xf32>
  %axw = linalg.matmul ins(%a, %xw : tensor<8x8xf32, #csr>, tensor<8x3xf32>) outs(%f : tensor<8x3xf32>) -> tensor<8x3xf32>
  %r = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%axw : tensor<8x3xf32>) outs(%f : tensor<8x3xf32>) {
  ^bb0(%in: f32, %o: f32):
    %c = arith.cmpf ugt, %in, %z : f32
    %v = arith.select %c, %in, %z : f32
    linalg.yield %v : f32
  } -> tensor<8x3xf32>
  %e8 = tensor.empty() : tensor<8x8xf32>
  %s2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<8x8xf32, #csr>) outs(%e8 : tensor<8x8xf32>) {
  ^bb0(%in: f32, %o: f32):
    %v = arith.mulf %in, %two : f32
    linalg.yield %v : f32
  } -> tensor<8x8xf32>
  return %r, %s2 : tensor<8x3xf32>, tensor<8x8xf32>
}

// -----

// Negative: a dense model gains no sparse type and no pattern; only kinds are added.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @dense
// CHECK-NOT: #sparse
// CHECK-NOT: fuseflow.pattern
// CHECK: fuseflow.kind = "exp"
// CHECK-NOT: fuseflow.pattern
// NAMED-LABEL: func.func @dense
func.func @dense(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %e = tensor.empty() : tensor<4x4xf32>
  %0 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}
