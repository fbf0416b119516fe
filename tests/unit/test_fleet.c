/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fleet/: the key layout's records (fleet.c), names as the agents and
 * holdfastctl --fleet write them, keys and prefix range ends, and the
 * management client's reply split (control/mgmt_client.c) the agent reads
 * holdfast's answers with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/hf_mgmt_client.h"
#include "fleet/hf_etcd.h"
#include "fleet/hf_fleet.h"
#include "tests/unit/hf_test.h"

static void test_nta_record_round_trip(void)
{
	struct hf_fleet_nta n = {0}, back;
	char *json;

	snprintf(n.name, sizeof(n.name), "de.");
	n.expires = 1796435463;
	n.added = 1796428263;
	n.recheck_s = 300;
	snprintf(n.reason, sizeof(n.reason), "registry \"signatures\" broken");
	snprintf(n.by, sizeof(n.by), "alice@ops1");
	json = hf_fleet_nta_json(&n);
	CHECK(json != NULL);
	CHECK(strcmp(json, "{\"name\":\"de.\",\"expires\":1796435463,\"reason\":\"registry "
			   "\\\"signatures\\\" broken\",\"recheck\":300,\"by\":\"alice@ops1\","
			   "\"added\":1796428263}") == 0);
	CHECK_EQ(hf_fleet_nta_parse(json, &back), 0);
	CHECK(strcmp(back.name, "de.") == 0);
	CHECK(strcmp(back.reason, n.reason) == 0);
	CHECK(strcmp(back.by, "alice@ops1") == 0);
	CHECK_EQ(back.expires, 1796435463);
	CHECK_EQ(back.added, 1796428263);
	CHECK_EQ(back.recheck_s, 300);
	free(json);
}

static void test_nta_record_rejected(void)
{
	struct hf_fleet_nta n;
	char big[400];
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{\"name\":\"de.\",\"reason\":\"r\",\"recheck\":0,\"added\":1}", /* no
										    expiry
										  */
		"{\"name\":\"de.\",\"expires\":0,\"reason\":\"r\",\"recheck\":0,\"added\":"
		"1}", /* 0 */
		"{\"name\":\"de.\",\"expires\":\"9\",\"reason\":\"r\",\"recheck\":0,"
		"\"added\":1}", /* text */
		"{\"name\":\"de.\",\"expires\":9,\"reason\":\"r\",\"recheck\":-1,\"added\":"
		"1}",							      /* < 0 */
		"{\"expires\":9,\"reason\":\"r\",\"recheck\":0,\"added\":1}", /* no name */
		"{\"name\":\"de.\",\"expires\":9,\"recheck\":0,\"added\":1}", /* no reason
									       */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(hf_fleet_nta_parse(bad[i], &n), -1);
	/* a reason longer than the site's NTA can carry behind "fleet: " */
	snprintf(big, sizeof(big),
		 "{\"name\":\"de.\",\"expires\":9,\"reason\":\"%0*d\",\"recheck\":0,\"added\":1}",
		 HF_FLEET_REASON_MAX + 1, 0);
	CHECK_EQ(hf_fleet_nta_parse(big, &n), -1);
	snprintf(big, sizeof(big),
		 "{\"name\":\"de.\",\"expires\":9,\"reason\":\"%0*d\",\"recheck\":0,\"added\":1}",
		 HF_FLEET_REASON_MAX, 0);
	CHECK_EQ(hf_fleet_nta_parse(big, &n), 0);
	CHECK_EQ(strlen(n.reason), HF_FLEET_REASON_MAX);
}

static void test_site_record_round_trip(void)
{
	struct hf_fleet_site s = {0}, back;
	char *json;

	snprintf(s.site, sizeof(s.site), "fra1");
	s.revision = 391;
	s.healthy = false;
	s.drained = true;
	s.holdfast_up = true;
	snprintf(s.why, sizeof(s.why), "drained");
	s.ntas = 2;
	s.updated = 1796428746;
	json = hf_fleet_site_json(&s);
	CHECK(json != NULL);
	CHECK(strcmp(json,
		     "{\"site\":\"fra1\",\"revision\":391,\"healthy\":false,\"announced\":false,"
		     "\"drained\":true,\"holdfast_up\":true,\"why\":\"drained\",\"ntas\":2,"
		     "\"updated\":1796428746}") == 0);
	CHECK_EQ(hf_fleet_site_parse(json, &back), 0);
	CHECK(strcmp(back.site, "fra1") == 0 && strcmp(back.why, "drained") == 0);
	CHECK_EQ(back.revision, 391);
	CHECK(back.drained && back.holdfast_up && !back.healthy && !back.announced);
	CHECK_EQ(back.ntas, 2);
	CHECK_EQ(back.updated, 1796428746);
	CHECK_EQ(hf_fleet_site_parse("{\"revision\":1}", &back), -1);
	free(json);
}

static void test_names_and_keys(void)
{
	char out[HF_FLEET_NAME_TEXT], err[256], key[32];

	CHECK_EQ(hf_fleet_name_canon("DE", out, sizeof(out), err, sizeof(err)), 0);
	CHECK(strcmp(out, "de.") == 0);
	CHECK_EQ(hf_fleet_name_canon("WWW.Example.De.", out, sizeof(out), err, sizeof(err)), 0);
	CHECK(strcmp(out, "www.example.de.") == 0);
	CHECK_EQ(hf_fleet_name_canon("--lifetime", out, sizeof(out), err, sizeof(err)), -1);
	CHECK_EQ(hf_fleet_name_canon("a..b", out, sizeof(out), err, sizeof(err)), -1);
	CHECK_EQ(hf_fleet_name_canon(".", out, sizeof(out), err, sizeof(err)), -1); /* the root */

	CHECK_EQ(hf_fleet_key(key, sizeof(key), "/holdfast/", HF_FLEET_NTA, "de."), 0);
	CHECK(strcmp(key, "/holdfast/state/nta/de.") == 0);
	CHECK_EQ(hf_fleet_key(key, sizeof(key), "/holdfast/", HF_FLEET_NTA, "www.example.de."),
		 -1); /* 31 bytes and the NUL do not fit 32 */
	hf_etcd_prefix_end("/holdfast/state/", key, sizeof(key));
	CHECK(strcmp(key, "/holdfast/state0") == 0);
}

static void test_reply_split(void)
{
	char ok[] = "OK\n{\"ok\":true}\n", refused[] = "ERR no NTA for de.\n{\"ok\":false}\n",
	     junk[] = "HTTP/1.0 400\n", noline[] = "OK";
	char *body;
	const char *msg;
	bool refused_flag;

	CHECK_EQ(hf_mgmt_split_reply(ok, &body, &refused_flag, &msg), 0);
	CHECK(!refused_flag && strcmp(body, "{\"ok\":true}\n") == 0 && msg[0] == '\0');
	CHECK_EQ(hf_mgmt_split_reply(refused, &body, &refused_flag, &msg), 0);
	CHECK(refused_flag && strcmp(msg, "no NTA for de.") == 0 &&
	      strcmp(body, "{\"ok\":false}\n") == 0);
	CHECK_EQ(hf_mgmt_split_reply(junk, &body, &refused_flag, &msg), -1);
	CHECK_EQ(hf_mgmt_split_reply(noline, &body, &refused_flag, &msg), -1);
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_nta_record_round_trip),
		TEST_CASE(test_nta_record_rejected),
		TEST_CASE(test_site_record_round_trip),
		TEST_CASE(test_names_and_keys),
		TEST_CASE(test_reply_split),
	};
	return hf_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
