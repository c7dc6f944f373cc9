/*
 * acme_nonce.c: Replay-Nonce values (RFC 8555 6.5) that cost nothing until
 * they are used.
 *
 * Every ACME answer carries a fresh nonce, 404s included, so minting one
 * must not write anything: a flood of unauthenticated requests would
 * otherwise grow the database. A nonce is therefore self-describing and
 * authenticated: base64url(counter || expiry || HMAC-SHA256(key, counter ||
 * expiry)[0..15]), where key is 32 random bytes drawn at each start and
 * never stored, and counter is a per-start sequence number.
 *
 * What must be remembered is only which nonces were spent, and that is a
 * bitmap over the last ACME_NONCE_WINDOW counters, in memory (128 KiB): a
 * nonce whose bit is set, or that fell out of the window because more than
 * ACME_NONCE_WINDOW nonces were minted after it, is refused as badNonce;
 * so is one past its expiry or with a MAC that does not verify. Refusing
 * too much is safe: RFC 8555 6.5 has every client retry a badNonce with the
 * fresh nonce that comes with the error.
 *
 * A restart draws a new key, so nonces of the previous run no longer verify
 * (clients retry, as above) and no spent set needs to survive it. Nonces are
 * valid only on the listener that minted them.
 */
#include "mf_build.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "acme/acme_int.h"
#include "mferr.h"
#include "util.h"

/* counter (8) || expiry (8) || MAC (16) */
#define NONCE_RAW	32
#define NONCE_MAC	16

struct acme_nonces {
	pthread_mutex_t lock;
	unsigned char key[32];
	uint64_t next;				/* counter of the next nonce */
	unsigned char spent[ACME_NONCE_WINDOW / 8];
};

int
acme_nonces_new(struct acme_nonces **out)
{
	struct acme_nonces *n;

	*out = NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return MF_ERR_NOMEM;
	if (RAND_bytes(n->key, sizeof(n->key)) != 1) {
		free(n);
		return MF_ERR_CRYPTO;
	}
	pthread_mutex_init(&n->lock, NULL);
	*out = n;
	return 0;
}

void
acme_nonces_free(struct acme_nonces *n)
{
	if (n == NULL)
		return;
	OPENSSL_cleanse(n->key, sizeof(n->key));
	pthread_mutex_destroy(&n->lock);
	free(n);
}

static void
put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static int
nonce_mac(const struct acme_nonces *n, const unsigned char *msg, unsigned char mac[NONCE_MAC])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (HMAC(EVP_sha256(), n->key, (int)sizeof(n->key), msg, 16, md, &mdlen) == NULL ||
	    mdlen < NONCE_MAC)
		return MF_ERR_CRYPTO;
	memcpy(mac, md, NONCE_MAC);
	return 0;
}

int
acme_nonce_new(struct acme_nonces *n, int64_t now, int64_t lifetime,
    char out[ACME_NONCE_LEN + 1])
{
	unsigned char raw[NONCE_RAW];
	uint64_t ctr;
	char *s;

	pthread_mutex_lock(&n->lock);
	ctr = n->next++;
	/* The slot now belongs to this nonce; its previous owner left the window. */
	n->spent[(ctr % ACME_NONCE_WINDOW) / 8] &= (unsigned char)~(1u << (ctr % 8));
	pthread_mutex_unlock(&n->lock);
	put64(raw, ctr);
	put64(raw + 8, (uint64_t)(now + lifetime));
	if (nonce_mac(n, raw, raw + 16) != 0)
		return MF_ERR_CRYPTO;
	if ((s = mf_b64u_encode(raw, sizeof(raw))) == NULL)
		return MF_ERR_NOMEM;
	if (strlen(s) != ACME_NONCE_LEN) {
		free(s);
		return MF_ERR_INTERNAL;
	}
	memcpy(out, s, ACME_NONCE_LEN + 1);
	free(s);
	return 0;
}

int
acme_nonce_use(struct acme_nonces *n, const char *nonce, int64_t now)
{
	unsigned char *raw = NULL, mac[NONCE_MAC];
	size_t len = 0;
	uint64_t ctr, expires;
	int rc = MF_ERR_ACME_BADNONCE;

	if (nonce == NULL || strlen(nonce) != ACME_NONCE_LEN ||
	    mf_b64u_decode(nonce, &raw, &len) != 0 || len != NONCE_RAW)
		goto out;
	if (nonce_mac(n, raw, mac) != 0) {
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	if (CRYPTO_memcmp(mac, raw + 16, NONCE_MAC) != 0)
		goto out;
	ctr = get64(raw);
	expires = get64(raw + 8);
	if (now < 0 || expires <= (uint64_t)now)
		goto out;
	pthread_mutex_lock(&n->lock);
	/* Spending is setting the bit: the same counter is refused from now on. */
	if (ctr < n->next && n->next - ctr <= ACME_NONCE_WINDOW &&
	    !(n->spent[(ctr % ACME_NONCE_WINDOW) / 8] & (1u << (ctr % 8)))) {
		n->spent[(ctr % ACME_NONCE_WINDOW) / 8] |= (unsigned char)(1u << (ctr % 8));
		rc = 0;
	}
	pthread_mutex_unlock(&n->lock);
out:
	free(raw);
	return rc;
}
