/*
 * acme_account.c: ACME accounts (RFC 8555 7.3): creation with an optional
 * or required external account binding, lookup by key
 * (onlyReturnExisting), update of contacts, deactivation, and key rollover.
 *
 * An account is its key: the RFC 7638 thumbprint is unique in the table,
 * so one key can never hold two accounts and a rolled-over key frees its
 * old thumbprint in the same statement that takes the new one.
 */
#include "mf_build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "acme/acme_int.h"
#include "mferr.h"
#include "util.h"

static int
account_json(struct acme_ctx *c, const char *id, const char *status, json_t *contact)
{
	struct mf_acme *a = c->a;

	c->r->json = json_pack("{s:s, s:O, s:s+++}", "status", status, "contact", contact,
	    "orders", a->base, "/acct/", id, "/orders");
	if (c->r->json == NULL)
		return acme_fail(c, MF_ERR_NOMEM, "out of memory");
	if ((c->r->location = acme_url(a, "/acct/%s", id)) == NULL)
		return acme_fail(c, MF_ERR_NOMEM, "out of memory");
	return 0;
}

/* Contacts must be an array of URIs; we keep them but send nothing to them. */
static int
contact_ok(struct acme_ctx *c, json_t *contact)
{
	size_t i;
	json_t *v;

	if (!json_is_array(contact) || json_array_size(contact) > 8)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "\"contact\" must be an array of URIs");
	json_array_foreach(contact, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || strlen(s) > 256 || strchr(s, ':') == NULL)
			return acme_fail(c, MF_ERR_ACME_MALFORMED, "contact %zu is not a URI", i);
	}
	return 0;
}

/*
 * The HMAC key for kid: from the configuration (eab-keys), else from the
 * keys `mayfly acme eab add` stored in the database (live ones only).
 * 0 and a copy in key (cleanse it), or MF_ERR_NOTFOUND.
 */
static int
eab_key(struct acme_ctx *c, const char *kid, unsigned char *key, size_t *keylen)
{
	const struct mf_acme_conf *conf = c->a->conf;
	mf_sql_stmt *st = NULL;
	const void *b;
	size_t i;
	int rc, n;

	for (i = 0; i < conf->neab; i++)
		if (strcmp(conf->eab[i].kid, kid) == 0) {
			if (conf->eab[i].keylen > *keylen)
				return MF_ERR_NOTFOUND;
			memcpy(key, conf->eab[i].key, conf->eab[i].keylen);
			*keylen = conf->eab[i].keylen;
			return 0;
		}
	if ((rc = acme_sq_prepare(c->a->sq, &st, "SELECT hmac_key FROM acme_eab_keys "
	    "WHERE kid = ? AND removed_at IS NULL", "s", kid)) != 0)
		return rc;
	rc = MF_ERR_NOTFOUND;
	if (mf_sql_step(st) == MF_SQL_ROW && (b = mf_sql_column_blob(st, 0)) != NULL &&
	    (n = mf_sql_column_bytes(st, 0)) > 0 && (size_t)n <= *keylen) {
		memcpy(key, b, (size_t)n);
		*keylen = (size_t)n;
		rc = 0;
	}
	acme_sq_done(c->a->sq, st);
	return rc;
}

/*
 * RFC 8555 7.3.4: the inner JWS is signed with HS256 by the MAC key named
 * by its "kid", its "url" is the newAccount URL and its payload is the
 * account key of the outer JWS.
 */
static int
eab_check(struct acme_ctx *c, json_t *eab, char *kid_out, size_t kidlen)
{
	struct mf_jws *in = NULL;
	json_t *payload_key = NULL;
	json_error_t jerr;
	unsigned char key[256];
	size_t keylen = sizeof(key);
	char why[200];
	int rc;

	kid_out[0] = '\0';
	if ((rc = mf_jws_parse_json(eab, MF_JWS_INNER | MF_JWS_HMAC, &in, why, sizeof(why))) != 0) {
		rc = acme_fail(c, rc == MF_ERR_ACME_BADALG ? MF_ERR_ACME_BADALG :
		    MF_ERR_ACME_MALFORMED, "externalAccountBinding: %s", why);
		goto out;
	}
	if (in->kid == NULL || strcmp(in->url, c->jws->url) != 0) {
		rc = acme_fail(c, MF_ERR_ACME_MALFORMED,
		    "externalAccountBinding needs \"kid\" and the newAccount \"url\"");
		goto out;
	}
	payload_key = json_loadb((const char *)in->payload, in->payload_len, 0, &jerr);
	if (payload_key == NULL || !json_equal(payload_key, c->jws->jwk)) {
		rc = acme_fail(c, MF_ERR_ACME_MALFORMED,
		    "externalAccountBinding payload is not the account key");
		goto out;
	}
	rc = acme_fail(c, MF_ERR_ACME_UNAUTHORIZED, "external account binding does not verify");
	if (strlen(in->kid) < kidlen && eab_key(c, in->kid, key, &keylen) == 0 &&
	    mf_jws_verify_hmac(in, key, keylen) == 0) {
		memcpy(kid_out, in->kid, strlen(in->kid) + 1);
		c->r->err = 0;
		c->r->why[0] = '\0';
		rc = 0;
	}
	OPENSSL_cleanse(key, sizeof(key));
out:
	json_decref(payload_key);
	mf_jws_free(in);
	return rc;
}

int
acme_h_new_account(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	struct acme_account *old = NULL;
	json_t *body = c->jws->body, *contact, *eab, *jwk_json = NULL;
	char eab_kid[128] = "";
	char tp[44], id[ACME_ID_LEN + 1], *jwk_text = NULL, *contact_text = NULL, ratekey[80];
	int rc, retry;

	if (body == NULL)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "newAccount needs a payload");
	if ((rc = mf_jwk_thumbprint(c->jws->jwk, tp)) != 0)
		return acme_fail(c, rc, "cannot compute the key thumbprint");
	rc = acme_account_get(a->sq, NULL, tp, &old);
	if (rc == 0) {
		/* 7.3.1: an existing key answers 200 with the account's URL. */
		if (strcmp(old->status, "valid") != 0)
			rc = acme_fail(c, MF_ERR_ACME_UNAUTHORIZED, "account is %s", old->status);
		else if ((rc = account_json(c, old->id, old->status, old->contact)) == 0)
			c->r->status = 200;
		goto out;
	}
	if (rc != MF_ERR_ACME_NOACCOUNT) {
		rc = acme_fail(c, rc, "account lookup failed");
		goto out;
	}
	if (json_is_true(json_object_get(body, "onlyReturnExisting"))) {
		rc = acme_fail(c, MF_ERR_ACME_NOACCOUNT, "no account for this key");
		goto out;
	}
	contact = json_object_get(body, "contact");
	if (contact != NULL && (rc = contact_ok(c, contact)) != 0)
		goto out;
	eab = json_object_get(body, "externalAccountBinding");
	if (eab != NULL) {
		if ((rc = eab_check(c, eab, eab_kid, sizeof(eab_kid))) != 0)
			goto out;
	} else if (a->conf->eab_required) {
		rc = acme_fail(c, MF_ERR_ACME_EAB, "this server requires an external account binding");
		goto out;
	}
	/*
	 * Anyone who reaches the listener can make keys, and each new key is
	 * a row: without a binding (which bounds accounts by the keys the
	 * operator hands out), new accounts are limited per client address.
	 */
	snprintf(ratekey, sizeof(ratekey), "newacct:%s", c->client_ip);
	if (eab_kid[0] == '\0' && (rc = acme_rate_check(a->sq, ratekey,
	    a->conf->accounts_per_ip_per_hour, c->now, &retry)) != 0) {
		c->r->retry_after = retry;
		rc = acme_fail(c, rc, "more than %u new accounts from this address in the last hour",
		    a->conf->accounts_per_ip_per_hour);
		goto out;
	}
	/* Store only the public members the thumbprint covers, in canonical form. */
	jwk_json = json_deep_copy(c->jws->jwk);
	if (jwk_json == NULL || (rc = acme_random_id(id)) != 0) {
		rc = acme_fail(c, MF_ERR_NOMEM, "out of memory");
		goto out;
	}
	json_object_del(jwk_json, "alg");
	json_object_del(jwk_json, "use");
	json_object_del(jwk_json, "key_ops");
	json_object_del(jwk_json, "kid");
	jwk_text = json_dumps(jwk_json, JSON_SORT_KEYS | JSON_COMPACT);
	contact_text = contact ? json_dumps(contact, JSON_COMPACT) : strdup("[]");
	if (jwk_text == NULL || contact_text == NULL) {
		rc = acme_fail(c, MF_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Counted before the insert: a failed insert costs a slot, never an uncounted row. */
	if (eab_kid[0] == '\0' && a->conf->accounts_per_ip_per_hour > 0 &&
	    (rc = acme_rate_add(a->sq, ratekey, c->now)) != 0) {
		rc = acme_fail(c, rc, "cannot store the account");
		goto out;
	}
	/* A binding spends its key for good: durable, so a crash cannot let it bind twice. */
	if ((rc = acme_sq_durable(a->sq, eab_kid[0] != '\0')) == 0)
		rc = acme_sq_exec(a->sq, "INSERT INTO acme_accounts(id, thumbprint, jwk, status, "
		    "contact, eab_kid, created_at) VALUES (?, ?, ?, 'valid', ?, ?, ?)", "sssssi", id,
		    tp, jwk_text, contact_text, eab_kid[0] != '\0' ? eab_kid : NULL, c->now);
	if (eab_kid[0] != '\0' && acme_sq_durable(a->sq, 0) != 0 && rc == 0)
		rc = MF_ERR_DB;
	if (rc == MF_ERR_EXISTS) {
		rc = acme_fail(c, MF_ERR_ACME_UNAUTHORIZED,
		    "external account binding key already used by another account");
		goto out;
	}
	if (rc != 0) {
		rc = acme_fail(c, rc, "cannot store the account");
		goto out;
	}
	{
		json_t *none = json_array();

		rc = account_json(c, id, "valid", contact ? contact : none);
		json_decref(none);
		if (rc != 0)
			goto out;
	}
	c->r->status = 201;
	mf_info("account=%s eab=%s msg=\"ACME account created\"", id,
	    eab_kid[0] != '\0' ? eab_kid : "-");
out:
	acme_account_free(old);
	json_decref(jwk_json);
	free(jwk_text);
	free(contact_text);
	return rc;
}

static int
account_orders(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	mf_sql_stmt *st;
	json_t *list;
	int rc;

	if ((list = json_array()) == NULL)
		return acme_fail(c, MF_ERR_NOMEM, "out of memory");
	/* 7.1.2.1: pending and valid orders; bounded so the answer stays small. */
	rc = acme_sq_prepare(a->sq, &st, "SELECT id FROM acme_orders WHERE account_id = ? AND "
	    "status IN ('pending', 'ready', 'processing', 'valid') AND expires > ? "
	    "ORDER BY created_at DESC LIMIT 100", "si", c->acct->id, c->now);
	if (rc != 0) {
		json_decref(list);
		return acme_fail(c, rc, "order lookup failed");
	}
	while (mf_sql_step(st) == MF_SQL_ROW) {
		char *u = acme_url(a, "/order/%s", (const char *)mf_sql_column_text(st, 0));

		if (u != NULL) {
			json_array_append_new(list, json_string(u));
			free(u);
		}
	}
	acme_sq_done(a->sq, st);
	c->r->json = json_pack("{s:o}", "orders", list);
	c->r->status = 200;
	return 0;
}

int
acme_h_account(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	json_t *body = c->jws->body, *contact, *status;
	size_t n = strlen(c->acct->id);
	char *text;
	int rc;

	/* The URL names an account; it must be the signer's own. */
	if (strncmp(c->arg, c->acct->id, n) != 0 || (c->arg[n] != '\0' &&
	    strcmp(c->arg + n, "/orders") != 0))
		return acme_fail(c, MF_ERR_ACME_UNAUTHORIZED, "not your account");
	if (c->arg[n] != '\0')
		return account_orders(c);
	if (body != NULL && (contact = json_object_get(body, "contact")) != NULL) {
		if ((rc = contact_ok(c, contact)) != 0)
			return rc;
		if ((text = json_dumps(contact, JSON_COMPACT)) == NULL)
			return acme_fail(c, MF_ERR_NOMEM, "out of memory");
		rc = acme_sq_exec(a->sq, "UPDATE acme_accounts SET contact = ? WHERE id = ?", "ss",
		    text, c->acct->id);
		free(text);
		if (rc != 0)
			return acme_fail(c, rc, "cannot update the account");
		json_decref(c->acct->contact);
		c->acct->contact = json_incref(contact);
	}
	if (body != NULL && (status = json_object_get(body, "status")) != NULL) {
		/* 7.3.6: the only status a client may set is "deactivated", and it is final. */
		if (!json_is_string(status) || strcmp(json_string_value(status), "deactivated") != 0)
			return acme_fail(c, MF_ERR_ACME_MALFORMED, "status may only be \"deactivated\"");
		/* Final, and durable before it is answered: a crash must not revive the key. */
		if ((rc = acme_sq_durable(a->sq, 1)) == 0)
			rc = acme_sq_exec(a->sq, "UPDATE acme_accounts SET status = 'deactivated' "
			    "WHERE id = ?", "s", c->acct->id);
		if (rc == 0)
			rc = acme_sq_exec(a->sq, "UPDATE acme_authzs SET status = 'deactivated' WHERE "
			    "status IN ('pending', 'valid') AND order_id IN (SELECT id FROM acme_orders "
			    "WHERE account_id = ?)", "s", c->acct->id);
		if (acme_sq_durable(a->sq, 0) != 0 && rc == 0)
			rc = MF_ERR_DB;
		if (rc != 0)
			return acme_fail(c, rc, "cannot deactivate the account");
		strcpy(c->acct->status, "deactivated");
		mf_jwk_cache_drop(a->keys, c->acct->id);
		mf_info("account=%s msg=\"ACME account deactivated\"", c->acct->id);
	}
	if ((rc = account_json(c, c->acct->id, c->acct->status, c->acct->contact)) != 0)
		return rc;
	c->r->status = 200;
	return 0;
}

int
acme_h_key_change(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	struct mf_jws *in = NULL;
	struct acme_account *other = NULL;
	json_t *jwk_json = NULL, *old_key;
	const char *acct_url;
	char why[200], tp_new[44], tp_old[44], *kid = NULL, *jwk_text = NULL;
	int rc;

	if (c->jws->body == NULL)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "keyChange needs a payload");
	/* 7.3.5: the payload is a JWS signed by the new key. */
	if ((rc = mf_jws_parse_json(c->jws->body, MF_JWS_INNER, &in, why, sizeof(why))) != 0) {
		rc = acme_fail(c, rc, "inner JWS: %s", why);
		goto out;
	}
	if (in->jwk == NULL || strcmp(in->url, c->jws->url) != 0 || in->body == NULL) {
		rc = acme_fail(c, MF_ERR_ACME_MALFORMED,
		    "inner JWS needs \"jwk\", the same \"url\" and a payload");
		goto out;
	}
	if ((rc = mf_jwk_check(in->jwk, why, sizeof(why))) != 0) {
		rc = acme_fail(c, rc, "new key: %s", why);
		goto out;
	}
	if ((rc = mf_jws_verify(in, in->jwk)) != 0) {
		rc = acme_fail(c, rc, "inner JWS signature does not verify");
		goto out;
	}
	acct_url = json_string_value(json_object_get(in->body, "account"));
	old_key = json_object_get(in->body, "oldKey");
	if ((kid = acme_url(a, "/acct/%s", c->acct->id)) == NULL) {
		rc = acme_fail(c, MF_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (acct_url == NULL || strcmp(acct_url, kid) != 0 || strcmp(c->jws->kid, kid) != 0) {
		rc = acme_fail(c, MF_ERR_ACME_UNAUTHORIZED, "inner \"account\" is not the signer's");
		goto out;
	}
	if (old_key == NULL || mf_jwk_thumbprint(old_key, tp_old) != 0 ||
	    strcmp(tp_old, c->acct->thumbprint) != 0) {
		rc = acme_fail(c, MF_ERR_ACME_UNAUTHORIZED, "\"oldKey\" is not the account's key");
		goto out;
	}
	if ((rc = mf_jwk_thumbprint(in->jwk, tp_new)) != 0) {
		rc = acme_fail(c, rc, "cannot compute the key thumbprint");
		goto out;
	}
	if (acme_account_get(a->sq, NULL, tp_new, &other) == 0) {
		c->r->location = acme_url(a, "/acct/%s", other->id);
		rc = acme_fail(c, MF_ERR_EXISTS, "the new key already belongs to an account");
		goto out;
	}
	jwk_json = json_deep_copy(in->jwk);
	if (jwk_json == NULL ||
	    (jwk_text = json_dumps(jwk_json, JSON_SORT_KEYS | JSON_COMPACT)) == NULL) {
		rc = acme_fail(c, MF_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Durable: the client may be retiring a compromised key. */
	if ((rc = acme_sq_durable(a->sq, 1)) == 0)
		rc = acme_sq_exec(a->sq, "UPDATE acme_accounts SET jwk = ?, thumbprint = ? "
		    "WHERE id = ?", "sss", jwk_text, tp_new, c->acct->id);
	if (acme_sq_durable(a->sq, 0) != 0 && rc == 0)
		rc = MF_ERR_DB;
	if (rc != 0) {
		rc = acme_fail(c, rc, "cannot store the new key");
		goto out;
	}
	/* The old key is refused anyway (its thumbprint is gone); free its slot now. */
	mf_jwk_cache_drop(a->keys, c->acct->id);
	mf_info("account=%s msg=\"ACME account key rolled over\"", c->acct->id);
	rc = account_json(c, c->acct->id, c->acct->status, c->acct->contact);
	c->r->status = 200;
out:
	mf_jws_free(in);
	acme_account_free(other);
	json_decref(jwk_json);
	free(jwk_text);
	free(kid);
	return rc;
}
