/*
 * keystore_int.h: shared between keystore.c and keystore_file.c only; the
 * public interface is keystore.h.
 */
#ifndef MF_KEYSTORE_INT_H
#define MF_KEYSTORE_INT_H

#include <openssl/evp.h>

#include "keystore.h"

/*
 * Loads the PEM private key at path: MF_ERR_KEY_PERMS if group or others
 * have any access, MF_ERR_KEY_LOAD if missing, not a regular file, encrypted
 * or not a key. *out is a new reference.
 */
int mf_keyfile_load(const char *path, EVP_PKEY **out);

/*
 * Generates a key of type t and writes it to path, 0600, refusing
 * (MF_ERR_EXISTS) if anything is there already, a dangling symlink included.
 */
int mf_keyfile_generate(const char *path, enum mf_keytype t);

#endif
