/* ceremony.c: not written yet; see ceremony.h for the contract. */
#include "mf_build.h"
