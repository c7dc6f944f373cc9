/*
 * keystore.c: the one place where mayfly touches private keys.
 *
 * Two kinds of key sit behind the same calls. file:PATH keys are PEM files
 * that must be private to their owner; they exist for development and for
 * tests. pkcs11:token=T;object=O keys live in a PKCS#11 token and are used
 * through OpenSSL's pkcs11 engine (libp11), so the private key never enters
 * this process.
 *
 * Besides the engine we load the PKCS#11 module ourselves, for the things
 * libp11 0.4.12 cannot do or does not report well: generating EC keys inside
 * the token, initialising a token, telling a wrong PIN from a missing token or
 * a missing object, and answering /health. Both users share one module
 * instance in the process, which PKCS#11 makes global anyway.
 *
 * PKCS#11 sessions and logins belong to the process that opened them and do
 * not survive fork() (the child must C_Initialize afresh; libp11 tries to
 * paper over it, our own session cannot). So the daemon creates its keystore
 * in the signer process, after forking it, and nothing before the fork may
 * touch the module. File keys and PIN sources live in keystore_file.c.
 *
 * OpenSSL 3.0 deprecates the ENGINE API. Every engine call stays in this file
 * and the deprecation warnings are silenced here only, so moving to a PKCS#11
 * provider later changes one file.
 */
#define OPENSSL_SUPPRESS_DEPRECATED	/* ENGINE_*: this file only, see above */

#include "mf_build.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ui.h>

/* p11-kit's own lower-case names: its compatibility mode #defines words like
 * "value" and "count", which would leak into everything included later. */
#define CRYPTOKI_GNU
#include <p11-kit/pkcs11.h>

#include "keystore.h"
#include "keystore_int.h"
#include "mferr.h"
#include "util.h"

/* The PKCS#11 module as we load it ourselves (next to the engine's copy). */
struct mf_p11mod {
	void *dl;
	struct ck_function_list *fl;
	int own_init;		/* our C_Initialize succeeded: we C_Finalize */
};

/* A token in use: our own logged-in session on it, for checks and ping. */
struct mf_p11tok {
	char *label;
	ck_slot_id_t slot;
	ck_session_handle_t sess;
};

struct mf_keystore {
	char *module;
	char *pin_source;
	char *softhsm2_conf;
	struct mf_p11mod mod;	/* fl == NULL until the first pkcs11: URI */
	struct mf_p11tok *toks;
	size_t ntoks;
	ENGINE *engine;		/* functional reference, NULL until needed */
};

/*
 * The module and the engine queue OpenSSL errors even on success (SoftHSM2
 * probes for an rdrand engine when it starts). A public call sets a mark on
 * entry and ends here: on success whatever it queued is dropped, so the next
 * caller does not trip over it; on failure it stays for the caller's log line.
 */
static int
mf_errq_done(int rc)
{
	if (rc == MF_OK)
		ERR_pop_to_mark();
	else
		ERR_clear_last_mark();
	return rc;
}

/* ---- key URIs ------------------------------------------------------------ */

enum mf_urikind { MF_URI_FILE = 1, MF_URI_PKCS11 };

struct mf_keyuri {
	enum mf_urikind kind;
	char *path;		/* file: */
	char *token;		/* pkcs11: token label, decoded */
	char *object;		/* pkcs11: object label, decoded */
};

static void
mf_keyuri_clear(struct mf_keyuri *u)
{
	free(u->path);
	free(u->token);
	free(u->object);
	memset(u, 0, sizeof(*u));
}

/* Percent-decodes s[0..n) (RFC 3986 section 2.1); NULL if malformed or %00. */
static char *
mf_pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n)
				goto bad;	/* truncated escape */
			hi = mf_hexdigit((unsigned char)s[i + 1]);
			lo = mf_hexdigit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
			goto bad;	/* spaces and controls must be escaped */
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * Parses file:PATH (also file:///PATH) and pkcs11:token=T;object=O (RFC 7512;
 * type=private is accepted). Unknown attributes are refused rather than
 * ignored, so a typo cannot silently select another key; a query part is
 * refused because the PIN comes only from the configured pin source.
 */
static int
mf_keyuri_parse(const char *uri, struct mf_keyuri *u)
{
	const char *p, *end;

	memset(u, 0, sizeof(*u));
	if (uri == NULL)
		return MF_ERR_KEY_URI;
	if (strncmp(uri, "file:", 5) == 0) {
		p = uri + 5;
		if (strncmp(p, "//", 2) == 0) {
			if (p[2] != '/')
				return MF_ERR_KEY_URI;	/* file://host/... */
			p += 2;
		}
		if (*p == '\0')
			return MF_ERR_KEY_URI;
		u->kind = MF_URI_FILE;
		if ((u->path = strdup(p)) == NULL)
			return MF_ERR_NOMEM;
		return MF_OK;
	}
	if (strncmp(uri, "pkcs11:", 7) != 0)
		return MF_ERR_KEY_URI;
	u->kind = MF_URI_PKCS11;
	if (strchr(uri, '?') != NULL)
		goto bad;
	for (p = uri + 7; *p != '\0'; p = *end == ';' ? end + 1 : end) {
		const char *eq;
		char **slot = NULL, *val;
		size_t nlen;

		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL)
			goto bad;
		nlen = (size_t)(eq - p);
		if (nlen == 5 && memcmp(p, "token", 5) == 0)
			slot = &u->token;
		else if (nlen == 6 && memcmp(p, "object", 6) == 0)
			slot = &u->object;
		else if (nlen == 4 && memcmp(p, "type", 4) == 0) {
			if ((size_t)(end - eq - 1) != 7 || memcmp(eq + 1, "private", 7) != 0)
				goto bad;
			continue;
		} else
			goto bad;
		if (*slot != NULL)
			goto bad;	/* the same attribute twice */
		if ((val = mf_pct_decode(eq + 1, (size_t)(end - eq - 1))) == NULL)
			goto bad;
		*slot = val;
		if (*end == ';' && end[1] == '\0')
			break;
	}
	/* CK_TOKEN_INFO holds a label of at most 32 bytes. */
	if (u->token == NULL || u->object == NULL || *u->token == '\0' ||
	    *u->object == '\0' || strlen(u->token) > 32 || strlen(u->object) > 255)
		goto bad;
	return MF_OK;
bad:
	mf_keyuri_clear(u);
	return MF_ERR_KEY_URI;
}

/* ---- PKCS#11: the module, tokens and sessions -------------------------- */

/*
 * MF_ERR_HSM alone does not say what the module answered, and the module
 * itself queues nothing. The CLI and the daemon's log show the OpenSSL error
 * queue with every failure, so our own PKCS#11 failures go there, in an
 * error library of ours whose reason is the CKR_* code: "mayfly PKCS#11::
 * CKR_GENERAL_ERROR", or reason(N) for a code not named below.
 */
#define MF_P11R_NOTOKEN	0x7fff00	/* not a CKR_*: no such initialised token */
#define MF_P11R_VENDOR	0x7fff01	/* CKR_VENDOR_DEFINED and up do not fit */

#define MF_CKR(c)	{ (c), #c }
static ERR_STRING_DATA mf_p11_reasons[] = {
	{ 1, "mayfly PKCS#11" },	/* the library's name, set in mf_p11_errinit */
	MF_CKR(CKR_HOST_MEMORY),
	MF_CKR(CKR_SLOT_ID_INVALID),
	MF_CKR(CKR_GENERAL_ERROR),
	MF_CKR(CKR_FUNCTION_FAILED),
	MF_CKR(CKR_ARGUMENTS_BAD),
	MF_CKR(CKR_DEVICE_ERROR),
	MF_CKR(CKR_DEVICE_MEMORY),
	MF_CKR(CKR_DEVICE_REMOVED),
	MF_CKR(CKR_OPERATION_ACTIVE),
	MF_CKR(CKR_SESSION_COUNT),
	MF_CKR(CKR_SESSION_HANDLE_INVALID),
	MF_CKR(CKR_TOKEN_NOT_PRESENT),
	MF_CKR(CKR_TOKEN_NOT_RECOGNIZED),
	MF_CKR(CKR_USER_NOT_LOGGED_IN),
	MF_CKR(CKR_CRYPTOKI_NOT_INITIALIZED),
	{ MF_P11R_NOTOKEN, "no initialised token with that label" },
	{ MF_P11R_VENDOR, "vendor-defined CKR_* code" },
	{ 0, NULL }
};
#undef MF_CKR

static CRYPTO_ONCE mf_p11_erronce = CRYPTO_ONCE_STATIC_INIT;
static int mf_p11_errlib;

static void
mf_p11_errinit(void)
{
	mf_p11_errlib = ERR_get_next_error_library();
	mf_p11_reasons[0].error = ERR_PACK(mf_p11_errlib, 0, 0);
	ERR_load_strings(mf_p11_errlib, mf_p11_reasons);
}

/* Queues rv (a CKR_* or MF_P11R_*) and returns MF_ERR_HSM. */
static int
mf_p11_fail(unsigned long rv)
{
	if (CRYPTO_THREAD_run_once(&mf_p11_erronce, mf_p11_errinit))
		ERR_raise(mf_p11_errlib, (int)(rv >= CKR_VENDOR_DEFINED ? MF_P11R_VENDOR : rv));
	return MF_ERR_HSM;
}

/*
 * SoftHSM2 2.6.1 (file object store) is not safe for two processes on one
 * token. Every successful C_Login rewrites the token's token.object (it
 * clears CKF_USER_PIN_COUNT_LOW), truncating the file under its fcntl lock
 * and releasing the lock before the stdio buffer with the new bytes is
 * flushed. A process that reads the token in that window (each PKCS#11
 * call re-reads token.object) sees an empty file, takes the token for
 * uninitialised and fails: CKR_GENERAL_ERROR, or no token with that label.
 * libp11 caches what it saw, so retrying in the same process is no cure.
 *
 * The bug is SoftHSM2's; what we can do is keep mayfly processes out of
 * each other's way. Whatever logs in or reads the token (finding it,
 * logging in, loading a key through the engine, generating, pinging) holds
 * an exclusive flock(2) on the SoftHSM2 configuration file, which every
 * process on those tokens must read anyway. flock is not the fcntl lock
 * SoftHSM2 takes on its own files, so the two cannot interfere. Signing
 * with a loaded key does not read token.object and needs no lock. Without
 * a configuration file (a real HSM) there is nothing to lock; a lock held
 * for longer than MF_P11_LOCK_WAIT_MS is MF_ERR_HSM.
 */
#define MF_P11_LOCK_WAIT_MS	10000	/* a token generating RSA-4096 keys */

static int
mf_p11_lock(const char *conf, int *fd)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	int waited;

	*fd = -1;
	if (conf == NULL)
		conf = getenv("SOFTHSM2_CONF");
	if (conf == NULL || *conf == '\0')
		return MF_OK;
	/* Missing or unreadable: C_Initialize will say so, not us. */
	if ((*fd = open(conf, O_RDONLY | O_CLOEXEC)) == -1)
		return MF_OK;
	/* Bounded: a process stuck in the module must not hang us for ever. */
	for (waited = 0; flock(*fd, LOCK_EX | LOCK_NB) == -1; waited += 5) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= MF_P11_LOCK_WAIT_MS) {
			close(*fd);
			*fd = -1;
			return MF_ERR_HSM;
		}
		nanosleep(&ts, NULL);
	}
	return MF_OK;
}

static void
mf_p11_unlock(int fd)
{
	if (fd != -1)
		close(fd);	/* drops the flock */
}

static void
mf_p11mod_close(struct mf_p11mod *m)
{
	if (m->fl != NULL && m->own_init)
		m->fl->C_Finalize(NULL);
	if (m->dl != NULL)
		dlclose(m->dl);
	memset(m, 0, sizeof(*m));
}

static int
mf_p11mod_start(const char *module, struct mf_p11mod *m, ck_rv_t *initrv)
{
	CK_C_GetFunctionList getfl;
	struct ck_c_initialize_args args;
	ck_rv_t rv;

	if ((m->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return MF_ERR_HSM;
	getfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
	if (getfl == NULL || getfl(&m->fl) != CKR_OK || m->fl == NULL)
		goto bad;
	/* The module may use threads of its own; tell it OS locking is fine. */
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = m->fl->C_Initialize(&args);
	if (rv == CKR_OK)
		m->own_init = 1;
	else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		*initrv = rv;
		goto bad;	/* e.g. SoftHSM2 without a readable config */
	}
	return MF_OK;
bad:
	m->fl = NULL;
	mf_p11mod_close(m);
	return MF_ERR_HSM;
}

static int
mf_p11mod_open(const char *module, struct mf_p11mod *m)
{
	ck_rv_t initrv = CKR_OK;
	int rc;

	memset(m, 0, sizeof(*m));
	if (module == NULL || *module == '\0')
		return MF_ERR_HSM;
	/*
	 * SoftHSM2's C_Initialize probes for OpenSSL's rdrand engine and
	 * leaves "dso not found" and "no such engine" in the error queue.
	 * That is no failure of ours, but it would stand as the reason of any
	 * later one (it did: a token found empty read as a missing engine),
	 * so whatever the module queues while starting is dropped here.
	 */
	ERR_set_mark();
	rc = mf_p11mod_start(module, m, &initrv);
	ERR_pop_to_mark();
	return initrv != CKR_OK ? mf_p11_fail(initrv) : rc;
}

/* Compares a blank-padded CK_TOKEN_INFO label with a C string. */
static int
mf_label_eq(const unsigned char lab[32], const char *s)
{
	size_t n = strlen(s), i;

	if (n > 32 || memcmp(lab, s, n) != 0)
		return 0;
	for (i = n; i < 32; i++)
		if (lab[i] != ' ')
			return 0;
	return 1;
}

/*
 * Lists the slots with a token. The list can change between the two calls
 * (SoftHSM2 adds a fresh slot after C_InitToken), hence the bounded retry.
 */
static int
mf_p11_slots(struct mf_p11mod *m, ck_slot_id_t **slots, unsigned long *n)
{
	int tries;

	*slots = NULL;
	for (tries = 0; tries < 4; tries++) {
		unsigned long cnt = 0;
		ck_slot_id_t *s;
		ck_rv_t rv;

		if ((rv = m->fl->C_GetSlotList(1 /* with token */, NULL, &cnt)) != CKR_OK)
			return mf_p11_fail(rv);
		if ((s = calloc(cnt + 1, sizeof(*s))) == NULL)
			return MF_ERR_NOMEM;
		rv = m->fl->C_GetSlotList(1, s, &cnt);
		if (rv == CKR_OK) {
			*slots = s;
			*n = cnt;
			return MF_OK;
		}
		free(s);
		if (rv != CKR_BUFFER_TOO_SMALL)
			return mf_p11_fail(rv);
	}
	return mf_p11_fail(CKR_BUFFER_TOO_SMALL);
}

/*
 * Finds the slot of the initialised token labelled label: MF_ERR_NOTFOUND if
 * none, MF_ERR_HSM (queued) if the module would not list its slots.
 */
static int
mf_p11_find_token(struct mf_p11mod *m, const char *label, ck_slot_id_t *slot)
{
	ck_slot_id_t *slots;
	unsigned long n, i;
	int rc;

	if ((rc = mf_p11_slots(m, &slots, &n)) != MF_OK)
		return rc;
	rc = MF_ERR_NOTFOUND;
	for (i = 0; i < n; i++) {
		struct ck_token_info ti;

		if (m->fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    (ti.flags & CKF_TOKEN_INITIALIZED) && mf_label_eq(ti.label, label)) {
			*slot = slots[i];
			rc = MF_OK;
			break;
		}
	}
	free(slots);
	return rc;
}

static int
mf_p11_pin_error(ck_rv_t rv)
{
	switch (rv) {
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_EXPIRED:
	case CKR_PIN_LOCKED:
		return MF_ERR_PIN;
	default:
		return MF_ERR_HSM;
	}
}

/*
 * Does the token still answer, under its label, and our session on it?
 * 0 if so, else why not: a CKR_* code or MF_P11R_NOTOKEN.
 */
static unsigned long
mf_p11tok_dead(const struct mf_keystore *ks, const struct mf_p11tok *t)
{
	struct ck_token_info ti;
	struct ck_session_info si;
	ck_rv_t rv;

	if ((rv = ks->mod.fl->C_GetTokenInfo(t->slot, &ti)) != CKR_OK)
		return rv;
	if (!(ti.flags & CKF_TOKEN_INITIALIZED) || !mf_label_eq(ti.label, t->label))
		return MF_P11R_NOTOKEN;
	return ks->mod.fl->C_GetSessionInfo(t->sess, &si);
}


/*
 * Returns (as an index into ks->toks) our logged-in session on the token
 * labelled label, opening the module and logging in on first use. Logging in
 * ourselves, before the engine does, is what lets us tell a wrong PIN
 * (MF_ERR_PIN) from a missing token (MF_ERR_HSM); the engine would only say
 * that loading failed. Every use checks first that the token still answers,
 * so a vanished token is reported as MF_ERR_HSM, not as a missing key; a
 * dead entry is dropped and the token looked up again.
 */
static int
mf_p11_token(struct mf_keystore *ks, const char *label, size_t *idx)
{
	struct mf_p11tok *nt, t = { NULL, 0, CK_INVALID_HANDLE };
	char *pin = NULL;
	ck_rv_t rv;
	size_t i;
	int rc;

	for (i = 0; i < ks->ntoks; i++)
		if (strcmp(ks->toks[i].label, label) == 0)
			break;
	if (i < ks->ntoks) {
		if (mf_p11tok_dead(ks, &ks->toks[i]) == 0) {
			*idx = i;
			return MF_OK;
		}
		/* Dead: it stays listed, so ping fails, until we reconnect. */
		if (ks->toks[i].sess != CK_INVALID_HANDLE)
			ks->mod.fl->C_CloseSession(ks->toks[i].sess);
		ks->toks[i].sess = CK_INVALID_HANDLE;
	}
	if (ks->mod.fl == NULL) {
		if (ks->module == NULL)
			return MF_ERR_HSM;	/* no module configured */
		/* SoftHSM2 reads its configuration in C_Initialize. */
		if (ks->softhsm2_conf != NULL && setenv("SOFTHSM2_CONF", ks->softhsm2_conf, 1) != 0)
			return MF_ERR_NOMEM;
		if ((rc = mf_p11mod_open(ks->module, &ks->mod)) != MF_OK)
			return rc;
	}
	if ((rc = mf_p11_find_token(&ks->mod, label, &t.slot)) != MF_OK)
		return rc == MF_ERR_NOTFOUND ? mf_p11_fail(MF_P11R_NOTOKEN) : rc;
	if ((rc = mf_pin_read(ks->pin_source, &pin)) != MF_OK)
		return rc;
	rv = ks->mod.fl->C_OpenSession(t.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	    &t.sess);
	if (rv != CKR_OK) {
		rc = mf_p11_fail(rv);
		goto out;
	}
	/* One attempt only: a PIN retry counter must not be burnt by us. */
	rv = ks->mod.fl->C_Login(t.sess, CKU_USER, (unsigned char *)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		if ((rc = mf_p11_pin_error(rv)) == MF_ERR_HSM)
			mf_p11_fail(rv);
		goto out;
	}
	if (i < ks->ntoks) {
		ks->toks[i].slot = t.slot;
		ks->toks[i].sess = t.sess;
	} else {
		if ((t.label = strdup(label)) == NULL ||
		    (nt = realloc(ks->toks, (ks->ntoks + 1) * sizeof(*nt))) == NULL) {
			rc = MF_ERR_NOMEM;
			goto out;
		}
		ks->toks = nt;
		ks->toks[ks->ntoks++] = t;
		t.label = NULL;
	}
	*idx = i;
	t.sess = CK_INVALID_HANDLE;
	rc = MF_OK;
out:
	if (t.sess != CK_INVALID_HANDLE)
		ks->mod.fl->C_CloseSession(t.sess);
	free(t.label);
	mf_secret_free(pin);
	return rc;
}

/* Counts objects labelled label (only private keys if privkeys), up to 8. */
static int
mf_p11_count(struct mf_keystore *ks, size_t ti, const char *label, int privkeys,
    unsigned long *n)
{
	struct ck_function_list *fl = ks->mod.fl;
	ck_session_handle_t sess = ks->toks[ti].sess;
	ck_object_class_t cls = CKO_PRIVATE_KEY;
	ck_object_handle_t found[8];
	ck_rv_t rv;
	struct ck_attribute tmpl[2] = {
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_CLASS, &cls, sizeof(cls) },
	};

	if ((rv = fl->C_FindObjectsInit(sess, tmpl, privkeys ? 2 : 1)) != CKR_OK)
		return mf_p11_fail(rv);
	if ((rv = fl->C_FindObjects(sess, found, 8, n)) != CKR_OK) {
		fl->C_FindObjectsFinal(sess);
		return mf_p11_fail(rv);
	}
	fl->C_FindObjectsFinal(sess);
	return MF_OK;
}

/*
 * Generates a key pair inside the token. The private half is CKA_SENSITIVE
 * and not CKA_EXTRACTABLE, so the token will never hand it out, not even
 * wrapped; both halves share the label and a random CKA_ID, which is how the
 * engine pairs an EC private key with the public point it needs.
 */
static int
mf_p11_generate(struct mf_keystore *ks, const struct mf_keyuri *u, enum mf_keytype t)
{
	static const unsigned char oid_p256[] = {	/* 1.2.840.10045.3.1.7 */
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	static const unsigned char oid_p384[] = {	/* 1.3.132.0.34 */
		0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };	/* 65537 */
	unsigned char yes = 1, no = 0, id[16];	/* CK_BBOOL */
	struct ck_mechanism mech = { 0, NULL, 0 };
	struct ck_mechanism_info mi;
	struct ck_attribute pub[8], prv[12];
	ck_object_handle_t hpub, hprv;
	const unsigned char *params = NULL;
	unsigned long bits = 0, n, np = 0, nk = 0;
	size_t plen = 0, ti;
	ck_rv_t rv;
	int rc;

	switch (t) {
	case MF_KEY_EC_P256:
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		params = oid_p256;
		plen = sizeof(oid_p256);
		break;
	case MF_KEY_EC_P384:
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		params = oid_p384;
		plen = sizeof(oid_p384);
		break;
	case MF_KEY_RSA2048:
	case MF_KEY_RSA3072:
	case MF_KEY_RSA4096:
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		bits = t == MF_KEY_RSA2048 ? 2048 : t == MF_KEY_RSA3072 ? 3072 : 4096;
		break;
	case MF_KEY_ED25519:
		/*
		 * XXX SoftHSM2 can make Ed25519 keys (CKM_EC_EDWARDS_KEY_PAIR_GEN),
		 * but libp11 0.4.12 cannot use them, and worse: one CKK_EC_EDWARDS
		 * key in a token makes its enumeration of private keys fail, so
		 * every other key in that token becomes unloadable. Refuse until
		 * the keystore moves to a provider that knows EdDSA.
		 */
		return MF_ERR_KEYTYPE;
	default:
		return MF_ERR_KEYTYPE;
	}
	if ((rc = mf_p11_token(ks, u->token, &ti)) != MF_OK)
		return rc;
	rv = ks->mod.fl->C_GetMechanismInfo(ks->toks[ti].slot, mech.mechanism, &mi);
	if (rv == CKR_MECHANISM_INVALID || (rv == CKR_OK && !(mi.flags & CKF_GENERATE_KEY_PAIR)))
		return MF_ERR_KEYTYPE;
	if (rv != CKR_OK)
		return mf_p11_fail(rv);
	if (bits != 0 && (bits < mi.min_key_size || bits > mi.max_key_size))
		return MF_ERR_KEYTYPE;
	/* A second object with the same label would make the URI ambiguous. */
	if ((rc = mf_p11_count(ks, ti, u->object, 0, &n)) != MF_OK)
		return rc;
	if (n > 0)
		return MF_ERR_EXISTS;
	if (RAND_bytes(id, sizeof(id)) != 1)
		return MF_ERR_CRYPTO;

#define MF_ATTR(a, i, ty, p, l) \
	do { (a)[i].type = (ty); (a)[i].value = (void *)(p); (a)[i].value_len = (l); (i)++; } while (0)
	MF_ATTR(pub, np, CKA_TOKEN, &yes, 1);
	MF_ATTR(pub, np, CKA_PRIVATE, &no, 1);
	MF_ATTR(pub, np, CKA_VERIFY, &yes, 1);
	MF_ATTR(pub, np, CKA_LABEL, u->object, strlen(u->object));
	MF_ATTR(pub, np, CKA_ID, id, sizeof(id));
	if (params != NULL)
		MF_ATTR(pub, np, CKA_EC_PARAMS, params, plen);
	else {
		MF_ATTR(pub, np, CKA_MODULUS_BITS, &bits, sizeof(bits));
		MF_ATTR(pub, np, CKA_PUBLIC_EXPONENT, f4, sizeof(f4));
	}
	MF_ATTR(prv, nk, CKA_TOKEN, &yes, 1);
	MF_ATTR(prv, nk, CKA_PRIVATE, &yes, 1);
	MF_ATTR(prv, nk, CKA_SENSITIVE, &yes, 1);
	MF_ATTR(prv, nk, CKA_EXTRACTABLE, &no, 1);
	MF_ATTR(prv, nk, CKA_SIGN, &yes, 1);
	MF_ATTR(prv, nk, CKA_DECRYPT, &no, 1);
	MF_ATTR(prv, nk, CKA_UNWRAP, &no, 1);
	MF_ATTR(prv, nk, CKA_DERIVE, &no, 1);
	MF_ATTR(prv, nk, CKA_LABEL, u->object, strlen(u->object));
	MF_ATTR(prv, nk, CKA_ID, id, sizeof(id));
#undef MF_ATTR
	rv = ks->mod.fl->C_GenerateKeyPair(ks->toks[ti].sess, &mech, pub, np, prv, nk, &hpub, &hprv);
	switch (rv) {
	case CKR_OK:
		return MF_OK;
	case CKR_MECHANISM_INVALID:
	case CKR_DOMAIN_PARAMS_INVALID:
	case CKR_CURVE_NOT_SUPPORTED:
		return MF_ERR_KEYTYPE;
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_DEVICE_ERROR:
		return mf_p11_fail(rv);
	default:
		return MF_ERR_KEYGEN;
	}
}

/* Writes s percent-encoded (all but RFC 3986 unreserved) to out. */
static void
mf_pct_encode(const char *s, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			*out++ = (char)c;
		else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	*out = '\0';
}

/*
 * The engine, created on first use. ENGINE_by_id("pkcs11") returns the one
 * instance of the process: libp11 0.4.12 cannot bind a second one, and its
 * PKCS#11 context (module, slot list, sessions, login) outlives
 * ENGINE_finish. Hence, per process: one module, tokens initialised before
 * the first pkcs11: key is loaded (the slot list is read once, and the
 * RE_ENUMERATE control crashes), and after a token vanished, a new process.
 *
 * The PIN goes in through the PIN control command; libp11 keeps its own copy
 * (to log in again after a fork or a lost session) and ours is wiped.
 */
static int
mf_engine(struct mf_keystore *ks)
{
	ENGINE *e = NULL;
	char *pin = NULL;
	int rc;

	if (ks->engine != NULL)
		return MF_OK;
	if ((rc = mf_pin_read(ks->pin_source, &pin)) != MF_OK)
		return rc;
	rc = MF_ERR_HSM;
	if ((e = ENGINE_by_id("pkcs11")) == NULL)
		goto out;
	/* Optional (hence the 1): libp11 otherwise chats on stderr. */
	ENGINE_ctrl_cmd_string(e, "QUIET", NULL, 1);
	if (!ENGINE_ctrl_cmd_string(e, "MODULE_PATH", ks->module, 0) ||
	    !ENGINE_ctrl_cmd_string(e, "PIN", pin, 0) ||
	    !ENGINE_init(e))
		goto out;
	ks->engine = e;
	e = NULL;
	rc = MF_OK;
out:
	ENGINE_free(e);		/* the structural reference, if we failed */
	mf_secret_free(pin);
	return rc;
}

static int
mf_p11_load(struct mf_keystore *ks, const struct mf_keyuri *u, EVP_PKEY **out)
{
	char *euri = NULL;
	EVP_PKEY *pk;
	unsigned long n;
	size_t ti;
	int rc;

	if ((rc = mf_p11_token(ks, u->token, &ti)) != MF_OK)
		return rc;
	if ((rc = mf_p11_count(ks, ti, u->object, 1, &n)) != MF_OK)
		return rc;
	if (n == 0)
		return MF_ERR_KEY_LOAD;
	if ((rc = mf_engine(ks)) != MF_OK)
		return rc;
	/*
	 * Hand the engine a URI we built from the parsed labels, not the
	 * caller's string: nothing else in it can reach libp11's parser.
	 */
	if ((euri = malloc(3 * (strlen(u->token) + strlen(u->object)) + 64)) == NULL)
		return MF_ERR_NOMEM;
	strcpy(euri, "pkcs11:token=");
	mf_pct_encode(u->token, euri + strlen(euri));
	strcat(euri, ";object=");
	mf_pct_encode(u->object, euri + strlen(euri));
	strcat(euri, ";type=private");
	/* UI_null(): never prompt on a terminal, the PIN is already set. */
	pk = ENGINE_load_private_key(ks->engine, euri, (UI_METHOD *)UI_null(), NULL);
	free(euri);
	if (pk == NULL)
		return MF_ERR_KEY_LOAD;
	*out = pk;
	return MF_OK;
}

/* ---- the keystore -------------------------------------------------------- */

static char *
mf_strdup_opt(const char *s, int *err)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*err = 1;
	return d;
}

int
mf_keystore_new(const struct mf_keystore_conf *conf, struct mf_keystore **out)
{
	struct mf_keystore *ks;
	int err = 0;

	*out = NULL;
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return MF_ERR_NOMEM;
	if (conf != NULL) {
		ks->module = mf_strdup_opt(conf->module, &err);
		ks->pin_source = mf_strdup_opt(conf->pin_source, &err);
		ks->softhsm2_conf = mf_strdup_opt(conf->softhsm2_conf, &err);
	}
	if (err) {
		mf_keystore_free(ks);
		return MF_ERR_NOMEM;
	}
	*out = ks;
	return MF_OK;
}

void
mf_keystore_free(struct mf_keystore *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->ntoks; i++) {
		if (ks->toks[i].sess != CK_INVALID_HANDLE)
			ks->mod.fl->C_CloseSession(ks->toks[i].sess);
		free(ks->toks[i].label);
	}
	free(ks->toks);
	if (ks->engine != NULL) {
		ENGINE_finish(ks->engine);
		ENGINE_free(ks->engine);
		/*
		 * libp11 0.4.12 keeps its module state (sessions, login) past
		 * ENGINE_finish. Finalizing the module under it would leave it
		 * with dead session handles, so once the engine has used the
		 * module it is libp11's to keep until exit.
		 */
		ks->mod.own_init = 0;
	}
	mf_p11mod_close(&ks->mod);
	free(ks->module);
	free(ks->pin_source);
	free(ks->softhsm2_conf);
	free(ks);
}

int
mf_keystore_load(struct mf_keystore *ks, const char *uri, EVP_PKEY **out)
{
	struct mf_keyuri u;
	int rc, lk;

	*out = NULL;
	if (ks == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_keyuri_parse(uri, &u)) != MF_OK)
		return rc;
	ERR_set_mark();
	if (u.kind == MF_URI_FILE)
		rc = mf_keyfile_load(u.path, out);
	else if ((rc = mf_p11_lock(ks->softhsm2_conf, &lk)) == MF_OK) {
		rc = mf_p11_load(ks, &u, out);
		mf_p11_unlock(lk);
	}
	mf_keyuri_clear(&u);
	return mf_errq_done(rc);
}

int
mf_keystore_generate(struct mf_keystore *ks, const char *uri, enum mf_keytype t,
    EVP_PKEY **out)
{
	struct mf_keyuri u;
	int rc, lk;

	*out = NULL;
	if (ks == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_keyuri_parse(uri, &u)) != MF_OK)
		return rc;
	ERR_set_mark();
	if (u.kind == MF_URI_FILE) {
		if ((rc = mf_keyfile_generate(u.path, t)) == MF_OK)
			rc = mf_keyfile_load(u.path, out);
	} else if ((rc = mf_p11_lock(ks->softhsm2_conf, &lk)) == MF_OK) {
		if ((rc = mf_p11_generate(ks, &u, t)) == MF_OK)
			rc = mf_p11_load(ks, &u, out);
		mf_p11_unlock(lk);
	}
	mf_keyuri_clear(&u);
	return mf_errq_done(rc);
}

/*
 * Asks every token in use for its info and checks our session on it. This
 * goes to the module (for SoftHSM2, to the token's files), so a token that
 * vanished shows up here before an issuance tries to sign with it.
 */
int
mf_keystore_ping(struct mf_keystore *ks)
{
	unsigned long why;
	size_t i;
	int rc = MF_OK, lk;

	if (ks == NULL)
		return MF_ERR_INVAL;
	ERR_set_mark();
	if (ks->ntoks > 0 && (rc = mf_p11_lock(ks->softhsm2_conf, &lk)) == MF_OK) {
		for (i = 0; i < ks->ntoks && rc == MF_OK; i++)
			if ((why = mf_p11tok_dead(ks, &ks->toks[i])) != 0)
				rc = mf_p11_fail(why);
		mf_p11_unlock(lk);
	}
	return mf_errq_done(rc);
}

/*
 * C_InitToken in the first slot whose token is not initialised yet (SoftHSM2
 * always keeps one), then the user PIN set by the SO. Refuses a label that is
 * already in use, since the engine finds tokens by label.
 */
int
mf_keystore_init_token(const char *module, const char *softhsm2_conf,
    const char *label, const char *so_pin, const char *user_pin)
{
	struct mf_p11mod m;
	struct ck_function_list *fl;
	ck_session_handle_t sess = CK_INVALID_HANDLE;
	ck_slot_id_t *slots = NULL, slot = 0;
	unsigned char lab[32];
	unsigned long n, i;
	int rc, lk, found = 0, logged_in = 0;
	ck_rv_t rv;

	if (module == NULL || label == NULL || *label == '\0' || strlen(label) > sizeof(lab) ||
	    so_pin == NULL || *so_pin == '\0' || user_pin == NULL || *user_pin == '\0')
		return MF_ERR_INVAL;
	if (softhsm2_conf != NULL && setenv("SOFTHSM2_CONF", softhsm2_conf, 1) != 0)
		return MF_ERR_NOMEM;
	ERR_set_mark();
	if ((rc = mf_p11_lock(softhsm2_conf, &lk)) != MF_OK)
		return mf_errq_done(rc);
	if ((rc = mf_p11mod_open(module, &m)) != MF_OK) {
		mf_p11_unlock(lk);
		return mf_errq_done(rc);
	}
	fl = m.fl;
	if (mf_p11_find_token(&m, label, &slot) == MF_OK) {
		rc = MF_ERR_EXISTS;
		goto out;
	}
	if ((rc = mf_p11_slots(&m, &slots, &n)) != MF_OK)
		goto out;
	for (i = 0; i < n && !found; i++) {
		struct ck_token_info ti;

		if (fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK && !(ti.flags & CKF_TOKEN_INITIALIZED)) {
			slot = slots[i];
			found = 1;
		}
	}
	rc = MF_ERR_HSM;
	if (!found)
		goto out;
	memset(lab, ' ', sizeof(lab));
	memcpy(lab, label, strlen(label));
	rv = fl->C_InitToken(slot, (unsigned char *)so_pin, strlen(so_pin), lab);
	if (rv != CKR_OK) {
		rc = mf_p11_pin_error(rv);
		goto out;
	}
	/* SoftHSM2 gives the token a new slot ID once it is initialised. */
	if ((rc = mf_p11_find_token(&m, label, &slot)) != MF_OK) {
		if (rc == MF_ERR_NOTFOUND)
			rc = mf_p11_fail(MF_P11R_NOTOKEN);
		goto out;
	}
	rc = MF_ERR_HSM;
	if (fl->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &sess) != CKR_OK)
		goto out;
	if ((rv = fl->C_Login(sess, CKU_SO, (unsigned char *)so_pin, strlen(so_pin))) != CKR_OK) {
		rc = mf_p11_pin_error(rv);
		goto out;
	}
	logged_in = 1;
	if ((rv = fl->C_InitPIN(sess, (unsigned char *)user_pin, strlen(user_pin))) != CKR_OK) {
		rc = mf_p11_pin_error(rv);
		goto out;
	}
	rc = MF_OK;
out:
	if (logged_in)
		fl->C_Logout(sess);
	if (sess != CK_INVALID_HANDLE)
		fl->C_CloseSession(sess);
	free(slots);
	mf_p11mod_close(&m);
	mf_p11_unlock(lk);
	return mf_errq_done(rc);
}
