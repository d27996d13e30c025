/* events.h: cluster events as the difference between two membership states. */
#ifndef AKC_EVENTS_H
#define AKC_EVENTS_H

#include <cjson/cJSON.h>

#include "membership.h"

/* Receives each event (ownership passes to the callback). */
typedef void (*event_cb)(cJSON *ev, void *arg);

/*
 * Emits, in Akka's order: MemberRemoved, other member events, UnreachableMember,
 * ReachableMember, LeaderChanged, RoleLeaderChanged. old NULL = empty state
 * (this is the snapshot of a new subscriber).
 */
void events_diff(const struct mstate *old, const struct mstate *cur, uint64_t self,
    event_cb cb, void *arg);
/* A member event of the given type for m. */
cJSON *event_member(const char *type, const struct member *m);

#endif
