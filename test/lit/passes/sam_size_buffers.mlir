// RUN: %fuseflow-opt %s --split-input-file -p 'builtin.module(sam-size-buffers)' | %FileCheck %s

// Positive: x - rowmax(x). The loaded row %3 feeds the max (a reduce: the row collapses to one
// value, repeated back over the row) and the subtraction, which cannot take x[i, :] before the
// max of row i is known and, the repeat closing its row only on the next input token, before the
// max of row i+1: the edge into the subtraction holds two rows of (8 + 1) tokens, plus slack.
// The row's coordinates drive the repeat and advance with the loads: that edge holds as much.
// CHECK-LABEL: func.func @rowmax_sub
// CHECK: "sam.reduce"(%3) {kind = "max"}
// CHECK: "sam.repeat_sig_gen"(%2#0) {fuseflow.buffers = array<i64: 22>}
// CHECK: "sam.alu"(%3, %6) {fuseflow.buffers = array<i64: 22, 0>, kind = "sub"
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
func.func @rowmax_sub(%arg0: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x8xf32>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg0, %1#1) {format = "dense", index = "j", level = 1 : i64} : (tensor<4x8xf32>, !r) -> (!c, !r)
  %3 = "sam.array"(%arg0, %2#1) : (tensor<4x8xf32>, !r) -> !v
  %4 = "sam.reduce"(%3) {kind = "max"} : (!v) -> !v
  %5 = "sam.repeat_sig_gen"(%2#0) : (!c) -> !sam.repsig
  %6 = "sam.repeat"(%4, %5) : (!v, !sam.repsig) -> !v
  %7 = "sam.alu"(%3, %6) {kind = "sub", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %8 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %9 = "sam.fiber_write"(%2#0) {format = "dense", level = 1 : i64} : (!c) -> !sam.level
  %10 = "sam.val_write"(%7) : (!v) -> !sam.values
  %11 = "sam.output"(%8, %9, %10) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x8xf32>
  return %11 : tensor<4x8xf32>
}

// -----

// Negative: x * x. The loads fan out to both operands of one ALU and never part: nothing waits
// for a whole fiber, every FIFO keeps the hardware default. A stale attribute is dropped.
// CHECK-LABEL: func.func @square
// CHECK-NOT: fuseflow.buffers
// CHECK: return
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
func.func @square(%arg0: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x8xf32>, !r) -> (!c, !r)
  %2:2 = "sam.fiber_lookup"(%arg0, %1#1) {format = "dense", index = "j", level = 1 : i64} : (tensor<4x8xf32>, !r) -> (!c, !r)
  %3 = "sam.array"(%arg0, %2#1) : (tensor<4x8xf32>, !r) -> !v
  %7 = "sam.alu"(%3, %3) {fuseflow.buffers = array<i64: 99, 99>, kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %8 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %9 = "sam.fiber_write"(%2#0) {format = "dense", level = 1 : i64} : (!c) -> !sam.level
  %10 = "sam.val_write"(%7) : (!v) -> !sam.values
  %11 = "sam.output"(%8, %9, %10) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x8xf32>
  return %11 : tensor<4x8xf32>
}
