# R_X86_64_SIZE32 / R_X86_64_SIZE64: the linker stores a symbol's st_size (+ addend).
    .data
    .globl size_table
    .p2align 3
size_table:
    .long big_object@SIZE           # SIZE32 against a symbol in another object
    .long big_object@SIZE + 16      # SIZE32 with addend
    .quad big_object@SIZE           # SIZE64
    .quad asm_object@SIZE - 2       # SIZE64 with negative addend, symbol in this object
    .long small_function@SIZE       # size of a function defined in C

    .globl asm_object
    .type asm_object, @object
    .size asm_object, 24
asm_object:
    .zero 24
    .section .note.GNU-stack,"",@progbits
