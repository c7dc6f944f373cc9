/* audit.c: not written yet; see audit.h for the contract. */
#include "mf_build.h"
