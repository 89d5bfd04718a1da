# Absolute and PC-relative data relocations of every width, for a -no-pie executable.
# small_abs is an absolute (SHN_ABS) symbol defined in abs_sym.s, so the 8/16-bit
# references below stay relocations for the linker to resolve.

    .data
    .globl reloc_table
    .p2align 3
reloc_table:
    .byte small_abs                 # R_X86_64_8  -> 0x42
    .byte small_abs + 1             # R_X86_64_8  -> 0x43
    .word small_abs + 0x100         # R_X86_64_16 -> 0x142
    .long target_var                # R_X86_64_32
    .long target_var + 4            # R_X86_64_32 with addend
    .long target_var - .            # R_X86_64_PC32 (offset 12)
    .quad target_var + 8            # R_X86_64_64
    .quad target_var - .            # R_X86_64_PC64 (offset 24)
    .long small_abs                 # R_X86_64_32 against an absolute symbol

    .text
    .globl addr32_of_target
    .type addr32_of_target, @function
addr32_of_target:                   # movl $sym: R_X86_64_32
    movl $target_var, %eax
    ret
    .size addr32_of_target, .-addr32_of_target

    .globl addr32s_of_target
    .type addr32s_of_target, @function
addr32s_of_target:                  # movq $sym (sign-extended): R_X86_64_32S
    movq $target_var + 12, %rax
    ret
    .size addr32s_of_target, .-addr32s_of_target
    .section .note.GNU-stack,"",@progbits
