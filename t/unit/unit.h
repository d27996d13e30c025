/* unit.h: a tiny test harness for the sans-IO cores: CHECK, counts, exit status. */
#ifndef AKC_UNIT_H
#define AKC_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_pass, unit_fail;

#define CHECK(cond) do {						\
	if (cond)							\
		unit_pass++;						\
	else {								\
		unit_fail++;						\
		fprintf(stdout, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
	}								\
} while (0)

#define CHECK_INT(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a == _b)							\
		unit_pass++;						\
	else {								\
		unit_fail++;						\
		fprintf(stdout, "%s:%d: %s == %lld, expected %lld\n",	\
		    __FILE__, __LINE__, #a, _a, _b);			\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (_a != NULL && _b != NULL && strcmp(_a, _b) == 0)		\
		unit_pass++;						\
	else {								\
		unit_fail++;						\
		fprintf(stdout, "%s:%d: %s == \"%s\", expected \"%s\"\n", \
		    __FILE__, __LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)"); \
	}								\
} while (0)

#define RUN(test) do {							\
	int _before = unit_fail;					\
	test();								\
	printf("%s %s\n", unit_fail == _before ? "ok  " : "FAIL", #test); \
} while (0)

static inline int
unit_done(void)
{
	printf("%d passed, %d failed\n", unit_pass, unit_fail);
	return unit_fail ? 1 : 0;
}

#endif
