// Every sam op parses, verifies and prints; printing the parsed output again gives the same text.
// RUN: %fuseflow-opt %s -o %t.1.mlir
// RUN: %fuseflow-opt %t.1.mlir -o %t.2.mlir
// RUN: diff %t.1.mlir %t.2.mlir
// RUN: %FileCheck %s < %t.2.mlir

#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
#coo = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed(nonunique), d1 : singleton) }>
#bsr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 2 : compressed, d0 mod 2 : dense, d1 mod 2 : dense) }>

// CHECK-LABEL: func.func @scanners
// CHECK: "sam.root"() : () -> !sam.ref<index>
// CHECK: "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "dense", index = "i", level = 0 : i64}
// CHECK: "sam.fiber_lookup"(%arg0, %{{.*}}) {format = "compressed", index = "j", level = 1 : i64}
// CHECK: "sam.fiber_lookup"(%arg1, %{{.*}}) {format = "compressed", index = "i", level = 0 : i64}
// CHECK: "sam.fiber_lookup"(%arg1, %{{.*}}) {format = "singleton", index = "j", level = 1 : i64}
// CHECK: "sam.locate"(%arg2, %{{.*}}, %{{.*}}, %{{.*}}) {format = "dense", index = "j", level = 1 : i64}
// CHECK-SAME: -> (!sam.ref<index>, !sam.ref<index>, !sam.crd<index>)
func.func @scanners(%A: tensor<4x5xf32, #csr>, %C: tensor<4x5xf32, #coo>, %D: tensor<4x5xf32>) {
  %root = "sam.root"() : () -> !sam.ref<index>
  %ci, %ri = "sam.fiber_lookup"(%A, %root) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #csr>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  %cj, %rj = "sam.fiber_lookup"(%A, %ri) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  %c0, %r0 = "sam.fiber_lookup"(%C, %root) {format = "compressed", index = "i", level = 0 : i64} : (tensor<4x5xf32, #coo>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  %c1, %r1 = "sam.fiber_lookup"(%C, %r0) {format = "singleton", index = "j", level = 1 : i64} : (tensor<4x5xf32, #coo>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  %it, %loc, %crd = "sam.locate"(%D, %cj, %rj, %ri) {format = "dense", index = "j", level = 1 : i64} : (tensor<4x5xf32>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.ref<index>, !sam.ref<index>, !sam.crd<index>)
  return
}

// CHECK-LABEL: func.func @joiners
// CHECK: "sam.intersect"(%arg0, %arg1, %arg2, %arg3) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>}
// CHECK: "sam.union"(%arg0, %arg1, %arg0, %arg4, %arg5, %arg4) {index = "j", operandSegmentSizes = array<i32: 3, 0, 3>, resultSegmentSizes = array<i32: 1, 0, 3>}
// CHECK-SAME: -> (!sam.crd<index>, !sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>)
// CHECK: "sam.intersect"(%arg0, %arg1, %arg2, %arg4) {index = "j", operandSegmentSizes = array<i32: 2, 1, 1>, resultSegmentSizes = array<i32: 1, 1, 1>}
// CHECK-SAME: -> (!sam.crd<index>, !sam.ref<index>, !sam.val<f32, array<i64>>)
func.func @joiners(%c0: !sam.crd<index>, %c1: !sam.crd<index>, %r0: !sam.ref<index>, %r1: !sam.ref<index>,
                   %v0: !sam.val<f32, array<i64>>, %v1: !sam.val<f32, array<i64>>) {
  %c, %p:2 = "sam.intersect"(%c0, %c1, %r0, %r1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
  %u, %q:3 = "sam.union"(%c0, %c1, %c0, %v0, %v1, %v0) {index = "j", operandSegmentSizes = array<i32: 3, 0, 3>, resultSegmentSizes = array<i32: 1, 0, 3>} : (!sam.crd<index>, !sam.crd<index>, !sam.crd<index>, !sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>)
  %m, %mr, %mv = "sam.intersect"(%c0, %c1, %r0, %v0) {index = "j", operandSegmentSizes = array<i32: 2, 1, 1>, resultSegmentSizes = array<i32: 1, 1, 1>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.ref<index>, !sam.val<f32, array<i64>>)
  return
}

// CHECK-LABEL: func.func @repeaters
// CHECK: "sam.repeat_sig_gen"(%arg0) : (!sam.crd<index>) -> !sam.repsig
// CHECK: "sam.repeat_sig_gen"(%arg1) : (!sam.ref<index>) -> !sam.repsig
// CHECK: "sam.repeat"(%arg1, %{{.*}}) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
// CHECK: "sam.repeat"(%arg2, %{{.*}}) : (!sam.val<f32, array<i64: 2, 2>>, !sam.repsig) -> !sam.val<f32, array<i64: 2, 2>>
func.func @repeaters(%c: !sam.crd<index>, %r: !sam.ref<index>, %v: !sam.val<f32, array<i64: 2, 2>>) {
  %s0 = "sam.repeat_sig_gen"(%c) : (!sam.crd<index>) -> !sam.repsig
  %s1 = "sam.repeat_sig_gen"(%r) : (!sam.ref<index>) -> !sam.repsig
  %0 = "sam.repeat"(%r, %s0) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>
  %1 = "sam.repeat"(%v, %s1) : (!sam.val<f32, array<i64: 2, 2>>, !sam.repsig) -> !sam.val<f32, array<i64: 2, 2>>
  return
}

// CHECK-LABEL: func.func @values
// CHECK: "sam.array"(%arg0, %arg2) : (tensor<4x5xf32, #{{.*}}>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
// CHECK: "sam.array"(%arg1, %arg2) : (tensor<4x6xf32, #{{.*}}>, !sam.ref<index>) -> !sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.alu"(%{{.*}}, %{{.*}}) {kind = "sub", operandSegmentSizes = array<i32: 2>}
// CHECK: "sam.alu"(%{{.*}}) {kind = "exp", operandSegmentSizes = array<i32: 1>}
// CHECK: "sam.alu"(%{{.*}}) {kind = "mul", operandSegmentSizes = array<i32: 1>, scalar = 5.000000e-01 : f32}
// CHECK: "sam.alu"(%{{.*}}, %{{.*}}) {kind = "add", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.alu"(%{{.*}}, %{{.*}}) {kind = "matmul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64: 2, 2>>, !sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.alu"(%{{.*}}, %{{.*}}) {kind = "matmul_nt", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64: 2, 2>>, !sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.alu"(%{{.*}}) {kind = "row_sum", operandSegmentSizes = array<i32: 1>} : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.alu"(%{{.*}}) {kind = "transpose", operandSegmentSizes = array<i32: 1>} : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
// CHECK: "sam.reduce"(%{{.*}}) {kind = "max"}
// CHECK: "sam.reduce"(%{{.*}}) {kind = "add"} : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
func.func @values(%A: tensor<4x5xf32, #csr>, %B: tensor<4x6xf32, #bsr>, %r: !sam.ref<index>,
                  %p: !sam.val<f32, array<i64: 2, 2>>, %q: !sam.val<f32, array<i64: 2, 2>>) {
  %a = "sam.array"(%A, %r) : (tensor<4x5xf32, #csr>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
  %t = "sam.array"(%B, %r) : (tensor<4x6xf32, #bsr>, !sam.ref<index>) -> !sam.val<f32, array<i64: 2, 2>>
  %d = "sam.alu"(%a, %a) {kind = "sub", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  %e = "sam.alu"(%d) {kind = "exp", operandSegmentSizes = array<i32: 1>} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  %h = "sam.alu"(%e) {kind = "mul", operandSegmentSizes = array<i32: 1>, scalar = 0.5 : f32} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  %tt = "sam.alu"(%t, %t) {kind = "add", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64: 2, 2>>, !sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
  %pq = "sam.alu"(%p, %q) {kind = "matmul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64: 2, 2>>, !sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
  %pqt = "sam.alu"(%p, %q) {kind = "matmul_nt", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64: 2, 2>>, !sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
  %rs = "sam.alu"(%p) {kind = "row_sum", operandSegmentSizes = array<i32: 1>} : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
  %pt = "sam.alu"(%p) {kind = "transpose", operandSegmentSizes = array<i32: 1>} : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
  %m = "sam.reduce"(%h) {kind = "max"} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  %s = "sam.reduce"(%tt) {kind = "add"} : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
  return
}

// CHECK-LABEL: func.func @accumulators
// CHECK: "sam.spacc"(%arg0, %arg1, %arg3) {operandSegmentSizes = array<i32: 2, 1>, order = 1 : i64, resultSegmentSizes = array<i32: 1, 1>}
// CHECK: "sam.spacc"(%arg0, %arg1, %arg2, %arg3) {operandSegmentSizes = array<i32: 3, 1>, order = 2 : i64, resultSegmentSizes = array<i32: 2, 1>}
// CHECK: "sam.crd_drop"(%arg1, %arg0) : (!sam.crd<index>, !sam.crd<index>) -> (!sam.crd<index>, !sam.crd<index>)
// CHECK: "sam.crd_hold"(%arg1, %arg0) : (!sam.crd<index>, !sam.crd<index>) -> (!sam.crd<index>, !sam.crd<index>)
func.func @accumulators(%c0: !sam.crd<index>, %c1: !sam.crd<index>, %c2: !sam.crd<index>, %v: !sam.val<f32, array<i64>>) {
  %a, %av = "sam.spacc"(%c0, %c1, %v) {operandSegmentSizes = array<i32: 2, 1>, order = 1 : i64, resultSegmentSizes = array<i32: 1, 1>} : (!sam.crd<index>, !sam.crd<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.val<f32, array<i64>>)
  %b:2, %bv = "sam.spacc"(%c0, %c1, %c2, %v) {operandSegmentSizes = array<i32: 3, 1>, order = 2 : i64, resultSegmentSizes = array<i32: 2, 1>} : (!sam.crd<index>, !sam.crd<index>, !sam.crd<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.crd<index>, !sam.val<f32, array<i64>>)
  %do, %di = "sam.crd_drop"(%c1, %c0) : (!sam.crd<index>, !sam.crd<index>) -> (!sam.crd<index>, !sam.crd<index>)
  %ho, %hi = "sam.crd_hold"(%c1, %c0) : (!sam.crd<index>, !sam.crd<index>) -> (!sam.crd<index>, !sam.crd<index>)
  return
}

// CHECK-LABEL: func.func @parallel
// CHECK: "sam.fork"(%arg0) {lanes = 2 : i64, resultSegmentSizes = array<i32: 2>} : (!sam.crd<index>) -> (!sam.crd<index>, !sam.crd<index>)
// CHECK: "sam.join"(%{{.*}}#0, %{{.*}}#1) {depth = 0 : i64, lanes = 2 : i64, operandSegmentSizes = array<i32: 2>} : (!sam.crd<index>, !sam.crd<index>) -> !sam.crd<index>
func.func @parallel(%c: !sam.crd<index>) -> !sam.crd<index> {
  %l:2 = "sam.fork"(%c) {lanes = 2 : i64, resultSegmentSizes = array<i32: 2>} : (!sam.crd<index>) -> (!sam.crd<index>, !sam.crd<index>)
  %j = "sam.join"(%l#0, %l#1) {depth = 0 : i64, lanes = 2 : i64, operandSegmentSizes = array<i32: 2>} : (!sam.crd<index>, !sam.crd<index>) -> !sam.crd<index>
  return %j : !sam.crd<index>
}

// CHECK-LABEL: func.func @writers
// CHECK: "sam.fiber_write"(%arg0) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
// CHECK: "sam.fiber_write"(%arg1) {format = "compressed", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
// CHECK: "sam.val_write"(%arg2) : (!sam.val<f32, array<i64>>) -> !sam.values
// CHECK: "sam.output"(%{{.*}}, %{{.*}}, %{{.*}}) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #{{.*}}>
func.func @writers(%ci: !sam.crd<index>, %cj: !sam.crd<index>, %v: !sam.val<f32, array<i64>>) -> tensor<4x5xf32, #csr> {
  %l0 = "sam.fiber_write"(%ci) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
  %l1 = "sam.fiber_write"(%cj) {format = "compressed", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
  %w = "sam.val_write"(%v) : (!sam.val<f32, array<i64>>) -> !sam.values
  %C = "sam.output"(%l0, %l1, %w) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #csr>
  return %C : tensor<4x5xf32, #csr>
}

// CHECK-LABEL: func.func @tiled_output
// CHECK: "sam.output"(%{{.*}}, %{{.*}}, %{{.*}}) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x6xf32, #{{.*}}>
func.func @tiled_output(%ci: !sam.crd<index>, %cj: !sam.crd<index>, %v: !sam.val<f32, array<i64: 2, 2>>) -> tensor<4x6xf32, #bsr> {
  %l0 = "sam.fiber_write"(%ci) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
  %l1 = "sam.fiber_write"(%cj) {format = "compressed", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
  %w = "sam.val_write"(%v) : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.values
  %C = "sam.output"(%l0, %l1, %w) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x6xf32, #bsr>
  return %C : tensor<4x6xf32, #bsr>
}
