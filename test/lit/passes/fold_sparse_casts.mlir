// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(fuseflow-fold-sparse-casts)' | %FileCheck %s

// Positive: torch-mlir's relu(S) on CSR -- dense generic + cast to #sparse.
#map = affine_map<(d0, d1) -> (d0, d1)>
#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-LABEL: func.func @relu
// CHECK: %[[E:.*]] = tensor.empty() : tensor<8x8xf32, #sparse>
// CHECK: %[[G:.*]] = linalg.generic
// CHECK-SAME: outs(%[[E]] : tensor<8x8xf32, #sparse>)
// CHECK: -> tensor<8x8xf32, #sparse>
// CHECK-NOT: tensor.cast
// CHECK: return %[[G]] : tensor<8x8xf32, #sparse>
func.func @relu(%arg0: tensor<8x8xf32, #sparse>) -> tensor<8x8xf32, #sparse> {
  %cst = arith.constant 0.000000e+00 : f32
  %0 = tensor.empty() : tensor<8x8xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<8x8xf32, #sparse>) outs(%0 : tensor<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %2 = arith.cmpf ugt, %in, %cst : f32
    %3 = arith.select %2, %in, %cst : f32
    linalg.yield %3 : f32
  } -> tensor<8x8xf32>
  %cast = tensor.cast %1 : tensor<8x8xf32> to tensor<8x8xf32, #sparse>
  return %cast : tensor<8x8xf32, #sparse>
}

// -----

// Negative: the generic accumulates into its init, so the init's (dense) contents matter.
#map = affine_map<(d0, d1) -> (d0, d1)>
#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-LABEL: func.func @accumulates
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<8x8xf32>)
// CHECK: tensor.cast %{{.*}} : tensor<8x8xf32> to tensor<8x8xf32, #sparse>
func.func @accumulates(%arg0: tensor<8x8xf32, #sparse>, %init: tensor<8x8xf32>) -> tensor<8x8xf32, #sparse> {
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<8x8xf32, #sparse>) outs(%init : tensor<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %2 = arith.addf %in, %out : f32
    linalg.yield %2 : f32
  } -> tensor<8x8xf32>
  %cast = tensor.cast %1 : tensor<8x8xf32> to tensor<8x8xf32, #sparse>
  return %cast : tensor<8x8xf32, #sparse>
}

// -----

// Negative: the dense result has another (dense) user, so it must stay dense.
#map = affine_map<(d0, d1) -> (d0, d1)>
#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-LABEL: func.func @shared_result
// CHECK: %[[G:.*]] = linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<8x8xf32>)
// CHECK: tensor.cast %[[G]] : tensor<8x8xf32> to tensor<8x8xf32, #sparse>
func.func @shared_result(%arg0: tensor<8x8xf32, #sparse>) -> (tensor<8x8xf32, #sparse>, tensor<8x8xf32>) {
  %0 = tensor.empty() : tensor<8x8xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<8x8xf32, #sparse>) outs(%0 : tensor<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x8xf32>
  %cast = tensor.cast %1 : tensor<8x8xf32> to tensor<8x8xf32, #sparse>
  return %cast, %1 : tensor<8x8xf32, #sparse>, tensor<8x8xf32>
}
