// RUN: %fuseflow-opt %s -p 'builtin.module(fuseflow-reassociate{to=left})' | %FileCheck %s --check-prefix=LEFT
// RUN: %fuseflow-opt %s -p 'builtin.module(fuseflow-reassociate{to=left},fuseflow-reassociate{to=right})' | %FileCheck %s --check-prefix=BACK
// RUN: %fuseflow-opt %s -p 'builtin.module(fuseflow-reassociate{to=right})' | %FileCheck %s --check-prefix=KEEP
// RUN: %not %fuseflow-opt %s -p 'builtin.module(fuseflow-reassociate{to=up})' 2>&1 | %FileCheck %s --check-prefix=BAD

// A GCN layer as PyG computes it, A @ (X @ W^T) with W read transposed (out x in, as
// nn.Linear stores it). to=left: S = A @ X first (64 x 16: the features' width), then S @ W^T,
// which keeps reading W transposed; the old inner product and its fill are gone.
// LEFT-LABEL: func.func @gcn_layer(
// LEFT: %[[E:.*]] = tensor.empty() : tensor<6x5xf32>
// LEFT: %[[F:.*]] = linalg.generic {{.*}} ins(%{{.*}} : f32) outs(%[[E]] : tensor<6x5xf32>)
// LEFT-SAME: fuseflow.kind = "fill"
// LEFT: %[[S:.*]] = linalg.generic {indexing_maps = [#[[MK:map[0-9]*]], #[[KN:map[0-9]*]], #[[MN:map[0-9]*]]]{{.*}} ins(%arg0, %arg1 : tensor<6x6xf32, #sparse>, tensor<6x5xf32>) outs(%[[F]] : tensor<6x5xf32>)
// LEFT-SAME: fuseflow.kind = "matmul"
// LEFT: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[MK]], #[[NK:map[0-9]*]], #[[MN]]]{{.*}} ins(%[[S]], %arg2 : tensor<6x5xf32>, tensor<3x5xf32>)
// LEFT: return %[[Y]]
// LEFT-NOT: linalg.generic
// Back to the right association: the chain as written, up to the new fill
// BACK-LABEL: func.func @gcn_layer(
// BACK: %[[T:.*]] = linalg.generic {{.*}} ins(%arg1, %arg2 : tensor<6x5xf32>, tensor<3x5xf32>)
// BACK: %[[Y:.*]] = linalg.generic {{.*}} ins(%arg0, %[[T]] : tensor<6x6xf32, #sparse>, tensor<6x3xf32>)
// BACK: return %[[Y]]
// Already right-associated: nothing changes
// KEEP-LABEL: func.func @gcn_layer(
// KEEP: ins(%arg1, %arg2 : tensor<6x5xf32>, tensor<3x5xf32>)
// KEEP: ins(%arg0, %{{.*}} : tensor<6x6xf32, #sparse>, tensor<6x3xf32>)
// BAD: to
// BAD-SAME: up

#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#nk = affine_map<(d0, d1, d2) -> (d1, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>
#fill_in = affine_map<(d0, d1) -> ()>
#fill_out = affine_map<(d0, d1) -> (d0, d1)>
func.func @gcn_layer(%A: tensor<6x6xf32, #csr>, %X: tensor<6x5xf32>, %W: tensor<3x5xf32>) -> tensor<6x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x3xf32>
  %f = linalg.generic {indexing_maps = [#fill_in, #fill_out], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%e : tensor<6x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<6x3xf32>
  %xw = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%X, %W : tensor<6x5xf32>, tensor<3x5xf32>) outs(%f : tensor<6x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<6x3xf32>
  %y = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %xw : tensor<6x6xf32, #csr>, tensor<6x3xf32>) outs(%f : tensor<6x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<6x3xf32>
  return %y : tensor<6x3xf32>
}
