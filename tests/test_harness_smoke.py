"""Smoke test of tests/kafka_harness.py against a real broker. Needs pytest, java and mvn."""

import pytest

import kafka_harness as harness

CONSUMER_GROUP_COMMAND = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with harness.Broker.start(tmp_path_factory.mktemp("broker")) as started:
        yield started


def commit_with_kafka_tool(bootstrap, group, topic, offset):
    """Commits `offset` on every partition for a member-less group, with Kafka's own tool."""
    harness.run_kafka_tool(CONSUMER_GROUP_COMMAND,
                           ["--bootstrap-server", bootstrap, "--group", group, "--topic", topic,
                            "--reset-offsets", "--to-offset", str(offset), "--execute"])


def test_env_files_name_every_listener(broker):
    env_sh = (broker.workdir / "env.sh").read_text()
    for name in ("KAFKA_BOOTSTRAP", "KAFKA_SASL_BOOTSTRAP", "KAFKA_SSL_BOOTSTRAP",
                 "KAFKA_HARNESS_LIBS", "KAFKA_HARNESS_WORKDIR", "KAFKA_SSL_CA_PEM"):
        assert f"export {name}=" in env_sh
    assert broker.is_running()


def test_produce_lands_on_every_partition(broker):
    harness.create_topic(broker.bootstrap, "smoke", partitions=3)
    assert harness.produce(broker.bootstrap, "smoke", records_per_partition=4) == {0: 4, 1: 4, 2: 4}
    assert harness.log_end_offsets(broker.bootstrap, "smoke") == {0: 4, 1: 4, 2: 4}


def test_group_offsets(broker):
    harness.create_topic(broker.bootstrap, "grouped", partitions=2)
    harness.produce(broker.bootstrap, "grouped", records_per_partition=3)
    assert harness.group_offsets(broker.bootstrap, "smoke-group") == {}

    commit_with_kafka_tool(broker.bootstrap, "smoke-group", "grouped", offset=2)

    assert harness.group_offsets(broker.bootstrap, "smoke-group") == {("grouped", 0): 2, ("grouped", 1): 2}
    assert harness.group_offset_metadata(broker.bootstrap, "smoke-group") == {("grouped", 0): "",
                                                                             ("grouped", 1): ""}
    text = harness.describe_group_text(broker.bootstrap, "smoke-group")
    assert "smoke-group" in text and "LOG-END-OFFSET" in text


def test_sasl_accepts_right_credentials_only(broker):
    cluster_id = harness.cluster_info(broker.bootstrap)["cluster_id"]
    for config in (harness.sasl_client_config(*harness.SASL_ADMIN),
                   harness.sasl_client_config(*harness.SASL_ALICE),
                   harness.sasl_client_config(*harness.SCRAM_USER, mechanism="SCRAM-SHA-512")):
        assert harness.cluster_info(broker.sasl_bootstrap, config)["cluster_id"] == cluster_id

    for config in (harness.sasl_client_config("alice", "wrong-secret"),
                   harness.sasl_client_config("scram-user", "wrong-secret", mechanism="SCRAM-SHA-512")):
        with pytest.raises(harness.HarnessError, match="SaslAuthenticationException"):
            harness.cluster_info(broker.sasl_bootstrap, config)


def test_acls_gate_non_super_users(broker):
    harness.create_topic(broker.bootstrap, "guarded", partitions=1)
    harness.produce(broker.bootstrap, "guarded", records_per_partition=1)
    commit_with_kafka_tool(broker.bootstrap, "guarded-group", "guarded", offset=1)
    alice = harness.sasl_client_config(*harness.SASL_ALICE)
    ssl_client = harness.ssl_client_config(broker.env)

    for bootstrap, config in ((broker.sasl_bootstrap, alice), (broker.ssl_bootstrap, ssl_client)):
        with pytest.raises(harness.HarnessError, match="GroupAuthorizationException"):
            harness.group_offsets(bootstrap, "guarded-group", config)

    for principal in ("User:alice", "User:client"):
        harness.add_acl(broker.bootstrap, principal, "DESCRIBE", "GROUP", "guarded-group")
        harness.add_acl(broker.bootstrap, principal, "DESCRIBE", "TOPIC", "guarded")
    for bootstrap, config in ((broker.sasl_bootstrap, alice), (broker.ssl_bootstrap, ssl_client)):
        assert harness.group_offsets(bootstrap, "guarded-group", config) == {("guarded", 0): 1}


def test_fixture_acls_let_alice_use_alice_prefixed_names_only(broker):
    harness.add_fixture_acls(broker.bootstrap)
    harness.add_fixture_acls(broker.bootstrap)  # idempotent
    harness.create_topic(broker.bootstrap, "alice-topic", partitions=1)
    harness.produce(broker.bootstrap, "alice-topic", records_per_partition=2)
    commit_with_kafka_tool(broker.bootstrap, "alice-group", "alice-topic", offset=2)
    alice = harness.sasl_client_config(*harness.SASL_ALICE)

    assert harness.group_offsets(broker.sasl_bootstrap, "alice-group", alice) == {("alice-topic", 0): 2}
    with pytest.raises(harness.HarnessError, match="GroupAuthorizationException"):
        harness.group_offsets(broker.sasl_bootstrap, "smoke-group", alice)


def test_start_reuses_live_broker_and_restart_keeps_data(broker):
    again = harness.Broker.start(broker.workdir)
    assert again.bootstrap == broker.bootstrap

    broker.stop()
    broker.stop()
    assert not broker.is_running()
    broker.restart()

    assert broker.is_running()
    assert harness.log_end_offsets(broker.bootstrap, "smoke") == {0: 4, 1: 4, 2: 4}
