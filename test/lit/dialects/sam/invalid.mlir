// Each sam verifier rule rejects its case with a precise message.
// RUN: %fuseflow-opt %s --split-input-file --verify-diagnostics

// --- stream kinds ---------------------------------------------------------------------------

func.func @lookup_wrong_kind(%A: tensor<4xf32>, %c: !sam.crd<index>) {
  // expected-error @+1 {{'sam.fiber_lookup' op input ref must be a !sam.ref stream, got !sam.crd<index>}}
  %0:2 = "sam.fiber_lookup"(%A, %c) {format = "dense", index = "i", level = 0 : i64} : (tensor<4xf32>, !sam.crd<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

func.func @lookup_wrong_result_kind(%A: tensor<4xf32>, %r: !sam.ref<index>) {
  // expected-error @+1 {{first result must be a !sam.crd stream, got !sam.ref<index>}}
  %0:2 = "sam.fiber_lookup"(%A, %r) {format = "dense", index = "i", level = 0 : i64} : (tensor<4xf32>, !sam.ref<index>) -> (!sam.ref<index>, !sam.ref<index>)
  return
}

// -----

func.func @repeat_crd(%c: !sam.crd<index>, %s: !sam.repsig) {
  // expected-error @+1 {{'sam.repeat' op repeated input must be a !sam.ref or !sam.val stream, got !sam.crd<index>}}
  %0 = "sam.repeat"(%c, %s) : (!sam.crd<index>, !sam.repsig) -> !sam.crd<index>
  return
}

// -----

func.func @repeat_type_changes(%r: !sam.ref<index>, %s: !sam.repsig) {
  // expected-error @+1 {{result type differs from the repeated input}}
  %0 = "sam.repeat"(%r, %s) : (!sam.ref<index>, !sam.repsig) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @sig_gen_from_val(%v: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.repeat_sig_gen' op input must be a !sam.crd or !sam.ref stream}}
  %0 = "sam.repeat_sig_gen"(%v) : (!sam.val<f32, array<i64>>) -> !sam.repsig
  return
}

// -----

func.func @alu_on_ref(%r: !sam.ref<index>) {
  // expected-error @+1 {{'sam.alu' op operand #0 must be a !sam.val stream, got !sam.ref<index>}}
  %0 = "sam.alu"(%r) {kind = "exp", operandSegmentSizes = array<i32: 1>} : (!sam.ref<index>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @write_val_as_crd(%v: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.fiber_write' op input must be a !sam.crd stream}}
  %0 = "sam.fiber_write"(%v) {format = "dense", level = 0 : i64} : (!sam.val<f32, array<i64>>) -> !sam.level
  return
}

// --- joiners ------------------------------------------------------------------------------------

// -----

func.func @intersect_count_mismatch(%c0: !sam.crd<index>, %c1: !sam.crd<index>, %r0: !sam.ref<index>) {
  // expected-error @+1 {{'sam.intersect' op has 2 crd operands but 1 payload operands}}
  %0:2 = "sam.intersect"(%c0, %c1, %r0) {index = "j", operandSegmentSizes = array<i32: 2, 1, 0>, resultSegmentSizes = array<i32: 1, 1, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

func.func @union_result_count(%c0: !sam.crd<index>, %c1: !sam.crd<index>, %r0: !sam.ref<index>, %r1: !sam.ref<index>) {
  // expected-error @+1 {{'sam.union' op has 2 ref and 0 val payload operands but 1 ref and 0 val payload results}}
  %0:2 = "sam.union"(%c0, %c1, %r0, %r1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 1, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

func.func @intersect_single(%c0: !sam.crd<index>, %r0: !sam.ref<index>) {
  // expected-error @+1 {{needs at least 2 inputs, got 1}}
  %0:2 = "sam.intersect"(%c0, %r0) {index = "j", operandSegmentSizes = array<i32: 1, 1, 0>, resultSegmentSizes = array<i32: 1, 1, 0>} : (!sam.crd<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

func.func @union_payload_type(%c0: !sam.crd<index>, %c1: !sam.crd<index>, %r0: !sam.ref<index>, %v1: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.union' op has 1 ref and 1 val payload operands but 2 ref and 0 val payload results}}
  %0:3 = "sam.union"(%c0, %c1, %r0, %v1) {index = "j", operandSegmentSizes = array<i32: 2, 1, 1>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
  return
}

// -----

func.func @intersect_val_in_ref_group(%c0: !sam.crd<index>, %c1: !sam.crd<index>, %r0: !sam.ref<index>, %v1: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.intersect' op ref payload operand #1 must be a !sam.ref stream, got !sam.val<f32, array<i64>>}}
  %0:3 = "sam.intersect"(%c0, %c1, %r0, %v1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
  return
}

// -----

func.func @intersect_crd_payload(%c0: !sam.crd<index>, %c1: !sam.crd<index>) {
  // expected-error @+1 {{ref payload operand #0 must be a !sam.ref stream, got !sam.crd<index>}}
  %0:3 = "sam.intersect"(%c0, %c1, %c0, %c1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.crd<index>, !sam.crd<index>) -> (!sam.crd<index>, !sam.crd<index>, !sam.crd<index>)
  return
}

// --- spacc --------------------------------------------------------------------------------------

// -----

func.func @spacc_order_3(%c0: !sam.crd<index>, %c1: !sam.crd<index>, %c2: !sam.crd<index>, %c3: !sam.crd<index>, %v: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.spacc' op order must be 1 or 2, got 3}}
  %0:4 = "sam.spacc"(%c0, %c1, %c2, %c3, %v) {operandSegmentSizes = array<i32: 4, 1>, order = 3 : i64, resultSegmentSizes = array<i32: 3, 1>} : (!sam.crd<index>, !sam.crd<index>, !sam.crd<index>, !sam.crd<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.crd<index>, !sam.crd<index>, !sam.val<f32, array<i64>>)
  return
}

// -----

func.func @spacc_order1_three_crds(%c0: !sam.crd<index>, %c1: !sam.crd<index>, %c2: !sam.crd<index>, %v: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.spacc' op of order 1 takes 2 crd operands, got 3}}
  %0:2 = "sam.spacc"(%c0, %c1, %c2, %v) {operandSegmentSizes = array<i32: 3, 1>, order = 1 : i64, resultSegmentSizes = array<i32: 1, 1>} : (!sam.crd<index>, !sam.crd<index>, !sam.crd<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.val<f32, array<i64>>)
  return
}

// -----

func.func @spacc_order2_results(%c0: !sam.crd<index>, %c1: !sam.crd<index>, %c2: !sam.crd<index>, %v: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.spacc' op of order 2 has 2 crd results, got 1}}
  %0:2 = "sam.spacc"(%c0, %c1, %c2, %v) {operandSegmentSizes = array<i32: 3, 1>, order = 2 : i64, resultSegmentSizes = array<i32: 1, 1>} : (!sam.crd<index>, !sam.crd<index>, !sam.crd<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.val<f32, array<i64>>)
  return
}

// --- levels and formats ---------------------------------------------------------------------------

// -----

#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @level_out_of_range(%A: tensor<4x5xf32, #csr>, %r: !sam.ref<index>) {
  // expected-error @+1 {{'sam.fiber_lookup' op level 2 is outside the tensor's 2 storage levels}}
  %0:2 = "sam.fiber_lookup"(%A, %r) {format = "compressed", index = "k", level = 2 : i64} : (tensor<4x5xf32, #csr>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

func.func @negative_level(%A: tensor<4xf32>, %r: !sam.ref<index>) {
  // expected-error @+1 {{level -1 is outside the tensor's 1 storage levels}}
  %0:2 = "sam.fiber_lookup"(%A, %r) {format = "dense", index = "i", level = -1 : i64} : (tensor<4xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @format_contradicts(%A: tensor<4x5xf32, #csr>, %r: !sam.ref<index>) {
  // expected-error @+1 {{format "dense" contradicts the tensor encoding (level 1 is compressed)}}
  %0:2 = "sam.fiber_lookup"(%A, %r) {format = "dense", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

func.func @format_of_dense_tensor(%A: tensor<4x5xf32>, %r: !sam.ref<index>) {
  // expected-error @+1 {{format "compressed" contradicts the tensor encoding (level 0 is dense)}}
  %0:2 = "sam.fiber_lookup"(%A, %r) {format = "compressed", index = "i", level = 0 : i64} : (tensor<4x5xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

func.func @unknown_format(%A: tensor<4xf32>, %r: !sam.ref<index>) {
  // expected-error @+1 {{'format' must be one of dense, compressed, singleton; got "hashed"}}
  %0:2 = "sam.fiber_lookup"(%A, %r) {format = "hashed", index = "i", level = 0 : i64} : (tensor<4xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

func.func @empty_index(%A: tensor<4xf32>, %r: !sam.ref<index>) {
  // expected-error @+1 {{'index' must be a non-empty index variable name}}
  %0:2 = "sam.fiber_lookup"(%A, %r) {format = "dense", index = "", level = 0 : i64} : (tensor<4xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

func.func @missing_index(%A: tensor<4xf32>, %r: !sam.ref<index>) {
  // expected-error @+1 {{requires string attribute 'index'}}
  %0:2 = "sam.fiber_lookup"(%A, %r) {format = "dense", level = 0 : i64} : (tensor<4xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

#lcsr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : loose_compressed) }>
func.func @unmodelled_format(%A: tensor<4x5xf32, #lcsr>, %r: !sam.ref<index>) {
  // expected-error @+1 {{level 1 has a format the sam dialect does not model}}
  %0:2 = "sam.fiber_lookup"(%A, %r) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #lcsr>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @locate_compressed(%A: tensor<4x5xf32, #csr>, %c: !sam.crd<index>, %r: !sam.ref<index>) {
  // expected-error @+1 {{'sam.locate' op can only locate into a dense level, got "compressed"}}
  %0:3 = "sam.locate"(%A, %c, %r, %r) {format = "compressed", index = "j", level = 1 : i64} : (tensor<4x5xf32, #csr>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.ref<index>, !sam.ref<index>, !sam.crd<index>)
  return
}

// -----

func.func @locate_level_range(%A: tensor<4x5xf32>, %c: !sam.crd<index>, %r: !sam.ref<index>) {
  // expected-error @+1 {{'sam.locate' op level 5 is outside the tensor's 2 storage levels}}
  %0:3 = "sam.locate"(%A, %c, %r, %r) {format = "dense", index = "j", level = 5 : i64} : (tensor<4x5xf32>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.ref<index>, !sam.ref<index>, !sam.crd<index>)
  return
}

// -----

func.func @array_elem_type(%A: tensor<4xf32>, %r: !sam.ref<index>) {
  // expected-error @+1 {{'sam.array' op result element type f64 differs from the tensor's f32}}
  %0 = "sam.array"(%A, %r) : (tensor<4xf32>, !sam.ref<index>) -> !sam.val<f64, array<i64>>
  return
}

// -----

#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @array_tile_not_blocked(%A: tensor<4x4xf32, #csr>, %r: !sam.ref<index>) {
  // expected-error @+1 {{a 2-d tile needs a blocked tensor}}
  %0 = "sam.array"(%A, %r) : (tensor<4x4xf32, #csr>, !sam.ref<index>) -> !sam.val<f32, array<i64: 2, 2>>
  return
}

// -----

#bv = #sparse_tensor.encoding<{ map = (d0) -> (d0 floordiv 2 : dense, d0 mod 2 : compressed) }>
func.func @array_tile_sparse_level(%A: tensor<4xf32, #bv>, %r: !sam.ref<index>) {
  // expected-error @+1 {{a tile needs the tensor's last 1 levels to be dense}}
  %0 = "sam.array"(%A, %r) : (tensor<4xf32, #bv>, !sam.ref<index>) -> !sam.val<f32, array<i64: 2>>
  return
}

// -----

#bsr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 2 : compressed, d0 mod 2 : dense, d1 mod 2 : dense) }>
func.func @array_tile_rank(%A: tensor<4x4xf32, #bsr>, %r: !sam.ref<index>) {
  // expected-error @+1 {{tile rank 1 is below the tensor's 2 in-block levels}}
  %0 = "sam.array"(%A, %r) : (tensor<4x4xf32, #bsr>, !sam.ref<index>) -> !sam.val<f32, array<i64: 2>>
  return
}

// --- alu and reduce -----------------------------------------------------------------------------

// -----

func.func @binary_one_operand(%a: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{binary kind "add" without a 'scalar' attribute takes 2 operand(s), got 1}}
  %0 = "sam.alu"(%a) {kind = "add", operandSegmentSizes = array<i32: 1>} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @scalar_two_operands(%a: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{binary kind "mul" with a 'scalar' attribute takes 1 operand(s), got 2}}
  %0 = "sam.alu"(%a, %a) {kind = "mul", operandSegmentSizes = array<i32: 2>, scalar = 2.0 : f32} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @unary_two_operands(%a: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{unary kind "relu" takes 1 operand, got 2}}
  %0 = "sam.alu"(%a, %a) {kind = "relu", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @unary_scalar(%a: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{unary kind "exp" takes no 'scalar' attribute}}
  %0 = "sam.alu"(%a) {kind = "exp", operandSegmentSizes = array<i32: 1>, scalar = 1.0 : f32} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @scalar_not_float(%a: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'scalar' must be a float attribute, got 2 : i64}}
  %0 = "sam.alu"(%a) {kind = "mul", operandSegmentSizes = array<i32: 1>, scalar = 2 : i64} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @alu_unknown_kind(%a: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'kind' must be one of add, sub, mul, div, max, min, neg, exp, relu, rsqrt, sqrt, sigmoid, tanh, gelu, rcp, matmul, matmul_nt, matmul_tn, matmul_tt, transpose, row_sum, row_max, row_min, col_sum, col_max, col_min; got "pow"}}
  %0 = "sam.alu"(%a, %a) {kind = "pow", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @alu_tile_mix(%a: !sam.val<f32, array<i64>>, %t: !sam.val<f32, array<i64: 2, 2>>) {
  // expected-error @+1 {{operand #1 type differs from the result type}}
  %0 = "sam.alu"(%a, %t) {kind = "add", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @matmul_scalars(%a: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{kind "matmul" needs 2-d tile operands, got [] and []}}
  %0 = "sam.alu"(%a, %a) {kind = "matmul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @matmul_shapes(%a: !sam.val<f32, array<i64: 2, 4>>, %b: !sam.val<f32, array<i64: 2, 4>>) {
  // expected-error @+1 {{kind "matmul" of [2, 4] and [2, 4] tiles cannot give [2, 4] tiles}}
  %0 = "sam.alu"(%a, %b) {kind = "matmul", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64: 2, 4>>, !sam.val<f32, array<i64: 2, 4>>) -> !sam.val<f32, array<i64: 2, 4>>
  return
}

// -----

func.func @matmul_nt_shapes(%a: !sam.val<f32, array<i64: 2, 4>>, %b: !sam.val<f32, array<i64: 4, 2>>) {
  // expected-error @+1 {{kind "matmul_nt" of [2, 4] and [4, 2] tiles cannot give [2, 2] tiles}}
  %0 = "sam.alu"(%a, %b) {kind = "matmul_nt", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64: 2, 4>>, !sam.val<f32, array<i64: 4, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
  return
}

// -----

func.func @row_sum_of_scalars(%a: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{kind "row_sum" works on 2-d tiles, got !sam.val<f32, array<i64>>}}
  %0 = "sam.alu"(%a) {kind = "row_sum", operandSegmentSizes = array<i32: 1>} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @matmul_one_operand(%a: !sam.val<f32, array<i64: 2, 2>>) {
  // expected-error @+1 {{kind "matmul" takes 2 tile operands and no 'scalar' attribute}}
  %0 = "sam.alu"(%a) {kind = "matmul", operandSegmentSizes = array<i32: 1>, scalar = 1.0 : f32} : (!sam.val<f32, array<i64: 2, 2>>) -> !sam.val<f32, array<i64: 2, 2>>
  return
}

// -----

func.func @reduce_mul(%a: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.reduce' op 'kind' must be one of add, max, min; got "mul"}}
  %0 = "sam.reduce"(%a) {kind = "mul"} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// --- fork / join --------------------------------------------------------------------------------

// -----

func.func @fork_lanes(%c: !sam.crd<index>) {
  // expected-error @+1 {{'sam.fork' op has lanes = 3 but 2 results}}
  %0:2 = "sam.fork"(%c) {lanes = 3 : i64, resultSegmentSizes = array<i32: 2>} : (!sam.crd<index>) -> (!sam.crd<index>, !sam.crd<index>)
  return
}

// -----

func.func @fork_lane_type(%c: !sam.crd<index>) {
  // expected-error @+1 {{lane #1 type differs from the input}}
  %0:2 = "sam.fork"(%c) {lanes = 2 : i64, resultSegmentSizes = array<i32: 2>} : (!sam.crd<index>) -> (!sam.crd<index>, !sam.ref<index>)
  return
}

// -----

func.func @join_lanes(%a: !sam.val<f32, array<i64>>, %b: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.join' op has lanes = 4 but 2 operands}}
  %0 = "sam.join"(%a, %b) {depth = 0 : i64, lanes = 4 : i64, operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @join_one_lane(%a: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.join' op lanes must be at least 2, got 1}}
  %0 = "sam.join"(%a) {depth = 0 : i64, lanes = 1 : i64, operandSegmentSizes = array<i32: 1>} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @join_depth(%a: !sam.val<f32, array<i64>>, %b: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.join' op depth must be non-negative, got -1}}
  %0 = "sam.join"(%a, %b) {depth = -1 : i64, lanes = 2 : i64, operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// -----

func.func @join_missing_depth(%a: !sam.val<f32, array<i64>>, %b: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'sam.join' op requires integer attribute 'depth'}}
  %0 = "sam.join"(%a, %b) {lanes = 2 : i64, operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  return
}

// --- writers and outputs --------------------------------------------------------------------------

// -----

#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @output_level_count(%ci: !sam.crd<index>, %v: !sam.val<f32, array<i64>>) -> tensor<4x5xf32, #csr> {
  %l0 = "sam.fiber_write"(%ci) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
  %w = "sam.val_write"(%v) : (!sam.val<f32, array<i64>>) -> !sam.values
  // expected-error @+1 {{'sam.output' op needs 2 level writers for the result's levels, got 1}}
  %C = "sam.output"(%l0, %w) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4x5xf32, #csr>
  return %C : tensor<4x5xf32, #csr>
}

// -----

#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @output_level_order(%ci: !sam.crd<index>, %cj: !sam.crd<index>, %v: !sam.val<f32, array<i64>>) -> tensor<4x5xf32, #csr> {
  %l0 = "sam.fiber_write"(%ci) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
  %l1 = "sam.fiber_write"(%cj) {format = "compressed", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
  %w = "sam.val_write"(%v) : (!sam.val<f32, array<i64>>) -> !sam.values
  // expected-error @+1 {{level operand #0 writes level 1}}
  %C = "sam.output"(%l1, %l0, %w) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #csr>
  return %C : tensor<4x5xf32, #csr>
}

// -----

#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @output_format(%ci: !sam.crd<index>, %cj: !sam.crd<index>, %v: !sam.val<f32, array<i64>>) -> tensor<4x5xf32, #csr> {
  %l0 = "sam.fiber_write"(%ci) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
  %l1 = "sam.fiber_write"(%cj) {format = "dense", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
  %w = "sam.val_write"(%v) : (!sam.val<f32, array<i64>>) -> !sam.values
  // expected-error @+1 {{level 1 is written as "dense" but the result encoding has "compressed"}}
  %C = "sam.output"(%l0, %l1, %w) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #csr>
  return %C : tensor<4x5xf32, #csr>
}

// -----

func.func @output_values_arg(%ci: !sam.crd<index>, %w: !sam.values) -> tensor<4xf32> {
  %l0 = "sam.fiber_write"(%ci) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
  // expected-error @+1 {{values operand must come from sam.val_write}}
  %C = "sam.output"(%l0, %w) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
  return %C : tensor<4xf32>
}

// -----

func.func @output_elem_type(%ci: !sam.crd<index>, %v: !sam.val<f64, array<i64>>) -> tensor<4xf32> {
  %l0 = "sam.fiber_write"(%ci) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
  %w = "sam.val_write"(%v) : (!sam.val<f64, array<i64>>) -> !sam.values
  // expected-error @+1 {{written element type f64 differs from the tensor's f32}}
  %C = "sam.output"(%l0, %w) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
  return %C : tensor<4xf32>
}

// -----

func.func @fiber_write_format(%ci: !sam.crd<index>) {
  // expected-error @+1 {{'sam.fiber_write' op 'format' must be one of dense, compressed, singleton; got "bitmap"}}
  %l0 = "sam.fiber_write"(%ci) {format = "bitmap", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
  return
}

// --- segment sizes ------------------------------------------------------------------------------

// -----

func.func @missing_segments(%c: !sam.crd<index>, %r: !sam.ref<index>) {
  // expected-error @+1 {{'sam.intersect' op requires 'operandSegmentSizes' (one entry per group: 3 entries)}}
  %0:3 = "sam.intersect"(%c, %c, %r, %r) {index = "j"} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
  return
}

// -----

func.func @bad_segments(%c: !sam.crd<index>, %v: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'operandSegmentSizes' [1, 2] does not split 2 values into 2 groups}}
  %0:2 = "sam.spacc"(%c, %v) {operandSegmentSizes = array<i32: 1, 2>, order = 1 : i64, resultSegmentSizes = array<i32: 1, 1>} : (!sam.crd<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.val<f32, array<i64>>)
  return
}

// -----

func.func @single_group_size(%c: !sam.crd<index>, %v: !sam.val<f32, array<i64>>) {
  // expected-error @+1 {{'operandSegmentSizes' [0, 2] gives 2 values to a single-value group}}
  %0:2 = "sam.spacc"(%c, %v) {operandSegmentSizes = array<i32: 0, 2>, order = 1 : i64, resultSegmentSizes = array<i32: 1, 1>} : (!sam.crd<index>, !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.val<f32, array<i64>>)
  return
}

// -----

func.func @crd_of_floats(%t: tensor<4xf32>, %r: !sam.ref<index>) {
  // expected-error @+1 {{first result: a crd stream's element type is index, got !sam.crd<f32>}}
  %0:2 = "sam.fiber_lookup"(%t, %r) {format = "dense", index = "i", level = 0 : i64} : (tensor<4xf32>, !sam.ref<index>) -> (!sam.crd<f32>, !sam.ref<index>)
  return
}

// -----

func.func @ref_of_i32(%c: !sam.crd<index>, %r: !sam.ref<i32>) {
  // expected-error @+1 {{a ref stream's element type is index, got !sam.ref<i32>}}
  %0 = "sam.repeat_sig_gen"(%r) : (!sam.ref<i32>) -> !sam.repsig
  return
}
