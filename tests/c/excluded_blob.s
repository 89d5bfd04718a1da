# A large excluded section (SHF_EXCLUDE, flag "e"), like the LLVM bitcode rustc embeds in
# the standard library's objects (`.llvmbc`): no link reads it.
    .section .blob,"e",@progbits
    .fill 70000, 1, 0x5a
    .section .note.GNU-stack,"",@progbits
