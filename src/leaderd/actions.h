/* actions.h: the leader's member transitions, decided without I/O. */
#ifndef LEADERD_ACTIONS_H
#define LEADERD_ACTIONS_H

#include <cjson/cJSON.h>

#include "membership.h"

/*
 * What the leader does on convergence (Akka's leaderActionsOnConvergence):
 * Joining/WeaklyUp -> Up once min-nr-of-members are there, Leaving -> Exiting,
 * Exiting that confirmed or became unreachable -> Removed, unreachable
 * Down -> Removed. Returns a JSON array of {"uid","node","status"[,"up_number"]},
 * empty when self is not the leader or there is no convergence.
 */
cJSON *leader_actions(const struct mstate *st, uint64_t self, int convergence,
    const struct u64set *confirmed, int min_nr);

/*
 * Without convergence, after allow-weakly-up-members: every reachable Joining
 * member -> WeaklyUp (min-nr-of-members permitting), so new members can work
 * while an unreachable member blocks convergence. Same result shape.
 */
cJSON *leader_weakly_up(const struct mstate *st, uint64_t self, int min_nr);

#endif
