// RUN: %fuseflow-opt %s -p 'builtin.module(convert-linalg-to-sam{layouts=auto orders=ijk})' | %FileCheck %s
// RUN: %not %fuseflow-opt %s -p 'builtin.module(convert-linalg-to-sam{orders=ijk})' 2>&1 | %FileCheck %s --check-prefix=DECLARED
// RUN: %not %fuseflow-opt %s -p 'builtin.module(convert-linalg-to-sam{layouts=sideways})' 2>&1 | %FileCheck %s --check-prefix=BADMODE

#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// SpMM with a row-major dense right operand. Declared layouts: k must come before j. With
// layouts=auto the dense operand is read column-major, so i,j,k is legal: the reduction is
// innermost (a reduce, no accumulator) and the program converts B to the graph's layout (a
// relayout the program runner charges). The CSR operand is free too (read as CSC where k
// comes before i), so every order is legal.
// CHECK-LABEL: func.func @spmm_region0(
// CHECK-SAME: %arg1: tensor<5x3xf32, #sparse{{[0-9]*}}>
// CHECK-SAME: fuseflow.order = "i,j,k"
// CHECK-SAME: fuseflow.orders = ["i,j,k", "i,k,j", "j,i,k", "j,k,i", "k,i,j", "k,j,i"]
// CHECK: "sam.fiber_lookup"(%arg1, %{{.*}}) {format = "dense", index = "j", level = 0 : i64}
// CHECK: "sam.fiber_lookup"(%arg1, %{{.*}}) {format = "dense", index = "k", level = 1 : i64}
// CHECK: "sam.reduce"
// CHECK-NOT: "sam.spacc"
// CHECK-LABEL: func.func @spmm(
// CHECK: %[[B:.*]] = sparse_tensor.convert %arg1 : tensor<5x3xf32> to tensor<5x3xf32, #sparse{{[0-9]*}}>
// CHECK: call @spmm_region0(%arg0, %[[B]])
// DECLARED: error: {{.*}}order i,j,k is illegal: k must come before j (storage order of an input)
// BADMODE: layouts
// BADMODE-SAME: sideways
func.func @spmm(%A: tensor<4x5xf32, #csr>, %B: tensor<5x3xf32>) -> tensor<4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %B : tensor<4x5xf32, #csr>, tensor<5x3xf32>) outs(%f : tensor<4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
