/* proto.h: the one home of akc's wire protocol: version, message types, limits. */
#ifndef AKC_PROTO_H
#define AKC_PROTO_H

/*
 * Bump PROTO_VERSION whenever a message's fields or meaning change. Every
 * node-to-node message and every control request carries it as "v"; a
 * mismatch is refused explicitly (dropped and counted as "version").
 */
#define PROTO_VERSION		2	/* 2: compact states and statuses (doc/PROTOCOL.md) */

/* Node-to-node messages (memberd <-> memberd), field "t". */
#define MSG_INIT_JOIN		"init-join"	/* seed probe: are you in a cluster? */
#define MSG_INIT_JOIN_ACK	"init-join-ack"
#define MSG_INIT_JOIN_NACK	"init-join-nack"
#define MSG_JOIN		"join"		/* add me as Joining */
#define MSG_WELCOME		"welcome"	/* full state for a new member */
#define MSG_JOIN_REFUSED	"join-refused"
#define MSG_GOSSIP		"gossip"	/* full membership state */
#define MSG_STATUS		"status"	/* version + seen set only */
#define MSG_HEARTBEAT		"hb"
#define MSG_HEARTBEAT_RSP	"hb-rsp"
#define MSG_EXITING		"exiting"	/* I am Exiting/Down and shutting down now */
#define MSG_REMOVED		"removed"	/* you are no longer a member */
#define MSG_RELAY		"relay"		/* for a local service (svc) of the receiver */
#define MSG_HELLO		"hello"		/* opens a connection: nothing to do */
#define MSG_KEYS		"keys"		/* akc-keys: list, install, use or remove a key */
#define MSG_KEYS_RSP		"keys-rsp"	/* a member's answer, with its keys */

/*
 * Compact heartbeats (doc/PROTOCOL.md, "Compact heartbeats"): binary
 * payloads in the same frames, told from JSON by their first byte (0x80 or
 * above: never the start of a JSON text). The kind byte is their version:
 * another layout gets another byte. kind | from uid (8 bytes, big-endian) |
 * to uid (8) | seq (LEB128, 1-10 bytes).
 */
#define HBC_HEARTBEAT		0xa1	/* as "hb" */
#define HBC_HEARTBEAT_RSP	0xa2	/* as "hb-rsp" */
#define HBC_MIN			17	/* kind and the two uids: the seq follows */
#define HBC_MAX			27

/*
 * The journal replication protocol between a master and its standbys
 * (relay bodies of service "journal.NAME", doc/PROTOCOL.md): each body
 * carries it as "jv"; a body of another version is dropped and counted.
 * 2: replica set and majorities, epoch runs in promise and need, trunc in
 * append, salvage and salvage-ack.
 */
#define JOURNAL_VERSION		2

/* Journal message types, field "m" (doc/PROTOCOL.md, "Journal replication"). */
#define JMSG_PREPARE		"prepare"	/* a master: promise me this epoch */
#define JMSG_PROMISE		"promise"	/* a standby: promised, with its journal's state */
#define JMSG_REJECT		"reject"	/* a standby: promised a later epoch */
#define JMSG_FETCH		"fetch"		/* a recovering master asks for events */
#define JMSG_BATCH		"batch"		/* events (or a snapshot piece) for a fetch */
#define JMSG_APPEND		"append"	/* the master's new events, in order */
#define JMSG_ACK		"ack"		/* a standby: durable up to here */
#define JMSG_NEED		"need"		/* a standby: a gap, send from here */
#define JMSG_SALVAGE		"salvage"	/* a standby's events after the common prefix */
#define JMSG_SALVAGE_ACK	"salvage-ack"	/* the master kept them */

/*
 * Relay services: a local daemon's name for memberd's relay, the topic its
 * relayed messages come under. SVC_SINGLETON_PREFIX + NAME is singletond's
 * for singleton NAME, SVC_JOURNAL_PREFIX + NAME the journal standbys' of
 * singleton NAME (src/master/repl.c).
 */
#define SVC_SINGLETON_PREFIX	"singleton."
#define SVC_JOURNAL_PREFIX	"journal."
/*
 * SVC_MLINK_PREFIX + NAME: the master link's hellos between a proxy's
 * singletond and the serving master (src/master/mlink.c,
 * src/singletond/mlink.c; doc/PROTOCOL.md, "The master link").
 */
#define SVC_MLINK_PREFIX	"mlink."
#define MLM_HELLO		"hello"		/* proxy -> master: my link ("lk") */
#define MLM_WELCOME		"welcome"	/* master -> proxy: mine */

/*
 * singletond's messages between nodes ("m" of a relay body): its proxy's
 * requests and the answers of the node that serves them, and the question
 * where the singleton runs. The hand-over messages are sm.h's SG_*.
 */
#define PXM_REQ			"req"		/* one client request, base64 */
#define PXM_REQS		"reqs"		/* several, to a node that said it takes them */
#define PXM_RSP			"rsp"		/* the singleton's answer */
#define PXM_RSPS		"rsps"		/* answers to a "reqs" */
#define PXM_ERROR		"error"		/* the answer was refused (too large?) */
#define PXM_NACK		"nack"		/* not served here: the proxy tries again */
#define PXM_WHERE		"where"		/* to the oldest: do you run it? */
#define PXM_HERE		"here"		/* its answer, with "running" */

/*
 * A local service's request on SOCK_MEMBERD_RELAY, {"v":PROTO_VERSION,
 * RELAY_REQ_*:{...}} (singletond.c, repl.c).
 */
#define RELAY_REQ_SEND		"relay"		/* {"to","svc","body"}: to a member's service */
#define RELAY_REQ_PUBLISH	"publish"	/* {"type","name","node"}: a Singleton* event */

/* Longest local service name a relay message may carry ("singleton.NAME"). */
#define RELAY_SVC_MAX		96

/* A job's id (the work protocol): 1-128 of A-Za-z0-9._:- (proto.c). */
#define WORK_ID_MAX		128
int work_id_valid(const char *id);

/*
 * Control commands, {"v":PROTO_VERSION,"cmd":CTL_*} on a daemon's control
 * socket (ctl_request()). memberd answers all of them; leaderd answers
 * any request with its status, and the tools send it CTL_STATUS.
 */
#define CTL_PING		"ping"
#define CTL_STATUS		"status"
#define CTL_STATE		"state"		/* leaderd's and repl's view of memberd */
#define CTL_MEMBERS		"members"
#define CTL_SNAPSHOT		"snapshot"	/* state plus the event seq (akc-events, SSE) */
#define CTL_JOIN		"join"
#define CTL_LEAVE		"leave"
#define CTL_DOWN		"down"
#define CTL_HOLD_EXIT		"hold-exit"	/* a singleton delays this node's exit */
#define CTL_LEADER_ACTIONS	"leader-actions"	/* leaderd hands memberd its actions */
#define CTL_KEYS		"keys"		/* akc-keys: start a keyring change */
#define CTL_KEYS_RESULT		"keys-result"	/* akc-keys: the members' answers */

/* The "op" of CTL_KEYS and MSG_KEYS (akc-keys' commands, doc/PROTOCOL.md). */
#define KEYS_OP_LIST		"list"
#define KEYS_OP_INSTALL		"install"
#define KEYS_OP_USE		"use"
#define KEYS_OP_REMOVE		"remove"

/*
 * The work protocol's version: every work request carries it as "v". A
 * request without "v" is version 1 (what was sent before "v" existed), so
 * tools and workers of before still work during a rolling upgrade. The
 * master refuses a request of another version (code 2, naming both
 * versions) and counts it in bad_requests and bad_version. Bump it only
 * when an op or a field changes meaning: a new optional field needs no
 * bump (the master ignores fields it does not know), and a master that
 * bumps it should go on serving the version before for one release, so
 * that nodes can be upgraded one at a time (doc/PROTOCOL.md, Work).
 */
#define WORK_PROTO_VERSION	1

/*
 * The work protocol's ops, {"v":WORK_PROTO_VERSION,"op":WORK_OP_*} to the
 * master (service MASTER_SVC through singletond's proxy): the tools' and
 * akc-httpd's requests, and the worker's.
 */
#define WORK_OP_SUBMIT		"submit"
#define WORK_OP_STATUS		"status"
#define WORK_OP_RESULTS		"results"
#define WORK_OP_QUEUE		"queue"
#define WORK_OP_JOB		"job"
#define WORK_OP_CANCEL		"cancel"
#define WORK_OP_REQUEST		"request"	/* worker: give me a job */
#define WORK_OP_DONE		"done"
#define WORK_OP_FAILED		"failed"
#define WORK_OP_REGISTER	"register"
#define WORK_OP_UNREGISTER	"unregister"
#define WORK_OP_REPORT		"report"	/* worker: several done/failed in one */

/*
 * The master is singleton "master": its service name, and the name of the
 * proxy socket singletond listens on for it on every node.
 */
#define MASTER_SVC		SVC_SINGLETON_PREFIX "master"

/*
 * The master's journal events ("e" of a journal entry, src/master/work.c):
 * a stored format, so never renamed.
 */
#define EV_ACCEPTED		"accepted"
#define EV_STARTED		"started"
#define EV_COMPLETED		"completed"
#define EV_ATTEMPT_FAILED	"attempt-failed"
#define EV_TIMED_OUT		"timed-out"
#define EV_FAILED		"failed"
#define EV_CANCELLED		"cancelled"
#define EV_EPOCH		"epoch"		/* a new master's term (epochs.c) */
#define EV_FORGET		"forget"	/* finished jobs up to a seq leave the state */

/*
 * Cluster events ("type" on memberd.events, in snapshots and in akc-events'
 * output; the CONTRACT's Akka names): lib/events.c makes the member and
 * leader ones, singletond publishes the singleton ones through memberd.
 */
#define CEV_MEMBER_JOINED	"MemberJoined"
#define CEV_MEMBER_WEAKLY_UP	"MemberWeaklyUp"
#define CEV_MEMBER_UP		"MemberUp"
#define CEV_MEMBER_LEFT		"MemberLeft"
#define CEV_MEMBER_EXITED	"MemberExited"
#define CEV_MEMBER_DOWNED	"MemberDowned"
#define CEV_MEMBER_REMOVED	"MemberRemoved"
#define CEV_UNREACHABLE		"UnreachableMember"
#define CEV_REACHABLE		"ReachableMember"
#define CEV_LEADER_CHANGED	"LeaderChanged"
#define CEV_ROLE_LEADER_CHANGED	"RoleLeaderChanged"
#define CEV_SINGLETON_STARTED	"SingletonStarted"
#define CEV_SINGLETON_STOPPED	"SingletonStopped"

/* Largest node-to-node message accepted (NN_RCVMAXSIZE of the peer socket). */
#define PROTO_MAX_MSG		(1024 * 1024)
/*
 * Largest relay message (a local service's message for another node: a
 * proxied request of up to 2 MiB, base64 in JSON). Membership messages stay
 * under PROTO_MAX_MSG.
 */
#define RELAY_MAX_MSG		(4 * 1024 * 1024)
/* Largest request or answer singletond's proxy carries (to and from a singleton). */
#define PROXY_MAX_BODY		(2 * 1024 * 1024)
/* Largest control request or reply. */
#define CTL_MAX_MSG		(4 * 1024 * 1024)

/*
 * singletond's sockets in the run dir: SOCK_SINGLETON_PREFIX + NAME is the
 * proxy of singleton NAME (and its relay service name, MASTER_SVC for the
 * master), SOCK_SINGLETON_CTL its control socket.
 */
#define SOCK_SINGLETON_PREFIX	"singleton."
#define SOCK_SINGLETON_CTL	"singleton.%s.ctl"
/*
 * The master's own socket next to its node's proxy (a tool socket, as the
 * proxy's): local clients try it first and fall back to the proxy when it is
 * not there (doc/PROTOCOL.md, "Local clients straight to the master").
 */
#define SOCK_MASTER_DIRECT	"singleton.master.direct"

/* Local sockets in the run dir. */
#define SOCK_MEMBERD_CTL	"memberd.ctl"
#define SOCK_MEMBERD_EVENTS	"memberd.events"
#define SOCK_LEADERD_CTL	"leaderd.ctl"
#define SOCK_MEMBERD_STATE	"memberd.state"		/* PUB: state-changed notices */
#define SOCK_MEMBERD_LEADER	"memberd.leader"	/* PUB: the notices leaderd needs */
#define SOCK_MEMBERD_RELAY	"memberd.relay"		/* PULL: local services' relay requests */
#define SOCK_MEMBERD_SVC	"memberd.svc"		/* PUB: "SVC\n" + relayed message */

/* Exit statuses of the daemons (memberd(8)). */
#define EXIT_DAEMON_OK		0	/* SIGTERM, or left the cluster gracefully */
#define EXIT_DAEMON_FAIL	1	/* configuration or start-up failure */
#define EXIT_DAEMON_DOWNED	3	/* this node was downed or removed by the cluster */

/* Exit statuses of the tools (CONTRACT). */
#define EXIT_TOOL_OK		0
#define EXIT_TOOL_REFUSED	1
#define EXIT_TOOL_USAGE		2
#define EXIT_TOOL_NODAEMON	3

#endif
