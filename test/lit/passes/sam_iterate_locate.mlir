// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(sam-iterate-locate)' | %FileCheck %s
// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(fuseflow-partition{mode=full},convert-linalg-to-sam,sam-iterate-locate)' | %FileCheck %s --check-prefix=LOWERED

// Positive: SpMV. A's compressed j level is iterated; x's dense j level is located under its
// parent ref (x's root repeated over i), the canonical spmv_locate graph.
// CHECK-LABEL: func.func @spmv
// CHECK: %[[A:.*]]:2 = "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "compressed", index = "j", level = 1 : i64}
// CHECK: %[[P:.*]] = "sam.repeat"
// CHECK-NOT: "sam.fiber_lookup"(%arg1
// CHECK-NOT: "sam.intersect"
// CHECK: %[[L:.*]]:3 = "sam.locate"(%arg1, %[[A]]#0, %[[A]]#1, %[[P]]) {format = "dense", index = "j", level = 0 : i64}
// CHECK: "sam.array"(%arg0, %[[L]]#0)
// CHECK: "sam.array"(%arg1, %[[L]]#1)
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @spmv(%arg0: tensor<4x5xf32, #csr>, %arg1: tensor<5xf32>) -> tensor<4xf32> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg0, %1#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %3 = "sam.repeat_sig_gen"(%1#0) : (!c) -> !sam.repsig
  %4 = "sam.repeat"(%0, %3) : (!r, !sam.repsig) -> !r
  %5:2 = "sam.fiber_lookup"(%arg1, %4) {format = "dense", index = "j", level = 0 : i64} : (tensor<5xf32>, !r) -> (!c, !r)
  %6:3 = "sam.intersect"(%2#0, %5#0, %2#1, %5#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %7 = "sam.array"(%arg0, %6#1) : (tensor<4x5xf32, #csr>, !r) -> !v
  %8 = "sam.array"(%arg1, %6#2) : (tensor<5xf32>, !r) -> !v
  %9 = "sam.alu"(%7, %8) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %10 = "sam.reduce"(%9) {kind = "add"} : (!v) -> !v
  %11 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %12 = "sam.val_write"(%10) : (!v) -> !sam.values
  %13 = "sam.output"(%11, %12) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
  return %13 : tensor<4xf32>
}

// -----

// Positive: the dense input comes first and the iterated side's payload is a value stream
// (a value computed earlier); the results are rewired by position: the crd result and the
// passed-through value come from the locate, the dense ref is the located one.
// CHECK-LABEL: func.func @dense_first_val_payload
// CHECK: %[[I:.*]]:3 = "sam.intersect"({{.*}}) {index = "i"
// CHECK: %[[A:.*]]:2 = "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "compressed", index = "j", level = 1 : i64}
// CHECK: %[[V:.*]] = "sam.alu"
// CHECK-NEXT: %[[L:.*]]:3 = "sam.locate"(%arg1, %[[A]]#0, %[[V]], %[[I]]#2) {format = "dense", index = "j", level = 1 : i64} : (tensor<4x5xf32>, !sam.crd<index>, !sam.val<f32, array<i64>>, !sam.ref<index>) -> (!sam.val<f32, array<i64>>, !sam.ref<index>, !sam.crd<index>)
// CHECK: %[[B:.*]] = "sam.array"(%arg1, %[[L]]#1)
// CHECK: "sam.alu"(%[[B]], %[[L]]#0) {kind = "mul"
// CHECK: "sam.fiber_write"(%[[L]]#2) {format = "compressed", level = 1 : i64}
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @dense_first_val_payload(%arg0: tensor<4x5xf32, #csr>, %arg1: tensor<4x5xf32>) -> tensor<4x5xf32, #csr> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg1, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32>, !r) -> (!c, !r)
  %3:3 = "sam.intersect"(%1#0, %2#0, %1#1, %2#1) {index = "i", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %4:2 = "sam.fiber_lookup"(%arg0, %3#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %5 = "sam.array"(%arg0, %4#1) : (tensor<4x5xf32, #csr>, !r) -> !v
  %6 = "sam.alu"(%5) {kind = "exp", operandSegmentSizes = array<i32: 1>} : (!v) -> !v
  %7:2 = "sam.fiber_lookup"(%arg1, %3#2) {format = "dense", index = "j", level = 1 : i64} : (tensor<4x5xf32>, !r) -> (!c, !r)
  %8:3 = "sam.intersect"(%7#0, %4#0, %7#1, %6) {index = "j", operandSegmentSizes = array<i32: 2, 1, 1>, resultSegmentSizes = array<i32: 1, 1, 1>} : (!c, !c, !r, !v) -> (!c, !r, !v)
  %9 = "sam.array"(%arg1, %8#1) : (tensor<4x5xf32>, !r) -> !v
  %10 = "sam.alu"(%9, %8#2) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %11 = "sam.fiber_write"(%3#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %12 = "sam.fiber_write"(%8#0) {format = "compressed", level = 1 : i64} : (!c) -> !sam.level
  %13 = "sam.val_write"(%10) : (!v) -> !sam.values
  %14 = "sam.output"(%11, %12, %13) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #csr>
  return %14 : tensor<4x5xf32, #csr>
}

// -----

// Negative: both inputs of the i intersect are dense scans (nothing to skip), and the dense j
// scanner's ref also feeds a second load, so it cannot be erased: both intersects stay.
// CHECK-LABEL: func.func @shared_dense_ref
// CHECK-NOT: "sam.locate"
// CHECK: "sam.intersect"({{.*}}) {index = "i"
// CHECK: %[[X:.*]]:2 = "sam.fiber_lookup"(%arg1, %{{.*}}) {format = "dense", index = "j", level = 1 : i64}
// CHECK: "sam.intersect"(%{{.*}}#0, %[[X]]#0, %{{.*}}#1, %[[X]]#1) {index = "j"
// CHECK-NOT: "sam.locate"
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @shared_dense_ref(%arg0: tensor<4x5xf32, #csr>, %arg1: tensor<4x5xf32>) -> tensor<4x5xf32, #csr> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg1, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32>, !r) -> (!c, !r)
  %3:3 = "sam.intersect"(%1#0, %2#0, %1#1, %2#1) {index = "i", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %4:2 = "sam.fiber_lookup"(%arg0, %3#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %5:2 = "sam.fiber_lookup"(%arg1, %3#2) {format = "dense", index = "j", level = 1 : i64} : (tensor<4x5xf32>, !r) -> (!c, !r)
  %6:3 = "sam.intersect"(%4#0, %5#0, %4#1, %5#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %7 = "sam.array"(%arg0, %6#1) : (tensor<4x5xf32, #csr>, !r) -> !v
  %8 = "sam.array"(%arg1, %6#2) : (tensor<4x5xf32>, !r) -> !v
  %9 = "sam.array"(%arg1, %5#1) : (tensor<4x5xf32>, !r) -> !v
  %10 = "sam.alu"(%7, %8) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %11 = "sam.reduce"(%9) {kind = "add"} : (!v) -> !v
  %12 = "sam.fiber_write"(%3#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %13 = "sam.fiber_write"(%6#0) {format = "compressed", level = 1 : i64} : (!c) -> !sam.level
  %14 = "sam.val_write"(%10) : (!v) -> !sam.values
  %15 = "sam.output"(%12, %13, %14) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #csr>
  %16 = "sam.fiber_write"(%3#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %17 = "sam.val_write"(%11) : (!v) -> !sam.values
  %18 = "sam.output"(%16, %17) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
  return %15 : tensor<4x5xf32, #csr>
}

// -----

// Negative: the dense X scan sits under a union's payload ref, which may be N: the intersect
// then yields an empty fiber where a locate would emit B's coordinates.
// CHECK-LABEL: func.func @parent_may_be_empty
// CHECK-NOT: "sam.locate"
// CHECK: "sam.union"
// CHECK: "sam.intersect"({{.*}}) {index = "j"
// CHECK-NOT: "sam.locate"
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#dcsr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed, d1 : compressed) }>
func.func @parent_may_be_empty(%arg0: tensor<4x5xf32, #dcsr>, %arg1: tensor<4x5xf32, #dcsr>, %arg2: tensor<4x5xf32>) -> tensor<4x5xf32, #dcsr> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "compressed", index = "i", level = 0 : i64} : (tensor<4x5xf32, #dcsr>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg1, %0) {format = "compressed", index = "i", level = 0 : i64} : (tensor<4x5xf32, #dcsr>, !r) -> (!c, !r)
  %3:3 = "sam.union"(%1#0, %2#0, %1#1, %2#1) {index = "i", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %4 = "sam.repeat_sig_gen"(%3#0) : (!c) -> !sam.repsig
  %5 = "sam.repeat"(%0, %4) : (!r, !sam.repsig) -> !r
  %6:2 = "sam.fiber_lookup"(%arg2, %5) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32>, !r) -> (!c, !r)
  %7:2 = "sam.fiber_lookup"(%arg1, %3#2) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #dcsr>, !r) -> (!c, !r)
  %8:2 = "sam.fiber_lookup"(%arg2, %3#1) {format = "dense", index = "j", level = 1 : i64} : (tensor<4x5xf32>, !r) -> (!c, !r)
  %9:3 = "sam.intersect"(%7#0, %8#0, %7#1, %8#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %10 = "sam.array"(%arg1, %9#1) : (tensor<4x5xf32, #dcsr>, !r) -> !v
  %11 = "sam.array"(%arg2, %9#2) : (tensor<4x5xf32>, !r) -> !v
  %12 = "sam.alu"(%10, %11) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %13 = "sam.fiber_write"(%3#0) {format = "compressed", level = 0 : i64} : (!c) -> !sam.level
  %14 = "sam.fiber_write"(%9#0) {format = "compressed", level = 1 : i64} : (!c) -> !sam.level
  %15 = "sam.val_write"(%12) : (!v) -> !sam.values
  %16 = "sam.output"(%13, %14, %15) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #dcsr>
  return %16 : tensor<4x5xf32, #dcsr>
}

// -----

// Positive and negative: the three-input intersect of A, B and x at j keeps intersecting A and B
// and locates x in the result (A's payload passes through the locate, B's comes from the
// smaller intersect); the union with the dense scan of z stays (a union keeps every coordinate).
// CHECK-LABEL: func.func @arity_and_union
// CHECK: %[[P:.*]] = "sam.repeat"
// CHECK: %[[J:.*]]:3 = "sam.intersect"(%{{.*}}#0, %{{.*}}#0, %{{.*}}#1, %{{.*}}#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>
// CHECK-NEXT: %[[L:.*]]:3 = "sam.locate"(%arg2, %[[J]]#0, %[[J]]#1, %[[P]]) {format = "dense", index = "j", level = 0 : i64}
// CHECK: "sam.array"(%arg0, %[[L]]#0)
// CHECK: "sam.array"(%arg1, %[[J]]#2)
// CHECK: "sam.array"(%arg2, %[[L]]#1)
// CHECK: "sam.union"(%{{.*}}, %[[L]]#2, {{.*}}) {index = "j"
// CHECK-NOT: "sam.locate"
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @arity_and_union(%arg0: tensor<4x5xf32, #csr>, %arg1: tensor<4x5xf32, #csr>, %arg2: tensor<5xf32>, %arg3: tensor<5xf32>) -> tensor<4x5xf32> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg1, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %3:3 = "sam.intersect"(%1#0, %2#0, %1#1, %2#1) {index = "i", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %4 = "sam.repeat_sig_gen"(%3#0) : (!c) -> !sam.repsig
  %5 = "sam.repeat"(%0, %4) : (!r, !sam.repsig) -> !r
  %6:2 = "sam.fiber_lookup"(%arg0, %3#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %7:2 = "sam.fiber_lookup"(%arg1, %3#2) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %8:2 = "sam.fiber_lookup"(%arg2, %5) {format = "dense", index = "j", level = 0 : i64} : (tensor<5xf32>, !r) -> (!c, !r)
  %9:4 = "sam.intersect"(%6#0, %7#0, %8#0, %6#1, %7#1, %8#1) {index = "j", operandSegmentSizes = array<i32: 3, 3, 0>, resultSegmentSizes = array<i32: 1, 3, 0>} : (!c, !c, !c, !r, !r, !r) -> (!c, !r, !r, !r)
  %10 = "sam.array"(%arg0, %9#1) : (tensor<4x5xf32, #csr>, !r) -> !v
  %11 = "sam.array"(%arg1, %9#2) : (tensor<4x5xf32, #csr>, !r) -> !v
  %12 = "sam.array"(%arg2, %9#3) : (tensor<5xf32>, !r) -> !v
  %13 = "sam.alu"(%10, %11) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %14 = "sam.alu"(%13, %12) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %15:2 = "sam.fiber_lookup"(%arg3, %5) {format = "dense", index = "j", level = 0 : i64} : (tensor<5xf32>, !r) -> (!c, !r)
  %16:3 = "sam.union"(%15#0, %9#0, %15#1, %14) {index = "j", operandSegmentSizes = array<i32: 2, 1, 1>, resultSegmentSizes = array<i32: 1, 1, 1>} : (!c, !c, !r, !v) -> (!c, !r, !v)
  %17 = "sam.array"(%arg3, %16#1) : (tensor<5xf32>, !r) -> !v
  %18 = "sam.alu"(%16#2, %17) {kind = "add", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %19 = "sam.fiber_write"(%3#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %20 = "sam.fiber_write"(%16#0) {format = "dense", level = 1 : i64} : (!c) -> !sam.level
  %21 = "sam.val_write"(%18) : (!v) -> !sam.values
  %22 = "sam.output"(%19, %20, %21) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32>
  return %22 : tensor<4x5xf32>
}

// -----

// Negative: A has 6 columns but x only 5: the intersect drops A's coordinate 5, which a
// locate would keep (and read past x), so the intersect stays.
// CHECK-LABEL: func.func @iterated_side_too_wide
// CHECK-NOT: "sam.locate"
// CHECK: "sam.intersect"
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @iterated_side_too_wide(%arg0: tensor<4x6xf32, #csr>, %arg1: tensor<5xf32>) -> tensor<4xf32> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x6xf32, #csr>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg0, %1#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x6xf32, #csr>, !r) -> (!c, !r)
  %3 = "sam.repeat_sig_gen"(%1#0) : (!c) -> !sam.repsig
  %4 = "sam.repeat"(%0, %3) : (!r, !sam.repsig) -> !r
  %5:2 = "sam.fiber_lookup"(%arg1, %4) {format = "dense", index = "j", level = 0 : i64} : (tensor<5xf32>, !r) -> (!c, !r)
  %6:3 = "sam.intersect"(%2#0, %5#0, %2#1, %5#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %7 = "sam.array"(%arg0, %6#1) : (tensor<4x6xf32, #csr>, !r) -> !v
  %8 = "sam.array"(%arg1, %6#2) : (tensor<5xf32>, !r) -> !v
  %9 = "sam.alu"(%7, %8) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %10 = "sam.reduce"(%9) {kind = "add"} : (!v) -> !v
  %11 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %12 = "sam.val_write"(%10) : (!v) -> !sam.values
  %13 = "sam.output"(%11, %12) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
  return %13 : tensor<4xf32>
}

// -----

// Lowered: SpMM with a CSR A and a row-major B in order i,k,j: A's compressed k level is
// intersected with B's dense k level, which becomes a locate under B's repeated root.
// LOWERED-LABEL: func.func @spmm_region0
// LOWERED: %[[R:.*]] = "sam.repeat"
// LOWERED: %[[A:.*]]:2 = "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "compressed", index = "k", level = 1 : i64}
// LOWERED-NOT: "sam.intersect"
// LOWERED: %[[L:.*]]:3 = "sam.locate"(%arg1, %[[A]]#0, %[[A]]#1, %[[R]]) {format = "dense", index = "k", level = 0 : i64}
// LOWERED: "sam.fiber_lookup"(%arg1, %[[L]]#1) {format = "dense", index = "j", level = 1 : i64}
// LOWERED: "sam.spacc"(%{{.*}}, %[[L]]#2, %{{.*}})
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
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

// Lowered: (A + B) * X with A, B CSR and X dense. At i every operand is dense and the lowering
// needs no joiner; at j it intersects the union's crd stream twice (once per payload of A and
// B) with X's dense scan. X is located in the union instead, and the remaining intersect(u, u)
// of one stream with itself disappears.
// LOWERED-LABEL: func.func @sum_times_dense_region0
// LOWERED-NOT: "sam.intersect"
// LOWERED: %[[R:.*]] = "sam.root"
// LOWERED: %[[A:.*]]:2 = "sam.fiber_lookup"(%arg0, %[[R]]) {format = "dense", index = "i", level = 0 : i64}
// LOWERED: %[[X:.*]]:2 = "sam.fiber_lookup"(%arg2, %[[R]]) {format = "dense", index = "i", level = 0 : i64}
// LOWERED: %[[UJ:.*]]:3 = "sam.union"
// LOWERED-SAME: index = "j"
// LOWERED: %[[LJ:.*]]:3 = "sam.locate"(%arg2, %[[UJ]]#0, %[[UJ]]#1, %[[X]]#1) {format = "dense", index = "j", level = 1 : i64}
// LOWERED: "sam.array"(%arg2, %[[LJ]]#1)
// LOWERED: "sam.fiber_write"(%[[A]]#0)
// LOWERED: "sam.fiber_write"(%[[LJ]]#2)
// LOWERED-NOT: "sam.intersect"
#id = affine_map<(d0, d1) -> (d0, d1)>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @sum_times_dense(%A: tensor<4x5xf32, #csr>, %B: tensor<4x5xf32, #csr>, %X: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %e = tensor.empty() : tensor<4x5xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%A, %B : tensor<4x5xf32, #csr>, tensor<4x5xf32, #csr>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.addf %x, %y : f32
    linalg.yield %p : f32
  } -> tensor<4x5xf32>
  %m = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %X : tensor<4x5xf32>, tensor<4x5xf32>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    linalg.yield %p : f32
  } -> tensor<4x5xf32>
  return %m : tensor<4x5xf32>
}
