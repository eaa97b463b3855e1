// mlir-opt's flags: passes as flags (in order, with options), unregistered dialects, IR printing
// before every pass, single-threaded runs, the dialect list, and errors for what is not a pass.

// RUN: %fuseflow-opt %s --cse --canonicalize --allow-unregistered-dialect | %FileCheck %s --check-prefix=FLAGS
// FLAGS: %[[A:.*]] = arith.addf %arg0, %arg0 : f32
// FLAGS-NEXT: %[[M:.*]] = arith.mulf %[[A]], %[[A]] : f32
// FLAGS-NEXT: "foo.bar"() : () -> ()

// RUN: %fuseflow-opt %s --allow-unregistered-dialect --cse --mlir-print-ir-before-all --mlir-disable-threading 2>&1 >/dev/null | %FileCheck %s --check-prefix=BEFORE
// BEFORE: IR Dump Before CSE
// BEFORE: arith.addf
// BEFORE: arith.addf

// RUN: %fuseflow-opt %s --allow-unregistered-dialect --canonicalize=max-iterations=3 | %FileCheck %s --check-prefix=OPTS
// OPTS: arith.mulf

// RUN: not %fuseflow-opt %s --cse 2>&1 | %FileCheck %s --check-prefix=UNREG
// UNREG: unregistered dialect

// RUN: not %fuseflow-opt %s --allow-unregistered-dialect --csee 2>&1 | %FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: error: unrecognized arguments: --csee ('--csee': cse?)

// RUN: not %fuseflow-opt %s --allow-unregistered-dialect --cse -p 'builtin.module(cse)' 2>&1 | %FileCheck %s --check-prefix=BOTH
// BOTH: error: give the passes either as -p PIPELINE or as pass flags

// RUN: %fuseflow-opt --show-dialects | %FileCheck %s --check-prefix=DIALECTS
// DIALECTS: Available Dialects: {{.*}}arith,{{.*}} sam{{.*}}sparse_tensor{{.*}}

func.func @f(%arg0: f32) -> f32 {
  %0 = arith.addf %arg0, %arg0 : f32
  %1 = arith.addf %arg0, %arg0 : f32
  %2 = arith.mulf %0, %1 : f32
  "foo.bar"() : () -> ()
  return %2 : f32
}
