/* 16 MiB of initialised data: a large output, so that unmapping it takes a while. */
char padding[16 << 20] = {1};
