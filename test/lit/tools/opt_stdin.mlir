// Garbage on stdin is a parse error with a location, exit 1, no traceback.
// RUN: echo garbage | %not %fuseflow-opt 2>&1 | %FileCheck %s
// CHECK: <stdin>:1:1: error:
// CHECK-NOT: Traceback

// A module from stdin round-trips; -o writes a file.
// RUN: %fuseflow-opt < %s -o %t.mlir && %FileCheck %s --check-prefix=RT < %t.mlir
// RT: func.func @id(%arg0: f32) -> f32
func.func @id(%arg0: f32) -> f32 {
  return %arg0 : f32
}
