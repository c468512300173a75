// A disk whose flushes are slow, for the benchmark: preloaded into a server (LD_PRELOAD), it makes
// every fsync and fdatasync wait CASESYNC_BENCH_FLUSH_US microseconds more, as a network volume or a
// disk without a write cache does. Built by tools/benchmark: cc -shared -fPIC -o slow-flush.so tools/slow-flush.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

static useconds_t delay(void) {
    const char *text = getenv("CASESYNC_BENCH_FLUSH_US");
    return text ? (useconds_t)atoi(text) : 0;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    usleep(delay());
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    usleep(delay());
    return real(fd);
}
