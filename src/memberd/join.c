/* join.c: memberd's core: joining, forming, join nonces, the minority probe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "node.h"
#include "node-int.h"
#include "proto.h"
#include "xmalloc.h"

static void
join_self(struct node *n, msec_t now)
{
	log_notice("forming a new cluster as its first member");
	mstate_free(&n->st);
	mstate_init(&n->st);
	n->self.status = MS_JOINING;
	mstate_add(&n->st, &n->self);
	n->phase = PHASE_MEMBER;
	n->join_next = -1;
	local_change(n, now);
}

static void
send_init_joins(struct node *n)
{
	int i;

	for (i = 0; i < n->cfg->nseeds; i++) {
		if (strcmp(n->cfg->seeds[i], n->self.address) == 0)
			continue;
		send_to(n, n->cfg->seeds[i], envelope(n, MSG_INIT_JOIN, 0));
	}
	/* and the members we remember: one of them may run the cluster still */
	for (i = 0; i < n->nmemo; i++) {
		if (strcmp(n->memo[i].address, n->self.address) == 0 ||
		    config_seed_index(n->cfg, n->memo[i].address) >= 0)
			continue;
		send_to(n, n->memo[i].address, envelope(n, MSG_INIT_JOIN, 0));
	}
}

static void
send_join(struct node *n, const char *address)
{
	cJSON *m = envelope(n, MSG_JOIN, 0);

	cJSON_AddItemToObject(m, "member", member_to_json(&n->self));
	json_add_u64(m, "nonce", n->join_nonce);
	cJSON_AddBoolToObject(m, "partial", 1);	/* we take a partial welcome (below) */
	send_to(n, address, m);
	snprintf(n->join_target, sizeof(n->join_target), "%s", address);
}

/*
 * Forming a cluster, the rule of Akka Management's Cluster Bootstrap made
 * strict: a seed forms a new cluster only when a quorum of the seed nodes
 * (required-contact-points, by default a majority, ourselves included)
 * answered our init-join lately that they are not members, none answered
 * that it is one, and that quorum names us as the one to form it: each seed
 * names the first (in seed-list order) of the seeds it hears from, itself
 * included. Then every seed of the quorum joins us. A node cut off from the
 * others hears nobody and keeps trying forever; it never forms a second
 * cluster alone, whatever it forgot in a restart. Two quorums always share
 * a seed, and one seed names one candidate at a time (see memberd(8),
 * FORMING, for the rare race that remains and why singletond's guard makes
 * it harmless).
 */
static msec_t
form_window(const struct node *n)
{
	return n->join_backoff * 4 > 2000 ? n->join_backoff * 4 : 2000;
}

static int
answered_lately(const struct node *n, int i, msec_t now)
{
	return n->seedans[i].nack_at >= 0 && now - n->seedans[i].nack_at <= form_window(n);
}

/* The seed this node names to form the cluster: the first it hears from, itself included. */
static int
self_ready(const struct node *n, msec_t now)
{
	int have, of;

	return node_memory_ready(n, now, form_window(n), &have, &of);
}

static int
form_candidate(const struct node *n, msec_t now)
{
	int i;

	for (i = 0; i < n->cfg->nseeds; i++)
		if ((i == n->self_seed && self_ready(n, now)) ||
		    (answered_lately(n, i, now) && n->seedans[i].ready))
			return i;
	return -1;
}

/* 1 when this node may form a new cluster now; *votes and *heard say how close it is. */
static int
may_form(const struct node *n, msec_t now, int *votes, int *heard)
{
	int i, others = 0;

	*votes = *heard = 0;
	if (n->self_seed < 0 || n->join_only[0] != '\0')
		return 0;
	if (n->ack_at >= 0 && now - n->ack_at <= form_window(n))
		return 0;	/* a cluster exists: join it, however long that takes */
	for (i = 0; i < n->cfg->nseeds; i++) {
		if (i == n->self_seed)
			continue;
		others++;
		if (answered_lately(n, i, now)) {
			(*heard)++;
			if (n->seedans[i].cand == n->self_seed)
				(*votes)++;
		}
	}
	if (form_candidate(n, now) == n->self_seed)
		(*votes)++;
	if (*votes < config_form_quorum(n->cfg) || !self_ready(n, now))
		return 0;
	/* every seed answered, or the others had seed-node-timeout to say they are members */
	return *heard == others || now - n->join_started >= n->cfg->seed_node_timeout;
}

/*
 * Partial welcomes (doc/PROTOCOL.md, "Partial welcomes"). A welcome is a
 * full state, and in a join storm most joiners ask the same seed: at 1,000
 * nodes starting over 10 s one seed sent ~2 MB/s of welcomes (akc-sim),
 * outside the push budget. So full welcomes are paid from a budget of
 * their own ([cluster] welcome-budget member records a second; a full
 * state costs one record a member; it bursts up to half a second's budget
 * or one full state, whichever is more). Past it, a joiner that says it
 * reads them ("partial" in its join) gets a partial welcome: the sender
 * and the joiner only, under the empty version. No full state ever has the
 * empty version (every change adds to its maker's entry), so the joiner's
 * state is older than every state it meets: the first gossip from a member
 * that knows it is adopted whole, and its digests differ from everyone's,
 * so rounds and the sender's answers keep correcting it until it has. The
 * joiner is among the members that have not seen our version, so our next
 * push, and every other member's that knows it, may carry it; the state a
 * full welcome would have carried comes from the whole cluster's budgets
 * instead of one seed. A joiner that does not read them (an older build)
 * gets the full welcome whatever the budget says.
 */
static int
welcome_afford(struct node *n, msec_t now)
{
	double budget = n->cfg->welcome_budget, cap = budget / 2, cost = n->st.n;

	if (cap < cost)
		cap = cost;
	credit_topup(&n->welcome_credit, &n->welcome_credit_at, budget, cap, now);
	return budget > 0 && n->welcome_credit >= cost;
}

/* A full welcome goes out: paid from the budget, as far as it goes. */
static void
welcome_pay(struct node *n)
{
	n->welcome_credit -= n->st.n;
	if (n->welcome_credit < 0)
		n->welcome_credit = 0;
	n->welcomes_full++;
}

/* The state of a partial welcome: the sender and the joiner, no version. */
static cJSON *
partial_state(struct node *n, int ji)
{
	struct mstate p;
	cJSON *w;
	int si = mstate_find(&n->st, n->self.uid);

	mstate_init(&p);
	if (si >= 0)
		mstate_add(&p, &n->st.m[si]);
	mstate_add(&p, &n->st.m[ji]);
	w = mstate_to_wire(&p);
	mstate_free(&p);
	return w;
}

/* Whether our state is still a partial welcome's: no entry in the clock but maybe ours. */
int
node_partial(const struct node *n)
{
	int i;

	if (n->partial_since <= 0 || n->phase != PHASE_MEMBER)
		return 0;
	for (i = 0; i < n->st.vc.n; i++)
		if (n->st.vc.e[i].node != n->self.uid)
			return 0;
	return 1;
}

/* Says when the cluster's state came after a partial welcome, and while it does not. */
static void
partial_tick(struct node *n, msec_t now)
{
	if (n->partial_since <= 0)
		return;
	if (n->phase != PHASE_MEMBER) {
		n->partial_since = 0;
		return;
	}
	if (!node_partial(n)) {
		log_info("took the cluster's state (%d members) %lldms after the partial welcome "
		    "of %s", n->st.n, (long long)(now - n->partial_since), n->partial_from);
		n->partial_since = 0;
		return;
	}
	if (now - n->partial_since < 5000 || now - n->partial_said < 5000)
		return;
	n->partial_said = now;
	log_warnx("still waiting for the cluster's state: %s let this node in %llds ago by a "
	    "partial welcome (its welcome budget was spent); members that know this node "
	    "send it by gossip", n->partial_from, (long long)((now - n->partial_since) / 1000));
}

/* Says, now and then, what a joining node waits for: it never waits in silence. */
static void
join_say(struct node *n, msec_t now)
{
	int votes, heard, have, of;

	if (now - n->join_started < 10000 || now - n->join_said < 10000)
		return;
	n->join_said = now;
	if (n->join_refused[0] != '\0') {
		log_warnx("still joining: the last join was refused: %s", n->join_refused);
		return;
	}
	if (n->join_only[0] != '\0') {
		log_warnx("still joining through %s: no welcome yet (if it never answers, it may "
		    "use another key-file or [cluster] name)", n->join_only);
		return;
	}
	if (n->ack_at >= 0 && now - n->ack_at <= form_window(n)) {
		log_warnx("still joining: a member answered, no welcome yet (waiting for the "
		    "cluster to remove this node's previous incarnation?)");
		return;
	}
	may_form(n, now, &votes, &heard);
	if (!node_memory_ready(n, now, form_window(n), &have, &of))
		log_warnx("no cluster found: %d of the %d members this node remembers answer as "
		    "non-members, a majority needed to form a new one (the others may run the "
		    "cluster behind a cut); still trying", have, of);
	else if (n->self_seed < 0)
		log_warnx("no seed node answers as a member of a cluster (%d seeds; a node "
		    "that is not a seed never forms one; seeds that never answer may use another "
		    "key-file or [cluster] name): still trying", n->cfg->nseeds);
	else
		log_warnx("no cluster found and none formed: %d of %d other seeds answer, %d "
		    "name this node to form one, %d needed (required-contact-points; seeds that never "
		    "answer may use another key-file or [cluster] name); still trying",
		    heard, n->cfg->nseeds - 1, votes, config_form_quorum(n->cfg));
}

void
node_start(struct node *n, msec_t now)
{
	if (n->cfg->nseeds == 0)
		return;
	if (n->self_seed >= 0 && n->cfg->nseeds == 1 && n->nmemo <= 1) {
		join_self(n, now);	/* the only seed, alone before: nobody else could form it */
		return;
	}
	n->phase = PHASE_JOINING;
	n->join_backoff = n->cfg->gossip_interval < 500 ? n->cfg->gossip_interval : 500;
	n->join_next = now;
	n->join_started = n->join_said = now;
	n->join_refused[0] = '\0';
}

void
join_tick(struct node *n, msec_t now)
{
	int votes, heard;

	partial_tick(n, now);
	if (n->phase != PHASE_JOINING || n->join_next < 0 || now < n->join_next)
		return;
	if (n->join_only[0] != '\0') {
		/* its ack carries the nonce our join must show */
		n->join_target[0] = '\0';
		send_to(n, n->join_only, envelope(n, MSG_INIT_JOIN, 0));
	} else if (may_form(n, now, &votes, &heard)) {
		join_self(n, now);
		return;
	} else {
		n->join_target[0] = '\0';
		send_init_joins(n);
	}
	join_say(n, now);
	n->join_next = now + jitter(n, n->join_backoff);
	/*
	 * A seed asks at a steady pace: its answers are votes, and a vote
	 * counts only while it is recent. Other nodes back off.
	 */
	if (n->self_seed < 0 || n->join_only[0] != '\0') {
		n->join_backoff *= 2;
		if (n->join_backoff > n->cfg->join_retry_max)
			n->join_backoff = n->cfg->join_retry_max;
	}
	if (n->join_next - now > 2000 || n->join_target[0] == '\0')
		log_debug("looking for a cluster (next try in %lldms)",
		    (long long)(n->join_next - now));
}

int
node_cmd_join(struct node *n, const char *address, msec_t now, char *err, size_t len)
{
	if (n->phase == PHASE_MEMBER) {
		snprintf(err, len, "this node is already a member of a cluster");
		return -1;
	}
	if (n->phase == PHASE_SHUTDOWN) {
		snprintf(err, len, "this node is shutting down");
		return -1;
	}
	if (strcmp(address, n->self.address) == 0) {
		join_self(n, now);
		return 0;
	}
	snprintf(n->join_only, sizeof(n->join_only), "%s", address);
	n->phase = PHASE_JOINING;
	n->join_backoff = 500;
	n->join_next = now;
	n->join_started = n->join_said = now;
	n->join_refused[0] = '\0';
	return 0;
}

/* ---- receiving ---- */
#define NONCE_TTL	30000	/* ms a join may follow the ack that gave its nonce */

/* Gives uid a nonce for its join (in our init-join-ack). */
static uint64_t
give_nonce(struct node *n, uint64_t uid, msec_t now)
{
	int i, old = 0;

	for (i = 0; i < JOIN_NONCES; i++) {
		if (n->nonces[i].uid == uid) {
			old = i;
			break;
		}
		if (n->nonces[i].at < n->nonces[old].at)
			old = i;
	}
	n->nonces[old].uid = uid;
	n->nonces[old].nonce = (rnd(n) & 0x1fffffffffffffULL) | 1;
	n->nonces[old].at = now;
	return n->nonces[old].nonce;
}

/* Whether msg's nonce is the one we gave uid lately; it is good once. */
static int
take_nonce(struct node *n, const cJSON *msg, uint64_t uid, msec_t now)
{
	uint64_t nonce;
	int i;

	if (json_u64(msg, "nonce", &nonce) < 0 || nonce == 0)
		return 0;
	for (i = 0; i < JOIN_NONCES; i++)
		if (n->nonces[i].uid == uid && n->nonces[i].nonce == nonce &&
		    now - n->nonces[i].at <= NONCE_TTL) {
			memset(&n->nonces[i], 0, sizeof(n->nonces[i]));
			return 1;
		}
	return 0;
}

void
on_join(struct node *n, const cJSON *msg, const struct from *f, msec_t now)
{
	const cJSON *partial = cJSON_GetObjectItemCaseSensitive(msg, "partial");
	struct member m;
	int i, j;
	cJSON *w;

	if (member_from_json(cJSON_GetObjectItemCaseSensitive(msg, "member"), &m) < 0 ||
	    m.uid != f->uid || strcmp(m.address, f->address) != 0 || strcmp(m.name, f->name) != 0 ||
	    (partial != NULL && !cJSON_IsBool(partial))) {
		n->dropped.malformed++;
		goto out;
	}
	if (n->phase != PHASE_MEMBER || n->self.status == MS_DOWN || n->self.status == MS_EXITING)
		goto out;
	if (!take_nonce(n, msg, m.uid, now)) {
		n->dropped.replayed++;	/* no ack of ours asked for this join */
		goto out;
	}
	if (mstate_is_tombstoned(&n->st, m.uid)) {
		n->dropped.stale++;
		goto out;
	}
	if ((i = mstate_find(&n->st, m.uid)) < 0) {
		/* a new incarnation of a known address: down the old one first */
		if ((j = mstate_find_address(&n->st, m.address)) >= 0) {
			if (n->st.m[j].status != MS_DOWN) {
				log_notice("%s (%s) restarted with a new uid: downing the old incarnation",
				    n->st.m[j].name, m.address);
				reach_set(&n->st.reach, n->self.uid, n->st.m[j].uid, RS_TERMINATED);
				mstate_wm(&n->st, j)->status = MS_DOWN;
				u64set_del(&n->st.seen, n->st.m[j].uid);
				local_change(n, now);
			}
			goto out;
		}
		if ((j = mstate_find_name(&n->st, m.name)) >= 0 && n->st.m[j].status != MS_DOWN) {
			w = envelope(n, MSG_JOIN_REFUSED, m.uid);
			cJSON_AddStringToObject(w, "reason", "a member with this name already exists");
			send_to(n, m.address, w);
			goto out;
		}
		m.status = MS_JOINING;
		m.up_number = UPNUM_NONE;
		mstate_add(&n->st, &m);
		log_info("%s (%s) is joining", m.name, m.address);
		local_change(n, now);
	}
	w = envelope(n, MSG_WELCOME, m.uid);
	if (!welcome_afford(n, now) && cJSON_IsTrue(partial) &&
	    (i = mstate_find(&n->st, m.uid)) >= 0) {
		cJSON_AddItemToObject(w, "state", partial_state(n, i));
		cJSON_AddBoolToObject(w, "partial", 1);
		cJSON_AddNumberToObject(w, "cv", CPT_VERSION);	/* we read the compact forms */
		n->welcomes_partial++;
		log_debug("partial welcome to %s (%s): the welcome budget is spent", m.name,
		    m.address);
	} else {
		cJSON_AddItemToObject(w, "state", mstate_wire_raw(&n->st));
		cJSON_AddStringToObject(w, "cvs", cvs_get(n));	/* gossip.c */
		welcome_pay(n);
	}
	send_to(n, m.address, w);
out:
	member_clear(&m);	/* mstate_add took its own references */
}

void
on_welcome(struct node *n, const cJSON *msg, const struct from *f, msec_t now)
{
	struct mstate st;
	const cJSON *partial = cJSON_GetObjectItemCaseSensitive(msg, "partial");
	uint64_t *uids;
	int i;

	if (n->phase != PHASE_JOINING)
		return;
	/*
	 * A welcome is addressed to our uid, so it answers a join of this
	 * incarnation; the sender's advertised address may differ from the
	 * one we wrote to (akc-join localhost:... for 127.0.0.1:...).
	 */
	if (n->join_target[0] == '\0') {
		n->dropped.stale++;
		return;
	}
	mstate_init(&st);
	if (mstate_from_wire(cJSON_GetObjectItemCaseSensitive(msg, "state"), &st) < 0) {
		n->dropped.malformed++;
		return;
	}
	/* a partial welcome's state has the empty version, and only it: see welcome_afford */
	if (mstate_find(&st, n->self.uid) < 0 || mstate_find(&st, f->uid) < 0 ||
	    (partial != NULL && !cJSON_IsBool(partial)) ||
	    (cJSON_IsTrue(partial) && (st.vc.n != 0 || st.n != 2))) {
		n->dropped.malformed++;
		mstate_free(&st);
		return;
	}
	mstate_free(&n->st);
	n->st = st;
	u64set_add(&n->st.seen, n->self.uid);
	n->phase = PHASE_MEMBER;
	n->join_next = -1;
	n->join_only[0] = '\0';
	/* who reads the compact forms, as the member that let us in knows (gossip.c) */
	uids = xreallocarray(NULL, (size_t)n->st.n + 1, sizeof(*uids));
	for (i = 0; i < n->st.n; i++)
		uids[i] = n->st.m[i].uid;
	cvs_learn(n, msg, uids, n->st.n, 1);	/* the welcome's table is now ours */
	free(uids);
	if (cJSON_IsTrue(partial)) {
		/* the cluster's state follows by gossip: partial_tick says when, or that it waits */
		n->partial_since = now > 0 ? now : 1;
		n->partial_said = n->partial_since;
		snprintf(n->partial_from, sizeof(n->partial_from), "%s", f->name);
		log_info("joined the cluster through %s (%s) by a partial welcome (its welcome "
		    "budget is spent): waiting for the cluster's state from gossip", f->name,
		    f->address);
	} else
		log_info("joined the cluster through %s (%s)", f->name, f->address);
	changed(n, now);
	n->next_hb = now;
}

/*
 * Two clusters can exist after all: an operator formed one by hand, or the
 * seeds were configured apart. The one without the majority of the members
 * it remembers runs no singleton (memory.c), and it dissolves: while it has
 * no majority, each of its members asks, every few seconds, the remembered
 * members that are not in its view; one that answers as a member of a
 * cluster holding its majority makes this node shut down as downed (exit
 * 3), so that its supervisor restarts it and it joins that cluster.
 */
#define PROBE_AFTER	5000	/* without the majority this long */
#define PROBE_EVERY	2000
#define MAJORITY_EVERY	200	/* the majority asked again at most this often */

static int
in_view(const struct node *n, const char *address)
{
	int i;

	for (i = 0; i < n->st.n; i++)
		if (strcmp(n->st.m[i].address, address) == 0 && n->st.m[i].status != MS_DOWN)
			return 1;
	return 0;
}

void
probe_tick(struct node *n, msec_t now)
{
	int have, of, k;

	/*
	 * The state changes with every seen set that grows (hundreds of times a
	 * second in a join storm); the answer matters only after PROBE_AFTER,
	 * so it is asked again at most every MAJORITY_EVERY.
	 */
	if (n->phase == PHASE_MEMBER && (n->majority_nmemo != n->nmemo || n->majority_seq == 0 ||
	    (n->majority_seq != n->state_seq && now - n->majority_at >= MAJORITY_EVERY))) {
		/*
		 * what it reads unchanged (most changes are of the seen set): the
		 * same answer; reach_digest is changed()'s, which every write of
		 * the reachability records goes through
		 */
		if (n->majority_seq == 0 || n->majority_mt == 0 ||
		    mstate_table_id(&n->st) != n->majority_mt || n->majority_reach != n->reach_digest ||
		    n->majority_gen != n->memo_gen) {
			n->majority_ok = node_majority(n, &have, &of);
			n->majority_mt = mstate_table_id(&n->st);
			n->majority_reach = n->reach_digest;
			n->majority_gen = n->memo_gen;
		}
		n->majority_seq = n->state_seq;
		n->majority_nmemo = n->nmemo;
		n->majority_at = now;
	}
	/* a partial welcome's two members are no view of the cluster to judge a majority by */
	if (n->phase != PHASE_MEMBER || n->majority_ok || node_partial(n)) {
		n->minority_since = -1;
		return;
	}
	if (n->minority_since < 0) {
		n->minority_since = now;
		n->next_probe = now + PROBE_AFTER;
	}
	if (now < n->next_probe)
		return;
	n->next_probe = now + PROBE_EVERY;
	for (k = 0; k < n->nmemo; k++)
		if (strcmp(n->memo[k].address, n->self.address) != 0 &&
		    !in_view(n, n->memo[k].address))
			send_to(n, n->memo[k].address, envelope(n, MSG_INIT_JOIN, 0));
}

static void
on_probe_ack(struct node *n, const struct from *f, const cJSON *msg, msec_t now)
{
	char why[CONF_ADDR_MAX + 160];

	if (n->minority_since < 0 || in_view(n, f->address) ||
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "majority")))
		return;
	snprintf(why, sizeof(why), "%s (%s) is a member of a cluster that holds the majority of "
	    "this node's: leaving this one to join it", f->name, f->address);
	begin_shutdown(n, EXIT_DAEMON_DOWNED, now, why);
}

void
on_init_join(struct node *n, const struct from *f, msec_t now)
{
	int ok = n->phase == PHASE_MEMBER && n->self.status != MS_DOWN &&
	    n->self.status != MS_EXITING;
	cJSON *m;
	int cand;

	/*
	 * A member by a partial welcome, without the cluster's state yet,
	 * answers nothing: it could neither let a joiner in with a state nor
	 * say whether it sees a majority. The joiner asks the others.
	 */
	if (ok && node_partial(n))
		return;
	m = envelope(n, ok ? MSG_INIT_JOIN_ACK : MSG_INIT_JOIN_NACK, f->uid);
	/* not a member: our vote for who should form the cluster, if we are a seed */
	if (!ok && n->phase == PHASE_JOINING && n->self_seed >= 0 &&
	    !(n->ack_at >= 0 && now - n->ack_at <= form_window(n)) &&
	    (cand = form_candidate(n, now)) >= 0)
		cJSON_AddStringToObject(m, "cand", n->cfg->seeds[cand]);
	if (!ok && n->phase == PHASE_JOINING && n->self_seed >= 0)
		cJSON_AddBoolToObject(m, "ready", self_ready(n, now));
	if (ok) {
		int have, of;

		cJSON_AddBoolToObject(m, "majority", node_majority(n, &have, &of));
		json_add_u64(m, "nonce", give_nonce(n, f->uid, now));
	}
	send_to(n, f->address, m);
}

void
on_init_join_reply(struct node *n, const struct from *f, const cJSON *msg, int ack, msec_t now)
{
	const char *cand;
	int i;

	if (ack && n->phase == PHASE_MEMBER) {
		on_probe_ack(n, f, msg, now);
		return;
	}
	/* akc-join ADDRESS: only its ack counts (it may call itself by another name) */
	if (n->phase != PHASE_JOINING || (n->join_only[0] != '\0' && !ack))
		return;
	if (ack) {
		if (json_u64(msg, "nonce", &n->join_nonce) < 0) {
			n->dropped.malformed++;
			return;
		}
		/*
		 * A cluster exists: we must never form another one while it
		 * answers, however long the join takes (the node that acked
		 * may first have to remove our previous incarnation).
		 */
		n->ack_at = now;
		if (n->join_target[0] == '\0') {
			send_join(n, f->address);
			/* a welcome should follow quickly; retry from scratch if not */
			n->join_next = now + n->join_backoff;
		}
		return;
	}
	node_memory_nack(n, f->address, now);
	if ((i = config_seed_index(n->cfg, f->address)) < 0 || i == n->self_seed)
		return;		/* only the seeds vote */
	n->seedans[i].nack_at = now;
	cand = json_str(msg, "cand");
	n->seedans[i].cand = cand != NULL ? config_seed_index(n->cfg, cand) : -1;
	n->seedans[i].ready = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "ready"));
}
