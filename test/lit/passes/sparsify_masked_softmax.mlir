// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(fuseflow-recognize-kernels,fuseflow-sparsify-masked-softmax)' | %FileCheck %s

// Positive: softmax(S.masked_fill(M == 0, -inf)) with M CSR becomes a softmax over M's stored
// entries, whose result is CSR (converted for the dense function result).
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#bcast = affine_map<(d0, d1) -> (d0, 0)>
#scalar = affine_map<(d0, d1) -> ()>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-LABEL: func.func @masked
// CHECK-NOT: arith.select
// CHECK: %[[SAMPLED:.*]] = linalg.generic
// CHECK-SAME: ins(%arg0, %arg1 : tensor<4x8xf32>, tensor<4x8xf32, #[[CSR:sparse[0-9]*]]>) outs(%{{.*}} : tensor<4x8xf32, #[[CSR]]>)
// CHECK-SAME: fuseflow.kind = "sample", fuseflow.pattern = "masked_softmax", fuseflow.role = "sample"
// CHECK: sparse_tensor.binary
// CHECK: %[[MAX:.*]] = linalg.generic
// CHECK-SAME: ins(%[[SAMPLED]] : tensor<4x8xf32, #[[CSR]]>) outs(%{{.*}} : tensor<4xf32>)
// CHECK: sparse_tensor.reduce
// CHECK: arith.maximumf
// CHECK: %[[EXP:.*]] = linalg.generic
// CHECK-SAME: ins(%[[SAMPLED]], %[[MAX]] : tensor<4x8xf32, #[[CSR]]>, tensor<4xf32>) outs(%{{.*}} : tensor<4x8xf32, #[[CSR]]>)
// CHECK: sparse_tensor.unary
// CHECK: math.exp
// CHECK: %[[SUM:.*]] = linalg.generic
// CHECK-SAME: ins(%[[EXP]] : tensor<4x8xf32, #[[CSR]]>)
// CHECK: %[[DIV:.*]] = linalg.generic
// CHECK-SAME: ins(%[[EXP]], %[[SUM]] : tensor<4x8xf32, #[[CSR]]>, tensor<4xf32>) outs(%{{.*}} : tensor<4x8xf32, #[[CSR]]>)
// CHECK-SAME: fuseflow.role = "div"
// CHECK: %[[D:.*]] = sparse_tensor.convert %[[DIV]] : tensor<4x8xf32, #[[CSR]]> to tensor<4x8xf32>
// CHECK: return %[[D]]
func.func @masked(%s: tensor<4x8xf32>, %m: tensor<4x8xf32, #csr>) -> tensor<4x8xf32> {
  %minf = arith.constant 0xFF800000 : f32
  %fillv = arith.constant dense<0xFF800000> : tensor<f32>
  %z = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : i64
  %eb = tensor.empty() : tensor<4x8xi1>
  %cmp = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<4x8xf32, #csr>) outs(%eb : tensor<4x8xi1>) {
  ^bb0(%a: f32, %o: i1):
    %c = arith.cmpf oeq, %a, %z : f32
    linalg.yield %c : i1
  } -> tensor<4x8xi1>
  %e = tensor.empty() : tensor<4x8xf32>
  %x = linalg.generic {indexing_maps = [#map, #scalar, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%cmp, %fillv, %s : tensor<4x8xi1>, tensor<f32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%c: i1, %f: f32, %a: f32, %o: f32):
    %r = arith.select %c, %f, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ei = tensor.empty() : tensor<4xi64>
  %fi = linalg.fill ins(%c0 : i64) outs(%ei : tensor<4xi64>) -> tensor<4xi64>
  %er = tensor.empty() : tensor<4xf32>
  %fm = linalg.fill ins(%minf : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %mx:2 = linalg.generic {indexing_maps = [#map, #row, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%fm, %fi : tensor<4xf32>, tensor<4xi64>) {
  ^bb0(%a: f32, %o: f32, %oi: i64):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i64
    %mm = arith.maximumf %a, %o : f32
    %c = arith.cmpf ogt, %a, %o : f32
    %sel = arith.select %c, %ii, %oi : i64
    linalg.yield %mm, %sel : f32, i64
  } -> (tensor<4xf32>, tensor<4xi64>)
  %mx2 = tensor.expand_shape %mx#0 [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %sub = linalg.generic {indexing_maps = [#map, #bcast, #map], iterator_types = ["parallel", "parallel"]} ins(%x, %mx2 : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  %exp = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%sub : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = math.exp %a : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %sum = linalg.generic {indexing_maps = [#map, #bcast], iterator_types = ["parallel", "reduction"]} ins(%exp : tensor<4x8xf32>) outs(%f1 : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = arith.addf %a, %o : f32
    linalg.yield %d : f32
  } -> tensor<4x1xf32>
  %div = linalg.generic {indexing_maps = [#map, #bcast, #map], iterator_types = ["parallel", "parallel"]} ins(%exp, %sum : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.divf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %div : tensor<4x8xf32>
}

// -----

// Negative: masked_fill with 0 (not -inf) changes the values at unstored entries, which then
// take part in the softmax: recognized, but not rewritten.
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#bcast = affine_map<(d0, d1) -> (d0, 0)>
#scalar = affine_map<(d0, d1) -> ()>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// CHECK-LABEL: func.func @zero_fill
// CHECK-NOT: sparse_tensor.binary
// CHECK: arith.select
// CHECK: fuseflow.pattern = "masked_softmax"
// CHECK-NOT: sparse_tensor.binary
func.func @zero_fill(%s: tensor<4x8xf32>, %m: tensor<4x8xf32, #csr>) -> tensor<4x8xf32> {
  %minf = arith.constant 0xFF800000 : f32
  %fillv = arith.constant dense<0.000000e+00> : tensor<f32>
  %z = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : i64
  %eb = tensor.empty() : tensor<4x8xi1>
  %cmp = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<4x8xf32, #csr>) outs(%eb : tensor<4x8xi1>) {
  ^bb0(%a: f32, %o: i1):
    %c = arith.cmpf oeq, %a, %z : f32
    linalg.yield %c : i1
  } -> tensor<4x8xi1>
  %e = tensor.empty() : tensor<4x8xf32>
  %x = linalg.generic {indexing_maps = [#map, #scalar, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%cmp, %fillv, %s : tensor<4x8xi1>, tensor<f32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%c: i1, %f: f32, %a: f32, %o: f32):
    %r = arith.select %c, %f, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ei = tensor.empty() : tensor<4xi64>
  %fi = linalg.fill ins(%c0 : i64) outs(%ei : tensor<4xi64>) -> tensor<4xi64>
  %er = tensor.empty() : tensor<4xf32>
  %fm = linalg.fill ins(%minf : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %mx:2 = linalg.generic {indexing_maps = [#map, #row, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%fm, %fi : tensor<4xf32>, tensor<4xi64>) {
  ^bb0(%a: f32, %o: f32, %oi: i64):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i64
    %mm = arith.maximumf %a, %o : f32
    %c = arith.cmpf ogt, %a, %o : f32
    %sel = arith.select %c, %ii, %oi : i64
    linalg.yield %mm, %sel : f32, i64
  } -> (tensor<4xf32>, tensor<4xi64>)
  %mx2 = tensor.expand_shape %mx#0 [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %sub = linalg.generic {indexing_maps = [#map, #bcast, #map], iterator_types = ["parallel", "parallel"]} ins(%x, %mx2 : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  %exp = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%sub : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = math.exp %a : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %sum = linalg.generic {indexing_maps = [#map, #bcast], iterator_types = ["parallel", "reduction"]} ins(%exp : tensor<4x8xf32>) outs(%f1 : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = arith.addf %a, %o : f32
    linalg.yield %d : f32
  } -> tensor<4x1xf32>
  %div = linalg.generic {indexing_maps = [#map, #bcast, #map], iterator_types = ["parallel", "parallel"]} ins(%exp, %sum : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.divf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %div : tensor<4x8xf32>
}

// -----

// Negative: a dense mask is a plain softmax of a select (no stored entries to restrict to).
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#bcast = affine_map<(d0, d1) -> (d0, 0)>
#scalar = affine_map<(d0, d1) -> ()>

// CHECK-LABEL: func.func @dense_mask
// CHECK-NOT: sparse_tensor.binary
// CHECK: arith.select
// CHECK: fuseflow.pattern = "softmax"
// CHECK-NOT: sparse_tensor.binary
func.func @dense_mask(%s: tensor<4x8xf32>, %m: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %minf = arith.constant 0xFF800000 : f32
  %fillv = arith.constant dense<0xFF800000> : tensor<f32>
  %z = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : i64
  %eb = tensor.empty() : tensor<4x8xi1>
  %cmp = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<4x8xf32>) outs(%eb : tensor<4x8xi1>) {
  ^bb0(%a: f32, %o: i1):
    %c = arith.cmpf oeq, %a, %z : f32
    linalg.yield %c : i1
  } -> tensor<4x8xi1>
  %e = tensor.empty() : tensor<4x8xf32>
  %x = linalg.generic {indexing_maps = [#map, #scalar, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%cmp, %fillv, %s : tensor<4x8xi1>, tensor<f32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%c: i1, %f: f32, %a: f32, %o: f32):
    %r = arith.select %c, %f, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ei = tensor.empty() : tensor<4xi64>
  %fi = linalg.fill ins(%c0 : i64) outs(%ei : tensor<4xi64>) -> tensor<4xi64>
  %er = tensor.empty() : tensor<4xf32>
  %fm = linalg.fill ins(%minf : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %mx:2 = linalg.generic {indexing_maps = [#map, #row, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%fm, %fi : tensor<4xf32>, tensor<4xi64>) {
  ^bb0(%a: f32, %o: f32, %oi: i64):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i64
    %mm = arith.maximumf %a, %o : f32
    %c = arith.cmpf ogt, %a, %o : f32
    %sel = arith.select %c, %ii, %oi : i64
    linalg.yield %mm, %sel : f32, i64
  } -> (tensor<4xf32>, tensor<4xi64>)
  %mx2 = tensor.expand_shape %mx#0 [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %sub = linalg.generic {indexing_maps = [#map, #bcast, #map], iterator_types = ["parallel", "parallel"]} ins(%x, %mx2 : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  %exp = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%sub : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = math.exp %a : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %sum = linalg.generic {indexing_maps = [#map, #bcast], iterator_types = ["parallel", "reduction"]} ins(%exp : tensor<4x8xf32>) outs(%f1 : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = arith.addf %a, %o : f32
    linalg.yield %d : f32
  } -> tensor<4x1xf32>
  %div = linalg.generic {indexing_maps = [#map, #bcast, #map], iterator_types = ["parallel", "parallel"]} ins(%exp, %sum : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.divf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %div : tensor<4x8xf32>
}
