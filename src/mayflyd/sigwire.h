/*
 * sigwire.h: the signer's wire format, shared by its two ends (signer.c,
 * the signer process; sigclient.c, the network process's side) and the
 * tests that talk to a signer directly: the structs, their bounds, and the
 * socket helpers both ends use. The format itself is described at the top
 * of signer.c. Host byte order: both ends are the same binary.
 */
#ifndef MFD_SIGWIRE_H
#define MFD_SIGWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "acme/acme.h"
#include "signer.h"

struct mfd_sig_hdr {
	uint32_t op;
	uint32_t len;
};

struct mfd_sig_rhdr {
	int32_t rc;
	uint32_t len;
};

struct mfd_sig_ocsp_req {
	uint16_t issuer;
	uint8_t alg;
	uint8_t serial_len;
	unsigned char serial[20];
};

struct mfd_sig_crl_req {
	uint16_t issuer;
	uint16_t pad;
};

struct mfd_sig_issue_req {
	int64_t lifetime;		/* seconds; 0: the profile's default */
	uint32_t csr_len;		/* 1..MF_ACME_CSR_MAX */
	uint16_t profile_len;		/* 1..MF_ACME_PROFILE_MAX */
	uint16_t requester_len;		/* 1..MF_ACME_REQUESTER_MAX */
	/*
	 * The notBefore asked for (ACME newOrder), unix seconds >= 0; 0: at
	 * issuance, backdated. The signer's policy check and issuer judge it
	 * against issuance.forward-horizon and issuance.backdate by their
	 * own clock. Added after the fields above, which keep their places.
	 */
	int64_t not_before;
};

struct mfd_sig_batch_req {
	uint32_t n;			/* 1..MFD_SIG_ISSUE_BATCH_MAX items follow */
	uint32_t pad;			/* 0 */
};

struct mfd_sig_issue_ans {
	int32_t rc;
	uint32_t len;			/* certificate DER (rc 0) or reason (rc != 0) */
	uint32_t ocsp_len;		/* pre-signed OCSP response; 0: none */
	uint16_t issuer;		/* index of the issuing intermediate */
	uint8_t serial_len;		/* 1..20 when rc is 0 */
	uint8_t pad;
	unsigned char serial[20];	/* magnitude, big-endian */
	struct mfd_sig_meta meta;	/* of the OCSP response */
};

#define MFD_SIG_REQ_MAX		64
#define MFD_SIG_ISSUE_MAX	(sizeof(struct mfd_sig_issue_req) + MF_ACME_CSR_MAX + \
	MF_ACME_PROFILE_MAX + MF_ACME_REQUESTER_MAX)
#define MFD_SIG_BATCH_REQ_MAX	(sizeof(struct mfd_sig_batch_req) + \
	MFD_SIG_ISSUE_BATCH_MAX * MFD_SIG_ISSUE_MAX)
#define MFD_SIG_RESP_MAX	(256u * 1024 * 1024)	/* a CRL of a few million entries */
#define MFD_SIG_TIMEOUT_MS	30000

/* Writes all n bytes (0 or MF_ERR_IO). */
int mfd_sig_write_all(int fd, const void *buf, size_t n);
/* Reads exactly n bytes; timeout_ms < 0 waits forever. 0 or MF_ERR_SIGNER. */
int mfd_sig_read_all(int fd, void *buf, size_t n, int timeout_ms);
/* Printable ASCII only: profile and requester end up in the log and in log lines. */
int mfd_sig_printable(const unsigned char *p, size_t n);

#endif
