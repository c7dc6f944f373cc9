/*
 * acme_nonce.c: Replay-Nonce values (RFC 8555 6.5) that cost nothing until
 * they are used, and that any node sharing the log accepts once.
 *
 * Every ACME answer carries a fresh nonce, 404s included, so minting one
 * must not write anything: a flood of unauthenticated requests would
 * otherwise grow the database. A nonce is therefore self-describing and
 * authenticated: base64url(node || counter || expiry || HMAC-SHA256(key,
 * node || counter || expiry)[0..15]), where node is 8 random bytes drawn at
 * each start (which run of which listener minted it) and counter is that
 * run's sequence number.
 *
 * The listener's own nonces are remembered in memory: a bitmap over the
 * last ACME_NONCE_WINDOW counters (128 KiB). A nonce whose bit is set, or
 * that fell out of the window because more than ACME_NONCE_WINDOW nonces
 * were minted after it, is refused as badNonce; so is one past its expiry
 * or with a MAC that does not verify. Refusing too much is safe: RFC 8555
 * 6.5 has every client retry a badNonce with the fresh nonce that comes
 * with the error.
 *
 * Alone (an SQLite log, one listener), the key is 32 random bytes drawn at
 * each start and never stored, and the bitmap is all there is: using a
 * nonce writes nothing either. A restart draws a new key, so nonces of the
 * previous run no longer verify and no spent set needs to survive it.
 *
 * Shared (a PostgreSQL log, several nodes behind one load balancer, whose
 * clients send each request to whichever node the balancer picks), the key
 * is the log's: drawn by the first listener that starts on it and kept in
 * acme_nonce_key, so every node verifies every node's nonces. Spending
 * must then be visible to all of them, and there is no way around a write
 * for that: a spend kept in the minting node's memory would let the same
 * request be replayed once to each other node, and a foreign spend kept in
 * the database only would let it be replayed to the minting node. So every
 * use of a nonce, the node's own or another's, inserts one row into
 * acme_nonces keyed by (node, counter); the row already being there means
 * another node took the nonce first, and the answer is badNonce. The own
 * nonces still go through the bitmap first, which refuses a local replay
 * without asking the database. Minting stays write-free on both.
 *
 * The shared key is not a secret that protects anything much: a nonce is
 * not a credential (the JWS around it is signed with the account key), and
 * someone who reads the key from the database can mint nonces but cannot
 * replay a request, whose nonce is spent in that same database. The spent
 * rows outlive their nonce by ACME_NONCE_SKEW, so a node whose clock is
 * behind the one that deletes expired rows (acme_cleanup) still finds them.
 */
#include "mf_build.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "acme/acme_int.h"
#include "mferr.h"
#include "util.h"

/* node (8) || counter (8) || expiry (8) || MAC (16) */
#define NONCE_NODE	8
#define NONCE_MSG	24			/* what the MAC covers */
#define NONCE_MAC	16
#define NONCE_RAW	(NONCE_MSG + NONCE_MAC)
#define NONCE_KEY	32

struct acme_nonces {
	pthread_mutex_t lock;
	struct acme_sq *db;			/* the shared log, borrowed; NULL: alone */
	unsigned char key[NONCE_KEY];
	unsigned char node[NONCE_NODE];		/* this run of this listener */
	uint64_t next;				/* counter of the next nonce */
	unsigned char spent[ACME_NONCE_WINDOW / 8];
};

/*
 * The log's nonce key: the one a node stored before, or a fresh one stored
 * now. Two nodes starting at once both try to store theirs; ON CONFLICT
 * keeps the first, and both read back the one that was kept. Drawn here
 * rather than in the migration because neither engine has a portable
 * CSPRNG in SQL, and per log rather than copied by `mayfly db migrate`.
 */
static int
nonce_shared_key(struct acme_sq *db, unsigned char key[NONCE_KEY])
{
	unsigned char fresh[NONCE_KEY];
	char hex[2 * NONCE_KEY + 1];
	const unsigned char *got;
	mf_sql_stmt *st = NULL;
	size_t len = 0;
	int rc;

	if (RAND_bytes(fresh, sizeof(fresh)) != 1)
		return MF_ERR_CRYPTO;
	mf_hex(fresh, sizeof(fresh), hex);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	/* The key must not be lost to a crash while nodes use it: a full sync. */
	if ((rc = acme_sq_durable(db, 1)) != 0)
		goto out;
	rc = acme_sq_exec(db, "INSERT INTO acme_nonce_key (id, secret, created) VALUES (1, ?1, ?2) "
	    "ON CONFLICT (id) DO NOTHING", "si", hex, (int64_t)time(NULL));
	if (acme_sq_durable(db, 0) != 0 && rc == 0)
		rc = MF_ERR_DB;
	if (rc != 0)
		goto out;
	if ((rc = acme_sq_prepare(db, &st, "SELECT secret FROM acme_nonce_key WHERE id = 1",
	    "")) != 0)
		goto out;
	rc = mf_sql_step(st);
	if (rc != MF_SQL_ROW) {
		rc = MF_ERR_DB;
		goto out;
	}
	got = mf_sql_column_text(st, 0);
	if (got == NULL || mf_unhex((const char *)got, key, NONCE_KEY, &len) != 0 ||
	    len != NONCE_KEY)
		rc = MF_ERR_DB;		/* not a key this code stored */
	else
		rc = 0;
out:
	acme_sq_done(db, st);
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

int
acme_nonces_new(struct acme_sq *db, struct acme_nonces **out)
{
	struct acme_nonces *n;
	int rc;

	*out = NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return MF_ERR_NOMEM;
	n->db = db;
	if (RAND_bytes(n->node, sizeof(n->node)) != 1) {
		free(n);
		return MF_ERR_CRYPTO;
	}
	rc = db != NULL ? nonce_shared_key(db, n->key) :
	    RAND_bytes(n->key, sizeof(n->key)) == 1 ? 0 : MF_ERR_CRYPTO;
	if (rc != 0) {
		OPENSSL_cleanse(n->key, sizeof(n->key));
		free(n);
		return rc;
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

	if (HMAC(EVP_sha256(), n->key, (int)sizeof(n->key), msg, NONCE_MSG, md, &mdlen) == NULL ||
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
	memcpy(raw, n->node, NONCE_NODE);
	put64(raw + 8, ctr);
	put64(raw + 16, (uint64_t)(now + lifetime));
	if (nonce_mac(n, raw, raw + NONCE_MSG) != 0)
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

/*
 * Spends the nonce raw (verified, unexpired) in the shared log: one row per
 * (node, counter), whatever characters the client used to spell it. The
 * row already there is another use, on this node or another: badNonce.
 */
static int
nonce_spend_shared(struct acme_sq *db, const unsigned char *raw, uint64_t expires)
{
	char *id;
	int rc;

	if ((id = mf_b64u_encode(raw, 16)) == NULL)
		return MF_ERR_NOMEM;
	rc = acme_sq_exec(db, "INSERT INTO acme_nonces (value, expires) VALUES (?1, ?2)", "si",
	    id, (int64_t)(expires + ACME_NONCE_SKEW));
	free(id);
	return rc == MF_ERR_EXISTS ? MF_ERR_ACME_BADNONCE : rc;
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
	if (CRYPTO_memcmp(mac, raw + NONCE_MSG, NONCE_MAC) != 0)
		goto out;
	ctr = get64(raw + 8);
	expires = get64(raw + 16);
	if (now < 0 || expires <= (uint64_t)now || expires > INT64_MAX - ACME_NONCE_SKEW)
		goto out;
	if (memcmp(raw, n->node, NONCE_NODE) == 0) {
		pthread_mutex_lock(&n->lock);
		/* Spending is setting the bit: the same counter is refused from now on. */
		if (ctr < n->next && n->next - ctr <= ACME_NONCE_WINDOW &&
		    !(n->spent[(ctr % ACME_NONCE_WINDOW) / 8] & (1u << (ctr % 8)))) {
			n->spent[(ctr % ACME_NONCE_WINDOW) / 8] |= (unsigned char)(1u << (ctr % 8));
			rc = 0;
		}
		pthread_mutex_unlock(&n->lock);
		if (rc != 0 || n->db == NULL)
			goto out;
	} else if (n->db == NULL) {
		goto out;	/* alone, every nonce that verifies is our own */
	}
	rc = nonce_spend_shared(n->db, raw, expires);
out:
	free(raw);
	return rc;
}
