/*
 * fixture.h: memberd's core (src/memberd/node.c and the files beside it) in
 * plausible states for the fuzz targets fuzz-node.c and fuzz-control.c, and
 * invariants to check after.
 *
 * The cluster: seven members n1..n7 at tcp://127.0.0.1:7401..7407, uids
 * 1001..1007, seeds n1..n3; n1 (this node, role backend) is the leader.
 * n1..n3 are Up (up-numbers 1..3), n4 Joining, n5 Leaving, n6 Exiting and
 * n7 Down; every member has seen the version (convergence) and uid 999 has
 * a tombstone. t/fuzz/corpus/ holds messages made for this cluster.
 */
#ifndef FUZZ_FIXTURE_H
#define FUZZ_FIXTURE_H

#include "node.h"

#define FIX_T0		100000		/* monotonic ms when the fixture is built */
#define FIX_WALL	1700000000000LL	/* wall ms */
#define FIX_SELF	1001
#define FIX_STATE_SEQ	100		/* the member's state_seq once built */

/* Parses the configuration and the messages the fixtures are built from. */
void fixture_init(void);
/* n1, a member and the leader of the converged cluster above. */
void fixture_member(struct node *);
/* n1 joining: n2 acked its init-join, it sent join and waits for a welcome. */
void fixture_joining(struct node *);
/* Takes and frees what the core left for the shell: messages, relays, resets. */
void fixture_drain(struct node *);
/* Aborts if the node's state breaks an invariant of the core. */
void fixture_check(const struct node *);
void fixture_free(void);

#endif
