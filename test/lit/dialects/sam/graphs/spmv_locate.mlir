// SpMV with a locator y(i) = sum_j A(i,j) x(j); A CSR 4x5, x dense; order i, j; x located, not co-iterated.
// The graph of fuseflow.dialects.sam_examples.spmv_locate (a unit test keeps the two identical).
// RUN: %fuseflow-opt %s | %FileCheck %s
// RUN: %fuseflow graph %s --stats --dot %t.dot | %FileCheck %s --check-prefix=STATS
// RUN: %FileCheck %s --check-prefix=DOT < %t.dot
// CHECK-LABEL: func.func @spmv_locate
// CHECK: "sam.repeat"
// CHECK: "sam.locate"
// CHECK-SAME: {format = "dense", index = "j", level = 0 : i64}
// CHECK: "sam.reduce"
// CHECK: "sam.output"
// CHECK: return
// STATS: @spmv_locate:
// STATS: sam.fiber_lookup 2
// STATS: sam.locate 1
// DOT: digraph "spmv_locate"
// DOT: n0 [label="%arg0
// DOT: -> n{{[0-9]+}} [label="crd"
// DOT: }

#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
module {
  func.func @spmv_locate(%arg0: tensor<4x5xf32, #sparse>, %arg1: tensor<5xf32>) -> tensor<4xf32> {
    %0 = "sam.root"() : () -> !sam.ref<index>
    %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %2:2 = "sam.fiber_lookup"(%arg0, %1#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %3 = "sam.repeat_sig_gen"(%1#0) : (!sam.crd<index>) -> !sam.repsig
    %4 = "sam.repeat"(%0, %3) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %5:3 = "sam.locate"(%arg1, %2#0, %2#1, %4) {format = "dense", index = "j", level = 0 : i64} : (tensor<5xf32>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.ref<index>, !sam.ref<index>, !sam.crd<index>)
    %6 = "sam.array"(%arg0, %5#0) : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %7 = "sam.array"(%arg1, %5#1) : (tensor<5xf32>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %8 = "sam.alu"(%6, %7) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %9 = "sam.reduce"(%8) {kind = "add"} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %10 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
    %11 = "sam.val_write"(%9) : (!sam.val<f32, array<i64>>) -> !sam.values
    %12 = "sam.output"(%10, %11) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
    return %12 : tensor<4xf32>
  }
}
