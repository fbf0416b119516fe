/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for DNSSEC validation in control/forward.c: control against a
 * fake upstream on 127.0.0.1 that serves a small signed world built here
 * (keys from OpenSSL EVP, RRSIGs over the signed data the validator's own
 * hf_val_signed_data() computes), with the test's thread playing the
 * workers, as in test_forward.c:
 *
 *   test.      alg 13 (P-256)    trust anchor (DS, loaded from a file)
 *   sec.test.  alg 15 (Ed25519)  DS in test.
 *   ins.test.  unsigned: an NSEC in test. proves it has no DS
 *   gone.test. its DS query is never answered (a fetch that fails)
 *
 * Signatures are made relative to the real clock: control validates with
 * time(NULL).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <rte_eal.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "tests/unit/hf_test.h"
#include "tests/unit/hf_test_eal.h"
#include "control/hf_config.h"
#include "control/hf_control.h"
#include "validator/hf_aggr.h"
#include "validator/hf_validator.h"

#define NW	 2
#define RING_SZ	 1024
#define MAX_SEEN 256
#define MAX_Q	 64

static uint32_t now32;

/* ---- names and messages ---- */

static size_t wname(const char *s, uint8_t *out)
{
	size_t len = 0;
	if (hf_dns_name_from_str(s, out, &len) < 0) {
		fprintf(stderr, "bad name %s\n", s);
		abort();
	}
	return len;
}

struct mb {
	uint8_t buf[4096];
	size_t len;
	uint16_t count[3];
};

static void mb_init(struct mb *b, const char *qname, uint16_t qtype, uint8_t rcode)
{
	memset(b, 0, sizeof(*b));
	hf_put16(b->buf + 2, HF_DNS_QR | HF_DNS_RD | HF_DNS_RA | HF_DNS_CD | rcode);
	hf_put16(b->buf + 4, 1);
	b->len = 12;
	b->len += wname(qname, b->buf + b->len);
	hf_put16(b->buf + b->len, qtype);
	hf_put16(b->buf + b->len + 2, HF_CLASS_IN);
	b->len += 4;
}

static void mb_rr(struct mb *b, int sec, const char *owner, uint16_t type, uint32_t ttl,
		  const uint8_t *rd, size_t rdlen)
{
	b->len += wname(owner, b->buf + b->len);
	hf_put16(b->buf + b->len, type);
	hf_put16(b->buf + b->len + 2, HF_CLASS_IN);
	hf_put32(b->buf + b->len + 4, ttl);
	hf_put16(b->buf + b->len + 8, (uint16_t)rdlen);
	memcpy(b->buf + b->len + 10, rd, rdlen);
	b->len += 10 + rdlen;
	b->count[sec]++;
	hf_put16(b->buf + 6, b->count[0]);
	hf_put16(b->buf + 8, b->count[1]);
	hf_put16(b->buf + 10, b->count[2]);
}

/* ---- keys ---- */

struct tkey {
	EVP_PKEY *pk;
	uint8_t alg;
	uint8_t rd[128];
	size_t rdlen;
	uint16_t tag;
};

static void tkey_gen(struct tkey *k, uint8_t alg)
{
	uint8_t pub[100];
	size_t plen = sizeof(pub);

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if (alg == HF_ALG_ECDSAP256) {
		uint8_t pt[80];
		size_t l = 0;
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		EVP_PKEY_get_octet_string_param(k->pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &l);
		memcpy(pub, pt + 1, l - 1); /* drop the 0x04 of the uncompressed point */
		plen = l - 1;
	} else {
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		EVP_PKEY_get_raw_public_key(k->pk, pub, &plen);
	}
	hf_put16(k->rd, 257);
	k->rd[2] = 3;
	k->rd[3] = alg;
	memcpy(k->rd + 4, pub, plen);
	k->rdlen = 4 + plen;
	k->tag = hf_val_key_tag(k->rd, k->rdlen);
}

/* 64-byte signature (P-256 r||s, or Ed25519) over data. */
static void tkey_sign(const struct tkey *k, const uint8_t *data, size_t len, uint8_t sig[64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (k->alg == HF_ALG_ECDSAP256) {
		uint8_t der[100];
		size_t dl = sizeof(der);
		const unsigned char *p = der;
		const BIGNUM *r, *s;
		ECDSA_SIG *es;
		EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pk);
		EVP_DigestSign(ctx, der, &dl, data, len);
		es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, sig, 32);
		BN_bn2binpad(s, sig + 32, 32);
		ECDSA_SIG_free(es);
	} else {
		size_t sl = 64;
		EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pk);
		EVP_DigestSign(ctx, sig, &sl, data, len);
	}
	EVP_MD_CTX_free(ctx);
}

struct zone {
	const char *name;
	struct tkey key;
};
static struct zone z_test = {"test."}, z_sec = {"sec.test."};

struct sopt {
	bool corrupt;
	uint32_t inc, exp; /* 0: now - 1h, now + 7d */
};

/*
 * Add an RRset of n RRs and its RRSIG by zone z: the RRSIG goes in with a
 * zero signature, the message is parsed, hf_val_signed_data() gives the
 * RFC 4034 3.1.8.1 signed data, and the real signature is patched in.
 */
static void add_signed(struct mb *b, int sec, const struct zone *z, const char *owner,
		       uint16_t type, uint32_t ttl, const uint8_t *const *rds, const size_t *lens,
		       unsigned n, const struct sopt *o)
{
	static struct hf_dns_msg m;
	static uint8_t data[16384];
	uint8_t rr[256], sig[64], own[256];
	size_t sl, dl;
	unsigned labels = 0;
	int rc;

	for (unsigned i = 0; i < n; i++)
		mb_rr(b, sec, owner, type, ttl, rds[i], lens[i]);
	wname(owner, own);
	for (size_t i = 0; own[i]; i += 1u + own[i])
		labels++;
	hf_put16(rr, type);
	rr[2] = z->key.alg;
	rr[3] = (uint8_t)labels;
	hf_put32(rr + 4, ttl);
	hf_put32(rr + 8, o && o->exp ? o->exp : now32 + 7 * 86400);
	hf_put32(rr + 12, o && o->inc ? o->inc : now32 - 3600);
	hf_put16(rr + 16, z->key.tag);
	sl = wname(z->name, rr + 18);
	memset(rr + 18 + sl, 0, 64);
	mb_rr(b, sec, owner, HF_TYPE_RRSIG, ttl, rr, 18 + sl + 64);
	rc = hf_dns_msg_parse(b->buf, b->len, &m);
	if (rc != 0) {
		fprintf(stderr, "built message does not parse: %d\n", rc);
		abort();
	}
	rc = hf_val_signed_data(&m, (uint16_t)(m.nrr - 1), data, sizeof(data));
	if (rc <= 0) {
		fprintf(stderr, "hf_val_signed_data: %d\n", rc);
		abort();
	}
	dl = (size_t)rc;
	tkey_sign(&z->key, data, dl, sig);
	if (o && o->corrupt)
		sig[10] ^= 0x40;
	memcpy(b->buf + m.rr[m.nrr - 1].rdata_off + 18 + sl, sig, 64);
}

static void add_signed1(struct mb *b, int sec, const struct zone *z, const char *owner,
			uint16_t type, uint32_t ttl, const uint8_t *rd, size_t len,
			const struct sopt *o)
{
	add_signed(b, sec, z, owner, type, ttl, &rd, &len, 1, o);
}

static void ds_rdata(const struct zone *child, uint8_t *rd, size_t *len)
{
	uint8_t own[256];
	size_t ol = wname(child->name, own);
	int dl;
	hf_put16(rd, child->key.tag);
	rd[2] = child->key.alg;
	rd[3] = HF_DS_SHA256;
	dl = hf_val_ds_digest(own, ol, child->key.rd, child->key.rdlen, HF_DS_SHA256, rd + 4);
	*len = 4 + (size_t)dl;
}

/* ---- the canned world ---- */

struct canned {
	char name[64];
	uint16_t qtype;
	struct mb b;
};
static struct canned canned[16];
static unsigned ncanned;

static struct mb *can(const char *name, uint16_t qtype, uint8_t rcode)
{
	struct canned *c = &canned[ncanned++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->qtype = qtype;
	mb_init(&c->b, name, qtype, rcode);
	return &c->b;
}

static const uint8_t a_rd[4] = {192, 0, 2, 1};

/* SOA RDATA of zone (MNAME and RNAME the zone) with this MINIMUM. */
static size_t soa_rd(const char *zone, uint32_t minimum, uint8_t *rd)
{
	size_t n = wname(zone, rd);
	n += wname(zone, rd + n);
	memset(rd + n, 0, 20);
	hf_put32(rd + n + 16, minimum);
	return n + 20;
}

static void build_world(void)
{
	struct mb *b;
	uint8_t rd[128];
	size_t n;
	struct sopt bad = {.corrupt = true};
	struct sopt old = {.inc = now32 - 30 * 86400, .exp = now32 - 86400};
	struct sopt soon = {.exp = now32 + 100};

	ncanned = 0;
	b = can("test.", HF_TYPE_DNSKEY, 0);
	add_signed1(b, 0, &z_test, "test.", HF_TYPE_DNSKEY, 3600, z_test.key.rd, z_test.key.rdlen,
		    NULL);
	b = can("sec.test.", HF_TYPE_DS, 0);
	ds_rdata(&z_sec, rd, &n);
	add_signed1(b, 0, &z_test, "sec.test.", HF_TYPE_DS, 3600, rd, n, NULL);
	b = can("sec.test.", HF_TYPE_DNSKEY, 0);
	add_signed1(b, 0, &z_sec, "sec.test.", HF_TYPE_DNSKEY, 3600, z_sec.key.rd, z_sec.key.rdlen,
		    NULL);
	/* data: TTL 600, signature expiring in 100 s: the cap is 100 */
	b = can("www.sec.test.", HF_TYPE_A, 0);
	add_signed1(b, 0, &z_sec, "www.sec.test.", HF_TYPE_A, 600, a_rd, 4, &soon);
	b = can("bad.sec.test.", HF_TYPE_A, 0);
	add_signed1(b, 0, &z_sec, "bad.sec.test.", HF_TYPE_A, 600, a_rd, 4, &bad);
	b = can("old.sec.test.", HF_TYPE_A, 0);
	add_signed1(b, 0, &z_sec, "old.sec.test.", HF_TYPE_A, 600, a_rd, 4, &old);
	/* ins.test.: no DS, proven by an NSEC with NS only (and SOA for NODATA) */
	b = can("ins.test.", HF_TYPE_DS, 0);
	n = soa_rd("test.", 300, rd);
	add_signed1(b, 1, &z_test, "test.", HF_TYPE_SOA, 300, rd, n, NULL);
	n = wname("mm.test.", rd);
	rd[n] = 0;     /* window 0 */
	rd[n + 1] = 6; /* 6 bytes: up to type 47 */
	memset(rd + n + 2, 0, 6);
	rd[n + 2] = 0x20; /* NS (2) */
	rd[n + 7] = 0x03; /* RRSIG (46), NSEC (47) */
	n += 8;
	add_signed1(b, 1, &z_test, "ins.test.", HF_TYPE_NSEC, 300, rd, n, NULL);
	b = can("www.ins.test.", HF_TYPE_A, 0);
	mb_rr(b, 0, "www.ins.test.", HF_TYPE_A, 300, a_rd, 4);
	/* nx.sec.test. NXDOMAIN: a.sec.test. -> www.sec.test. covers it,
	 * sec.test. -> a.sec.test. the wildcard; NSEC TTL 300, SOA MINIMUM 60 */
	b = can("nx.sec.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	n = soa_rd("sec.test.", 60, rd);
	add_signed1(b, 1, &z_sec, "sec.test.", HF_TYPE_SOA, 300, rd, n, NULL);
	n = wname("www.sec.test.", rd);
	memcpy(rd + n, "\x00\x06\x40\x00\x00\x00\x00\x03", 8); /* A RRSIG NSEC */
	add_signed1(b, 1, &z_sec, "a.sec.test.", HF_TYPE_NSEC, 300, rd, n + 8, NULL);
	n = wname("a.sec.test.", rd);
	memcpy(rd + n, "\x00\x07\x22\x00\x00\x00\x00\x03\x80", 9); /* NS SOA RRSIG NSEC DNSKEY */
	add_signed1(b, 1, &z_sec, "sec.test.", HF_TYPE_NSEC, 300, rd, n + 9, NULL);
	/* www.gone.test.: unsigned, so the walk asks for gone.test. DS, which
	 * the fake never answers */
	b = can("www.gone.test.", HF_TYPE_A, 0);
	mb_rr(b, 0, "www.gone.test.", HF_TYPE_A, 300, a_rd, 4);
}

/* ---- the fake upstream ---- */

struct seen_q {
	char name[64];
	uint16_t qtype;
	uint16_t flags;
	bool edns, do_bit;
};

struct fake {
	int udp;
	uint16_t port;
	unsigned nq;
	struct seen_q q[MAX_Q];
};

static void fake_open(struct fake *f)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	memset(f, 0, sizeof(*f));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (bind(f->udp, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(f->udp, (struct sockaddr *)&sa, &sl) != 0)
		fprintf(stderr, "cannot open the fake upstream\n");
	f->port = ntohs(sa.sin_port);
}

static void fake_serve(struct fake *f)
{
	static struct hf_dns_msg qm;
	uint8_t q[512], r[4096];
	struct sockaddr_storage from;
	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(f->udp, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		struct seen_q *s;
		unsigned i;
		if (n <= 12)
			return;
		if (hf_dns_msg_parse(q, (size_t)n, &qm) != 0 || qm.qdcount != 1)
			continue;
		s = &f->q[f->nq < MAX_Q ? f->nq : MAX_Q - 1];
		f->nq++;
		hf_dns_name_lower(qm.qname, qm.qname_len); /* the query's is 0x20-mixed */
		hf_dns_name_to_str(qm.qname, qm.qname_len, s->name, sizeof(s->name));
		s->qtype = qm.qtype;
		s->flags = qm.flags;
		s->edns = qm.has_opt;
		s->do_bit = qm.opt_do;
		for (i = 0; i < ncanned; i++)
			if (canned[i].qtype == qm.qtype && strcasecmp(canned[i].name, s->name) == 0)
				break;
		if (i == ncanned)
			continue; /* silence: gone.test. DS */
		memcpy(r, canned[i].b.buf, canned[i].b.len);
		hf_put16(r, qm.id);
		/* the question as asked, in its case (a canned one is lower case) */
		memcpy(r + HF_DNS_HDR_LEN, q + HF_DNS_HDR_LEN, qm.qname_len);
		sendto(f->udp, r, canned[i].b.len, 0, (struct sockaddr *)&from, fl);
	}
}

/* ---- control with two fake workers ---- */

struct env {
	struct hf_config cfg;
	struct rte_ring *to_control[NW], *to_worker[NW];
	struct hf_worker_shared *shared[NW];
	struct hf_control *c;
	struct fake fake;
	struct hf_msg_ctl *seen[MAX_SEEN];
	unsigned nseen;
	/* RFC 8198 on the cores: the NSEC copies worker 0 got, the first two kept */
	unsigned nnsec;
	uint8_t nsec_rec[2][4096];
	uint32_t nsec_len[2];
};

static unsigned ring_serial;
static char anchor_path[64];

static struct env *env_new(bool dnssec)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[256], name[32], fwd[64];
	struct hf_control_workers w = {0};

	hf_config_defaults(&e->cfg);
	e->cfg.upstream_timeout_ms = 100;
	e->cfg.upstream_attempts = 2;
	e->cfg.failure_ttl = 7;
	e->cfg.dnssec = dnssec;
	e->cfg.control_socket[0] = '\0'; /* no management socket, no NTA state file */
	e->cfg.nta_state_file[0] = '\0';
	snprintf(e->cfg.trust_anchor, sizeof(e->cfg.trust_anchor), "%s", anchor_path);
	fake_open(&e->fake);
	snprintf(fwd, sizeof(fwd), "127.0.0.1@%u", e->fake.port);
	CHECK_EQ(hf_config_set(&e->cfg, "forwarder", fwd, NULL, err, sizeof(err)), 0);
	for (unsigned i = 0; i < NW; i++) {
		snprintf(name, sizeof(name), "vc%u", ring_serial++);
		e->to_control[i] =
			rte_ring_create_elem(name, sizeof(struct hf_msg_query), RING_SZ,
					     SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "vw%u", ring_serial++);
		e->to_worker[i] = rte_ring_create(name, RING_SZ, SOCKET_ID_ANY,
						  RING_F_SP_ENQ | RING_F_SC_DEQ);
		e->shared[i] = aligned_alloc(64, sizeof(struct hf_worker_shared));
		memset(e->shared[i], 0, sizeof(struct hf_worker_shared));
	}
	w.n = NW;
	w.to_control = e->to_control;
	w.to_worker = e->to_worker;
	w.shared = e->shared;
	e->c = hf_control_create(&e->cfg, &w, err, sizeof(err));
	if (e->c == NULL)
		fprintf(stderr, "hf_control_create: %s\n", err);
	CHECK(e->c != NULL);
	return e;
}

static void env_free(struct env *e)
{
	hf_control_destroy(e->c);
	for (unsigned i = 0; i < NW; i++) {
		rte_ring_free(e->to_control[i]);
		rte_ring_free(e->to_worker[i]);
		free(e->shared[i]);
	}
	close(e->fake.udp);
	for (unsigned i = 0; i < e->nseen; i++)
		free(e->seen[i]);
	free(e);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Worker 0 keeps a copy of every FILL and counts the NSEC copies; both
 * apply everything. */
static void workers_poll(struct env *e)
{
	for (unsigned w = 0; w < NW; w++) {
		void *p = NULL;
		while (rte_ring_dequeue(e->to_worker[w], &p) == 0) {
			struct hf_msg_ctl *m = p;
			if (w == 0 && m->type == HF_MSG_NSEC) {
				CHECK(m->aggr.on && m->aggr.rec_len <= sizeof(e->nsec_rec[0]));
				if (e->nnsec < 2 && m->aggr.rec_len <= sizeof(e->nsec_rec[0])) {
					memcpy(e->nsec_rec[e->nnsec], &m->ans, m->aggr.rec_len);
					e->nsec_len[e->nnsec] = m->aggr.rec_len;
				}
				e->nnsec++;
			} else if (w == 0 && e->nseen < MAX_SEEN) {
				size_t sz = HF_MAX(sizeof(*m), offsetof(struct hf_msg_ctl, ans) +
								       hf_dns_answer_size(&m->ans));
				e->seen[e->nseen] = malloc(sz);
				memcpy(e->seen[e->nseen], m, sz);
				e->nseen++;
			}
			__atomic_store_n(&e->shared[w]->applied_seq, m->seq, __ATOMIC_RELEASE);
		}
	}
}

/* Resolve one question; returns worker 0's copy of the FILL, or NULL. */
static const struct hf_dns_answer *resolve(struct env *e, const char *qname, uint16_t qtype,
					   uint8_t flags)
{
	struct hf_msg_query mq;
	unsigned want = e->nseen + 1;
	size_t n;
	memset(&mq, 0, sizeof(mq));
	mq.type = HF_MSG_MISS;
	n = wname(qname, mq.key.name);
	mq.key.name_len = (uint8_t)n;
	mq.key.qtype = qtype;
	mq.key.qclass = HF_CLASS_IN;
	mq.key.flags = flags;
	mq.hash = hf_cache_key_hash(&mq.key);
	CHECK_EQ(rte_ring_enqueue_elem(e->to_control[0], &mq, sizeof(mq)), 0);
	for (uint64_t end = now_ms() + 3000; now_ms() < end && e->nseen < want;) {
		hf_control_poll(e->c);
		fake_serve(&e->fake);
		workers_poll(e);
	}
	if (e->nseen < want) {
		CHECK(!"no FILL");
		return NULL;
	}
	CHECK_EQ(e->seen[want - 1]->type, HF_MSG_FILL);
	CHECK_EQ(hf_cache_key_cmp(&e->seen[want - 1]->key, &mq.key), 0);
	return &e->seen[want - 1]->ans;
}

static struct hf_control_stats stats(struct env *e)
{
	struct hf_control_stats st;
	hf_control_get_stats(e->c, &st);
	return st;
}

static unsigned count_type(const struct hf_dns_answer *a, uint16_t type)
{
	unsigned n = 0;
	for (unsigned i = 0; i < a->nttl; i++) {
		uint16_t off = hf_dns_answer_ttl_offs(a)[i];
		if (hf_get16(hf_dns_answer_body(a) + off - 4) == type)
			n++;
	}
	return n;
}

static bool text_has(const struct hf_dns_answer *a, const char *s)
{
	char buf[256];
	size_t n = HF_MIN(a->ede_text_len, sizeof(buf) - 1);
	memcpy(buf, hf_dns_answer_ede_text(a), n);
	buf[n] = '\0';
	if (strstr(buf, s) == NULL) {
		fprintf(stderr, "EDE text \"%s\" lacks \"%s\"\n", buf, s);
		return false;
	}
	return true;
}

/* ---- tests ---- */

static void test_secure(void)
{
	struct env *e = env_new(true);
	const struct hf_dns_answer *a;
	struct hf_control_stats st;

	a = resolve(e, "www.sec.test.", HF_TYPE_A, HF_KEY_DO);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
		CHECK_EQ(a->security, HF_SECURITY_SECURE);
		CHECK_EQ(a->ede, HF_EDE_NONE);
		CHECK(a->ttl <= 100 && a->ttl >= 95); /* the RRSIG expires in 100 s */
		for (unsigned i = 0; i < a->nttl; i++)
			CHECK(hf_get32(hf_dns_answer_body(a) + hf_dns_answer_ttl_offs(a)[i]) <=
			      100);
		CHECK_EQ(count_type(a, HF_TYPE_RRSIG), 1); /* DO: kept */
		CHECK_EQ(a->ancount, 2);
	}
	/* the question, then test. DNSKEY, sec.test. DS, sec.test. DNSKEY; all
	 * with DO and CD (the key had no CD) */
	CHECK_EQ(e->fake.nq, 4);
	if (e->fake.nq == 4) {
		CHECK(strcmp(e->fake.q[0].name, "www.sec.test.") == 0);
		CHECK(strcmp(e->fake.q[1].name, "test.") == 0 &&
		      e->fake.q[1].qtype == HF_TYPE_DNSKEY);
		CHECK(strcmp(e->fake.q[2].name, "sec.test.") == 0 &&
		      e->fake.q[2].qtype == HF_TYPE_DS);
		CHECK(strcmp(e->fake.q[3].name, "sec.test.") == 0 &&
		      e->fake.q[3].qtype == HF_TYPE_DNSKEY);
	}
	for (unsigned i = 0; i < e->fake.nq && i < MAX_Q; i++) {
		CHECK(e->fake.q[i].flags & HF_DNS_CD);
		CHECK(e->fake.q[i].flags & HF_DNS_RD);
		CHECK(e->fake.q[i].edns && e->fake.q[i].do_bit);
	}
	st = stats(e);
	CHECK_EQ(st.val_secure, 1);
	CHECK_EQ(st.val_subqueries, 3);
	CHECK_EQ(st.fills, 1);
	CHECK_EQ(st.in_flight, 0);

	/* a client without DO: same data, warm keys (no sub-query), no RRSIG
	 * stored; the upstream still got DO and CD */
	a = resolve(e, "www.sec.test.", HF_TYPE_A, 0);
	if (a) {
		CHECK_EQ(a->security, HF_SECURITY_SECURE);
		CHECK_EQ(a->ancount, 1);
		CHECK_EQ(count_type(a, HF_TYPE_RRSIG), 0);
		CHECK_EQ(count_type(a, HF_TYPE_A), 1);
	}
	CHECK_EQ(e->fake.nq, 5);
	CHECK(e->fake.q[4].do_bit && (e->fake.q[4].flags & HF_DNS_CD));
	CHECK_EQ(stats(e).val_subqueries, 3);
	CHECK_EQ(stats(e).val_secure, 2);
	env_free(e);
}

static void test_bogus(void)
{
	struct env *e = env_new(true);
	const struct hf_dns_answer *a;
	struct hf_control_stats st;

	a = resolve(e, "bad.sec.test.", HF_TYPE_A, 0);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_FAILURE);
		CHECK_EQ(a->rcode, HF_RCODE_SERVFAIL);
		CHECK_EQ(a->ede, HF_EDE_DNSSEC_BOGUS);
		CHECK_EQ(a->ttl, 7);
		CHECK(text_has(a, "bad.sec.test."));
	}
	/* CD: the data itself, marked bogus (the dataplane never sets AD) */
	a = resolve(e, "bad.sec.test.", HF_TYPE_A, HF_KEY_CD | HF_KEY_DO);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
		CHECK_EQ(a->security, HF_SECURITY_BOGUS);
		CHECK_EQ(a->ancount, 2);
		CHECK_EQ(a->ede, HF_EDE_NONE);
	}
	a = resolve(e, "old.sec.test.", HF_TYPE_A, HF_KEY_DO);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_FAILURE);
		CHECK_EQ(a->ede, HF_EDE_SIGNATURE_EXPIRED);
		CHECK(text_has(a, "expired"));
	}
	st = stats(e);
	CHECK_EQ(st.val_bogus, 3);
	CHECK_EQ(st.val_ede[HF_EDE_DNSSEC_BOGUS], 2);
	CHECK_EQ(st.val_ede[HF_EDE_SIGNATURE_EXPIRED], 1);
	CHECK_EQ(st.failures, 2);
	env_free(e);
}

static void test_insecure(void)
{
	struct env *e = env_new(true);
	const struct hf_dns_answer *a = resolve(e, "www.ins.test.", HF_TYPE_A, HF_KEY_DO);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
		CHECK_EQ(a->security, HF_SECURITY_INSECURE);
		CHECK_EQ(a->ede, HF_EDE_NONE);
		CHECK_EQ(a->ttl, 300);
	}
	CHECK_EQ(stats(e).val_insecure, 1);
	CHECK_EQ(stats(e).val_subqueries, 2); /* test. DNSKEY, ins.test. DS */
	env_free(e);
}

/* A DS fetch nobody answers: INDETERMINATE, reported as the upstream
 * failure it is (22 with the fetch in the text); CD gets the data. */
static void test_fetch_fails(void)
{
	struct env *e = env_new(true);
	const struct hf_dns_answer *a = resolve(e, "www.gone.test.", HF_TYPE_A, 0);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_FAILURE);
		CHECK_EQ(a->ede, HF_EDE_NO_REACHABLE_AUTHORITY);
		CHECK(text_has(a, "gone.test. DS: 127.0.0.1@"));
		CHECK(text_has(a, "timed out"));
	}
	a = resolve(e, "www.gone.test.", HF_TYPE_A, HF_KEY_CD);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
		CHECK_EQ(a->security, HF_SECURITY_INDETERMINATE);
	}
	CHECK_EQ(stats(e).val_indeterminate, 2);
	CHECK_EQ(stats(e).val_fetch_failures, 2);
	CHECK_EQ(stats(e).in_flight, 0);
	env_free(e);
}

/* The two NSEC copies in a core's store (validator/hf_aggr.h) prove
 * NXDOMAIN for nw.sec.test. as control would. */
static void core_synth(struct env *e)
{
	struct hf_aggr *a = hf_aggr_create(4);
	uint8_t out[4096], name[HF_DNS_NAME_MAX];
	size_t l = wname("nw.sec.test.", name);
	struct hf_dns_msg m;
	int n;

	CHECK(a != NULL);
	if (a == NULL)
		return;
	for (unsigned i = 0; i < 2 && i < e->nnsec; i++)
		CHECK_EQ(hf_aggr_put(a, e->nsec_rec[i], e->nsec_len[i], 0), 0);
	n = hf_aggr_synth(a, name, l, HF_TYPE_A, (uint64_t)time(NULL), out, sizeof(out));
	CHECK(n > 0 && hf_dns_msg_parse(out, (size_t)n, &m) == 0);
	if (n > 0)
		CHECK_EQ(m.rcode, HF_RCODE_NXDOMAIN);
	hf_aggr_destroy(a);
}

/* RFC 8198: after one secure NXDOMAIN, another name in the range is
 * answered from the kept NSECs without an upstream query: secure, EDE 29,
 * TTL bounded by the SOA MINIMUM (60 < the NSEC's 300); CD=1 goes
 * upstream. */
static void test_synth(void)
{
	struct env *e = env_new(true);
	const struct hf_dns_answer *a = resolve(e, "nx.sec.test.", HF_TYPE_A, HF_KEY_DO);
	struct hf_control_stats st;

	if (a) {
		CHECK_EQ(a->kind, HF_ANS_NXDOMAIN);
		CHECK_EQ(a->security, HF_SECURITY_SECURE);
		CHECK_EQ(a->ede, HF_EDE_NONE);
	}
	CHECK_EQ(e->fake.nq, 4);
	/* its two NSECs went to the workers too (aggressive-nsec-core-records):
	 * in a core's store they prove another name */
	CHECK_EQ(e->nnsec, 2);
	CHECK_EQ(stats(e).nsec_copies, 2);
	core_synth(e);
	a = resolve(e, "ny.sec.test.", HF_TYPE_A, HF_KEY_DO);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_NXDOMAIN);
		CHECK_EQ(a->rcode, HF_RCODE_NXDOMAIN);
		CHECK_EQ(a->security, HF_SECURITY_SECURE);
		CHECK_EQ(a->ede, HF_EDE_SYNTHESIZED);
		CHECK(a->ttl >= 59 && a->ttl <= 60);
		CHECK_EQ(a->ancount, 0);
		CHECK_EQ(a->nscount, 6);
		CHECK_EQ(count_type(a, HF_TYPE_SOA), 1);
		CHECK_EQ(count_type(a, HF_TYPE_NSEC), 2);
		CHECK_EQ(count_type(a, HF_TYPE_RRSIG), 3);
		for (unsigned i = 0; i < a->nttl; i++)
			CHECK(hf_get32(hf_dns_answer_body(a) + hf_dns_answer_ttl_offs(a)[i]) <= 60);
	}
	/* without DO: the SOA alone */
	a = resolve(e, "nz.sec.test.", HF_TYPE_AAAA, 0);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_NXDOMAIN);
		CHECK_EQ(a->security, HF_SECURITY_SECURE);
		CHECK_EQ(a->nscount, 1);
		CHECK_EQ(count_type(a, HF_TYPE_SOA), 1);
	}
	CHECK_EQ(e->fake.nq, 4);
	st = stats(e);
	CHECK_EQ(st.synth_nxdomain, 2);
	CHECK_EQ(st.synth_nodata, 0);
	CHECK_EQ(st.resolutions, 1);
	CHECK_EQ(st.fills, 3);
	/* CD=1: upstream (which does not know the name: two attempts) */
	a = resolve(e, "nq.sec.test.", HF_TYPE_A, HF_KEY_DO | HF_KEY_CD);
	if (a)
		CHECK_EQ(a->kind, HF_ANS_FAILURE);
	CHECK_EQ(e->fake.nq, 6);
	CHECK_EQ(stats(e).synth_nxdomain, 2);
	CHECK_EQ(e->nnsec, 2); /* synthesis keeps nothing new */
	env_free(e);
}

static void test_dnssec_off(void)
{
	struct env *e = env_new(false);
	const struct hf_dns_answer *a = resolve(e, "bad.sec.test.", HF_TYPE_A, 0);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
		CHECK_EQ(a->security, HF_SECURITY_INSECURE);
		CHECK_EQ(a->ancount, 2); /* forwarded as it came */
	}
	CHECK_EQ(e->fake.nq, 1);
	CHECK(!(e->fake.q[0].flags & HF_DNS_CD));
	CHECK(!e->fake.q[0].do_bit);
	CHECK_EQ(stats(e).val_subqueries, 0);
	CHECK_EQ(stats(e).val_bogus, 0);
	env_free(e);
}

/* A trust-anchor file that does not load stops control with one line
 * naming the file and the line. */
static void test_bad_anchor(void)
{
	struct hf_config cfg;
	struct hf_control_workers w = {0};
	char err[256] = "", path[64];
	FILE *f;
	snprintf(path, sizeof(path), "/tmp/hf_vc_bad_%d.key", (int)getpid());
	f = fopen(path, "w");
	fputs("; comment\n. IN DS 20326 8 2 E06D44B8\nfoo bar\n", f);
	fclose(f);
	hf_config_defaults(&cfg);
	cfg.control_socket[0] = '\0';
	cfg.nta_state_file[0] = '\0';
	CHECK_EQ(hf_config_set(&cfg, "forwarder", "127.0.0.1", NULL, err, sizeof(err)), 0);
	snprintf(cfg.trust_anchor, sizeof(cfg.trust_anchor), "%s", path);
	CHECK(hf_control_create(&cfg, &w, err, sizeof(err)) == NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "line ") != NULL);
	CHECK(strchr(err, '\n') == NULL);
	printf("     %s\n", err);
	unlink(path);
	snprintf(cfg.trust_anchor, sizeof(cfg.trust_anchor), "/nonexistent/root.key");
	CHECK(hf_control_create(&cfg, &w, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent/root.key") != NULL);
	printf("     %s\n", err);
}

int main(int argc, char **argv)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_secure),	     TEST_CASE(test_bogus), TEST_CASE(test_insecure),
		TEST_CASE(test_fetch_fails), TEST_CASE(test_synth), TEST_CASE(test_dnssec_off),
		TEST_CASE(test_bad_anchor),
	};
	char anchor[400], hx[100];
	uint8_t rd[64];
	size_t len;
	FILE *f;
	int rc;

	(void)argc;
	now32 = (uint32_t)time(NULL);
	tkey_gen(&z_test.key, HF_ALG_ECDSAP256);
	tkey_gen(&z_sec.key, HF_ALG_ED25519);
	build_world();
	ds_rdata(&z_test, rd, &len);
	for (size_t i = 4; i < len; i++)
		sprintf(hx + 2 * (i - 4), "%02X", rd[i]);
	snprintf(anchor, sizeof(anchor), "; test anchor\ntest. 3600 IN DS %u %u 2 %s\n",
		 z_test.key.tag, z_test.key.alg, hx);
	snprintf(anchor_path, sizeof(anchor_path), "/tmp/hf_vc_anchor_%d.key", (int)getpid());
	f = fopen(anchor_path, "w");
	fputs(anchor, f);
	fclose(f);

	if (hf_test_eal_init(argv[0], "vc") != 0)
		return 1;
	rc = hf_test_run(cases, HF_ARRAY_LEN(cases));
	rte_eal_cleanup();
	unlink(anchor_path);
	EVP_PKEY_free(z_test.key.pk);
	EVP_PKEY_free(z_sec.key.pk);
	return rc;
}
