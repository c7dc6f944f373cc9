/*
 * acme_order.c: orders, authorisations and challenges (RFC 8555 7.1, 7.4,
 * 7.5), finalisation into a certificate through the CA's one issuance path,
 * and the status transitions between them (7.1.6). Certificates once
 * issued (download, revocation, renewal information) are in acme_cert.c.
 *
 * An order is tied to its account; every URL below /order, /authz, /chall
 * and /cert is answered only to the account that owns it, so knowing an
 * identifier gives nothing to another account.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acme/acme_int.h"
#include "issuer.h"
#include "mferr.h"
#include "policy.h"
#include "util.h"

#define MAX_IDENTIFIERS	100

void
acme_rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Copies a column (NULL becomes "") into a fixed buffer; 0 if it fits. */
static int
col(mf_sql_stmt *st, int i, char *out, size_t outlen)
{
	const char *s = (const char *)mf_sql_column_text(st, i);

	if (s == NULL)
		s = "";
	if (strlen(s) >= outlen)
		return -1;
	strcpy(out, s);
	return 0;
}

static json_t *
challenge_json(struct mf_acme *a, mf_sql_stmt *st)
{
	/* columns: id, type, token, status, validated, error */
	const char *id = (const char *)mf_sql_column_text(st, 0);
	const char *err = (const char *)mf_sql_column_text(st, 5);
	json_t *ch;
	char when[32];

	ch = json_pack("{s:s, s:s++, s:s, s:s}", "type", mf_sql_column_text(st, 1),
	    "url", a->base, "/chall/", id, "token", mf_sql_column_text(st, 2),
	    "status", mf_sql_column_text(st, 3));
	if (ch == NULL)
		return NULL;
	if (mf_sql_column_type(st, 4) != MF_SQL_NULL) {
		acme_rfc3339(mf_sql_column_int64(st, 4), when);
		json_object_set_new(ch, "validated", json_string(when));
	}
	if (err != NULL) {
		json_error_t jerr;
		json_t *e = json_loads(err, 0, &jerr);

		if (e != NULL)
			json_object_set_new(ch, "error", e);
	}
	return ch;
}

/* The authorisation id, with the identifier and challenges, as JSON. */
static int
authz_json(struct mf_acme *a, const char *authz_id, json_t **out)
{
	mf_sql_stmt *st = NULL;
	json_t *az = NULL, *chs = NULL, *ch;
	char when[32];
	int rc;

	*out = NULL;
	rc = acme_sq_prepare(a->sq, &st, "SELECT type, value, wildcard, status, expires "
	    "FROM acme_authzs WHERE id = ?", "s", authz_id);
	if (rc != 0)
		return rc;
	if (mf_sql_step(st) != MF_SQL_ROW) {
		acme_sq_done(a->sq, st);
		return MF_ERR_NOTFOUND;
	}
	acme_rfc3339(mf_sql_column_int64(st, 4), when);
	az = json_pack("{s:{s:s, s:s}, s:s, s:s}", "identifier", "type",
	    mf_sql_column_text(st, 0), "value", mf_sql_column_text(st, 1),
	    "status", mf_sql_column_text(st, 3), "expires", when);
	if (az != NULL && mf_sql_column_int(st, 2))
		json_object_set_new(az, "wildcard", json_true());
	acme_sq_done(a->sq, st);
	if (az == NULL)
		return MF_ERR_NOMEM;
	chs = json_array();
	rc = acme_sq_prepare(a->sq, &st, "SELECT id, type, token, status, validated, error "
	    "FROM acme_challenges WHERE authz_id = ? ORDER BY type", "s", authz_id);
	if (rc != 0 || chs == NULL) {
		json_decref(az);
		json_decref(chs);
		return rc ? rc : MF_ERR_NOMEM;
	}
	while (mf_sql_step(st) == MF_SQL_ROW)
		if ((ch = challenge_json(a, st)) != NULL)
			json_array_append_new(chs, ch);
	acme_sq_done(a->sq, st);
	json_object_set_new(az, "challenges", chs);
	*out = az;
	return 0;
}

int
acme_order_refresh(struct mf_acme *a, const char *order_id, int64_t now)
{
	mf_sql_stmt *st = NULL;
	char status[16];
	int64_t expires, total, valid, bad, stale;
	int rc, pass;

	/*
	 * One read tells whether anything has to change; the writes below
	 * run only when it does, with the same guards as always. Most calls
	 * are polls of an order that is already processing or valid, for
	 * which nothing ever changes but the expiry of its authorisations.
	 */
	for (pass = 0; ; pass++) {
		/* CASE and GROUP BY: PostgreSQL sums no booleans and wants the group named. */
		rc = acme_sq_prepare(a->sq, &st, "SELECT o.status, o.expires, count(z.id), "
		    "coalesce(sum(CASE WHEN z.status = 'valid' THEN 1 ELSE 0 END), 0), "
		    "coalesce(sum(CASE WHEN z.status IN ('invalid', 'deactivated', 'expired', "
		    "'revoked') THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN z.status IN "
		    "('pending', 'valid') AND z.expires <= ?1 THEN 1 ELSE 0 END), 0) FROM "
		    "acme_orders o LEFT JOIN acme_authzs z ON z.order_id = o.id WHERE o.id = ?2 "
		    "GROUP BY o.id, o.status, o.expires", "is", now, order_id);
		if (rc != 0)
			return rc;
		if (mf_sql_step(st) != MF_SQL_ROW || mf_sql_column_type(st, 0) == MF_SQL_NULL) {
			/* No such order: nothing to refresh; the caller reports it. */
			acme_sq_done(a->sq, st);
			return 0;
		}
		rc = col(st, 0, status, sizeof(status));
		expires = mf_sql_column_int64(st, 1);
		total = mf_sql_column_int64(st, 2);
		valid = mf_sql_column_int64(st, 3);
		bad = mf_sql_column_int64(st, 4);
		stale = mf_sql_column_int64(st, 5);
		acme_sq_done(a->sq, st);
		if (rc != 0)
			return MF_ERR_DB;
		if (stale == 0 || pass > 0)
			break;
		/* 7.1.6: an order dies with any of its authorisations, or when it expires. */
		if ((rc = acme_sq_exec(a->sq, "UPDATE acme_authzs SET status = 'expired' WHERE "
		    "order_id = ? AND status IN ('pending', 'valid') AND expires <= ?", "si",
		    order_id, now)) != 0)
			return rc;
	}
	if (strcmp(status, "pending") != 0 && strcmp(status, "ready") != 0)
		return 0;
	if (bad > 0)
		return acme_sq_exec(a->sq, "UPDATE acme_orders SET status = 'invalid' WHERE id = ? "
		    "AND status IN ('pending', 'ready')", "s", order_id);
	if (expires <= now)
		return acme_sq_exec(a->sq, "UPDATE acme_orders SET status = 'invalid' WHERE id = ? "
		    "AND status IN ('pending', 'ready') AND expires <= ?", "si", order_id, now);
	if (total > 0 && valid == total && strcmp(status, "pending") == 0)
		return acme_sq_exec(a->sq, "UPDATE acme_orders SET status = 'ready' WHERE id = ? "
		    "AND status = 'pending'", "s", order_id);
	return 0;
}

/* The order as JSON, if it belongs to acct; MF_ERR_NOTFOUND otherwise. */
static int
order_json(struct acme_ctx *c, const char *order_id, json_t **out, char *status,
    json_t **idents)
{
	struct mf_acme *a = c->a;
	mf_sql_stmt *st = NULL, *st2 = NULL;
	json_t *o = NULL, *ids = NULL, *azs = NULL, *err = NULL;
	json_error_t jerr;
	char when[32];
	int rc;

	*out = NULL;
	if ((rc = acme_order_refresh(a, order_id, c->now)) != 0)
		return rc;
	rc = acme_sq_prepare(a->sq, &st, "SELECT status, identifiers, expires, error, "
	    "cert_serial, replaces, not_before, not_after FROM acme_orders WHERE id = ? AND "
	    "account_id = ?", "ss", order_id, c->acct->id);
	if (rc != 0)
		return rc;
	if (mf_sql_step(st) != MF_SQL_ROW) {
		rc = MF_ERR_NOTFOUND;
		goto out;
	}
	ids = json_loads((const char *)mf_sql_column_text(st, 1), 0, &jerr);
	azs = json_array();
	acme_rfc3339(mf_sql_column_int64(st, 2), when);
	if (ids == NULL || azs == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if (status != NULL && col(st, 0, status, 16) != 0) {
		rc = MF_ERR_DB;
		goto out;
	}
	if ((rc = acme_sq_prepare(a->sq, &st2, "SELECT id FROM acme_authzs WHERE order_id = ? "
	    "ORDER BY pos", "s", order_id)) != 0)
		goto out;
	while (mf_sql_step(st2) == MF_SQL_ROW) {
		char *u = acme_url(a, "/authz/%s", (const char *)mf_sql_column_text(st2, 0));

		if (u != NULL)
			json_array_append_new(azs, json_string(u));
		free(u);
	}
	o = json_pack("{s:s, s:s, s:O, s:O, s:s+++}", "status", mf_sql_column_text(st, 0),
	    "expires", when, "identifiers", ids, "authorizations", azs,
	    "finalize", a->base, "/order/", order_id, "/finalize");
	if (o == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if (mf_sql_column_type(st, 3) != MF_SQL_NULL &&
	    (err = json_loads((const char *)mf_sql_column_text(st, 3), 0, &jerr)) != NULL)
		json_object_set_new(o, "error", err);
	if (mf_sql_column_type(st, 4) != MF_SQL_NULL) {
		char *u = acme_url(a, "/cert/%s", (const char *)mf_sql_column_text(st, 4));

		if (u != NULL)
			json_object_set_new(o, "certificate", json_string(u));
		free(u);
	}
	if (mf_sql_column_type(st, 5) != MF_SQL_NULL)
		json_object_set_new(o, "replaces", json_string((const char *)mf_sql_column_text(st, 5)));
	/* 7.1.3: the dates asked for in newOrder, as asked. */
	if (mf_sql_column_type(st, 6) != MF_SQL_NULL) {
		acme_rfc3339(mf_sql_column_int64(st, 6), when);
		json_object_set_new(o, "notBefore", json_string(when));
	}
	if (mf_sql_column_type(st, 7) != MF_SQL_NULL) {
		acme_rfc3339(mf_sql_column_int64(st, 7), when);
		json_object_set_new(o, "notAfter", json_string(when));
	}
	*out = o;
	o = NULL;
	if (idents != NULL)
		*idents = json_incref(ids);
	rc = 0;
out:
	acme_sq_done(a->sq, st);
	acme_sq_done(a->sq, st2);
	json_decref(o);
	json_decref(ids);
	json_decref(azs);
	return rc;
}

/* Checks one identifier of a new order; fills the canonical value and wildcard flag. */
static int
ident_check(struct acme_ctx *c, const struct mf_profile *p, json_t *id, char *value,
    size_t vlen, int *is_ip, int *wildcard)
{
	const char *type = json_string_value(json_object_get(id, "type"));
	const char *v = json_string_value(json_object_get(id, "value"));
	struct mf_name n;
	unsigned char ip[16];
	char why[200];
	size_t i;

	*is_ip = 0;
	*wildcard = 0;
	memset(&n, 0, sizeof(n));
	if (type == NULL || v == NULL)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "identifier needs \"type\" and \"value\"");
	if (strlen(v) >= vlen || strlen(v) == 0)
		return acme_fail(c, MF_ERR_ACME_REJECTEDID, "identifier too long or empty");
	if (strcmp(type, "dns") == 0) {
		for (i = 0; v[i] != '\0'; i++)
			value[i] = (char)tolower((unsigned char)v[i]);
		value[i] = '\0';
		n.type = MF_NAME_DNS;
		n.dns = value;
		*wildcard = strncmp(value, "*.", 2) == 0;
		/* 7.1.3: a wildcard can only be proven with control of the DNS zone. */
		if (*wildcard && !(c->a->conf->challenges & MF_ACME_DNS01))
			return acme_fail(c, MF_ERR_ACME_REJECTEDID,
			    "%s: wildcards need dns-01, which this server does not offer", value);
	} else if (strcmp(type, "ip") == 0) {
		if (inet_pton(AF_INET, v, ip) == 1) {
			n.iplen = 4;
			inet_ntop(AF_INET, ip, value, (socklen_t)vlen);
		} else if (inet_pton(AF_INET6, v, ip) == 1) {
			n.iplen = 16;
			inet_ntop(AF_INET6, ip, value, (socklen_t)vlen);
		} else {
			return acme_fail(c, MF_ERR_ACME_MALFORMED, "%.60s is not an IP address", v);
		}
		n.type = MF_NAME_IP;
		memcpy(n.ip, ip, n.iplen);
		*is_ip = 1;
	} else {
		return acme_fail(c, MF_ERR_ACME_UNSUPPORTEDID, "identifier type \"%.20s\" not supported",
		    type);
	}
	/*
	 * The CLI's syntax check, before anything else uses the value: an
	 * identifier becomes the host of the http-01 URL and the SNI of
	 * tls-alpn-01, so "127.0.0.9/#x.test" must never get that far.
	 */
	if (mf_policy_name_syntax(p, &n, why, sizeof(why)) != 0)
		return acme_fail(c, MF_ERR_ACME_REJECTEDID, "%s", why);
	if (!mf_policy_name_allowed(p, &n))
		return acme_fail(c, MF_ERR_ACME_REJECTEDID, "%s is not allowed by profile %s", value,
		    p->name);
	return 0;
}

static int
add_challenge(struct mf_acme *a, const char *authz_id, const char *type)
{
	char id[ACME_ID_LEN + 1], token[48];
	int rc;

	/* 8.1: the token carries at least 128 bits of entropy (here 256). */
	if ((rc = acme_random_id(id)) != 0 || (rc = acme_b64u_random(token, 32)) != 0)
		return rc;
	return acme_sq_exec(a->sq, "INSERT INTO acme_challenges(id, authz_id, type, token, status) "
	    "VALUES (?, ?, ?, ?, 'pending')", "ssss", id, authz_id, type, token);
}

/*
 * 7.4: the notBefore/notAfter of a newOrder, refused here rather than at
 * finalisation. notBefore may lie ahead up to issuance.forward-horizon
 * (mf_policy_not_before, the rule `mayfly issue --not-before` follows);
 * notAfter needs a notBefore, must come after it and the span must fit the
 * profile's maximum lifetime and the hard cap. Both 0: not asked for.
 */
static int
order_dates(struct acme_ctx *c, const struct mf_profile *p, json_t *body, int64_t *nb,
    int64_t *na)
{
	const struct mf_config *cfg = c->a->cfg;
	json_t *jnb = json_object_get(body, "notBefore"), *jna = json_object_get(body, "notAfter");
	int64_t max;
	char why[200];

	*nb = 0;
	*na = 0;
	if (jnb == NULL && jna == NULL)
		return 0;
	if (jnb == NULL)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "notAfter needs a notBefore");
	if (!json_is_string(jnb) || mf_time_rfc3339(json_string_value(jnb), nb) != MF_OK)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "notBefore is not an RFC 3339 date-time "
		    "such as 2026-12-05T10:00:00Z");
	if (*nb == 0)
		*nb = 1;	/* 0 means "not asked"; 1970 is refused as past anyway */
	if (mf_policy_not_before(cfg, *nb, c->now, why, sizeof(why)) != MF_OK)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "%s", why);
	if (jna == NULL)
		return 0;
	if (!json_is_string(jna) || mf_time_rfc3339(json_string_value(jna), na) != MF_OK)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "notAfter is not an RFC 3339 date-time "
		    "such as 2026-12-06T10:00:00Z");
	if (*na <= *nb)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "notAfter is not after notBefore");
	/* The caps of the policy check (policy.c), so that finalisation cannot fail on them. */
	max = cfg->hard_cap > 0 && cfg->hard_cap < MF_HARD_CAP_MAX ? cfg->hard_cap :
	    MF_HARD_CAP_MAX;
	if (p->max_lifetime > 0 && p->max_lifetime < max)
		max = p->max_lifetime;
	if (*na - *nb > max)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "notAfter - notBefore is %llds, above "
		    "the %llds that profile %s and the hard cap allow", (long long)(*na - *nb),
		    (long long)max, p->name);
	return 0;
}

int
acme_h_new_order(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	const struct mf_acme_conf *conf = a->conf;
	const struct mf_profile *p;
	json_t *body = c->jws->body, *ids, *id, *canon = NULL, *o = NULL;
	const char *replaces;
	char order_id[ACME_ID_LEN + 1], authz_id[ACME_ID_LEN + 1], key[64];
	char value[256], serial[2 * MF_SERIAL_MAX + 4], *ids_text = NULL;
	size_t i, j;
	int64_t not_before = 0, not_after = 0;
	int is_ip, wildcard, retry, rc, in_tx = 0;

	if (body == NULL)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "newOrder needs a payload");
	ids = json_object_get(body, "identifiers");
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > MAX_IDENTIFIERS)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "\"identifiers\" must list 1 to %d "
		    "identifiers", MAX_IDENTIFIERS);
	if ((p = mf_config_profile(a->cfg, conf->profile)) == NULL)
		return acme_fail(c, MF_ERR_PROFILE, "profile %s not configured", conf->profile);
	if ((rc = order_dates(c, p, body, &not_before, &not_after)) != 0)
		return rc;
	snprintf(key, sizeof(key), "order:%s", c->acct->id);
	if ((rc = acme_rate_check(a->sq, key, conf->orders_per_hour, c->now, &retry)) != 0) {
		c->r->retry_after = retry;
		return acme_fail(c, rc, "more than %u orders in the last hour", conf->orders_per_hour);
	}
	replaces = json_string_value(json_object_get(body, "replaces"));
	if (json_object_get(body, "replaces") != NULL) {
		int64_t n;

		if (replaces == NULL || acme_ari_parse(replaces, serial, sizeof(serial)) != 0)
			return acme_fail(c, MF_ERR_ACME_MALFORMED, "\"replaces\" is not a certID");
		if ((rc = acme_sq_count(a->sq, &n, "SELECT count(*) FROM acme_issued WHERE "
		    "serial IN (?, '00' || ?) AND account_id = ?", "sss", serial, serial,
		    c->acct->id)) != 0)
			return acme_fail(c, rc, "lookup failed");
		if (n == 0)
			return acme_fail(c, MF_ERR_ACME_MALFORMED, "\"replaces\" names no certificate "
			    "of this account");
		if ((rc = acme_sq_count(a->sq, &n, "SELECT count(*) FROM acme_issued WHERE "
		    "serial IN (?, '00' || ?) AND replaced_by IS NOT NULL", "ss", serial,
		    serial)) != 0)
			return acme_fail(c, rc, "lookup failed");
		if (n != 0)
			return acme_fail(c, MF_ERR_ACME_CONFLICT, "certificate already replaced");
	}
	if ((canon = json_array()) == NULL)
		return acme_fail(c, MF_ERR_NOMEM, "out of memory");
	json_array_foreach(ids, i, id) {
		if ((rc = ident_check(c, p, id, value, sizeof(value), &is_ip, &wildcard)) != 0)
			goto out;
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(json_object_get(json_array_get(canon, j),
			    "value")), value) == 0) {
				rc = acme_fail(c, MF_ERR_ACME_MALFORMED, "%s listed twice", value);
				goto out;
			}
		json_array_append_new(canon, json_pack("{s:s, s:s}", "type", is_ip ? "ip" : "dns",
		    "value", value));
	}
	if ((ids_text = json_dumps(canon, JSON_COMPACT)) == NULL ||
	    (rc = acme_random_id(order_id)) != 0) {
		rc = acme_fail(c, MF_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = mf_db_begin(a->db)) != 0) {
		rc = acme_fail(c, rc, "database busy");
		goto out;
	}
	in_tx = 1;
	rc = acme_sq_exec(a->sq, "INSERT INTO acme_orders(id, account_id, status, identifiers, "
	    "expires, replaces, created_at, not_before, not_after) VALUES (?, ?, 'pending', ?, ?, "
	    "?, ?, nullif(?, 0), nullif(?, 0))", "sssisiii", order_id, c->acct->id, ids_text,
	    c->now + conf->order_lifetime, replaces, c->now, not_before, not_after);
	json_array_foreach(canon, i, id) {
		const char *v = json_string_value(json_object_get(id, "value"));
		const char *t = json_string_value(json_object_get(id, "type"));

		wildcard = strncmp(v, "*.", 2) == 0;
		if (rc == 0)
			rc = acme_random_id(authz_id);
		if (rc == 0)
			rc = acme_sq_exec(a->sq, "INSERT INTO acme_authzs(id, order_id, pos, type, "
			    "value, wildcard, status, expires) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
			    "ssissii", authz_id, order_id, (int64_t)i, t, wildcard ? v + 2 : v,
			    (int64_t)wildcard, c->now + conf->order_lifetime);
		/* Wildcards only with dns-01; IP addresses never with dns-01 (RFC 8738 7). */
		if (rc == 0 && !wildcard && (conf->challenges & MF_ACME_HTTP01))
			rc = add_challenge(a, authz_id, "http-01");
		if (rc == 0 && !wildcard && (conf->challenges & MF_ACME_TLSALPN01))
			rc = add_challenge(a, authz_id, "tls-alpn-01");
		if (rc == 0 && strcmp(t, "dns") == 0 && (conf->challenges & MF_ACME_DNS01))
			rc = add_challenge(a, authz_id, "dns-01");
	}
	if (rc == 0)
		rc = acme_rate_add(a->sq, key, c->now);
	if (rc == 0)
		rc = mf_db_commit(a->db);
	if (rc != 0) {
		rc = acme_fail(c, rc, "cannot store the order");
		goto out;
	}
	in_tx = 0;
	if ((rc = order_json(c, order_id, &o, NULL, NULL)) != 0) {
		rc = acme_fail(c, rc, "cannot read the order back");
		goto out;
	}
	c->r->json = o;
	c->r->location = acme_url(a, "/order/%s", order_id);
	c->r->status = 201;
	mf_info("account=%s order=%s identifiers=%s msg=\"ACME order created\"", c->acct->id,
	    order_id, ids_text);
out:
	if (in_tx)
		mf_db_rollback(a->db);
	json_decref(canon);
	free(ids_text);
	return rc;
}

/* The notBefore/notAfter stored with an order; 0 where none was asked for. */
static int
order_dates_get(struct mf_acme *a, const char *order_id, int64_t *nb, int64_t *na)
{
	mf_sql_stmt *st = NULL;
	int rc;

	*nb = 0;
	*na = 0;
	if ((rc = acme_sq_prepare(a->sq, &st, "SELECT not_before, not_after FROM acme_orders "
	    "WHERE id = ?", "s", order_id)) != 0)
		return rc;
	if (mf_sql_step(st) != MF_SQL_ROW) {
		acme_sq_done(a->sq, st);
		return MF_ERR_NOTFOUND;
	}
	*nb = mf_sql_column_int64(st, 0);
	*na = mf_sql_column_int64(st, 1);
	acme_sq_done(a->sq, st);
	return 0;
}

static int
finalize(struct acme_ctx *c, const char *order_id)
{
	struct mf_acme *a = c->a;
	const char *csr_b64;
	unsigned char *der = NULL;
	size_t derlen, i, j, nnames = 0;
	X509_REQ *csr = NULL;
	unsigned char *cder = NULL;
	size_t clen = 0;
	json_t *o = NULL, *ids = NULL, *id;
	char status[16], **names = NULL, serial[2 * MF_SERIAL_MAX + 1], why[256], key[300];
	char requester[64];
	int64_t not_before, not_after;
	int rc, retry, in_tx = 0, processing = 0;

	if ((rc = order_json(c, order_id, &o, status, &ids)) != 0)
		return acme_fail(c, rc, "no such order");
	if (strcmp(status, "ready") != 0) {
		rc = acme_fail(c, MF_ERR_ACME_NOTREADY, "order is %s, not ready", status);
		goto out;
	}
	csr_b64 = c->jws->body ? json_string_value(json_object_get(c->jws->body, "csr")) : NULL;
	if (csr_b64 == NULL) {
		rc = acme_fail(c, MF_ERR_ACME_MALFORMED, "finalize needs \"csr\"");
		goto out;
	}
	if (mf_b64u_decode(csr_b64, &der, &derlen) != 0 || mf_csr_parse(der, derlen, &csr) != 0) {
		rc = acme_fail(c, MF_ERR_ACME_BADCSR, "CSR is not base64url DER PKCS#10");
		goto out;
	}
	if ((rc = acme_csr_names(csr, &names, &nnames)) != 0) {
		rc = acme_csr_refusal(a, csr, a->conf->profile, rc, why, sizeof(why));
		rc = acme_fail(c, rc, "%s", why);
		goto out;
	}
	/* 7.4: the CSR must ask for exactly the order's identifiers, no more, no fewer. */
	if (nnames != json_array_size(ids)) {
		rc = acme_fail(c, MF_ERR_ACME_BADCSR, "CSR has %zu names, the order %zu", nnames,
		    json_array_size(ids));
		goto out;
	}
	for (i = 0; i < nnames; i++) {
		int found = 0;

		json_array_foreach(ids, j, id)
			if (strcmp(json_string_value(json_object_get(id, "value")), names[i]) == 0)
				found = 1;
		if (!found) {
			rc = acme_fail(c, MF_ERR_ACME_BADCSR, "CSR name %s is not in the order",
			    names[i]);
			goto out;
		}
	}
	for (i = 0; i < nnames; i++) {
		snprintf(key, sizeof(key), "name:%s", names[i]);
		rc = acme_rate_check(a->sq, key, a->conf->certs_per_name_per_hour, c->now, &retry);
		if (rc != 0) {
			c->r->retry_after = retry;
			rc = acme_fail(c, rc, "more than %u certificates for %s in the last hour",
			    a->conf->certs_per_name_per_hour, names[i]);
			goto out;
		}
	}
	if ((rc = order_dates_get(a, order_id, &not_before, &not_after)) != 0) {
		rc = acme_fail(c, rc, "cannot read the order");
		goto out;
	}
	/*
	 * ready -> processing, guarded: of two finalizes of one order (on this
	 * node or another sharing the log) only one gets past here.
	 */
	if ((rc = acme_sq_exec(a->sq, "UPDATE acme_orders SET status = 'processing' WHERE id = ? "
	    "AND status = 'ready'", "s", order_id)) != 0) {
		rc = acme_fail(c, rc, "cannot update the order");
		goto out;
	}
	if (mf_sql_changes(a->sq->h) != 1) {
		rc = acme_fail(c, MF_ERR_ACME_NOTREADY, "order is being finalized");
		goto out;
	}
	processing = 1;
	/*
	 * Issue without the listener's lock, then open our transaction: the
	 * issuer (the signer, in mayflyd) writes the issuance log on its own
	 * connection and commits, with a full sync, before it answers. Other
	 * requests go on meanwhile, and finalizes of other orders share that
	 * commit. The order is processing, so nothing else finalizes it.
	 * Nothing of a->sq is held across the gap. If issuance or our commit
	 * below fails, the order goes back to ready; a certificate already
	 * logged then is not handed out.
	 */
	snprintf(requester, sizeof(requester), "acme:acct/%s", c->acct->id);
	pthread_mutex_unlock(&a->lock);
	rc = acme_ca_issue_at(a, csr, a->conf->profile, requester, not_after ?
	    not_after - not_before : 0, not_before, &cder, &clen, why, sizeof(why));
	pthread_mutex_lock(&a->lock);
	if (rc != 0) {
		rc = acme_fail(c, acme_ca_map_err(rc), "%s", why);
		goto out;
	}
	if ((rc = mf_db_begin(a->db)) != 0) {
		rc = acme_fail(c, rc, "database busy");
		goto out;
	}
	in_tx = 1;
	if ((rc = acme_der_serial(cder, clen, serial, sizeof(serial))) != 0)
		goto fail_db;
	rc = acme_sq_exec(a->sq, "INSERT INTO acme_issued(serial, account_id, order_id) "
	    "VALUES (?, ?, ?)", "sss", serial, c->acct->id, order_id);
	if (rc == 0)
		rc = acme_sq_exec(a->sq, "UPDATE acme_orders SET status = 'valid', cert_serial = ? "
		    "WHERE id = ?", "ss", serial, order_id);
	if (rc == 0)
		rc = acme_sq_exec(a->sq, "UPDATE acme_issued SET replaced_by = ? WHERE serial IN "
		    "(SELECT s.serial FROM acme_issued s, acme_orders o WHERE o.id = ? AND "
		    "o.replaces IS NOT NULL AND s.account_id = o.account_id AND s.replaced_by IS NULL "
		    "AND s.serial != ?)", "sss", serial, order_id, serial);
	for (i = 0; rc == 0 && i < nnames; i++) {
		snprintf(key, sizeof(key), "name:%s", names[i]);
		rc = acme_rate_add(a->sq, key, c->now);
	}
	/* The certificate leaves only after this commit: the log comes first. */
	if (rc == 0)
		rc = mf_db_commit(a->db);
fail_db:
	if (rc != 0) {
		rc = acme_fail(c, rc, "cannot record the certificate");
		goto out;
	}
	in_tx = 0;
	json_decref(o);
	o = NULL;
	if ((rc = order_json(c, order_id, &o, NULL, NULL)) != 0) {
		rc = acme_fail(c, rc, "cannot read the order back");
		goto out;
	}
	c->r->json = o;
	o = NULL;
	c->r->location = acme_url(a, "/order/%s", order_id);
	c->r->status = 200;
	mf_info("account=%s order=%s serial=%s msg=\"ACME certificate issued\"", c->acct->id,
	    order_id, serial);
out:
	if (in_tx)
		mf_db_rollback(a->db);
	if (rc != 0 && processing && acme_sq_exec(a->sq, "UPDATE acme_orders SET status = 'ready' "
	    "WHERE id = ? AND status = 'processing'", "s", order_id) != 0)
		mf_warn("order=%s msg=\"cannot set the order back to ready\"", order_id);
	json_decref(o);
	json_decref(ids);
	free(der);
	X509_REQ_free(csr);
	free(cder);
	acme_names_free(names, nnames);
	return rc;
}

int
acme_h_order(struct acme_ctx *c)
{
	char id[ACME_ID_LEN + 1];
	const char *slash = strchr(c->arg, '/');
	json_t *o;
	int rc;

	if (slash != NULL && strcmp(slash, "/finalize") != 0)
		return acme_fail(c, MF_ERR_NOTFOUND, "no such resource");
	if ((slash ? (size_t)(slash - c->arg) : strlen(c->arg)) != ACME_ID_LEN)
		return acme_fail(c, MF_ERR_NOTFOUND, "no such order");
	memcpy(id, c->arg, ACME_ID_LEN);
	id[ACME_ID_LEN] = '\0';
	if (slash != NULL)
		return finalize(c, id);
	if (c->jws->payload_len != 0)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "orders are read with POST-as-GET");
	if ((rc = order_json(c, id, &o, NULL, NULL)) != 0)
		return acme_fail(c, rc, "no such order");
	c->r->json = o;
	c->r->status = 200;
	return 0;
}

/* Checks that an authorisation belongs to the signer; fills its order id. */
static int
authz_owned(struct acme_ctx *c, const char *authz_id, char order_id[ACME_ID_LEN + 1])
{
	mf_sql_stmt *st;
	int rc;

	rc = acme_sq_prepare(c->a->sq, &st, "SELECT a.order_id FROM acme_authzs a JOIN "
	    "acme_orders o ON o.id = a.order_id WHERE a.id = ? AND o.account_id = ?", "ss",
	    authz_id, c->acct->id);
	if (rc != 0)
		return rc;
	rc = mf_sql_step(st) == MF_SQL_ROW ? col(st, 0, order_id, ACME_ID_LEN + 1) : -1;
	acme_sq_done(c->a->sq, st);
	return rc == 0 ? 0 : MF_ERR_NOTFOUND;
}

int
acme_h_authz(struct acme_ctx *c)
{
	char order_id[ACME_ID_LEN + 1];
	json_t *st, *az;
	int rc;

	if (authz_owned(c, c->arg, order_id) != 0)
		return acme_fail(c, MF_ERR_NOTFOUND, "no such authorization");
	if (c->jws->body != NULL && (st = json_object_get(c->jws->body, "status")) != NULL) {
		/* 7.5.2: a client may only deactivate. */
		if (!json_is_string(st) || strcmp(json_string_value(st), "deactivated") != 0)
			return acme_fail(c, MF_ERR_ACME_MALFORMED, "status may only be \"deactivated\"");
		if ((rc = acme_sq_exec(c->a->sq, "UPDATE acme_authzs SET status = 'deactivated' "
		    "WHERE id = ? AND status IN ('pending', 'valid')", "s", c->arg)) != 0)
			return acme_fail(c, rc, "cannot deactivate");
	}
	if ((rc = acme_order_refresh(c->a, order_id, c->now)) != 0 ||
	    (rc = authz_json(c->a, c->arg, &az)) != 0)
		return acme_fail(c, rc, "cannot read the authorization");
	c->r->json = az;
	c->r->status = 200;
	return 0;
}

int
acme_h_challenge(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	struct acme_chall_job job;
	mf_sql_stmt *st = NULL;
	char chall_status[16], authz_status[16];
	json_t *ch = NULL;
	char *up = NULL;
	int rc;

	memset(&job, 0, sizeof(job));
	rc = acme_sq_prepare(a->sq, &st, "SELECT c.id, c.type, c.token, c.status, c.authz_id, "
	    "a.order_id, a.type, a.value, a.status FROM acme_challenges c JOIN acme_authzs a ON "
	    "a.id = c.authz_id JOIN acme_orders o ON o.id = a.order_id "
	    "WHERE c.id = ? AND o.account_id = ?", "ss", c->arg, c->acct->id);
	if (rc != 0)
		return acme_fail(c, rc, "lookup failed");
	if (mf_sql_step(st) != MF_SQL_ROW || col(st, 0, job.chall_id, sizeof(job.chall_id)) ||
	    col(st, 1, job.type, sizeof(job.type)) || col(st, 2, job.token, sizeof(job.token)) ||
	    col(st, 3, chall_status, sizeof(chall_status)) ||
	    col(st, 4, job.authz_id, sizeof(job.authz_id)) ||
	    col(st, 5, job.order_id, sizeof(job.order_id)) ||
	    col(st, 6, job.ident_type, sizeof(job.ident_type)) ||
	    col(st, 7, job.value, sizeof(job.value)) ||
	    col(st, 8, authz_status, sizeof(authz_status))) {
		acme_sq_done(a->sq, st);
		return acme_fail(c, MF_ERR_NOTFOUND, "no such challenge");
	}
	acme_sq_done(a->sq, st);
	/*
	 * 7.5.1: an empty object asks the server to check; POST-as-GET only
	 * reads. A second request while a check runs changes nothing.
	 */
	if (c->jws->body != NULL && strcmp(chall_status, "pending") == 0 &&
	    strcmp(authz_status, "pending") == 0) {
		snprintf(job.keyauth, sizeof(job.keyauth), "%s.%s", job.token, c->acct->thumbprint);
		snprintf(job.account_id, sizeof(job.account_id), "%s", c->acct->id);
		rc = acme_sq_exec(a->sq, "UPDATE acme_challenges SET status = 'processing' WHERE "
		    "id = ? AND status = 'pending'", "s", job.chall_id);
		if (rc == 0 && (rc = acme_chall_start(a, &job)) != 0)
			acme_sq_exec(a->sq, "UPDATE acme_challenges SET status = 'pending' WHERE id = ?",
			    "s", job.chall_id);
		if (rc == MF_ERR_ACME_RATELIMIT) {
			c->r->retry_after = (int)a->conf->fetch_timeout;
			return acme_fail(c, rc, "too many challenge checks running (at most %u for "
			    "an account); retry later", a->conf->checks_per_account);
		}
		if (rc != 0)
			return acme_fail(c, rc, "cannot start the challenge check");
		/*
		 * A check that ends quickly is answered with its result, which
		 * spares the client a round of polling; a slow one is answered
		 * "processing" after ACME_CHALL_WAIT_MS. The listener's lock is
		 * given up meanwhile (the check needs it to record its result),
		 * and nothing of a->sq is held across the gap.
		 */
		pthread_mutex_unlock(&a->lock);
		acme_chall_wait(a, job.chall_id, ACME_CHALL_WAIT_MS);
		pthread_mutex_lock(&a->lock);
	}
	rc = acme_sq_prepare(a->sq, &st, "SELECT id, type, token, status, validated, error "
	    "FROM acme_challenges WHERE id = ?", "s", job.chall_id);
	if (rc != 0)
		return acme_fail(c, rc, "lookup failed");
	if (mf_sql_step(st) == MF_SQL_ROW)
		ch = challenge_json(a, st);
	acme_sq_done(a->sq, st);
	if (ch == NULL || (up = acme_url(a, "/authz/%s", job.authz_id)) == NULL) {
		json_decref(ch);
		return acme_fail(c, MF_ERR_NOMEM, "out of memory");
	}
	acme_link(c, "<%s>;rel=\"up\"", up);
	free(up);
	c->r->json = ch;
	c->r->status = 200;
	return 0;
}
