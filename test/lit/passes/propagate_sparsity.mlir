// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(fuseflow-propagate-sparsity)' | %FileCheck %s

// Positive: S * D takes S's encoding; relu of that stays sparse; the returned value is
// converted back to the function's dense result type; S + D (not zero-preserving) stays dense.
#map = affine_map<(d0, d1) -> (d0, d1)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-LABEL: func.func @chain
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<8x8xf32, #sparse>
// CHECK: %[[MUL:.*]] = linalg.generic
// CHECK-SAME: outs(%[[E1]] : tensor<8x8xf32, #sparse>)
// CHECK: arith.mulf
// CHECK: } -> tensor<8x8xf32, #sparse>
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<8x8xf32, #sparse>
// CHECK: %[[RELU:.*]] = linalg.generic
// CHECK-SAME: ins(%[[MUL]] : tensor<8x8xf32, #sparse>) outs(%[[E2]] : tensor<8x8xf32, #sparse>)
// CHECK: } -> tensor<8x8xf32, #sparse>
// CHECK: %[[ADD:.*]] = linalg.generic
// CHECK: arith.addf
// CHECK: } -> tensor<8x8xf32>
// CHECK: %[[DENSE:.*]] = sparse_tensor.convert %[[RELU]] : tensor<8x8xf32, #sparse> to tensor<8x8xf32>
// CHECK: return %[[DENSE]], %[[ADD]]
func.func @chain(%s: tensor<8x8xf32, #csr>, %d: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %0 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%s, %d : tensor<8x8xf32, #csr>, tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<8x8xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%0 : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.cmpf ugt, %a, %z : f32
    %r = arith.select %c, %a, %z : f32
    linalg.yield %r : f32
  } -> tensor<8x8xf32>
  %2 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%s, %d : tensor<8x8xf32, #csr>, tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.addf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<8x8xf32>
  return %1, %2 : tensor<8x8xf32>, tensor<8x8xf32>
}

// -----

// Deterministic choice: with two sparse operands the first one's format wins. A quotient is
// zero-preserving in its numerator only (D / S stays dense).
#map = affine_map<(d0, d1) -> (d0, d1)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
#csc = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed) }>
// CHECK-LABEL: func.func @first_wins
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg1, %arg0 : tensor<4x4xf32, #[[CSC:sparse[0-9]*]]>, tensor<4x4xf32, #[[CSR:sparse[0-9]*]]>) outs(%{{.*}} : tensor<4x4xf32, #[[CSC]]>)
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<4x4xf32>)
// CHECK: arith.divf
func.func @first_wins(%a: tensor<4x4xf32, #csr>, %b: tensor<4x4xf32, #csc>, %d: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %e = tensor.empty() : tensor<4x4xf32>
  %0 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%b, %a : tensor<4x4xf32, #csc>, tensor<4x4xf32, #csr>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%d, %a : tensor<4x4xf32>, tensor<4x4xf32, #csr>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.divf %x, %y : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  return %0, %1 : tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// Negative: a contraction (matmul) over a sparse operand stays dense; so does a generic that
// reads its sparse input through a non-identity (transposing) map, and exp(S) (exp(0) = 1).
#map = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-LABEL: func.func @stays_dense
// CHECK-NOT: tensor.empty() : tensor<4x4xf32, #sparse>
// CHECK: linalg.matmul
// CHECK-SAME: -> tensor<4x4xf32>
// CHECK: math.exp
// CHECK: } -> tensor<4x4xf32>
// CHECK: arith.negf
// CHECK: } -> tensor<4x4xf32>
func.func @stays_dense(%s: tensor<4x4xf32, #csr>, %d: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %0 = linalg.matmul ins(%s, %d : tensor<4x4xf32, #csr>, tensor<4x4xf32>) outs(%f : tensor<4x4xf32>) -> tensor<4x4xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<4x4xf32, #csr>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %x = math.exp %a : f32
    linalg.yield %x : f32
  } -> tensor<4x4xf32>
  %2 = linalg.generic {indexing_maps = [#tr, #map], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<4x4xf32, #csr>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %x = arith.negf %a : f32
    linalg.yield %x : f32
  } -> tensor<4x4xf32>
  return %0, %1, %2 : tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
}
