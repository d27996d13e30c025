/* proto.c: the checks of protocol words that every side makes the same way (proto.h). */
#include <string.h>

#include "proto.h"

int
work_id_valid(const char *id)
{
	size_t i, len = strlen(id);

	if (len == 0 || len > WORK_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') || strchr("._:-", id[i]) != NULL))
			return 0;
	return 1;
}
