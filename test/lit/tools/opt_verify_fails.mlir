// An unmet expectation or an unexpected error fails --verify-diagnostics.
// RUN: %not %fuseflow-opt %s --verify-diagnostics 2>&1 | %FileCheck %s
// CHECK: expected error "this message is never produced" was not produced

// expected-error @below {{this message is never produced}}
func.func @fine(%a: f32) -> f32 {
  return %a : f32
}
