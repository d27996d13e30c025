/* phi.h: the phi-accrual failure detector (Hayashibara et al., as in Akka). */
#ifndef AKC_PHI_H
#define AKC_PHI_H

#include "clock.h"

struct phi_conf {
	double threshold;
	msec_t heartbeat_interval;
	msec_t acceptable_pause;
	msec_t min_std_deviation;
	int max_samples;
};

struct phi {
	const struct phi_conf *conf;
	double *iv;		/* ring of inter-arrival intervals (ms) */
	int n, head, cap;	/* cap grows up to max_samples as samples come */
	double sum, sumsq;
	msec_t last;		/* last heartbeat, -1 = never */
};

void phi_init(struct phi *, const struct phi_conf *);
void phi_free(struct phi *);
/* Records a heartbeat arriving at now. */
void phi_heartbeat(struct phi *, msec_t now);
/* Suspicion level at now; 0 when never heard from. */
double phi_value(const struct phi *, msec_t now);
int phi_available(const struct phi *, msec_t now);
/* The earliest time phi reaches the threshold if nothing arrives; -1 if never heard. */
msec_t phi_deadline(const struct phi *);
double phi_mean(const struct phi *);
double phi_stddev(const struct phi *);

#endif
