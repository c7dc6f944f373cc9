/*
 * mayflyd_sigwire.c: libFuzzer target for the signer's wire format
 * (sigwire.h), both ways:
 *
 *   - the signer's decoding of an ISSUE_BATCH request (sig_batch_parse()
 *     in signer.c): the one variable-length request, the one a network
 *     process taken over by an attacker would use to reach the process
 *     that holds the keys;
 *   - the network process's check and split of the signer's answer to it
 *     (sig_batch_check() and sig_batch_give() in sigclient.c).
 *
 * Both functions are static: this file includes the two sources whole, so
 * the code fuzzed is the code shipped, with nothing exposed for the
 * purpose. The first input byte chooses the direction (even: request; odd:
 * answer, with the item count in its upper bits); the rest is the payload.
 * What a parser accepts is checked against the bounds of sigwire.h, or the
 * target aborts.
 *
 *   make fuzz-smoke-mayflyd   (clang, ASan+UBSan, FUZZ_SECONDS on its corpus)
 */
#include "../../src/mayflyd/signer.c"
#include "../../src/mayflyd/sigclient.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_request(const unsigned char *p, size_t len)
{
	struct sig_item *it = NULL;
	size_t n = 0, i, total = sizeof(struct mfd_sig_batch_req);

	if (sig_batch_parse(p, len, &it, &n) != 0) {
		if (it != NULL || n != 0)
			__builtin_trap();
		return;
	}
	if (n == 0 || n > MFD_SIG_ISSUE_BATCH_MAX || len > MFD_SIG_BATCH_REQ_MAX)
		__builtin_trap();
	for (i = 0; i < n; i++) {
		size_t pl = strlen(it[i].profile), rl = strlen(it[i].requester);

		/* The CSR lies inside the request; the strings are printable and bounded. */
		if (it[i].csr < p || it[i].csr_len == 0 || it[i].csr_len > MF_ACME_CSR_MAX ||
		    it[i].csr + it[i].csr_len > p + len || it[i].lifetime < 0 || it[i].not_before < 0 ||
		    pl == 0 || pl > MF_ACME_PROFILE_MAX || rl == 0 || rl > MF_ACME_REQUESTER_MAX ||
		    !mfd_sig_printable((const unsigned char *)it[i].profile, pl) ||
		    !mfd_sig_printable((const unsigned char *)it[i].requester, rl))
			__builtin_trap();
		total += sizeof(struct mfd_sig_issue_req) + it[i].csr_len + pl + rl;
	}
	/* Every byte accounted for: nothing trails the last item. */
	if (total != len)
		__builtin_trap();
	sig_items_free(it, n);
}

static void
fuzz_answer(const unsigned char *p, size_t len, size_t n)
{
	struct mfd_sig_issued out;
	struct sig_job j;
	size_t i, off = 0;

	if (sig_batch_check(p, len, n) != 0)
		return;
	for (i = 0; i < n; i++) {
		memset(&out, 0, sizeof(out));
		memset(&j, 0, sizeof(j));
		j.out = &out;
		off += sig_batch_give(p + off, &j);
		if (off > len || (j.rc == 0 && (out.cert == NULL || out.serial_len == 0 ||
		    out.serial_len > sizeof(out.serial))) || memchr(j.why, '\0', sizeof(j.why)) == NULL)
			__builtin_trap();
		mfd_sig_issued_clear(&out);
	}
	if (off != len)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *p;

	if (size < 1)
		return 0;
	/* A copy of the exact size, so that ASan sees any read past the payload. */
	if ((p = malloc(size - 1 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(p, data + 1, size - 1);
	if ((data[0] & 1) == 0)
		fuzz_request(p, size - 1);
	else
		fuzz_answer(p, size - 1, 1 + (data[0] >> 1) % MFD_SIG_ISSUE_BATCH_MAX);
	free(p);
	return 0;
}
