    # Absolute symbols whose values are the ones rivet's table of symbol addresses keeps as
    # markers (a dropped definition, a merged section's symbol, a value to compute again).
    .globl all_ones, all_ones_less_1, all_ones_less_2
    .set all_ones, 0xffffffffffffffff
    .set all_ones_less_1, 0xfffffffffffffffe
    .set all_ones_less_2, 0xfffffffffffffffd
    # The same references from a non-allocated section, which the copy pass relocates on a
    # path of its own.
    .section .rivet_markers,"",@progbits
    .quad all_ones, all_ones_less_1, all_ones_less_2
    .section .note.GNU-stack,"",@progbits
