/*
 * keystore.h: every signing key of mayfly behind one small interface.
 *
 * A key is named by a URI:
 *   file:PATH                    PEM private key, created 0600; refused if
 *                                group- or world-readable.
 *   pkcs11:token=T;object=O      a key in a PKCS#11 token, used through
 *                                OpenSSL's pkcs11 engine (libp11); the PIN
 *                                comes from the configured pin source and is
 *                                never logged, printed or put in argv.
 *
 * All ENGINE and PKCS#11 calls live in keystore.c and nowhere else, so that a
 * move to an OpenSSL 3 provider changes one file. PKCS#11 sessions do not
 * survive fork(): create the keystore in the process that signs, after the
 * fork, and keep the parent free of PKCS#11 calls.
 *
 * PKCS#11 state is per process, and libp11 0.4.12 adds limits of its own:
 * use one keystore (one module, one PIN) per process for pkcs11: keys;
 * initialise every token before the first pkcs11: key is loaded (the engine
 * reads the slot list once); the PIN is checked at the first login in the
 * process (later logins are "already logged in"); once a token vanished,
 * only a new process sees it again. A keystore is not thread-safe.
 */
#ifndef MF_KEYSTORE_H
#define MF_KEYSTORE_H

#include <openssl/evp.h>

enum mf_keytype {
	MF_KEY_EC_P256 = 1,
	MF_KEY_EC_P384,
	MF_KEY_RSA2048,
	MF_KEY_RSA3072,
	MF_KEY_RSA4096,
	MF_KEY_ED25519
};

struct mf_keystore_conf {
	const char *module;		/* PKCS#11 module path; NULL: no pkcs11 keys */
	const char *pin_source;		/* "file:PATH" or "env:NAME" */
	const char *softhsm2_conf;	/* if set, exported as SOFTHSM2_CONF first */
};

struct mf_keystore;

/* Names "ec-p256", "ec-p384", "rsa2048", "rsa3072", "rsa4096", "ed25519". */
int mf_keytype_parse(const char *name, enum mf_keytype *out);
const char *mf_keytype_name(enum mf_keytype t);

/*
 * Creates a keystore. The engine is loaded and the token logged in lazily, on
 * the first pkcs11: URI, so file-only setups never touch the engine.
 * conf strings are copied. Caller frees with mf_keystore_free().
 */
int mf_keystore_new(const struct mf_keystore_conf *conf, struct mf_keystore **out);
void mf_keystore_free(struct mf_keystore *ks);

/*
 * Loads the private key named by uri for signing. *out is a new reference
 * (EVP_PKEY_free it); for pkcs11: it is a handle, the key never leaves the
 * token. MF_ERR_HSM if the module or token is unavailable, MF_ERR_PIN if the
 * PIN is refused or the pin source unreadable, MF_ERR_KEY_LOAD if there is
 * no such key, MF_ERR_KEY_PERMS for a key file group or others can access,
 * MF_ERR_KEY_URI for a malformed URI. On failure the OpenSSL error queue
 * holds the details for the caller's log line; on success it is as before.
 */
int mf_keystore_load(struct mf_keystore *ks, const char *uri, EVP_PKEY **out);

/*
 * Generates a new key of type t at uri and returns it loaded, as
 * mf_keystore_load() would. file: writes a 0600 PEM and refuses
 * (MF_ERR_EXISTS) to overwrite; pkcs11: generates inside the token with
 * CKA_SENSITIVE and not CKA_EXTRACTABLE, label = object, and refuses if an
 * object with that label exists. MF_ERR_KEYTYPE if the token cannot make t,
 * and always for Ed25519 in a token: libp11 0.4.12 cannot use such a key,
 * and one in a token breaks its listing of all the others.
 */
int mf_keystore_generate(struct mf_keystore *ks, const char *uri, enum mf_keytype t,
    EVP_PKEY **out);

/*
 * Checks the token still answers (for /health and fail-closed issuance):
 * 0 if every token this keystore has used answers under its label and our
 * session on it is open, MF_ERR_HSM otherwise; it stays MF_ERR_HSM for the
 * life of the process (restart the signer). Returns 0 when no pkcs11 key is
 * in use.
 */
int mf_keystore_ping(struct mf_keystore *ks);

/*
 * Initialises a SoftHSM2-style token in the first free slot of module with
 * the given label, SO PIN and user PIN (for `mayfly init --keys softhsm` and
 * tests). The PINs are not retained. softhsm2_conf, if set, is exported first.
 * MF_ERR_EXISTS if a token with that label exists, MF_ERR_HSM if the module
 * fails or has no free slot, MF_ERR_PIN if the module refuses a PIN (e.g.
 * too short), MF_ERR_INVAL for an empty or over-32-byte label or empty PIN.
 */
int mf_keystore_init_token(const char *module, const char *softhsm2_conf,
    const char *label, const char *so_pin, const char *user_pin);

/*
 * Reads the PIN named by a pin source; caller frees with mf_secret_free().
 * "file:PATH": one line, trailing newline stripped, at most 255 bytes, and
 * the file must not be accessible to group or others. "env:NAME": the
 * variable's value. MF_ERR_PIN for anything unreadable, empty or too open.
 */
int mf_pin_read(const char *pin_source, char **pin);

#endif
