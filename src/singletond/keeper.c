/*
 * keeper.c: singletond's processes: the singleton's and the standby's
 * keepers, forked with all they need built first, stopped by signals to
 * their process groups and reaped. When each starts, stops or is killed
 * (and the backoff after a crash) is sm.c's decision, through proc.c; this
 * file only carries it out and tells sm.c when one exits.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "singletond.h"
#include "xmalloc.h"

extern char **environ;

static void
put_env(char ***env, int *n, const char *key, const char *val)
{
	size_t len = strlen(key) + strlen(val) + 2;
	char *e = xmalloc(len);

	*env = xreallocarray(*env, (size_t)*n + 2, sizeof(**env));
	snprintf(e, len, "%s=%s", key, val);
	(*env)[(*n)++] = e;
	(*env)[*n] = NULL;
}

/*
 * The child's keeper, forked from us (so: async-signal-safe calls only, no
 * nanomsg, no malloc). It leads the child's process group, runs the command
 * in it, and is the group's subreaper: a shell's children that outlive the
 * shell come back to it. It exits when every process it started is gone,
 * with the command's status; a stop (SIGTERM to the group) thus lasts until
 * the last of them has finished, up to singletond's stop-timeout and SIGKILL.
 * When the command exits on its own, what it left behind is sent SIGTERM,
 * and SIGKILL after KEEPER_GRACE. If singletond dies, even by SIGKILL, the
 * kernel tells the keeper (PR_SET_PDEATHSIG) and it kills the whole group:
 * no singleton outlives its singletond. If the keeper dies, the kernel kills
 * the command (its own PR_SET_PDEATHSIG) and singletond, reaping the keeper,
 * kills what is left of the group.
 *
 * A singleton's keeper also holds its lease (a lease word; sg_lease): when
 * singletond has not renewed it in time, the keeper kills the whole group,
 * itself with it. singletond renews it from its loop; a singletond that is
 * stopped (SIGSTOP), starved or blocked (a log write to a full pipe) could
 * not stop the child in time if this node lost the majority or was downed
 * meanwhile, and the other side would start the singleton beside it.
 *
 * 1. A renewal is a deadline, not a length: a CLOCK_MONOTONIC ms (both
 *    processes read the same clock) that singletond stores in a word of a
 *    page the two share (MAP_SHARED, mapped before the fork; the command's
 *    exec drops it). So the lease runs from singletond's renewal, not from
 *    when the keeper got to read it: a keeper that was runnable but not run
 *    when a renewal came does not extend the lease by its delay.
 * 2. The keeper reads the word each time it wakes, before it checks the
 *    deadline: it always holds singletond's newest grant, however long it
 *    did not run. singletond never grants after its last grant ran out (a
 *    lapsed lease is not renewed), so the newest grant is always one the
 *    keeper may take. A later deadline needs no wake-up (the keeper finds it
 *    when it wakes for the older one); a sooner one (a stop's SIGKILL) is
 *    followed by SIGUSR1, which only wakes the keeper to read the word.
 * 3. The lease holds after the command exits too, while its leftovers have
 *    their grace: that grace is one deadline, which renewals (or any other
 *    signal) do not push back; EINTR (a stop and SIGCONT) is no timeout.
 * 4. Until 2026-12-07 the renewals were SIGUSR1 carrying the deadline, which
 *    the kernel does not queue: a renewal sent while another was pending was
 *    lost (too soon a kill of a well singleton, or too late one when the lost
 *    renewal was a stop's sooner SIGKILL). Then, to 2026-12-08, a real-time
 *    signal (queued, in order): each took one of the user's RLIMIT_SIGPENDING
 *    slots until the keeper ran, so a keeper stopped for hours (or processes
 *    of the same user stopped with signals queued) left none, and no renewal
 *    reached any keeper. A shared word takes no slot and keeps only the newest.
 */
#define KEEPER_GRACE	5000	/* ms */
#define SG_LEASE_WAKE	SIGUSR1	/* read the lease word again: a sooner deadline (2.) */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* async-signal-safe */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SIGKILL to the group, the keeper with it. */
static void __attribute__((noreturn))
kill_group(void)
{
	kill(0, SIGKILL);
	_exit(137);
}

static void __attribute__((noreturn))
keeper(pid_t parent, int devnull, char **argv, char **env, int search, const int64_t *lease_word)
{
	sigset_t set, none;
	siginfo_t si;
	struct timespec left;
	pid_t c, p;
	int st, main_st = 0, main_done = 0, sig, r;
	int64_t now, end, grace_end = 0, lease_end = 0;

	setpgid(0, 0);
	sigemptyset(&none);
	sigemptyset(&set);
	sigaddset(&set, SG_LEASE_WAKE);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &set, NULL);
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (getppid() != parent)
		_exit(127);
	dup2(devnull, 0);
	closefrom(3);
	p = getpid();
	if ((c = fork()) < 0)
		_exit(127);
	if (c == 0) {
		/* the keeper killed too (kill -9 of both): the command goes with it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != p)
			_exit(127);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (search)
			execvpe(argv[0], argv, env);
		else
			execve(argv[0], argv, env);
		_exit(127);
	}
	for (;;) {
		/* singletond's newest grant (2.), then the lease's end or the
		 * leftovers' grace: whichever comes first */
		if (lease_word != NULL)
			lease_end = __atomic_load_n(lease_word, __ATOMIC_SEQ_CST);
		now = mono_ms();
		if (lease_end > 0 && now >= lease_end)
			kill_group();	/* the lease ran out */
		if (main_done && now >= grace_end)
			kill_group();	/* its leftovers had their grace */
		end = lease_end > 0 ? lease_end : -1;
		if (main_done && (end < 0 || grace_end < end))
			end = grace_end;
		if (end < 0)
			r = sigwaitinfo(&set, &si);
		else {
			left.tv_sec = (time_t)((end - now) / 1000);
			left.tv_nsec = (long)((end - now) % 1000) * 1000000;
			r = sigtimedwait(&set, &si, &left);
		}
		if (r < 0)
			continue;	/* a timeout, or EINTR: the deadlines decide above */
		if (si.si_signo == SG_LEASE_WAKE)
			continue;	/* the word is read above (2.) */
		if (si.si_signo == SIGUSR2) {
			kill(0, SIGKILL);	/* singletond is gone: so is the group */
			_exit(137);
		}
		if (si.si_signo != SIGCHLD)
			continue;	/* SIGTERM reaches the whole group: each handles it */
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			if (p == c) {
				main_st = st;
				main_done = 1;
				grace_end = mono_ms() + KEEPER_GRACE;
				kill(0, SIGTERM);	/* we block it: only the others get it */
			}
		if (p < 0 && main_done)
			break;		/* nothing of ours is left */
	}
	if (WIFEXITED(main_st))
		_exit(WEXITSTATUS(main_st));
	sig = WTERMSIG(main_st);
	/*
	 * The SIGTERM sent to the group above is pending here too: dropped,
	 * or it would end us first and singletond would name SIGTERM for a
	 * child that died of SIGSEGV or SIGKILL.
	 */
	if (sig != SIGTERM)
		signal(SIGTERM, SIG_IGN);
	signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

static int
spawn(struct sgd *d, int standby)
{
	static char sh[] = "/bin/sh", dashc[] = "-c";
	char **env = NULL, *shargv[4];
	sigset_t all, old;
	int n = 0, i, devnull;
	pid_t pid, parent = getpid();
	msec_t now, end;
	const char *skip[] = { "AKC_SINGLETON=", "AKC_NODE=", "AKC_SINGLETON_ENDPOINT=", "AKC_CONF=",
	    "AKC_STANDBY=", "NOTIFY_SOCKET=", NULL };

	/* the page singletond shares with the singleton's keepers (1.) */
	if (!standby && d->lease_word == NULL) {
		void *w = mmap(NULL, sizeof(*d->lease_word), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (w == MAP_FAILED) {
			log_warn("cannot map the lease's page for singleton %s", d->sc.name);
			return -1;
		}
		d->lease_word = w;
	}
	/* everything the child needs is built before fork: only exec after */
	for (i = 0; environ[i] != NULL; i++) {
		int k, keep = 1;

		for (k = 0; skip[k] != NULL; k++)
			if (strncmp(environ[i], skip[k], strlen(skip[k])) == 0)
				keep = 0;
		if (keep) {
			env = xreallocarray(env, (size_t)n + 2, sizeof(*env));
			env[n++] = xstrdup(environ[i]);
			env[n] = NULL;
		}
	}
	put_env(&env, &n, "AKC_SINGLETON", d->sc.name);
	put_env(&env, &n, "AKC_NODE", d->cfg.name);
	if (standby)
		put_env(&env, &n, "AKC_STANDBY", "1");
	else
		put_env(&env, &n, "AKC_SINGLETON_ENDPOINT", d->child_endpoint);
	put_env(&env, &n, "AKC_CONF", d->cfg.path);
	shargv[0] = sh;
	shargv[1] = dashc;
	shargv[2] = standby ? d->sc.standby_command : d->sc.command;
	shargv[3] = NULL;
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		fatal("/dev/null");
	/* no signal of ours may run in the keeper before it resets them */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	/* its first lease runs from here (or its view), as singletond's renewals do (1.) */
	now = clock_mono_ms();
	end = d->lease > 0 ? sg_lease_end(sg_lease_since(now, d->view_ok), d->lease) : -1;
	if (!standby)	/* 0: no lease (yet) */
		__atomic_store_n(d->lease_word, end > 0 ? end : 0, __ATOMIC_SEQ_CST);
	pid = fork();
	if (pid == 0)
		keeper(parent, devnull, d->cmd != NULL && !standby ? d->cmd : shargv, env,
		    d->cmd != NULL && !standby, standby ? NULL : d->lease_word);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(devnull);
	for (i = 0; i < n; i++)
		free(env[i]);
	free(env);
	if (pid < 0) {
		log_warn("cannot fork the singleton");
		return -1;
	}
	setpgid(pid, pid);	/* also here: no race with our first kill */
	if (standby)
		d->standby = pid;
	else {
		d->child = pid;
		d->renewed = now;
		d->lapsed = 0;
		d->expires = d->granted = end;
	}
	return 0;
}

/*
 * The singleton's lease, renewed when sg_lease_grant says (a quarter of it
 * after the last renewal; at once when the keeper holds a later deadline
 * than it would be given now: while the child stops, the time of its
 * SIGKILL). A lease that ran out is not renewed: this process did not run
 * for that long, so its view of the cluster is that old too, and the other
 * side may be starting the singleton. The keeper has killed the group, or
 * is about to (it may not have run either); we kill it too, and say so once.
 */
void
lease_renew(struct sgd *d, msec_t now)
{
	msec_t want, since;

	if (d->child <= 0 || d->lapsed || d->lease_word == NULL)
		return;
	since = sg_lease_since(now, d->view_ok);
	want = sg_lease_grant(d->lease, now, since, d->renewed, d->expires, d->granted,
	    d->sm.child.state == PROC_STOPPING ? d->sm.child.kill_at : -1);
	if (want == SG_LEASE_LAPSED) {
		if (now - d->renewed >= d->lease)
			log_warnx("singletond did not run for %lldms, longer than singleton %s's lease "
			    "(%lldms): its process group is killed (it would run unwatched), and it "
			    "is started again after a backoff if this node still runs it",
			    (long long)(now - d->renewed), d->sc.name, (long long)d->lease);
		else
			log_warnx("memberd's last view with a majority is %lldms old, longer than "
			    "singleton %s's lease (%lldms) and singletond's %dms reaction: its "
			    "process group is killed (it would run unwatched), and it is started "
			    "again after a backoff if this node still runs it",
			    (long long)(now - d->view_ok), d->sc.name, (long long)d->lease,
			    SG_REACTION);
		d->lapsed = 1;
		kill(-d->child, SIGKILL);
		return;
	}
	if (want < 0)
		return;
	/* the newest grant, read by the keeper whenever it wakes; a sooner one wakes it (2.) */
	__atomic_store_n(d->lease_word, want, __ATOMIC_SEQ_CST);
	if (want < d->granted || d->granted <= 0)	/* sooner, or its first */
		kill(d->child, SG_LEASE_WAKE);
	d->renewed = now;
	d->granted = want;
	d->expires = sg_lease_end(since, d->lease);
}

msec_t
lease_deadline(const struct sgd *d)
{
	if (d->child <= 0 || d->lease <= 0 || d->lapsed)
		return -1;
	return d->renewed + d->lease / 4;
}

void
reap(struct sgd *d, msec_t now)
{
	int status, pri, asked;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == d->standby && pid > 0) {
			/* asked to stop: routine; on its own: a crash, restarted after a backoff */
			log_msg(d->sm.standby.state == PROC_STOPPING ? LOG_INFO : LOG_WARNING,
			    "standby of %s (pid %d) %s %d", d->sc.name, (int)pid,
			    WIFEXITED(status) ? "exited with status" : "killed by signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			kill(-pid, SIGKILL);
			d->standby = 0;
			sg_standby_exited(&d->sm, now);
			continue;
		}
		if (pid != d->child)
			continue;
		/* stopped as asked: part of a move (notice); on its own: a crash (warning) */
		asked = d->sm.child.state == PROC_STOPPING;
		pri = asked ? LOG_NOTICE : LOG_WARNING;
		if (WIFEXITED(status))
			log_msg(pri, "singleton %s (pid %d) exited with status %d%s", d->sc.name, (int)pid,
			    WEXITSTATUS(status), asked ? "" : ": restarting it after a backoff");
		else
			log_msg(pri, "singleton %s (pid %d) killed by signal %d%s", d->sc.name, (int)pid,
			    WTERMSIG(status), asked ? "" : ": restarting it after a backoff");
		d->child = 0;
		/* the process group: nothing it started may outlive it */
		kill(-pid, SIGKILL);
		nack_inflight(d);
		publish(d, CEV_SINGLETON_STOPPED, d->cfg.name);
		if (d->running_on == d->self) {
			d->running_on = 0;
			d->running_on_name[0] = '\0';
		}
		sg_child_exited(&d->sm, now);
	}
}

/* The standby command runs where the singleton may run one day, and never beside it. */
static void
standby_actions(struct sgd *d, msec_t now)
{
	switch (sg_standby_action(&d->sm, now)) {
	case ACT_START:
		if (spawn(d, 1) < 0) {
			sg_standby_exited(&d->sm, now);
			break;
		}
		log_info("standby of %s started as pid %d", d->sc.name, (int)d->standby);
		break;
	case ACT_TERM:
		log_info("stopping the standby of %s (pid %d)", d->sc.name, (int)d->standby);
		if (d->standby > 0)
			kill(-d->standby, SIGTERM);
		break;
	case ACT_KILL:
		log_warnx("standby of %s (pid %d) did not stop in time: SIGKILL", d->sc.name, (int)d->standby);
		if (d->standby > 0)
			kill(-d->standby, SIGKILL);
		break;
	case ACT_NONE:
		break;
	}
}

/* The standby first: sm.c starts the singleton only once the standby has gone. */
void
child_actions(struct sgd *d, msec_t now)
{
	standby_actions(d, now);
	/*
	 * A start rests on a fresh view: after a stall (singletond stopped
	 * through the crash backoff) the view the lease would run from is old,
	 * and the keeper would kill the child at once, the backoff growing. The
	 * state is read first, and the start waits for it (sg_lease_since: a
	 * view no older than singletond's reaction).
	 */
	d->start_waits = d->lease > 0 && sg_child_start_due(&d->sm, now) &&
	    sg_lease_since(now, d->view_ok) < now;
	if (d->start_waits) {
		if (!d->fetching)
			d->dirty = 1;
		return;
	}
	switch (sg_child_action(&d->sm, now)) {
	case ACT_START:
		if (spawn(d, 0) < 0) {
			sg_child_exited(&d->sm, now);
			break;
		}
		log_notice("singleton %s started as pid %d (this node is the oldest%s%s)",
		    d->sc.name, (int)d->child, d->sc.role[0] ? " with role " : "", d->sc.role);
		publish(d, CEV_SINGLETON_STARTED, d->cfg.name);
		d->running_on = d->self;
		snprintf(d->running_on_name, sizeof(d->running_on_name), "%s", d->cfg.name);
		break;
	case ACT_TERM:
		log_notice("stopping singleton %s (pid %d): SIGTERM, SIGKILL after %lldms%s",
		    d->sc.name, (int)d->child, (long long)sg_child_stop_wait(&d->sm),
		    sg_stop_forced(&d->sm) ? " (a forced stop: the other side may start it "
		    "after its margin)" : "");
		if (d->child > 0)
			kill(-d->child, SIGTERM);
		break;
	case ACT_KILL:
		log_warnx("singleton %s (pid %d) did not stop in time: SIGKILL", d->sc.name, (int)d->child);
		if (d->child > 0)
			kill(-d->child, SIGKILL);
		break;
	case ACT_NONE:
		break;
	}
}
