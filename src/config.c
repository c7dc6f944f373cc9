/*
 * config.c: reads mayfly.yaml (see config.h and mayfly.yaml(5)).
 *
 * The file is loaded with libyaml's document API, then walked with one
 * table per mapping. Each table lists its keys in the order they are
 * processed, which is the order of dependencies (roots before the
 * intermediates that name them, the hard cap before the profiles it bounds),
 * not the order in the file. Before a mapping's values are looked at, every
 * key in it is checked against the table, so a misspelt key is reported as
 * such and never silently falls back to a default.
 *
 * A CA's config is a security boundary: anything doubtful is refused with
 * file:line:column, rather than guessed at.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "config.h"
#include "mferr.h"
#include "util.h"

/* Limits on the file itself, so a mistaken path cannot make us read a disk image. */
#define CFG_MAX_BYTES	(1024 * 1024)

/* libmicrohttpd and the kernel handle far fewer; anything larger is a typo. */
#define CFG_MAX_CONN	1000000
#define CFG_MAX_BODY	(64u * 1024 * 1024)
#define CFG_MAX_BACKDATE	(5 * 60)

struct cfg {
	yaml_document_t doc;
	const char *path;
	char *err;
	size_t errlen;
	struct mf_config *c;
};

/* ---- errors and node access ---------------------------------------------------- */

static int
cfg_error(struct cfg *x, int code, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Formats "file:line:column: message"; libyaml counts from 0, people from 1. */
static int
cfg_error(struct cfg *x, int code, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n != NULL)
		snprintf(x->err, x->errlen, "%s:%lu:%lu: %s", x->path,
		    (unsigned long)n->start_mark.line + 1, (unsigned long)n->start_mark.column + 1,
		    msg);
	else
		snprintf(x->err, x->errlen, "%s: %s", x->path, msg);
	return code;
}

static yaml_node_t *
cfg_node(struct cfg *x, int idx)
{
	return yaml_document_get_node(&x->doc, idx);
}

static const char *
cfg_keyname(struct cfg *x, const yaml_node_pair_t *p)
{
	yaml_node_t *k = cfg_node(x, p->key);

	return k != NULL && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
}

/* The value of key in a mapping node, or NULL. */
static yaml_node_t *
cfg_find(struct cfg *x, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
		if (strcmp(cfg_keyname(x, p), key) == 0)
			return cfg_node(x, p->value);
	return NULL;
}

/* A scalar with a value; YAML's null (empty, ~, null) is refused. */
static int
cfg_scalar(struct cfg *x, const yaml_node_t *v, const char *key, const char **out)
{
	const char *s;

	if (v->type != YAML_SCALAR_NODE)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "'%s' must be a single value, not a %s",
		    key, v->type == YAML_MAPPING_NODE ? "mapping" : "list");
	s = (const char *)v->data.scalar.value;
	if (strlen(s) != v->data.scalar.length)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "'%s' contains a NUL byte", key);
	if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0))
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "'%s' has no value", key);
	if (*s == '\0')
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "'%s' is empty", key);
	*out = s;
	return MF_OK;
}

/* ---- the table-driven walk ------------------------------------------------------- */

/* T_DB: a file path (SQLite) or a postgresql:// URI, which is kept as written. */
enum cfg_type { T_STR, T_PATH, T_DB, T_BOOL, T_UINT, T_SIZE, T_DUR, T_SUB, T_FN };

struct cfg_section;
typedef int (*cfg_fn)(struct cfg *x, const yaml_node_t *v, void *obj, const char *key);

struct cfg_key {
	const char *name;
	enum cfg_type type;
	int required;
	size_t off;			/* field in obj for the simple types */
	int64_t min, max;		/* T_UINT, T_SIZE, T_DUR; max 0: no limit */
	const struct cfg_section *sub;	/* T_SUB: same obj, nested mapping */
	cfg_fn fn;			/* T_FN */
};

struct cfg_section {
	const char *name;		/* for messages: "daemon.ocsp" */
	const struct cfg_key *keys;	/* ends with a NULL name */
	/* Checks across keys once all are read; map is NULL if the section is absent. */
	int (*post)(struct cfg *x, const yaml_node_t *map, void *obj);
};

static int cfg_section_walk(struct cfg *x, const yaml_node_t *map,
    const struct cfg_section *sec, void *obj);

/* Durations: as util.h, plus a literal zero where the key allows 0. */
static int
cfg_duration(const char *s, int allow_zero, int64_t *out)
{
	if (allow_zero && (strcmp(s, "0") == 0 || (s[0] == '0' && s[1] != '\0' &&
	    strchr("smhdwy", s[1]) != NULL && s[2] == '\0'))) {
		*out = 0;
		return MF_OK;
	}
	return mf_duration_parse(s, out);
}

static int
cfg_simple(struct cfg *x, const yaml_node_t *v, const struct cfg_key *k, void *obj)
{
	char *field = (char *)obj + k->off;
	const char *s;
	char buf1[32], buf2[32];
	unsigned long long n;
	int64_t d;
	char *end, *p;
	int rc;

	if ((rc = cfg_scalar(x, v, k->name, &s)) != MF_OK)
		return rc;
	switch (k->type) {
	case T_STR:
	case T_PATH:
	case T_DB:
		if (k->type == T_DB && (strncmp(s, "postgresql://", 13) == 0 ||
		    strncmp(s, "postgres://", 11) == 0))
			p = strdup(s);
		else
			p = k->type == T_STR ? strdup(s) : mf_path_join(x->c->dir, s);
		if (p == NULL)
			return MF_ERR_NOMEM;
		free(*(char **)field);
		*(char **)field = p;
		return MF_OK;
	case T_BOOL:
		if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
			*(int *)field = 1;
		else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
		    strcmp(s, "FALSE") == 0)
			*(int *)field = 0;
		else
			return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
			    "'%s' must be true or false, not '%s'", k->name, s);
		return MF_OK;
	case T_UINT:
	case T_SIZE:
		errno = 0;
		n = isdigit((unsigned char)s[0]) ? strtoull(s, &end, 10) : 0;
		if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno != 0)
			return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
			    "'%s' must be a whole number, not '%s'", k->name, s);
		if (n < (unsigned long long)k->min || (k->max != 0 && n > (unsigned long long)k->max))
			return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
			    "'%s' must be between %lld and %lld, not %s", k->name,
			    (long long)k->min, (long long)k->max, s);
		if (k->type == T_UINT)
			*(unsigned *)field = (unsigned)n;
		else
			*(size_t *)field = (size_t)n;
		return MF_OK;
	case T_DUR:
		if (cfg_duration(s, k->min == 0, &d) != MF_OK)
			return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
			    "'%s' is not a duration: '%s' (write e.g. 24h, 90m, 1h30m)", k->name, s);
		if (d < k->min)
			return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "'%s' must be at least %s",
			    k->name, mf_duration_fmt(k->min, buf1, sizeof(buf1)));
		if (k->max != 0 && d > k->max)
			return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
			    "'%s' %s is above its limit of %s", k->name,
			    mf_duration_fmt(d, buf1, sizeof(buf1)),
			    mf_duration_fmt(k->max, buf2, sizeof(buf2)));
		*(int64_t *)field = d;
		return MF_OK;
	default:
		return MF_ERR_INTERNAL;
	}
}

/*
 * Checks every key of map against sec (unknown keys, duplicates), then
 * handles the keys in table order and reports required ones that are absent.
 */
static int
cfg_section_walk(struct cfg *x, const yaml_node_t *map, const struct cfg_section *sec,
    void *obj)
{
	const struct cfg_key *k;
	yaml_node_pair_t *p, *q;
	yaml_node_t *kn, *v;
	int rc;

	if (map != NULL) {
		if (map->type != YAML_MAPPING_NODE)
			return cfg_error(x, MF_ERR_CONFIG_VALUE, map,
			    "'%s' must be a mapping of keys to values", sec->name);
		for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
			kn = cfg_node(x, p->key);
			if (kn == NULL || kn->type != YAML_SCALAR_NODE)
				return cfg_error(x, MF_ERR_CONFIG_KEY, kn,
				    "keys in '%s' must be plain words", sec->name);
			for (k = sec->keys; k->name != NULL; k++)
				if (strcmp(k->name, (const char *)kn->data.scalar.value) == 0)
					break;
			if (k->name == NULL)
				return cfg_error(x, MF_ERR_CONFIG_KEY, kn, "unknown key '%s' in %s",
				    (const char *)kn->data.scalar.value, sec->name);
			/* YAML leaves duplicates to the application; a second value must not win silently. */
			for (q = map->data.mapping.pairs.start; q < p; q++)
				if (strcmp(cfg_keyname(x, q), k->name) == 0)
					return cfg_error(x, MF_ERR_CONFIG_KEY, kn,
					    "duplicate key '%s' in %s", k->name, sec->name);
		}
	}
	for (k = sec->keys; k->name != NULL; k++) {
		if ((v = cfg_find(x, map, k->name)) == NULL) {
			if (k->required)
				return cfg_error(x, MF_ERR_CONFIG_MISSING, map,
				    "required key '%s' missing in %s", k->name, sec->name);
			continue;
		}
		if (k->type == T_SUB)
			rc = cfg_section_walk(x, v, k->sub, obj);
		else if (k->type == T_FN)
			rc = k->fn(x, v, obj, k->name);
		else
			rc = cfg_simple(x, v, k, obj);
		if (rc != MF_OK)
			return rc;
	}
	/* The defaults of an absent section agree with each other by construction. */
	return sec->post != NULL ? sec->post(x, map, obj) : MF_OK;
}

/* Applies fn to each element of a list (a single scalar counts as a list of one). */
static int
cfg_each(struct cfg *x, const yaml_node_t *v, const char *key,
    int (*fn)(struct cfg *, const yaml_node_t *, const char *, void *), void *arg)
{
	yaml_node_item_t *it;
	int rc;

	if (v->type == YAML_SCALAR_NODE)
		return fn(x, v, key, arg);
	if (v->type != YAML_SEQUENCE_NODE)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "'%s' must be a list", key);
	if (v->data.sequence.items.start == v->data.sequence.items.top)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "'%s' is an empty list", key);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
		if ((rc = fn(x, cfg_node(x, *it), key, arg)) != MF_OK)
			return rc;
	return MF_OK;
}

/* Appends a copy of s to a (char **, size_t) array. */
static int
cfg_strv_add(char ***v, size_t *n, char *s)
{
	char **nv;

	if (s == NULL)
		return MF_ERR_NOMEM;
	if ((nv = realloc(*v, (*n + 1) * sizeof(**v))) == NULL) {
		free(s);
		return MF_ERR_NOMEM;
	}
	nv[(*n)++] = s;
	*v = nv;
	return MF_OK;
}

/* ---- pkcs11, urls ---------------------------------------------------------------- */

static int
cfg_pin_source(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_config *c = obj;
	const char *s, *p;
	char *path = NULL;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	free(c->pkcs11_pin_source);
	c->pkcs11_pin_source = NULL;
	if (strncmp(s, "file:", 5) == 0 && s[5] != '\0') {
		if ((path = mf_path_join(c->dir, s + 5)) == NULL)
			return MF_ERR_NOMEM;
		rc = asprintf(&c->pkcs11_pin_source, "file:%s", path) < 0 ? MF_ERR_NOMEM : MF_OK;
		if (rc != MF_OK)
			c->pkcs11_pin_source = NULL;
		free(path);
		return rc;
	}
	if (strncmp(s, "env:", 4) == 0 && (isalpha((unsigned char)s[4]) || s[4] == '_')) {
		for (p = s + 4; *p != '\0'; p++)
			if (!isalnum((unsigned char)*p) && *p != '_')
				break;
		if (*p == '\0')
			return (c->pkcs11_pin_source = strdup(s)) == NULL ? MF_ERR_NOMEM : MF_OK;
	}
	return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
	    "'%s' must be file:PATH or env:NAME (never the PIN itself)", key);
}

static const struct cfg_key cfg_pkcs11_keys[] = {
	{ "module", T_PATH, 1, offsetof(struct mf_config, pkcs11_module), 0, 0, NULL, NULL },
	{ "pin-source", T_FN, 1, 0, 0, 0, NULL, cfg_pin_source },
	{ "softhsm2-conf", T_PATH, 0, offsetof(struct mf_config, softhsm2_conf), 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_pkcs11 = { "pkcs11", cfg_pkcs11_keys, NULL };

static int
cfg_url_base(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_config *c = obj;
	const char *s, *host, *p;
	size_t n;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "'%s' must start with http:// or https://", key);
	/* It goes into every certificate's AIA and CRLDP: keep it to plain URL characters. */
	for (p = s; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p) || strchr("\"<>\\^`{|}", *p) != NULL)
			return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
			    "'%s' contains a character not allowed in a URL", key);
	if (*host == '\0' || *host == '/' || strchr(s, '?') != NULL || strchr(s, '#') != NULL)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "'%s' needs a host and no query or fragment", key);
	if ((c->url_base = strdup(s)) == NULL)
		return MF_ERR_NOMEM;
	/* Paths are appended as "/ocsp", so drop trailing slashes. */
	n = strlen(c->url_base);
	while (n > 0 && c->url_base[n - 1] == '/')
		c->url_base[--n] = '\0';
	return MF_OK;
}

static const struct cfg_key cfg_urls_keys[] = {
	{ "base", T_FN, 1, 0, 0, 0, NULL, cfg_url_base },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_urls = { "urls", cfg_urls_keys, NULL };

/* ---- roots and intermediates --------------------------------------------------- */

/* Names appear in URLs (<base>/crl/<name>.crl) and file names. */
static int
cfg_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
			return 0;
	return 1;
}

static int
cfg_ca_name(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_ca_conf *ca = obj;
	const char *s;
	size_t i;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (!cfg_name_ok(s))
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "'%s' must be letters, digits, '-', '_' or '.' (it is used in URLs)", key);
	/* Roots and intermediates share one name space: URLs and the DB key on it. */
	for (i = 0; i < x->c->nroots; i++)
		if (x->c->roots[i].name != NULL && strcmp(x->c->roots[i].name, s) == 0)
			return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "CA name '%s' used twice", s);
	for (i = 0; i < x->c->nintermediates; i++)
		if (x->c->intermediates[i].name != NULL &&
		    strcmp(x->c->intermediates[i].name, s) == 0)
			return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "CA name '%s' used twice", s);
	return (ca->name = strdup(s)) == NULL ? MF_ERR_NOMEM : MF_OK;
}

static int
cfg_key_uri(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_ca_conf *ca = obj;
	const char *s;
	char *path;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (strncmp(s, "pkcs11:", 7) == 0 && s[7] != '\0')
		return (ca->key = strdup(s)) == NULL ? MF_ERR_NOMEM : MF_OK;
	if (strncmp(s, "file:", 5) != 0 || s[5] == '\0')
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "'%s' must be a key URI: file:PATH or pkcs11:token=...;object=...", key);
	if ((path = mf_path_join(x->c->dir, s + 5)) == NULL)
		return MF_ERR_NOMEM;
	rc = asprintf(&ca->key, "file:%s", path) < 0 ? MF_ERR_NOMEM : MF_OK;
	if (rc != MF_OK)
		ca->key = NULL;
	free(path);
	return rc;
}

static int
cfg_ca_root(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_ca_conf *ca = obj;
	const char *s;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	/* Roots are read first, so the reference can be checked right here. */
	if (mf_config_root(x->c, s) == NULL)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "'%s' names no root in roots: '%s'",
		    key, s);
	return (ca->root = strdup(s)) == NULL ? MF_ERR_NOMEM : MF_OK;
}

static int
cfg_cross_one(struct cfg *x, const yaml_node_t *v, const char *key, void *arg)
{
	struct mf_ca_conf *ca = arg;
	const char *s;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	return cfg_strv_add(&ca->cross, &ca->ncross, mf_path_join(x->c->dir, s));
}

static int
cfg_ca_cross(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	return cfg_each(x, v, key, cfg_cross_one, obj);
}

static const struct cfg_key cfg_root_keys[] = {
	{ "name", T_FN, 1, 0, 0, 0, NULL, cfg_ca_name },
	{ "key", T_FN, 1, 0, 0, 0, NULL, cfg_key_uri },
	{ "cert", T_PATH, 1, offsetof(struct mf_ca_conf, cert), 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_root = { "a root", cfg_root_keys, NULL };

static const struct cfg_key cfg_inter_keys[] = {
	{ "name", T_FN, 1, 0, 0, 0, NULL, cfg_ca_name },
	{ "root", T_FN, 0, 0, 0, 0, NULL, cfg_ca_root },
	{ "key", T_FN, 1, 0, 0, 0, NULL, cfg_key_uri },
	{ "cert", T_PATH, 1, offsetof(struct mf_ca_conf, cert), 0, 0, NULL, NULL },
	{ "cross", T_FN, 0, 0, 0, 0, NULL, cfg_ca_cross },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_inter = { "an intermediate", cfg_inter_keys, NULL };

static int
cfg_cas(struct cfg *x, const yaml_node_t *v, const char *key, int inter)
{
	struct mf_config *c = x->c;
	struct mf_ca_conf **arr = inter ? &c->intermediates : &c->roots;
	size_t *n = inter ? &c->nintermediates : &c->nroots;
	struct mf_ca_conf *na;
	yaml_node_item_t *it;
	int rc;

	if (v->type != YAML_SEQUENCE_NODE)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v, "'%s' must be a list of CAs", key);
	if (v->data.sequence.items.start == v->data.sequence.items.top)
		return cfg_error(x, MF_ERR_CONFIG_MISSING, v, "'%s' lists no CA", key);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		if ((na = realloc(*arr, (*n + 1) * sizeof(**arr))) == NULL)
			return MF_ERR_NOMEM;
		*arr = na;
		memset(&na[*n], 0, sizeof(na[*n]));
		(*n)++;
		rc = cfg_section_walk(x, cfg_node(x, *it), inter ? &cfg_inter : &cfg_root,
		    &na[*n - 1]);
		if (rc != MF_OK)
			return rc;
		/* An intermediate without "root:" hangs off the first root. */
		if (inter && na[*n - 1].root == NULL &&
		    (na[*n - 1].root = strdup(c->roots[0].name)) == NULL)
			return MF_ERR_NOMEM;
	}
	return MF_OK;
}

static int
cfg_roots(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	(void)obj;
	return cfg_cas(x, v, key, 0);
}

static int
cfg_intermediates(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	(void)obj;
	return cfg_cas(x, v, key, 1);
}

/* ---- issuance -------------------------------------------------------------------- */

static int
cfg_active(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_config *c = obj;
	const char *s;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (mf_config_intermediate(c, s) == NULL)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "'%s' names no intermediate in intermediates: '%s'", key, s);
	free(c->active_intermediate);
	return (c->active_intermediate = strdup(s)) == NULL ? MF_ERR_NOMEM : MF_OK;
}

static const struct cfg_key cfg_issuance_keys[] = {
	{ "active", T_FN, 0, 0, 0, 0, NULL, cfg_active },
	{ "hard-cap", T_DUR, 0, offsetof(struct mf_config, hard_cap), 1, MF_HARD_CAP_MAX, NULL,
	    NULL },
	{ "backdate", T_DUR, 0, offsetof(struct mf_config, backdate), 0, CFG_MAX_BACKDATE, NULL,
	    NULL },
	{ "forward-horizon", T_DUR, 0, offsetof(struct mf_config, forward_horizon), 0,
	    MF_FORWARD_HORIZON_MAX, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_issuance = { "issuance", cfg_issuance_keys, NULL };

/* ---- profiles -------------------------------------------------------------------- */

static int
cfg_key_type_one(struct cfg *x, const yaml_node_t *v, const char *key, void *arg)
{
	static const struct { const char *name; unsigned bit; } kt[] = {
		{ "ec-p256", MF_KT_EC_P256 }, { "ec-p384", MF_KT_EC_P384 },
		{ "rsa", MF_KT_RSA }, { "ed25519", MF_KT_ED25519 },
	};
	unsigned *mask = arg;
	const char *s;
	size_t i;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	for (i = 0; i < sizeof(kt) / sizeof(kt[0]); i++)
		if (strcmp(s, kt[i].name) == 0) {
			*mask |= kt[i].bit;
			return MF_OK;
		}
	return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
	    "unknown key type '%s' (use ec-p256, ec-p384, rsa, ed25519)", s);
}

static int
cfg_key_types(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_profile *p = obj;

	p->key_types = 0;
	return cfg_each(x, v, key, cfg_key_type_one, &p->key_types);
}

static int
cfg_eku_one(struct cfg *x, const yaml_node_t *v, const char *key, void *arg)
{
	unsigned *mask = arg;
	const char *s;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (strcmp(s, "server-auth") == 0)
		*mask |= MF_EKU_SERVER;
	else if (strcmp(s, "client-auth") == 0)
		*mask |= MF_EKU_CLIENT;
	else
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "unknown extended key usage '%s' (use server-auth, client-auth)", s);
	return MF_OK;
}

static int
cfg_eku(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_profile *p = obj;

	p->eku = 0;
	return cfg_each(x, v, key, cfg_eku_one, &p->eku);
}

/*
 * "host.example.com" or ".example.com" (see policy.h). Stored in lower
 * case. Wildcards are not patterns: a profile allows them with wildcard: true.
 */
static int
cfg_dns_one(struct cfg *x, const yaml_node_t *v, const char *key, void *arg)
{
	struct mf_profile *p = arg;
	const char *s, *q;
	size_t label = 0, i;
	char *low;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	q = s[0] == '.' ? s + 1 : s;
	if (strlen(q) == 0 || strlen(q) > 253)
		goto bad;
	for (; *q != '\0'; q++) {
		if (*q == '.') {
			if (label == 0 || q[-1] == '-')
				goto bad;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*q) && !(*q == '-' && label > 0))
			goto bad;
		if (++label > 63)
			goto bad;
	}
	if (label == 0 || q[-1] == '-')
		goto bad;	/* empty last label: a trailing dot */
	if ((low = strdup(s)) == NULL)
		return MF_ERR_NOMEM;
	for (i = 0; low[i] != '\0'; i++)
		low[i] = (char)tolower((unsigned char)low[i]);
	return cfg_strv_add(&p->dns, &p->ndns, low);
bad:
	return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
	    "'%s' is not a DNS name or .suffix pattern%s", s,
	    strchr(s, '*') != NULL ? " (allow wildcards with wildcard: true)" : "");
}

static int
cfg_dns(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	return cfg_each(x, v, key, cfg_dns_one, obj);
}

/* "192.0.2.0/24" or "2001:db8::/32"; the host bits must be zero. */
static int
cfg_cidr(const char *s, struct mf_iprange *r, int *hostbits)
{
	char addr[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = strchr(s, '/');
	unsigned long prefix;
	unsigned max, i;

	*hostbits = 0;
	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr) || slash == s ||
	    !isdigit((unsigned char)slash[1]))
		return -1;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || errno != 0 || strlen(slash + 1) > 3)
		return -1;
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, addr, r->addr) == 1) {
		r->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, r->addr) == 1) {
		r->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	if (prefix > max)
		return -1;
	r->prefix = (unsigned)prefix;
	for (i = r->prefix; i < max; i++)
		if (r->addr[i / 8] & (0x80u >> (i % 8))) {
			*hostbits = 1;
			return -1;
		}
	return 0;
}

static int
cfg_ip_one(struct cfg *x, const yaml_node_t *v, const char *key, void *arg)
{
	struct mf_profile *p = arg;
	struct mf_iprange r, *na;
	const char *s;
	int rc, hostbits;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (cfg_cidr(s, &r, &hostbits) != 0)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v, hostbits ?
		    "'%s' has bits set after the prefix length (write the network address)" :
		    "'%s' is not an address range like 192.0.2.0/24 or 2001:db8::/32", s);
	if ((na = realloc(p->ip, (p->nip + 1) * sizeof(*na))) == NULL)
		return MF_ERR_NOMEM;
	p->ip = na;
	p->ip[p->nip++] = r;
	return MF_OK;
}

static int
cfg_ip(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	return cfg_each(x, v, key, cfg_ip_one, obj);
}

/* Lifetimes left out follow the hard cap; given ones must fit under it. */
static int
cfg_profile_post(struct cfg *x, const yaml_node_t *map, void *obj)
{
	struct mf_profile *p = obj;
	char b1[32], b2[32];

	if (p->max_lifetime == 0)
		p->max_lifetime = x->c->hard_cap;
	else if (p->max_lifetime > x->c->hard_cap)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, cfg_find(x, map, "max-lifetime"),
		    "profile %s: max-lifetime %s is above the hard cap of %s", p->name,
		    mf_duration_fmt(p->max_lifetime, b1, sizeof(b1)),
		    mf_duration_fmt(x->c->hard_cap, b2, sizeof(b2)));
	if (p->default_lifetime == 0)
		p->default_lifetime = p->max_lifetime;
	else if (p->default_lifetime > p->max_lifetime)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, cfg_find(x, map, "default-lifetime"),
		    "profile %s: default-lifetime %s is above its max-lifetime of %s", p->name,
		    mf_duration_fmt(p->default_lifetime, b1, sizeof(b1)),
		    mf_duration_fmt(p->max_lifetime, b2, sizeof(b2)));
	if (p->key_types == 0 || p->eku == 0)
		return MF_ERR_INTERNAL;	/* empty lists are refused by cfg_each */
	return MF_OK;
}

static const struct cfg_key cfg_profile_keys[] = {
	{ "key-types", T_FN, 0, 0, 0, 0, NULL, cfg_key_types },
	{ "rsa-min-bits", T_UINT, 0, offsetof(struct mf_profile, rsa_min_bits), 2048, 16384,
	    NULL, NULL },
	{ "dns", T_FN, 0, 0, 0, 0, NULL, cfg_dns },
	{ "wildcard", T_BOOL, 0, offsetof(struct mf_profile, wildcard), 0, 0, NULL, NULL },
	{ "ip", T_FN, 0, 0, 0, 0, NULL, cfg_ip },
	{ "eku", T_FN, 0, 0, 0, 0, NULL, cfg_eku },
	{ "must-staple", T_BOOL, 0, offsetof(struct mf_profile, must_staple), 0, 0, NULL, NULL },
	{ "default-lifetime", T_DUR, 0, offsetof(struct mf_profile, default_lifetime), 1, 0,
	    NULL, NULL },
	{ "max-lifetime", T_DUR, 0, offsetof(struct mf_profile, max_lifetime), 1, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_profile = { "a profile", cfg_profile_keys,
	cfg_profile_post };

static int
cfg_profile_init(struct mf_profile *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	if ((p->name = strdup(name)) == NULL)
		return MF_ERR_NOMEM;
	p->key_types = MF_KT_EC_P256 | MF_KT_EC_P384 | MF_KT_RSA | MF_KT_ED25519;
	p->rsa_min_bits = 2048;
	p->eku = strcmp(name, "client") == 0 ? MF_EKU_CLIENT : MF_EKU_SERVER;
	return MF_OK;	/* lifetimes are settled in cfg_profile_post */
}

static int
cfg_profiles(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_config *c = obj;
	struct mf_profile *np;
	yaml_node_pair_t *p, *q;
	yaml_node_t *kn;
	const char *name;
	int rc;

	if (v->type != YAML_MAPPING_NODE)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "'%s' must map profile names to their settings", key);
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		kn = cfg_node(x, p->key);
		if (kn == NULL || kn->type != YAML_SCALAR_NODE ||
		    !cfg_name_ok((const char *)kn->data.scalar.value))
			return cfg_error(x, MF_ERR_CONFIG_VALUE, kn,
			    "profile names must be letters, digits, '-', '_' or '.'");
		name = (const char *)kn->data.scalar.value;
		for (q = v->data.mapping.pairs.start; q < p; q++)
			if (strcmp(cfg_keyname(x, q), name) == 0)
				return cfg_error(x, MF_ERR_CONFIG_KEY, kn,
				    "duplicate key '%s' in profiles", name);
		if ((np = realloc(c->profiles, (c->nprofiles + 1) * sizeof(*np))) == NULL)
			return MF_ERR_NOMEM;
		c->profiles = np;
		if ((rc = cfg_profile_init(&np[c->nprofiles], name)) != MF_OK)
			return rc;
		c->nprofiles++;
		if ((rc = cfg_section_walk(x, cfg_node(x, p->value), &cfg_profile,
		    &np[c->nprofiles - 1])) != MF_OK)
			return rc;
	}
	return MF_OK;
}

/* ---- daemon ---------------------------------------------------------------------- */

/* "127.0.0.1:8080", "localhost:8080", "[::1]:8443". */
static int
cfg_listen_one(struct cfg *x, const yaml_node_t *v, const char *key, void *arg)
{
	struct mf_config *c = arg;
	struct mf_listen *nl;
	unsigned char buf[16];
	const char *s, *colon, *p;
	char *host = NULL, *end;
	unsigned long port;
	size_t hl;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL || p[1] != ':')
			goto bad;
		colon = p + 1;
		hl = (size_t)(p - s - 1);
		if ((host = strndup(s + 1, hl)) == NULL)
			return MF_ERR_NOMEM;
		if (inet_pton(AF_INET6, host, buf) != 1)
			goto bad;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || colon == s || memchr(s, ':',
		    (size_t)(colon - s)) != NULL)
			goto bad;	/* IPv6 needs brackets: [::1]:8080 */
		if ((host = strndup(s, (size_t)(colon - s))) == NULL)
			return MF_ERR_NOMEM;
		for (p = host; *p != '\0'; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				goto bad;
	}
	/* Port 0: the kernel picks one; mayflyd logs the port it got. */
	if (!isdigit((unsigned char)colon[1]))
		goto bad;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (port > 65535 || *end != '\0' || errno != 0)
		goto bad;
	if ((nl = realloc(c->listen, (c->nlisten + 1) * sizeof(*nl))) == NULL) {
		free(host);
		return MF_ERR_NOMEM;
	}
	c->listen = nl;
	nl[c->nlisten].host = host;
	nl[c->nlisten].port = (unsigned)port;
	c->nlisten++;
	return MF_OK;
bad:
	free(host);
	return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
	    "'%s' is not host:port or [IPv6]:port with a port 0-65535", s);
}

static int
cfg_listen(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	return cfg_each(x, v, key, cfg_listen_one, obj);
}

static int
cfg_signer(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_config *c = obj;
	const char *s;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (strcmp(s, "delegated") == 0)
		c->ocsp_delegated = 1;
	else if (strcmp(s, "issuer") == 0)
		c->ocsp_delegated = 0;
	else
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "'%s' must be delegated or issuer, not '%s'", key, s);
	return MF_OK;
}

/* A response must not outlive the certificate of the responder that signed it. */
static int
cfg_ocsp_post(struct cfg *x, const yaml_node_t *map, void *obj)
{
	struct mf_config *c = obj;

	if (c->ocsp_delegated && c->ocsp_validity > c->ocsp_responder_lifetime)
		return cfg_error(x, MF_ERR_CONFIG_VALUE,
		    map != NULL ? cfg_find(x, map, "validity") : NULL,
		    "daemon.ocsp: validity is longer than responder-lifetime");
	return MF_OK;
}

/* A CRL rebuilt less often than it expires leaves clients without a valid one. */
static int
cfg_crl_post(struct cfg *x, const yaml_node_t *map, void *obj)
{
	struct mf_config *c = obj;
	const yaml_node_t *n = NULL;

	if (c->crl_interval >= c->crl_validity) {
		if (map != NULL && (n = cfg_find(x, map, "interval")) == NULL)
			n = cfg_find(x, map, "validity");
		return cfg_error(x, MF_ERR_CONFIG_VALUE, n,
		    "daemon.crl: interval must be shorter than validity");
	}
	return MF_OK;
}

static int
cfg_daemon_post(struct cfg *x, const yaml_node_t *map, void *obj)
{
	struct mf_config *c = obj;

	if (c->per_ip_connections > c->max_connections)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, cfg_find(x, map, "per-ip-connections"),
		    "daemon: per-ip-connections is above max-connections");
	return MF_OK;
}

static const struct cfg_key cfg_ocsp_keys[] = {
	{ "validity", T_DUR, 0, offsetof(struct mf_config, ocsp_validity), 60, 7 * 86400,
	    NULL, NULL },
	{ "signer", T_FN, 0, 0, 0, 0, NULL, cfg_signer },
	{ "responder-lifetime", T_DUR, 0, offsetof(struct mf_config, ocsp_responder_lifetime),
	    3600, 365 * 86400, NULL, NULL },
	{ "export-dir", T_PATH, 0, offsetof(struct mf_config, ocsp_export_dir), 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_ocsp = { "daemon.ocsp", cfg_ocsp_keys, cfg_ocsp_post };

static const struct cfg_key cfg_crl_keys[] = {
	{ "validity", T_DUR, 0, offsetof(struct mf_config, crl_validity), 60, 366 * 86400,
	    NULL, NULL },
	{ "interval", T_DUR, 0, offsetof(struct mf_config, crl_interval), 10, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_crl = { "daemon.crl", cfg_crl_keys, cfg_crl_post };

/* The block turns pruning on; then it must say after how long. */
static int
cfg_retention_post(struct cfg *x, const yaml_node_t *map, void *obj)
{
	struct mf_config *c = obj;

	c->retention = map != NULL;
	if (map != NULL && c->prune_expired_after == 0)
		return cfg_error(x, MF_ERR_CONFIG_MISSING, map,
		    "required key 'prune-expired-after' missing in daemon.retention");
	return MF_OK;
}

/*
 * prune-expired-after is not marked required in the table: the walk also
 * visits an absent section (for its defaults), where it must not be asked for.
 */
static const struct cfg_key cfg_retention_keys[] = {
	{ "prune-expired-after", T_DUR, 0, offsetof(struct mf_config, prune_expired_after), 1,
	    MF_RETENTION_AFTER_MAX, NULL, NULL },
	{ "prune-interval", T_DUR, 0, offsetof(struct mf_config, prune_interval), 1, 7 * 86400,
	    NULL, NULL },
	{ "prune-batch", T_UINT, 0, offsetof(struct mf_config, prune_batch), 1,
	    MF_RETENTION_BATCH_MAX, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_retention = { "daemon.retention", cfg_retention_keys,
	cfg_retention_post };

static const struct cfg_key cfg_daemon_keys[] = {
	{ "listen", T_FN, 0, 0, 0, 0, NULL, cfg_listen },
	{ "threads", T_UINT, 0, offsetof(struct mf_config, threads), 0, 1024, NULL, NULL },
	{ "user", T_STR, 0, offsetof(struct mf_config, user), 0, 0, NULL, NULL },
	{ "max-connections", T_UINT, 0, offsetof(struct mf_config, max_connections), 1,
	    CFG_MAX_CONN, NULL, NULL },
	{ "per-ip-connections", T_UINT, 0, offsetof(struct mf_config, per_ip_connections), 0,
	    CFG_MAX_CONN, NULL, NULL },
	{ "connection-timeout", T_DUR, 0, offsetof(struct mf_config, connection_timeout), 1,
	    3600, NULL, NULL },
	{ "request-timeout", T_DUR, 0, offsetof(struct mf_config, request_timeout), 1,
	    3600, NULL, NULL },
	{ "max-body", T_SIZE, 0, offsetof(struct mf_config, max_body), 1024, CFG_MAX_BODY, NULL,
	    NULL },
	{ "admin-token-file", T_PATH, 0, offsetof(struct mf_config, admin_token_file), 0, 0,
	    NULL, NULL },
	{ "ocsp", T_SUB, 0, 0, 0, 0, &cfg_ocsp, NULL },
	{ "crl", T_SUB, 0, 0, 0, 0, &cfg_crl, NULL },
	{ "retention", T_SUB, 0, 0, 0, 0, &cfg_retention, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_daemon = { "daemon", cfg_daemon_keys, cfg_daemon_post };

/* ---- acme: the renewal listener (mayfly-acme(7)) ------------------------------------ */

static int
cfg_acme_host(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_acme_conf *a = &((struct mf_config *)obj)->acme;
	unsigned char buf[16];
	const char *s;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "'%s' must be an IPv4 or IPv6 address, not '%s'", key, s);
	free(a->host);
	return (a->host = strdup(s)) == NULL ? MF_ERR_NOMEM : MF_OK;
}

static int
cfg_acme_name_one(struct cfg *x, const yaml_node_t *v, const char *key, void *arg)
{
	struct mf_acme_conf *a = arg;
	const char *s;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (strcmp(key, "tls-names") == 0)
		return cfg_strv_add(&a->tls_names, &a->ntls_names, strdup(s));
	return cfg_strv_add(&a->test_resolve, &a->ntest_resolve, strdup(s));
}

static int
cfg_acme_names(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	return cfg_each(x, v, key, cfg_acme_name_one, &((struct mf_config *)obj)->acme);
}

static int
cfg_acme_chall_one(struct cfg *x, const yaml_node_t *v, const char *key, void *arg)
{
	struct mf_acme_conf *a = arg;
	const char *s;
	int rc;

	if ((rc = cfg_scalar(x, v, key, &s)) != MF_OK)
		return rc;
	if (strcmp(s, "http-01") == 0)
		a->challenges |= MF_ACME_HTTP01;
	else if (strcmp(s, "tls-alpn-01") == 0)
		a->challenges |= MF_ACME_TLSALPN01;
	else if (strcmp(s, "dns-01") == 0)
		a->challenges |= MF_ACME_DNS01;
	else
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "'%s' must list http-01, tls-alpn-01 or dns-01, not '%s'", key, s);
	return MF_OK;
}

static int
cfg_acme_challenges(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_acme_conf *a = &((struct mf_config *)obj)->acme;

	a->challenges = 0;
	return cfg_each(x, v, key, cfg_acme_chall_one, a);
}

/* eab-keys: { KID: base64url HMAC key, ... } (RFC 8555 7.3.4). */
static int
cfg_acme_eab(struct cfg *x, const yaml_node_t *v, void *obj, const char *key)
{
	struct mf_acme_conf *a = &((struct mf_config *)obj)->acme;
	struct mf_acme_eab *ne;
	yaml_node_pair_t *p;
	const char *kid, *s;
	char *b64 = NULL;
	size_t i, n;
	int rc, l;

	if (v->type != YAML_MAPPING_NODE)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, v,
		    "'%s' must map key identifiers to base64url HMAC keys", key);
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		kid = cfg_keyname(x, p);
		if ((rc = cfg_scalar(x, cfg_node(x, p->value), kid, &s)) != MF_OK)
			return rc;
		n = strlen(s);
		if (*kid == '\0' || n < 22 || n > 512)
			goto bad;
		/* base64url to base64 with padding, for EVP_DecodeBlock. */
		if ((b64 = calloc(1, n + 4)) == NULL)
			return MF_ERR_NOMEM;
		for (i = 0; i < n; i++) {
			if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_') {
				free(b64);
				goto bad;
			}
			b64[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
		}
		while (i % 4 != 0)
			b64[i++] = '=';
		if ((ne = realloc(a->eab, (a->neab + 1) * sizeof(*ne))) == NULL) {
			free(b64);
			return MF_ERR_NOMEM;
		}
		a->eab = ne;
		ne = &a->eab[a->neab];
		memset(ne, 0, sizeof(*ne));
		ne->kid = strdup(kid);
		ne->key = malloc(i);
		if (ne->kid == NULL || ne->key == NULL ||
		    (l = EVP_DecodeBlock(ne->key, (unsigned char *)b64, (int)i)) < 0) {
			free(ne->kid);
			free(ne->key);
			OPENSSL_cleanse(b64, i);
			free(b64);
			return ne->kid == NULL || ne->key == NULL ? MF_ERR_NOMEM : MF_ERR_CONFIG_VALUE;
		}
		ne->keylen = (size_t)l - (i - n);	/* EVP_DecodeBlock counts the padding */
		a->neab++;
		OPENSSL_cleanse(b64, i);
		free(b64);
	}
	return MF_OK;
bad:
	return cfg_error(x, MF_ERR_CONFIG_VALUE, cfg_node(x, p->value),
	    "'%s': the key of '%s' must be base64url of at least 16 bytes", key, kid);
}

static int
cfg_acme_post(struct cfg *x, const yaml_node_t *map, void *obj)
{
	struct mf_acme_conf *a = &((struct mf_config *)obj)->acme;

	a->enabled = map != NULL;
	if (a->host == NULL && (a->host = strdup("127.0.0.1")) == NULL)
		return MF_ERR_NOMEM;
	if (a->profile == NULL && (a->profile = strdup("server")) == NULL)
		return MF_ERR_NOMEM;
	if ((a->tls_cert == NULL) != (a->tls_key == NULL))
		return cfg_error(x, MF_ERR_CONFIG_VALUE, map,
		    "acme: tls-cert and tls-key go together");
	if (a->challenges == 0)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, map, "acme: no challenge type enabled");
	/* Each request at a handler thread holds a connection: threads past them never run. */
	if (a->max_connections < a->threads)
		return cfg_error(x, MF_ERR_CONFIG_VALUE, cfg_find(x, map, "max-connections") ?
		    cfg_find(x, map, "max-connections") : cfg_find(x, map, "threads"),
		    "acme: max-connections (%u) is below threads (%u)", a->max_connections,
		    a->threads);
	return MF_OK;
}

#define ACME_OFF(f)	offsetof(struct mf_config, acme) + offsetof(struct mf_acme_conf, f)

static const struct cfg_key cfg_est_keys[] = {
	{ "enabled", T_BOOL, 0, ACME_OFF(est_enabled), 0, 0, NULL, NULL },
	{ "profile", T_STR, 0, ACME_OFF(est_profile), 0, 0, NULL, NULL },
	{ "user", T_STR, 0, ACME_OFF(est_user), 0, 0, NULL, NULL },
	{ "password-file", T_PATH, 0, ACME_OFF(est_password_file), 0, 0, NULL, NULL },
	{ "tokens-file", T_PATH, 0, ACME_OFF(est_tokens_file), 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_est = { "acme.est", cfg_est_keys, NULL };

static const struct cfg_key cfg_acme_keys[] = {
	{ "host", T_FN, 0, 0, 0, 0, NULL, cfg_acme_host },
	{ "port", T_UINT, 0, ACME_OFF(port), 0, 65535, NULL, NULL },
	{ "base-url", T_STR, 0, ACME_OFF(base_url), 0, 0, NULL, NULL },
	{ "tls-cert", T_PATH, 0, ACME_OFF(tls_cert), 0, 0, NULL, NULL },
	{ "tls-key", T_PATH, 0, ACME_OFF(tls_key), 0, 0, NULL, NULL },
	{ "tls-names", T_FN, 0, 0, 0, 0, NULL, cfg_acme_names },
	{ "profile", T_STR, 0, ACME_OFF(profile), 0, 0, NULL, NULL },
	{ "challenges", T_FN, 0, 0, 0, 0, NULL, cfg_acme_challenges },
	{ "eab-required", T_BOOL, 0, ACME_OFF(eab_required), 0, 0, NULL, NULL },
	{ "eab-keys", T_FN, 0, 0, 0, 0, NULL, cfg_acme_eab },
	{ "nonce-lifetime", T_DUR, 0, ACME_OFF(nonce_lifetime), 10, 86400, NULL, NULL },
	{ "order-lifetime", T_DUR, 0, ACME_OFF(order_lifetime), 60, 7 * 86400, NULL, NULL },
	{ "orders-per-hour", T_UINT, 0, ACME_OFF(orders_per_hour), 0, 1000000, NULL, NULL },
	{ "certs-per-name-per-hour", T_UINT, 0, ACME_OFF(certs_per_name_per_hour), 0, 1000000,
	    NULL, NULL },
	{ "max-body", T_SIZE, 0, ACME_OFF(max_body), 1024, CFG_MAX_BODY, NULL, NULL },
	{ "threads", T_UINT, 0, ACME_OFF(threads), 1, 1024, NULL, NULL },
	{ "max-connections", T_UINT, 0, ACME_OFF(max_connections), 1, 65536, NULL, NULL },
	{ "fetch-timeout", T_DUR, 0, ACME_OFF(fetch_timeout), 1, 120, NULL, NULL },
	{ "checks-per-account", T_UINT, 0, ACME_OFF(checks_per_account), 1, 64, NULL, NULL },
	{ "per-ip-connections", T_UINT, 0, ACME_OFF(per_ip_connections), 1, 1024, NULL, NULL },
	{ "request-timeout", T_DUR, 0, ACME_OFF(request_timeout), 1, 3600, NULL, NULL },
	{ "accounts-per-ip-per-hour", T_UINT, 0, ACME_OFF(accounts_per_ip_per_hour), 0, 1000000,
	    NULL, NULL },
	{ "test-resolve", T_FN, 0, 0, 0, 0, NULL, cfg_acme_names },
	{ "test-http01-port", T_UINT, 0, ACME_OFF(test_http01_port), 0, 65535, NULL, NULL },
	{ "test-tlsalpn01-port", T_UINT, 0, ACME_OFF(test_tlsalpn01_port), 0, 65535, NULL, NULL },
	{ "test-dns-server", T_STR, 0, ACME_OFF(test_dns_server), 0, 0, NULL, NULL },
	{ "api-token-file", T_PATH, 0, ACME_OFF(api_token_file), 0, 0, NULL, NULL },
	{ "est", T_SUB, 0, 0, 0, 0, &cfg_est, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_acme = { "acme", cfg_acme_keys, cfg_acme_post };

/* ---- the top level ----------------------------------------------------------------- */

static int
cfg_top_post(struct cfg *x, const yaml_node_t *map, void *obj)
{
	struct mf_config *c = obj;
	size_t i;
	int rc;

	(void)map;
	if (c->active_intermediate == NULL &&
	    (c->active_intermediate = strdup(c->intermediates[0].name)) == NULL)
		return MF_ERR_NOMEM;
	if (c->nprofiles == 0) {
		if ((c->profiles = calloc(1, sizeof(*c->profiles))) == NULL)
			return MF_ERR_NOMEM;
		if ((rc = cfg_profile_init(&c->profiles[0], "server")) != MF_OK)
			return rc;
		c->nprofiles = 1;
		if ((rc = cfg_profile_post(x, NULL, &c->profiles[0])) != MF_OK)
			return rc;
	}
	if (c->nlisten == 0) {
		if ((c->listen = calloc(1, sizeof(*c->listen))) == NULL ||
		    (c->listen[0].host = strdup("127.0.0.1")) == NULL)
			return MF_ERR_NOMEM;
		c->listen[0].port = 8080;
		c->nlisten = 1;
	}
	/* A pkcs11: key cannot be opened without the module and a PIN source. */
	if (c->pkcs11_module == NULL) {
		for (i = 0; i < c->nroots + c->nintermediates; i++) {
			const struct mf_ca_conf *ca = i < c->nroots ? &c->roots[i] :
			    &c->intermediates[i - c->nroots];

			if (strncmp(ca->key, "pkcs11:", 7) == 0)
				return cfg_error(x, MF_ERR_CONFIG_MISSING, map,
				    "required key 'pkcs11' missing: CA %s has a pkcs11: key",
				    ca->name);
		}
	}
	return MF_OK;
}

static const struct cfg_key cfg_top_keys[] = {
	{ "database", T_DB, 1, offsetof(struct mf_config, database), 0, 0, NULL, NULL },
	{ "pkcs11", T_SUB, 0, 0, 0, 0, &cfg_pkcs11, NULL },
	{ "urls", T_SUB, 1, 0, 0, 0, &cfg_urls, NULL },
	{ "roots", T_FN, 1, 0, 0, 0, NULL, cfg_roots },
	{ "intermediates", T_FN, 1, 0, 0, 0, NULL, cfg_intermediates },
	{ "issuance", T_SUB, 0, 0, 0, 0, &cfg_issuance, NULL },
	{ "profiles", T_FN, 0, 0, 0, 0, NULL, cfg_profiles },
	{ "daemon", T_SUB, 0, 0, 0, 0, &cfg_daemon, NULL },
	{ "acme", T_SUB, 0, 0, 0, 0, &cfg_acme, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};
static const struct cfg_section cfg_top = { "the top level", cfg_top_keys, cfg_top_post };

/* ---- loading ------------------------------------------------------------------------- */

static struct mf_config *
cfg_new(const char *path)
{
	struct mf_config *c;
	char *copy = NULL, *slash, *real = NULL;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->path = strdup(path)) == NULL || (copy = strdup(path)) == NULL)
		goto fail;
	if ((slash = strrchr(copy, '/')) == NULL)
		strcpy(copy, ".");
	else if (slash == copy)
		copy[1] = '\0';
	else
		*slash = '\0';
	/*
	 * Absolute, so the resolved paths stay right after the daemon
	 * changes its working directory.
	 */
	real = realpath(copy, NULL);
	c->dir = real != NULL ? real : copy;
	if (real != NULL)
		free(copy);
	copy = NULL;
	c->hard_cap = MF_HARD_CAP_MAX;
	c->backdate = CFG_MAX_BACKDATE;
	c->threads = 0;
	c->max_connections = 1024;
	c->per_ip_connections = 64;
	c->connection_timeout = 10;
	c->request_timeout = 30;
	c->max_body = 65536;
	c->ocsp_validity = 4 * 3600;
	c->ocsp_delegated = 1;
	c->ocsp_responder_lifetime = 4 * 86400;
	c->crl_validity = 86400;
	c->crl_interval = 3600;
	c->prune_interval = 3600;
	c->prune_batch = 1000;
	c->acme.port = 8443;
	c->acme.challenges = MF_ACME_HTTP01 | MF_ACME_TLSALPN01;
	c->acme.nonce_lifetime = 3600;
	c->acme.order_lifetime = 3600;
	c->acme.orders_per_hour = 300;
	c->acme.certs_per_name_per_hour = 50;
	c->acme.max_body = 65536;
	c->acme.threads = 64;
	c->acme.max_connections = 512;
	c->acme.fetch_timeout = 10;
	c->acme.checks_per_account = 8;
	c->acme.per_ip_connections = 8;
	c->acme.request_timeout = 30;
	c->acme.accounts_per_ip_per_hour = 20;
	c->acme.est_enabled = 1;
	return c;
fail:
	free(copy);
	mf_config_free(c);
	return NULL;
}

int
mf_config_load(const char *path, struct mf_config **out, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	struct cfg x;
	unsigned char *buf = NULL;
	char dummy[1];
	size_t len = 0;
	int rc, have_parser = 0, have_doc = 0;
	yaml_node_t *root;

	memset(&x, 0, sizeof(x));
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	*err = '\0';
	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL || *path == '\0')
		return MF_ERR_INVAL;
	x.path = path;
	x.err = err;
	x.errlen = errlen;
	if ((rc = mf_file_read(path, CFG_MAX_BYTES, &buf, &len)) != MF_OK) {
		rc = cfg_error(&x, MF_ERR_CONFIG, NULL, "cannot read the file (%s)",
		    mf_strerror(rc));
		goto out;
	}
	if ((x.c = cfg_new(path)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	have_parser = 1;
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &x.doc)) {
		snprintf(err, errlen, "%s:%lu:%lu: not valid YAML: %s", path,
		    (unsigned long)parser.problem_mark.line + 1,
		    (unsigned long)parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "parse error");
		rc = MF_ERR_CONFIG;
		goto out;
	}
	have_doc = 1;
	if ((root = yaml_document_get_root_node(&x.doc)) == NULL) {
		rc = cfg_error(&x, MF_ERR_CONFIG_MISSING, NULL,
		    "the file is empty; required key 'database' missing");
		goto out;
	}
	/* A second document would be ignored by us but not by the reader's eye. */
	if (!yaml_parser_load(&parser, &extra)) {
		rc = cfg_error(&x, MF_ERR_CONFIG, NULL, "not valid YAML after the first document");
		goto out;
	}
	if (yaml_document_get_root_node(&extra) != NULL) {
		yaml_document_delete(&extra);
		rc = cfg_error(&x, MF_ERR_CONFIG, NULL, "more than one YAML document");
		goto out;
	}
	yaml_document_delete(&extra);
	if ((rc = cfg_section_walk(&x, root, &cfg_top, x.c)) != MF_OK)
		goto out;
	*out = x.c;
	x.c = NULL;
out:
	if (rc == MF_ERR_NOMEM && *err == '\0')
		snprintf(err, errlen, "%s: out of memory", path);
	if (have_doc)
		yaml_document_delete(&x.doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	mf_config_free(x.c);
	free(buf);
	return rc;
}

/* ---- lookups and freeing ------------------------------------------------------------- */

const struct mf_profile *
mf_config_profile(const struct mf_config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->nprofiles; i++)
		if (cfg->profiles[i].name != NULL && strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	return NULL;
}

static const struct mf_ca_conf *
cfg_ca_find(const struct mf_ca_conf *v, size_t n, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (v[i].name != NULL && strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

const struct mf_ca_conf *
mf_config_root(const struct mf_config *cfg, const char *name)
{
	return cfg == NULL ? NULL : cfg_ca_find(cfg->roots, cfg->nroots, name);
}

const struct mf_ca_conf *
mf_config_intermediate(const struct mf_config *cfg, const char *name)
{
	return cfg == NULL ? NULL : cfg_ca_find(cfg->intermediates, cfg->nintermediates, name);
}

static void
cfg_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
cfg_cas_free(struct mf_ca_conf *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].key);
		free(v[i].cert);
		free(v[i].root);
		cfg_strv_free(v[i].cross, v[i].ncross);
	}
	free(v);
}

void
mf_config_free(struct mf_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->database);
	free(cfg->pkcs11_module);
	free(cfg->pkcs11_pin_source);
	free(cfg->softhsm2_conf);
	free(cfg->url_base);
	cfg_cas_free(cfg->roots, cfg->nroots);
	cfg_cas_free(cfg->intermediates, cfg->nintermediates);
	free(cfg->active_intermediate);
	for (i = 0; i < cfg->nprofiles; i++) {
		free(cfg->profiles[i].name);
		cfg_strv_free(cfg->profiles[i].dns, cfg->profiles[i].ndns);
		free(cfg->profiles[i].ip);
	}
	free(cfg->profiles);
	for (i = 0; i < cfg->nlisten; i++)
		free(cfg->listen[i].host);
	free(cfg->listen);
	free(cfg->user);
	free(cfg->admin_token_file);
	free(cfg->ocsp_export_dir);
	free(cfg->acme.host);
	free(cfg->acme.base_url);
	free(cfg->acme.tls_cert);
	free(cfg->acme.tls_key);
	cfg_strv_free(cfg->acme.tls_names, cfg->acme.ntls_names);
	free(cfg->acme.profile);
	for (i = 0; i < cfg->acme.neab; i++) {
		free(cfg->acme.eab[i].kid);
		OPENSSL_cleanse(cfg->acme.eab[i].key, cfg->acme.eab[i].keylen);
		free(cfg->acme.eab[i].key);
	}
	free(cfg->acme.eab);
	cfg_strv_free(cfg->acme.test_resolve, cfg->acme.ntest_resolve);
	free(cfg->acme.test_dns_server);
	free(cfg->acme.est_profile);
	free(cfg->acme.est_user);
	free(cfg->acme.est_password_file);
	free(cfg->acme.est_tokens_file);
	free(cfg->acme.api_token_file);
	free(cfg);
}
