#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
extern __thread int lib_tls;
int lib_tls_get(void);
void lib_tls_add(int);
int lib_static_get(void);
int lib_tbss_last(void);
int lib_aligned_ok(void);
int *lib_tls_address(void);

#define NTHREADS 3
static pthread_barrier_t barrier;
static char lines[NTHREADS][128];

static void *worker(void *arg) {
    int i = (int)(intptr_t)arg;
    int fresh = lib_tls == 100 && lib_tls_get() == 100 && lib_static_get() == 9 &&
                lib_tbss_last() == 0 && lib_aligned_ok() && lib_tls_address() == &lib_tls;
    lib_tls_add(i + 1);
    lib_tls += 1000; /* direct access from the executable */
    pthread_barrier_wait(&barrier);
    snprintf(lines[i], sizeof lines[i], "thread %d: fresh=%d lib_tls=%d static=%d tbss=%d", i,
             fresh, lib_tls_get(), lib_static_get(), lib_tbss_last());
    pthread_barrier_wait(&barrier);
    return NULL;
}

int main(void) {
    pthread_t th[NTHREADS];
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    lib_tls = 1;
    for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < NTHREADS; i++) puts(lines[i]);
    printf("main: lib_tls=%d via accessor=%d aligned=%d\n", lib_tls, lib_tls_get(), lib_aligned_ok());
    return 0;
}
