/*
 * cache.h: immutable, reference-counted response buffers and the table of
 * pre-signed OCSP responses.
 *
 * A struct mfd_blob is written once by the refresher (or at start) and
 * never changed afterwards; readers take a reference under the table's
 * read lock and hand the bytes to libmicrohttpd without copying, dropping
 * the reference in MHD's free callback. A re-signed response replaces the
 * blob in the table; requests still sending the old one keep it alive.
 *
 * The table is keyed by (issuer index, CertID hash, serial) and guarded by
 * a pthread rwlock: lookups take the read lock for a hash probe only.
 * Buckets are chosen with a keyed hash seeded from the CSPRNG at creation,
 * so request serials cannot be picked to pile into one bucket.
 */
#ifndef MFD_CACHE_H
#define MFD_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct mfd_blob {
	atomic_uint refs;
	unsigned char *data;		/* owned */
	size_t len;
	int64_t this_update;		/* unix seconds; 0 for non-OCSP blobs */
	int64_t next_update;
	int64_t not_after;		/* of the certificate (OCSP), for pruning */
	int cert_status;		/* V_OCSP_CERTSTATUS_* for OCSP blobs */
	char etag[44];			/* "\"<hex>\"" of a SHA-256 prefix of data */
	char last_modified[32];		/* IMF-fixdate of this_update (or creation) */
	char expires[32];		/* IMF-fixdate of next_update, "" if none */
	const char *content_type;	/* static string */
	atomic_int exported;		/* written to ocsp_export_dir already */
	atomic_int persisted;		/* stored in the database already */
};

/*
 * Takes ownership of data (malloc'ed, len bytes) and computes etag and
 * dates. Returns NULL (and frees data) on allocation failure. refs = 1.
 */
struct mfd_blob *mfd_blob_new(unsigned char *data, size_t len, const char *content_type,
    int64_t this_update, int64_t next_update);
void mfd_blob_ref(struct mfd_blob *b);
void mfd_blob_unref(struct mfd_blob *b);	/* NULL ok */

/* Formats t as an HTTP IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"). */
void mfd_http_date(int64_t t, char *buf, size_t buflen);

struct mfd_cache_key {
	uint16_t issuer;
	uint8_t alg;
	uint8_t serial_len;
	unsigned char serial[20];
};

struct mfd_cache;

int mfd_cache_new(struct mfd_cache **out);
void mfd_cache_free(struct mfd_cache *c);

/* A new reference to the blob for k (caller unrefs), or NULL. */
struct mfd_blob *mfd_cache_get(struct mfd_cache *c, const struct mfd_cache_key *k);

/* Inserts or replaces; takes over the caller's reference to b. */
int mfd_cache_put(struct mfd_cache *c, const struct mfd_cache_key *k, struct mfd_blob *b);

/*
 * Inserts only if k is absent, atomically: MF_ERR_EXISTS (and b dropped)
 * if an entry is there. Takes over the caller's reference to b.
 */
int mfd_cache_add(struct mfd_cache *c, const struct mfd_cache_key *k, struct mfd_blob *b);

/* Removes k; MF_ERR_NOTFOUND if absent. */
int mfd_cache_del(struct mfd_cache *c, const struct mfd_cache_key *k);

/* Removes every entry. */
void mfd_cache_clear(struct mfd_cache *c);

/* Entries and the oldest this_update among them (0 if empty). */
void mfd_cache_stats(struct mfd_cache *c, size_t *count, int64_t *oldest);

/* Bytes of response data the table holds (without its own overhead). */
size_t mfd_cache_bytes(struct mfd_cache *c);

/*
 * The earliest not_after among the entries, as of the last
 * mfd_cache_expire (later inserts can only lower it); INT64_MAX if no
 * entry has one. Before then nothing can be expired, and a
 * caller can skip the walk.
 */
int64_t mfd_cache_next_expiry(struct mfd_cache *c);

/*
 * Removes the entries of certificates expired by now (not_after != 0 and
 * not_after < now): nobody staples those, and the cache must follow the
 * live certificates, not the log. Walks the table a slice of buckets at
 * a time under the write lock, so lookups wait for a slice, never for the
 * whole table, and frees outside it; halves the bucket array while it is
 * mostly empty. gone (if not NULL) is called with each removed key,
 * outside the lock. *dropped and *bytes (either may be NULL) get the
 * entries and response bytes removed.
 */
typedef void (*mfd_cache_gone)(const struct mfd_cache_key *k, void *arg);
void mfd_cache_expire(struct mfd_cache *c, int64_t now, mfd_cache_gone gone, void *arg,
    size_t *dropped, size_t *bytes);

/*
 * Copies into a new array (caller frees) the keys whose entry satisfies
 * pick(key, blob, arg) (all keys if pick is NULL), so the caller can
 * re-sign them without holding the lock.
 */
typedef int (*mfd_cache_pick)(const struct mfd_cache_key *k, const struct mfd_blob *b,
    void *arg);
int mfd_cache_select(struct mfd_cache *c, mfd_cache_pick pick, void *arg,
    struct mfd_cache_key **keys, size_t *nkeys);

/* Makes a key from its parts (zero-pads the serial). */
void mfd_cache_key_set(struct mfd_cache_key *k, unsigned issuer, int alg,
    const unsigned char *serial, size_t serial_len);

/*
 * qsort order of keys as the ocsp_responses table orders its primary key
 * (issuer, alg, serial in hex): issuers grouped, then alg, then the
 * serial's octets with a shorter one first on a tie, which is how SQLite
 * compares their hex strings.
 */
int mfd_cache_key_cmp(const void *a, const void *b);

#endif
