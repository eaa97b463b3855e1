// SpMM C(i,j) = sum_k A(i,k) B(k,j); A CSC, B CSR, C DCSR; order k, i, j (spacc order 2).
// The graph of fuseflow.dialects.sam_examples.spmm_kij (a unit test keeps the two identical).
// RUN: %fuseflow-opt %s | %FileCheck %s
// RUN: %fuseflow graph %s --stats --dot %t.dot | %FileCheck %s --check-prefix=STATS
// RUN: %FileCheck %s --check-prefix=DOT < %t.dot
// CHECK-LABEL: func.func @spmm_kij
// CHECK: "sam.intersect"
// CHECK-SAME: index = "k"
// CHECK: "sam.spacc"
// CHECK-SAME: order = 2 : i64
// CHECK: "sam.output"
// CHECK: return
// STATS: @spmm_kij:
// STATS: sam.spacc 1
// DOT: digraph "spmm_kij"
// DOT: n0 [label="%arg0
// DOT: -> n{{[0-9]+}} [label="crd"
// DOT: }

#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed) }>
#sparse1 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
#sparse2 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed, d1 : compressed) }>
module {
  func.func @spmm_kij(%arg0: tensor<4x6xf32, #sparse>, %arg1: tensor<6x5xf32, #sparse1>) -> tensor<4x5xf32, #sparse2> {
    %0 = "sam.root"() : () -> !sam.ref<index>
    %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "k", level = 0 : i64} : (tensor<4x6xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %2:2 = "sam.fiber_lookup"(%arg1, %0) {format = "dense", index = "k", level = 0 : i64} : (tensor<6x5xf32, #sparse1>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %3:3 = "sam.intersect"(%1#0, %2#0, %1#1, %2#1) {index = "k", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %4:2 = "sam.fiber_lookup"(%arg0, %3#1) {format = "compressed", index = "i", level = 1 : i64} : (tensor<4x6xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %5 = "sam.repeat_sig_gen"(%4#0) : (!sam.crd<index>) -> !sam.repsig
    %6 = "sam.repeat"(%3#2, %5) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %7:2 = "sam.fiber_lookup"(%arg1, %6) {format = "compressed", index = "j", level = 1 : i64} : (tensor<6x5xf32, #sparse1>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %8 = "sam.repeat_sig_gen"(%7#0) : (!sam.crd<index>) -> !sam.repsig
    %9 = "sam.repeat"(%4#1, %8) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %10 = "sam.array"(%arg0, %9) : (tensor<4x6xf32, #sparse>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %11 = "sam.array"(%arg1, %7#1) : (tensor<6x5xf32, #sparse1>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %12 = "sam.alu"(%10, %11) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %13:3 = "sam.spacc"(%7#0, %4#0, %3#0, %12) {operandSegmentSizes = array<i32: 3, 1>, order = 2 : i64, resultSegmentSizes = array<i32: 2, 1>} : (!sam.crd<index>, !sam.crd<index>, !sam.crd<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.crd<index>, !sam.val<f32, array<i64>>)
    %14 = "sam.fiber_write"(%13#1) {format = "compressed", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
    %15 = "sam.fiber_write"(%13#0) {format = "compressed", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
    %16 = "sam.val_write"(%13#2) : (!sam.val<f32, array<i64>>) -> !sam.values
    %17 = "sam.output"(%14, %15, %16) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #sparse2>
    return %17 : tensor<4x5xf32, #sparse2>
  }
}
