/* bench/cotenant.c -- a synthetic co-tenant for 'bench --cotenant': a busy loop pinned to one
 * CPU at a nice level, stopped and resumed between timed runs.  It stays in mobitune's session,
 * so its nice level counts: with Linux's autogroups on, a process of another session (another
 * tenant's, or a loop started from another terminal) takes its CPU share whatever its nice
 * level, as a nice-0 loop here does. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/common.h"

static void busy_loop(int cpu, int nice_level) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the bench */
  if (sched_setaffinity(0, sizeof set, &set) != 0 || setpriority(PRIO_PROCESS, 0, nice_level))
    _exit(1);
  raise(SIGSTOP); /* held until the first loaded run */
  volatile unsigned long x = 0;
  for (;;) x++;
}

enum mbt_status mbt_cotenant_valid(int cpu) {
  const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  return cpu >= 0 && cpu < ncpu ? MBT_OK
                                : mbt_fail(MBT_EINVAL, "--cotenant: CPU %d is not one of this "
                                           "machine's 0..%ld", cpu, ncpu - 1);
}

enum mbt_status mbt_cotenant_start(struct mbt_cotenant *c, int cpu, int nice_level) {
  c->pid = -1, c->cpu = cpu, c->nice = nice_level;
  const enum mbt_status st = mbt_cotenant_valid(cpu);
  if (st != MBT_OK) return st;
  const pid_t pid = fork();
  if (pid < 0) return mbt_fail(MBT_EUNSUPPORTED, "--cotenant: fork: %s", strerror(errno));
  if (pid == 0) busy_loop(cpu, nice_level);
  int status;
  if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return mbt_fail(MBT_EUNSUPPORTED, "--cotenant: the busy loop could not be pinned to CPU %d "
                    "at nice %d", cpu, nice_level);
  }
  c->pid = pid;
  return MBT_OK;
}

void mbt_cotenant_run(const struct mbt_cotenant *c, int on) {
  if (c->pid <= 0) return;
  kill(c->pid, on ? SIGCONT : SIGSTOP);
  if (!on) waitpid(c->pid, NULL, WUNTRACED); /* stopped before the next quiet run starts */
}

void mbt_cotenant_stop(struct mbt_cotenant *c) {
  if (c->pid <= 0) return;
  kill(c->pid, SIGKILL);
  waitpid(c->pid, NULL, 0);
  c->pid = -1;
}
