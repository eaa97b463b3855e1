module {
  irdl.dialect @sam {
    irdl.type @crd {
      %0 = irdl.any
      irdl.parameters(elem: %0)
    }
    irdl.type @ref {
      %0 = irdl.any
      irdl.parameters(elem: %0)
    }
    irdl.type @val {
      %0 = irdl.any
      %1 = irdl.any
      irdl.parameters(elem: %0, tile: %1)
    }
    irdl.type @repsig {
      irdl.parameters()
    }
    irdl.type @level {
      irdl.parameters()
    }
    irdl.type @values {
      irdl.parameters()
    }
    irdl.operation @root {
      %0 = irdl.base @sam::@ref 
      irdl.results(out_ref: %0)
    }
    irdl.operation @fiber_lookup {
      %0 = irdl.base "!builtin.tensor" 
      %1 = irdl.base @sam::@ref 
      irdl.operands(tensor: %0, in_ref: %1)
      %2 = irdl.base "#builtin.integer" 
      %3 = irdl.base "#builtin.string" 
      %4 = irdl.base "#builtin.string" 
      irdl.attributes {"level" = %2, "format" = %3, "index" = %4}
      %5 = irdl.base @sam::@crd 
      %6 = irdl.base @sam::@ref 
      irdl.results(out_crd: %5, out_ref: %6)
    }
    irdl.operation @locate {
      %0 = irdl.base "!builtin.tensor" 
      %1 = irdl.base @sam::@crd 
      %2 = irdl.base @sam::@ref 
      %3 = irdl.base @sam::@val 
      %4 = irdl.any_of(%2, %3) 
      %5 = irdl.base @sam::@ref 
      irdl.operands(tensor: %0, in_crd: %1, in_ref: %4, parent_ref: %5)
      %6 = irdl.base "#builtin.integer" 
      %7 = irdl.base "#builtin.string" 
      %8 = irdl.base "#builtin.string" 
      irdl.attributes {"level" = %6, "format" = %7, "index" = %8}
      %9 = irdl.base @sam::@ref 
      %10 = irdl.base @sam::@val 
      %11 = irdl.any_of(%9, %10) 
      %12 = irdl.base @sam::@ref 
      %13 = irdl.base @sam::@crd 
      irdl.results(out_ref: %11, out_located: %12, out_crd: %13)
    }
    irdl.operation @intersect {
      %0 = irdl.base @sam::@crd 
      %1 = irdl.base @sam::@ref 
      %2 = irdl.base @sam::@val 
      irdl.operands(crds: variadic %0, ref_payloads: variadic %1, val_payloads: variadic %2)
      %3 = irdl.base "#builtin.string" 
      irdl.attributes {"index" = %3}
      %4 = irdl.base @sam::@crd 
      %5 = irdl.base @sam::@ref 
      %6 = irdl.base @sam::@val 
      irdl.results(out_crd: %4, out_ref_payloads: variadic %5, out_val_payloads: variadic %6)
    }
    irdl.operation @union {
      %0 = irdl.base @sam::@crd 
      %1 = irdl.base @sam::@ref 
      %2 = irdl.base @sam::@val 
      irdl.operands(crds: variadic %0, ref_payloads: variadic %1, val_payloads: variadic %2)
      %3 = irdl.base "#builtin.string" 
      irdl.attributes {"index" = %3}
      %4 = irdl.base @sam::@crd 
      %5 = irdl.base @sam::@ref 
      %6 = irdl.base @sam::@val 
      irdl.results(out_crd: %4, out_ref_payloads: variadic %5, out_val_payloads: variadic %6)
    }
    irdl.operation @repeat_sig_gen {
      %0 = irdl.base @sam::@crd 
      %1 = irdl.base @sam::@ref 
      %2 = irdl.any_of(%0, %1) 
      irdl.operands(in_stream: %2)
      %3 = irdl.base @sam::@repsig 
      irdl.results(out_sig: %3)
    }
    irdl.operation @repeat {
      %0 = irdl.base @sam::@ref 
      %1 = irdl.base @sam::@val 
      %2 = irdl.any_of(%0, %1) 
      %3 = irdl.base @sam::@repsig 
      irdl.operands(in_stream: %2, sig: %3)
      %4 = irdl.base @sam::@ref 
      %5 = irdl.base @sam::@val 
      %6 = irdl.any_of(%4, %5) 
      irdl.results(out: %6)
    }
    irdl.operation @array {
      %0 = irdl.base "!builtin.tensor" 
      %1 = irdl.base @sam::@ref 
      irdl.operands(tensor: %0, in_ref: %1)
      %2 = irdl.base @sam::@val 
      irdl.results(out_val: %2)
    }
    irdl.operation @alu {
      %0 = irdl.base @sam::@val 
      irdl.operands(ins: variadic %0)
      %1 = irdl.base "#builtin.string" 
      irdl.attributes {"kind" = %1}
      %2 = irdl.base @sam::@val 
      irdl.results(out_val: %2)
    }
    irdl.operation @reduce {
      %0 = irdl.base @sam::@val 
      irdl.operands(in_val: %0)
      %1 = irdl.base "#builtin.string" 
      irdl.attributes {"kind" = %1}
      %2 = irdl.base @sam::@val 
      irdl.results(out_val: %2)
    }
    irdl.operation @spacc {
      %0 = irdl.base @sam::@crd 
      %1 = irdl.base @sam::@val 
      irdl.operands(crds: variadic %0, in_val: %1)
      %2 = irdl.base "#builtin.integer" 
      irdl.attributes {"order" = %2}
      %3 = irdl.base @sam::@crd 
      %4 = irdl.base @sam::@val 
      irdl.results(out_crds: variadic %3, out_val: %4)
    }
    irdl.operation @crd_drop {
      %0 = irdl.base @sam::@crd 
      %1 = irdl.base @sam::@crd 
      irdl.operands(outer: %0, inner: %1)
      %2 = irdl.base @sam::@crd 
      %3 = irdl.base @sam::@crd 
      irdl.results(out_outer: %2, out_inner: %3)
    }
    irdl.operation @crd_hold {
      %0 = irdl.base @sam::@crd 
      %1 = irdl.base @sam::@crd 
      irdl.operands(outer: %0, inner: %1)
      %2 = irdl.base @sam::@crd 
      %3 = irdl.base @sam::@crd 
      irdl.results(out_outer: %2, out_inner: %3)
    }
    irdl.operation @fiber_write {
      %0 = irdl.base @sam::@crd 
      irdl.operands(in_crd: %0)
      %1 = irdl.base "#builtin.integer" 
      %2 = irdl.base "#builtin.string" 
      irdl.attributes {"level" = %1, "format" = %2}
      %3 = irdl.base @sam::@level 
      irdl.results(out: %3)
    }
    irdl.operation @val_write {
      %0 = irdl.base @sam::@val 
      irdl.operands(in_val: %0)
      %1 = irdl.base @sam::@values 
      irdl.results(out: %1)
    }
    irdl.operation @fork {
      %0 = irdl.base @sam::@crd 
      %1 = irdl.base @sam::@ref 
      %2 = irdl.base @sam::@val 
      %3 = irdl.base @sam::@repsig 
      %4 = irdl.any_of(%0, %1, %2, %3) 
      irdl.operands(in_stream: %4)
      %5 = irdl.base "#builtin.integer" 
      irdl.attributes {"lanes" = %5}
      %6 = irdl.base @sam::@crd 
      %7 = irdl.base @sam::@ref 
      %8 = irdl.base @sam::@val 
      %9 = irdl.base @sam::@repsig 
      %10 = irdl.any_of(%6, %7, %8, %9) 
      irdl.results(outs: variadic %10)
    }
    irdl.operation @join {
      %0 = irdl.base @sam::@crd 
      %1 = irdl.base @sam::@ref 
      %2 = irdl.base @sam::@val 
      %3 = irdl.base @sam::@repsig 
      %4 = irdl.any_of(%0, %1, %2, %3) 
      irdl.operands(ins: variadic %4)
      %5 = irdl.base "#builtin.integer" 
      %6 = irdl.base "#builtin.integer" 
      irdl.attributes {"lanes" = %5, "depth" = %6}
      %7 = irdl.base @sam::@crd 
      %8 = irdl.base @sam::@ref 
      %9 = irdl.base @sam::@val 
      %10 = irdl.base @sam::@repsig 
      %11 = irdl.any_of(%7, %8, %9, %10) 
      irdl.results(out: %11)
    }
    irdl.operation @output {
      %0 = irdl.base @sam::@level 
      %1 = irdl.base @sam::@values 
      irdl.operands(levels: variadic %0, vals: %1)
      %2 = irdl.base "!builtin.tensor" 
      irdl.results(tensor: %2)
    }
  }
}
