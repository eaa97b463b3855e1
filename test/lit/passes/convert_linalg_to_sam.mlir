// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(fuseflow-partition{mode=full},convert-linalg-to-sam)' | %FileCheck %s
// RUN: %not %fuseflow-opt %s --split-input-file -p 'builtin.module(convert-linalg-to-sam{orders=kij})' 2>&1 | %FileCheck %s --check-prefix=BADORDER

#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// SpMM with a CSR left operand and a row-major right operand: the only legal order is i,k,j,
// so the reduction over k is not innermost and becomes a sparse accumulator of order 1.
// CHECK-LABEL: func.func @spmm_region0(
// CHECK-SAME: fuseflow.order = "i,k,j"
// CHECK-SAME: fuseflow.orders = ["i,k,j"]
// CHECK: "sam.root"
// CHECK: "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "dense", index = "i", level = 0 : i64}
// CHECK: "sam.repeat"
// CHECK: "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "compressed", index = "k", level = 1 : i64}
// CHECK: "sam.fiber_lookup"(%arg1, %{{.*}}) {format = "dense", index = "k", level = 0 : i64}
// CHECK: "sam.intersect"
// CHECK-SAME: index = "k"
// CHECK: "sam.fiber_lookup"(%arg1, %{{.*}}) {format = "dense", index = "j", level = 1 : i64}
// CHECK: "sam.alu"
// CHECK-SAME: kind = "mul"
// CHECK: "sam.spacc"
// CHECK-SAME: order = 1
// CHECK: "sam.fiber_write"({{.*}}) {format = "dense", level = 0 : i64}
// CHECK: "sam.fiber_write"({{.*}}) {format = "compressed", level = 1 : i64}
// CHECK: "sam.output"
// CHECK-LABEL: func.func @spmm(
// CHECK-SAME: fuseflow.program
// CHECK: call @spmm_region0(%arg0, %arg1)
// CHECK: sparse_tensor.convert
// CHECK-NOT: linalg.generic
// CHECK: return
// BADORDER: error: {{.*}}order k,i,j is illegal: i must come before k (storage order of an input)
func.func @spmm(%A: tensor<4x5xf32, #csr>, %B: tensor<5x3xf32>) -> tensor<4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %B : tensor<4x5xf32, #csr>, tensor<5x3xf32>) outs(%f : tensor<4x3xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// Fused elementwise chain relu((A + X) + b[i]): at i every operand is dense (one coordinate
// stream serves all, no joiner); a union of A and the dense X at j that covers all of j. b's
// scope is i alone: it is loaded once per row and its value repeated over j.
// CHECK-LABEL: func.func @chain_region0(
// CHECK-SAME: fuseflow.order = "i,j"
// CHECK-NOT: index = "i", operandSegmentSizes
// CHECK: "sam.union"({{.*}}) {index = "j"
// CHECK: %[[B:[0-9]+]] = "sam.array"(%arg2,
// CHECK: "sam.repeat"(%[[B]],
// CHECK: "sam.alu"{{.*}}kind = "add"
// CHECK: "sam.alu"{{.*}}kind = "add"
// CHECK: "sam.alu"{{.*}}kind = "relu"
// CHECK: "sam.fiber_write"({{.*}}) {format = "dense", level = 1 : i64}
// CHECK: "sam.output"
func.func @chain(%A: tensor<4x4xf32, #csr>, %X: tensor<4x4xf32>, %b: tensor<4xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %m = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%A, %X : tensor<4x4xf32, #csr>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.addf %x, %y : f32
    linalg.yield %p : f32
  } -> tensor<4x4xf32>
  %s = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %b : tensor<4x4xf32>, tensor<4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.addf %x, %y : f32
    linalg.yield %p : f32
  } -> tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %c = arith.cmpf ugt, %x, %zero : f32
    %v = arith.select %c, %x, %zero : f32
    linalg.yield %v : f32
  } -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
// The normalized masked softmax's sparse_tensor bodies: sample (an intersection keeping S), a
// max over stored entries, and exp(x - max) at the stored entries only. exp is not zero
// preserving, but absent entries stay absent: the iteration at j is the mask's. The sampled
// scores are one node read by the max and by the subtraction: built once (one intersect, one
// load) and fanned out, the row max repeated back over the row's coordinates.
// CHECK-LABEL: func.func @masked_region0(
// CHECK-SAME: fuseflow.expr = ["i,j: stored_exp(stored_sub(sample(%arg0[i,j], %arg1[i,j]), stored_max_k(sample(
// CHECK-SAME: fuseflow.loop_aliases = ["j=k"]
// CHECK: %[[J:[0-9]+]]:3 = "sam.intersect"({{.*}}) {index = "j"
// CHECK-NOT: "sam.intersect"
// CHECK: %[[S:[0-9]+]] = "sam.array"(%arg0, %[[J]]#1)
// CHECK: %[[MAX:[0-9]+]] = "sam.reduce"(%[[S]]) {kind = "max"}
// CHECK: %[[SIG:[0-9]+]] = "sam.repeat_sig_gen"(%[[J]]#0)
// CHECK: %[[REP:[0-9]+]] = "sam.repeat"(%[[MAX]], %[[SIG]])
// CHECK: %[[D:[0-9]+]] = "sam.alu"(%[[S]], %[[REP]]) {kind = "sub"
// CHECK: "sam.alu"(%[[D]]) {kind = "exp"
// CHECK: "sam.fiber_write"({{.*}}) {format = "compressed", level = 1 : i64}
func.func @masked(%S: tensor<4x4xf32>, %M: tensor<4x4xf32, #csr>) -> tensor<4x4xf32, #csr> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<4x4xf32, #csr>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%S, %M : tensor<4x4xf32>, tensor<4x4xf32, #csr>) outs(%e : tensor<4x4xf32, #csr>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %v = sparse_tensor.binary %a, %b : f32, f32 to f32
      overlap = {
      ^bb0(%x: f32, %y: f32):
        sparse_tensor.yield %x : f32
      }
      left = {}
      right = {}
    linalg.yield %v : f32
  } -> tensor<4x4xf32, #csr>
  %er = tensor.empty() : tensor<4xf32>
  %fr = linalg.fill ins(%ninf : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%s : tensor<4x4xf32, #csr>) outs(%fr : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = sparse_tensor.reduce %a, %acc, %ninf : f32 {
      ^bb0(%x: f32, %y: f32):
        %mx = arith.maximumf %x, %y : f32
        sparse_tensor.yield %mx : f32
    }
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4x4xf32, #csr>
  %x = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %m : tensor<4x4xf32, #csr>, tensor<4xf32>) outs(%e2 : tensor<4x4xf32, #csr>) {
  ^bb0(%a: f32, %mm: f32, %o: f32):
    %u = sparse_tensor.unary %a : f32 to f32
      present = {
      ^bb0(%x: f32):
        %d = arith.subf %x, %mm : f32
        %ex = math.exp %d : f32
        sparse_tensor.yield %ex : f32
      }
      absent = {}
    linalg.yield %u : f32
  } -> tensor<4x4xf32, #csr>
  return %x : tensor<4x4xf32, #csr>
}

// -----

// DCSR * DCSR: the rows of the product are an intersection of both operands' rows, and a row
// both store can still have no common column: crd_drop removes it from the compressed output.
#id = affine_map<(d0, d1) -> (d0, d1)>
#dcsr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed, d1 : compressed) }>
// CHECK-LABEL: func.func @dcsr_mul_region0(
// CHECK: %[[I:[0-9]+]]:3 = "sam.intersect"
// CHECK-SAME: index = "i"
// CHECK: %[[J:[0-9]+]]:3 = "sam.intersect"
// CHECK-SAME: index = "j"
// CHECK: %[[DROP:[0-9]+]]:2 = "sam.crd_drop"(%[[I]]#0, %[[J]]#0)
// CHECK: "sam.fiber_write"(%[[DROP]]#0) {format = "compressed", level = 0 : i64}
// CHECK: "sam.fiber_write"(%[[DROP]]#1) {format = "compressed", level = 1 : i64}
func.func @dcsr_mul(%a: tensor<4x4xf32, #dcsr>, %b: tensor<4x4xf32, #dcsr>) -> tensor<4x4xf32, #dcsr> {
  %e = tensor.empty() : tensor<4x4xf32, #dcsr>
  %0 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x4xf32, #dcsr>, tensor<4x4xf32, #dcsr>) outs(%e : tensor<4x4xf32, #dcsr>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32, #dcsr>
  return %0 : tensor<4x4xf32, #dcsr>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// Layernorm (without scale and shift): mean[i] = sum_k x[i,k] / 8, xc = x - mean, var[i] =
// sum_k xc^2, y = xc * rsqrt(var / 8 + eps). Scoped loops: the mean and the variance iterate
// (i, k) once per row, never under the output's j loop, and reach y as values repeated over
// the row. The centred row xc is read by the variance and by y: it is built once (one sub)
// and fanned out; the variance's loop reads it under its own variable (a loop alias).
// CHECK-LABEL: func.func @layernorm_region0(
// CHECK-SAME: fuseflow.loop_aliases = [
// CHECK: %[[S:[0-9]+]] = "sam.reduce"({{.*}}) {kind = "add"}
// CHECK: %[[MEAN:[0-9]+]] = "sam.alu"(%[[S]]) {kind = "div", {{.*}}scalar = 8.0
// CHECK: %[[REP:[0-9]+]] = "sam.repeat"(%[[MEAN]],
// CHECK: %[[XC:[0-9]+]] = "sam.alu"(%{{[0-9]+}}, %[[REP]]) {kind = "sub"
// CHECK-NOT: kind = "sub"
// CHECK: %[[SQ:[0-9]+]] = "sam.alu"(%[[XC]], %[[XC]]) {kind = "mul"
// CHECK: %[[V:[0-9]+]] = "sam.reduce"(%[[SQ]]) {kind = "add"}
// CHECK: "sam.alu"({{.*}}) {kind = "rsqrt"
// CHECK: %[[RS:[0-9]+]] = "sam.repeat"(
// CHECK: "sam.alu"(%[[XC]], %[[RS]]) {kind = "mul"
// CHECK-NOT: "sam.reduce"
// CHECK: "sam.output"
func.func @layernorm(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %n = arith.constant 8.0 : f32
  %e1 = tensor.empty() : tensor<4xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%f1 : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %acc, %a : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %xc = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : tensor<4x8xf32>, tensor<4xf32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %mean = arith.divf %m, %n : f32
    %d = arith.subf %a, %mean : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  %v = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%xc : tensor<4x8xf32>) outs(%f1 : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %r = arith.addf %acc, %sq : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%xc, %v : tensor<4x8xf32>, tensor<4xf32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%a: f32, %var: f32, %o: f32):
    %vn = arith.divf %var, %n : f32
    %ve = arith.addf %vn, %eps : f32
    %rs = math.rsqrt %ve : f32
    %r = arith.mulf %a, %rs : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
