// RUN: %fuseflow-opt %s -p 'builtin.module(fuseflow-partition{mode=unfused})' | %FileCheck %s --check-prefix=UNFUSED
// RUN: %fuseflow-opt %s -p 'builtin.module(fuseflow-partition{mode=full})' | %FileCheck %s --check-prefix=FULL
// RUN: %fuseflow-opt %s -p 'builtin.module(fuseflow-partition{mode=layers})' | %FileCheck %s --check-prefix=LAYERS
// RUN: %fuseflow-opt %s -p 'builtin.module(fuseflow-partition{mode=groups groups="0,1;2"})' | %FileCheck %s --check-prefix=GROUPS
// RUN: %not %fuseflow-opt %s -p 'builtin.module(fuseflow-partition{mode=groups groups="0;2"})' 2>&1 | %FileCheck %s --check-prefix=BADGROUPS
// RUN: %not %fuseflow-opt %s -p 'builtin.module(fuseflow-partition{mode=fused})' 2>&1 | %FileCheck %s --check-prefix=BADMODE

// The fill is an init, not a computation: it gets no region.
// UNFUSED: linalg.fill {{.*}} -> tensor<4x4xf32>{{$}}
// UNFUSED: linalg.generic {{.*}}fuseflow.region = 0
// UNFUSED: linalg.generic {{.*}}fuseflow.region = 1
// UNFUSED: linalg.generic {{.*}}fuseflow.region = 2
// FULL-COUNT-3: fuseflow.region = 0
// Layers: the contraction and its elementwise tail, then a new layer at the next contraction.
// LAYERS: fuseflow.region = 0
// LAYERS: fuseflow.region = 0
// LAYERS: fuseflow.region = 1
// GROUPS: fuseflow.region = 0
// GROUPS: fuseflow.region = 0
// GROUPS: fuseflow.region = 1
// BADGROUPS: groups must cover ops 0..2 exactly once
// BADMODE: 'fused' is not one of: unfused, layers, full, groups

#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @main(%A: tensor<4x4xf32, #csr>, %X: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %ax = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %X : tensor<4x4xf32, #csr>, tensor<4x4xf32>) outs(%f : tensor<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ax : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %c = arith.cmpf ugt, %x, %zero : f32
    %m = arith.select %c, %x, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %ax2 = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %r : tensor<4x4xf32, #csr>, tensor<4x4xf32>) outs(%f : tensor<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  return %ax2 : tensor<4x4xf32>
}
