// RUN: %fuseflow-opt %s -p 'builtin.module(fuseflow-fold-transposes,canonicalize,func.func(cse))' --mlir-print-ir-after-all 2>&1 >/dev/null | %FileCheck %s --check-prefix=AFTER
// AFTER: IR Dump After FoldTransposesPass
// AFTER: IR Dump After Canonicalizer
// AFTER: IR Dump After CSE

// RUN: %fuseflow-opt %s -p 'builtin.module(fuseflow-fold-transposes,canonicalize)' --mlir-timing 2>&1 >/dev/null | %FileCheck %s --check-prefix=TIMING
// TIMING: Execution time report
// TIMING: FoldTransposesPass
// TIMING: Canonicalizer

// RUN: %fuseflow-opt %s --mlir-print-op-generic | %FileCheck %s --check-prefix=GENERIC
// GENERIC: "func.func"()

// RUN: %fuseflow-opt --list-passes | %FileCheck %s --check-prefix=LIST
// LIST: fuseflow passes:
// LIST: fuseflow-fold-sparse-casts {{ *}}Fold `tensor.cast` to a sparse type
// LIST: fuseflow-fold-transposes
// LIST: upstream MLIR passes:
// LIST: canonicalize {{ *}}Canonicalize operations
// LIST-NEXT: options: {{.*}}max-iterations=10
// LIST: sparse-assembler

// RUN: %fuseflow opt %s -p 'builtin.module(cse)' | %FileCheck %s --check-prefix=SUB
// SUB: func.func @f

func.func @f(%arg0: f32) -> f32 {
  %0 = arith.addf %arg0, %arg0 : f32
  %1 = arith.addf %arg0, %arg0 : f32
  %2 = arith.mulf %0, %1 : f32
  return %2 : f32
}
