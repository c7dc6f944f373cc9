/* config.c: not written yet; see config.h for the contract. */
#include "mf_build.h"
