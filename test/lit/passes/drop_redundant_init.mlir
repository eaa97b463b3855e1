// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(fuseflow-drop-redundant-init)' | %FileCheck %s

// Positive: the elementwise generic never reads its zero-filled init, so it writes the
// tensor.empty directly; the duplicate empty of the same shape is merged, the unused one erased.
// Negative (same function): the matmul accumulates into its fill, which stays.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @fills
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x4xf32>
// CHECK-NOT: tensor.empty
// CHECK: %[[G:.*]] = linalg.generic
// CHECK-SAME: outs(%[[E]] : tensor<4x4xf32>)
// CHECK: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<4x4xf32>)
// CHECK: linalg.matmul ins(%[[G]], %arg1 : tensor<4x4xf32>, tensor<4x4xf32>) outs(%[[F]] : tensor<4x4xf32>)
// CHECK-NOT: linalg.fill
// CHECK-NOT: tensor.empty
func.func @fills(%d: tensor<4x4xf32>, %w: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %0 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%d : tensor<4x4xf32>) outs(%f : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %e2 = tensor.empty() : tensor<4x4xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<4x4xf32>) -> tensor<4x4xf32>
  %1 = linalg.matmul ins(%0, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%f2 : tensor<4x4xf32>) -> tensor<4x4xf32>
  %unused = tensor.empty() : tensor<8xf32>
  return %0, %1 : tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// Negative: a reduction reads its init (the accumulator); the fill stays. Sparse inits shared
// by two kernels (as cse leaves them) are split, one tensor.empty per kernel.
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-LABEL: func.func @keep_and_split
// CHECK: %[[F:.*]] = linalg.fill
// CHECK: linalg.generic
// CHECK-SAME: outs(%[[F]] : tensor<4xf32>)
// CHECK: %[[S1:.*]] = tensor.empty() : tensor<4x4xf32, #sparse>
// CHECK: linalg.generic
// CHECK-SAME: outs(%[[S1]] : tensor<4x4xf32, #sparse>)
// CHECK: %[[S2:.*]] = tensor.empty() : tensor<4x4xf32, #sparse>
// CHECK: linalg.generic
// CHECK-SAME: outs(%[[S2]] : tensor<4x4xf32, #sparse>)
func.func @keep_and_split(%s: tensor<4x4xf32, #csr>) -> (tensor<4xf32>, tensor<4x4xf32, #csr>, tensor<4x4xf32, #csr>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %0 = linalg.generic {indexing_maps = [#map, #row], iterator_types = ["parallel", "reduction"]} ins(%s : tensor<4x4xf32, #csr>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.addf %a, %o : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %es = tensor.empty() : tensor<4x4xf32, #csr>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<4x4xf32, #csr>) outs(%es : tensor<4x4xf32, #csr>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32, #csr>
  %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%1 : tensor<4x4xf32, #csr>) outs(%es : tensor<4x4xf32, #csr>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32, #csr>
  return %0, %1, %2 : tensor<4xf32>, tensor<4x4xf32, #csr>, tensor<4x4xf32, #csr>
}
