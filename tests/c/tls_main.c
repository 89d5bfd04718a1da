/* Thread-local storage in an executable: initialised (.tdata) and zero (.tbss)
 * variables, a file-local one, an over-aligned one, and one defined in another object.
 * Four threads run concurrently (a barrier keeps them all alive) and each must see its
 * own fresh copy. Compiled with various -ftls-model / -mtls-dialect settings. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

__thread int tls_counter = 5;
__thread long tls_zero[16];
static __thread int tls_static = 3;
__thread __attribute__((aligned(64))) char tls_aligned[8] = "al";
extern __thread int other_tls;   /* tls_other.c, initialised to 1000 */
int other_tls_read(void);        /* reads other_tls inside tls_other.c */
int *other_tls_address(void);

#define NTHREADS 4
static pthread_barrier_t barrier;
static int results[NTHREADS];
static int fresh[NTHREADS];
static int distinct[NTHREADS];
static int *addrs[NTHREADS];

static int check_fresh(void) {
    int ok = tls_counter == 5 && tls_static == 3 && other_tls == 1000 &&
             tls_aligned[0] == 'a' && tls_aligned[1] == 'l' &&
             ((uintptr_t)tls_aligned % 64) == 0 && other_tls_address() == &other_tls;
    for (int i = 0; i < 16; i++) ok = ok && tls_zero[i] == 0;
    return ok;
}

static void *worker(void *arg) {
    int i = (int)(intptr_t)arg;
    fresh[i] = check_fresh();
    tls_counter = i * 10;
    tls_static = i;
    other_tls = 1000 + i;
    tls_zero[15] = i;
    addrs[i] = &tls_counter;
    pthread_barrier_wait(&barrier); /* all threads have written their copies */
    distinct[i] = tls_counter == i * 10 && tls_static == i && other_tls_read() == 1000 + i &&
                  tls_zero[15] == i;
    results[i] = tls_counter + tls_static + other_tls_read();
    pthread_barrier_wait(&barrier); /* keep the TLS blocks alive until all compared */
    return NULL;
}

int main(void) {
    pthread_t th[NTHREADS];
    printf("main fresh: %d\n", check_fresh());
    tls_counter = 99;
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < NTHREADS; i++)
        printf("thread %d: fresh=%d own-copy=%d result=%d\n", i, fresh[i], distinct[i], results[i]);
    int unique = 1;
    for (int i = 0; i < NTHREADS; i++)
        for (int j = i + 1; j < NTHREADS; j++) unique = unique && addrs[i] != addrs[j];
    printf("distinct addresses: %d\n", unique);
    printf("main after threads: counter=%d static=%d other=%d\n", tls_counter, tls_static,
           other_tls_read());
    return 0;
}
