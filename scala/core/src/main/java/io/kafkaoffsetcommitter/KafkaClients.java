package io.kafkaoffsetcommitter;

/**
 * The one place that looks for Kafka's Java client by name: it comes from the application's class path (Spark's
 * Kafka connector brings it) and may be missing for plain JVM API users. Classes compiled against it
 * ({@link OAuthLogin}) are touched only after {@link #require} passed.
 */
final class KafkaClients {
    private KafkaClients() {}

    private static final String HANDLER_INTERFACE = "org.apache.kafka.common.security.auth.AuthenticateCallbackHandler";

    /** Throws {@link InvalidConfigException} naming the jar to add when Kafka's Java client cannot be loaded. */
    static void require(String purpose) {
        try {
            Class.forName(HANDLER_INTERFACE, false, KafkaClients.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError missing) {
            throw new InvalidConfigException(purpose
                    + " needs Kafka's Java client on the class path: add the jar org.apache.kafka:kafka-clients"
                    + " (Spark's Kafka connector brings it)");
        }
    }

    /**
     * The class {@code name} as the application sees it: from the thread's context class loader, else from the
     * loader of Kafka's Java client (where Kafka itself would look).
     */
    static Class<?> load(String name) throws ClassNotFoundException {
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        if (context != null) {
            try {
                return Class.forName(name, true, context);
            } catch (ClassNotFoundException notThere) {
                // Kafka's own loader may still see it.
            }
        }
        ClassLoader kafka = Class.forName(HANDLER_INTERFACE, false, KafkaClients.class.getClassLoader())
                .getClassLoader();
        return Class.forName(name, true, kafka);
    }
}
