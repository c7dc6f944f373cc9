/* cli_init.c: `mayfly init --dir DIR`; not written yet. */
#include "mf_build.h"
