// RUN: %fuseflow-opt %s -p 'builtin.module(sam-parallelize{par="i:2"})' | %FileCheck %s --check-prefix=ROWS
// RUN: %fuseflow-opt %s -p 'builtin.module(sam-parallelize{par="j:2"})' | %FileCheck %s --check-prefix=COLS
// RUN: %fuseflow-opt %s -p 'builtin.module(sam-parallelize{par="2,3"})' | %FileCheck %s --check-prefix=BOTH
// RUN: %fuseflow-opt %s -p 'builtin.module(sam-parallelize{par="i:1"})' | %FileCheck %s --check-prefix=ONE
// RUN: %not %fuseflow-opt %s -p 'builtin.module(sam-parallelize{par="k:2"})' 2>&1 | %FileCheck %s --check-prefix=NOVAR
// RUN: %not %fuseflow-opt %s -p 'builtin.module(sam-parallelize{par="i:0"})' 2>&1 | %FileCheck %s --check-prefix=ZERO
// RUN: %not %fuseflow-opt %s -p 'builtin.module(sam-parallelize{par="i:two"})' 2>&1 | %FileCheck %s --check-prefix=NOTINT
// RUN: %not %fuseflow-opt %s -p 'builtin.module(sam-parallelize{par="region3=i:2"})' 2>&1 | %FileCheck %s --check-prefix=NOGRAPH

// SpMV y(i) = sum_j A(i,j) x(j), A CSR, x located under its root repeated over i.
// Rows: the i level's crd and ref are forked (data round-robin, stops to both lanes); x's root
// is read by both lanes as it is (outside the i loop); the row results are joined (depth 0:
// one value per forked row); the row coordinates go to their writer unforked.
// ROWS-LABEL: func.func @spmv
// ROWS: %[[I:.*]]:2 = "sam.fiber_lookup"(%arg0, %[[ROOT:.*]]) {format = "dense", index = "i", level = 0 : i64}
// ROWS: %[[FC:.*]]:2 = "sam.fork"(%[[I]]#0) {lanes = 2 : i64
// ROWS: "sam.repeat_sig_gen"(%[[FC]]#0) {fuseflow.lane = "0"}
// ROWS: "sam.repeat_sig_gen"(%[[FC]]#1) {fuseflow.lane = "1"}
// ROWS: "sam.repeat"(%[[ROOT]], {{.*}}) {fuseflow.lane = "0"}
// ROWS: %[[FR:.*]]:2 = "sam.fork"(%[[I]]#1) {lanes = 2 : i64
// ROWS: "sam.fiber_lookup"(%arg0, %[[FR]]#0) {format = "compressed", fuseflow.lane = "0", index = "j"
// ROWS: "sam.fiber_lookup"(%arg0, %[[FR]]#1) {format = "compressed", fuseflow.lane = "1", index = "j"
// ROWS: %[[Y0:.*]] = "sam.reduce"({{.*}}) {fuseflow.lane = "0", kind = "add"}
// ROWS: %[[Y1:.*]] = "sam.reduce"({{.*}}) {fuseflow.lane = "1", kind = "add"}
// ROWS: "sam.fiber_write"(%[[I]]#0)
// ROWS: %[[Y:.*]] = "sam.join"(%[[Y0]], %[[Y1]]) {depth = 0 : i64, lanes = 2 : i64
// ROWS: "sam.val_write"(%[[Y]])
//
// Columns: j is reduced, so each lane sums its share of a row and an ALU adds the two partial
// sums (one per row in both lanes: every lane sees every row's stop).
// COLS-LABEL: func.func @spmv
// COLS: %[[J:.*]]:2 = "sam.fiber_lookup"(%arg0, {{.*}}) {format = "compressed", index = "j", level = 1 : i64}
// COLS-DAG: "sam.fork"(%[[J]]#0) {lanes = 2 : i64
// COLS-DAG: "sam.fork"(%[[J]]#1) {lanes = 2 : i64
// COLS: %[[P0:.*]] = "sam.reduce"({{.*}}) {fuseflow.lane = "0", kind = "add"}
// COLS: %[[P1:.*]] = "sam.reduce"({{.*}}) {fuseflow.lane = "1", kind = "add"}
// COLS-NOT: "sam.join"
// COLS: %[[S:.*]] = "sam.alu"(%[[P0]], %[[P1]]) {kind = "add"
// COLS: "sam.val_write"(%[[S]])
//
// Two levels (positional: the outermost two loops): 2 row lanes, each forking its j loop in 3.
// BOTH-LABEL: func.func @spmv
// BOTH-COUNT-2: "sam.reduce"({{.*}}) {fuseflow.lane = "0.{{[0-2]}}", kind = "add"}
// BOTH: "sam.reduce"({{.*}}) {fuseflow.lane = "1.0", kind = "add"}
// BOTH: "sam.join"({{.*}}) {depth = 0 : i64, lanes = 2 : i64
//
// ONE-LABEL: func.func @spmv
// ONE-NOT: "sam.fork"
// ONE-NOT: fuseflow.lane
//
// NOVAR: error: {{.*}}spmv: 'k:2': the graph has no loop 'k' (its loops: i, j)
// ZERO: error: {{.*}}'i:0': the factor must be at least 1, got 0
// NOTINT: error: {{.*}}'i:two': the factor must be an integer, got 'two'
// NOGRAPH: error: {{.*}}no graph named region3 (graphs: spmv)
!c = !sam.crd<index>
!r = !sam.ref<index>
!v = !sam.val<f32, array<i64>>
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @spmv(%arg0: tensor<4x5xf32, #csr>, %arg1: tensor<5xf32>) -> tensor<4xf32> {
  %0 = "sam.root"() : () -> !r
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %2 = "sam.repeat_sig_gen"(%1#0) : (!c) -> !sam.repsig
  %3 = "sam.repeat"(%0, %2) : (!r, !sam.repsig) -> !r
  %4:2 = "sam.fiber_lookup"(%arg0, %1#1) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !r) -> (!c, !r)
  %5:3 = "sam.locate"(%arg1, %4#0, %4#1, %3) {format = "dense", index = "j", level = 0 : i64} : (tensor<5xf32>, !c, !r, !r) -> (!r, !r, !c)
  %6 = "sam.array"(%arg0, %5#0) : (tensor<4x5xf32, #csr>, !r) -> !v
  %7 = "sam.array"(%arg1, %5#1) : (tensor<5xf32>, !r) -> !v
  %8 = "sam.alu"(%6, %7) {kind = "mul", operandSegmentSizes = array<i32: 2>} : (!v, !v) -> !v
  %9 = "sam.reduce"(%8) {kind = "add"} : (!v) -> !v
  %10 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!c) -> !sam.level
  %11 = "sam.val_write"(%9) : (!v) -> !sam.values
  %12 = "sam.output"(%10, %11) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
  return %12 : tensor<4xf32>
}
