// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(sam-dedup-streams)' | %FileCheck %s
// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(sam-dedup-streams{cse=false})' | %FileCheck %s --check-prefix=NOCSE

// Positive (a): the pair (%2#0, %2#1) enters the intersect twice. One copy is kept; the
// duplicate's payload result is replaced by the kept one's, so the two array loads become
// identical and cse merges them (without cse both loads stay, reading the same stream).
// CHECK-LABEL: func.func @dup_pair
// CHECK: %[[J:.*]]:3 = "sam.intersect"(%2#0, %5#0, %2#1, %5#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>}
// CHECK: %[[A:.*]] = "sam.array"(%arg0, %[[J]]#1)
// CHECK-NOT: "sam.array"(%arg0
// CHECK: "sam.alu"(%{{.*}}, %[[A]]) {kind = "mul"
// NOCSE-LABEL: func.func @dup_pair
// NOCSE: %[[J:.*]]:3 = "sam.intersect"(%2#0, %5#0, %2#1, %5#1)
// NOCSE: "sam.array"(%arg0, %[[J]]#1)
// NOCSE: "sam.array"(%arg0, %[[J]]#1)
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @dup_pair(%arg0: tensor<4x5xf32, #csr>, %arg1: tensor<5xf32>) -> tensor<4xf32> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg0, %1#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %3 = "sam.repeat_sig_gen"(%1#0) : (!c) -> !sam.repsig
  %4 = "sam.repeat"(%0, %3) : (!r, !sam.repsig) -> !r
  %5:2 = "sam.fiber_lookup"(%arg1, %4) {format = "dense", index = "j", level = 0 : i64} : (tensor<5xf32>, !r) -> (!c, !r)
  %6:4 = "sam.intersect"(%2#0, %5#0, %2#0, %2#1, %5#1, %2#1) {index = "j", operandSegmentSizes = array<i32: 3, 3, 0>, resultSegmentSizes = array<i32: 1, 3, 0>} : (!c, !c, !c, !r, !r, !r) -> (!c, !r, !r, !r)
  %7 = "sam.array"(%arg0, %6#1) : (tensor<4x5xf32, #csr>, !r) -> !v
  %8 = "sam.array"(%arg1, %6#2) : (tensor<5xf32>, !r) -> !v
  %9 = "sam.array"(%arg0, %6#3) : (tensor<4x5xf32, #csr>, !r) -> !v
  %10 = "sam.alu"(%7, %8) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %11 = "sam.alu"(%10, %9) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %12 = "sam.reduce"(%11) {kind = "add"} : (!v) -> !v
  %13 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %14 = "sam.val_write"(%12) : (!v) -> !sam.values
  %15 = "sam.output"(%13, %14) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
  return %15 : tensor<4xf32>
}

// -----

// Positive (b): a union of one N-free crd stream with itself (two payloads of that stream) is
// the stream itself: the union is removed and the loads read the payloads directly. (The
// `tag` attribute keeps cse from merging the two otherwise identical scanners.)
// CHECK-LABEL: func.func @self_union
// CHECK-NOT: "sam.union"
// CHECK: %[[S:.*]]:2 = "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "compressed", index = "j", level = 1 : i64}
// CHECK: %[[T:.*]]:2 = "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "compressed", index = "j", level = 1 : i64, tag}
// CHECK: "sam.array"(%arg0, %[[S]]#1)
// CHECK: "sam.array"(%arg0, %[[T]]#1)
// CHECK: "sam.fiber_write"(%[[S]]#0) {format = "compressed", level = 1 : i64}
// NOCSE-LABEL: func.func @self_union
// NOCSE-NOT: "sam.union"
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @self_union(%arg0: tensor<4x5xf32, #csr>) -> tensor<4x5xf32, #csr> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg0, %1#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %3:2 = "sam.fiber_lookup"(%arg0, %1#1) {format = "compressed", index = "j", level = 1 : i64, tag} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %4:3 = "sam.union"(%2#0, %2#0, %2#1, %3#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %5 = "sam.array"(%arg0, %4#1) : (tensor<4x5xf32, #csr>, !r) -> !v
  %6 = "sam.array"(%arg0, %4#2) : (tensor<4x5xf32, #csr>, !r) -> !v
  %7 = "sam.alu"(%5, %6) {kind = "add", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %8 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %9 = "sam.fiber_write"(%4#0) {format = "compressed", level = 1 : i64} : (!c) -> !sam.level
  %10 = "sam.val_write"(%7) : (!v) -> !sam.values
  %11 = "sam.output"(%8, %9, %10) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #csr>
  return %11 : tensor<4x5xf32, #csr>
}

// -----

// Positive (c then b): two identical roots and scanners are merged by cse, which makes both
// intersect inputs the same pair; the single-pair intersect is then the stream itself.
// CHECK-LABEL: func.func @cse_then_self_join
// CHECK-COUNT-1: "sam.root"
// CHECK-NOT: "sam.intersect"
// CHECK: %[[D:.*]]:2 = "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "dense", index = "i", level = 0 : i64}
// CHECK-NOT: "sam.fiber_lookup"
// CHECK: "sam.array"(%arg0, %[[D]]#1)
// CHECK: "sam.fiber_write"(%[[D]]#0)
// Without cse the two scanners differ, so the intersect stays.
// NOCSE-LABEL: func.func @cse_then_self_join
// NOCSE: "sam.intersect"
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
func.func @cse_then_self_join(%arg0: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "sam.root"() : () -> !r
  %1 = "sam.root"() : () -> !r
  %2:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4xf32>, !r) -> (!c, !r)
  %3:2 = "sam.fiber_lookup"(%arg0, %1) {format = "dense", index = "i", level = 0 : i64} : (tensor<4xf32>, !r) -> (!c, !r)
  %4:3 = "sam.intersect"(%2#0, %3#0, %2#1, %3#1) {index = "i", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %5 = "sam.array"(%arg0, %4#1) : (tensor<4xf32>, !r) -> !v
  %6 = "sam.array"(%arg0, %4#2) : (tensor<4xf32>, !r) -> !v
  %7 = "sam.alu"(%5, %6) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %8 = "sam.fiber_write"(%4#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %9 = "sam.val_write"(%7) : (!v) -> !sam.values
  %10 = "sam.output"(%8, %9) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
  return %10 : tensor<4xf32>
}

// -----

// Negative (b): the j crd stream scans a union's payload ref, so it may carry N tokens, which
// an intersect drops: intersect(c, c) is not c here and stays.
// CHECK-LABEL: func.func @self_join_of_empty_tokens
// CHECK: "sam.union"
// CHECK: %[[S:.*]]:2 = "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "compressed", index = "j", level = 1 : i64}
// CHECK: "sam.intersect"(%[[S]]#0, %[[S]]#0, %[[S]]#1, %{{.*}})
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
#dcsr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed, d1 : compressed) }>
func.func @self_join_of_empty_tokens(%arg0: tensor<4x5xf32, #dcsr>, %arg1: tensor<4x5xf32, #dcsr>) -> tensor<4x5xf32, #dcsr> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "compressed", index = "i", level = 0 : i64} : (tensor<4x5xf32, #dcsr>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg1, %0) {format = "compressed", index = "i", level = 0 : i64} : (tensor<4x5xf32, #dcsr>, !r) -> (!c, !r)
  %3:3 = "sam.union"(%1#0, %2#0, %1#1, %2#1) {index = "i", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %4:2 = "sam.fiber_lookup"(%arg0, %3#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #dcsr>, !r) -> (!c, !r)
  %5 = "sam.array"(%arg0, %4#1) : (tensor<4x5xf32, #dcsr>, !r) -> !v
  %6:3 = "sam.intersect"(%4#0, %4#0, %4#1, %5) {index = "j", operandSegmentSizes = array<i32: 2, 1, 1>, resultSegmentSizes = array<i32: 1, 1, 1>} : (!c, !c, !r, !v) -> (!c, !r, !v)
  %7 = "sam.fiber_write"(%3#0) {format = "compressed", level = 0 : i64} : (!c) -> !sam.level
  %8 = "sam.fiber_write"(%6#0) {format = "compressed", level = 1 : i64} : (!c) -> !sam.level
  %9 = "sam.val_write"(%6#2) : (!v) -> !sam.values
  %10 = "sam.output"(%7, %8, %9) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #dcsr>
  return %10 : tensor<4x5xf32, #dcsr>
}

// -----

// Negative (partial duplicates), as convert-linalg-to-sam emits for relu((A + X) + b[i]): the
// outer union at i passes the inner union's two payloads with its crd stream %3#0 twice. One
// payload per crd operand: both inputs stay, and so does the union.
// CHECK-LABEL: func.func @chain_region0
// CHECK: %[[U:.*]]:3 = "sam.union"(%1#0, %2#0, %1#1, %2#1)
// CHECK: "sam.union"(%[[U]]#0, %[[U]]#0, %{{.*}}#0, %[[U]]#1, %[[U]]#2, %{{.*}}#1) {index = "i", operandSegmentSizes = array<i32: 3, 3, 0>
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @chain_region0(%arg0: tensor<4x4xf32, #csr>, %arg1: tensor<4x4xf32>, %arg2: tensor<4xf32>) -> tensor<4x4xf32> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x4xf32, #csr>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg1, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x4xf32>, !r) -> (!c, !r)
  %3:3 = "sam.union"(%1#0, %2#0, %1#1, %2#1) {index = "i", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %4:2 = "sam.fiber_lookup"(%arg2, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4xf32>, !r) -> (!c, !r)
  %5:4 = "sam.union"(%3#0, %3#0, %4#0, %3#1, %3#2, %4#1) {index = "i", operandSegmentSizes = array<i32: 3, 3, 0>, resultSegmentSizes = array<i32: 1, 3, 0>} : (!c, !c, !c, !r, !r, !r) -> (!c, !r, !r, !r)
  %6:2 = "sam.fiber_lookup"(%arg0, %5#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x4xf32, #csr>, !r) -> (!c, !r)
  %7:2 = "sam.fiber_lookup"(%arg1, %5#2) {format = "dense", index = "j", level = 1 : i64} : (tensor<4x4xf32>, !r) -> (!c, !r)
  %8:3 = "sam.union"(%6#0, %7#0, %6#1, %7#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!c, !c, !r, !r) -> (!c, !r, !r)
  %9 = "sam.repeat_sig_gen"(%8#0) : (!c) -> !sam.repsig
  %10 = "sam.repeat"(%5#3, %9) : (!r, !sam.repsig) -> !r
  %11 = "sam.array"(%arg0, %8#1) : (tensor<4x4xf32, #csr>, !r) -> !v
  %12 = "sam.array"(%arg1, %8#2) : (tensor<4x4xf32>, !r) -> !v
  %13 = "sam.alu"(%11, %12) {kind = "add", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %14 = "sam.array"(%arg2, %10) : (tensor<4xf32>, !r) -> !v
  %15 = "sam.alu"(%13, %14) {kind = "add", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %16 = "sam.alu"(%15) {kind = "relu", operandSegmentSizes = array<i32: 1>} : (!v) -> !v
  %17 = "sam.fiber_write"(%5#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %18 = "sam.fiber_write"(%8#0) {format = "dense", level = 1 : i64} : (!c) -> !sam.level
  %19 = "sam.val_write"(%16) : (!v) -> !sam.values
  %20 = "sam.output"(%17, %18, %19) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x4xf32>
  return %20 : tensor<4x4xf32>
}

// -----

// Negative: functions without sam ops are not touched (cse runs on SAM graphs only).
// CHECK-LABEL: func.func @no_sam
// CHECK-COUNT-2: arith.constant 1.000000e+00 : f32
func.func @no_sam() -> (f32, f32) {
  %a = arith.constant 1.0 : f32
  %b = arith.constant 1.0 : f32
  return %a, %b : f32, f32
}
