/* keystore.c: not written yet; see keystore.h for the contract. */
#include "mf_build.h"

#include "keystore.h"
#include "mferr.h"

int
mf_keystore_init_token(const char *module, const char *softhsm2_conf,
    const char *label, const char *so_pin, const char *user_pin)
{
	return MF_ERR_NOTIMPL;
}
