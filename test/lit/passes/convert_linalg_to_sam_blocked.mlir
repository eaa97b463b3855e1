// RUN: %fuseflow-opt %s -p 'builtin.module(fuseflow-partition{mode=full},convert-linalg-to-sam)' | %FileCheck %s
// RUN: sed 's/4x6xf32/3x6xf32/g; s/4x8xf32/3x8xf32/g' %s | %not %fuseflow-opt -p 'builtin.module(fuseflow-partition{mode=full},convert-linalg-to-sam)' 2>&1 | %FileCheck %s --check-prefix=DIVIDE

#ik = affine_map<(i, j, k) -> (i, k)>
#jk = affine_map<(i, j, k) -> (j, k)>
#ij = affine_map<(i, j, k) -> (i, j)>
#j = affine_map<(i, j) -> (j)>
#id = affine_map<(i, j) -> (i, j)>
#bsr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 2 : compressed, d0 mod 2 : dense, d1 mod 2 : dense) }>
// A linear layer with a block-sparse weight, relu(x W^T + b): the region runs on 2 x 2 tiles.
// The weight's block levels are scanned (its in-block levels are the tiles), x and b are tiled
// by the program (sparse_tensor.convert to dense blocked types; b as 1 x 2 row tiles), the
// contraction over k is one transposed tile product per block pair, summed across blocks, and
// the result is written as tiles.
// CHECK-LABEL: func.func @linear_region0(
// CHECK-SAME: %arg0: tensor<4x6xf32, #sparse{{[0-9]*}}>, %arg1: tensor<8x6xf32, #sparse{{[0-9]*}}>, %arg2: tensor<8xf32, #sparse{{[0-9]*}}>
// CHECK: "sam.fiber_lookup"(%arg1, %{{.*}}) {format = "compressed", index = "k", level = 1 : i64}
// CHECK: "sam.array"(%arg1, %{{.*}}) : (tensor<8x6xf32, #sparse{{[0-9]*}}>, !sam.ref<index>) -> !sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.alu"(%{{.*}}, %{{.*}}) {kind = "matmul_nt", operandSegmentSizes = array<i32: 2>}
// CHECK: "sam.reduce"(%{{.*}}) {kind = "add"} : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.array"(%arg2, %{{.*}}) : (tensor<8xf32, #sparse{{[0-9]*}}>, !sam.ref<index>) -> !sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.alu"(%{{.*}}, %{{.*}}) {kind = "add", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64: 2, 2>>, !sam.val<f32, array<i64: 2, 2>>)
// CHECK: "sam.alu"(%{{.*}}) {kind = "max", operandSegmentSizes = array<i32: 1>, scalar = 0.000000e+00 : f32} : (!sam.val<f32, array<i64: 2, 2>>)
// CHECK: "sam.output"
// CHECK-SAME: -> tensor<4x8xf32, #sparse{{[0-9]*}}>
// CHECK-LABEL: func.func @linear(
// CHECK: sparse_tensor.convert %arg0 : tensor<4x6xf32> to tensor<4x6xf32, #sparse{{[0-9]*}}>
// CHECK: sparse_tensor.convert %arg2 : tensor<8xf32> to tensor<8xf32, #sparse{{[0-9]*}}>
// CHECK: call @linear_region0
// DIVIDE: error: {{.*}}block size 2 does not divide dimension 0 (size 3) of input %arg0
func.func @linear(%x: tensor<4x6xf32>, %w: tensor<8x6xf32, #bsr>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %xw = linalg.generic {indexing_maps = [#ik, #jk, #ij], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x6xf32>, tensor<8x6xf32, #bsr>) outs(%f : tensor<4x8xf32>) {
  ^bb0(%a: f32, %c: f32, %acc: f32):
    %p = arith.mulf %a, %c : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #j, #id], iterator_types = ["parallel", "parallel"]}
      ins(%xw, %b : tensor<4x8xf32>, tensor<8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %z = arith.maximumf %s, %zero : f32
    linalg.yield %z : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
