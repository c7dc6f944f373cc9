/* issuer.c: not written yet; see issuer.h for the contract. */
#include "mf_build.h"
