/* db.c: not written yet; see db.h for the contract. */
#include "mf_build.h"
