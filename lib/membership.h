/*
 * membership.h: the gossiped membership state and its pure rules: member
 * status lattice, vector clocks, seen set, reachability table, tombstones,
 * merge, convergence and the leader rule. No I/O, no clocks: callers pass time.
 */
#ifndef AKC_MEMBERSHIP_H
#define AKC_MEMBERSHIP_H

#include <limits.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"

enum mstatus {
	MS_JOINING,
	MS_WEAKLY_UP,
	MS_UP,
	MS_LEAVING,
	MS_EXITING,
	MS_DOWN,
	MS_REMOVED,
	MS_NSTATUS
};

enum rstatus {
	RS_REACHABLE,
	RS_UNREACHABLE,
	RS_TERMINATED
};

#define UPNUM_NONE	INT_MAX
#define ROLES_MAX	512

/*
 * name, address and roles are interned strings (intern.h): each member
 * holds one reference to each, taken by member_set/member_copy/mstate_add
 * and given back by member_clear/mstate_free/mstate_remove. A plain struct
 * copy shares them without a reference: fine to read while the original
 * lives, never to keep. Their limits are CONF_NAME_MAX, CONF_ADDR_MAX and
 * ROLES_MAX bytes with the NUL, checked where they are read from a message.
 */
struct member {
	uint64_t uid;
	const char *name;
	const char *address;
	const char *roles;		/* comma-separated, no blanks; "" for none */
	enum mstatus status;
	int up_number;			/* UPNUM_NONE until Up */
};

struct u64set {
	uint64_t *v;
	int n, cap;
};

struct vc_entry {
	uint64_t node;
	uint64_t count;
};

struct vclock {
	struct vc_entry *e;		/* sorted by node */
	int n, cap;
};

enum vc_order { VC_SAME, VC_BEFORE, VC_AFTER, VC_CONCURRENT };

struct reach_record {
	uint64_t observer, subject;
	enum rstatus status;
	uint64_t version;
};

struct reach_version {
	uint64_t observer, version;
};

struct reach {
	struct reach_record *r;
	int n, cap;
	struct reach_version *v;
	int nv, vcap;
};

struct tomb {
	uint64_t uid;
	int64_t time;			/* wall ms of removal */
	int exited;			/* removed from Exiting on the member's own
					   exit confirmation (it had handed over) */
};

struct mtab;

struct mstate {
	/*
	 * The member table, sorted by address, then uid: m is mt's members
	 * and n their count, read only. The table (struct mtab in
	 * membership.c) is reference-counted and shared by the states of
	 * the process that hold the same members (mstate_copy takes a
	 * reference; a wire state whose table is, byte for byte, one the
	 * process holds takes that one), so a write goes through
	 * mstate_wm, which makes it this state's own first. m and mt may be
	 * NULL when n is 0.
	 */
	const struct member *m;
	int n;
	struct mtab *mt;
	struct vclock vc;
	struct u64set seen;
	struct reach reach;
	struct tomb *t;
	int nt, tcap;
	/*
	 * The rest of the wire form (clock, seen set, reachability,
	 * tombstones) as printed, tagged with a hash of what it was printed
	 * from: a cache (struct wcache in membership.c). The table's printed
	 * form is its mtab's, shared like it.
	 */
	struct wcache *wt;
};

/* members: the references to the strings (fields NULL: none held) */
void member_set(struct member *, const char *name, const char *address, const char *roles);
/* dst's strings are given back, src's taken: dst keeps its own references. */
void member_copy(struct member *dst, const struct member *src);
void member_clear(struct member *);

/* statuses */
const char *mstatus_name(enum mstatus);
int mstatus_parse(const char *, enum mstatus *);
/* Whether from -> to is an allowed member transition (Akka's table). */
int mstatus_allowed(enum mstatus from, enum mstatus to);
int member_has_role(const struct member *, const char *role);
/*
 * The next role of the comma-separated list at *p, copied into r (rlen
 * bytes), *p moved past it; 0 at the end. Empty roles and roles that do not
 * fit in r are skipped.
 */
int roles_next(const char **p, char *r, size_t rlen);
int address_compare(const char *a, const char *b);
int member_compare(const struct member *, const struct member *);
/* Age order: lower up-number first, ties broken by address. */
int member_older(const struct member *a, const struct member *b);

/* sets */
int u64set_has(const struct u64set *, uint64_t);
void u64set_add(struct u64set *, uint64_t);
void u64set_del(struct u64set *, uint64_t);
void u64set_clear(struct u64set *);
void u64set_free(struct u64set *);

/* vector clocks */
void vclock_inc(struct vclock *, uint64_t node);
enum vc_order vclock_compare(const struct vclock *a, const struct vclock *b);
void vclock_merge(struct vclock *into, const struct vclock *other);
void vclock_prune(struct vclock *, uint64_t node);
void vclock_copy(struct vclock *dst, const struct vclock *src);
void vclock_free(struct vclock *);
uint64_t vclock_get(const struct vclock *, uint64_t node);

/* reachability (only the observer edits its row) */
void reach_set(struct reach *, uint64_t observer, uint64_t subject, enum rstatus);
enum rstatus reach_observer_says(const struct reach *, uint64_t observer, uint64_t subject);
/* Aggregate status of subject over the observers that st still counts. */
enum rstatus mstate_reach_status(const struct mstate *, uint64_t subject);
int mstate_reachable(const struct mstate *st, uint64_t subject);

/* state */
void mstate_init(struct mstate *);
void mstate_free(struct mstate *);
/* dst shares src's member table (one reference); the rest is copied. */
void mstate_copy(struct mstate *dst, const struct mstate *src);
/*
 * Member i of st to write: st's table made its own first (copied when
 * another state shares it). Valid until st's table next changes.
 */
struct member *mstate_wm(struct mstate *, int i);
/* Whether a and b hold the same member table (the one block, shared). */
int mstate_same_table(const struct mstate *a, const struct mstate *b);
/*
 * Which member table st holds: an id that no other table of the process
 * had or will have (0: none). The same id is the same members: a table
 * written to gets a new one.
 */
uint64_t mstate_table_id(const struct mstate *);
/*
 * Sets the buckets of the process's map of member tables (found by their
 * bytes or members) to n if called before the first table (n > 0), and
 * returns the count in effect: 65536 by default (akc-sim's thousands of
 * nodes); a daemon's few tables want a few hundred, each bucket page
 * touched being a page fault.
 */
size_t mstate_map_buckets(size_t n);
#define DAEMON_MAP_BUCKETS	512
int mstate_find(const struct mstate *, uint64_t uid);
void mstate_mark(const struct mstate *, const struct u64set *, unsigned char *);
/* f[i] |= v for every member i of uid u (all of them, should u be there twice). */
void mstate_mark_uid(const struct mstate *, uint64_t u, unsigned char *f, unsigned char v);
int mstate_find_name(const struct mstate *, const char *name);
int mstate_find_address(const struct mstate *, const char *address);
int mstate_is_tombstoned(const struct mstate *, uint64_t uid);
void mstate_add(struct mstate *, const struct member *);
/* The leader's removal: member, seen, reachability, vclock entry, + tombstone. */
void mstate_remove(struct mstate *, uint64_t uid, int64_t now_wall);
/* Marks uid's tombstone: it left on its own exit confirmation, not downed. */
void mstate_tomb_exited(struct mstate *, uint64_t uid);
/* The tombstone of uid, or NULL. */
const struct tomb *mstate_tomb(const struct mstate *, uint64_t uid);
void mstate_prune_tombstones(struct mstate *, int64_t older_than_wall);
/* Merges two concurrent states (Akka's Gossip.merge); seen is left empty. */
void mstate_merge(struct mstate *out, const struct mstate *a, const struct mstate *b);

/*
 * Convergence: every Up/Leaving member has seen this version (or is in
 * confirmed), and every unreachable member but self is Down or Exiting.
 */
int mstate_convergence(const struct mstate *, uint64_t self, const struct u64set *confirmed);
/* Index of the leader (role NULL: of all members), or -1. */
int mstate_leader(const struct mstate *, const char *role);
/* The same as seen by self, which always counts itself reachable (Akka's leaderOf). */
int mstate_leader_for(const struct mstate *, const char *role, uint64_t self);
/* Index of the oldest Up member with role, or -1. */
int mstate_oldest(const struct mstate *, const char *role);
/* Akka's isGossipSpeedupNeeded. */
int mstate_speedup_needed(const struct mstate *);
/* Next up-number for a member moving to Up. */
int mstate_next_up_number(const struct mstate *);

/* JSON: the gossip wire form; _from_json validates every field (-1 on bad input). */
cJSON *member_to_json(const struct member *);
int member_from_json(const cJSON *, struct member *);
cJSON *mstate_to_json(const struct mstate *);
int mstate_from_json(const cJSON *, struct mstate *);
cJSON *vclock_to_json(const struct vclock *);
int vclock_from_json(const cJSON *, struct vclock *);
cJSON *u64set_to_json(const struct u64set *);
int u64set_from_json(const cJSON *, struct u64set *, int max);
/* Most members the object form (the control socket's state) takes: CTL_MAX_MSG binds first. */
#define JSON_MAX_MEMBERS	32768

/*
 * The compact wire form of a state (doc/PROTOCOL.md "State"), in gossip and
 * welcome messages: a member table once, everything else by index into it.
 * The 1 MiB frame binds first (~17,000 members of 60 bytes); the cap only
 * bounds what a parse allocates.
 */
#define WIRE_MAX_MEMBERS	65536
#define WIRE_MAX_TOMBS		16384	/* removals in 24 hours (each is looked up) */
cJSON *mstate_to_wire(const struct mstate *);
/*
 * The same as a raw item (cJSON_PrintUnformatted's bytes of it, in a
 * buffer of the item's own), from st's printed table and the rest of it
 * as printed when st last changed: a full state is sent for every push,
 * answer and round, and printed again only when st changed.
 */
cJSON *mstate_wire_raw(const struct mstate *);
int mstate_from_wire(const cJSON *, struct mstate *);
/*
 * The same, reading a member whose uid and strings are those of a member
 * of known (the receiver's own state) by taking known's strings: no copy,
 * check or lookup of strings already held. The result is the same.
 */
int mstate_from_wire_known(const cJSON *, struct mstate *, const struct mstate *known);
/* Just what decides what to do with a wire state: its table's uids, version, seen set. */
struct wire_head {
	const uint64_t *uid;	/* in table order: mt's */
	int n;
	struct mtab *mt;	/* the table, a reference: a full read takes it */
	struct vclock vc;
	struct u64set seen;
};
int wire_head_parse(const cJSON *, struct wire_head *);
/* The same, the records that are known's own (byte for byte) read as known's. */
int wire_head_parse_known(const cJSON *, struct wire_head *, const struct mstate *known);
/* Whether h's table is st's: the one shared table (1), or not known to be (0). */
int wire_head_is_table(const struct wire_head *h, const struct mstate *st);
/* The whole state whose head h is (h from the same o): the table read once. */
int mstate_from_wire_head(const cJSON *o, struct mstate *, const struct wire_head *h);
int wire_head_has(const struct wire_head *, uint64_t uid);
void wire_head_free(struct wire_head *);
/*
 * A status message's version (by uid) and seen set (a bitmap over st's
 * member table, tagged with the table's hash "mh", which the receiver
 * checks against its own table before reading the bitmap).
 */
void status_to_wire(cJSON *msg, const struct mstate *st);
int status_version_from_wire(const cJSON *msg, struct vclock *);
/* 0: seen read; 1: the sender's table is not st's (nothing read); -1: malformed. */
int status_seen_from_wire(const cJSON *msg, const struct mstate *st, struct u64set *);
uint64_t mstate_table_hash(const struct mstate *);
/*
 * A state's seen set as the bitmap over its table that a status prints
 * ("seen"), kept by the state's holder while it tags the state with the
 * same seq (memberd's state_seq; 0: never kept): statuses are printed from
 * it, and a status of our version is compared with it digit by digit
 * (status_seen_compare) instead of being read into a set and united.
 */
struct seen_bits {
	uint64_t seq, tid;		/* the holder's tag; the table's id */
	const uint64_t *sv;		/* the seen set's array, count, ends */
	int n, seen_n, nx, distinct;	/* table size; seen uids outside it; no uid twice */
	uint64_t first, last;
	unsigned char *d;		/* (n + 3) / 4 nibbles: bit j of d[k] is member 4k+j */
	size_t cap;
};
const struct seen_bits *mstate_seen_bits(const struct mstate *, struct seen_bits *, uint64_t seq);
/*
 * c made for st (tagged seq) from the wire state o whose seen set, plus
 * member self_i, st's seen set is (a state taken whole: its bitmap read
 * as it is, not st's seen set walked); left to mstate_seen_bits when o
 * has uids outside the table, the table may hold a uid twice, or the
 * counts differ.
 */
void mstate_seen_bits_wire(const struct mstate *st, const cJSON *o, int self_i,
    struct seen_bits *c, uint64_t seq);
void seen_bits_free(struct seen_bits *);
/* status_to_wire with the seen set's bitmap from c (mstate_seen_bits of st). */
void status_to_wire_bits(cJSON *msg, const struct mstate *st, const struct seen_bits *c);
/*
 * A status's seen set against ours (c, st's): 0 read, and *r says whether
 * it has members ours lacks (r->add: their indexes in st's table, r->uids
 * their uids in order, r->nadd; the thread's scratch until its next read), whether ours has members it
 * lacks, and whether it has member self_i; 1 and -1 as
 * status_seen_from_wire; 2 not read so (a "seen_x", ours has uids outside
 * the table, or the table a uid twice): read it with status_seen_from_wire.
 */
struct seen_cmp {
	int lacks, has_self, nadd;
	const int *add;
	const uint64_t *uids;		/* their uids, sorted (scratch too) */
};
int status_seen_compare(const cJSON *msg, const struct mstate *st, const struct seen_bits *c,
    int self_i, struct seen_cmp *r);
/* c after the caller added r's members to st's seen set and tagged st seq. */
void seen_bits_took(struct seen_bits *c, const struct mstate *st, const struct seen_cmp *r,
    uint64_t seq);
/*
 * A digest of what moves members out of the cluster: the uid and status of
 * every Leaving, Exiting or Down member and every tombstone's uid (order
 * does not matter). A version that changes it is one the eager push serves
 * first (doc/PROTOCOL.md "Eager push"); 0 when there is none of them.
 */
uint64_t mstate_exit_digest(const struct mstate *);
/*
 * A digest of the reachability records' verdicts (observer, subject,
 * status; not their versions), order aside: a version that changes it is
 * one the eager push sends to three members, not one (doc/PROTOCOL.md
 * "Eager push"); 0 when there are none.
 */
uint64_t mstate_reach_digest(const struct mstate *);
/* splitmix64's finaliser: a bijection that spreads neighbouring words apart. */
uint64_t mix64(uint64_t);
/* A 64-bit hash of len bytes, fast on long runs (printed member tables). */
uint64_t bytes_hash(const char *, size_t len);
/*
 * A scratch array of size bytes for slot (SCRATCH_*), the thread's own,
 * valid until its next call for that slot; mstate_scratch_free: give the
 * thread's back.
 */
enum { SCRATCH_READ, SCRATCH_PRINT, SCRATCH_TARGETS, SCRATCH_ADD };
void *mstate_scratch(int slot, size_t size);
void mstate_scratch_free(void);
/* The wire table text at s is len bytes, of bytes_hash h (for this thread's reads of s; NULL: none). */
void mstate_wire_text_known(const char *s, size_t len, uint64_t h);

#endif
