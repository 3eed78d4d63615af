package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;

import org.junit.Test;

/** Native lines reach a logger named after their origin and cluster (NativeRuntime.loggerOf). */
public class NativeLogOriginTest {
    @Test
    public void librdkafkaLinesGoToTheClustersLibrdkafkaLogger() {
        assertEquals(
                "io.kafkaoffsetcommitter.native.librdkafka.127_0_0_1_9092_broker-2_9093",
                NativeRuntime.loggerOf("librdkafka [127.0.0.1:9092,broker-2:9093] FAIL: connection refused")
                        .getName());
    }

    @Test
    public void engineLinesGoToTheClustersEngineLogger() {
        assertEquals(
                "io.kafkaoffsetcommitter.native.engine.localhost_9092",
                NativeRuntime.loggerOf("[localhost:9092] commits run on the commit helper: default")
                        .getName());
    }

    @Test
    public void linesOfNoClusterGoToTheNativeLogger() {
        assertEquals(
                "io.kafkaoffsetcommitter.native",
                NativeRuntime.loggerOf("helper installed").getName());
        assertEquals(
                "io.kafkaoffsetcommitter.native",
                NativeRuntime.loggerOf("[] empty cluster").getName());
        assertEquals(
                "io.kafkaoffsetcommitter.native",
                NativeRuntime.loggerOf("[unclosed").getName());
    }

    @Test
    public void aClustersLoggerIsHeldOnceAndReused() {
        assertSame(NativeRuntime.loggerOf("[a:1] first"), NativeRuntime.loggerOf("[a:1] second"));
    }
}
