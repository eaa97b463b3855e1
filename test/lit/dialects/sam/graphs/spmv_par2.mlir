// SpMV y(i) = sum_j A(i,j) x(j) parallelized over i with 2 lanes (fork after A's i level, join before the writers).
// The graph of fuseflow.dialects.sam_examples.spmv_par2 (a unit test keeps the two identical).
// RUN: %fuseflow-opt %s | %FileCheck %s
// RUN: %fuseflow graph %s --stats --dot %t.dot | %FileCheck %s --check-prefix=STATS
// RUN: %FileCheck %s --check-prefix=DOT < %t.dot
// CHECK-LABEL: func.func @spmv_par2
// CHECK-COUNT-2: "sam.fork"
// CHECK-COUNT-2: "sam.reduce"
// CHECK: "sam.join"
// CHECK-SAME: {depth = 0 : i64, lanes = 2 : i64
// CHECK: "sam.join"
// CHECK: "sam.output"
// CHECK: return
// STATS: @spmv_par2:
// STATS: sam.fiber_lookup 5
// STATS: sam.fork 2
// STATS: sam.join 2
// DOT: digraph "spmv_par2"
// DOT: n0 [label="%arg0
// DOT: -> n{{[0-9]+}} [label="crd"
// DOT: }

#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
module {
  func.func @spmv_par2(%arg0: tensor<4x5xf32, #sparse>, %arg1: tensor<5xf32>) -> tensor<4xf32> {
    %0 = "sam.root"() : () -> !sam.ref<index>
    %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %2:2 = "sam.fork"(%1#0) {lanes = 2 : i64, resultSegmentSizes = array<i32: 2>} : (!sam.crd<index>) -> (!sam.crd<index>, !sam.crd<index>)
    %3:2 = "sam.fork"(%1#1) {lanes = 2 : i64, resultSegmentSizes = array<i32: 2>} : (!sam.ref<index>) -> (!sam.ref<index>, !sam.ref<index>)
    %4:2 = "sam.fiber_lookup"(%arg0, %3#0) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %5 = "sam.repeat_sig_gen"(%2#0) : (!sam.crd<index>) -> !sam.repsig
    %6 = "sam.repeat"(%0, %5) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %7:2 = "sam.fiber_lookup"(%arg1, %6) {format = "dense", index = "j", level = 0 : i64} : (tensor<5xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %8:3 = "sam.intersect"(%4#0, %7#0, %4#1, %7#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %9 = "sam.array"(%arg0, %8#1) : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %10 = "sam.array"(%arg1, %8#2) : (tensor<5xf32>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %11 = "sam.alu"(%9, %10) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %12 = "sam.reduce"(%11) {kind = "add"} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %13:2 = "sam.fiber_lookup"(%arg0, %3#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %14 = "sam.repeat_sig_gen"(%2#1) : (!sam.crd<index>) -> !sam.repsig
    %15 = "sam.repeat"(%0, %14) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
    %16:2 = "sam.fiber_lookup"(%arg1, %15) {format = "dense", index = "j", level = 0 : i64} : (tensor<5xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
    %17:3 = "sam.intersect"(%13#0, %16#0, %13#1, %16#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    %18 = "sam.array"(%arg0, %17#1) : (tensor<4x5xf32, #sparse>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %19 = "sam.array"(%arg1, %17#2) : (tensor<5xf32>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
    %20 = "sam.alu"(%18, %19) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %21 = "sam.reduce"(%20) {kind = "add"} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %22 = "sam.join"(%2#0, %2#1) {depth = 0 : i64, lanes = 2 : i64, operandSegmentSizes = array<i32: 2>} : (!sam.crd<index>, !sam.crd<index>) -> !sam.crd<index>
    %23 = "sam.join"(%12, %21) {depth = 0 : i64, lanes = 2 : i64, operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
    %24 = "sam.fiber_write"(%22) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
    %25 = "sam.val_write"(%23) : (!sam.val<f32, array<i64>>) -> !sam.values
    %26 = "sam.output"(%24, %25) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
    return %26 : tensor<4xf32>
  }
}
