// Sparse elementwise add C = A + B; A, B, C CSR; union over i and j.
// The graph of fuseflow.dialects.sam_examples.add (a unit test keeps the two identical).
// RUN: %fuseflow-opt %s | %FileCheck %s
// RUN: %fuseflow graph %s --stats --dot %t.dot | %FileCheck %s --check-prefix=STATS
// RUN: %FileCheck %s --check-prefix=DOT < %t.dot
// CHECK-LABEL: func.func @add
// CHECK-COUNT-2: "sam.union"
// CHECK: "sam.alu"
// CHECK-SAME: kind = "add"
// CHECK: "sam.output"
// CHECK: return
// STATS: @add:
// STATS: sam.union 2
// DOT: digraph "add"
// DOT: n0 [label="%arg0
// DOT: -> n{{[0-9]+}} [label="crd"
// DOT: }

#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
module {
  func.func @add(%arg0: tensor<4x5xf32, #sparse>, %arg1: tensor<4x5xf32, #sparse>) -> tensor<4x5xf32, #sparse> {
    %0 = "sam.root"() : () -> !sam.ref<index>
    %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %2:2 = "sam.fiber_lookup"(%arg1, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %3:3 = "sam.union"(%1#0, %2#0, %1#1, %2#1) {index = "i", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %4:2 = "sam.fiber_lookup"(%arg0, %3#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %5:2 = "sam.fiber_lookup"(%arg1, %3#2) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %6:3 = "sam.union"(%4#0, %5#0, %4#1, %5#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %7 = "sam.array"(%arg0, %6#1) : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %8 = "sam.array"(%arg1, %6#2) : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %9 = "sam.alu"(%7, %8) {kind = "add", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %10 = "sam.fiber_write"(%3#0) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
    %11 = "sam.fiber_write"(%6#0) {format = "compressed", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
    %12 = "sam.val_write"(%9) : (!sam.val<f32, array<i64>>) -> !sam.values
    %13 = "sam.output"(%10, %11, %12) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #sparse>
    return %13 : tensor<4x5xf32, #sparse>
  }
}
