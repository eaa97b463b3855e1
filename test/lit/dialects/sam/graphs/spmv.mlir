// SpMV y(i) = sum_j A(i,j) x(j); A CSR 4x5, x dense; loop order i, j.
// The graph of fuseflow.dialects.sam_examples.spmv (a unit test keeps the two identical).
// RUN: %fuseflow-opt %s | %FileCheck %s
// RUN: %fuseflow graph %s --stats --dot %t.dot | %FileCheck %s --check-prefix=STATS
// RUN: %FileCheck %s --check-prefix=DOT < %t.dot
// CHECK-LABEL: func.func @spmv
// CHECK: "sam.repeat"
// CHECK: "sam.intersect"
// CHECK-SAME: index = "j"
// CHECK: "sam.reduce"
// CHECK-SAME: kind = "add"
// CHECK: "sam.output"
// CHECK: return
// STATS: @spmv:
// STATS: sam.intersect 1
// STATS: sam.reduce 1
// DOT: digraph "spmv"
// DOT: n0 [label="%arg0
// DOT: -> n{{[0-9]+}} [label="crd"
// DOT: }
// RUN: %fuseflow graph %s --print | %FileCheck %s --check-prefix=PRINT
// PRINT: @spmv(%arg0: tensor<4x5xf32, dense x compressed>, %arg1: tensor<5xf32>)
// PRINT-NEXT: %0 = root -> ref
// PRINT-NEXT: %1:2 = fiber_lookup %arg0, %0 {format=dense index=i level=0} -> crd, ref
// PRINT: %6:3 = intersect %2#0, %5#0, %2#1, %5#1 {index=j} -> crd, ref, ref
// PRINT: %9 = alu %7, %8 {kind=mul} -> val
// PRINT: return %13

#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
module {
  func.func @spmv(%arg0: tensor<4x5xf32, #sparse>, %arg1: tensor<5xf32>) -> tensor<4xf32> {
    %0 = "sam.root"() : () -> !sam.ref<index>
    %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %2:2 = "sam.fiber_lookup"(%arg0, %1#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %3 = "sam.repeat_sig_gen"(%1#0) : (!sam.crd<index>) -> !sam.repsig
    %4 = "sam.repeat"(%0, %3) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %5:2 = "sam.fiber_lookup"(%arg1, %4) {format = "dense", index = "j", level = 0 : i64} : (tensor<5xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %6:3 = "sam.intersect"(%2#0, %5#0, %2#1, %5#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %7 = "sam.array"(%arg0, %6#1) : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %8 = "sam.array"(%arg1, %6#2) : (tensor<5xf32>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %9 = "sam.alu"(%7, %8) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %10 = "sam.reduce"(%9) {kind = "add"} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %11 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
    %12 = "sam.val_write"(%10) : (!sam.val<f32, array<i64>>) -> !sam.values
    %13 = "sam.output"(%11, %12) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
    return %13 : tensor<4xf32>
  }
}
