/*
 * cache.c: see cache.h. A chained hash table that doubles when it holds
 * twice as many entries as buckets; the rwlock makes the common case (a
 * GET of a cached response) a shared lock, a probe and an atomic increment.
 */
#include "mf_build.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cache.h"
#include "mferr.h"
#include "util.h"

struct mfd_entry {
	struct mfd_entry *next;
	struct mfd_cache_key key;
	struct mfd_blob *blob;
};

struct mfd_cache {
	pthread_rwlock_t lock;
	struct mfd_entry **buckets;
	size_t nbuckets;		/* a power of two */
	size_t count;
	size_t bytes;			/* sum of the blobs' len */
	int64_t next_expiry;		/* see mfd_cache_next_expiry */
	uint64_t seed[2];
};

/* The bucket array never shrinks below this, nor grows from less. */
#define MFD_CACHE_MIN_BUCKETS	1024
/* Buckets walked per hold of the write lock by mfd_cache_expire. */
#define MFD_EXPIRE_SLICE	4096

void
mfd_http_date(int64_t t, char *buf, size_t buflen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, buflen, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

struct mfd_blob *
mfd_blob_new(unsigned char *data, size_t len, const char *content_type,
    int64_t this_update, int64_t next_update)
{
	struct mfd_blob *b;
	unsigned char md[32];
	char hex[65];
	unsigned int mdlen = 0;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		free(data);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	atomic_init(&b->exported, 0);
	atomic_init(&b->persisted, 0);
	b->data = data;
	b->len = len;
	b->content_type = content_type;
	b->this_update = this_update;
	b->next_update = next_update;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
		memset(md, 0, sizeof(md));
	mf_hex(md, 20, hex);
	b->etag[0] = '"';
	memcpy(b->etag + 1, hex, 40);
	b->etag[41] = '"';
	b->etag[42] = '\0';
	mfd_http_date(this_update != 0 ? this_update : (int64_t)time(NULL), b->last_modified,
	    sizeof(b->last_modified));
	if (next_update != 0)
		mfd_http_date(next_update, b->expires, sizeof(b->expires));
	return b;
}

void
mfd_blob_ref(struct mfd_blob *b)
{
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void
mfd_blob_unref(struct mfd_blob *b)
{
	if (b == NULL)
		return;
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(b->data);
	free(b);
}

void
mfd_cache_key_set(struct mfd_cache_key *k, unsigned issuer, int alg,
    const unsigned char *serial, size_t serial_len)
{
	memset(k, 0, sizeof(*k));
	k->issuer = (uint16_t)issuer;
	k->alg = (uint8_t)alg;
	if (serial_len > sizeof(k->serial))
		serial_len = sizeof(k->serial);
	k->serial_len = (uint8_t)serial_len;
	memcpy(k->serial, serial, serial_len);
}

int
mfd_cache_key_cmp(const void *a, const void *b)
{
	const struct mfd_cache_key *x = a, *y = b;
	size_t n = x->serial_len < y->serial_len ? x->serial_len : y->serial_len;
	int c;

	if (x->issuer != y->issuer)
		return x->issuer < y->issuer ? -1 : 1;
	if (x->alg != y->alg)
		return x->alg < y->alg ? -1 : 1;
	if ((c = memcmp(x->serial, y->serial, n)) != 0)
		return c;
	return (x->serial_len > y->serial_len) - (x->serial_len < y->serial_len);
}

/*
 * A seeded 64-bit multiply-xorshift over the fixed-size key. Not a MAC, but
 * with a secret seed an outsider cannot aim serials at one bucket.
 */
static uint64_t
mfd_hash(const struct mfd_cache *c, const struct mfd_cache_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = c->seed[0];
	size_t i;

	for (i = 0; i < sizeof(*k); i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h ^= w + c->seed[1];
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	return h;
}

int
mfd_cache_new(struct mfd_cache **out)
{
	struct mfd_cache *c;

	_Static_assert(sizeof(struct mfd_cache_key) == 24, "key has no padding");
	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return MF_ERR_NOMEM;
	c->nbuckets = MFD_CACHE_MIN_BUCKETS;
	c->next_expiry = INT64_MAX;
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL) {
		free(c);
		return MF_ERR_NOMEM;
	}
	if (RAND_bytes((unsigned char *)c->seed, sizeof(c->seed)) != 1) {
		free(c->buckets);
		free(c);
		return MF_ERR_CRYPTO;
	}
	pthread_rwlock_init(&c->lock, NULL);
	*out = c;
	return 0;
}

static void
mfd_cache_clear_locked(struct mfd_cache *c)
{
	size_t i;

	for (i = 0; i < c->nbuckets; i++) {
		struct mfd_entry *e = c->buckets[i], *n;

		for (; e != NULL; e = n) {
			n = e->next;
			mfd_blob_unref(e->blob);
			free(e);
		}
		c->buckets[i] = NULL;
	}
	c->count = 0;
	c->bytes = 0;
	c->next_expiry = INT64_MAX;
}

void
mfd_cache_free(struct mfd_cache *c)
{
	if (c == NULL)
		return;
	mfd_cache_clear_locked(c);
	pthread_rwlock_destroy(&c->lock);
	free(c->buckets);
	free(c);
}

void
mfd_cache_clear(struct mfd_cache *c)
{
	pthread_rwlock_wrlock(&c->lock);
	mfd_cache_clear_locked(c);
	pthread_rwlock_unlock(&c->lock);
}

struct mfd_blob *
mfd_cache_get(struct mfd_cache *c, const struct mfd_cache_key *k)
{
	struct mfd_entry *e;
	struct mfd_blob *b = NULL;

	pthread_rwlock_rdlock(&c->lock);
	for (e = c->buckets[mfd_hash(c, k) & (c->nbuckets - 1)]; e != NULL; e = e->next) {
		if (memcmp(&e->key, k, sizeof(*k)) == 0) {
			b = e->blob;
			mfd_blob_ref(b);
			break;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return b;
}

/* Rehashes into n buckets (a power of two); on allocation failure keeps the old array. */
static void
mfd_cache_resize(struct mfd_cache *c, size_t n)
{
	struct mfd_entry **nb;
	size_t i;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < c->nbuckets; i++) {
		struct mfd_entry *e = c->buckets[i], *next;

		for (; e != NULL; e = next) {
			size_t h = mfd_hash(c, &e->key) & (n - 1);

			next = e->next;
			e->next = nb[h];
			nb[h] = e;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

/* Doubles the bucket array. */
static void
mfd_cache_grow(struct mfd_cache *c)
{
	mfd_cache_resize(c, c->nbuckets * 2);
}

static int
mfd_cache_insert(struct mfd_cache *c, const struct mfd_cache_key *k, struct mfd_blob *b,
    int replace)
{
	struct mfd_entry *e, *ne;
	struct mfd_blob *old = NULL;
	size_t h;
	int rc = 0;

	/* Allocate outside the lock; most puts replace and free it again. */
	if ((ne = calloc(1, sizeof(*ne))) == NULL) {
		mfd_blob_unref(b);
		return MF_ERR_NOMEM;
	}
	pthread_rwlock_wrlock(&c->lock);
	h = mfd_hash(c, k) & (c->nbuckets - 1);
	for (e = c->buckets[h]; e != NULL; e = e->next) {
		if (memcmp(&e->key, k, sizeof(*k)) == 0) {
			if (replace) {
				old = e->blob;
				e->blob = b;
				c->bytes += b->len - old->len;
			} else {
				old = b;	/* the entry stays; b is dropped */
				rc = MF_ERR_EXISTS;
			}
			break;
		}
	}
	if (rc == 0 && b->not_after != 0 && b->not_after < c->next_expiry)
		c->next_expiry = b->not_after;
	if (e == NULL) {
		ne->key = *k;
		ne->blob = b;
		ne->next = c->buckets[h];
		c->buckets[h] = ne;
		ne = NULL;
		c->bytes += b->len;
		if (++c->count > 2 * c->nbuckets)
			mfd_cache_grow(c);
	}
	pthread_rwlock_unlock(&c->lock);
	free(ne);
	mfd_blob_unref(old);
	return rc;
}

int
mfd_cache_put(struct mfd_cache *c, const struct mfd_cache_key *k, struct mfd_blob *b)
{
	return mfd_cache_insert(c, k, b, 1);
}

int
mfd_cache_add(struct mfd_cache *c, const struct mfd_cache_key *k, struct mfd_blob *b)
{
	return mfd_cache_insert(c, k, b, 0);
}

int
mfd_cache_del(struct mfd_cache *c, const struct mfd_cache_key *k)
{
	struct mfd_entry **pp, *e = NULL;

	pthread_rwlock_wrlock(&c->lock);
	for (pp = &c->buckets[mfd_hash(c, k) & (c->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (memcmp(&(*pp)->key, k, sizeof(*k)) == 0) {
			e = *pp;
			*pp = e->next;
			c->count--;
			c->bytes -= e->blob->len;
			break;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	if (e == NULL)
		return MF_ERR_NOTFOUND;
	mfd_blob_unref(e->blob);
	free(e);
	return 0;
}

void
mfd_cache_stats(struct mfd_cache *c, size_t *count, int64_t *oldest)
{
	size_t i;
	int64_t o = 0;
	int any = 0;

	pthread_rwlock_rdlock(&c->lock);
	*count = c->count;
	for (i = 0; i < c->nbuckets; i++) {
		struct mfd_entry *e;

		for (e = c->buckets[i]; e != NULL; e = e->next)
			if (!any || e->blob->this_update < o) {
				o = e->blob->this_update;
				any = 1;
			}
	}
	pthread_rwlock_unlock(&c->lock);
	*oldest = o;
}

size_t
mfd_cache_bytes(struct mfd_cache *c)
{
	size_t n;

	pthread_rwlock_rdlock(&c->lock);
	n = c->bytes;
	pthread_rwlock_unlock(&c->lock);
	return n;
}

int64_t
mfd_cache_next_expiry(struct mfd_cache *c)
{
	int64_t t;

	pthread_rwlock_rdlock(&c->lock);
	t = c->next_expiry;
	pthread_rwlock_unlock(&c->lock);
	return t;
}

void
mfd_cache_expire(struct mfd_cache *c, int64_t now, mfd_cache_gone each, void *arg,
    size_t *dropped, size_t *bytes)
{
	struct mfd_entry *gone = NULL, *e, *next;
	size_t i = 0, end, n = 0, nb = 0;
	int64_t soonest = INT64_MAX;

	for (;;) {
		pthread_rwlock_wrlock(&c->lock);
		if (i == 0)
			c->next_expiry = INT64_MAX;	/* recomputed from what stays */
		/*
		 * Another thread may have grown the table between slices: the
		 * entries rehashed below i are then looked at again (harmless),
		 * those rehashed above are still ahead, and what is missed is
		 * taken by the next call.
		 */
		if (i >= c->nbuckets) {
			/* Mostly empty: a smaller array, so the memory goes back too. */
			size_t want = c->nbuckets;

			while (want > MFD_CACHE_MIN_BUCKETS && c->count < want / 8)
				want /= 2;
			if (want != c->nbuckets)
				mfd_cache_resize(c, want);
			if (soonest < c->next_expiry)
				c->next_expiry = soonest;
			pthread_rwlock_unlock(&c->lock);
			break;
		}
		end = i + MFD_EXPIRE_SLICE < c->nbuckets ? i + MFD_EXPIRE_SLICE : c->nbuckets;
		for (; i < end; i++) {
			struct mfd_entry **pp = &c->buckets[i];

			while ((e = *pp) != NULL) {
				int64_t na = e->blob->not_after;

				if (na != 0 && na < now) {
					*pp = e->next;
					c->count--;
					c->bytes -= e->blob->len;
					e->next = gone;
					gone = e;
					n++;
					nb += e->blob->len;
					continue;
				}
				if (na != 0 && na < soonest)
					soonest = na;
				pp = &e->next;
			}
		}
		pthread_rwlock_unlock(&c->lock);
	}
	/* Freed outside the lock; a response still being sent keeps its blob. */
	for (e = gone; e != NULL; e = next) {
		next = e->next;
		if (each != NULL)
			each(&e->key, arg);
		mfd_blob_unref(e->blob);
		free(e);
	}
	if (dropped != NULL)
		*dropped = n;
	if (bytes != NULL)
		*bytes = nb;
}

int
mfd_cache_select(struct mfd_cache *c, mfd_cache_pick pick, void *arg,
    struct mfd_cache_key **keys, size_t *nkeys)
{
	struct mfd_cache_key *k = NULL;
	size_t n = 0, cap, i;
	int rc = 0;

	*keys = NULL;
	*nkeys = 0;
	pthread_rwlock_rdlock(&c->lock);
	cap = c->count > 0 ? c->count : 1;
	if ((k = malloc(cap * sizeof(*k))) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < c->nbuckets; i++) {
		struct mfd_entry *e;

		for (e = c->buckets[i]; e != NULL && n < cap; e = e->next)
			if (pick == NULL || pick(&e->key, e->blob, arg))
				k[n++] = e->key;
	}
out:
	pthread_rwlock_unlock(&c->lock);
	if (rc == 0) {
		*keys = k;
		*nkeys = n;
	}
	return rc;
}
