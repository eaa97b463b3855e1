// SpMM C(i,j) = sum_k A(i,k) B(k,j); A CSR, B CSC, C dense; order i, j, k (reduce).
// The graph of fuseflow.dialects.sam_examples.spmm_ijk (a unit test keeps the two identical).
// RUN: %fuseflow-opt %s | %FileCheck %s
// RUN: %fuseflow graph %s --stats --dot %t.dot | %FileCheck %s --check-prefix=STATS
// RUN: %FileCheck %s --check-prefix=DOT < %t.dot
// CHECK-LABEL: func.func @spmm_ijk
// CHECK-COUNT-2: "sam.repeat"
// CHECK: "sam.intersect"
// CHECK-SAME: index = "k"
// CHECK: "sam.reduce"
// CHECK: "sam.output"
// CHECK: return
// STATS: @spmm_ijk:
// STATS: sam.reduce 1
// STATS: sam.repeat 2
// DOT: digraph "spmm_ijk"
// DOT: n0 [label="%arg0
// DOT: -> n{{[0-9]+}} [label="crd"
// DOT: }

#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
#sparse1 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed) }>
module {
  func.func @spmm_ijk(%arg0: tensor<4x6xf32, #sparse>, %arg1: tensor<6x5xf32, #sparse1>) -> tensor<4x5xf32> {
    %0 = "sam.root"() : () -> !sam.ref<index>
    %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x6xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %2 = "sam.repeat_sig_gen"(%1#0) : (!sam.crd<index>) -> !sam.repsig
    %3 = "sam.repeat"(%0, %2) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %4:2 = "sam.fiber_lookup"(%arg1, %3) {format = "dense", index = "j", level = 0 : i64} : (tensor<6x5xf32, #sparse1>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %5 = "sam.repeat_sig_gen"(%4#0) : (!sam.crd<index>) -> !sam.repsig
    %6 = "sam.repeat"(%1#1, %5) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %7:2 = "sam.fiber_lookup"(%arg0, %6) {format = "compressed", index = "k", level = 1 : i64} : (tensor<4x6xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %8:2 = "sam.fiber_lookup"(%arg1, %4#1) {format = "compressed", index = "k", level = 1 : i64} : (tensor<6x5xf32, #sparse1>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %9:3 = "sam.intersect"(%7#0, %8#0, %7#1, %8#1) {index = "k", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %10 = "sam.array"(%arg0, %9#1) : (tensor<4x6xf32, #sparse>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %11 = "sam.array"(%arg1, %9#2) : (tensor<6x5xf32, #sparse1>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %12 = "sam.alu"(%10, %11) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %13 = "sam.reduce"(%12) {kind = "add"} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %14 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
    %15 = "sam.fiber_write"(%4#0) {format = "dense", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
    %16 = "sam.val_write"(%13) : (!sam.val<f32, array<i64>>) -> !sam.values
    %17 = "sam.output"(%14, %15, %16) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32>
    return %17 : tensor<4x5xf32>
  }
}
