// Block-sparse SpMM C(i,j) = sum_k A(i,k) B(k,j) on 2 x 2 tiles; A, C BSR, B BSC; order i, j, k.
// The graph of fuseflow.dialects.sam_examples.bspmm_ijk (a unit test keeps the two identical).
// RUN: %fuseflow-opt %s | %FileCheck %s
// RUN: %fuseflow graph %s --stats --dot %t.dot | %FileCheck %s --check-prefix=STATS
// RUN: %FileCheck %s --check-prefix=DOT < %t.dot
// CHECK-LABEL: func.func @bspmm_ijk
// CHECK: "sam.intersect"
// CHECK-SAME: index = "k"
// CHECK: "sam.array"
// CHECK-SAME: -> !sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.alu"
// CHECK-SAME: kind = "matmul"
// CHECK: "sam.reduce"
// CHECK-SAME: !sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.output"
// CHECK: return
// STATS: @bspmm_ijk:
// STATS: sam.reduce 1
// STATS: sam.repeat 2
// DOT: digraph "bspmm_ijk"
// DOT: n0 [label="%arg0
// DOT: -> n{{[0-9]+}} [label="crd"
// DOT: }

#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 2 : compressed, d0 mod 2 : dense, d1 mod 2 : dense) }>
#sparse1 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 floordiv 2 : dense, d0 floordiv 2 : compressed, d0 mod 2 : dense, d1 mod 2 : dense) }>
module {
  func.func @bspmm_ijk(%arg0: tensor<4x6xf32, #sparse>, %arg1: tensor<6x8xf32, #sparse1>) -> tensor<4x8xf32, #sparse> {
    %0 = "sam.root"() : () -> !sam.ref<index>
    %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x6xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %2 = "sam.repeat_sig_gen"(%1#0) : (!sam.crd<index>) -> !sam.repsig
    %3 = "sam.repeat"(%0, %2) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %4:2 = "sam.fiber_lookup"(%arg1, %3) {format = "dense", index = "j", level = 0 : i64} : (tensor<6x8xf32, #sparse1>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %5 = "sam.repeat_sig_gen"(%4#0) : (!sam.crd<index>) -> !sam.repsig
    %6 = "sam.repeat"(%1#1, %5) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %7:2 = "sam.fiber_lookup"(%arg0, %6) {format = "compressed", index = "k", level = 1 : i64} : (tensor<4x6xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %8:2 = "sam.fiber_lookup"(%arg1, %4#1) {format = "compressed", index = "k", level = 1 : i64} : (tensor<6x8xf32, #sparse1>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %9:3 = "sam.intersect"(%7#0, %8#0, %7#1, %8#1) {index = "k", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %10 = "sam.array"(%arg0, %9#1) : (tensor<4x6xf32, #sparse>, !sam.ref<index>) -> !sam.val<f32, array<i64: 2, 2>>
    %11 = "sam.array"(%arg1, %9#2) : (tensor<6x8xf32, #sparse1>, !sam.ref<index>) -> !sam.val<f32, array<i64: 2, 2>>
    %12 = "sam.alu"(%10, %11) {kind = "matmul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64: 2, 2>>, !sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
    %13 = "sam.reduce"(%12) {kind = "add"} : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
    %14 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
    %15 = "sam.fiber_write"(%4#0) {format = "compressed", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
    %16 = "sam.val_write"(%13) : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.values
    %17 = "sam.output"(%14, %15, %16) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x8xf32, #sparse>
    return %17 : tensor<4x8xf32, #sparse>
  }
}
