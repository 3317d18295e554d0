// Analysis only, for tools/gen-speaker-order.sh: an LD_PRELOAD library that records which code pages of the executable
// a process runs, natively, to complement callgrind (which runs a simulated CPU: code that a real CPU's features
// select, such as BoringSSL's ADX and AVX2 routines, or that only real timing reaches, such as a contended lock's
// slow path, is not in its record).
//
// At start it takes all access away from the executable's code (PROT_NONE). The first access to each page faults;
// the handler writes the faulting address and the instruction pointer, both as link-time addresses, to
// $SPEAKER_TOUCH_LOG.<pid>, gives the page back read and execute access, and returns, so the access runs again. One
// record per page: a page's other functions are found on a later run, once the order file has moved the first away.
// Other processes' faults, and faults outside the executable's code, take the default action (a core dump).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static unsigned long code_start, code_end, load_bias;
static int log_fd = -1;

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static sigaction_fn real_sigaction(void) {
    static sigaction_fn fn;
    if (!fn) fn = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    return fn;
}

static void put_hex(char *out, unsigned long value) {
    for (int i = 15; i >= 0; i--, value >>= 4) out[i] = "0123456789abcdef"[value & 15];
}

static void on_fault(int sig, siginfo_t *info, void *context) {
    unsigned long address = (unsigned long)info->si_addr;
    if (address < code_start || address >= code_end) {
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        real_sigaction()(sig, &dfl, NULL);
        return;  // the access runs again and takes the default action
    }
    unsigned long ip = ((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
    char line[34];
    put_hex(line, address - load_bias);
    line[16] = ' ';
    put_hex(line + 17, ip >= code_start && ip < code_end ? ip - load_bias : 0);
    line[33] = '\n';
    if (write(log_fd, line, sizeof line) != sizeof line) { /* a lost record costs a page, nothing else */ }
    mprotect((void *)(address & ~4095UL), 4096, PROT_READ | PROT_EXEC);
}

// The Swift runtime installs its own SIGSEGV and SIGBUS handlers (crash backtraces); while recording, ours stay.
int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (code_start && act && (sig == SIGSEGV || sig == SIGBUS)) {
        if (old) memset(old, 0, sizeof *old);
        return 0;
    }
    return real_sigaction()(sig, act, old);
}

__attribute__((constructor)) static void start_recording(void) {
    const char *log = getenv("SPEAKER_TOUCH_LOG");
    if (!log) return;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return;
    char line[8192];
    int first = 1;
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end, offset;
        char perms[8], path[4096] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &start, &end, perms, &offset, path) < 4) continue;
        if (strcmp(path, exe) != 0) continue;
        if (first) load_bias = start - offset, first = 0;  // the first mapping starts at file offset and address 0
        if (perms[2] == 'x') code_start = start, code_end = end;
    }
    fclose(maps);
    if (!code_start) return;
    char name[4200];
    snprintf(name, sizeof name, "%s.%d", log, getpid());
    log_fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) { code_start = 0; return; }
    struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER};
    sigemptyset(&sa.sa_mask);
    real_sigaction()(SIGSEGV, &sa, NULL);
    real_sigaction()(SIGBUS, &sa, NULL);
    mprotect((void *)code_start, code_end - code_start, PROT_NONE);
}
