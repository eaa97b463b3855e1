// RUN: %fuseflow-opt %s --split-input-file --verify-diagnostics -p 'builtin.module(convert-linalg-to-sam)' | %FileCheck %s
// RUN: %fuseflow-opt %s --split-input-file --verify-diagnostics -p 'builtin.module(convert-linalg-to-sam{layouts=auto})' | %FileCheck %s --check-prefix=AUTO

// Sparse operands with unit (size-1) dimensions are read without them (drop_unit_levels): the
// graph takes the kept levels, the program collapses the value before the call.

#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// An n x 1 CSR times a 1 x m dense (K = 1: a reduction over a unit loop sums one term). The
// graph reads the CSR as the sparse vector of its non-empty rows: i is compressed, so only the
// stored rows are visited.
// CHECK-LABEL: func.func @outer_region0(
// CHECK-SAME: %arg0: tensor<4xf32, #[[SV:sparse[0-9]*]]>, %arg1: tensor<1x3xf32>
// CHECK-SAME: fuseflow.expr = ["i,j: mul(%arg0[i,_], %arg1[_,j])"]
// CHECK: "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "compressed", index = "i", level = 0 : i64}
// CHECK: "sam.fiber_lookup"(%arg1, %{{.*}}) {format = "dense", index = "j", level = 1 : i64}
// CHECK-NOT: "sam.reduce"
// CHECK-LABEL: func.func @outer(
// CHECK: %[[V:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1]] : tensor<4x1xf32, #{{.*}}> into tensor<4xf32, #[[SV]]>
// CHECK: call @outer_region0(%[[V]], %arg1)
func.func @outer(%A: tensor<4x1xf32, #csr>, %B: tensor<1x3xf32>) -> tensor<4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %B : tensor<4x1xf32, #csr>, tensor<1x3xf32>) outs(%f : tensor<4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

#bmk = affine_map<(b, m, n, k) -> (b, m, k)>
#bkn = affine_map<(b, m, n, k) -> (b, k, n)>
#bmn = affine_map<(b, m, n, k) -> (b, m, n)>
#coo3 = #sparse_tensor.encoding<{ map = (d0, d1, d2) -> (d0 : compressed(nonunique), d1 : singleton(nonunique, soa), d2 : singleton(soa)) }>
// A batch-1 COO bmm: the graph reads the 2-D COO slice (the first kept level becomes
// compressed(nonunique), the batch level is gone). Declared: the slice's storage puts i before
// k and B's k before j. With layouts=auto both are free: every order is legal.
// CHECK-LABEL: func.func @bmm_region0(
// CHECK-SAME: %arg0: tensor<4x5xf32, #[[COO:sparse[0-9]*]]>, %arg1: tensor<1x5x3xf32>
// CHECK-SAME: fuseflow.orders = ["i,k,j"]
// CHECK: "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "compressed", index = "i", level = 0 : i64}
// CHECK: "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "singleton", index = "k", level = 1 : i64}
// CHECK-LABEL: func.func @bmm(
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<1x4x5xf32, #{{.*}}> into tensor<4x5xf32, #[[COO]]>
// AUTO-LABEL: func.func @bmm_region0(
// AUTO-SAME: fuseflow.orders = ["i,j,k", "i,k,j", "j,i,k", "j,k,i", "k,i,j", "k,j,i"]
func.func @bmm(%A: tensor<1x4x5xf32, #coo3>, %B: tensor<1x5x3xf32>) -> tensor<1x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x3xf32>) -> tensor<1x4x3xf32>
  %r = linalg.generic {indexing_maps = [#bmk, #bkn, #bmn], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%A, %B : tensor<1x4x5xf32, #coo3>, tensor<1x5x3xf32>) outs(%f : tensor<1x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x4x3xf32>
  return %r : tensor<1x4x3xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// A 1 x 1 CSR is one value: read as a dense 1 x 1 tensor (no level is looked up).
// CHECK-LABEL: func.func @scalar_region0(
// CHECK-SAME: %arg0: tensor<1x1xf32>, %arg1: tensor<1x1xf32>
// CHECK-NOT: "sam.fiber_lookup"(%arg0
// CHECK: "sam.array"(%arg0
// CHECK-LABEL: func.func @scalar(
// CHECK: %[[S:.*]] = sparse_tensor.convert %arg0 : tensor<1x1xf32, #{{.*}}> to tensor<1x1xf32>
// CHECK: call @scalar_region0(%[[S]], %arg1)
func.func @scalar(%A: tensor<1x1xf32, #csr>, %B: tensor<1x1xf32>) -> tensor<1x1xf32> {
  %e = tensor.empty() : tensor<1x1xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%A, %B : tensor<1x1xf32, #csr>, tensor<1x1xf32>) outs(%e : tensor<1x1xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<1x1xf32>
  return %r : tensor<1x1xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#loose = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : loose_compressed) }>
// A level kind the unit-free reading does not handle is refused, naming the operand.
func.func @loose(%A: tensor<4x1xf32, #loose>, %B: tensor<4x1xf32>) -> tensor<4x1xf32> {
  %e = tensor.empty() : tensor<4x1xf32>
  // expected-error @+1 {{cannot lower 'linalg.generic' to SAM: sparse operand %arg0 (tensor<4x1xf32, #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : loose_compressed) }>>): a 'loose_compressed' level of tensor<4x1xf32}}
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%A, %B : tensor<4x1xf32, #loose>, tensor<4x1xf32>) outs(%e : tensor<4x1xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<4x1xf32>
  return %r : tensor<4x1xf32>
}
