/* policy.c: not written yet; see policy.h for the contract. */
#include "mf_build.h"
