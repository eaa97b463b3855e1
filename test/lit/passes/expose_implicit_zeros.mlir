// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(fuseflow-expose-implicit-zeros)' | %FileCheck %s

// Positive: a row max of a CSR matrix reads max(A, -inf over the reduced dimension), a dense
// elementwise generic the lowering co-iterates as a union.
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @rowmax
// CHECK: %[[BOUND:.*]] = arith.constant dense<0xFF800000> : tensor<8xf32>
// CHECK: %[[EXPOSED:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[COL]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%arg0, %[[BOUND]] : tensor<4x8xf32, #{{.*}}>, tensor<8xf32>) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[EXPOSED]] : tensor<4x8xf32>)
// CHECK: arith.maximumf
func.func @rowmax(%a: tensor<4x8xf32, #csr>) -> tensor<4xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %0 = linalg.generic {indexing_maps = [#map, #row], iterator_types = ["parallel", "reduction"]} ins(%a : tensor<4x8xf32, #csr>) outs(%f : tensor<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %m = arith.maximumf %x, %acc : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Positive: a column min of a CSC matrix: +inf bound over rows; the exposed value keeps the
// operand's (column-major) level order.
#map = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#csc = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed) }>
// CHECK-LABEL: func.func @colmin
// CHECK: arith.constant dense<0x7F800000> : tensor<4xf32>
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<4x8xf32, #[[CM:.*]]>)
// CHECK: arith.minimumf
func.func @colmin(%a: tensor<4x8xf32, #csc>) -> tensor<8xf32> {
  %inf = arith.constant 0x7F800000 : f32
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%inf : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %0 = linalg.generic {indexing_maps = [#map, #col], iterator_types = ["reduction", "parallel"]} ins(%a : tensor<4x8xf32, #csc>) outs(%f : tensor<8xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %m = arith.minimumf %x, %acc : f32
    linalg.yield %m : f32
  } -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// Negative: dense operands, sums, and stored-entries reductions are left alone.
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: dense<0xFF800000>
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: linalg.generic
func.func @untouched(%d: tensor<4x8xf32>, %a: tensor<4x8xf32, #csr>) -> (tensor<4xf32>, tensor<4xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %g = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %0 = linalg.generic {indexing_maps = [#map, #row], iterator_types = ["parallel", "reduction"]} ins(%d : tensor<4x8xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %m = arith.maximumf %x, %acc : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %1 = linalg.generic {indexing_maps = [#map, #row], iterator_types = ["parallel", "reduction"]} ins(%a : tensor<4x8xf32, #csr>) outs(%g : tensor<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %m = arith.addf %x, %acc : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}
