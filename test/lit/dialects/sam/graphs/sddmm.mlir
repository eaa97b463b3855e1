// SDDMM C(i,j) = S(i,j) * sum_k A(i,k) B(j,k); S, C CSR, A, B dense; order i, j, k.
// The graph of fuseflow.dialects.sam_examples.sddmm (a unit test keeps the two identical).
// RUN: %fuseflow-opt %s | %FileCheck %s
// RUN: %fuseflow graph %s --stats --dot %t.dot | %FileCheck %s --check-prefix=STATS
// RUN: %FileCheck %s --check-prefix=DOT < %t.dot
// CHECK-LABEL: func.func @sddmm
// CHECK-COUNT-3: "sam.intersect"
// CHECK: "sam.reduce"
// CHECK: "sam.alu"
// CHECK-SAME: kind = "mul"
// CHECK: "sam.output"
// CHECK: return
// STATS: @sddmm:
// STATS: sam.intersect 3
// STATS: sam.reduce 1
// DOT: digraph "sddmm"
// DOT: n0 [label="%arg0
// DOT: -> n{{[0-9]+}} [label="crd"
// DOT: }

#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
module {
  func.func @sddmm(%arg0: tensor<4x5xf32, #sparse>, %arg1: tensor<4x6xf32>, %arg2: tensor<5x6xf32>) -> tensor<4x5xf32, #sparse> {
    %0 = "sam.root"() : () -> !sam.ref<index>
    %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %2:2 = "sam.fiber_lookup"(%arg1, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x6xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %3:3 = "sam.intersect"(%1#0, %2#0, %1#1, %2#1) {index = "i", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %4:2 = "sam.fiber_lookup"(%arg0, %3#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %5 = "sam.repeat_sig_gen"(%3#0) : (!sam.crd<index>) -> !sam.repsig
    %6 = "sam.repeat"(%0, %5) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %7:2 = "sam.fiber_lookup"(%arg2, %6) {format = "dense", index = "j", level = 0 : i64} : (tensor<5x6xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %8:3 = "sam.intersect"(%4#0, %7#0, %4#1, %7#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %9 = "sam.repeat_sig_gen"(%8#0) : (!sam.crd<index>) -> !sam.repsig
    %10 = "sam.repeat"(%3#2, %9) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %11:2 = "sam.fiber_lookup"(%arg1, %10) {format = "dense", index = "k", level = 1 : i64} : (tensor<4x6xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %12:2 = "sam.fiber_lookup"(%arg2, %8#2) {format = "dense", index = "k", level = 1 : i64} : (tensor<5x6xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %13:3 = "sam.intersect"(%11#0, %12#0, %11#1, %12#1) {index = "k", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %14 = "sam.array"(%arg1, %13#1) : (tensor<4x6xf32>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %15 = "sam.array"(%arg2, %13#2) : (tensor<5x6xf32>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %16 = "sam.alu"(%14, %15) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %17 = "sam.reduce"(%16) {kind = "add"} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %18 = "sam.array"(%arg0, %8#1) : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %19 = "sam.alu"(%18, %17) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %20 = "sam.fiber_write"(%3#0) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
    %21 = "sam.fiber_write"(%8#0) {format = "compressed", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
    %22 = "sam.val_write"(%19) : (!sam.val<f32, array<i64>>) -> !sam.values
    %23 = "sam.output"(%20, %21, %22) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #sparse>
    return %23 : tensor<4x5xf32, #sparse>
  }
}
