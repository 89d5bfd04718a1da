# COMDAT groups under --gc-sections: a live section keeps every member of its group, even
# one nothing refers to (group_tag); a group none of whose members is reached goes whole.
# The live group sits between two dead ones, so that its members are found by group, not
# by the first or the last group of the object.

        .section .text.dead_first,"axG",@progbits,dead_first,comdat
        .globl dead_first_fn
dead_first_fn:
        ret
        .section .rodata.dead_first_tag,"aG",@progbits,dead_first,comdat
        .globl dead_first_tag
dead_first_tag:
        .asciz "dropped with its group"

        .section .text.keeper,"axG",@progbits,keeper,comdat
        .globl keeper
        .type keeper,@function
keeper:
        movl $7, %eax
        ret
        .section .rodata.group_tag,"aG",@progbits,keeper,comdat
        .globl group_tag
group_tag:
        .asciz "kept with its group"

        .section .text.dead_last,"axG",@progbits,dead_last,comdat
        .globl dead_last_fn
dead_last_fn:
        ret
        .section .rodata.dead_last_tag,"aG",@progbits,dead_last,comdat
        .globl dead_last_tag
dead_last_tag:
        .asciz "dropped with its group"

        .section .note.GNU-stack,"",@progbits
