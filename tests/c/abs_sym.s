    .globl small_abs
    .set small_abs, 0x42            # an absolute (SHN_ABS) symbol
    .section .note.GNU-stack,"",@progbits
