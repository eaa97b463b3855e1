// Every user error exits 1 with a diagnostic and never a Python traceback.

// RUN: %not %fuseflow-opt %s -p 'builtin.module(canonicaliz)' 2>&1 | %FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: unknown pass 'canonicaliz'; did you mean 'canonicalize'
// UNKNOWN-NOT: Traceback

// RUN: %not %fuseflow-opt %s -p 'builtin.module(fuseflow-fold-sparse-cast)' 2>&1 | %FileCheck %s --check-prefix=UNKNOWN-FF
// UNKNOWN-FF: unknown pass 'fuseflow-fold-sparse-cast'; did you mean 'fuseflow-fold-sparse-casts'

// RUN: %not %fuseflow-opt %s -p 'builtin.module(canonicalize{max-iterations=abc})' 2>&1 | %FileCheck %s --check-prefix=BADOPT
// BADOPT: invalid pipeline: {{.*}}max-iterations{{.*}}'abc'

// RUN: %not %fuseflow-opt %s -p 'builtin.module(canonicalize{no-such=1})' 2>&1 | %FileCheck %s --check-prefix=NOOPT
// NOOPT: no such option no-such

// RUN: %not %fuseflow-opt %s -p 'builtin.module(fuseflow-fold-transposes{limit=3})' 2>&1 | %FileCheck %s --check-prefix=FFOPT
// FFOPT: pass 'fuseflow-fold-transposes' has no option 'limit'

// RUN: %not %fuseflow-opt %s -p 'builtin.module(func.func(fuseflow-fold-transposes))' 2>&1 | %FileCheck %s --check-prefix=NESTED
// NESTED: fuseflow pass 'fuseflow-fold-transposes' runs on builtin.module and cannot be nested in 'func.func(...)'

// RUN: %not %fuseflow-opt %s -p 'builtin.module(sparse-assembler' 2>&1 | %FileCheck %s --check-prefix=UNBAL
// UNBAL: unbalanced brackets

// RUN: %not %fuseflow-opt %S/Inputs/bad_syntax.mlir 2>&1 | %FileCheck %s --check-prefix=PARSE
// PARSE: bad_syntax.mlir:4:5: error: custom op 'foo' is unknown
// PARSE-NOT: Traceback

// RUN: %not %fuseflow-opt %S/Inputs/does_not_exist.mlir 2>&1 | %FileCheck %s --check-prefix=NOFILE
// NOFILE: error: cannot read input '{{.*}}does_not_exist.mlir': no such file

func.func @f(%arg0: f32) -> f32 {
  return %arg0 : f32
}
