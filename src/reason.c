/* reason.c: the words of the reasons a flow ends for (reason.h). */
#include "reason.h"

static const char *reason_names[FLOW_R_NREASONS] = {
    [FLOW_R_NONE] = "none",
    [FLOW_R_FIN] = "fin",
    [FLOW_R_RST] = "rst",
    [FLOW_R_IDLE] = "idle",
    [FLOW_R_SUBMIT] = "submit",
    [FLOW_R_EOF] = "eof",
    [FLOW_R_EVICTED] = "evicted",
    [FLOW_R_SHUTDOWN] = "shutdown",
    [FLOW_R_RECOVERED] = "recovered",
    [FLOW_R_REUSE] = "reuse",
    [FLOW_R_ROTATE] = "rotate",
    [FLOW_R_UNANSWERED] = "unanswered",
    [FLOW_R_REFUSED] = "refused",
};

const char *
flow_reason_name(enum flow_reason r)
{
	if ((unsigned)r >= FLOW_R_NREASONS)
		return "unknown";
	return reason_names[r];
}
