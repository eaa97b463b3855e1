// RUN: %fuseflow-opt %s --split-input-file --verify-diagnostics
// RUN: %not %fuseflow-opt %s --split-input-file 2>&1 | %FileCheck %s
// Without --verify-diagnostics the errors are printed at their line in this file.
// CHECK: opt_split_verify.mlir:15:8: error: 'arith.addf' op requires the same type for all operands and results
// CHECK: opt_split_verify.mlir:22:3: error: 'func.return' op has 1 operands, but enclosing function (@bad_return) returns 0

func.func @fine(%a: f32) -> f32 {
  return %a : f32
}

// -----

func.func @bad_add(%a: f32, %b: f64) -> f32 {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "arith.addf"(%a, %b) : (f32, f64) -> f32
  return %0 : f32
}

// -----

func.func @bad_return(%a: f32) {
  return %a : f32 // expected-error {{has 1 operands, but enclosing function (@bad_return) returns 0}}
}
