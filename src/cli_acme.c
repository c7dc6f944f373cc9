/*
 * cli_acme.c: `mayfly acme eab add|list|remove`, the external account
 * binding keys an ACME client needs when the listener has eab-required
 * (RFC 8555 7.3.4).
 *
 * `add` prints the key identifier and the HMAC key (base64url, the form
 * certbot's --eab-hmac-key and uacme take) once, on stdout, and nowhere
 * else; the database keeps it for mayflyd, which checks bindings against
 * it without a restart. A key binds one account; `remove` stops further
 * bindings and leaves the account it bound as it is.
 */
#include "mf_build.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli.h"
#include "db.h"
#include "mferr.h"

/* RFC 4648 section 5, without padding. */
static void
b64url(const unsigned char *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n), i;

	for (i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
}

static int
eab_add(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "label", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "[--label TEXT]";
	unsigned char key[MF_EAB_KEY_LEN];
	char kid[MF_EAB_KID_LEN + 1], k64[4 * MF_EAB_KEY_LEN / 3 + 4];
	const char *label = "";
	int ch, rc, ex;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'l': label = optarg; break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (optind != argc)
		return mf_cli_usage(c, use);
	if ((ex = mf_cli_open(c, MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if ((rc = mf_db_eab_add(c->db, label, c->actor, kid, key)) != MF_OK) {
		if (rc == MF_ERR_INVAL)
			return mf_cli_fail(c, rc, "--label: printable ASCII without quotes, "
			    "at most %d characters", MF_EAB_LABEL_MAX);
		return mf_cli_fail(c, rc, "cannot store the key");
	}
	b64url(key, sizeof(key), k64);
	OPENSSL_cleanse(key, sizeof(key));
	printf("kid: %s\nhmac-key: %s\n", kid, k64);
	printf("# certbot register --eab-kid %s --eab-hmac-key <hmac-key> ...\n", kid);
	printf("# The key is shown only now; it binds one ACME account.\n");
	OPENSSL_cleanse(k64, sizeof(k64));
	return fflush(stdout) == 0 ? MF_EXIT_OK : MF_EXIT_OTHER;
}

static int
eab_print(const struct mf_eab_rec *r, void *arg)
{
	char made[32], gone[32];
	time_t t = (time_t)r->created_at;
	struct tm tm;

	(void)arg;
	strftime(made, sizeof(made), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	if (r->removed_at != 0) {
		t = (time_t)r->removed_at;
		strftime(gone, sizeof(gone), "removed %Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	} else {
		snprintf(gone, sizeof(gone), "live");
	}
	printf("%s  %s  %-30s  %s  account=%s  label=\"%s\"\n", r->kid, made, gone,
	    r->created_by, r->account != NULL ? r->account : "-", r->label);
	return 0;
}

static int
eab_list(struct mf_cli *c, int argc, char **argv)
{
	int ex, rc;

	(void)argv;
	if (argc != 1)
		return mf_cli_usage(c, "");
	if ((ex = mf_cli_open(c, MF_NEED_DB_RO)) != MF_EXIT_OK)
		return ex;
	if ((rc = mf_db_eab_list(c->db, eab_print, NULL)) != MF_OK)
		return mf_cli_fail(c, rc, "cannot list the keys");
	return fflush(stdout) == 0 ? MF_EXIT_OK : MF_EXIT_OTHER;
}

static int
eab_remove(struct mf_cli *c, int argc, char **argv)
{
	int ex, rc;

	if (argc != 2)
		return mf_cli_usage(c, "KID");
	if ((ex = mf_cli_open(c, MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if ((rc = mf_db_eab_remove(c->db, argv[1], c->actor)) != MF_OK)
		return mf_cli_fail(c, rc, "%s", rc == MF_ERR_NOTFOUND ?
		    "no live key with that identifier" : rc == MF_ERR_INVAL ?
		    "a key identifier is 24 hex digits" : "cannot remove the key");
	printf("removed %s: it binds no new account\n", argv[1]);
	return MF_EXIT_OK;
}

int
mf_cli_acme(struct mf_cli *c, int argc, char **argv)
{
	static const char *use = "eab add [--label TEXT] | eab list | eab remove KID";

	if (argc >= 3 && strcmp(argv[1], "eab") == 0) {
		if (strcmp(argv[2], "add") == 0) {
			c->cmd = "acme eab add";
			return eab_add(c, argc - 2, argv + 2);
		}
		if (strcmp(argv[2], "list") == 0) {
			c->cmd = "acme eab list";
			return eab_list(c, argc - 2, argv + 2);
		}
		if (strcmp(argv[2], "remove") == 0) {
			c->cmd = "acme eab remove";
			return eab_remove(c, argc - 2, argv + 2);
		}
	}
	return mf_cli_usage(c, use);
}
