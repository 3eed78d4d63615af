package io.kafkaoffsetcommitter;

import java.io.FileInputStream;
import java.io.InputStream;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Rewrites JKS/PKCS12 trust and key stores into Kafka's own PEM settings
 * ({@code ssl.truststore.type=PEM}, {@code ssl.truststore.certificates}, {@code ssl.keystore.key}, …).
 * librdkafka (OpenSSL) cannot read JKS, so the JVM, which can, converts them before the settings cross
 * to native code; the result is still a valid Java client configuration.
 */
final class KeyStores {
    private static final String TRUSTSTORE_LOCATION = "ssl.truststore.location";
    private static final String TRUSTSTORE_PASSWORD = "ssl.truststore.password";
    private static final String TRUSTSTORE_TYPE = "ssl.truststore.type";
    private static final String TRUSTSTORE_CERTIFICATES = "ssl.truststore.certificates";
    private static final String KEYSTORE_LOCATION = "ssl.keystore.location";
    private static final String KEYSTORE_PASSWORD = "ssl.keystore.password";
    private static final String KEYSTORE_TYPE = "ssl.keystore.type";
    private static final String KEYSTORE_KEY = "ssl.keystore.key";
    private static final String KEYSTORE_CHAIN = "ssl.keystore.certificate.chain";
    private static final String KEY_PASSWORD = "ssl.key.password";
    private static final String PEM = "PEM";

    private KeyStores() {}

    static Map<String, String> toPemSettings(Map<String, String> settings) {
        Map<String, String> result = new LinkedHashMap<>();
        for (Map.Entry<String, String> setting : settings.entrySet()) {
            // Spark's DSv2 options are lower-cased already; Kafka setting names always are.
            result.put(setting.getKey().toLowerCase(Locale.ROOT), setting.getValue());
        }
        if (result.containsKey(TRUSTSTORE_LOCATION) && !isPem(result.get(TRUSTSTORE_TYPE))) {
            KeyStore store = load(result, TRUSTSTORE_LOCATION, TRUSTSTORE_TYPE, TRUSTSTORE_PASSWORD);
            result.put(TRUSTSTORE_CERTIFICATES, trustedCertificatesPem(store));
            result.put(TRUSTSTORE_TYPE, PEM);
            result.remove(TRUSTSTORE_LOCATION);
            result.remove(TRUSTSTORE_PASSWORD);
        }
        if (result.containsKey(KEYSTORE_LOCATION) && !isPem(result.get(KEYSTORE_TYPE))) {
            KeyStore store = load(result, KEYSTORE_LOCATION, KEYSTORE_TYPE, KEYSTORE_PASSWORD);
            String keyPassword =
                    result.containsKey(KEY_PASSWORD) ? result.get(KEY_PASSWORD) : result.get(KEYSTORE_PASSWORD);
            exportPrivateKey(store, keyPassword, result);
            result.put(KEYSTORE_TYPE, PEM);
            result.remove(KEYSTORE_LOCATION);
            result.remove(KEYSTORE_PASSWORD);
            result.remove(KEY_PASSWORD); // the exported PEM key is not encrypted
        }
        return result;
    }

    private static boolean isPem(String type) {
        return PEM.equalsIgnoreCase(type);
    }

    private static KeyStore load(Map<String, String> settings, String locationKey, String typeKey, String passwordKey) {
        String location = settings.get(locationKey);
        String type = settings.containsKey(typeKey) ? settings.get(typeKey) : "JKS";
        String password = settings.get(passwordKey);
        try (InputStream in = new FileInputStream(location)) {
            KeyStore store = KeyStore.getInstance(type);
            store.load(in, password == null ? null : password.toCharArray());
            return store;
        } catch (Exception e) {
            throw new InvalidConfigException("invalid Kafka setting `" + locationKey + "`: cannot read the " + type
                    + " store at " + location + " (" + e.getClass().getSimpleName() + ": " + e.getMessage()
                    + "); check the path, `" + typeKey + "` and `" + passwordKey + "`");
        }
    }

    private static String trustedCertificatesPem(KeyStore store) {
        StringBuilder pem = new StringBuilder();
        try {
            for (String alias : Collections.list(store.aliases())) {
                Certificate certificate = store.getCertificate(alias);
                if (certificate != null) {
                    appendPem(pem, "CERTIFICATE", certificate.getEncoded());
                }
            }
        } catch (Exception e) {
            throw new InvalidConfigException("invalid Kafka setting `" + TRUSTSTORE_LOCATION + "`: " + e.getMessage());
        }
        if (pem.length() == 0) {
            throw new InvalidConfigException(
                    "invalid Kafka setting `" + TRUSTSTORE_LOCATION + "`: the store holds no certificate");
        }
        return pem.toString();
    }

    private static void exportPrivateKey(KeyStore store, String keyPassword, Map<String, String> result) {
        try {
            Enumeration<String> aliases = store.aliases();
            while (aliases.hasMoreElements()) {
                String alias = aliases.nextElement();
                if (!store.isKeyEntry(alias)) {
                    continue;
                }
                Key key = store.getKey(alias, keyPassword == null ? new char[0] : keyPassword.toCharArray());
                if (!(key instanceof PrivateKey)) {
                    continue;
                }
                StringBuilder keyPem = new StringBuilder();
                appendPem(keyPem, "PRIVATE KEY", key.getEncoded()); // PKCS#8
                StringBuilder chainPem = new StringBuilder();
                for (Certificate certificate : store.getCertificateChain(alias)) {
                    appendPem(chainPem, "CERTIFICATE", certificate.getEncoded());
                }
                result.put(KEYSTORE_KEY, keyPem.toString());
                result.put(KEYSTORE_CHAIN, chainPem.toString());
                return;
            }
        } catch (Exception e) {
            throw new InvalidConfigException(
                    "invalid Kafka setting `" + KEYSTORE_LOCATION + "`: cannot read its private key ("
                            + e.getClass().getSimpleName() + "); check `" + KEY_PASSWORD + "`");
        }
        throw new InvalidConfigException(
                "invalid Kafka setting `" + KEYSTORE_LOCATION + "`: the store holds no private key");
    }

    private static void appendPem(StringBuilder out, String label, byte[] der) {
        out.append("-----BEGIN ")
                .append(label)
                .append("-----\n")
                .append(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der))
                .append("\n-----END ")
                .append(label)
                .append("-----\n");
    }
}
