import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The test harness's independent Kafka client: Kafka's own Java Admin and producer, driven by
 * tests/kafka_harness.py. One JVM serves many requests (a JVM start costs 1-2 s), so it reads
 * one JSON request per line on stdin and answers one JSON line on stdout:
 * {"ok": true, "result": ...} or {"ok": false, "error": "..."}. It exits at end of input.
 *
 * <p>Arguments: {@code key=value} client settings (bootstrap.servers, security settings).
 * Kafka's own logging goes to stderr, so stdout carries only answers.
 */
public final class HarnessAdmin {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long CREATE_TOPIC_WAIT_MS = 30_000;

    private final Properties clientSettings;
    private final Admin admin;

    private HarnessAdmin(Properties clientSettings) {
        this.clientSettings = clientSettings;
        this.admin = Admin.create(clientSettings);
    }

    public static void main(String[] args) throws Exception {
        Properties settings = new Properties();
        // Fail fast: a test waiting on a dead broker should hear about it in seconds, not minutes.
        settings.put("request.timeout.ms", "10000");
        settings.put("default.api.timeout.ms", "20000");
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected key=value, got " + arg);
            }
            settings.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        // Answers must be the only thing on stdout: keep a private handle and point System.out at stderr.
        PrintStream answers = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        System.setOut(System.err);

        HarnessAdmin tool = new HarnessAdmin(settings);
        try (BufferedReader requests = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = requests.readLine()) != null) {
                if (!line.isBlank()) {
                    answers.println(JSON.writeValueAsString(tool.answer(line)));
                }
            }
        } finally {
            tool.admin.close();
        }
    }

    private ObjectNode answer(String requestLine) {
        ObjectNode reply = JSON.createObjectNode();
        try {
            JsonNode request = JSON.readTree(requestLine);
            reply.set("result", dispatch(request.path("op").asText(), request));
            reply.put("ok", true);
        } catch (Exception e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            reply.put("ok", false);
            reply.put("error", cause.getClass().getName() + ": " + cause.getMessage());
        }
        return reply;
    }

    private JsonNode dispatch(String op, JsonNode request) throws Exception {
        switch (op) {
            case "cluster":
                return cluster();
            case "create_topic":
                return createTopic(
                        text(request, "topic"),
                        request.path("partitions").asInt(1),
                        (short) request.path("replication_factor").asInt(1),
                        request.path("min_insync_replicas").asInt(0));
            case "produce":
                return produce(
                        text(request, "topic"),
                        request.path("records_per_partition").asInt());
            case "log_end_offsets":
                return logEndOffsets(text(request, "topic"));
            case "group_offsets":
                return groupOffsets(text(request, "group"));
            case "group_coordinator":
                return groupCoordinator(text(request, "group"));
            case "add_acl":
                return addAcl(request);
            default:
                throw new IllegalArgumentException("unknown op: " + op);
        }
    }

    private static String text(JsonNode request, String field) {
        JsonNode value = request.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException("missing string field: " + field);
        }
        return value.asText();
    }

    private JsonNode cluster() throws Exception {
        DescribeClusterResult described = admin.describeCluster();
        ObjectNode result = JSON.createObjectNode();
        result.put("cluster_id", described.clusterId().get());
        ArrayNode nodeIds = result.putArray("node_ids");
        for (Node node : described.nodes().get()) {
            nodeIds.add(node.id());
        }
        return result;
    }

    /**
     * Creates the topic and returns once every partition has a leader, so produces cannot race it.
     * minInsyncReplicas 0 keeps the broker's default.
     */
    private JsonNode createTopic(String topic, int partitions, short replicationFactor, int minInsyncReplicas)
            throws Exception {
        NewTopic newTopic = new NewTopic(topic, partitions, replicationFactor);
        if (minInsyncReplicas > 0) {
            newTopic.configs(Map.of("min.insync.replicas", Integer.toString(minInsyncReplicas)));
        }
        admin.createTopics(List.of(newTopic)).all().get();
        long deadline = System.currentTimeMillis() + CREATE_TOPIC_WAIT_MS;
        while (!allPartitionsLed(topic, partitions)) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("topic " + topic + " has no leader on every partition");
            }
            Thread.sleep(100);
        }
        return JSON.getNodeFactory().textNode(topic);
    }

    private boolean allPartitionsLed(String topic, int partitions) throws Exception {
        TopicDescription description;
        try {
            description =
                    admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        } catch (ExecutionException notYetVisible) {
            return false;
        }
        List<TopicPartitionInfo> infos = description.partitions();
        return infos.size() == partitions && infos.stream().allMatch(p -> p.leader() != null);
    }

    /**
     * Writes records_per_partition records to every partition, addressed by partition number so the
     * resulting offsets are known exactly. Returns the log-end offsets afterwards.
     */
    private JsonNode produce(String topic, int recordsPerPartition) throws Exception {
        Properties producerSettings = new Properties();
        producerSettings.putAll(clientSettings);
        producerSettings.put(ProducerConfig.ACKS_CONFIG, "all");
        producerSettings.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        producerSettings.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        int partitions = partitionCount(topic);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerSettings)) {
            for (int partition = 0; partition < partitions; partition++) {
                for (int i = 0; i < recordsPerPartition; i++) {
                    String key = partition + "-" + i;
                    producer.send(new ProducerRecord<>(topic, partition, key, "value-" + key));
                }
            }
            producer.flush();
        }
        return logEndOffsets(topic);
    }

    private int partitionCount(String topic) throws Exception {
        return admin.describeTopics(List.of(topic))
                .allTopicNames()
                .get()
                .get(topic)
                .partitions()
                .size();
    }

    /** {"<partition>": offset} for every partition of the topic. */
    private JsonNode logEndOffsets(String topic) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int partition = 0; partition < partitionCount(topic); partition++) {
            request.put(new TopicPartition(topic, partition), OffsetSpec.latest());
        }
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> offsets =
                admin.listOffsets(request).all().get();
        ObjectNode result = JSON.createObjectNode();
        offsets.forEach((tp, info) -> result.put(Integer.toString(tp.partition()), info.offset()));
        return result;
    }

    /** [{"topic", "partition", "offset", "metadata"}]; empty for a group that has no offsets. */
    private JsonNode groupOffsets(String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata()
                .get();
        ArrayNode result = JSON.createArrayNode();
        committed.forEach((tp, offset) -> {
            // The broker lists a partition without a committed offset as null.
            if (offset != null) {
                ObjectNode entry = result.addObject();
                entry.put("topic", tp.topic());
                entry.put("partition", tp.partition());
                entry.put("offset", offset.offset());
                entry.put("metadata", offset.metadata());
            }
        });
        return result;
    }

    /** The node id of the broker coordinating the group (the leader of its __consumer_offsets partition). */
    private JsonNode groupCoordinator(String group) throws Exception {
        Node coordinator = admin.describeConsumerGroups(List.of(group))
                .describedGroups()
                .get(group)
                .get()
                .coordinator();
        return JSON.getNodeFactory().numberNode(coordinator.id());
    }

    /** Request fields are Kafka's enum names, case-insensitive: operation READ, resource_type GROUP... */
    private JsonNode addAcl(JsonNode request) throws Exception {
        ResourcePattern resource = new ResourcePattern(
                ResourceType.fromString(text(request, "resource_type")),
                text(request, "resource_name"),
                PatternType.fromString(request.path("pattern_type").asText("LITERAL")));
        AccessControlEntry entry = new AccessControlEntry(
                text(request, "principal"),
                request.path("host").asText("*"),
                AclOperation.fromString(text(request, "operation")),
                AclPermissionType.fromString(request.path("permission").asText("ALLOW")));
        for (Object parsed :
                new Object[] {resource.resourceType(), resource.patternType(), entry.operation(), entry.permissionType()
                }) {
            if (parsed.toString().equals("UNKNOWN")) {
                throw new IllegalArgumentException("unknown ACL value in request: " + request);
            }
        }
        admin.createAcls(List.of(new AclBinding(resource, entry))).all().get();
        return JSON.getNodeFactory().textNode(new AclBinding(resource, entry).toString());
    }
}
